// Gesture rules: the owner's "when this is true, make this small gesture, within these limits".
// Rules are data (JSON, documented in sdk/GESTURES.md); parse_rule validates one and turns it
// into the typed form below, which the gesture engine evaluates at every hints call.
//
// A rule, every field but `when` and `gesture` optional:
//   {"id": "chips-for-the-kids", "name": "Free chips for the child", "enabled": true, "priority": 50,
//    "when": CONDITION,
//    "gesture": GESTURE,
//    "limits": {"cooldown_days": 30, "per_day": 10, "per_week": 40, "monthly_budget": 5000,
//               "per_cashier_per_day": 3},
//    "holdout": 0.2}
//
// CONDITION is an object with exactly one key:
//   {"all": [CONDITION, ...]}  {"any": [CONDITION, ...]}  {"not": CONDITION}
//   {"visit": {"nth": 3}}  or  {"visit": {"every": 5}}        the visit about to happen
//   {"bought": {"sku": "x" | "category": "chips", "within_days": 60, "min_times": 2, "member": "son" | "any"}}
//   {"in_basket": {"sku": "x" | "category": "chips"}}          on the belt at this hints call
//   {"absent": {"days": 30}}                                    win-back: no visit for 30 days or more
//   {"birthday": {"days_before": 3, "days_after": 3}}           around the customer's birthday
//   {"spend": {"over": 10000, "days": 30}}                     spent more than this (minor units) lately
//   {"complaint": {"within_days": 30, "open": true}}           unhappy feedback lately (optionally: the
//                                                               follow-up is still open)
//   {"time": {"weekdays": ["sat", "sun"], "hours": {"from": "09:00", "to": "12:00"},
//             "dates": {"from": "2026-12-01", "to": "2026-12-24"}}}   the till's local time
//   {"tag": "vip"}                                              set by a profile event's "tags"
//   {"segment": "new" | "occasional" | "regular" | "lapsed"}
//   {"random": {"probability": 0.05}}                           surprise and delight (fixed per visit)
//
// GESTURE, by kind; every kind may carry "message": {"en": "...", "fa": "..."}, the words for the
// cashier (placeholders {item} {member} {name} {percent} {amount}):
//   {"kind": "free_item", "sku": "sv-chips", "value": 150}
//   {"kind": "free_item", "favourite": {"category": "chips", "member": "any"}, "value": 150}
//   {"kind": "discount", "percent": 10, "max_value": 500}   (max_value bounds the cost)
//   {"kind": "discount", "amount": 200}
//   {"kind": "message", "message": {...}}                    (message required)
//   {"kind": "task", "task": {"en": "Offer a tasting of the new coffee"}}
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "wire/error.hpp"

namespace regulars::daemon::rules {

// Bounds (a rule beyond them is refused, naming the field).
inline constexpr std::size_t kMaxRuleBytes = 64 * 1024;  // serialised rule
inline constexpr int kMaxConditionDepth = 8;              // nesting of all/any/not
inline constexpr int kMaxConditions = 64;                 // conditions in one rule, all levels
inline constexpr std::size_t kMaxMessageBytes = 300;      // one localised message or task text
inline constexpr int kMaxDays = 3660;                     // any "days" field: 1..kMaxDays
inline constexpr std::int64_t kDayMs = 86'400'000;        // one day of those fields
inline constexpr std::int64_t kMaxMoney = 1'000'000'000'000;  // minor units

struct Condition;
using Conditions = std::vector<Condition>;

struct Condition {
  enum class Kind { all, any, not_, visit, bought, in_basket, absent, birthday, spend, complaint, time, tag, segment, random };
  Kind kind = Kind::all;
  Conditions children;  // all / any (1..32 of them), not (exactly 1)

  // visit: exactly one of nth (>= 1) and every (>= 2) is non-zero.
  int nth = 0, every = 0;

  // bought / in_basket: exactly one of sku and category is non-empty.
  std::string sku, category;
  // bought only: within_days 0 = ever; min_times >= 1 (visits with the item);
  // member "" = for anyone (the customer's own history), "any" = for some household member,
  // otherwise that member ("son").
  int within_days = 0;
  int min_times = 1;
  std::string member;

  // absent: days >= 1. spend: days >= 1, over >= 0. complaint: within_days >= 1 (field above).
  int days = 0;
  std::int64_t over = 0;
  bool open_followup = false;  // complaint: and the follow-up is not resolved yet

  // birthday: 0..31 each.
  int days_before = 0, days_after = 0;

  // time (at least one of the three parts). weekdays: bit 0 = Monday .. bit 6 = Sunday, 0 = any.
  // Hours as minutes after midnight, [from, to); from > to wraps midnight; from == to is refused.
  // Dates as days since 1970-01-01, inclusive, from <= to.
  std::uint8_t weekdays = 0;
  std::optional<std::pair<int, int>> minutes;
  std::optional<std::pair<std::int64_t, std::int64_t>> dates;

  // tag (1..64 token chars) / segment (one of the four names).
  std::string name;

  // random: 0 < probability <= 1.
  double probability = 0;
};

// A localised text: locale -> text, at least one entry.
using Localised = std::map<std::string, std::string>;

struct Gesture {
  enum class Kind { free_item, discount, message, task };
  Kind kind = Kind::message;
  // free_item: sku, or the favourite item (most visits with it) in `favourite_category`
  // (empty: any category) of `favourite_member` ("" the customer, "any" any member, or a name).
  std::string sku;
  bool favourite = false;
  std::string favourite_category, favourite_member;
  // discount: percent (1..100) with max_value, or amount.
  int percent = 0;
  std::int64_t amount = 0;
  // What one gesture may cost at most, in minor units: free_item value, discount amount or
  // max_value; message and task: "cost" if given, else 0. Budgets count this.
  std::int64_t cost = 0;
  Localised message;  // may be empty except for kind message
  Localised task;     // kind task only, required there
};

struct Limits {
  int cooldown_days = 0;            // per customer, after any offer of this rule; 0 = none
  int per_day = 0;                  // offers per store day; 0 = no cap
  int per_week = 0;                 // offers per ISO week (Monday first)
  std::int64_t monthly_budget = 0;  // minor units per calendar month; 0 = no budget
  int per_cashier_per_day = 0;
  // Offers per day across every store of a chain (the day in the chain's time zone); each store
  // spends from a lease of it (gestures/chain_allowance.hpp). A store in no chain is a chain of
  // one: the cap then counts its own offers per local day.
  int chain_per_day = 0;
  // Offers per week (Monday first), and total cost per calendar month, across every store of a
  // chain, in the chain's time zone; spent from leases like chain_per_day. A store in no chain
  // counts its own offers per local week and month.
  int chain_per_week = 0;
  std::int64_t chain_monthly_budget = 0;
  // Chain caps and budgets are counted on the hub in 32-bit columns.
  static constexpr std::int64_t kMaxChainBudget = 2'000'000'000;
};

struct Rule {
  std::string id;  // token: [A-Za-z0-9._:@-], 1..64
  std::string name;
  bool enabled = true;
  int priority = 50;  // 0..100; higher first when several rules apply
  Condition when;
  Gesture gesture;
  Limits limits;
  double holdout = 0;       // 0 <= holdout <= 0.9
  nlohmann::json source;    // the rule as given (normalised: defaults filled), for listing and storage
};

// Validates a rule and returns it in typed form, or an invalid_rule error whose field is the
// JSON path of the fault, starting at `path` ("rule.when.all[1].visit.nth").
// `text_bytes` is the serialised size when known (0: measure it).
// A stored rule was validated when it was added, perhaps by an older regularsd: it may lack the
// fallbacks ({name|friend}) a new rule must give, and then the text leaves the value out.
enum class Origin { new_rule, stored };
std::variant<Rule, wire::Error> parse_rule(const nlohmann::json& rule, const std::string& path = "rule",
                                           std::size_t text_bytes = 0, Origin origin = Origin::new_rule);

// Parses and validates rule text (a whole file or request body); size is checked before parsing.
std::variant<Rule, wire::Error> parse_rule_text(std::string_view text, const std::string& path = "rule");

}  // namespace regulars::daemon::rules
