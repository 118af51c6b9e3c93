// What is kept of a secret the owner hands out (the owner, metrics and lane tokens, dashboard
// sessions and login links): its SHA-256, never the secret itself.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace regulars::daemon {

using TokenDigest = std::array<unsigned char, 32>;

// nullopt only when OpenSSL fails.
std::optional<TokenDigest> token_digest(std::string_view secret) noexcept;

}  // namespace regulars::daemon
