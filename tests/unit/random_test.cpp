// wire/random.hpp: ids drawn from the kernel.
#include "wire/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <set>
#include <string>

namespace {

using regulars::wire::random_bytes;
using regulars::wire::random_id;
using regulars::wire::time_ordered_id;

bool all_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TEST(RandomId, PrefixThenTwoHexDigitsPerByte) {
  const std::string id = random_id("erasure-", 8);
  ASSERT_EQ(id.size(), 8u + 16u);
  EXPECT_EQ(id.substr(0, 8), "erasure-");
  EXPECT_TRUE(all_hex(id.substr(8))) << id;
  EXPECT_EQ(random_id("", 4).size(), 8u);
  EXPECT_EQ(random_id("x-", 0), "x-");
}

TEST(RandomId, Distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(random_id("r-", 8));
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(RandomId, FillsLongBuffers) {
  // More than getrandom's 256-byte single-read promise: the loop must carry on.
  std::array<unsigned char, 4096> buf{};
  random_bytes(buf);
  // All 4096 bytes zero has probability 2^-32768; a quarter left zero means the tail was skipped.
  EXPECT_LT(std::count(buf.begin() + 3072, buf.end(), 0), 64);
}

TEST(TimeOrderedId, ClockThenRandomness) {
  const std::string a = time_ordered_id("ev-", 8);
  // "ev-" + 14 hex digits of microseconds + '-' + 16 hex digits: the plugin's event ids.
  ASSERT_EQ(a.size(), 3u + 14u + 1u + 16u) << a;
  EXPECT_EQ(a.substr(0, 3), "ev-");
  EXPECT_TRUE(all_hex(a.substr(3, 14))) << a;
  EXPECT_EQ(a[17], '-');
  EXPECT_TRUE(all_hex(a.substr(18))) << a;
  // The time part is the system clock in microseconds.
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const long long stamped = std::stoll(a.substr(3, 14), nullptr, 16);
  EXPECT_LE(stamped, now_us);
  EXPECT_GT(stamped, now_us - 10'000'000);
  std::set<std::string> seen{a};
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(time_ordered_id("ev-", 8)).second);
  EXPECT_EQ(time_ordered_id("offer-", 4).size(), 6u + 14u + 1u + 8u);
}

}  // namespace
