// What the ROI report (roi.cpp) is computed from, kept as sums: each group's counts and the sums
// and sums of squares of what its customers did afterwards. Sums add up, so the chain's report
// pools the stores' own (chain/hub.hpp) into the same figures a store computes for itself, and a
// store's sums say nothing about any one customer: they are all that leaves it for the hub.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace regulars::daemon {

// One side of the comparison: the customers offered the gesture, or those held out of it.
struct RoiGroup {
  std::int64_t customers = 0;  // first exposed to the rule in this group
  std::int64_t followed = 0;   // of them, followed for the whole window by now
  std::int64_t returned = 0;   // of those, came back at least once
  double visits = 0, visits_sq = 0;  // sums over the followed of visits afterwards, and of their squares
  double spend = 0, spend_sq = 0;    // the same for spend (minor units)

  void add_followed(double visits_after, double spend_after);
  RoiGroup& operator+=(const RoiGroup& other);
};

struct RoiSums {
  std::string rule;
  std::string name;  // the rule's, where known
  int window_days = 30;
  std::int64_t offered = 0, accepted = 0, declined = 0, redeemed = 0, held_out = 0;  // offers by outcome
  std::int64_t cost = 0;            // of the gestures accepted or redeemed
  std::int64_t cost_committed = 0;  // what the budget counts (declined offers excluded)
  RoiGroup offered_group, held_out_group;

  RoiSums& operator+=(const RoiSums& other);  // the same rule and window, another store's
};

// The report's row for one rule: outcomes, both groups, their differences with 95% intervals,
// and what the gesture cost and earned per offered customer.
nlohmann::json roi_row(const RoiSums& sums);

// As sent to the hub and read back from it. Reading checks every field (a row from the hub is
// input from outside): counts and sums non-negative and finite, the followed no more than the
// customers, the returned no more than the followed; else a message saying what is wrong.
nlohmann::json roi_sums_to_json(const RoiSums& sums);
std::variant<RoiSums, std::string> roi_sums_from_json(const nlohmann::json& j);

}  // namespace regulars::daemon
