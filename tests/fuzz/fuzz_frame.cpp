// fuzz_frame: a byte stream as it arrives on a connection. The bytes are fed to FrameDecoder in
// pseudo-random chunk sizes (derived from the input, so every run is reproducible); each frame is
// parsed with the daemon's depth limit and validated as a request ("event" for record,
// "request" for hints). The chunked decoder must agree with one fed everything at once, and the
// frames it returns must be exactly the bytes of the stream. A frame the plugin would take for an
// answer's envelope must be exactly that envelope.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "wire/crc32c.hpp"
#include "wire/frame.hpp"
#include "wire/response.hpp"

namespace {

using regulars::wire::FrameDecoder;

struct Outcome {
  std::vector<std::string> frames;
  bool failed = false;
  regulars::wire::ErrorCode code = regulars::wire::ErrorCode::internal;
  std::size_t pending = 0;
};

void drain(FrameDecoder& d, Outcome& out) {
  while (auto frame = d.next()) out.frames.push_back(std::move(*frame));
}

Outcome decode_chunked(const char* data, std::size_t size, std::uint32_t seed) {
  FrameDecoder d;
  Outcome out;
  std::uint32_t x = seed | 1u;
  std::size_t pos = 0;
  while (pos < size) {
    x ^= x << 13;  // xorshift32
    x ^= x >> 17;
    x ^= x << 5;
    std::size_t n = (x % 8 == 0) ? size - pos : 1 + (x >> 8) % 16;
    if (x % 29 == 0) n = 0;  // an empty read
    if (n > size - pos) n = size - pos;
    d.feed(data + pos, n);
    pos += n;
    drain(d, out);
  }
  drain(d, out);
  out.failed = d.failed();
  if (d.failure()) out.code = d.failure()->code;
  out.pending = d.pending_bytes();
  return out;
}

Outcome decode_whole(const char* data, std::size_t size) {
  FrameDecoder d;
  Outcome out;
  d.feed(data, size);
  drain(d, out);
  out.failed = d.failed();
  if (d.failure()) out.code = d.failure()->code;
  out.pending = d.pending_bytes();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace regulars;
  const char* bytes = reinterpret_cast<const char*>(data);
  const Outcome chunked = decode_chunked(bytes, size, wire::crc32c(data, size));
  const Outcome whole = decode_whole(bytes, size);

  // Chunking never changes what comes out.
  FUZZ_CHECK(chunked.frames == whole.frames);
  FUZZ_CHECK(chunked.failed == whole.failed);
  FUZZ_CHECK(chunked.code == whole.code);

  // The frames are exactly the stream's bytes, header by header.
  std::size_t consumed = 0;
  for (const std::string& f : chunked.frames) {
    FUZZ_CHECK(!f.empty() && f.size() <= wire::kDefaultMaxFrameBytes);
    FUZZ_CHECK(consumed + wire::kFrameHeaderBytes + f.size() <= size);
    FUZZ_CHECK(wire::decode_length(data + consumed) == f.size());
    FUZZ_CHECK(f.compare(0, f.size(), bytes + consumed + wire::kFrameHeaderBytes, f.size()) == 0);
    consumed += wire::kFrameHeaderBytes + f.size();
  }
  const std::size_t rest = size - consumed;
  if (chunked.failed) {
    // Failure comes only from a bad declared length, right where the next frame starts.
    FUZZ_CHECK(rest >= wire::kFrameHeaderBytes);
    const std::uint32_t length = wire::decode_length(data + consumed);
    FUZZ_CHECK(wire::check_frame_length(length, wire::kDefaultMaxFrameBytes).has_value());
    FUZZ_CHECK(chunked.code == (length == 0 ? wire::ErrorCode::invalid_frame : wire::ErrorCode::frame_too_large));
  } else {
    // Whatever is left is a truncated frame: a partial header, or a good header and part of a body.
    FUZZ_CHECK(chunked.pending == rest && whole.pending == rest);
    if (rest >= wire::kFrameHeaderBytes) {
      const std::uint32_t length = wire::decode_length(data + consumed);
      FUZZ_CHECK(!wire::check_frame_length(length, wire::kDefaultMaxFrameBytes).has_value());
      FUZZ_CHECK(rest < wire::kFrameHeaderBytes + length);
    }
  }

  for (const std::string& f : chunked.frames) {
    fuzz::check_payload(f, /*whole_value_too=*/false);
    // As the plugin reads an answer: a payload taken for the daemon's envelope is exactly that
    // envelope around its result (wire/response.hpp).
    if (const auto ok = wire::split_ok_response(f)) FUZZ_CHECK(wire::ok_response_text(std::to_string(ok->id), ok->result) == f);
  }
  return 0;
}
