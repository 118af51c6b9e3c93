#include "wire/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <system_error>
#include <vector>

#include "wire/hex.hpp"

namespace regulars::wire {

void random_bytes(std::span<unsigned char> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    // Reads of up to 256 bytes are never cut short once the pool is ready; longer ones may be.
    const ssize_t n = ::getrandom(out.data() + got, out.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "getrandom");
    got += static_cast<std::size_t>(n);
  }
}

std::string random_id(std::string_view prefix, std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  random_bytes(raw);
  std::string id(prefix);
  id += hex_encode(raw);
  return id;
}

std::string time_ordered_id(std::string_view prefix, std::size_t bytes) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  char stamp[24];
  std::snprintf(stamp, sizeof stamp, "%014llx-", static_cast<unsigned long long>(micros));
  std::string id(prefix);
  id += stamp;
  return random_id(id, bytes);
}

}  // namespace regulars::wire
