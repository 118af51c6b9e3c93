#include "gestures/chain_allowance.hpp"

#include "base/clock.hpp"

namespace regulars::daemon {

std::int64_t ChainAllowance::period_of(ChainPeriod period, std::int64_t unix_ms) const {
  const std::int64_t day = chain_day_(unix_ms);
  if (period == ChainPeriod::day) return day;
  // The calendar of that day (its midnight, read on a UTC clock, is that day whatever the zone).
  const Moment m = moment_at_offset(day * 86'400'000, 0);
  return period == ChainPeriod::week ? m.week : m.month;
}

std::string ChainAllowance::lease_key(const std::string& rule, ChainPeriod period) {
  switch (period) {
    case ChainPeriod::week: return rule + "/week";
    case ChainPeriod::month: return rule + "/month";
    case ChainPeriod::day: break;
  }
  return rule;
}

bool ChainAllowance::take(const std::string& rule, const std::vector<ChainCap>& caps, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  std::vector<Held*> each;
  bool enough = true;
  for (const ChainCap& c : caps) {
    Held& h = held_[{lease_key(rule, c.period), period_of(c.period, now_ms)}];
    h.period = c.period;
    h.cap = c.cap;
    h.units = c.units;
    h.last_asked_ms = now_ms;
    enough = enough && h.held >= c.units;
    each.push_back(&h);
  }
  if (!enough) return false;
  for (Held* h : each) h->held -= h->units;
  return true;
}

void ChainAllowance::give_back(const std::string& rule, const ChainCap& cap, std::int64_t at_ms) {
  std::lock_guard lock(mu_);
  const auto it = held_.find({lease_key(rule, cap.period), period_of(cap.period, at_ms)});
  if (it != held_.end()) it->second.held += cap.units;  // a past period's entry is gone: its cap is over
}

std::vector<ChainAllowance::Share> ChainAllowance::shares(std::int64_t now_ms) const {
  std::lock_guard lock(mu_);
  std::vector<Share> out;
  for (const auto& [key, h] : held_)
    out.push_back({key.first, key.second, h.cap, h.held, h.units, now_ms - h.last_asked_ms < kWantedForMs,
                   now_ms - h.last_asked_ms >= kIdleAfterMs});
  return out;
}

bool ChainAllowance::granted(const std::string& key, std::int64_t period, std::int64_t n) {
  std::lock_guard lock(mu_);
  const auto it = held_.find({key, period});
  if (it == held_.end()) return false;
  it->second.held += n;
  return true;
}

std::int64_t ChainAllowance::take_back(const std::string& key, std::int64_t period) {
  std::lock_guard lock(mu_);
  const auto it = held_.find({key, period});
  if (it == held_.end()) return 0;
  const std::int64_t n = it->second.held;
  it->second.held = 0;
  return n;
}

void ChainAllowance::forget_past(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  for (auto it = held_.begin(); it != held_.end();)
    it = it->first.second < period_of(it->second.period, now_ms) ? held_.erase(it) : std::next(it);
}

}  // namespace regulars::daemon
