#include "gestures/chain_allowance.hpp"

namespace regulars::daemon {

bool ChainAllowance::take(const std::string& rule, int cap, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Held& h = held_[{rule, chain_day_(now_ms)}];
  h.cap = cap;
  h.last_asked_ms = now_ms;
  if (h.held == 0) return false;
  --h.held;
  return true;
}

std::vector<ChainAllowance::Share> ChainAllowance::shares(std::int64_t now_ms) const {
  std::lock_guard lock(mu_);
  std::vector<Share> out;
  for (const auto& [key, h] : held_)
    out.push_back({key.first, key.second, h.cap, h.held, now_ms - h.last_asked_ms < kWantedForMs,
                   now_ms - h.last_asked_ms >= kIdleAfterMs});
  return out;
}

void ChainAllowance::granted(const std::string& rule, std::int64_t day, int n) {
  std::lock_guard lock(mu_);
  held_[{rule, day}].held += n;
}

int ChainAllowance::take_back(const std::string& rule, std::int64_t day) {
  std::lock_guard lock(mu_);
  const auto it = held_.find({rule, day});
  if (it == held_.end()) return 0;
  const int n = it->second.held;
  it->second.held = 0;
  return n;
}

void ChainAllowance::forget_past(std::int64_t now_ms) {
  const std::int64_t today = chain_day_(now_ms);
  std::lock_guard lock(mu_);
  for (auto it = held_.begin(); it != held_.end();) it = it->first.second < today ? held_.erase(it) : std::next(it);
}

}  // namespace regulars::daemon
