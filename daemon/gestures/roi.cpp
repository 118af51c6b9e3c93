// The ROI report: customers offered a rule's gesture against those held out of it, each
// followed for `window_days` after their first exposure. The purchase of the visit at which the
// offer was made (within two hours of it) is not "afterwards".
#include <algorithm>

#include "gestures/engine.hpp"
#include "store/gesture_queries.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;
using rules::kDayMs;

namespace {

constexpr std::int64_t kSameVisitMs = 2 * 3'600'000;

// The rules to report: those with offers in the log, then those in force without any.
std::vector<std::string> rules_to_report(Db& db, const json& in_force) {
  std::vector<std::string> ids = gesture_queries::rules_with_offers(db);
  for (const auto& r : in_force)
    if (std::find(ids.begin(), ids.end(), r.at("id").get<std::string>()) == ids.end()) ids.push_back(r.at("id").get<std::string>());
  return ids;
}

// The rule's offers by outcome, and what they cost: "cost" counts the gestures accepted or
// redeemed, "cost_committed" what the budget counts (declined offers excluded).
void add_outcomes(Db& db, const std::string& rule_id, std::int64_t now_ms, RoiSums& sums) {
  for (const auto& t : gesture_queries::offer_totals(db, rule_id, now_ms)) {
    if (t.status == "offered") sums.offered = t.offers;
    else if (t.status == "accepted") sums.accepted = t.offers;
    else if (t.status == "declined") sums.declined = t.offers;
    else if (t.status == "redeemed") sums.redeemed = t.offers;
    else if (t.status == "held_out") sums.held_out = t.offers;
    if (t.status == "accepted" || t.status == "redeemed") sums.cost += t.cost;
    if (t.status != "held_out" && t.status != "declined") sums.cost_committed += t.cost;
  }
}

// What one customer did in the window after their first exposure at `t0`.
void follow(Db& db, std::int64_t customer, std::int64_t t0, std::int64_t window, RoiGroup& g) {
  double visits = 0, spend = 0;
  bool same_visit_skipped = false;
  for (const auto& p : gesture_queries::purchases_between(db, customer, t0, t0 + window)) {
    if (!same_visit_skipped && p.time_ms - t0 <= kSameVisitMs) {
      same_visit_skipped = true;
      continue;
    }
    same_visit_skipped = true;
    visits += 1;
    spend += static_cast<double>(p.value);
  }
  g.add_followed(visits, spend);
}

// Each customer counts in the group of their first exposure (a merge or a changed hold-out
// share can leave one customer with both kinds of row).
void follow_groups(Db& db, const std::string& rule_id, std::int64_t now_ms, std::int64_t window, RoiSums& sums) {
  gesture_queries::for_each_first_exposure(db, rule_id, now_ms, [&](const gesture_queries::FirstExposure& e) {
    RoiGroup& g = e.held_out ? sums.held_out_group : sums.offered_group;
    ++g.customers;
    if (e.made_ms + window > now_ms) return;  // not followed for the whole window yet
    follow(db, e.customer_id, e.made_ms, window, g);
  });
}

}  // namespace

std::vector<RoiSums> GestureEngine::roi_sums(Db& db, const std::string& only, std::int64_t now_ms, int window_days) const {
  const std::int64_t window = static_cast<std::int64_t>(window_days) * kDayMs;
  std::vector<RoiSums> out;
  for (const auto& id : rules_to_report(db, list_rules())) {
    if (!only.empty() && id != only) continue;
    RoiSums& sums = out.emplace_back();
    sums.rule = id;
    sums.window_days = window_days;
    if (const auto r = rule(id); r && !r->name.empty()) sums.name = r->name;
    add_outcomes(db, id, now_ms, sums);
    follow_groups(db, id, now_ms, window, sums);
  }
  return out;
}

json GestureEngine::roi(Db& db, const std::string& only, std::int64_t now_ms, int window_days) const {
  json rows = json::array();
  for (const RoiSums& sums : roi_sums(db, only, now_ms, window_days)) rows.push_back(roi_row(sums));
  return {{"as_of", wire::format_time_ms(now_ms)}, {"rules", std::move(rows)}};
}

}  // namespace regulars::daemon
