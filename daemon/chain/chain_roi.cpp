#include "chain/chain_roi.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "gestures/roi_sums.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::chain {

using nlohmann::json;

namespace {

struct RuleRows {
  RoiSums pooled;
  json stores = json::array();
};

// One hub row as sums, or why not: what the store sent must be sums of this rule and window.
std::variant<RoiSums, std::string> sums_of(const StoreRoi& row) {
  constexpr std::int64_t kYear9999Ms = 253'402'300'799'000;
  if (row.as_of_ms <= 0 || row.as_of_ms > kYear9999Ms) return std::string("its time is not a date");
  const json parsed = json::parse(row.sums, nullptr, /*allow_exceptions=*/false);
  auto sums = roi_sums_from_json(parsed);
  if (auto* error = std::get_if<std::string>(&sums)) return *error;
  const RoiSums& s = std::get<RoiSums>(sums);
  if (s.rule != row.rule_id) return std::string("its rule is not the row's");
  if (s.window_days != kChainRoiWindowDays) return std::string("its window is not ") + std::to_string(kChainRoiWindowDays) + " days";
  return sums;
}

}  // namespace

json pool_roi(const std::vector<StoreRoi>& rows) {
  std::map<std::string, RuleRows> by_rule;
  json refused = json::array();
  for (const StoreRoi& row : rows) {
    auto sums = sums_of(row);
    if (auto* error = std::get_if<std::string>(&sums)) {
      refused.push_back(row.store_id.substr(0, 64) + "/" + row.rule_id.substr(0, 64) + ": " + *error);
      continue;
    }
    const RoiSums& s = std::get<RoiSums>(sums);
    RuleRows& rule = by_rule[s.rule];
    if (rule.pooled.rule.empty()) {
      rule.pooled.rule = s.rule;
      rule.pooled.window_days = s.window_days;
    }
    rule.pooled += s;
    json store = roi_row(s);
    store["store"] = row.store_id;
    store["as_of"] = wire::format_time_ms(row.as_of_ms);
    rule.stores.push_back(std::move(store));
  }
  if (rows.size() >= static_cast<std::size_t>(kMaxRoiRows))
    refused.push_back("the hub holds more than " + std::to_string(kMaxRoiRows) + " rows; the rules after these were not read");
  json out_rules = json::array();
  for (auto& [id, rule] : by_rule) out_rules.push_back({{"rule", id}, {"chain", roi_row(rule.pooled)}, {"stores", std::move(rule.stores)}});
  return {{"window_days", kChainRoiWindowDays}, {"rules", std::move(out_rules)}, {"refused", std::move(refused)}};
}

}  // namespace regulars::daemon::chain
