#include "owner/admin_token.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "wire/hex.hpp"
#include "owner/token_digest.hpp"

namespace regulars::daemon {

namespace {

// A new token in a file only the owner can read, written whole or not at all.
std::string create_token(const std::string& path) {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("cannot generate " + path + " (RAND_bytes failed)");
  const std::string token = wire::hex_encode(raw);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  return token;
}

std::string load_or_create_token(const std::string& path) {
  std::string token;
  if (std::ifstream in(path); in) std::getline(in, token);
  else token = create_token(path);
  if (token.size() < 16)
    throw std::runtime_error(path + " holds no usable token (at least 16 characters); delete it to have a new one made");
  const auto digest = token_digest(token);
  if (!digest) throw std::runtime_error("SHA-256 failed");
  return wire::hex_encode(*digest);
}

}  // namespace

std::string load_or_create_admin_token(const std::string& data_dir) { return load_or_create_token(data_dir + "/admin.token"); }

std::string load_or_create_metrics_token(const std::string& data_dir) {
  return load_or_create_token(data_dir + "/metrics.token");
}

}  // namespace regulars::daemon
