// Slows down guessing: wrong owner tokens and spent or unknown login links count against the
// address they came from. A few mistakes are free; after that each one doubles the wait before
// the next try (429 with Retry-After), up to kMaxWait. A right answer clears the address.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace regulars::daemon {

class SignInThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kFreeFailures = 5;
  static constexpr auto kMaxWait = std::chrono::minutes(15);
  static constexpr auto kForgetAfter = std::chrono::hours(1);  // a quiet address starts afresh
  static constexpr std::size_t kMaxAddresses = 4096;

  // How long `peer` must still wait before trying again, or nullopt when it may try now.
  std::optional<std::chrono::seconds> wait_for(const std::string& peer, Clock::time_point now = Clock::now());
  // A wrong token or link from `peer`; returns the wait it now has (zero while free).
  std::chrono::seconds failed(const std::string& peer, Clock::time_point now = Clock::now());
  // A right one: the address's count starts again.
  void succeeded(const std::string& peer);

 private:
  struct Record {
    int failures = 0;
    Clock::time_point last_failure;
    Clock::time_point allowed_from;
  };
  void make_room(Clock::time_point now);  // with mu_ held

  std::mutex mu_;
  std::map<std::string, Record> peers_;
};

}  // namespace regulars::daemon
