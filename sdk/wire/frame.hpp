// The frame codec: a frame is a 4-byte big-endian length followed by that many bytes of UTF-8
// JSON (sdk/PROTOCOL.md). Both ends use this code; neither has its own copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "error.hpp"

namespace regulars::wire {

inline constexpr std::size_t kFrameHeaderBytes = 4;
inline constexpr std::uint32_t kDefaultMaxFrameBytes = 1u << 20;  // 1 MiB
inline constexpr int kProtocolVersion = 1;

// Reads the big-endian length from the first four bytes of `header`.
std::uint32_t decode_length(const unsigned char* header) noexcept;

// Writes the big-endian length of `payload` and then the payload into `out` (appending).
void append_frame(std::string& out, std::string_view payload);
std::string encode_frame(std::string_view payload);

// Incremental decoder for a byte stream. Feed bytes as they arrive; take complete frames.
// A frame declaring more than max_frame_bytes (or zero bytes) puts the decoder in a failed
// state: the stream cannot be resynchronised and the connection must be closed.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  void feed(const char* data, std::size_t size) { buffer_.append(data, size); }

  // The next complete frame's payload, nullopt when more bytes are needed or on failure.
  std::optional<std::string> next();

  bool failed() const noexcept { return failed_.has_value(); }
  const std::optional<Error>& failure() const noexcept { return failed_; }
  // Bytes received but not yet returned as a frame (a truncated frame at end of stream).
  std::size_t pending_bytes() const noexcept { return buffer_.size() - consumed_; }

 private:
  std::uint32_t max_frame_bytes_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::optional<Error> failed_;
};

// Checks a declared frame length against the limit. nullopt means acceptable.
std::optional<Error> check_frame_length(std::uint32_t length, std::uint32_t max_frame_bytes);

}  // namespace regulars::wire
