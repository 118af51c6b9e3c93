// Structured logs: one JSON object per line on stderr. The level is checked before anything is
// built. Never pass a raw identifier: use customer ids or short_tag().
#pragma once

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace regulars::daemon::log {

// level: trace, debug, info, warn, error. format: "json" or "text".
void setup(const std::string& level, const std::string& format);
// Names the calling thread (at most 15 characters show), so `top -H`, perf and gdb tell the
// writer from the syncer and the I/O threads.
void name_thread(const char* name) noexcept;
void write(spdlog::level::level_enum level, std::string_view msg, nlohmann::json fields);

}  // namespace regulars::daemon::log

#define REGULARS_LOG(LEVEL, MSG, ...)                                                     \
  do {                                                                                    \
    if (spdlog::should_log(spdlog::level::LEVEL))                                         \
      ::regulars::daemon::log::write(spdlog::level::LEVEL, MSG, nlohmann::json __VA_ARGS__); \
  } while (0)
