// The shop's calendar (daemon/base/clock.hpp): moment_at in zones far from UTC, moment_at_offset,
// and days_to_annual, the one count of days to a birthday that the birthday hint and the
// birthday rule both use. Instants are written with their UTC offset and checked against
// values computed by hand.
#include "base/clock.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <ostream>
#include <string>
#include <variant>

#include "gestures/engine.hpp"
#include "gestures/rules.hpp"
#include "wire/validate.hpp"
#include "scoped_tz.hpp"

namespace {

using regulars::daemon::days_to_annual;
using regulars::daemon::Moment;
using regulars::daemon::moment_at;
using regulars::daemon::moment_at_offset;
using regulars::wire::days_from_civil;

using regulars::test::ScopedTz;

std::int64_t ms(const char* rfc3339) {
  const auto t = regulars::wire::parse_time_ms(rfc3339);
  EXPECT_TRUE(t) << rfc3339;
  return t.value_or(0);
}

std::int64_t day(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

// Each zone with the last minute of 22 November 2026 and the first of the 23rd, in its own time.
struct LocalMidnight {
  const char* zone;
  const char* before;  // 23:59 local on the 22nd
  const char* after;   // 00:01 local on the 23rd
};

class AroundLocalMidnight : public ::testing::TestWithParam<LocalMidnight> {};

TEST_P(AroundLocalMidnight, TheLocalDayTurnsAtLocalMidnight) {
  const ScopedTz tz(GetParam().zone);
  const Moment before = moment_at(ms(GetParam().before));
  const Moment after = moment_at(ms(GetParam().after));
  EXPECT_EQ(before.day, day(2026, 11, 22));
  EXPECT_EQ(before.minute, 23 * 60 + 59);
  EXPECT_EQ(before.weekday, 6);  // Sunday
  EXPECT_EQ(after.day, day(2026, 11, 23));
  EXPECT_EQ(after.minute, 1);
  EXPECT_EQ(after.weekday, 0);  // Monday
  EXPECT_EQ(after.week, before.week + 1);
  EXPECT_EQ(after.month, 2026 * 12 + 10);
}

// The heart of it: the birthday is tomorrow until local midnight, today from then on, whatever
// day it is in UTC. Counting UTC days (as the hint did) fails here in both zones: in Tehran the
// first minute of the 23rd is still the 22nd in UTC; in Los Angeles the last minute of the
// 22nd is already the 23rd.
TEST_P(AroundLocalMidnight, BirthdayCountsLocalDays) {
  const ScopedTz tz(GetParam().zone);
  const Moment before = moment_at(ms(GetParam().before));
  const Moment after = moment_at(ms(GetParam().after));
  for (const char* birthday : {"11-23", "1990-11-23"}) {
    EXPECT_EQ(days_to_annual(birthday, before, 3, 3), std::optional<std::int64_t>(1)) << birthday;
    EXPECT_EQ(days_to_annual(birthday, after, 3, 3), std::optional<std::int64_t>(0)) << birthday;
  }
  EXPECT_EQ(days_to_annual("11-22", before, 3, 3), std::optional<std::int64_t>(0));
  EXPECT_EQ(days_to_annual("11-22", after, 3, 3), std::optional<std::int64_t>(-1));
}

// The birthday rule asks the same function: on the birthday itself ("birthday": {}) it applies
// from local midnight on, exactly when the hint starts to say "today".
TEST_P(AroundLocalMidnight, BirthdayRuleAgreesWithTheHintsCount) {
  const ScopedTz tz(GetParam().zone);
  auto parsed = regulars::daemon::rules::parse_rule(nlohmann::json::parse(
      R"({"id": "bday", "when": {"birthday": {}}, "gesture": {"kind": "message", "message": {"en": "Happy birthday"}}})"));
  ASSERT_TRUE(std::holds_alternative<regulars::daemon::rules::Rule>(parsed));
  const auto& rule = std::get<regulars::daemon::rules::Rule>(parsed);
  struct Customer final : regulars::daemon::Facts {
    Bought bought(const std::string&, const std::string&, const std::string&) override { return {}; }
    bool in_basket(const std::string&, const std::string&) override { return false; }
    std::int64_t spend_since(std::int64_t) override { return 0; }
    bool open_followup() override { return false; }
    std::optional<Favourite> favourite(const std::string&, const std::string&) override { return std::nullopt; }
    std::string item_name(const std::string& sku) override { return sku; }
    std::string item_category(const std::string&) override { return {}; }
  } customer;
  customer.birthday = "11-23";
  for (const char* when : {GetParam().before, GetParam().after}) {
    const Moment now = moment_at(ms(when));
    const bool hint_says_today = days_to_annual(customer.birthday, now, 3, 3) == std::optional<std::int64_t>(0);
    EXPECT_EQ(regulars::daemon::rule_applies(rule, customer, now), hint_says_today) << when;
  }
}

// Test names and ctest's list show the zone, not the struct's bytes.
void PrintTo(const LocalMidnight& p, std::ostream* os) { *os << p.zone; }

// "Asia/Tehran" -> "Asia_Tehran": a test name may not hold '/'.
std::string zone_name(const ::testing::TestParamInfo<LocalMidnight>& p) {
  std::string name = p.param.zone;
  for (auto& c : name)
    if (c == '/') c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Zones, AroundLocalMidnight,
                         ::testing::Values(LocalMidnight{"Asia/Tehran", "2026-11-22T23:59:00+03:30", "2026-11-23T00:01:00+03:30"},
                                           LocalMidnight{"America/Los_Angeles", "2026-11-22T23:59:00-08:00",
                                                         "2026-11-23T00:01:00-08:00"},
                                           LocalMidnight{"Pacific/Kiritimati", "2026-11-22T23:59:00+14:00",
                                                         "2026-11-23T00:01:00+14:00"}),
                         zone_name);

TEST(Clock, SummerTimeMovesMidnight) {
  const ScopedTz tz("America/Los_Angeles");
  // In July Los Angeles is on PDT, UTC-7: midnight comes an hour earlier in UTC than in November.
  EXPECT_EQ(moment_at(ms("2026-07-01T06:59:00Z")).day, day(2026, 6, 30));
  EXPECT_EQ(moment_at(ms("2026-07-01T07:00:00Z")).day, day(2026, 7, 1));
  EXPECT_EQ(days_to_annual("07-01", moment_at(ms("2026-07-01T07:00:00Z")), 0, 0), std::optional<std::int64_t>(0));
  EXPECT_EQ(days_to_annual("07-01", moment_at(ms("2026-07-01T06:59:00Z")), 0, 0), std::nullopt);
}

TEST(Clock, MomentAtOffsetIsTheTillsOwnClock) {
  const std::int64_t t = ms("2026-11-22T23:30:00+03:30");  // 20:00 UTC on Sunday
  const Moment tehran = moment_at_offset(t, 3 * 3600 + 1800);
  EXPECT_EQ(tehran.day, day(2026, 11, 22));
  EXPECT_EQ(tehran.minute, 23 * 60 + 30);
  EXPECT_EQ(tehran.weekday, 6);
  const Moment auckland = moment_at_offset(t, 13 * 3600);  // NZDT: already Monday 09:00
  EXPECT_EQ(auckland.day, day(2026, 11, 23));
  EXPECT_EQ(auckland.minute, 9 * 60);
  EXPECT_EQ(auckland.weekday, 0);
  const Moment utc = moment_at_offset(t, 0);
  EXPECT_EQ(utc.minute, 20 * 60);
  // A year turns on the till's clock too.
  const Moment new_year = moment_at_offset(ms("2027-01-01T00:00:00+03:30"), 3 * 3600 + 1800);
  EXPECT_EQ(new_year.month, 2027 * 12);
  EXPECT_EQ(new_year.day, day(2027, 1, 1));
  EXPECT_EQ(moment_at_offset(ms("2026-12-31T23:59:59+03:30"), 3 * 3600 + 1800).month, 2026 * 12 + 11);
}

TEST(Clock, MomentAtMatchesTheZonesOffset) {
  // moment_at is moment_at_offset with the offset the zone has at that instant.
  const ScopedTz tz("Asia/Tehran");
  for (std::int64_t t = ms("2026-01-01T00:00:00Z"); t < ms("2027-01-01T00:00:00Z"); t += 7 * 3'600'000 + 123'456) {
    const Moment a = moment_at(t);
    const Moment b = moment_at_offset(t, 3 * 3600 + 1800);
    ASSERT_EQ(a.day, b.day) << t;
    ASSERT_EQ(a.minute, b.minute) << t;
    ASSERT_EQ(a.weekday, b.weekday) << t;
    ASSERT_EQ(a.week, b.week) << t;
    ASSERT_EQ(a.month, b.month) << t;
  }
}

TEST(DaysToAnnual, Window) {
  const Moment now = moment_at_offset(ms("2026-11-23T12:00:00Z"), 0);
  EXPECT_EQ(days_to_annual("11-26", now, 3, 3), std::optional<std::int64_t>(3));
  EXPECT_EQ(days_to_annual("11-27", now, 3, 3), std::nullopt);
  EXPECT_EQ(days_to_annual("11-20", now, 3, 3), std::optional<std::int64_t>(-3));
  EXPECT_EQ(days_to_annual("11-19", now, 3, 3), std::nullopt);
  EXPECT_EQ(days_to_annual("11-24", now, 0, 3), std::nullopt);  // not after: days_before 0
  EXPECT_EQ(days_to_annual("11-22", now, 3, 0), std::nullopt);
  EXPECT_EQ(days_to_annual("11-23", now, 0, 0), std::optional<std::int64_t>(0));
  EXPECT_EQ(days_to_annual("12-24", now, 31, 31), std::optional<std::int64_t>(31));
}

TEST(DaysToAnnual, AcrossTheYear) {
  const Moment dec30 = moment_at_offset(ms("2026-12-30T12:00:00Z"), 0);
  EXPECT_EQ(days_to_annual("01-02", dec30, 3, 3), std::optional<std::int64_t>(3));
  const Moment jan2 = moment_at_offset(ms("2027-01-02T12:00:00Z"), 0);
  EXPECT_EQ(days_to_annual("12-30", jan2, 3, 3), std::optional<std::int64_t>(-3));
}

TEST(DaysToAnnual, February29) {
  // 2027 has no 29 February: the 28th is the day.
  EXPECT_EQ(days_to_annual("02-29", moment_at_offset(ms("2027-02-28T12:00:00Z"), 0), 3, 3), std::optional<std::int64_t>(0));
  EXPECT_EQ(days_to_annual("2000-02-29", moment_at_offset(ms("2027-03-01T12:00:00Z"), 0), 3, 3),
            std::optional<std::int64_t>(-1));
  // 2028 has one.
  EXPECT_EQ(days_to_annual("02-29", moment_at_offset(ms("2028-02-28T12:00:00Z"), 0), 3, 3), std::optional<std::int64_t>(1));
  EXPECT_EQ(days_to_annual("02-29", moment_at_offset(ms("2028-02-29T12:00:00Z"), 0), 3, 3), std::optional<std::int64_t>(0));
}

TEST(DaysToAnnual, RefusesWhatIsNotADate) {
  const Moment now = moment_at_offset(ms("2026-11-23T12:00:00Z"), 0);
  for (const char* bad : {"", "11-2", "1-23", "11/23", "13-01", "00-10", "11-00", "11-31", "02-30", "ab-cd", "+1-23",
                          "1990-11-2", "1990/11/23", "199a-11-23", "1990-11-23T", " 11-23"})
    EXPECT_EQ(days_to_annual(bad, now, 31, 31), std::nullopt) << '"' << bad << '"';
}

}  // namespace
