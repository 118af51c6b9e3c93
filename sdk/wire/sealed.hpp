// Sealed spool records: what a till keeps on disk while the daemon is away holds no raw
// identifier. The plugin seals each spooled event to the daemon's spool public key (X25519),
// so only the daemon can open it; the till cannot read its own spool back.
//
//   sealed = version | ephemeral X25519 public key (32) | nonce (12) | ChaCha20-Poly1305 ciphertext | tag (16)
//   version 0x01: sealed to the daemon's spool key, opened by the daemon;
//   version 0x02: sealed to the till's own key (DIR/local.key, mode 0600) by plugins before
//                 issue 19, when they had not yet learnt the daemon's key; the plugin still opens
//                 such records to replay them, but no longer writes any (the key sat beside them).
//   key    = HMAC-SHA256(key = X25519(ephemeral, daemon), "regulars-spool-v1" | ephemeral pub | daemon pub)
//
// Windows tills seal with what the system's CNG (bcrypt.dll) offers, and Wine implements: an AES-256
// key of the plugin process's own (a fresh nonce per record), wrapped with the daemon's RSA spool
// key (2048 bits), which hello sends as "spool_key_rsa" (base64 of its DER SubjectPublicKeyInfo);
// the daemon unwraps each wrapping once and remembers it:
//
//   sealed = version | u16 BE length of wrapped key | wrapped key | nonce (12) | AES-256-GCM ciphertext | tag (16)
//   version 0x03: the key wrapped with RSA-OAEP (SHA-256);
//   version 0x04: the key wrapped with RSA PKCS#1 v1.5, for systems without OAEP (Wine 8). The
//                 daemon opens it with implicit rejection: a bad wrapping yields a random key, so
//                 it fails exactly as a forged ciphertext does and reveals nothing about padding.
//   AAD    = the first 3 + wrapped-key-length bytes (version, length, wrapped key), so neither the
//            version nor the wrapped key can be swapped.
//
// On the wire a sealed record travels as {"op": "record", "sealed": "<base64 of sealed>"}.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace regulars::wire::sealed {

inline constexpr unsigned char kVersion = 0x01;
inline constexpr unsigned char kLocalVersion = 0x02;
inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 12;
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::size_t kOverhead = 1 + kKeyBytes + kNonceBytes + kTagBytes;
inline constexpr std::string_view kLabel = "regulars-spool-v1";

inline constexpr unsigned char kRsaOaepVersion = 0x03;
inline constexpr unsigned char kRsaPkcs1Version = 0x04;
inline constexpr std::size_t kRsaBits = 2048;
inline constexpr std::size_t kRsaWrappedBytes = kRsaBits / 8;
inline constexpr std::size_t kAesKeyBytes = 32;
inline constexpr std::size_t kRsaOverhead = 1 + 2 + kRsaWrappedBytes + kNonceBytes + kTagBytes;

// A record the daemon opens (sent on as "sealed"), as opposed to the plugin's own local.key.
constexpr bool opened_by_daemon(unsigned char version) {
  return version == kVersion || version == kRsaOaepVersion || version == kRsaPkcs1Version;
}

}  // namespace regulars::wire::sealed

namespace regulars::wire {

// Standard base64 with padding (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);
// nullopt for anything that is not canonical base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace regulars::wire
