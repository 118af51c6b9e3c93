// Gesture rules (daemon/gestures/rules.hpp, sdk/GESTURES.md): every condition and gesture kind parses into
// the typed form; every malformed rule is refused naming the JSON path of the fault.
#include "gestures/rules.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

namespace {

using nlohmann::json;
using regulars::daemon::rules::Condition;
using regulars::daemon::rules::Gesture;
using regulars::daemon::rules::kMaxConditionDepth;
using regulars::daemon::rules::kMaxConditions;
using regulars::daemon::rules::kMaxRuleBytes;
using regulars::daemon::rules::parse_rule;
using regulars::daemon::rules::parse_rule_text;
using regulars::daemon::rules::Rule;
using regulars::wire::Error;
using regulars::wire::ErrorCode;
using regulars::wire::to_string;

using Result = std::variant<Rule, Error>;

Rule rule_of(const Result& r) {
  if (const auto* e = std::get_if<Error>(&r)) {
    ADD_FAILURE() << "unexpected rule error: " << to_string(e->code) << " " << e->describe();
    return Rule{};
  }
  return std::get<Rule>(r);
}

Error error_of(const Result& r) {
  if (const auto* e = std::get_if<Error>(&r)) return *e;
  ADD_FAILURE() << "expected a rule error, the rule was accepted";
  return Error{};
}

const char* const kChips = R"({"id": "chips-for-the-kids", "name": "Free chips for the child",
 "when": {"all": [{"bought": {"category": "chips", "member": "any"}},
                  {"not": {"in_basket": {"category": "chips"}}}]},
 "gesture": {"kind": "free_item", "favourite": {"category": "chips", "member": "any"}, "value": 150,
             "message": {"en": "A free pack of {item} for {member|the family}, on the house!",
                         "fa": "یک بسته {item} رایگان برای {member|خانواده}، مهمان ما!"}},
 "limits": {"cooldown_days": 30}})";

const char* const kHello = R"({"kind": "message", "message": {"en": "Hello"}})";

// A rule around one condition, with a plain message gesture.
std::string with_when(const std::string& condition) {
  return R"({"id": "r1", "when": )" + condition + R"(, "gesture": )" + kHello + "}";
}

// A rule around one gesture, with a plain condition.
std::string with_gesture(const std::string& gesture) {
  return R"({"id": "r1", "when": {"visit": {"nth": 1}}, "gesture": )" + gesture + "}";
}

Condition when_of(const std::string& condition) { return rule_of(parse_rule_text(with_when(condition))).when; }
Gesture gesture_of(const std::string& gesture) { return rule_of(parse_rule_text(with_gesture(gesture))).gesture; }

// ---- the chips example -----------------------------------------------------------------------

TEST(RulesParse, ChipsExample) {
  const Rule r = rule_of(parse_rule_text(kChips));
  EXPECT_EQ(r.id, "chips-for-the-kids");
  EXPECT_EQ(r.name, "Free chips for the child");
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.priority, 50);
  EXPECT_EQ(r.holdout, 0.0);

  ASSERT_EQ(r.when.kind, Condition::Kind::all);
  ASSERT_EQ(r.when.children.size(), 2u);
  const Condition& bought = r.when.children[0];
  EXPECT_EQ(bought.kind, Condition::Kind::bought);
  EXPECT_EQ(bought.category, "chips");
  EXPECT_EQ(bought.sku, "");
  EXPECT_EQ(bought.member, "any");
  EXPECT_EQ(bought.within_days, 0);  // ever
  EXPECT_EQ(bought.min_times, 1);
  EXPECT_TRUE(bought.children.empty());
  const Condition& no_chips = r.when.children[1];
  EXPECT_EQ(no_chips.kind, Condition::Kind::not_);
  ASSERT_EQ(no_chips.children.size(), 1u);
  EXPECT_EQ(no_chips.children[0].kind, Condition::Kind::in_basket);
  EXPECT_EQ(no_chips.children[0].category, "chips");
  EXPECT_EQ(no_chips.children[0].sku, "");

  EXPECT_EQ(r.gesture.kind, Gesture::Kind::free_item);
  EXPECT_TRUE(r.gesture.favourite);
  EXPECT_EQ(r.gesture.favourite_category, "chips");
  EXPECT_EQ(r.gesture.favourite_member, "any");
  EXPECT_EQ(r.gesture.sku, "");
  EXPECT_EQ(r.gesture.cost, 150);
  ASSERT_EQ(r.gesture.message.size(), 2u);
  EXPECT_EQ(r.gesture.message.at("en"), "A free pack of {item} for {member|the family}, on the house!");
  EXPECT_EQ(r.gesture.message.at("fa"), "یک بسته {item} رایگان برای {member|خانواده}، مهمان ما!");
  EXPECT_TRUE(r.gesture.task.empty());

  EXPECT_EQ(r.limits.cooldown_days, 30);
  EXPECT_EQ(r.limits.per_day, 0);
  EXPECT_EQ(r.limits.per_week, 0);
  EXPECT_EQ(r.limits.monthly_budget, 0);
  EXPECT_EQ(r.limits.per_cashier_per_day, 0);

  // The stored form is the input with the defaults written out.
  json expected = json::parse(kChips);
  expected["enabled"] = true;
  expected["priority"] = 50;
  expected["holdout"] = 0.0;
  EXPECT_EQ(r.source, expected);
}

TEST(RulesParse, AllTopLevelFields) {
  const Rule r = rule_of(parse_rule_text(R"({"id": "vip.weekend@store:1", "name": "VIP weekend", "enabled": false,
    "priority": 90, "when": {"tag": "vip"}, "gesture": {"kind": "discount", "amount": 200},
    "limits": {"cooldown_days": 7, "per_day": 10, "per_week": 40, "monthly_budget": 5000, "per_cashier_per_day": 3,
               "chain_per_day": 30, "chain_per_week": 120, "chain_monthly_budget": 90000},
    "holdout": 0.2})"));
  EXPECT_EQ(r.id, "vip.weekend@store:1");
  EXPECT_EQ(r.name, "VIP weekend");
  EXPECT_FALSE(r.enabled);
  EXPECT_EQ(r.priority, 90);
  EXPECT_DOUBLE_EQ(r.holdout, 0.2);
  EXPECT_EQ(r.limits.cooldown_days, 7);
  EXPECT_EQ(r.limits.per_day, 10);
  EXPECT_EQ(r.limits.per_week, 40);
  EXPECT_EQ(r.limits.monthly_budget, 5000);
  EXPECT_EQ(r.limits.per_cashier_per_day, 3);
  EXPECT_EQ(r.limits.chain_per_day, 30);
  EXPECT_EQ(r.limits.chain_per_week, 120);
  EXPECT_EQ(r.limits.chain_monthly_budget, 90000);
  EXPECT_EQ(r.source.at("enabled"), false);
  EXPECT_EQ(r.source.at("priority"), 90);
}

TEST(RulesParse, BoundaryValuesAreAccepted) {
  const Rule r = rule_of(parse_rule_text(R"({"id": "r", "priority": 0, "holdout": 0.9,
    "when": {"bought": {"sku": "4006381333931", "within_days": 3660, "min_times": 10000}},
    "gesture": {"kind": "free_item", "sku": "x", "value": 1000000000000},
    "limits": {"cooldown_days": 0, "per_day": 1000000, "monthly_budget": 1000000000000}})"));
  EXPECT_EQ(r.priority, 0);
  EXPECT_DOUBLE_EQ(r.holdout, 0.9);
  EXPECT_EQ(r.when.sku, "4006381333931");  // an EAN that passes Luhn is still a SKU
  EXPECT_EQ(r.when.within_days, 3660);
  EXPECT_EQ(r.when.min_times, 10000);
  EXPECT_EQ(r.gesture.cost, 1'000'000'000'000);
  EXPECT_EQ(r.limits.per_day, 1'000'000);
  EXPECT_EQ(r.limits.monthly_budget, 1'000'000'000'000);
  EXPECT_EQ(rule_of(parse_rule_text(with_when(R"({"random": {"probability": 1}})"))).when.probability, 1.0);
}

// ---- conditions ------------------------------------------------------------------------------

TEST(RulesConditions, Visit) {
  const Condition nth = when_of(R"({"visit": {"nth": 3}})");
  EXPECT_EQ(nth.kind, Condition::Kind::visit);
  EXPECT_EQ(nth.nth, 3);
  EXPECT_EQ(nth.every, 0);
  const Condition every = when_of(R"({"visit": {"every": 5}})");
  EXPECT_EQ(every.nth, 0);
  EXPECT_EQ(every.every, 5);
}

TEST(RulesConditions, BoughtAndInBasket) {
  const Condition b = when_of(R"({"bought": {"sku": "sv-chips", "within_days": 60, "min_times": 2, "member": "son"}})");
  EXPECT_EQ(b.kind, Condition::Kind::bought);
  EXPECT_EQ(b.sku, "sv-chips");
  EXPECT_EQ(b.category, "");
  EXPECT_EQ(b.within_days, 60);
  EXPECT_EQ(b.min_times, 2);
  EXPECT_EQ(b.member, "son");
  const Condition own = when_of(R"({"bought": {"category": "coffee"}})");
  EXPECT_EQ(own.member, "");  // the customer's own history
  const Condition basket = when_of(R"({"in_basket": {"sku": "oat-milk-1l"}})");
  EXPECT_EQ(basket.kind, Condition::Kind::in_basket);
  EXPECT_EQ(basket.sku, "oat-milk-1l");
  EXPECT_EQ(basket.category, "");
}

TEST(RulesConditions, AbsentSpendComplaintBirthday) {
  const Condition absent = when_of(R"({"absent": {"days": 30}})");
  EXPECT_EQ(absent.kind, Condition::Kind::absent);
  EXPECT_EQ(absent.days, 30);
  const Condition spend = when_of(R"({"spend": {"over": 10000, "days": 30}})");
  EXPECT_EQ(spend.kind, Condition::Kind::spend);
  EXPECT_EQ(spend.over, 10000);
  EXPECT_EQ(spend.days, 30);
  const Condition complaint = when_of(R"({"complaint": {"within_days": 14, "open": true}})");
  EXPECT_EQ(complaint.kind, Condition::Kind::complaint);
  EXPECT_EQ(complaint.within_days, 14);
  EXPECT_TRUE(complaint.open_followup);
  EXPECT_FALSE(when_of(R"({"complaint": {"within_days": 14}})").open_followup);
  const Condition around = when_of(R"({"birthday": {"days_before": 3, "days_after": 2}})");
  EXPECT_EQ(around.kind, Condition::Kind::birthday);
  EXPECT_EQ(around.days_before, 3);
  EXPECT_EQ(around.days_after, 2);
  const Condition on_the_day = when_of(R"({"birthday": {}})");
  EXPECT_EQ(on_the_day.kind, Condition::Kind::birthday);
  EXPECT_EQ(on_the_day.days_before, 0);
  EXPECT_EQ(on_the_day.days_after, 0);
}

TEST(RulesConditions, Time) {
  const Condition t = when_of(R"({"time": {"weekdays": ["sat", "sun", "mon"], "hours": {"from": "09:00", "to": "12:30"},
                                           "dates": {"from": "2026-12-01", "to": "2026-12-24"}}})");
  EXPECT_EQ(t.kind, Condition::Kind::time);
  EXPECT_EQ(t.weekdays, 0b110'0001);  // bit 0 Monday, bit 5 Saturday, bit 6 Sunday
  ASSERT_TRUE(t.minutes.has_value());
  EXPECT_EQ(t.minutes->first, 9 * 60);
  EXPECT_EQ(t.minutes->second, 12 * 60 + 30);
  ASSERT_TRUE(t.dates.has_value());
  EXPECT_EQ(t.dates->first, 20788);  // 2026-12-01
  EXPECT_EQ(t.dates->second, 20811);

  const Condition evening = when_of(R"({"time": {"hours": {"from": "18:00", "to": "24:00"}}})");
  EXPECT_EQ(evening.weekdays, 0);  // any day
  EXPECT_EQ(evening.minutes, std::make_pair(18 * 60, 24 * 60));
  EXPECT_FALSE(evening.dates.has_value());
  const Condition night = when_of(R"({"time": {"hours": {"from": "22:00", "to": "02:00"}}})");  // wraps midnight
  EXPECT_EQ(night.minutes, std::make_pair(22 * 60, 2 * 60));
  const Condition one_day = when_of(R"({"time": {"dates": {"from": "2028-02-29", "to": "2028-02-29"}}})");
  EXPECT_EQ(one_day.dates, std::make_pair(std::int64_t{21243}, std::int64_t{21243}));
  EXPECT_EQ(when_of(R"({"time": {"dates": {"from": "1970-01-01", "to": "1970-01-02"}}})").dates,
            std::make_pair(std::int64_t{0}, std::int64_t{1}));
}

TEST(RulesConditions, TagSegmentRandom) {
  const Condition tag = when_of(R"({"tag": "vip"})");
  EXPECT_EQ(tag.kind, Condition::Kind::tag);
  EXPECT_EQ(tag.name, "vip");
  for (const char* s : {"new", "occasional", "regular", "lapsed"}) {
    const Condition seg = when_of(std::string(R"({"segment": ")") + s + "\"}");
    EXPECT_EQ(seg.kind, Condition::Kind::segment);
    EXPECT_EQ(seg.name, s);
  }
  const Condition random = when_of(R"({"random": {"probability": 0.05}})");
  EXPECT_EQ(random.kind, Condition::Kind::random);
  EXPECT_DOUBLE_EQ(random.probability, 0.05);
}

TEST(RulesConditions, AnyAllNot) {
  const Condition c = when_of(R"({"any": [{"tag": "vip"}, {"all": [{"visit": {"every": 10}}, {"not": {"segment": "new"}}]}]})");
  ASSERT_EQ(c.kind, Condition::Kind::any);
  ASSERT_EQ(c.children.size(), 2u);
  EXPECT_EQ(c.children[0].kind, Condition::Kind::tag);
  const Condition& all = c.children[1];
  ASSERT_EQ(all.kind, Condition::Kind::all);
  ASSERT_EQ(all.children.size(), 2u);
  EXPECT_EQ(all.children[0].every, 10);
  ASSERT_EQ(all.children[1].kind, Condition::Kind::not_);
  ASSERT_EQ(all.children[1].children.size(), 1u);
  EXPECT_EQ(all.children[1].children[0].name, "new");
}

// Nested nots: `when` is level 1; kMaxConditionDepth levels are fine, one more is refused there.
std::string nested_not(int levels) {
  std::string s;
  for (int i = 1; i < levels; ++i) s += R"({"not": )";
  s += R"({"tag": "x"})";
  for (int i = 1; i < levels; ++i) s += "}";
  return s;
}

TEST(RulesConditions, DepthLimit) {
  const Condition c = when_of(nested_not(kMaxConditionDepth));
  EXPECT_EQ(c.kind, Condition::Kind::not_);
  const Error e = error_of(parse_rule_text(with_when(nested_not(kMaxConditionDepth + 1))));
  EXPECT_EQ(e.code, ErrorCode::invalid_rule);
  EXPECT_EQ(e.field, "rule.when.not.not.not.not.not.not.not.not");
  EXPECT_NE(e.message.find("deeper than 8 levels"), std::string::npos) << e.message;
}

std::string leaves(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += std::string(i ? ", " : "") + R"({"tag": "t)" + std::to_string(i) + "\"}";
  return s;
}

TEST(RulesConditions, CountLimit) {
  // 1 all + 2 any + 31 + 30 leaves = 64 conditions.
  const std::string at_limit = R"({"all": [{"any": [)" + leaves(31) + R"(]}, {"any": [)" + leaves(30) + "]}]}";
  EXPECT_EQ(when_of(at_limit).children[1].children.size(), 30u);
  static_assert(kMaxConditions == 64);
  const std::string over = R"({"all": [{"any": [)" + leaves(31) + R"(]}, {"any": [)" + leaves(31) + "]}]}";
  const Error e = error_of(parse_rule_text(with_when(over)));
  EXPECT_EQ(e.code, ErrorCode::invalid_rule);
  EXPECT_EQ(e.field, "rule.when.all[1].any[30]");  // the 65th condition
  EXPECT_NE(e.message.find("more than 64 conditions"), std::string::npos) << e.message;

  const Error wide = error_of(parse_rule_text(with_when(R"({"any": [)" + leaves(33) + "]}")));
  EXPECT_EQ(wide.field, "rule.when.any");
  EXPECT_EQ(wide.message, "must be an array of 1 to 32 conditions");
}

// ---- gestures --------------------------------------------------------------------------------

TEST(RulesGestures, FreeItem) {
  const Gesture sku = gesture_of(R"({"kind": "free_item", "sku": "sv-chips", "value": 150})");
  EXPECT_EQ(sku.kind, Gesture::Kind::free_item);
  EXPECT_EQ(sku.sku, "sv-chips");
  EXPECT_FALSE(sku.favourite);
  EXPECT_EQ(sku.cost, 150);
  EXPECT_TRUE(sku.message.empty());
  const Gesture fav = gesture_of(R"({"kind": "free_item", "favourite": {}, "value": 99})");
  EXPECT_TRUE(fav.favourite);
  EXPECT_EQ(fav.favourite_category, "");
  EXPECT_EQ(fav.favourite_member, "");
  EXPECT_EQ(fav.cost, 99);
}

TEST(RulesGestures, Discount) {
  const Gesture pct = gesture_of(R"({"kind": "discount", "percent": 10, "max_value": 500,
                                     "message": {"en": "{percent}% off today, {name|friend}"}})");
  EXPECT_EQ(pct.kind, Gesture::Kind::discount);
  EXPECT_EQ(pct.percent, 10);
  EXPECT_EQ(pct.amount, 0);
  EXPECT_EQ(pct.cost, 500);
  EXPECT_EQ(pct.message.at("en"), "{percent}% off today, {name|friend}");
  const Gesture amount = gesture_of(R"({"kind": "discount", "amount": 200})");
  EXPECT_EQ(amount.percent, 0);
  EXPECT_EQ(amount.amount, 200);
  EXPECT_EQ(amount.cost, 200);
}

TEST(RulesGestures, MessageAndTask) {
  const Gesture m = gesture_of(R"({"kind": "message", "message": {"en": "Happy birthday, {name|friend}!", "ar": "عيد ميلاد سعيد"}})");
  EXPECT_EQ(m.kind, Gesture::Kind::message);
  EXPECT_EQ(m.cost, 0);
  EXPECT_EQ(m.message.size(), 2u);
  EXPECT_EQ(m.message.at("ar"), "عيد ميلاد سعيد");
  const Gesture t = gesture_of(R"({"kind": "task", "task": {"en": "Offer a tasting of the new coffee", "fa_IR": "قهوه"},
                                   "message": {"en": "Try our new coffee"}, "cost": 80})");
  EXPECT_EQ(t.kind, Gesture::Kind::task);
  EXPECT_EQ(t.cost, 80);
  EXPECT_EQ(t.task.at("en"), "Offer a tasting of the new coffee");
  EXPECT_EQ(t.task.at("fa_IR"), "قهوه");
  EXPECT_EQ(t.message.at("en"), "Try our new coffee");
  // Braces that are not a {word} are plain text.
  EXPECT_EQ(gesture_of(R"({"kind": "message", "message": {"en": "{ } {} {{percent}} 50{"}})").message.at("en"),
            "{ } {} {{percent}} 50{");
}

// A value that can be missing needs the words to use then: a customer with no recorded name
// must not read "Thank  for coming back".
TEST(RulesGestures, AValueThatCanBeMissingNeedsAFallback) {
  const Error name = error_of(parse_rule_text(R"({"id": "r", "when": {"visit": {"nth": 2}},
                                  "gesture": {"kind": "message", "message": {"en": "Thank {name} for coming back"}}})"));
  EXPECT_EQ(name.field, "rule.gesture.message.en");
  EXPECT_EQ(name.message, "{name} can be missing (a customer with no recorded name); give the words to use then, e.g. {name|friend}");
  const Error item = error_of(parse_rule_text(R"({"id": "r", "when": {"visit": {"nth": 2}},
                                  "gesture": {"kind": "task", "task": {"fa": "{item} را بدهید"}}})"));
  EXPECT_EQ(item.field, "rule.gesture.task.fa");
  EXPECT_NE(item.message.find("{item|a small gift}"), std::string::npos) << item.message;
  const Error empty = error_of(parse_rule_text(R"({"id": "r", "when": {"visit": {"nth": 2}},
                                   "gesture": {"kind": "message", "message": {"en": "Hi {name| }"}}})"));
  EXPECT_NE(empty.message.find("fallback of {name|...} is empty"), std::string::npos) << empty.message;
  // A free item always has its item; a fallback is accepted wherever it is given.
  EXPECT_EQ(gesture_of(R"({"kind": "free_item", "sku": "tea", "value": 100, "message": {"en": "{item} for {name|you}"}})").message.at("en"),
            "{item} for {name|you}");
  // A rule stored before fallbacks existed still loads (its text then leaves the value out).
  const auto stored = parse_rule(json::parse(R"({"id": "r", "when": {"visit": {"nth": 2}},
                                                  "gesture": {"kind": "message", "message": {"en": "Thank {name} for coming back"}}})"),
                                 "rule", 0, regulars::daemon::rules::Origin::stored);
  EXPECT_TRUE(std::holds_alternative<Rule>(stored));
}

// ---- refusals --------------------------------------------------------------------------------

struct Refusal {
  const char* what;
  std::string text;
  std::string field;
  ErrorCode code = ErrorCode::invalid_rule;
};

TEST(RulesRefused, EachNamesTheField) {
  const auto card = ErrorCode::card_number_refused;
  const std::vector<Refusal> cases = {
      // shape of the rule
      {"not an object", R"(["id"])", "rule"},
      {"unknown top-level key", R"({"id": "r", "colour": "red", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}",
       "rule.colour"},
      {"id missing", R"({"when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}", "rule.id"},
      {"id with a space", R"({"id": "my rule", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}", "rule.id"},
      {"id too long", R"({"id": ")" + std::string(65, 'a') + R"(", "when": {"tag": "x"}, "gesture": )" + kHello + "}",
       "rule.id"},
      {"name empty", R"({"id": "r", "name": "", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}", "rule.name"},
      {"name too long", R"({"id": "r", "name": ")" + std::string(101, 'n') + R"(", "when": {"tag": "x"}, "gesture": )" +
                            kHello + "}", "rule.name"},
      {"enabled a string", R"({"id": "r", "enabled": "yes", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}",
       "rule.enabled"},
      {"priority 101", R"({"id": "r", "priority": 101, "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}",
       "rule.priority"},
      {"priority 50.0", R"({"id": "r", "priority": 50.0, "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}",
       "rule.priority"},
      {"holdout 0.95", R"({"id": "r", "holdout": 0.95, "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}",
       "rule.holdout"},
      {"holdout negative", R"({"id": "r", "holdout": -0.1, "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}",
       "rule.holdout"},
      {"holdout true", R"({"id": "r", "holdout": true, "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}",
       "rule.holdout"},
      {"when missing", R"({"id": "r", "gesture": )" + std::string(kHello) + "}", "rule.when"},
      {"gesture missing", R"({"id": "r", "when": {"tag": "x"}})", "rule.gesture"},

      // conditions
      {"unknown condition", with_when(R"({"weather": {"sunny": true}})"), "rule.when.weather"},
      {"condition is an array", with_when(R"([{"tag": "x"}])"), "rule.when"},
      {"condition with two keys", with_when(R"({"tag": "x", "segment": "new"})"), "rule.when"},
      {"condition with no key", with_when("{}"), "rule.when"},
      {"child is an array", with_when(R"({"all": [{"tag": "x"}, []]})"), "rule.when.all[1]"},
      {"all empty", with_when(R"({"all": []})"), "rule.when.all"},
      {"any not an array", with_when(R"({"any": {"tag": "x"}})"), "rule.when.any"},
      {"not an array", with_when(R"({"not": [{"tag": "x"}]})"), "rule.when.not"},
      {"unknown key in visit", with_when(R"({"visit": {"nth": 3, "of": 4}})"), "rule.when.visit.of"},
      {"visit nth 1.5", with_when(R"({"visit": {"nth": 1.5}})"), "rule.when.visit.nth"},
      {"visit nth 0", with_when(R"({"visit": {"nth": 0}})"), "rule.when.visit.nth"},
      {"visit every 1", with_when(R"({"visit": {"every": 1}})"), "rule.when.visit.every"},
      {"visit nth and every", with_when(R"({"visit": {"nth": 2, "every": 4}})"), "rule.when.visit.every"},
      {"visit neither", with_when(R"({"visit": {}})"), "rule.when.visit"},
      {"visit a number", with_when(R"({"visit": 3})"), "rule.when.visit"},
      {"bought sku and category", with_when(R"({"bought": {"sku": "a", "category": "b"}})"), "rule.when.bought.category"},
      {"bought neither", with_when(R"({"bought": {"within_days": 5}})"), "rule.when.bought"},
      {"bought within_days 0", with_when(R"({"all": [{"tag": "x"}, {"bought": {"sku": "a", "within_days": 0}}]})"),
       "rule.when.all[1].bought.within_days"},
      {"bought within_days 3661", with_when(R"({"bought": {"sku": "a", "within_days": 3661}})"),
       "rule.when.bought.within_days"},
      {"bought min_times 10001", with_when(R"({"bought": {"sku": "a", "min_times": 10001}})"), "rule.when.bought.min_times"},
      {"bought member not a token", with_when(R"({"bought": {"sku": "a", "member": "my son"}})"), "rule.when.bought.member"},
      {"bought unknown key", with_when(R"({"bought": {"category": "chips", "since": 3}})"), "rule.when.bought.since"},
      {"bought category empty", with_when(R"({"bought": {"category": ""}})"), "rule.when.bought.category"},
      {"in_basket neither", with_when(R"({"in_basket": {}})"), "rule.when.in_basket"},
      {"in_basket sku a number", with_when(R"({"in_basket": {"sku": 12345}})"), "rule.when.in_basket.sku"},
      {"absent days missing", with_when(R"({"absent": {}})"), "rule.when.absent.days"},
      {"absent days a string", with_when(R"({"absent": {"days": "30"}})"), "rule.when.absent.days"},
      {"birthday days_before 32", with_when(R"({"birthday": {"days_before": 32}})"), "rule.when.birthday.days_before"},
      {"birthday days_after -1", with_when(R"({"birthday": {"days_after": -1}})"), "rule.when.birthday.days_after"},
      {"spend over negative", with_when(R"({"spend": {"over": -1, "days": 30}})"), "rule.when.spend.over"},
      {"spend days missing", with_when(R"({"spend": {"over": 100}})"), "rule.when.spend.days"},
      {"complaint open a string", with_when(R"({"complaint": {"within_days": 30, "open": "yes"}})"),
       "rule.when.complaint.open"},
      {"complaint within_days missing", with_when(R"({"complaint": {"open": true}})"), "rule.when.complaint.within_days"},
      {"tag empty", with_when(R"({"tag": ""})"), "rule.when.tag"},
      {"tag a number", with_when(R"({"tag": 5})"), "rule.when.tag"},
      {"segment unknown", with_when(R"({"segment": "vip"})"), "rule.when.segment"},
      {"random probability 0", with_when(R"({"random": {"probability": 0}})"), "rule.when.random.probability"},
      {"random probability 1.5", with_when(R"({"random": {"probability": 1.5}})"), "rule.when.random.probability"},
      {"random probability a string", with_when(R"({"random": {"probability": "0.5"}})"), "rule.when.random.probability"},
      {"random probability missing", with_when(R"({"random": {}})"), "rule.when.random.probability"},

      // impossible time windows
      {"time with nothing", with_when(R"({"time": {}})"), "rule.when.time"},
      {"time unknown key", with_when(R"({"time": {"months": [12]}})"), "rule.when.time.months"},
      {"weekdays empty", with_when(R"({"time": {"weekdays": []}})"), "rule.when.time.weekdays"},
      {"weekdays unknown day", with_when(R"({"time": {"weekdays": ["sat", "funday"]}})"), "rule.when.time.weekdays[1]"},
      {"weekdays full name", with_when(R"({"time": {"weekdays": ["Monday"]}})"), "rule.when.time.weekdays[0]"},
      {"weekdays twice", with_when(R"({"time": {"weekdays": ["sat", "sat"]}})"), "rule.when.time.weekdays[1]"},
      {"weekdays a string", with_when(R"({"time": {"weekdays": "sat"}})"), "rule.when.time.weekdays"},
      {"hours from == to", with_when(R"({"time": {"hours": {"from": "09:00", "to": "09:00"}}})"), "rule.when.time.hours.to"},
      {"hours 9:00", with_when(R"({"time": {"hours": {"from": "9:00", "to": "12:00"}}})"), "rule.when.time.hours.from"},
      {"hours from 24:00", with_when(R"({"time": {"hours": {"from": "24:00", "to": "12:00"}}})"),
       "rule.when.time.hours.from"},
      {"hours to 24:01", with_when(R"({"time": {"hours": {"from": "20:00", "to": "24:01"}}})"), "rule.when.time.hours.to"},
      {"hours 12:60", with_when(R"({"time": {"hours": {"from": "11:00", "to": "12:60"}}})"), "rule.when.time.hours.to"},
      {"hours to missing", with_when(R"({"time": {"hours": {"from": "11:00"}}})"), "rule.when.time.hours.to"},
      {"dates reversed", with_when(R"({"time": {"dates": {"from": "2026-12-24", "to": "2026-12-01"}}})"),
       "rule.when.time.dates.to"},
      {"dates Feb 30", with_when(R"({"time": {"dates": {"from": "2026-02-30", "to": "2026-03-01"}}})"),
       "rule.when.time.dates.from"},
      {"dates Feb 29 of 2027", with_when(R"({"time": {"dates": {"from": "2027-02-01", "to": "2027-02-29"}}})"),
       "rule.when.time.dates.to"},
      {"dates month 13", with_when(R"({"time": {"dates": {"from": "2026-13-01", "to": "2027-01-01"}}})"),
       "rule.when.time.dates.from"},
      {"dates not padded", with_when(R"({"time": {"dates": {"from": "2026-1-01", "to": "2027-01-01"}}})"),
       "rule.when.time.dates.from"},
      {"dates with a time", with_when(R"({"time": {"dates": {"from": "2026-01-01T00:00", "to": "2027-01-01"}}})"),
       "rule.when.time.dates.from"},

      // gestures
      {"gesture not an object", with_gesture(R"("free chips")"), "rule.gesture"},
      {"kind missing", with_gesture(R"({"sku": "a", "value": 1})"), "rule.gesture.kind"},
      {"kind unknown", with_gesture(R"({"kind": "hug"})"), "rule.gesture.kind"},
      {"free_item value missing", with_gesture(R"({"kind": "free_item", "sku": "a"})"), "rule.gesture.value"},
      {"free_item value 0", with_gesture(R"({"kind": "free_item", "sku": "a", "value": 0})"), "rule.gesture.value"},
      {"free_item value over max", with_gesture(R"({"kind": "free_item", "sku": "a", "value": 1000000000001})"),
       "rule.gesture.value"},
      {"free_item value a string", with_gesture(R"({"kind": "free_item", "sku": "a", "value": "150"})"),
       "rule.gesture.value"},
      {"free_item sku and favourite", with_gesture(R"({"kind": "free_item", "sku": "a", "favourite": {}, "value": 1})"),
       "rule.gesture.favourite"},
      {"free_item neither", with_gesture(R"({"kind": "free_item", "value": 1})"), "rule.gesture"},
      {"free_item with cost", with_gesture(R"({"kind": "free_item", "sku": "a", "value": 1, "cost": 1})"),
       "rule.gesture.cost"},
      {"free_item with percent", with_gesture(R"({"kind": "free_item", "sku": "a", "value": 1, "percent": 5})"),
       "rule.gesture.percent"},
      {"favourite unknown key", with_gesture(R"({"kind": "free_item", "favourite": {"sku": "a"}, "value": 1})"),
       "rule.gesture.favourite.sku"},
      {"favourite member not a token",
       with_gesture(R"({"kind": "free_item", "favourite": {"member": "the kid"}, "value": 1})"),
       "rule.gesture.favourite.member"},
      {"discount percent 0", with_gesture(R"({"kind": "discount", "percent": 0, "max_value": 5})"), "rule.gesture.percent"},
      {"discount percent 101", with_gesture(R"({"kind": "discount", "percent": 101, "max_value": 5})"),
       "rule.gesture.percent"},
      {"discount percent without max_value", with_gesture(R"({"kind": "discount", "percent": 10})"),
       "rule.gesture.max_value"},
      {"discount amount with max_value", with_gesture(R"({"kind": "discount", "amount": 10, "max_value": 5})"),
       "rule.gesture.max_value"},
      {"discount amount negative", with_gesture(R"({"kind": "discount", "amount": -5})"), "rule.gesture.amount"},
      {"discount percent and amount", with_gesture(R"({"kind": "discount", "percent": 5, "amount": 5})"),
       "rule.gesture.amount"},
      {"discount neither", with_gesture(R"({"kind": "discount", "max_value": 5})"), "rule.gesture"},
      {"message kind without message", with_gesture(R"({"kind": "message"})"), "rule.gesture.message"},
      {"message cost negative", with_gesture(R"({"kind": "message", "message": {"en": "Hi"}, "cost": -1})"),
       "rule.gesture.cost"},
      {"task kind without task", with_gesture(R"({"kind": "task", "message": {"en": "Hi"}})"), "rule.gesture.task"},
      {"message empty object", with_gesture(R"({"kind": "message", "message": {}})"), "rule.gesture.message"},
      {"message a string", with_gesture(R"({"kind": "message", "message": "Hi"})"), "rule.gesture.message"},
      {"locale one letter", with_gesture(R"({"kind": "message", "message": {"e": "Hi"}})"), "rule.gesture.message.e"},
      {"locale with a space", with_gesture(R"({"kind": "message", "message": {"en US": "Hi"}})"),
       "rule.gesture.message.en US"},
      {"message text a number", with_gesture(R"({"kind": "message", "message": {"en": 5}})"), "rule.gesture.message.en"},
      {"message text empty", with_gesture(R"({"kind": "message", "message": {"en": ""}})"), "rule.gesture.message.en"},
      {"message text too long", with_gesture(R"({"kind": "message", "message": {"en": ")" + std::string(301, 'x') + "\"}}"),
       "rule.gesture.message.en"},
      {"message control character", with_gesture(R"({"kind": "message", "message": {"en": "line\nbreak"}})"),
       "rule.gesture.message.en"},
      {"unknown placeholder", with_gesture(R"({"kind": "message", "message": {"en": "Hi", "fa": "Hello {customer}!"}})"),
       "rule.gesture.message.fa"},
      {"unknown placeholder in a task", with_gesture(R"({"kind": "task", "task": {"en": "Charge {price}"}})"),
       "rule.gesture.task.en"},
      {"card number in a message",
       with_gesture(R"({"kind": "message", "message": {"en": "Card 4111 1111 1111 1111 gets a gift"}})"),
       "rule.gesture.message.en", card},
      {"card number in the name", R"({"id": "r", "name": "4111111111111111", "when": {"tag": "x"}, "gesture": )" +
                                      std::string(kHello) + "}", "rule.name", card},

      // limits
      {"limits an array", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + R"(, "limits": []})",
       "rule.limits"},
      {"limits unknown key", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                                 R"(, "limits": {"per_hour": 1}})", "rule.limits.per_hour"},
      {"per_day a string", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                               R"(, "limits": {"per_day": "10"}})", "rule.limits.per_day"},
      {"per_day huge", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                           R"(, "limits": {"per_day": 18446744073709551615}})", "rule.limits.per_day"},
      {"negative budget", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                              R"(, "limits": {"monthly_budget": -5000}})", "rule.limits.monthly_budget"},
      {"budget 1e3", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                         R"(, "limits": {"monthly_budget": 1e3}})", "rule.limits.monthly_budget"},
      {"chain budget past the hub's counters", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                       R"(, "limits": {"chain_monthly_budget": 2000000001}})", "rule.limits.chain_monthly_budget"},
      {"chain_per_week negative", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                       R"(, "limits": {"chain_per_week": -1}})", "rule.limits.chain_per_week"},
      {"cooldown 3661", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                            R"(, "limits": {"cooldown_days": 3661}})", "rule.limits.cooldown_days"},
      {"per_cashier_per_day negative", R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                                           R"(, "limits": {"per_cashier_per_day": -1}})", "rule.limits.per_cashier_per_day"},

      // text
      {"not JSON", R"({"id": "r", "when": )", "rule", ErrorCode::invalid_json},
      {"trailing garbage", with_when(R"({"tag": "x"})") + " }", "rule", ErrorCode::invalid_json},
      {"empty text", "", "rule", ErrorCode::invalid_json},
      {"nested 65 levels", std::string(65, '[') + std::string(65, ']'), "rule", ErrorCode::too_deep},
  };
  for (const Refusal& c : cases) {
    SCOPED_TRACE(c.what);
    const Error e = error_of(parse_rule_text(c.text));
    EXPECT_EQ(e.field, c.field) << e.message;
    EXPECT_EQ(to_string(e.code), to_string(c.code)) << e.message;
    EXPECT_FALSE(e.message.empty());
    EXPECT_EQ(e.message.find('\n'), std::string::npos);
  }
}

TEST(RulesRefused, MessagesSayWhatIsExpected) {
  Error e = error_of(parse_rule_text(with_when(R"({"weather": {"sunny": true}})")));
  EXPECT_EQ(e.message,
            "unknown condition 'weather'; known: all, any, not, visit, bought, in_basket, absent, birthday, spend, "
            "complaint, time, tag, segment, random");
  e = error_of(parse_rule_text(with_when(R"({"all": [{"tag": "x"}, {"bought": {"sku": "a", "within_days": 0}}]})")));
  EXPECT_EQ(e.message, "must be an integer from 1 to 3660");
  e = error_of(parse_rule_text(with_gesture(R"({"kind": "message", "message": {"en": "Hi {customer}"}})")));
  EXPECT_EQ(e.message, "unknown placeholder {customer}; allowed: {item} {member} {name} {percent} {amount}");
  e = error_of(parse_rule_text(R"({"id": "r", "colour": 1, "when": {"tag": "x"}, "gesture": )" + std::string(kHello) + "}"));
  EXPECT_EQ(e.message, "is not a known field; known here: id, name, enabled, priority, when, gesture, limits, holdout");
  e = error_of(parse_rule_text(R"({"id": "r", "when": {"tag": "x"}, "gesture": )" + std::string(kHello) +
                               R"(, "limits": {"monthly_budget": -5000}})"));
  EXPECT_EQ(e.message, "must be an integer amount in minor units from 0 to 1000000000000");
  e = error_of(parse_rule_text(R"({"id": "r", "when": )"));
  EXPECT_NE(e.message.find("line 1, column"), std::string::npos) << e.message;  // the parser's position
}

TEST(RulesRefused, TenMegabyteTextRefusedBySizeWithoutParsing) {
  // Ten million opening brackets: parsing them would be slow and blow the parser's stack.
  const std::string text(10u << 20, '[');
  const auto start = std::chrono::steady_clock::now();
  const Error e = error_of(parse_rule_text(text));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e.code, ErrorCode::invalid_rule);
  EXPECT_EQ(e.field, "rule");
  EXPECT_EQ(e.message, "the rule text is 10485760 bytes; at most 65536 bytes are allowed");
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 50);
}

TEST(RulesRefused, DeepTextUnderTheSizeLimitDoesNotRecurse) {
  const std::string text(60000, '[');
  const Error e = error_of(parse_rule_text(text));
  EXPECT_EQ(e.code, ErrorCode::too_deep);
  EXPECT_EQ(e.field, "rule");
}

TEST(RulesRefused, SizeOfAParsedValue) {
  json big = json::parse(with_when(R"({"tag": "x"})"));
  big["name"] = "Big";
  EXPECT_TRUE(std::holds_alternative<Rule>(parse_rule(big)));
  EXPECT_TRUE(std::holds_alternative<Rule>(parse_rule(big, "rule", kMaxRuleBytes)));
  // The caller's text size counts when given...
  Error e = error_of(parse_rule(big, "rules[2]", kMaxRuleBytes + 1));
  EXPECT_EQ(e.field, "rules[2]");
  EXPECT_EQ(e.message, "the rule is 65537 bytes; at most 65536 bytes are allowed");
  // ...otherwise the rule is measured.
  big["limits"] = {{"per_day", std::string(70000, '1')}};
  e = error_of(parse_rule(big));
  EXPECT_EQ(e.field, "rule");
  EXPECT_EQ(e.message, "the rule is " + std::to_string(big.dump().size()) + " bytes; at most 65536 bytes are allowed");
}

TEST(RulesRefused, DeepValueBuiltInMemory) {
  json deep = json::array();
  for (int i = 0; i < 200; ++i) deep = json::array({deep});
  json r = json::parse(with_when(R"({"tag": "x"})"));
  r["name"] = deep;
  const Error e = error_of(parse_rule(r));
  EXPECT_EQ(e.code, ErrorCode::too_deep);
  EXPECT_EQ(e.field, "rule");
}

TEST(RulesRefused, PathPrefixIsTheCallers) {
  const Error e = error_of(parse_rule(json::parse(with_when(R"({"visit": {"nth": 0}})")), "request.rules[4]"));
  EXPECT_EQ(e.field, "request.rules[4].when.visit.nth");
  const Error t = error_of(parse_rule_text("nope", "rules/chips.json"));
  EXPECT_EQ(t.field, "rules/chips.json");
  EXPECT_EQ(t.code, ErrorCode::invalid_json);
}

// ---- the stored form -------------------------------------------------------------------------

TEST(RulesSource, RoundTrips) {
  const std::vector<std::string> rules = {
      kChips,
      with_when(R"({"time": {"weekdays": ["sat", "sun"], "hours": {"from": "22:00", "to": "02:00"},
                             "dates": {"from": "2026-12-01", "to": "2026-12-24"}}})"),
      with_gesture(R"({"kind": "discount", "percent": 10, "max_value": 500})"),
      R"({"id": "x", "enabled": false, "priority": 3, "holdout": 0, "when": {"random": {"probability": 0.5}},
          "gesture": {"kind": "task", "task": {"en": "Smile"}, "cost": 0}, "limits": {}})",
  };
  for (const std::string& text : rules) {
    SCOPED_TRACE(text);
    const Rule first = rule_of(parse_rule_text(text));
    EXPECT_TRUE(first.source.contains("enabled"));
    EXPECT_TRUE(first.source.contains("priority"));
    EXPECT_TRUE(first.source.contains("holdout"));
    const Rule again = rule_of(parse_rule(first.source));
    EXPECT_EQ(again.source, first.source);
    const Rule from_text = rule_of(parse_rule_text(first.source.dump()));
    EXPECT_EQ(from_text.source.dump(), first.source.dump());
    EXPECT_EQ(again.id, first.id);
    EXPECT_EQ(again.enabled, first.enabled);
    EXPECT_EQ(again.priority, first.priority);
    EXPECT_EQ(again.holdout, first.holdout);
    EXPECT_EQ(again.when.kind, first.when.kind);
    EXPECT_EQ(again.when.children.size(), first.when.children.size());
    EXPECT_EQ(again.when.minutes, first.when.minutes);
    EXPECT_EQ(again.when.dates, first.when.dates);
    EXPECT_EQ(again.gesture.kind, first.gesture.kind);
    EXPECT_EQ(again.gesture.cost, first.gesture.cost);
    EXPECT_EQ(again.gesture.message, first.gesture.message);
    EXPECT_EQ(again.gesture.task, first.gesture.task);
  }
}

TEST(RulesSource, GivenValuesAreKept) {
  const Rule r = rule_of(parse_rule_text(
      R"({"id": "x", "enabled": false, "priority": 3, "holdout": 0.25, "when": {"tag": "a"}, "gesture": )" +
      std::string(kHello) + "}"));
  EXPECT_EQ(r.source.at("enabled"), false);
  EXPECT_EQ(r.source.at("priority"), 3);
  EXPECT_EQ(r.source.at("holdout"), 0.25);
  EXPECT_EQ(r.source.size(), 6u);  // nothing else is added
}

}  // namespace
