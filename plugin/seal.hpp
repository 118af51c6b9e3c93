// Sealing spooled events to the daemon's spool key (format: sdk/wire/sealed.hpp), so a till's
// spool holds no raw identifier. OpenSSL's libcrypto is loaded with dlopen the first time a
// record is sealed: a till whose daemon always answers never loads it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regulars::plugin::seal {

using PublicKey = std::array<std::uint8_t, 32>;

// The sealed record (its first byte `version`, see sdk/wire/sealed.hpp), or nullopt with `why`
// filled (libcrypto missing, or a bad key).
std::optional<std::string> seal(const PublicKey& recipient, std::string_view plaintext, unsigned char version,
                                std::string& why);

// A key pair kept in DIR/local.key (the private key, mode 0600), created on first use. Plugins
// before issue 19 sealed to it when the daemon's key was not known; it now serves tests only, as
// "any X25519 pair".
struct LocalKey {
  std::array<std::uint8_t, 32> private_key{};
  PublicKey public_key{};
};
std::optional<LocalKey> local_key(const std::string& spool_dir, std::string& why);
// DIR/local.key as a plugin from before issue 19 left it, never created: the plugin no longer
// seals to it, and opens it only to replay such records. `missing` is set when there is none.
std::optional<LocalKey> existing_local_key(const std::string& spool_dir, bool& missing, std::string& why);
// Opens a record sealed to `key`; nullopt when it was not, or was altered.
std::optional<std::string> open(const LocalKey& key, std::string_view sealed, std::string& why);

// 64 hex digits to a key; nullopt for anything else.
std::optional<PublicKey> parse_public_key(std::string_view hex);

}  // namespace regulars::plugin::seal
