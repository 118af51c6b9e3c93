// The frame codec: 4-byte big-endian length + payload, and the incremental FrameDecoder.
#include "wire/frame.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using regulars::wire::check_frame_length;
using regulars::wire::decode_length;
using regulars::wire::encode_frame;
using regulars::wire::ErrorCode;
using regulars::wire::FrameDecoder;
using regulars::wire::kDefaultMaxFrameBytes;
using regulars::wire::kFrameHeaderBytes;

std::string header(std::uint32_t n) {
  std::string h(4, '\0');
  h[0] = static_cast<char>((n >> 24) & 0xff);
  h[1] = static_cast<char>((n >> 16) & 0xff);
  h[2] = static_cast<char>((n >> 8) & 0xff);
  h[3] = static_cast<char>(n & 0xff);
  return h;
}

void feed(FrameDecoder& d, const std::string& bytes) { d.feed(bytes.data(), bytes.size()); }

TEST(FrameCodec, EncodeWritesBigEndianLengthThenPayload) {
  const std::string payload = R"({"op":"ping","id":1})";  // 20 bytes
  const std::string frame = encode_frame(payload);
  ASSERT_EQ(frame.size(), kFrameHeaderBytes + payload.size());
  EXPECT_EQ(frame.substr(0, 4), std::string("\x00\x00\x00\x14", 4));
  EXPECT_EQ(frame.substr(4), payload);

  std::string out = "prefix";
  regulars::wire::append_frame(out, "ab");
  EXPECT_EQ(out, std::string("prefix\x00\x00\x00\x02" "ab", 12));
}

TEST(FrameCodec, DecodeLengthIsBigEndian) {
  const unsigned char a[4] = {0x01, 0x02, 0x03, 0x04};
  EXPECT_EQ(decode_length(a), 0x01020304u);
  const unsigned char b[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(decode_length(b), 0xffffffffu);
  const unsigned char c[4] = {0x00, 0x00, 0x01, 0x00};
  EXPECT_EQ(decode_length(c), 256u);
  // Length header of a large payload survives the round trip through encode/decode.
  const std::string big(70000, 'x');
  const std::string frame = encode_frame(big);
  EXPECT_EQ(decode_length(reinterpret_cast<const unsigned char*>(frame.data())), 70000u);
}

TEST(FrameDecoder, RoundTripOneFrame) {
  const std::string payload = R"({"op":"hello","id":1,"protocol":1})";
  FrameDecoder d;
  feed(d, encode_frame(payload));
  const auto got = d.next();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, payload);
  EXPECT_FALSE(d.next().has_value());
  EXPECT_FALSE(d.failed());
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(FrameDecoder, SeveralFramesInOneFeedComeOutInOrder) {
  const std::vector<std::string> payloads = {R"({"id":1})", R"({"id":2,"op":"ping"})", "[]",
                                             std::string("bin\0ary", 7)};
  std::string stream;
  for (const auto& p : payloads) stream += encode_frame(p);
  FrameDecoder d;
  feed(d, stream);
  for (const auto& p : payloads) {
    const auto got = d.next();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, p);
  }
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(FrameDecoder, SplitFeedingByteByByte) {
  const std::vector<std::string> payloads = {R"({"op":"hello","id":1,"protocol":1})", "x",
                                             R"({"op":"record","id":"r-2","event":{}})"};
  std::string stream;
  std::vector<std::size_t> frame_ends;
  for (const auto& p : payloads) {
    stream += encode_frame(p);
    frame_ends.push_back(stream.size());
  }
  FrameDecoder d;
  std::vector<std::string> got;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    d.feed(&stream[i], 1);
    auto frame = d.next();
    const bool at_frame_end = std::find(frame_ends.begin(), frame_ends.end(), i + 1) != frame_ends.end();
    // A frame is produced exactly when its last byte arrives, never earlier.
    ASSERT_EQ(frame.has_value(), at_frame_end) << "after byte " << i;
    if (frame) got.push_back(std::move(*frame));
    EXPECT_FALSE(d.failed());
  }
  EXPECT_EQ(got, payloads);
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(FrameDecoder, LongStreamInOddChunksSurvivesCompaction) {
  // More than 64 KiB of frames, so the decoder compacts its buffer along the way.
  std::vector<std::string> payloads;
  std::string stream;
  for (int i = 0; i < 300; ++i) {
    payloads.push_back(std::string(500 + static_cast<std::size_t>(i), static_cast<char>('a' + i % 26)) +
                       std::to_string(i));
    stream += encode_frame(payloads.back());
  }
  FrameDecoder d;
  std::vector<std::string> got;
  std::size_t fed = 0;
  for (std::size_t pos = 0; pos < stream.size(); pos += 777) {
    const std::size_t n = std::min<std::size_t>(777, stream.size() - pos);
    d.feed(stream.data() + pos, n);
    fed += n;
    while (auto f = d.next()) got.push_back(std::move(*f));
    std::size_t consumed = 0;
    for (const auto& p : got) consumed += kFrameHeaderBytes + p.size();
    ASSERT_EQ(d.pending_bytes(), fed - consumed);
  }
  EXPECT_EQ(got, payloads);
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(FrameDecoder, ZeroLengthFrameFailsAsInvalidFrame) {
  FrameDecoder d;
  feed(d, header(0));
  EXPECT_FALSE(d.next().has_value());
  ASSERT_TRUE(d.failed());
  EXPECT_EQ(d.failure()->code, ErrorCode::invalid_frame);
  // The stream cannot be resynchronised: a good frame after the failure is not returned.
  feed(d, encode_frame("{}"));
  EXPECT_FALSE(d.next().has_value());
  EXPECT_TRUE(d.failed());
}

TEST(FrameDecoder, OversizedFrameFailsAsSoonAsTheHeaderArrives) {
  FrameDecoder d(16);
  feed(d, header(17));  // no body sent at all
  EXPECT_FALSE(d.next().has_value());
  ASSERT_TRUE(d.failed());
  EXPECT_EQ(d.failure()->code, ErrorCode::frame_too_large);
  EXPECT_NE(d.failure()->message.find("17"), std::string::npos) << d.failure()->message;
}

TEST(FrameDecoder, FrameExactlyAtTheLimitIsAccepted) {
  FrameDecoder d(16);
  const std::string payload(16, 'z');
  feed(d, encode_frame(payload));
  const auto got = d.next();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, payload);
  EXPECT_FALSE(d.failed());
}

TEST(FrameDecoder, FourGigabyteDeclaredLengthIsRefusedWithoutAllocating) {
  FrameDecoder d;  // default limit, 1 MiB
  feed(d, std::string("\xff\xff\xff\xff", 4));
  feed(d, "{\"op\":\"ping\"}");
  EXPECT_FALSE(d.next().has_value());
  ASSERT_TRUE(d.failed());
  EXPECT_EQ(d.failure()->code, ErrorCode::frame_too_large);
  EXPECT_NE(d.failure()->message.find("4294967295"), std::string::npos) << d.failure()->message;
}

TEST(FrameDecoder, TruncatedFrameLeavesPendingBytes) {
  const std::string frame = encode_frame("0123456789");  // 14 bytes in all
  FrameDecoder d;
  d.feed(frame.data(), frame.size() - 3);
  EXPECT_FALSE(d.next().has_value());
  EXPECT_FALSE(d.failed());
  EXPECT_EQ(d.pending_bytes(), 11u);
  // The rest arrives: the frame completes.
  d.feed(frame.data() + frame.size() - 3, 3);
  const auto got = d.next();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "0123456789");
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(FrameDecoder, PartialHeaderIsPending) {
  FrameDecoder d;
  feed(d, std::string("\x00\x00", 2));
  EXPECT_FALSE(d.next().has_value());
  EXPECT_FALSE(d.failed());
  EXPECT_EQ(d.pending_bytes(), 2u);
}

TEST(FrameDecoder, CompleteFrameFollowedByTruncatedOne) {
  FrameDecoder d;
  feed(d, encode_frame("{\"id\":1}") + header(100) + "{\"id\":");
  const auto first = d.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, "{\"id\":1}");
  EXPECT_FALSE(d.next().has_value());
  EXPECT_FALSE(d.failed());
  EXPECT_EQ(d.pending_bytes(), 4u + 6u);
}

TEST(CheckFrameLength, Limits) {
  EXPECT_FALSE(check_frame_length(1, kDefaultMaxFrameBytes).has_value());
  EXPECT_FALSE(check_frame_length(kDefaultMaxFrameBytes, kDefaultMaxFrameBytes).has_value());
  const auto zero = check_frame_length(0, kDefaultMaxFrameBytes);
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(zero->code, ErrorCode::invalid_frame);
  const auto over = check_frame_length(kDefaultMaxFrameBytes + 1, kDefaultMaxFrameBytes);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->code, ErrorCode::frame_too_large);
  const auto huge = check_frame_length(0xffffffffu, kDefaultMaxFrameBytes);
  ASSERT_TRUE(huge.has_value());
  EXPECT_EQ(huge->code, ErrorCode::frame_too_large);
}

}  // namespace
