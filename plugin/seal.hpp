// Sealing spooled events to the daemon's spool key (format: sdk/wire/sealed.hpp), so a till's
// spool holds no raw identifier. On Linux (seal.cpp) with X25519 and ChaCha20-Poly1305 through
// OpenSSL's libcrypto, loaded with dlopen the first time a record is sealed: a till whose daemon
// always answers never loads it. On Windows (platform/seal_cng.cpp) with the daemon's RSA key and
// AES-256-GCM through the system's CNG.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regulars::plugin::seal {

#ifdef _WIN32
using PublicKey = std::vector<std::uint8_t>;  // the daemon's RSA spool key, DER SubjectPublicKeyInfo
#else
using PublicKey = std::array<std::uint8_t, 32>;  // the daemon's X25519 spool key
#endif

// The hello field that carries the key this build seals to, and the most bytes sealing adds.
extern const char* const kHelloKeyField;
extern const std::size_t kOverhead;
// Seals `plaintext` to the daemon's key with this build's suite.
std::optional<std::string> seal_for_daemon(const PublicKey& recipient, std::string_view plaintext, std::string& why);
// The key as hello sends it and regularsd.pub keeps it, and back; nullopt for anything else.
std::string key_text(const PublicKey& key);
std::optional<PublicKey> parse_public_key(std::string_view text);

// The sealed record (its first byte `version`, see sdk/wire/sealed.hpp), or nullopt with `why`
// filled (libcrypto missing, or a bad key). X25519 suites; Linux only.
std::optional<std::string> seal(const PublicKey& recipient, std::string_view plaintext, unsigned char version,
                                std::string& why);

// A key pair kept in DIR/local.key (the private key, mode 0600), created on first use. Plugins
// before issue 19 sealed to it when the daemon's key was not known; it now serves tests only, as
// "any X25519 pair". Windows plugins never had one: there, none is ever found.
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

}  // namespace regulars::plugin::seal
