#include "identity.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace regulars::daemon {

IdentityKey IdentityKey::load_or_create(const std::string& data_dir) {
  const std::string path = data_dir + "/secret.key";
  std::array<std::uint8_t, 32> secret{};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1)
      throw std::runtime_error("cannot generate the installation secret (OpenSSL RAND_bytes failed)");
    const std::string tmp = path + ".tmp";
    const int wfd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (wfd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
    const bool ok = ::write(wfd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) &&
                    ::fsync(wfd) == 0;
    ::close(wfd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
      throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    return IdentityKey(secret);
  }
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st{};
  ::fstat(fd, &st);
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    throw std::runtime_error(path + " is readable by others; run: chmod 600 " + path);
  }
  const ssize_t n = ::read(fd, secret.data(), secret.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(secret.size()))
    throw std::runtime_error(path + " is damaged (expected 32 bytes); restore it from backup");
  return IdentityKey(secret);
}

IdentifierHash IdentityKey::hash(std::string_view kind, std::string_view normalized_value) const {
  std::string msg;
  msg.reserve(kind.size() + 1 + normalized_value.size());
  msg.append(kind).push_back('\0');
  msg.append(normalized_value);
  IdentifierHash out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &len) == nullptr ||
      len != out.size())
    throw std::runtime_error("HMAC-SHA256 failed");
  return out;
}

std::string short_tag(const IdentifierHash& h) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 4; ++i) {
    s.push_back(kHex[h[static_cast<std::size_t>(i)] >> 4]);
    s.push_back(kHex[h[static_cast<std::size_t>(i)] & 0xf]);
  }
  return s;
}

}  // namespace regulars::daemon
