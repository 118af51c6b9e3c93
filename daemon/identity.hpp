// Keyed hashing of customer identifiers: the raw value never reaches the store or the logs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace regulars::daemon {

using IdentifierHash = std::array<std::uint8_t, 32>;

class IdentityKey {
 public:
  // Loads DIR/secret.key, creating it (32 random bytes, mode 0600) on first start.
  static IdentityKey load_or_create(const std::string& data_dir);
  explicit IdentityKey(std::array<std::uint8_t, 32> secret) : secret_(secret) {}

  // HMAC-SHA256(secret, kind || 0x00 || normalised value).
  IdentifierHash hash(std::string_view kind, std::string_view normalized_value) const;

 private:
  std::array<std::uint8_t, 32> secret_;
};

// First 8 hex digits of a hash: enough to follow one customer through the logs, useless to
// recover the identifier.
std::string short_tag(const IdentifierHash& h);

}  // namespace regulars::daemon
