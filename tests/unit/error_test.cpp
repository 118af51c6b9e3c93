// Error codes: the wire names are stable and round-trip; unknown names map to internal.
#include "wire/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

using regulars::wire::Error;
using regulars::wire::ErrorCode;
using regulars::wire::error_code_from_string;
using regulars::wire::to_string;

TEST(ErrorCode, NamesRoundTripAndAreDistinct) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(ErrorCode::conflict); ++i) {  // conflict is the last
    const auto code = static_cast<ErrorCode>(i);
    const std::string name(to_string(code));
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(error_code_from_string(name), code) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(ErrorCode::conflict) + 1);
}

TEST(ErrorCode, WireNamesAreStable) {
  EXPECT_EQ(to_string(ErrorCode::invalid_frame), "invalid_frame");
  EXPECT_EQ(to_string(ErrorCode::frame_too_large), "frame_too_large");
  EXPECT_EQ(to_string(ErrorCode::invalid_json), "invalid_json");
  EXPECT_EQ(to_string(ErrorCode::too_deep), "too_deep");
  EXPECT_EQ(to_string(ErrorCode::card_number_refused), "card_number_refused");
  EXPECT_EQ(to_string(ErrorCode::unknown_op), "unknown_op");
  EXPECT_EQ(to_string(ErrorCode::conflict), "conflict");
}

TEST(ErrorCode, UnknownNamesMapToInternal) {
  EXPECT_EQ(error_code_from_string("some_future_code"), ErrorCode::internal);
  EXPECT_EQ(error_code_from_string(""), ErrorCode::internal);
  EXPECT_EQ(error_code_from_string("INVALID_JSON"), ErrorCode::internal);
}

TEST(Error, DescribeJoinsFieldAndMessage) {
  EXPECT_EQ((Error{ErrorCode::invalid_event, "event.lines[0].qty", "must be a number"}).describe(),
            "event.lines[0].qty: must be a number");
  EXPECT_EQ((Error{ErrorCode::too_deep, "", "too deep"}).describe(), "too deep");
}

}  // namespace
