// The log's rate limit: repeated lines are counted, not written, and the count is reported.
#include <gtest/gtest.h>

#include "base/log.hpp"

namespace regulars::daemon::log {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, WritesAFewLinesPerKeyEachSecondAndCountsTheRest) {
  RateLimiter limiter(3);
  const auto t0 = RateLimiter::Clock::now();
  std::uint64_t suppressed = 99;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.admit("accept failed", t0 + i * 10ms, suppressed));
    EXPECT_EQ(suppressed, 0u);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.admit("accept failed", t0 + 500ms, suppressed));
  // Another message has its own allowance.
  EXPECT_TRUE(limiter.admit("refused frame", t0 + 500ms, suppressed));
  EXPECT_EQ(suppressed, 0u);
  // A second later: written again, with the count of what was left out.
  ASSERT_TRUE(limiter.admit("accept failed", t0 + 1100ms, suppressed));
  EXPECT_EQ(suppressed, 1000u);
  ASSERT_TRUE(limiter.admit("accept failed", t0 + 1200ms, suppressed));
  EXPECT_EQ(suppressed, 0u) << "the count is reported once";
}

TEST(RateLimiter, AQuietKeyIsNeverHeldBack) {
  RateLimiter limiter(1);
  const auto t0 = RateLimiter::Clock::now();
  std::uint64_t suppressed = 0;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.admit("lane connected", t0 + i * 2s, suppressed));
}

}  // namespace
}  // namespace regulars::daemon::log
