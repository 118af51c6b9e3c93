#include "gestures/conditions.hpp"

#include <algorithm>

namespace regulars::daemon {

using rules::Condition;
using rules::kDayMs;

namespace {

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::uint64_t hash_text(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// A uniform draw in [0, 1) fixed by its inputs.
double draw(const std::string& rule_id, std::uint64_t a, std::uint64_t b = 0) {
  const std::uint64_t h = mix(hash_text(rule_id) ^ mix(a * 0x9e3779b97f4a7c15ULL + b));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

std::int64_t days_ms(int days) { return static_cast<std::int64_t>(days) * kDayMs; }

bool in_time(const Condition& c, const Moment& now) {
  if (c.weekdays != 0 && !(c.weekdays & (1u << now.weekday))) return false;
  if (c.minutes) {
    const auto [from, to] = *c.minutes;
    const bool inside = from < to ? (now.minute >= from && now.minute < to) : (now.minute >= from || now.minute < to);
    if (!inside) return false;
  }
  if (c.dates && (now.day < c.dates->first || now.day > c.dates->second)) return false;
  return true;
}

bool eval(const Condition& c, Facts& f, const Moment& now, const std::string& rule_id) {
  using K = Condition::Kind;
  switch (c.kind) {
    case K::all:
      for (const auto& child : c.children)
        if (!eval(child, f, now, rule_id)) return false;
      return true;
    case K::any:
      for (const auto& child : c.children)
        if (eval(child, f, now, rule_id)) return true;
      return false;
    case K::not_:
      return !eval(c.children.at(0), f, now, rule_id);
    case K::visit: {
      const std::int64_t visit = f.visits + 1;
      return c.nth > 0 ? visit == c.nth : visit % c.every == 0;
    }
    case K::bought: {
      const Facts::Bought b = f.bought(c.sku, c.category, c.member);
      if (b.baskets < std::max(1, c.min_times)) return false;
      return c.within_days == 0 || now.ms - b.last_ms <= days_ms(c.within_days);
    }
    case K::in_basket:
      return f.in_basket(c.sku, c.category);
    case K::absent:
      return f.visits > 0 && now.ms - f.last_seen_ms >= days_ms(c.days);
    case K::birthday:
      return days_to_annual(f.birthday, now, c.days_before, c.days_after).has_value();
    case K::spend:
      return f.spend_since(now.ms - days_ms(c.days)) > c.over;
    case K::complaint:
      if (f.last_complaint_ms == 0 || now.ms - f.last_complaint_ms > days_ms(c.within_days)) return false;
      return !c.open_followup || f.open_followup();
    case K::time:
      return in_time(c, now);
    case K::tag:
      return std::find(f.tags.begin(), f.tags.end(), c.name) != f.tags.end();
    case K::segment:
      return segment_of(f, now.ms) == c.name;
    case K::random:
      return draw(rule_id, static_cast<std::uint64_t>(f.customer_id), static_cast<std::uint64_t>(f.visits + 1)) < c.probability;
  }
  return false;
}

// How dear a condition is to answer: 0 for what the customer's record holds, 1 for the basket,
// more for what the store must be asked.
int cost_of(const Condition& c) {
  using K = Condition::Kind;
  switch (c.kind) {
    case K::all:
    case K::any:
    case K::not_: {
      int worst = 0;
      for (const auto& child : c.children) worst = std::max(worst, cost_of(child));
      return worst;
    }
    case K::in_basket: return 1;
    case K::bought: return 2;
    case K::complaint: return c.open_followup ? 2 : 0;
    case K::spend: return 3;
    default: return 0;
  }
}

}  // namespace

std::string segment_of(const Facts& f, std::int64_t now_ms) {
  if (f.visits <= 1) return "new";
  if (now_ms - f.last_seen_ms >= 60 * kDayMs) return "lapsed";
  const std::int64_t gap = (f.last_seen_ms - f.first_seen_ms) / (f.visits - 1);
  if (f.visits >= 4 && gap <= 30 * kDayMs) return "regular";
  return "occasional";
}

bool rule_applies(const rules::Rule& rule, Facts& facts, const Moment& now) { return eval(rule.when, facts, now, rule.id); }

bool held_out(const rules::Rule& rule, std::int64_t customer_id) {
  return rule.holdout > 0 && draw(rule.id + "/holdout", static_cast<std::uint64_t>(customer_id)) < rule.holdout;
}

void order_by_cost(Condition& c) {
  for (auto& child : c.children) order_by_cost(child);
  if (c.kind == Condition::Kind::all || c.kind == Condition::Kind::any)
    std::stable_sort(c.children.begin(), c.children.end(),
                     [](const Condition& a, const Condition& b) { return cost_of(a) < cost_of(b); });
}

}  // namespace regulars::daemon
