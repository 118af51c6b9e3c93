// The gesture rule evaluator (daemon/gestures/engine.hpp): segment_of, rule_applies and held_out,
// with rules built by rules::parse_rule (format: sdk/GESTURES.md) and an in-memory Facts
// standing in for the store; and moment_at (daemon/base/clock.hpp) in UTC.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "gestures/engine.hpp"
#include "gestures/rules.hpp"

namespace {

using nlohmann::json;
using regulars::daemon::Facts;
using regulars::daemon::held_out;
using regulars::daemon::Moment;
using regulars::daemon::moment_at;
using regulars::daemon::rule_applies;
using regulars::daemon::segment_of;
using regulars::daemon::rules::parse_rule;
using regulars::daemon::rules::Rule;
using regulars::wire::Error;

constexpr std::int64_t kMinMs = 60'000;
constexpr std::int64_t kHourMs = 60 * kMinMs;
constexpr std::int64_t kDayMs = 24 * kHourMs;

// The daemon follows TZ; every test here runs in UTC.
class UtcEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};
const auto* const kUtc = ::testing::AddGlobalTestEnvironment(new UtcEnvironment);

// Days since 1970-01-01 of a civil date (independent of the code under test).
std::int64_t civil_days(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Unix milliseconds of a UTC wall-clock time.
std::int64_t at(int y, unsigned mo, unsigned d, int hh = 12, int mm = 0) {
  return civil_days(y, mo, d) * kDayMs + hh * kHourMs + mm * kMinMs;
}

Rule make_rule(const json& when, const std::string& id = "r1", double holdout = 0) {
  json r = {{"id", id}, {"when", when}, {"gesture", {{"kind", "message"}, {"message", {{"en", "Hello"}}}}}};
  if (holdout > 0) r["holdout"] = holdout;
  auto parsed = parse_rule(r);
  if (const auto* e = std::get_if<Error>(&parsed)) {
    ADD_FAILURE() << "rule refused: " << e->describe() << "\n" << r.dump();
    return Rule{};
  }
  return std::get<Rule>(std::move(parsed));
}

Rule make_rule(const char* when_text, const std::string& id = "r1", double holdout = 0) {
  return make_rule(json::parse(when_text), id, holdout);
}

// An in-memory customer: purchase history as (member, sku, category) -> Bought, the basket on the
// belt, purchases with their values, and the follow-up state. Calls are recorded.
class MemFacts final : public Facts {
 public:
  struct Item {
    std::string member, sku, category;
    std::int64_t baskets = 0, last_ms = 0;
  };
  std::vector<Item> items;
  std::vector<std::pair<std::string, std::string>> basket;  // (sku, category)
  std::vector<std::pair<std::int64_t, std::int64_t>> spends;  // (time, value)
  bool open = false;

  int bought_calls = 0, in_basket_calls = 0, spend_calls = 0, open_calls = 0;
  std::tuple<std::string, std::string, std::string> last_bought_args;
  std::optional<std::int64_t> last_since;

  // One visit-count + recency entry; for member "" the customer's own purchases.
  void add(std::string member, std::string sku, std::string category, std::int64_t baskets, std::int64_t last_ms) {
    items.push_back(Item{std::move(member), std::move(sku), std::move(category), baskets, last_ms});
  }

  Bought bought(const std::string& sku, const std::string& category, const std::string& member) override {
    ++bought_calls;
    last_bought_args = {sku, category, member};
    Bought out;
    for (const auto& it : items) {
      const bool who = member.empty() ? it.member.empty() : (member == "any" ? !it.member.empty() : it.member == member);
      const bool what = sku.empty() ? it.category == category : it.sku == sku;
      if (who && what) {
        out.baskets += it.baskets;
        out.last_ms = std::max(out.last_ms, it.last_ms);
      }
    }
    return out;
  }
  bool in_basket(const std::string& sku, const std::string& category) override {
    ++in_basket_calls;
    for (const auto& [s, c] : basket)
      if (sku.empty() ? c == category : s == sku) return true;
    return false;
  }
  std::int64_t spend_since(std::int64_t since_ms) override {
    ++spend_calls;
    last_since = since_ms;
    std::int64_t sum = 0;
    for (const auto& [t, v] : spends)
      if (t >= since_ms) sum += v;
    return sum;
  }
  bool open_followup() override {
    ++open_calls;
    return open;
  }
  std::optional<Favourite> favourite(const std::string&, const std::string&) override { return std::nullopt; }
  std::string item_name(const std::string& sku) override { return sku; }
  std::string item_category(const std::string&) override { return {}; }
};

// "Now" for most tests: Monday 2026-11-23 12:00 UTC.
const std::int64_t kNow = at(2026, 11, 23, 12, 0);

bool applies(const Rule& r, Facts& f, std::int64_t now_ms) { return rule_applies(r, f, moment_at(now_ms)); }
bool applies(const char* when, Facts& f, std::int64_t now_ms = kNow) { return applies(make_rule(when), f, now_ms); }

// ---- moment_at -------------------------------------------------------------------------------

TEST(GestureEvalMoment, MondayNovember23) {
  const Moment m = moment_at(at(2026, 11, 23, 10, 15) + 42'123);
  EXPECT_EQ(m.ms, at(2026, 11, 23, 10, 15) + 42'123);
  EXPECT_EQ(m.day, 20780);  // 2026-11-23
  EXPECT_EQ(m.day, civil_days(2026, 11, 23));
  EXPECT_EQ(m.weekday, 0);  // Monday
  EXPECT_EQ(m.minute, 10 * 60 + 15);
  EXPECT_EQ(m.month, 2026 * 12 + 10);
}

TEST(GestureEvalMoment, WeekdaysAcrossAWeek) {
  // 2026-11-23 (Mon) .. 2026-11-29 (Sun)
  for (int i = 0; i < 7; ++i) EXPECT_EQ(moment_at(at(2026, 11, 23 + i, 12)).weekday, i) << "day " << 23 + i;
  EXPECT_EQ(moment_at(at(2026, 11, 22, 12)).weekday, 6);  // Sunday
  EXPECT_EQ(moment_at(0).weekday, 3);                     // 1970-01-01 was a Thursday
}

TEST(GestureEvalMoment, MinuteAndDayEdges) {
  const Moment midnight = moment_at(at(2026, 11, 23, 0, 0));
  EXPECT_EQ(midnight.minute, 0);
  EXPECT_EQ(midnight.day, 20780);
  const Moment last = moment_at(at(2026, 11, 24, 0, 0) - 1);
  EXPECT_EQ(last.minute, 23 * 60 + 59);
  EXPECT_EQ(last.day, 20780);
  EXPECT_EQ(moment_at(at(2026, 11, 24, 0, 0)).day, 20781);
  EXPECT_EQ(moment_at(0).day, 0);
  EXPECT_EQ(moment_at(-1).day, -1);  // 1969-12-31 23:59:59.999
  EXPECT_EQ(moment_at(-1).minute, 23 * 60 + 59);
}

TEST(GestureEvalMoment, WeeksStartOnMonday) {
  const auto week = [](unsigned d) { return moment_at(at(2026, 11, d, 12)).week; };
  // Sunday 22 and Monday 23 are in different weeks.
  EXPECT_NE(week(22), week(23));
  EXPECT_EQ(week(23), week(22) + 1);
  // Monday 23 .. Sunday 29 are one week, at any hour.
  for (unsigned d = 23; d <= 29; ++d) EXPECT_EQ(week(d), week(23)) << "day " << d;
  EXPECT_EQ(moment_at(at(2026, 11, 23, 0, 0)).week, week(23));
  EXPECT_EQ(moment_at(at(2026, 11, 30, 0, 0) - 1).week, week(23));
  // Monday 30 starts the next one.
  EXPECT_EQ(moment_at(at(2026, 11, 30, 0, 0)).week, week(23) + 1);
  // Weeks since 1970 counted from the Monday 1969-12-29.
  EXPECT_EQ(moment_at(at(1970, 1, 4)).week, 0);  // Sunday
  EXPECT_EQ(moment_at(at(1970, 1, 5)).week, 1);  // Monday
}

TEST(GestureEvalMoment, MonthKey) {
  EXPECT_EQ(moment_at(at(2026, 11, 30, 23, 59)).month, 2026 * 12 + 10);
  EXPECT_EQ(moment_at(at(2026, 12, 1, 0, 0)).month, 2026 * 12 + 11);
  EXPECT_EQ(moment_at(at(2027, 1, 1, 0, 0)).month, 2027 * 12 + 0);
  EXPECT_EQ(moment_at(at(2026, 12, 31, 23, 59)).month + 1, moment_at(at(2027, 1, 1, 0, 0)).month);
}

// ---- visit -----------------------------------------------------------------------------------

TEST(GestureEvalVisit, NthIsTheVisitUnderWay) {
  MemFacts f;
  const Rule first = make_rule(R"({"visit": {"nth": 1}})");
  const Rule third = make_rule(R"({"visit": {"nth": 3}})");
  f.visits = 0;  // first visit under way
  EXPECT_TRUE(applies(first, f, kNow));
  EXPECT_FALSE(applies(third, f, kNow));
  f.visits = 1;
  EXPECT_FALSE(applies(first, f, kNow));
  EXPECT_FALSE(applies(third, f, kNow));
  f.visits = 2;  // third visit under way
  EXPECT_TRUE(applies(third, f, kNow));
  f.visits = 3;
  EXPECT_FALSE(applies(third, f, kNow));
}

TEST(GestureEvalVisit, Every) {
  MemFacts f;
  const Rule every5 = make_rule(R"({"visit": {"every": 5}})");
  std::vector<std::int64_t> hits;
  for (std::int64_t done = 0; done < 16; ++done) {
    f.visits = done;
    if (applies(every5, f, kNow)) hits.push_back(done + 1);
  }
  EXPECT_EQ(hits, (std::vector<std::int64_t>{5, 10, 15}));
}

// ---- bought ----------------------------------------------------------------------------------

TEST(GestureEvalBought, BySkuAndByCategory) {
  MemFacts f;
  f.visits = 5;
  f.add("", "oat-milk", "milk", 1, kNow - 3 * kDayMs);
  EXPECT_TRUE(applies(R"({"bought": {"sku": "oat-milk"}})", f));
  EXPECT_EQ(f.last_bought_args, std::make_tuple(std::string("oat-milk"), std::string(), std::string()));
  EXPECT_FALSE(applies(R"({"bought": {"sku": "cow-milk"}})", f));
  EXPECT_TRUE(applies(R"({"bought": {"category": "milk"}})", f));
  EXPECT_EQ(f.last_bought_args, std::make_tuple(std::string(), std::string("milk"), std::string()));
  EXPECT_FALSE(applies(R"({"bought": {"category": "chips"}})", f));
}

TEST(GestureEvalBought, NeverBought) {
  MemFacts f;
  EXPECT_FALSE(applies(R"({"bought": {"sku": "x"}})", f));
  EXPECT_FALSE(applies(R"({"bought": {"sku": "x", "within_days": 3660}})", f));
  EXPECT_EQ(f.bought_calls, 2);
}

TEST(GestureEvalBought, MinTimes) {
  MemFacts f;
  f.add("", "oat-milk", "milk", 2, kNow - kDayMs);
  EXPECT_TRUE(applies(R"({"bought": {"sku": "oat-milk", "min_times": 1}})", f));
  EXPECT_TRUE(applies(R"({"bought": {"sku": "oat-milk", "min_times": 2}})", f));
  EXPECT_FALSE(applies(R"({"bought": {"sku": "oat-milk", "min_times": 3}})", f));
}

TEST(GestureEvalBought, WithinDaysIsTheMostRecentVisit) {
  MemFacts f;
  // Bought on 10 visits; the latest exactly 60 days ago.
  f.add("", "oat-milk", "milk", 10, kNow - 60 * kDayMs);
  EXPECT_TRUE(applies(R"({"bought": {"sku": "oat-milk", "within_days": 60}})", f));
  EXPECT_FALSE(applies(R"({"bought": {"sku": "oat-milk", "within_days": 59}})", f));
  f.items[0].last_ms = kNow - 60 * kDayMs - 1;  // a millisecond more than 60 days
  EXPECT_FALSE(applies(R"({"bought": {"sku": "oat-milk", "within_days": 60}})", f));
  EXPECT_TRUE(applies(R"({"bought": {"sku": "oat-milk", "within_days": 61}})", f));
  EXPECT_TRUE(applies(R"({"bought": {"sku": "oat-milk"}})", f));  // ever
}

TEST(GestureEvalBought, MinTimesCountsAllVisitsNotOnlyTheWindow) {
  MemFacts f;
  // 3 visits with it in all; only the last one is recent.
  f.add("", "oat-milk", "milk", 3, kNow - 2 * kDayMs);
  EXPECT_TRUE(applies(R"({"bought": {"sku": "oat-milk", "within_days": 7, "min_times": 3}})", f));
  EXPECT_FALSE(applies(R"({"bought": {"sku": "oat-milk", "within_days": 7, "min_times": 4}})", f));
  EXPECT_FALSE(applies(R"({"bought": {"sku": "oat-milk", "within_days": 1, "min_times": 3}})", f));
}

TEST(GestureEvalBought, Members) {
  MemFacts f;
  f.add("", "coffee", "hot", 4, kNow - kDayMs);          // the customer's own
  f.add("son", "sv-chips", "chips", 2, kNow - kDayMs);   // for the son
  f.add("daughter", "lolly", "sweets", 1, kNow - kDayMs);

  // member "": only the customer's own purchases.
  EXPECT_TRUE(applies(R"({"bought": {"sku": "coffee"}})", f));
  EXPECT_FALSE(applies(R"({"bought": {"category": "chips"}})", f));
  EXPECT_EQ(std::get<2>(f.last_bought_args), "");

  // "any": some household member.
  EXPECT_TRUE(applies(R"({"bought": {"category": "chips", "member": "any"}})", f));
  EXPECT_EQ(std::get<2>(f.last_bought_args), "any");
  EXPECT_TRUE(applies(R"({"bought": {"sku": "lolly", "member": "any"}})", f));
  EXPECT_FALSE(applies(R"({"bought": {"category": "toys", "member": "any"}})", f));

  // A named member.
  EXPECT_TRUE(applies(R"({"bought": {"category": "chips", "member": "son"}})", f));
  EXPECT_EQ(std::get<2>(f.last_bought_args), "son");
  EXPECT_FALSE(applies(R"({"bought": {"category": "chips", "member": "daughter"}})", f));
  EXPECT_FALSE(applies(R"({"bought": {"category": "chips", "member": "son", "min_times": 3}})", f));
}

// ---- in_basket, not, all, any ------------------------------------------------------------------

TEST(GestureEvalBasket, SkuAndCategory) {
  MemFacts f;
  f.basket = {{"sv-chips", "chips"}, {"oat-milk", "milk"}};
  EXPECT_TRUE(applies(R"({"in_basket": {"sku": "sv-chips"}})", f));
  EXPECT_FALSE(applies(R"({"in_basket": {"sku": "bbq-chips"}})", f));
  EXPECT_TRUE(applies(R"({"in_basket": {"category": "milk"}})", f));
  EXPECT_FALSE(applies(R"({"in_basket": {"category": "coffee"}})", f));
  f.basket.clear();
  EXPECT_FALSE(applies(R"({"in_basket": {"category": "milk"}})", f));
}

TEST(GestureEvalCombine, Not) {
  MemFacts f;
  f.basket = {{"sv-chips", "chips"}};
  EXPECT_FALSE(applies(R"({"not": {"in_basket": {"category": "chips"}}})", f));
  EXPECT_TRUE(applies(R"({"not": {"in_basket": {"category": "milk"}}})", f));
  EXPECT_TRUE(applies(R"({"not": {"not": {"in_basket": {"category": "chips"}}}})", f));
}

TEST(GestureEvalCombine, AllAndAny) {
  MemFacts f;
  f.tags = {"vip"};
  f.visits = 2;  // third visit under way
  EXPECT_TRUE(applies(R"({"all": [{"tag": "vip"}, {"visit": {"nth": 3}}]})", f));
  EXPECT_FALSE(applies(R"({"all": [{"tag": "vip"}, {"visit": {"nth": 4}}]})", f));
  EXPECT_FALSE(applies(R"({"all": [{"tag": "staff"}, {"visit": {"nth": 3}}]})", f));
  EXPECT_TRUE(applies(R"({"all": [{"tag": "vip"}]})", f));
  EXPECT_TRUE(applies(R"({"any": [{"tag": "staff"}, {"visit": {"nth": 3}}]})", f));
  EXPECT_TRUE(applies(R"({"any": [{"tag": "vip"}, {"visit": {"nth": 9}}]})", f));
  EXPECT_FALSE(applies(R"({"any": [{"tag": "staff"}, {"visit": {"nth": 9}}]})", f));
  EXPECT_FALSE(applies(R"({"any": [{"tag": "staff"}]})", f));
}

TEST(GestureEvalCombine, ShortCircuits) {
  // all stops at the first false child, any at the first true one: the store is not read.
  MemFacts f;
  EXPECT_FALSE(applies(R"({"all": [{"tag": "vip"}, {"bought": {"sku": "x"}}, {"spend": {"over": 0, "days": 1}}]})", f));
  EXPECT_EQ(f.bought_calls, 0);
  EXPECT_EQ(f.spend_calls, 0);
  f.tags = {"vip"};
  EXPECT_TRUE(applies(R"({"any": [{"tag": "vip"}, {"in_basket": {"sku": "x"}}]})", f));
  EXPECT_EQ(f.in_basket_calls, 0);
  EXPECT_FALSE(applies(R"({"all": [{"tag": "vip"}, {"in_basket": {"sku": "x"}}]})", f));
  EXPECT_EQ(f.in_basket_calls, 1);
}

TEST(GestureEvalCombine, TheChipsExample) {
  const Rule chips = make_rule(R"({"all": [{"bought": {"category": "chips", "member": "any"}},
                                          {"not": {"in_basket": {"category": "chips"}}}]})");
  MemFacts f;
  f.add("son", "sv-chips", "chips", 1, kNow - 10 * kDayMs);
  EXPECT_TRUE(applies(chips, f, kNow));
  f.basket = {{"bbq-chips", "chips"}};
  EXPECT_FALSE(applies(chips, f, kNow));
  MemFacts never;
  EXPECT_FALSE(applies(chips, never, kNow));
}

TEST(GestureEvalCombine, Nested) {
  const Rule r = make_rule(R"({"all": [{"segment": "regular"},
                                       {"any": [{"tag": "vip"}, {"spend": {"over": 50000, "days": 30}}]},
                                       {"not": {"in_basket": {"category": "coffee"}}}]})");
  auto regular = [] {
    MemFacts f;
    f.visits = 10;
    f.first_seen_ms = kNow - 90 * kDayMs;
    f.last_seen_ms = kNow - 2 * kDayMs;
    return f;
  };
  {
    MemFacts f = regular();
    f.tags = {"vip"};
    EXPECT_TRUE(applies(r, f, kNow));
    f.basket = {{"espresso", "coffee"}};
    EXPECT_FALSE(applies(r, f, kNow));
  }
  {
    MemFacts f = regular();  // not vip, but spent enough
    f.spends = {{kNow - 5 * kDayMs, 50001}};
    EXPECT_TRUE(applies(r, f, kNow));
    f.spends = {{kNow - 5 * kDayMs, 50000}};
    EXPECT_FALSE(applies(r, f, kNow));
  }
  {
    MemFacts f = regular();
    f.tags = {"vip"};
    f.visits = 1;  // new
    EXPECT_FALSE(applies(r, f, kNow));
  }
  // Deeper: not(any(all(a, b), c)).
  const Rule deep = make_rule(R"({"not": {"any": [{"all": [{"tag": "a"}, {"tag": "b"}]}, {"tag": "c"}]}})");
  MemFacts f;
  EXPECT_TRUE(applies(deep, f, kNow));
  f.tags = {"a"};
  EXPECT_TRUE(applies(deep, f, kNow));
  f.tags = {"a", "b"};
  EXPECT_FALSE(applies(deep, f, kNow));
  f.tags = {"c"};
  EXPECT_FALSE(applies(deep, f, kNow));
}

// ---- absent ----------------------------------------------------------------------------------

TEST(GestureEvalAbsent, BoundaryIsExactlyNDays) {
  MemFacts f;
  f.visits = 3;
  f.first_seen_ms = kNow - 200 * kDayMs;
  f.last_seen_ms = kNow - 30 * kDayMs;
  EXPECT_TRUE(applies(R"({"absent": {"days": 30}})", f));
  EXPECT_TRUE(applies(R"({"absent": {"days": 29}})", f));
  EXPECT_FALSE(applies(R"({"absent": {"days": 31}})", f));
  f.last_seen_ms = kNow - 30 * kDayMs + 1;  // a millisecond short of 30 days
  EXPECT_FALSE(applies(R"({"absent": {"days": 30}})", f));
}

TEST(GestureEvalAbsent, NeedsAVisit) {
  MemFacts f;
  f.visits = 0;
  f.last_seen_ms = 0;  // never seen: not "absent", just new
  EXPECT_FALSE(applies(R"({"absent": {"days": 1}})", f));
  f.visits = 1;
  EXPECT_TRUE(applies(R"({"absent": {"days": 1}})", f));
}

// ---- birthday --------------------------------------------------------------------------------

TEST(GestureEvalBirthday, OnTheDay) {
  MemFacts f;
  f.birthday = "11-23";
  EXPECT_TRUE(applies(R"({"birthday": {}})", f, at(2026, 11, 23, 0, 0)));
  EXPECT_TRUE(applies(R"({"birthday": {}})", f, at(2026, 11, 23, 23, 59)));
  EXPECT_FALSE(applies(R"({"birthday": {}})", f, at(2026, 11, 22, 23, 59)));
  EXPECT_FALSE(applies(R"({"birthday": {}})", f, at(2026, 11, 24, 0, 0)));
  f.birthday = "1990-11-23";  // with a year
  EXPECT_TRUE(applies(R"({"birthday": {}})", f, kNow));
  EXPECT_FALSE(applies(R"({"birthday": {}})", f, kNow + kDayMs));
  f.birthday = "";
  EXPECT_FALSE(applies(R"({"birthday": {"days_before": 31, "days_after": 31}})", f, kNow));
}

TEST(GestureEvalBirthday, DaysBeforeAndAfter) {
  MemFacts f;
  f.birthday = "11-23";
  const Rule r = make_rule(R"({"birthday": {"days_before": 3, "days_after": 2}})");
  EXPECT_FALSE(applies(r, f, at(2026, 11, 19)));  // 4 before
  EXPECT_TRUE(applies(r, f, at(2026, 11, 20)));   // 3 before
  EXPECT_TRUE(applies(r, f, at(2026, 11, 23)));
  EXPECT_TRUE(applies(r, f, at(2026, 11, 25)));   // 2 after
  EXPECT_FALSE(applies(r, f, at(2026, 11, 26)));  // 3 after
}

TEST(GestureEvalBirthday, YearWrap) {
  MemFacts f;
  f.birthday = "01-02";
  // Seen on 2026-12-30: the birthday is 3 days ahead, in 2027.
  EXPECT_TRUE(applies(R"({"birthday": {"days_before": 3}})", f, at(2026, 12, 30)));
  EXPECT_FALSE(applies(R"({"birthday": {"days_before": 2}})", f, at(2026, 12, 30)));
  EXPECT_FALSE(applies(R"({"birthday": {"days_after": 31}})", f, at(2026, 12, 30)));
  // And the other way: birthday 12-30 seen on 2027-01-02 is 3 days after.
  f.birthday = "12-30";
  EXPECT_TRUE(applies(R"({"birthday": {"days_after": 3}})", f, at(2027, 1, 2)));
  EXPECT_FALSE(applies(R"({"birthday": {"days_after": 2}})", f, at(2027, 1, 2)));
  EXPECT_FALSE(applies(R"({"birthday": {"days_before": 31}})", f, at(2027, 1, 2)));
}

TEST(GestureEvalBirthday, February29InANonLeapYear) {
  MemFacts f;
  f.birthday = "02-29";
  // 2027 is not a leap year: 28 February counts.
  EXPECT_TRUE(applies(R"({"birthday": {}})", f, at(2027, 2, 28)));
  EXPECT_FALSE(applies(R"({"birthday": {}})", f, at(2027, 2, 27)));
  EXPECT_FALSE(applies(R"({"birthday": {}})", f, at(2027, 3, 1)));
  EXPECT_TRUE(applies(R"({"birthday": {"days_after": 1}})", f, at(2027, 3, 1)));
  f.birthday = "2000-02-29";
  EXPECT_TRUE(applies(R"({"birthday": {}})", f, at(2027, 2, 28)));
  // 2028 is a leap year: 29 February itself.
  EXPECT_TRUE(applies(R"({"birthday": {}})", f, at(2028, 2, 29)));
  EXPECT_FALSE(applies(R"({"birthday": {}})", f, at(2028, 2, 28)));
  EXPECT_TRUE(applies(R"({"birthday": {"days_before": 1}})", f, at(2028, 2, 28)));
}

// ---- spend -----------------------------------------------------------------------------------

TEST(GestureEvalSpend, StrictlyMoreThanOver) {
  MemFacts f;
  f.spends = {{kNow - 10 * kDayMs, 6000}, {kNow - kDayMs, 4000}};  // 10000 in all
  EXPECT_FALSE(applies(R"({"spend": {"over": 10000, "days": 30}})", f));
  EXPECT_TRUE(applies(R"({"spend": {"over": 9999, "days": 30}})", f));
  f.spends.push_back({kNow - kHourMs, 1});
  EXPECT_TRUE(applies(R"({"spend": {"over": 10000, "days": 30}})", f));
}

TEST(GestureEvalSpend, OverZeroMeansSpentAnything) {
  MemFacts f;
  EXPECT_FALSE(applies(R"({"spend": {"over": 0, "days": 30}})", f));
  f.spends = {{kNow - kDayMs, 1}};
  EXPECT_TRUE(applies(R"({"spend": {"over": 0, "days": 30}})", f));
}

TEST(GestureEvalSpend, PeriodStart) {
  MemFacts f;
  EXPECT_FALSE(applies(R"({"spend": {"over": 0, "days": 30}})", f));
  ASSERT_TRUE(f.last_since.has_value());
  EXPECT_EQ(*f.last_since, kNow - 30 * kDayMs);
  // A purchase before the period does not count; one at its start does (spend_since >=).
  f.spends = {{kNow - 30 * kDayMs - 1, 50000}};
  EXPECT_FALSE(applies(R"({"spend": {"over": 0, "days": 30}})", f));
  EXPECT_TRUE(applies(R"({"spend": {"over": 0, "days": 31}})", f));
  EXPECT_EQ(*f.last_since, kNow - 31 * kDayMs);
  f.spends = {{kNow - 30 * kDayMs, 50000}};
  EXPECT_TRUE(applies(R"({"spend": {"over": 0, "days": 30}})", f));
}

// ---- complaint -------------------------------------------------------------------------------

TEST(GestureEvalComplaint, WithinDays) {
  MemFacts f;
  EXPECT_FALSE(applies(R"({"complaint": {"within_days": 30}})", f));  // never complained
  f.last_complaint_ms = kNow - 30 * kDayMs;
  EXPECT_TRUE(applies(R"({"complaint": {"within_days": 30}})", f));
  EXPECT_FALSE(applies(R"({"complaint": {"within_days": 29}})", f));
  f.last_complaint_ms = kNow - 30 * kDayMs - 1;
  EXPECT_FALSE(applies(R"({"complaint": {"within_days": 30}})", f));
  f.last_complaint_ms = kNow - kHourMs;
  EXPECT_TRUE(applies(R"({"complaint": {"within_days": 1}})", f));
  EXPECT_EQ(f.open_calls, 0);  // without "open", the follow-up is not asked for
}

TEST(GestureEvalComplaint, OpenFollowup) {
  MemFacts f;
  f.last_complaint_ms = kNow - 5 * kDayMs;
  f.open = false;
  EXPECT_FALSE(applies(R"({"complaint": {"within_days": 30, "open": true}})", f));
  EXPECT_EQ(f.open_calls, 1);
  EXPECT_TRUE(applies(R"({"complaint": {"within_days": 30, "open": false}})", f));
  f.open = true;
  EXPECT_TRUE(applies(R"({"complaint": {"within_days": 30, "open": true}})", f));
  // An open follow-up does not help a complaint outside the window.
  EXPECT_FALSE(applies(R"({"complaint": {"within_days": 4, "open": true}})", f));
  f.last_complaint_ms = 0;
  EXPECT_FALSE(applies(R"({"complaint": {"within_days": 30, "open": true}})", f));
}

// ---- time ------------------------------------------------------------------------------------

TEST(GestureEvalTime, Weekdays) {
  MemFacts f;
  const Rule weekend = make_rule(R"({"time": {"weekdays": ["sat", "sun"]}})");
  const Rule monday = make_rule(R"({"time": {"weekdays": ["mon"]}})");
  EXPECT_FALSE(applies(weekend, f, at(2026, 11, 27, 23, 59)));  // Friday
  EXPECT_TRUE(applies(weekend, f, at(2026, 11, 28, 0, 0)));     // Saturday
  EXPECT_TRUE(applies(weekend, f, at(2026, 11, 29, 23, 59)));   // Sunday
  EXPECT_FALSE(applies(weekend, f, at(2026, 11, 30, 0, 0)));    // Monday
  EXPECT_TRUE(applies(monday, f, at(2026, 11, 23, 0, 0)));
  EXPECT_FALSE(applies(monday, f, at(2026, 11, 22, 23, 59)));
  EXPECT_FALSE(applies(monday, f, at(2026, 11, 24, 0, 0)));
  const Rule all7 = make_rule(R"({"time": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}})");
  for (unsigned d = 23; d <= 29; ++d) EXPECT_TRUE(applies(all7, f, at(2026, 11, d))) << d;
}

TEST(GestureEvalTime, Hours) {
  MemFacts f;
  const Rule morning = make_rule(R"({"time": {"hours": {"from": "09:00", "to": "12:00"}}})");
  EXPECT_FALSE(applies(morning, f, at(2026, 11, 23, 8, 59)));
  EXPECT_TRUE(applies(morning, f, at(2026, 11, 23, 9, 0)));
  EXPECT_TRUE(applies(morning, f, at(2026, 11, 23, 11, 59)));
  EXPECT_FALSE(applies(morning, f, at(2026, 11, 23, 12, 0)));  // "to" excluded
}

TEST(GestureEvalTime, HoursWrappingMidnight) {
  MemFacts f;
  const Rule night = make_rule(R"({"time": {"hours": {"from": "22:00", "to": "02:00"}}})");
  EXPECT_FALSE(applies(night, f, at(2026, 11, 23, 21, 59)));
  EXPECT_TRUE(applies(night, f, at(2026, 11, 23, 22, 0)));
  EXPECT_TRUE(applies(night, f, at(2026, 11, 23, 23, 59)));
  EXPECT_TRUE(applies(night, f, at(2026, 11, 24, 0, 0)));
  EXPECT_TRUE(applies(night, f, at(2026, 11, 24, 1, 59)));
  EXPECT_FALSE(applies(night, f, at(2026, 11, 24, 2, 0)));
  EXPECT_FALSE(applies(night, f, at(2026, 11, 24, 12, 0)));
  // Friday night: the weekday is the local day of the moment itself.
  const Rule fri_night = make_rule(R"({"time": {"weekdays": ["fri"], "hours": {"from": "22:00", "to": "02:00"}}})");
  EXPECT_TRUE(applies(fri_night, f, at(2026, 11, 27, 23, 0)));   // Friday 23:00
  EXPECT_TRUE(applies(fri_night, f, at(2026, 11, 27, 1, 0)));    // Friday 01:00
  EXPECT_FALSE(applies(fri_night, f, at(2026, 11, 28, 1, 0)));   // Saturday 01:00
  EXPECT_FALSE(applies(fri_night, f, at(2026, 11, 27, 12, 0)));  // Friday noon
}

TEST(GestureEvalTime, HoursToEndOfDay) {
  MemFacts f;
  const Rule evening = make_rule(R"({"time": {"hours": {"from": "18:00", "to": "24:00"}}})");
  EXPECT_FALSE(applies(evening, f, at(2026, 11, 23, 17, 59)));
  EXPECT_TRUE(applies(evening, f, at(2026, 11, 23, 18, 0)));
  EXPECT_TRUE(applies(evening, f, at(2026, 11, 23, 23, 59)));
  EXPECT_TRUE(applies(evening, f, at(2026, 11, 24, 0, 0) - 1));
  EXPECT_FALSE(applies(evening, f, at(2026, 11, 24, 0, 0)));
  const Rule all_day = make_rule(R"({"time": {"hours": {"from": "00:00", "to": "24:00"}}})");
  EXPECT_TRUE(applies(all_day, f, at(2026, 11, 24, 0, 0)));
  EXPECT_TRUE(applies(all_day, f, at(2026, 11, 24, 23, 59)));
}

TEST(GestureEvalTime, DatesInclusive) {
  MemFacts f;
  const Rule advent = make_rule(R"({"time": {"dates": {"from": "2026-12-01", "to": "2026-12-24"}}})");
  EXPECT_FALSE(applies(advent, f, at(2026, 12, 1, 0, 0) - 1));
  EXPECT_TRUE(applies(advent, f, at(2026, 12, 1, 0, 0)));
  EXPECT_TRUE(applies(advent, f, at(2026, 12, 12)));
  EXPECT_TRUE(applies(advent, f, at(2026, 12, 24, 23, 59)));
  EXPECT_FALSE(applies(advent, f, at(2026, 12, 25, 0, 0)));
  const Rule one_day = make_rule(R"({"time": {"dates": {"from": "2026-11-23", "to": "2026-11-23"}}})");
  EXPECT_TRUE(applies(one_day, f, kNow));
  EXPECT_FALSE(applies(one_day, f, kNow + kDayMs));
  EXPECT_FALSE(applies(one_day, f, kNow - kDayMs));
}

TEST(GestureEvalTime, AllPartsMustHold) {
  MemFacts f;
  const Rule r = make_rule(R"({"time": {"weekdays": ["sat"], "hours": {"from": "09:00", "to": "12:00"},
                                        "dates": {"from": "2026-12-01", "to": "2026-12-24"}}})");
  EXPECT_TRUE(applies(r, f, at(2026, 12, 5, 10, 0)));    // Saturday in December, morning
  EXPECT_FALSE(applies(r, f, at(2026, 12, 5, 13, 0)));   // afternoon
  EXPECT_FALSE(applies(r, f, at(2026, 12, 6, 10, 0)));   // Sunday
  EXPECT_FALSE(applies(r, f, at(2026, 11, 28, 10, 0)));  // Saturday before the dates
}

// ---- tag -------------------------------------------------------------------------------------

TEST(GestureEvalTag, Tags) {
  MemFacts f;
  EXPECT_FALSE(applies(R"({"tag": "vip"})", f));
  f.tags = {"staff", "vip"};
  EXPECT_TRUE(applies(R"({"tag": "vip"})", f));
  EXPECT_TRUE(applies(R"({"tag": "staff"})", f));
  EXPECT_FALSE(applies(R"({"tag": "VIP"})", f));
  EXPECT_FALSE(applies(R"({"tag": "vi"})", f));
}

// ---- segment ---------------------------------------------------------------------------------

MemFacts history(std::int64_t visits, std::int64_t first_ago_days, std::int64_t last_ago_ms) {
  MemFacts f;
  f.visits = visits;
  f.first_seen_ms = visits > 0 ? kNow - first_ago_days * kDayMs : 0;
  f.last_seen_ms = visits > 0 ? kNow - last_ago_ms : 0;
  return f;
}

TEST(GestureEvalSegment, New) {
  EXPECT_EQ(segment_of(history(0, 0, 0), kNow), "new");
  EXPECT_EQ(segment_of(history(1, 400, 400 * kDayMs), kNow), "new");  // one visit, long ago: still new
  EXPECT_NE(segment_of(history(2, 10, kDayMs), kNow), "new");
}

TEST(GestureEvalSegment, Lapsed) {
  EXPECT_EQ(segment_of(history(20, 300, 60 * kDayMs), kNow), "lapsed");
  EXPECT_EQ(segment_of(history(2, 300, 60 * kDayMs), kNow), "lapsed");
  EXPECT_NE(segment_of(history(20, 300, 60 * kDayMs - 1), kNow), "lapsed");
  EXPECT_EQ(segment_of(history(20, 300, 60 * kDayMs - 1), kNow), "regular");
}

TEST(GestureEvalSegment, Regular) {
  // 4 visits over 90 days: 3 gaps of 30 days on average.
  EXPECT_EQ(segment_of(history(4, 90, 0), kNow), "regular");
  // 3 visits, however close: occasional.
  EXPECT_EQ(segment_of(history(3, 2, 0), kNow), "occasional");
  // 4 visits over 91 days: the average gap is over 30 days.
  EXPECT_EQ(segment_of(history(4, 91, 0), kNow), "occasional");
  // 10 visits over 269 days (9 gaps, under 30 days on average) vs 279 days (31 on average).
  EXPECT_EQ(segment_of(history(10, 270, kDayMs), kNow), "regular");
  EXPECT_EQ(segment_of(history(10, 280, kDayMs), kNow), "occasional");
}

TEST(GestureEvalSegment, Occasional) {
  EXPECT_EQ(segment_of(history(2, 5, kDayMs), kNow), "occasional");
  EXPECT_EQ(segment_of(history(5, 400, 59 * kDayMs), kNow), "occasional");
}

TEST(GestureEvalSegment, AsACondition) {
  MemFacts f = history(4, 90, 0);
  EXPECT_TRUE(applies(R"({"segment": "regular"})", f));
  EXPECT_FALSE(applies(R"({"segment": "occasional"})", f));
  EXPECT_FALSE(applies(R"({"segment": "new"})", f));
  EXPECT_FALSE(applies(R"({"segment": "lapsed"})", f));
  MemFacts g = history(4, 200, 60 * kDayMs);
  EXPECT_TRUE(applies(R"({"segment": "lapsed"})", g));
  EXPECT_FALSE(applies(R"({"segment": "regular"})", g));
  MemFacts n = history(1, 1, kDayMs);
  EXPECT_TRUE(applies(R"({"segment": "new"})", n));
  MemFacts o = history(3, 30, kDayMs);
  EXPECT_TRUE(applies(R"({"segment": "occasional"})", o));
  EXPECT_FALSE(applies(R"({"segment": "regular"})", o));
}

// ---- random ----------------------------------------------------------------------------------

TEST(GestureEvalRandom, ProbabilityOneAlwaysHolds) {
  const Rule r = make_rule(R"({"random": {"probability": 1}})");
  for (std::int64_t c = 0; c < 2000; ++c) {
    MemFacts f;
    f.customer_id = c * 7919 + 1;
    f.visits = c % 13;
    ASSERT_TRUE(applies(r, f, kNow)) << "customer " << f.customer_id;
  }
}

TEST(GestureEvalRandom, FixedPerCustomerAndVisit) {
  const Rule r = make_rule(R"({"random": {"probability": 0.5}})");
  int changed_with_visit = 0;
  for (std::int64_t c = 1; c <= 500; ++c) {
    MemFacts f;
    f.customer_id = c;
    f.visits = 4;
    const bool first = applies(r, f, kNow);
    // Same customer, same visit, asked again later in the visit and with other facts: same answer.
    EXPECT_EQ(applies(r, f, kNow + kHourMs), first) << c;
    f.tags = {"vip"};
    f.basket = {{"x", "y"}};
    EXPECT_EQ(applies(r, f, kNow), first) << c;
    // The next visit draws again.
    f.visits = 5;
    if (applies(r, f, kNow) != first) ++changed_with_visit;
  }
  EXPECT_GT(changed_with_visit, 150);  // about half of 500
  EXPECT_LT(changed_with_visit, 350);
}

TEST(GestureEvalRandom, ShareOverTenThousandCustomers) {
  const Rule r = make_rule(R"({"random": {"probability": 0.3}})");
  int yes = 0;
  for (std::int64_t c = 1; c <= 10'000; ++c) {
    MemFacts f;
    f.customer_id = c;
    f.visits = 3;
    if (applies(r, f, kNow)) ++yes;
  }
  EXPECT_GE(yes, 2700);
  EXPECT_LE(yes, 3300);
}

// ---- held_out --------------------------------------------------------------------------------

TEST(GestureEvalHoldout, ZeroNeverHoldsOut) {
  const Rule r = make_rule(R"({"tag": "vip"})", "no-holdout");
  ASSERT_EQ(r.holdout, 0.0);
  for (std::int64_t c = -100; c <= 10'000; ++c) ASSERT_FALSE(held_out(r, c)) << c;
}

TEST(GestureEvalHoldout, Deterministic) {
  const Rule r = make_rule(R"({"tag": "vip"})", "weekend-vip", 0.5);
  const Rule same = make_rule(R"({"visit": {"nth": 1}})", "weekend-vip", 0.5);  // same id, other condition
  for (std::int64_t c = 1; c <= 1000; ++c) {
    const bool h = held_out(r, c);
    EXPECT_EQ(held_out(r, c), h) << c;
    EXPECT_EQ(held_out(same, c), h) << c;
  }
}

TEST(GestureEvalHoldout, ShareOverTenThousandCustomers) {
  const Rule r = make_rule(R"({"tag": "vip"})", "weekend-vip", 0.2);
  ASSERT_DOUBLE_EQ(r.holdout, 0.2);
  int held = 0;
  for (std::int64_t c = 1; c <= 10'000; ++c)
    if (held_out(r, c)) ++held;
  EXPECT_GE(held, 1850);
  EXPECT_LE(held, 2150);
}

TEST(GestureEvalHoldout, RulesHoldOutDifferentCustomers) {
  const Rule a = make_rule(R"({"tag": "vip"})", "rule-a", 0.2);
  const Rule b = make_rule(R"({"tag": "vip"})", "rule-b", 0.2);
  std::set<std::int64_t> in_a, in_b;
  for (std::int64_t c = 1; c <= 10'000; ++c) {
    if (held_out(a, c)) in_a.insert(c);
    if (held_out(b, c)) in_b.insert(c);
  }
  EXPECT_FALSE(in_a.empty());
  EXPECT_FALSE(in_b.empty());
  EXPECT_NE(in_a, in_b);
  // Independent draws: the overlap is near 0.2 * 0.2 of the customers, far from all of them.
  std::size_t both = 0;
  for (auto c : in_a) both += in_b.count(c);
  EXPECT_LT(both, in_a.size() / 2);
}

TEST(GestureEvalHoldout, GrowsWithTheShare) {
  // A customer held out at 0.1 is also held out at 0.2 (same rule id): the draw is fixed.
  const Rule low = make_rule(R"({"tag": "vip"})", "grow", 0.1);
  const Rule high = make_rule(R"({"tag": "vip"})", "grow", 0.2);
  int low_n = 0;
  for (std::int64_t c = 1; c <= 5000; ++c) {
    if (held_out(low, c)) {
      ++low_n;
      EXPECT_TRUE(held_out(high, c)) << c;
    }
  }
  EXPECT_GT(low_n, 0);
}

}  // namespace
