// The daemon's RSA spool key, for Windows tills: their system's CNG (and Wine's) can wrap a key
// with RSA but cannot derive an X25519 secret, so they seal spooled events with AES-256-GCM under
// a fresh key wrapped with this one (sdk/wire/sealed.hpp, versions 0x03 and 0x04).
// DATA_DIR/spool_rsa.key (PKCS#8 PEM, 0600) is made at first start, on a thread of its own: a
// 2048-bit key takes a tenth of a second or more, and a first start need not wait for it.
// DATA_DIR/spool_rsa.pub (base64 of the DER SubjectPublicKeyInfo, as hello sends it as
// "spool_key_rsa") appears once it exists.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace regulars::daemon {

class RsaSpoolKey {
 public:
  // Loads the key, or starts making it. Throws when the file is there but cannot be used.
  explicit RsaSpoolKey(const std::string& data_dir);
  ~RsaSpoolKey();  // waits for the key being made
  RsaSpoolKey(const RsaSpoolKey&) = delete;
  RsaSpoolKey& operator=(const RsaSpoolKey&) = delete;

  // The public key as hello gives it; empty until the key exists.
  std::string public_text() const;
  // The event JSON inside a record sealed to this key (version 0x03 or 0x04), or nullopt when it
  // was sealed to another key, altered, or the key does not exist yet.
  std::optional<std::string> open(std::string_view sealed) const;
  // Seals as a Windows till does (tests; tills seal in the plugin). `public_text` as hello gives it.
  static std::string seal(std::string_view public_text, std::string_view plaintext, unsigned char version);
  // RSA private-key operations done so far: one per wrapped record key, however many records
  // it sealed (tests).
  std::uint64_t unwraps() const;

  struct Key;

 private:
  using AesKey = std::array<unsigned char, 32>;
  static constexpr std::size_t kUnwrappedKept = 1024;  // wrapped keys remembered (about one per till process)
  void make(const std::string& data_dir);
  AesKey record_key(const Key& key, unsigned char version, const unsigned char* wrapped, std::size_t len) const;
  mutable std::mutex mu_;
  std::shared_ptr<const Key> key_;  // guarded by mu_; null until made
  mutable std::unordered_map<std::string, AesKey> unwrapped_;  // guarded by mu_: version | wrapped key -> key
  mutable std::uint64_t unwraps_ = 0;                          // guarded by mu_
  std::thread maker_;
};

}  // namespace regulars::daemon
