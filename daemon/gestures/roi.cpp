// The ROI report: customers offered a rule's gesture against those held out of it, each
// followed for `window_days` after their first exposure. The purchase of the visit at which the
// offer was made (within two hours of it) is not "afterwards".
#include <algorithm>
#include <cmath>

#include "gestures/engine.hpp"
#include "store/gesture_queries.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;
using rules::kDayMs;

namespace {

constexpr std::int64_t kSameVisitMs = 2 * 3'600'000;

// One side of the comparison: the offered customers, or those held out.
struct Group {
  std::int64_t customers = 0, matured = 0, returned = 0;
  std::vector<double> visits, spend;  // per customer followed for the whole window
};

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double variance(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

double round4(double x) { return std::round(x * 10000.0) / 10000.0; }

json group_json(const Group& g) {
  return {{"customers", g.customers},
          {"followed", g.matured},
          {"returned", g.returned},
          {"return_rate", g.matured ? round4(static_cast<double>(g.returned) / static_cast<double>(g.matured)) : 0.0},
          {"visits_per_customer", round4(mean(g.visits))},
          {"spend_per_customer", round4(mean(g.spend))}};
}

// Difference of the offered group's mean minus the held-out one's, with a 95% normal interval
// (Welch's standard error); null interval with fewer than two customers on either side.
json difference(const std::vector<double>& a, const std::vector<double>& b) {
  const double d = mean(a) - mean(b);
  json out = {{"difference", round4(d)}, {"ci95", nullptr}};
  if (a.size() >= 2 && b.size() >= 2) {
    const double se = std::sqrt(variance(a) / static_cast<double>(a.size()) + variance(b) / static_cast<double>(b.size()));
    out["ci95"] = {round4(d - 1.96 * se), round4(d + 1.96 * se)};
  }
  return out;
}

// The same for the share of customers who came back. A proportion's variance is p(1-p)/n
// (Wald), not the sample variance.
json return_rate_difference(const Group& offered, const Group& control) {
  std::vector<double> a, b;
  for (double v : offered.visits) a.push_back(v > 0 ? 1.0 : 0.0);
  for (double v : control.visits) b.push_back(v > 0 ? 1.0 : 0.0);
  const double pa = mean(a), pb = mean(b);
  json out = {{"difference", round4(pa - pb)}, {"ci95", nullptr}};
  if (!a.empty() && !b.empty()) {
    const double se = std::sqrt(pa * (1 - pa) / static_cast<double>(a.size()) + pb * (1 - pb) / static_cast<double>(b.size()));
    out["ci95"] = {round4(pa - pb - 1.96 * se), round4(pa - pb + 1.96 * se)};
  }
  return out;
}

// The rules to report: those with offers in the log, then those in force without any.
std::vector<std::string> rules_to_report(Db& db, const json& in_force) {
  std::vector<std::string> ids = gesture_queries::rules_with_offers(db);
  for (const auto& r : in_force)
    if (std::find(ids.begin(), ids.end(), r.at("id").get<std::string>()) == ids.end()) ids.push_back(r.at("id").get<std::string>());
  return ids;
}

// The rule's offers by outcome, and what they cost: "cost" counts the gestures accepted or
// redeemed, "cost_committed" what the budget counts (declined offers excluded).
void add_outcomes(Db& db, const std::string& rule_id, std::int64_t now_ms, json& row) {
  json counts = {{"offered", 0}, {"accepted", 0}, {"declined", 0}, {"redeemed", 0}, {"held_out", 0}};
  std::int64_t total = 0, given = 0, committed = 0;
  for (const auto& t : gesture_queries::offer_totals(db, rule_id, now_ms)) {
    counts[t.status] = t.offers;
    if (t.status != "held_out") total += t.offers;
    if (t.status == "accepted" || t.status == "redeemed") given += t.cost;
    if (t.status != "held_out" && t.status != "declined") committed += t.cost;
  }
  row["offers"] = total;
  row["outcomes"] = std::move(counts);
  row["cost"] = given;
  row["cost_committed"] = committed;
}

// What one customer did in the window after their first exposure at `t0`.
void follow(Db& db, std::int64_t customer, std::int64_t t0, std::int64_t window, Group& g) {
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
  if (visits > 0) ++g.returned;
  g.visits.push_back(visits);
  g.spend.push_back(spend);
}

// Each customer counts in the group of their first exposure (a merge or a changed hold-out
// share can leave one customer with both kinds of row).
void follow_groups(Db& db, const std::string& rule_id, std::int64_t now_ms, std::int64_t window, Group& offered,
                   Group& control) {
  gesture_queries::for_each_first_exposure(db, rule_id, now_ms, [&](const gesture_queries::FirstExposure& e) {
    Group& g = e.held_out ? control : offered;
    ++g.customers;
    if (e.made_ms + window > now_ms) return;  // not followed for the whole window yet
    ++g.matured;
    follow(db, e.customer_id, e.made_ms, window, g);
  });
}

}  // namespace

json GestureEngine::roi(Db& db, const std::string& only, std::int64_t now_ms, int window_days) const {
  const std::int64_t window = static_cast<std::int64_t>(window_days) * kDayMs;
  json out = json::array();
  for (const auto& id : rules_to_report(db, list_rules())) {
    if (!only.empty() && id != only) continue;
    json row = {{"rule", id}};
    if (const auto r = rule(id); r && !r->name.empty()) row["name"] = r->name;
    add_outcomes(db, id, now_ms, row);
    Group offered, control;
    follow_groups(db, id, now_ms, window, offered, control);
    row["offered"] = group_json(offered);
    row["held_out"] = group_json(control);
    row["difference"] = {{"return_rate", return_rate_difference(offered, control)},
                         {"visits_per_customer", difference(offered.visits, control.visits)},
                         {"spend_per_customer", difference(offered.spend, control.spend)}};
    row["window_days"] = window_days;
    const double cost_per = offered.customers ? static_cast<double>(row["cost"].get<std::int64_t>()) / static_cast<double>(offered.customers) : 0.0;
    row["cost_per_offered_customer"] = round4(cost_per);
    row["net_spend_per_offered_customer"] = round4(mean(offered.spend) - mean(control.spend) - cost_per);
    out.push_back(std::move(row));
  }
  return {{"as_of", wire::format_time_ms(now_ms)}, {"rules", std::move(out)}};
}

}  // namespace regulars::daemon
