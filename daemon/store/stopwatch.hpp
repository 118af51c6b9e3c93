// Time spent in a step of the write pipeline, for its counters (status, the benchmark).
#pragma once

#include <chrono>
#include <cstdint>

namespace regulars::daemon {

inline std::uint64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace regulars::daemon
