// Structured logs: one JSON object per line on stderr. The level is checked before anything is
// built. Never pass a raw identifier: use customer ids or short_tag().
#pragma once

#include <atomic>
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

// The least severe level written (set by setup; info until then).
inline std::atomic<Level> g_min_level{Level::info};
inline bool enabled(Level level) noexcept { return level >= g_min_level.load(std::memory_order_relaxed); }

}  // namespace regulars::daemon::log

#define REGULARS_LOG(LEVEL, MSG, ...)                                                      \
  do {                                                                                     \
    if (::regulars::daemon::log::enabled(::regulars::daemon::log::Level::LEVEL))           \
      ::regulars::daemon::log::write(::regulars::daemon::log::Level::LEVEL, MSG, nlohmann::json __VA_ARGS__); \
  } while (0)
