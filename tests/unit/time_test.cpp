// RFC 3339 times: parse_time_ms and format_time_ms. Expected values were computed independently
// (Python's datetime), not with the code under test.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>

#include "wire/validate.hpp"

namespace {

using regulars::wire::format_time_ms;
using regulars::wire::parse_time_ms;

constexpr std::int64_t k20261123T101500Z = 1795428900000;

TEST(ParseTime, UtcWithZ) {
  EXPECT_EQ(parse_time_ms("1970-01-01T00:00:00Z"), std::optional<std::int64_t>(0));
  EXPECT_EQ(parse_time_ms("2026-11-23T10:15:00Z"), k20261123T101500Z);
  EXPECT_EQ(parse_time_ms("2038-01-19T03:14:08Z"), std::int64_t{2147483648000});  // past 32-bit seconds
  EXPECT_EQ(parse_time_ms("2026-11-23t10:15:00z"), k20261123T101500Z);            // RFC 3339 allows lower case
}

TEST(ParseTime, Offsets) {
  EXPECT_EQ(parse_time_ms("2026-11-23T13:45:00+03:30"), k20261123T101500Z);  // Tehran
  EXPECT_EQ(parse_time_ms("2026-11-23T05:15:00-05:00"), k20261123T101500Z);
  EXPECT_EQ(parse_time_ms("2026-11-23T10:15:00+00:00"), k20261123T101500Z);
  EXPECT_EQ(parse_time_ms("2026-11-24T00:00:00+13:45"), k20261123T101500Z);  // crosses midnight
}

TEST(ParseTime, FractionalSeconds) {
  EXPECT_EQ(parse_time_ms("2026-11-23T13:45:00.250+03:30"), k20261123T101500Z + 250);
  EXPECT_EQ(parse_time_ms("2026-11-23T10:15:00.5Z"), k20261123T101500Z + 500);
  EXPECT_EQ(parse_time_ms("2026-11-23T10:15:00.07Z"), k20261123T101500Z + 70);
  EXPECT_EQ(parse_time_ms("2026-11-23T10:15:00.123456789Z"), k20261123T101500Z + 123);  // truncated to ms
  EXPECT_FALSE(parse_time_ms("2026-11-23T10:15:00.1234567891Z"));  // more than 9 digits
  EXPECT_FALSE(parse_time_ms("2026-11-23T10:15:00.Z"));            // dot without digits
}

TEST(ParseTime, LeapYears) {
  EXPECT_EQ(parse_time_ms("2024-02-29T12:00:00Z"), std::int64_t{1709208000000});
  EXPECT_EQ(parse_time_ms("2000-02-29T00:00:00Z"), std::int64_t{951782400000});  // divisible by 400
  EXPECT_FALSE(parse_time_ms("2023-02-29T12:00:00Z"));
  EXPECT_FALSE(parse_time_ms("2100-02-29T00:00:00Z"));  // divisible by 100, not by 400
  EXPECT_FALSE(parse_time_ms("2024-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_time_ms("2026-04-31T00:00:00Z"));
  EXPECT_TRUE(parse_time_ms("2026-12-31T23:59:59Z"));
}

TEST(ParseTime, Garbage) {
  for (const char* s : {"", "yesterday", "2026-11-23", "2026-11-23T10:15:00", "2026-11-23T10:15Z",
                        "2026-11-23T24:00:00Z", "2026-11-23T10:60:00Z", "2026-13-01T00:00:00Z",
                        "2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z", "2026/11/23T10:15:00Z",
                        "2026-11-23X10:15:00Z", "2026-11-23T10:15:00+0330", "2026-11-23T10:15:00+3:30",
                        "2026-11-23T10:15:00+24:00", "2026-11-23T10:15:00Zjunk", "2026-11-23T10:15:00 Z",
                        "1969-12-31T23:59:59Z", "+2026-11-23T10:15:00Z", "2026-1a-23T10:15:00Z"}) {
    EXPECT_FALSE(parse_time_ms(s)) << s;
  }
}

TEST(FormatTime, UtcWithMilliseconds) {
  EXPECT_EQ(format_time_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_time_ms(k20261123T101500Z + 250), "2026-11-23T10:15:00.250Z");
  EXPECT_EQ(format_time_ms(-1), "1969-12-31T23:59:59.999Z");
}

// format_time_ms computes the civil date itself (Windows has no gmtime_r): it agrees with the C
// library's gmtime_r at every step of a walk over four centuries, leap days and all.
TEST(FormatTime, AgreesWithGmtimeFrom1900To2300) {
  for (std::int64_t s = -2208988800LL; s < 10413792000LL; s += 86400 * 37 + 3601 * 7 + 13) {
    const std::time_t t = static_cast<std::time_t>(s);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char expected[64];
    std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d.123Z", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    ASSERT_EQ(format_time_ms(s * 1000 + 123), expected) << s;
  }
  EXPECT_EQ(format_time_ms(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_time_ms(4107542399999), "2100-02-28T23:59:59.999Z");
}

TEST(FormatTime, RoundTripsThroughParse) {
  const auto t = parse_time_ms("2026-11-23T13:45:00.250+03:30");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_time_ms(*t), "2026-11-23T10:15:00.250Z");
  EXPECT_EQ(parse_time_ms(format_time_ms(*t)), t);
}

}  // namespace
