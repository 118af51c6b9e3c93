// The tombstone's rule (memory/tombstone.hpp), which a store and the chain's hub both keep.
#include "memory/tombstone.hpp"

#include <gtest/gtest.h>

namespace regulars::daemon {
namespace {

constexpr std::int64_t kErased = 1'000'000'000;
constexpr std::int64_t kLifted = kErased + 3'600'000;  // a new consent an hour later

TEST(Tombstone, UntilANewConsentEverythingButThatConsentIsKeptOut) {
  const Tombstone t{kErased, std::nullopt};
  EXPECT_EQ(judge_under_tombstone(t, kErased + 10, EventConsent::none), TombstoneVerdict::drop);
  EXPECT_EQ(judge_under_tombstone(t, kErased + 10, EventConsent::other), TombstoneVerdict::drop);
  EXPECT_EQ(judge_under_tombstone(t, kErased + 10, EventConsent::grants_remember), TombstoneVerdict::lift);
  EXPECT_EQ(judge_under_tombstone(t, kErased, EventConsent::grants_remember), TombstoneVerdict::drop)
      << "a consent given at the erasure or before it does not lift it";
}

TEST(Tombstone, OnceLiftedWhatWasMadeBeforeTheConsentStaysOutButForTheClocksGrace) {
  const Tombstone t{kErased, kLifted};
  EXPECT_EQ(judge_under_tombstone(t, kErased - 5, EventConsent::none), TombstoneVerdict::drop);
  EXPECT_EQ(judge_under_tombstone(t, kLifted - kLiftGraceMs - 1, EventConsent::none), TombstoneVerdict::drop);
  EXPECT_EQ(judge_under_tombstone(t, kLifted - kLiftGraceMs, EventConsent::none), TombstoneVerdict::keep);
  EXPECT_EQ(judge_under_tombstone(t, kLifted + 10, EventConsent::none), TombstoneVerdict::keep);
}

TEST(Tombstone, TheEarliestNewConsentLiftsItWhateverOrderTheyArriveIn) {
  const Tombstone t{kErased, kLifted};
  EXPECT_EQ(judge_under_tombstone(t, kLifted - 60'000, EventConsent::grants_remember), TombstoneVerdict::lift);
  EXPECT_EQ(judge_under_tombstone(t, kLifted + 60'000, EventConsent::grants_remember), TombstoneVerdict::keep);
}

TEST(Tombstone, AConsentRecordAfterTheErasureIsNeverKeptOutOnceLifted) {
  const Tombstone t{kErased, kLifted};
  EXPECT_EQ(judge_under_tombstone(t, kErased + 10, EventConsent::other), TombstoneVerdict::keep)
      << "a withdrawal dated before the lift: the consent rules order it";
  EXPECT_EQ(judge_under_tombstone(t, kErased - 10, EventConsent::other), TombstoneVerdict::drop);
}

}  // namespace
}  // namespace regulars::daemon
