// The daemon's spool key: tills seal the events they must keep on disk while regularsd is away
// to its public half (sdk/wire/sealed.hpp), so a till's spool holds no raw identifier and only
// this daemon can open it. DATA_DIR/spool.key (the private key, 0600) is created at first start;
// DATA_DIR/spool.pub (hex, 0644) lets a local till seal before it has ever connected. Tills
// also learn it at hello.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regulars::daemon {

class SpoolKey {
 public:
  static SpoolKey load_or_create(const std::string& data_dir);
  SpoolKey(const SpoolKey&) = delete;
  SpoolKey& operator=(const SpoolKey&) = delete;
  SpoolKey(SpoolKey&&) = default;
  ~SpoolKey();

  // The public key as 64 hex digits, as hello gives it.
  const std::string& public_hex() const noexcept { return public_hex_; }
  // The event JSON inside a sealed record, or nullopt when it was not sealed to this key or was
  // altered.
  std::optional<std::string> open(std::string_view sealed) const;
  // Seals `plaintext` to `public_key` (tests and tools; tills seal in the plugin).
  static std::string seal(const std::array<std::uint8_t, 32>& public_key, std::string_view plaintext);

 private:
  SpoolKey() = default;
  std::array<std::uint8_t, 32> private_{};
  std::array<std::uint8_t, 32> public_{};
  std::string public_hex_;
};

}  // namespace regulars::daemon
