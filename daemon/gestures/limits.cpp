#include "gestures/limits.hpp"

namespace regulars::daemon {

namespace {

std::string cashier_day(const std::string& cashier, std::int64_t day) { return cashier + '\x1f' + std::to_string(day); }

template <typename Map, typename Key>
typename Map::mapped_type count_in(const Map& map, const Key& key) {
  const auto it = map.find(key);
  return it == map.end() ? 0 : it->second;
}

}  // namespace

bool LimitCounts::allow(const rules::Limits& limits, std::int64_t cost, const std::string& cashier, const Moment& now) const {
  if (limits.per_day > 0 && count_in(per_day_, now.day) >= limits.per_day) return false;
  // This store's offers can never be more than the whole chain's (and alone, it is the chain).
  if (limits.chain_per_day > 0 && count_in(per_day_, now.day) >= limits.chain_per_day) return false;
  if (limits.per_week > 0 && count_in(per_week_, now.week) >= limits.per_week) return false;
  if (limits.chain_per_week > 0 && count_in(per_week_, now.week) >= limits.chain_per_week) return false;
  if (limits.monthly_budget > 0 && count_in(spent_, now.month) + cost > limits.monthly_budget) return false;
  if (limits.chain_monthly_budget > 0 && count_in(spent_, now.month) + cost > limits.chain_monthly_budget) return false;
  if (limits.per_cashier_per_day > 0 && !cashier.empty() &&
      count_in(per_cashier_day_, cashier_day(cashier, now.day)) >= limits.per_cashier_per_day)
    return false;
  return true;
}

void LimitCounts::count(std::int64_t cost, const std::string& cashier, const Moment& now) {
  ++per_day_[now.day];
  ++per_week_[now.week];
  spent_[now.month] += cost;
  if (!cashier.empty()) ++per_cashier_day_[cashier_day(cashier, now.day)];
}

}  // namespace regulars::daemon
