// wire/hex.hpp: the one hex encoder and decoder both ends use.
#include "wire/hex.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace {

using regulars::wire::hex_decode;
using regulars::wire::hex_decode_array;
using regulars::wire::hex_decode_into;
using regulars::wire::hex_encode;

std::vector<unsigned char> bytes(std::initializer_list<int> values) {
  std::vector<unsigned char> out;
  for (int v : values) out.push_back(static_cast<unsigned char>(v));
  return out;
}

TEST(Hex, EncodesLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(hex_encode(bytes({})), "");
  EXPECT_EQ(hex_encode(bytes({0x00})), "00");
  EXPECT_EQ(hex_encode(bytes({0x0f, 0xa0, 0xff, 0x12})), "0fa0ff12");
  const std::array<unsigned char, 4> tag{0xde, 0xad, 0xbe, 0xef};
  EXPECT_EQ(hex_encode(tag), "deadbeef");
  EXPECT_EQ(hex_encode(std::span(tag).first(2)), "dead");
}

TEST(Hex, RoundTripsEveryByte) {
  std::vector<unsigned char> all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<unsigned char>(i);
  const std::string text = hex_encode(all);
  ASSERT_EQ(text.size(), 512u);
  const auto back = hex_decode(text);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 256u);
  for (std::size_t i = 0; i < 256; ++i) EXPECT_EQ(static_cast<unsigned char>((*back)[i]), all[i]) << i;
}

TEST(Hex, DecodesEitherCase) {
  EXPECT_EQ(hex_decode("DEADbeef"), std::string("\xde\xad\xbe\xef"));
  EXPECT_EQ(hex_decode(""), std::string());
}

TEST(Hex, RejectsOddLength) {
  EXPECT_FALSE(hex_decode("0"));
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE((hex_decode_array<2>("abc")));
}

TEST(Hex, RejectsNonHexDigits) {
  for (const char* bad : {"0g", "g0", "zz", " 0", "0 ", "0x", "-1", "+1", "\xc3\xa9", "ab\ncd", "12:4"})
    EXPECT_FALSE(hex_decode(bad)) << bad;
  EXPECT_FALSE(hex_decode(std::string_view("0\0", 2)));
  // The old projector decoder read 'g' as 16 and ':' as 10: both must be refused now.
  EXPECT_FALSE((hex_decode_array<1>("0g")));
  EXPECT_FALSE((hex_decode_array<1>(":0")));
}

TEST(Hex, FixedSizeNeedsExactlyTwoDigitsPerByte) {
  const std::string h64(64, 'a');
  const auto hash = hex_decode_array<32>(h64);
  ASSERT_TRUE(hash);
  for (auto b : *hash) EXPECT_EQ(b, 0xaa);
  EXPECT_FALSE((hex_decode_array<32>(h64.substr(2))));  // short: the old decoder zero-filled it
  EXPECT_FALSE((hex_decode_array<32>(h64 + "aa")));     // long: the old decoder ignored the rest
  std::array<unsigned char, 2> out{};
  EXPECT_TRUE(hex_decode_into("a0B1", out));
  EXPECT_EQ(out[0], 0xa0);
  EXPECT_EQ(out[1], 0xb1);
  EXPECT_FALSE(hex_decode_into("a0B", out));
}

}  // namespace
