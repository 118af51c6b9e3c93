// Hex text for bytes (hashes in event bodies, key fingerprints, ids). The one encoder and the one
// decoder for the daemon and the plugin.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace regulars::wire {

// Two lower-case hex digits per byte.
std::string hex_encode(std::span<const unsigned char> bytes);

// The bytes written as hex digits (either case); nullopt for an odd length or any other character.
std::optional<std::string> hex_decode(std::string_view text);

// Fills `out` from exactly 2 * out.size() hex digits (either case). False, with `out` partly
// written, for any other length or any other character.
bool hex_decode_into(std::string_view text, std::span<unsigned char> out) noexcept;

// Exactly N bytes from 2 * N hex digits: a hash or a key. nullopt for anything else.
template <std::size_t N>
std::optional<std::array<unsigned char, N>> hex_decode_array(std::string_view text) noexcept {
  std::array<unsigned char, N> out{};
  if (!hex_decode_into(text, out)) return std::nullopt;
  return out;
}

}  // namespace regulars::wire
