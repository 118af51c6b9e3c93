#include "gestures/roi_sums.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace regulars::daemon {

using nlohmann::json;

namespace {

double round4(double x) { return std::round(x * 10000.0) / 10000.0; }

// Mean and sample variance of n values from their sum and sum of squares.
struct Moments {
  double n = 0, sum = 0, sum_sq = 0;
  double mean() const { return n > 0 ? sum / n : 0.0; }
  double variance() const { return n < 2 ? 0.0 : std::max(0.0, (sum_sq - sum * sum / n) / (n - 1)); }
};

Moments visits_of(const RoiGroup& g) { return {static_cast<double>(g.followed), g.visits, g.visits_sq}; }
Moments spend_of(const RoiGroup& g) { return {static_cast<double>(g.followed), g.spend, g.spend_sq}; }

json group_json(const RoiGroup& g) {
  const double followed = static_cast<double>(g.followed);
  return {{"customers", g.customers},
          {"followed", g.followed},
          {"returned", g.returned},
          {"return_rate", g.followed ? round4(static_cast<double>(g.returned) / followed) : 0.0},
          {"visits_per_customer", round4(visits_of(g).mean())},
          {"spend_per_customer", round4(spend_of(g).mean())}};
}

// The offered group's mean minus the held-out one's, with a 95% normal interval (Welch's
// standard error); null interval with fewer than two customers on either side.
json difference(const Moments& a, const Moments& b) {
  const double d = a.mean() - b.mean();
  json out = {{"difference", round4(d)}, {"ci95", nullptr}};
  if (a.n >= 2 && b.n >= 2) {
    const double se = std::sqrt(a.variance() / a.n + b.variance() / b.n);
    out["ci95"] = {round4(d - 1.96 * se), round4(d + 1.96 * se)};
  }
  return out;
}

// The same for the share of customers who came back. A proportion's variance is p(1-p)/n
// (Wald), not the sample variance.
json return_rate_difference(const RoiGroup& offered, const RoiGroup& control) {
  const double na = static_cast<double>(offered.followed), nb = static_cast<double>(control.followed);
  const double pa = na > 0 ? static_cast<double>(offered.returned) / na : 0.0;
  const double pb = nb > 0 ? static_cast<double>(control.returned) / nb : 0.0;
  json out = {{"difference", round4(pa - pb)}, {"ci95", nullptr}};
  if (na > 0 && nb > 0) {
    const double se = std::sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb);
    out["ci95"] = {round4(pa - pb - 1.96 * se), round4(pa - pb + 1.96 * se)};
  }
  return out;
}

json group_to_json(const RoiGroup& g) {
  return {{"customers", g.customers}, {"followed", g.followed}, {"returned", g.returned}, {"visits", g.visits},
          {"visits_sq", g.visits_sq},  {"spend", g.spend},        {"spend_sq", g.spend_sq}};
}

// Bounds far above any store's figures, low enough that the chain's rows (at most 100,000) add
// up without overflowing: counts as int64, sums as doubles that stay exact enough.
constexpr double kMaxCount = 1e12;
constexpr double kMaxSum = 1e18;

// A count or sum read back from the hub: present, a number, finite, not negative, bounded.
std::optional<std::string> read_number(const json& obj, const char* key, double& out, double max = kMaxSum) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::string(key) + " is missing or not a number";
  out = it->get<double>();
  if (!std::isfinite(out) || out < 0 || out > max) return std::string(key) + " is negative, too large or not finite";
  return std::nullopt;
}

std::optional<std::string> read_count(const json& obj, const char* key, std::int64_t& out) {
  double v = 0;
  if (auto error = read_number(obj, key, v, kMaxCount)) return error;
  if (v != std::floor(v)) return std::string(key) + " is not a whole number";
  out = static_cast<std::int64_t>(v);
  return std::nullopt;
}

// Sums that no group of customers could have: each returned customer made a visit; with nobody
// followed there is nothing to sum; a sum of squares is at least the square of the sum over n
// (what the variance would be negative without), give or take rounding.
std::optional<std::string> contradiction(const RoiGroup& g) {
  if (g.followed > g.customers || g.returned > g.followed) return "more followed than customers, or more returned than followed";
  if (g.followed == 0) {
    if (g.visits != 0 || g.visits_sq != 0 || g.spend != 0 || g.spend_sq != 0) return "sums without anybody followed";
    return std::nullopt;
  }
  const double n = static_cast<double>(g.followed);
  if (g.visits < static_cast<double>(g.returned) || (g.returned == 0) != (g.visits == 0))
    return "visits that do not match the customers who returned";
  const auto below = [n](double sum_sq, double sum) { return sum_sq * n < sum * sum * (1 - 1e-9); };
  if (below(g.visits_sq, g.visits) || below(g.spend_sq, g.spend)) return "a sum of squares smaller than its sum allows";
  return std::nullopt;
}

std::optional<std::string> read_group(const json& obj, const char* key, RoiGroup& g) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return std::string(key) + " is missing or not an object";
  for (const auto& [name, count] : {std::pair{"customers", &g.customers}, {"followed", &g.followed}, {"returned", &g.returned}})
    if (auto error = read_count(*it, name, *count)) return std::string(key) + "." + *error;
  for (const auto& [name, sum] : {std::pair{"visits", &g.visits}, {"visits_sq", &g.visits_sq}, {"spend", &g.spend}, {"spend_sq", &g.spend_sq}})
    if (auto error = read_number(*it, name, *sum)) return std::string(key) + "." + *error;
  if (auto why = contradiction(g)) return std::string(key) + ": " + *why;
  return std::nullopt;
}

}  // namespace

void RoiGroup::add_followed(double visits_after, double spend_after) {
  ++followed;
  if (visits_after > 0) ++returned;
  visits += visits_after;
  visits_sq += visits_after * visits_after;
  spend += spend_after;
  spend_sq += spend_after * spend_after;
}

RoiGroup& RoiGroup::operator+=(const RoiGroup& o) {
  customers += o.customers;
  followed += o.followed;
  returned += o.returned;
  visits += o.visits;
  visits_sq += o.visits_sq;
  spend += o.spend;
  spend_sq += o.spend_sq;
  return *this;
}

RoiSums& RoiSums::operator+=(const RoiSums& o) {
  if (name.empty()) name = o.name;
  offered += o.offered;
  accepted += o.accepted;
  declined += o.declined;
  redeemed += o.redeemed;
  held_out += o.held_out;
  cost += o.cost;
  cost_committed += o.cost_committed;
  offered_group += o.offered_group;
  held_out_group += o.held_out_group;
  return *this;
}

json roi_row(const RoiSums& s) {
  json row = {{"rule", s.rule}};
  if (!s.name.empty()) row["name"] = s.name;
  row["offers"] = s.offered + s.accepted + s.declined + s.redeemed;
  row["outcomes"] = {{"offered", s.offered}, {"accepted", s.accepted}, {"declined", s.declined},
                     {"redeemed", s.redeemed}, {"held_out", s.held_out}};
  row["cost"] = s.cost;
  row["cost_committed"] = s.cost_committed;
  row["offered"] = group_json(s.offered_group);
  row["held_out"] = group_json(s.held_out_group);
  row["difference"] = {{"return_rate", return_rate_difference(s.offered_group, s.held_out_group)},
                       {"visits_per_customer", difference(visits_of(s.offered_group), visits_of(s.held_out_group))},
                       {"spend_per_customer", difference(spend_of(s.offered_group), spend_of(s.held_out_group))}};
  row["window_days"] = s.window_days;
  const double cost_per =
      s.offered_group.customers ? static_cast<double>(s.cost) / static_cast<double>(s.offered_group.customers) : 0.0;
  row["cost_per_offered_customer"] = round4(cost_per);
  row["net_spend_per_offered_customer"] = round4(spend_of(s.offered_group).mean() - spend_of(s.held_out_group).mean() - cost_per);
  return row;
}

json roi_sums_to_json(const RoiSums& s) {
  return {{"rule", s.rule},
          {"name", s.name},
          {"window_days", s.window_days},
          {"outcomes", {{"offered", s.offered}, {"accepted", s.accepted}, {"declined", s.declined}, {"redeemed", s.redeemed}, {"held_out", s.held_out}}},
          {"cost", s.cost},
          {"cost_committed", s.cost_committed},
          {"offered", group_to_json(s.offered_group)},
          {"held_out", group_to_json(s.held_out_group)}};
}

std::variant<RoiSums, std::string> roi_sums_from_json(const json& j) {
  if (!j.is_object()) return std::string("not an object");
  RoiSums s;
  const auto rule = j.find("rule");
  if (rule == j.end() || !rule->is_string() || rule->get<std::string>().empty() || rule->get<std::string>().size() > 64)
    return std::string("rule is missing or not a rule id");
  s.rule = rule->get<std::string>();
  if (const auto name = j.find("name"); name != j.end()) {
    if (!name->is_string() || name->get<std::string>().size() > 200) return std::string("name is not a text of at most 200 bytes");
    s.name = name->get<std::string>();
  }
  std::int64_t window = 0;
  if (auto error = read_count(j, "window_days", window)) return *error;
  if (window < 1 || window > 365) return std::string("window_days is not 1 to 365");
  s.window_days = static_cast<int>(window);
  const auto outcomes = j.find("outcomes");
  if (outcomes == j.end() || !outcomes->is_object()) return std::string("outcomes is missing or not an object");
  for (const auto& [name, count] : {std::pair{"offered", &s.offered}, {"accepted", &s.accepted}, {"declined", &s.declined},
                                    {"redeemed", &s.redeemed}, {"held_out", &s.held_out}})
    if (auto error = read_count(*outcomes, name, *count)) return "outcomes." + *error;
  if (auto error = read_count(j, "cost", s.cost)) return *error;
  if (auto error = read_count(j, "cost_committed", s.cost_committed)) return *error;
  if (auto error = read_group(j, "offered", s.offered_group)) return *error;
  if (auto error = read_group(j, "held_out", s.held_out_group)) return *error;
  return s;
}

}  // namespace regulars::daemon
