// The ROI report's sums (gestures/roi_sums.hpp): what a store sends the hub for the chain's report.
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "gestures/roi_sums.hpp"

namespace regulars::daemon {
namespace {

using nlohmann::json;

RoiSums store_with(const std::vector<std::pair<double, double>>& offered, const std::vector<std::pair<double, double>>& held_out) {
  RoiSums s;
  s.rule = "gift";
  s.accepted = static_cast<std::int64_t>(offered.size());
  s.held_out = static_cast<std::int64_t>(held_out.size());
  s.cost = 100 * s.accepted;
  for (const auto& [visits, spend] : offered) {
    ++s.offered_group.customers;
    s.offered_group.add_followed(visits, spend);
  }
  for (const auto& [visits, spend] : held_out) {
    ++s.held_out_group.customers;
    s.held_out_group.add_followed(visits, spend);
  }
  return s;
}

// Two stores' sums pooled give the report of all their customers at once, intervals included.
TEST(RoiSums, PooledSumsReportAsAllTheCustomersTogether) {
  const std::vector<std::pair<double, double>> a_offered{{0, 0}, {2, 800}, {1, 150}}, a_held{{2, 1200}, {1, 300}};
  const std::vector<std::pair<double, double>> b_offered{{3, 900}, {0, 0}}, b_held{{1, 1000}, {0, 0}, {4, 2000}};
  RoiSums pooled = store_with(a_offered, a_held);
  pooled += store_with(b_offered, b_held);
  auto all_offered = a_offered, all_held = a_held;
  all_offered.insert(all_offered.end(), b_offered.begin(), b_offered.end());
  all_held.insert(all_held.end(), b_held.begin(), b_held.end());
  const json together = roi_row(store_with(all_offered, all_held));
  EXPECT_EQ(roi_row(pooled), together);
  EXPECT_EQ(together["offered"]["customers"], 5);
  EXPECT_EQ(together["held_out"]["returned"], 4);
  EXPECT_FALSE(together["difference"]["spend_per_customer"]["ci95"].is_null());
}

TEST(RoiSums, GoToTheHubAndBackUnchanged) {
  RoiSums s = store_with({{1, 250}, {0, 0}}, {{2, 500}});
  s.name = "Bread gift";
  s.declined = 3;
  s.cost_committed = 400;
  const auto back = roi_sums_from_json(json::parse(roi_sums_to_json(s).dump()));
  ASSERT_TRUE(std::holds_alternative<RoiSums>(back)) << std::get<std::string>(back);
  EXPECT_EQ(roi_row(std::get<RoiSums>(back)), roi_row(s));
  EXPECT_EQ(roi_sums_to_json(std::get<RoiSums>(back)), roi_sums_to_json(s));
}

// A row from the hub is input from outside: each way of being wrong is refused, and says where.
TEST(RoiSums, WhatIsNotValidSumsIsRefusedAndNamed) {
  const json good = roi_sums_to_json(store_with({{1, 250}, {0, 0}}, {{2, 500}}));
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases{
      {[](json& j) { j = json::array(); }, "not an object"},
      {[](json& j) { j.erase("rule"); }, "rule"},
      {[](json& j) { j["rule"] = std::string(65, 'r'); }, "rule"},
      {[](json& j) { j["window_days"] = 0; }, "window_days"},
      {[](json& j) { j["outcomes"]["declined"] = -1; }, "outcomes.declined"},
      {[](json& j) { j["outcomes"]["accepted"] = 1.5; }, "outcomes.accepted"},
      {[](json& j) { j["cost"] = "100"; }, "cost"},
      {[](json& j) { j["offered"]["spend_sq"] = 1e300; }, "offered.spend_sq"},
      {[](json& j) { j["held_out"]["followed"] = 5; }, "held_out"},
      {[](json& j) { j["offered"]["returned"] = 3; }, "offered"},
      {[](json& j) { j.erase("held_out"); }, "held_out"},
      {[](json& j) { j["offered"]["customers"] = 2e12; }, "offered.customers"},
      {[](json& j) { j["offered"]["visits_sq"] = 0.1; }, "offered: a sum of squares"},
      {[](json& j) { j["held_out"]["spend_sq"] = 1000; }, "held_out: a sum of squares"},
      {[](json& j) { j["offered"]["visits"] = 0; j["offered"]["visits_sq"] = 0; }, "offered: visits"},
      {[](json& j) { j["held_out"]["followed"] = 0; j["held_out"]["returned"] = 0; }, "held_out: sums without anybody"},
  };
  for (const auto& [spoil, named] : cases) {
    json bad = good;
    spoil(bad);
    const auto read = roi_sums_from_json(bad);
    ASSERT_TRUE(std::holds_alternative<std::string>(read)) << bad.dump();
    EXPECT_NE(std::get<std::string>(read).find(named), std::string::npos) << std::get<std::string>(read);
  }
}

}  // namespace
}  // namespace regulars::daemon
