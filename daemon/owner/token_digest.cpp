#include "owner/token_digest.hpp"

#include <openssl/evp.h>

namespace regulars::daemon {

std::optional<TokenDigest> token_digest(std::string_view secret) noexcept {
  TokenDigest d{};
  unsigned int len = 0;
  if (EVP_Digest(secret.data(), secret.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size())
    return std::nullopt;
  return d;
}

}  // namespace regulars::daemon
