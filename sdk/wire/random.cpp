#include "wire/random.hpp"

#ifdef _WIN32
// clang-format off
#include <windows.h>
#include <bcrypt.h>
// clang-format on
#else
#include <sys/random.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <system_error>
#include <vector>

#include "wire/hex.hpp"

namespace regulars::wire {

#ifdef _WIN32
void random_bytes(std::span<unsigned char> out) {
  for (std::size_t got = 0; got < out.size();) {
    const ULONG n = static_cast<ULONG>(std::min<std::size_t>(out.size() - got, 1u << 20));
    const NTSTATUS s = ::BCryptGenRandom(nullptr, out.data() + got, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    if (s < 0) throw std::system_error(static_cast<int>(s), std::system_category(), "BCryptGenRandom");
    got += n;
  }
}
#else
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
#endif

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
