#include "dashboard/sign_in_throttle.hpp"

#include <algorithm>
#include <cstdint>

namespace regulars::daemon {

std::optional<std::chrono::seconds> SignInThrottle::wait_for(const std::string& peer, Clock::time_point now) {
  std::lock_guard lock(mu_);
  const auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.allowed_from <= now) return std::nullopt;
  // Rounded up, so a client that waits exactly Retry-After seconds is let in.
  return std::chrono::ceil<std::chrono::seconds>(it->second.allowed_from - now);
}

std::chrono::seconds SignInThrottle::failed(const std::string& peer, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (peers_.size() >= kMaxAddresses && !peers_.contains(peer)) make_room(now);
  Record& r = peers_[peer];
  if (r.failures > 0 && now - r.last_failure > kForgetAfter) r = Record{};
  r.failures += 1;
  r.last_failure = now;
  std::chrono::seconds wait{0};
  if (r.failures > kFreeFailures) {
    const int doublings = std::min(r.failures - kFreeFailures - 1, 20);
    wait = std::min<std::chrono::seconds>(std::chrono::seconds(std::int64_t{1} << doublings), kMaxWait);
  }
  r.allowed_from = now + wait;
  return wait;
}

void SignInThrottle::succeeded(const std::string& peer) {
  std::lock_guard lock(mu_);
  peers_.erase(peer);
}

// Forgets quiet addresses, or, when every one is recent, the one quiet the longest: an attacker
// with many addresses can then only push out their own records or old ones.
void SignInThrottle::make_room(Clock::time_point now) {
  std::erase_if(peers_, [now](const auto& p) { return now - p.second.last_failure > kForgetAfter; });
  if (peers_.size() < kMaxAddresses) return;
  peers_.erase(std::min_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
    return a.second.last_failure < b.second.last_failure;
  }));
}

}  // namespace regulars::daemon
