#pragma once
#include <chrono>

namespace regulars::plugin {
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Milliseconds left until `d`, at least 0, for poll(): rounded up, so that a wait with less
// than a millisecond left still sleeps instead of returning at once (and being retried in a spin).
inline int millis_left(Deadline d) {
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(d - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>((left + 999) / 1000);
}
}  // namespace regulars::plugin
