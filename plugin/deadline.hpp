#pragma once
#include <chrono>

namespace regulars::plugin {
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Milliseconds left until `d`, at least 0, for poll().
inline int millis_left(Deadline d) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left) + 1;
}
}  // namespace regulars::plugin
