// Structured logs: one JSON object per line on stderr. The level is checked before anything is
// built. Never pass a raw identifier: use customer ids or short_tag().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace regulars::daemon::log {

// Severity, least first (the names match the levels of the config and spdlog's).
enum class Level { trace, debug, info, warn, err, critical, off };

// level: trace, debug, info, warn, error. format: "json" or "text".
void setup(const std::string& level, const std::string& format);
// Names the calling thread (at most 15 characters show), so `top -H`, perf and gdb tell the
// writer from the syncer and the I/O threads.
void name_thread(const char* name) noexcept;
void write(Level level, std::string_view msg, nlohmann::json fields);

// Lines a peer or a failing machine can repeat without end (a refused connection, a failing
// accept) would fill the disk and bury everything else: per key, at most `per_second` lines are
// written each second and the rest counted; the first line written in a later second is preceded
// by one saying how many were left out.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(int per_second);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;
  // Whether a line under `key` may be written at `now`. When it may, `suppressed` is how many
  // lines under `key` were left out since the last one written (0 most of the time).
  bool admit(std::string_view key, Clock::time_point now, std::uint64_t& suppressed);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The process's limiter for REGULARS_LOG_LIMITED: kLimitedLinesPerSecond lines per message.
inline constexpr int kLimitedLinesPerSecond = 5;
// Writes the line through the process's limiter, keyed by `msg`, after the summary of what was
// left out if anything was.
void write_limited(Level level, std::string_view msg, nlohmann::json fields);

// The least severe level written (set by setup; info until then).
inline std::atomic<Level> g_min_level{Level::info};
inline bool enabled(Level level) noexcept { return level >= g_min_level.load(std::memory_order_relaxed); }

}  // namespace regulars::daemon::log

#define REGULARS_LOG(LEVEL, MSG, ...)                                                      \
  do {                                                                                     \
    if (::regulars::daemon::log::enabled(::regulars::daemon::log::Level::LEVEL))           \
      ::regulars::daemon::log::write(::regulars::daemon::log::Level::LEVEL, MSG, nlohmann::json __VA_ARGS__); \
  } while (0)

// REGULARS_LOG for lines that can repeat without end: limited per message (log::RateLimiter).
#define REGULARS_LOG_LIMITED(LEVEL, MSG, ...)                                              \
  do {                                                                                     \
    if (::regulars::daemon::log::enabled(::regulars::daemon::log::Level::LEVEL))           \
      ::regulars::daemon::log::write_limited(::regulars::daemon::log::Level::LEVEL, MSG, nlohmann::json __VA_ARGS__); \
  } while (0)
