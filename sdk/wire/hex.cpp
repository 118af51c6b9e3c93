#include "wire/hex.hpp"

namespace regulars::wire {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

int value_of(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string hex_encode(std::span<const unsigned char> bytes) {
  std::string out;
  out.reserve(2 * bytes.size());
  for (const unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

bool hex_decode_into(std::string_view text, std::span<unsigned char> out) noexcept {
  if (text.size() != 2 * out.size()) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = value_of(text[2 * i]);
    const int lo = value_of(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out(text.size() / 2, '\0');
  // std::string's bytes are char; decode into them as unsigned char.
  if (!hex_decode_into(text, std::span(reinterpret_cast<unsigned char*>(out.data()), out.size()))) return std::nullopt;
  return out;
}

}  // namespace regulars::wire
