// CRC-32C (Castagnoli): the check value and the iSCSI test vectors (RFC 3720, B.4).
#include "wire/crc32c.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using regulars::wire::crc32c;

TEST(Crc32c, CheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32c(s.data(), s.size()), 0xE3069283u);
}

TEST(Crc32c, EmptyInputIsZero) { EXPECT_EQ(crc32c("", 0), 0u); }

TEST(Crc32c, Rfc3720Vectors) {
  const std::vector<unsigned char> zeros(32, 0x00);
  const std::vector<unsigned char> ones(32, 0xff);
  std::vector<unsigned char> up(32), down(32);
  for (unsigned i = 0; i < 32; ++i) {
    up[i] = static_cast<unsigned char>(i);
    down[i] = static_cast<unsigned char>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), up.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), down.size()), 0x113FDB5Cu);
}

TEST(Crc32c, SeedChainsIncrementalUpdates) {
  const std::string s = "The quick brown fox jumps over the lazy dog";
  const std::uint32_t whole = crc32c(s.data(), s.size());
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    const std::uint32_t first = crc32c(s.data(), cut);
    EXPECT_EQ(crc32c(s.data() + cut, s.size() - cut, first), whole) << "cut at " << cut;
  }
}

TEST(Crc32c, DetectsASingleBitFlip) {
  std::string s = "spool record payload";
  const std::uint32_t before = crc32c(s.data(), s.size());
  s[5] = static_cast<char>(s[5] ^ 0x01);
  EXPECT_NE(crc32c(s.data(), s.size()), before);
}

}  // namespace
