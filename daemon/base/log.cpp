#include "base/log.hpp"

#include <pthread.h>

#include <mutex>
#include <unordered_map>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::log {
namespace {
bool g_json = true;
}

namespace {
// Level's values are spdlog's, in the same order.
spdlog::level::level_enum to_spdlog(Level level) { return static_cast<spdlog::level::level_enum>(level); }
static_assert(static_cast<int>(Level::err) == spdlog::level::err && static_cast<int>(Level::off) == spdlog::level::off);
}  // namespace

void setup(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_logger_mt("regularsd");
  logger->set_pattern("%v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
  g_min_level = static_cast<Level>(spdlog::get_level());
  g_json = format != "text";
}

void write(Level log_level, std::string_view msg, nlohmann::json fields) {
  const auto level = to_spdlog(log_level);
  if (!fields.is_object()) fields = nlohmann::json::object();
  const std::string time = wire::format_time_ms(wire::now_ms());
  const auto lvl = spdlog::level::to_string_view(level);
  if (g_json) {
    nlohmann::json line = {{"time", time}, {"level", std::string(lvl.data(), lvl.size())}, {"msg", msg}};
    line.update(fields);
    spdlog::log(level, "{}", wire::dump_json(line));
  } else {
    std::string rest;
    for (const auto& [k, v] : fields.items()) rest += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    spdlog::log(level, "{} {:5} {}{}", time, std::string(lvl.data(), lvl.size()), msg, rest);
  }
}

struct RateLimiter::State {
  struct Window {
    Clock::time_point start;
    int written = 0;
    std::uint64_t suppressed = 0;
  };
  int per_second;
  std::mutex mu;
  // Keys are the messages of the call sites: a fixed, small set.
  std::unordered_map<std::string, Window> windows;
};

RateLimiter::RateLimiter(int per_second) : state_(std::make_unique<State>()) { state_->per_second = per_second; }
RateLimiter::~RateLimiter() = default;

bool RateLimiter::admit(std::string_view key, Clock::time_point now, std::uint64_t& suppressed) {
  std::lock_guard lock(state_->mu);
  auto it = state_->windows.find(std::string(key));
  if (it == state_->windows.end()) it = state_->windows.emplace(std::string(key), State::Window{now}).first;
  State::Window& w = it->second;
  if (now - w.start >= std::chrono::seconds(1)) {
    w.start = now;
    w.written = 0;
  }
  if (w.written >= state_->per_second) {
    ++w.suppressed;
    return false;
  }
  ++w.written;
  suppressed = w.suppressed;
  w.suppressed = 0;
  return true;
}

void write_limited(Level level, std::string_view msg, nlohmann::json fields) {
  static RateLimiter limiter(kLimitedLinesPerSecond);
  std::uint64_t suppressed = 0;
  if (!limiter.admit(msg, RateLimiter::Clock::now(), suppressed)) return;
  if (suppressed > 0)
    write(level, "similar log lines suppressed", nlohmann::json{{"like", msg}, {"suppressed", suppressed}});
  write(level, msg, std::move(fields));
}

void name_thread(const char* name) noexcept { ::pthread_setname_np(::pthread_self(), name); }

}  // namespace regulars::daemon::log
