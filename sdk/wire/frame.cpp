#include "frame.hpp"

namespace regulars::wire {

std::uint32_t decode_length(const unsigned char* header) noexcept {
  return (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
         (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
}

void append_frame(std::string& out, std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  const char header[4] = {static_cast<char>((n >> 24) & 0xff), static_cast<char>((n >> 16) & 0xff),
                          static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  out.append(header, sizeof header);
  out.append(payload);
}

std::string encode_frame(std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  append_frame(out, payload);
  return out;
}

std::optional<Error> check_frame_length(std::uint32_t length, std::uint32_t max_frame_bytes) {
  if (length == 0)
    return Error{ErrorCode::invalid_frame, "", "frame declares a length of 0; a frame holds one JSON object"};
  if (length > max_frame_bytes)
    return Error{ErrorCode::frame_too_large, "",
                 "frame declares " + std::to_string(length) + " bytes, more than the limit of " +
                     std::to_string(max_frame_bytes)};
  return std::nullopt;
}

std::optional<std::string> FrameDecoder::next() {
  if (failed_) return std::nullopt;
  if (pending_bytes() < kFrameHeaderBytes) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + consumed_);
  const std::uint32_t length = decode_length(p);
  if (auto err = check_frame_length(length, max_frame_bytes_)) {
    failed_ = std::move(err);
    return std::nullopt;
  }
  if (pending_bytes() < kFrameHeaderBytes + length) return std::nullopt;
  std::string payload = buffer_.substr(consumed_ + kFrameHeaderBytes, length);
  consumed_ += kFrameHeaderBytes + length;
  // Compact once the consumed prefix dominates, so long streams do not grow the buffer.
  if (consumed_ > 64 * 1024 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return payload;
}

}  // namespace regulars::wire
