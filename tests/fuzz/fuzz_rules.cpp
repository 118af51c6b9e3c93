// fuzz_rules: the bytes are one gesture rule (sdk/GESTURES.md) as an owner file or an admin
// request body would carry it. parse_rule_text must answer with a Rule or a typed error, never
// throw or recurse without bound.
//
// Errors: invalid_rule (or card_number_refused for a text that looks like a card number) naming a
// field under "rule"; text that is not JSON is invalid_json and text nesting deeper than 64
// levels is too_deep, both naming "rule" itself. Text over kMaxRuleBytes is refused by size
// (invalid_rule, field "rule") before it is parsed.
//
// Accepted rules: every typed field is within its documented range, the condition tree keeps its
// depth and count limits and each node has the fields of its kind, and the stored form (source)
// parses again, from the value and from its text, to the same source.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "fuzz_common.hpp"
#include "gestures/rules.hpp"

namespace {

using namespace regulars;
using daemon::rules::Condition;
using daemon::rules::Gesture;
using daemon::rules::Localised;
using daemon::rules::Rule;
namespace rules = daemon::rules;

bool is_token(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

bool one_of_sku_category(const Condition& c) { return c.sku.empty() != c.category.empty(); }

// Checks one condition and its subtree; returns the number of conditions in it.
int check_condition(const Condition& c, int level) {
  FUZZ_CHECK(level >= 1 && level <= rules::kMaxConditionDepth);
  using K = Condition::Kind;
  const bool combinator = c.kind == K::all || c.kind == K::any || c.kind == K::not_;
  if (!combinator) FUZZ_CHECK(c.children.empty());
  int count = 1;
  for (const Condition& child : c.children) count += check_condition(child, level + 1);
  switch (c.kind) {
    case K::all:
    case K::any: FUZZ_CHECK(!c.children.empty() && c.children.size() <= 32); break;
    case K::not_: FUZZ_CHECK(c.children.size() == 1); break;
    case K::visit: FUZZ_CHECK((c.nth >= 1 && c.every == 0) || (c.nth == 0 && c.every >= 2)); break;
    case K::bought:
      FUZZ_CHECK(one_of_sku_category(c));
      FUZZ_CHECK(c.within_days >= 0 && c.within_days <= rules::kMaxDays);
      FUZZ_CHECK(c.min_times >= 1 && c.min_times <= 10000);
      FUZZ_CHECK(c.member.empty() || is_token(c.member));
      break;
    case K::in_basket: FUZZ_CHECK(one_of_sku_category(c)); break;
    case K::absent: FUZZ_CHECK(c.days >= 1 && c.days <= rules::kMaxDays); break;
    case K::birthday: FUZZ_CHECK(c.days_before >= 0 && c.days_before <= 31 && c.days_after >= 0 && c.days_after <= 31); break;
    case K::spend:
      FUZZ_CHECK(c.days >= 1 && c.days <= rules::kMaxDays);
      FUZZ_CHECK(c.over >= 0 && c.over <= rules::kMaxMoney);
      break;
    case K::complaint: FUZZ_CHECK(c.within_days >= 1 && c.within_days <= rules::kMaxDays); break;
    case K::time:
      FUZZ_CHECK(c.weekdays != 0 || c.minutes.has_value() || c.dates.has_value());
      FUZZ_CHECK(c.weekdays < 0x80);
      if (c.minutes) {
        FUZZ_CHECK(c.minutes->first >= 0 && c.minutes->first < 1440);
        FUZZ_CHECK(c.minutes->second >= 0 && c.minutes->second <= 1440);
        FUZZ_CHECK(c.minutes->first != c.minutes->second);
      }
      if (c.dates) FUZZ_CHECK(c.dates->first >= 0 && c.dates->first <= c.dates->second);
      break;
    case K::tag: FUZZ_CHECK(is_token(c.name)); break;
    case K::segment:
      FUZZ_CHECK(c.name == "new" || c.name == "occasional" || c.name == "regular" || c.name == "lapsed");
      break;
    case K::random: FUZZ_CHECK(c.probability > 0 && c.probability <= 1); break;
  }
  return count;
}

void check_localised(const Localised& texts) {
  FUZZ_CHECK(texts.size() <= 16);
  for (const auto& [locale, text] : texts) {
    FUZZ_CHECK(locale.size() >= 2 && locale.size() <= 35);
    FUZZ_CHECK(!text.empty() && text.size() <= rules::kMaxMessageBytes);
    FUZZ_CHECK(!wire::contains_card_number(text));
  }
}

void check_gesture(const Gesture& g) {
  FUZZ_CHECK(g.cost >= 0 && g.cost <= rules::kMaxMoney);
  check_localised(g.message);
  check_localised(g.task);
  switch (g.kind) {
    case Gesture::Kind::free_item:
      FUZZ_CHECK(g.sku.empty() == g.favourite);
      FUZZ_CHECK(g.cost >= 1);
      FUZZ_CHECK(g.favourite_member.empty() || is_token(g.favourite_member));
      break;
    case Gesture::Kind::discount:
      FUZZ_CHECK((g.percent >= 1 && g.percent <= 100 && g.amount == 0) || (g.percent == 0 && g.amount == g.cost));
      FUZZ_CHECK(g.cost >= 1);
      break;
    case Gesture::Kind::message: FUZZ_CHECK(!g.message.empty()); break;
    case Gesture::Kind::task: FUZZ_CHECK(!g.task.empty()); break;
  }
  if (g.kind != Gesture::Kind::task) FUZZ_CHECK(g.task.empty());
}

void check_rule(const Rule& r) {
  FUZZ_CHECK(is_token(r.id));
  FUZZ_CHECK(r.name.size() <= 100);
  FUZZ_CHECK(r.priority >= 0 && r.priority <= 100);
  FUZZ_CHECK(r.holdout >= 0 && r.holdout <= 0.9);
  FUZZ_CHECK(check_condition(r.when, 1) <= rules::kMaxConditions);
  check_gesture(r.gesture);
  const auto& l = r.limits;
  FUZZ_CHECK(l.cooldown_days >= 0 && l.cooldown_days <= rules::kMaxDays);
  FUZZ_CHECK(l.per_day >= 0 && l.per_week >= 0 && l.per_cashier_per_day >= 0);
  FUZZ_CHECK(l.monthly_budget >= 0 && l.monthly_budget <= rules::kMaxMoney);

  // The stored form carries the defaults and parses again to itself, as a value and as text.
  FUZZ_CHECK(r.source.is_object());
  FUZZ_CHECK(r.source.contains("enabled") && r.source.contains("priority") && r.source.contains("holdout"));
  const std::string stored = wire::dump_json(r.source);
  FUZZ_CHECK(stored.size() <= rules::kMaxRuleBytes);
  const auto again = rules::parse_rule(r.source);
  FUZZ_CHECK(std::holds_alternative<Rule>(again));
  FUZZ_CHECK(std::get<Rule>(again).source == r.source);
  const auto from_text = rules::parse_rule_text(stored);
  FUZZ_CHECK(std::holds_alternative<Rule>(from_text));
  FUZZ_CHECK(std::get<Rule>(from_text).source == r.source);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto parsed = rules::parse_rule_text(text);
  if (const auto* err = std::get_if<wire::Error>(&parsed)) {
    fuzz::check_error_answer(*err);
    FUZZ_CHECK(fuzz::starts_with(err->field, "rule"));
    switch (err->code) {
      case wire::ErrorCode::invalid_rule:
      case wire::ErrorCode::card_number_refused: break;
      case wire::ErrorCode::invalid_json: FUZZ_CHECK(err->field == "rule"); break;
      case wire::ErrorCode::too_deep:
        FUZZ_CHECK(err->field == "rule");
        FUZZ_CHECK(wire::json_nesting_depth(text, 64) > 64);
        break;
      default: FUZZ_CHECK(false);  // no other code is documented
    }
    if (text.size() > rules::kMaxRuleBytes) FUZZ_CHECK(err->code == wire::ErrorCode::invalid_rule && err->field == "rule");
    return 0;
  }
  FUZZ_CHECK(text.size() <= rules::kMaxRuleBytes);
  check_rule(std::get<Rule>(parsed));
  return 0;
}
