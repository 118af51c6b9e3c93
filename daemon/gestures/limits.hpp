// A rule's limits as counts: the live engine enforces them and the dry run simulates them with
// this same code, so a dry run caps exactly what the engine would have.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "base/clock.hpp"
#include "gestures/rules.hpp"

namespace regulars::daemon {

// One rule's offers so far, by local day, week, month and cashier. Offers held out of the rule
// for its control group are not counted.
class LimitCounts {
 public:
  // True when one more offer costing `cost`, made by `cashier` (empty: unknown, no cashier cap)
  // at `now`, stays within every one of `limits`.
  bool allow(const rules::Limits& limits, std::int64_t cost, const std::string& cashier, const Moment& now) const;
  // Counts one offer made; `cost` is what it takes from its month's budget.
  void count(std::int64_t cost, const std::string& cashier, const Moment& now);
  // A declined offer gives its cost back to its month's budget.
  void give_back(int month, std::int64_t cost) { spent_[month] -= cost; }

 private:
  std::unordered_map<std::int64_t, int> per_day_, per_week_;
  std::unordered_map<int, std::int64_t> spent_;            // month -> minor units
  std::unordered_map<std::string, int> per_cashier_day_;  // cashier_day() -> offers
};

}  // namespace regulars::daemon
