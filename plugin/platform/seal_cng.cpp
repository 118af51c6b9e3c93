// Sealing on Windows, through the system's CNG (bcrypt.dll, crypt32.dll): AES-256-GCM under a key
// of this process's, wrapped with the daemon's RSA spool key (sdk/wire/sealed.hpp, versions 0x03
// and 0x04). Wine 8 implements neither ECDH key derivation nor RSA-OAEP in bcrypt, so where OAEP is
// missing the key is wrapped with PKCS#1 v1.5, which the daemon opens with implicit rejection.
#include "seal.hpp"

// clang-format off
#include <windows.h>
#include <bcrypt.h>
#include <wincrypt.h>
// clang-format on

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>

#include "wire/random.hpp"
#include "wire/sealed.hpp"

namespace regulars::plugin::seal {

namespace S = wire::sealed;

const char* const kHelloKeyField = "spool_key_rsa";
const std::size_t kOverhead = S::kRsaOverhead;

namespace {

constexpr NTSTATUS kNotImplemented = static_cast<NTSTATUS>(0xC0000002L);
constexpr NTSTATUS kNotSupported = static_cast<NTSTATUS>(0xC00000BBL);

struct KeyHandle {
  BCRYPT_KEY_HANDLE h = nullptr;
  ~KeyHandle() {
    if (h != nullptr) ::BCryptDestroyKey(h);
  }
};

std::string status_text(const char* what, NTSTATUS s) {
  char code[16];
  std::snprintf(code, sizeof code, "0x%08lx", static_cast<unsigned long>(s));
  return std::string("sealing the spool failed: ") + what + " (" + code + ")";
}

// The modulus length in bits of an RSA public key (the SubjectPublicKeyInfo's key bits); 0 when
// they cannot be decoded. Read from the key itself: Wine's bcrypt does not report a key's length.
DWORD rsa_bits(const CERT_PUBLIC_KEY_INFO& info) {
  BYTE* blob = nullptr;
  DWORD size = 0;
  if (!::CryptDecodeObjectEx(X509_ASN_ENCODING, RSA_CSP_PUBLICKEYBLOB, info.PublicKey.pbData, info.PublicKey.cbData, CRYPT_DECODE_ALLOC_FLAG,
                             nullptr, &blob, &size))
    return 0;
  DWORD bits = 0;
  if (size >= sizeof(BLOBHEADER) + sizeof(RSAPUBKEY)) bits = reinterpret_cast<const RSAPUBKEY*>(blob + sizeof(BLOBHEADER))->bitlen;
  ::LocalFree(blob);
  return bits;
}

// The daemon's key as CNG takes it; false with `why` when it is no 2048-bit RSA key.
bool import_key(const PublicKey& der, KeyHandle& key, std::string& why) {
  CERT_PUBLIC_KEY_INFO* info = nullptr;
  DWORD size = 0;
  if (!::CryptDecodeObjectEx(X509_ASN_ENCODING, X509_PUBLIC_KEY_INFO, der.data(), static_cast<DWORD>(der.size()), CRYPT_DECODE_ALLOC_FLAG,
                             nullptr, &info, &size)) {
    why = "sealing the spool failed: regularsd's spool key cannot be decoded";
    return false;
  }
  const bool ok = std::strcmp(info->Algorithm.pszObjId, szOID_RSA_RSA) == 0 && rsa_bits(*info) == S::kRsaBits &&
                  ::CryptImportPublicKeyInfoEx2(X509_ASN_ENCODING, info, 0, nullptr, &key.h);
  ::LocalFree(info);
  if (!ok) why = "sealing the spool failed: regularsd's spool key is not a 2048-bit RSA key";
  return ok;
}

// The record key wrapped with RSA: OAEP where the system has it, else PKCS#1 v1.5. Remembers a
// missing OAEP, so it is asked once per process.
bool wrap_key(const KeyHandle& key, std::array<unsigned char, S::kAesKeyBytes>& aes, std::string& wrapped, unsigned char& version,
              std::string& why) {
  static std::atomic<bool> no_oaep{false};
  wrapped.assign(S::kRsaWrappedBytes, '\0');
  ULONG n = 0;
  if (!no_oaep.load()) {
    BCRYPT_OAEP_PADDING_INFO oaep{BCRYPT_SHA256_ALGORITHM, nullptr, 0};
    const NTSTATUS s = ::BCryptEncrypt(key.h, aes.data(), static_cast<ULONG>(aes.size()), &oaep, nullptr, 0,
                                       reinterpret_cast<PUCHAR>(wrapped.data()), static_cast<ULONG>(wrapped.size()), &n, BCRYPT_PAD_OAEP);
    if (s >= 0 && n == S::kRsaWrappedBytes) {
      version = S::kRsaOaepVersion;
      return true;
    }
    if (s != kNotImplemented && s != kNotSupported) {
      why = status_text("RSA-OAEP", s);
      return false;
    }
    no_oaep = true;
  }
  const NTSTATUS s = ::BCryptEncrypt(key.h, aes.data(), static_cast<ULONG>(aes.size()), nullptr, nullptr, 0,
                                     reinterpret_cast<PUCHAR>(wrapped.data()), static_cast<ULONG>(wrapped.size()), &n, BCRYPT_PAD_PKCS1);
  if (s < 0 || n != S::kRsaWrappedBytes) {
    why = status_text("RSA", s);
    return false;
  }
  version = S::kRsaPkcs1Version;
  return true;
}

// The record key this process seals with, wrapped once for the daemon's key: the daemon then
// does one RSA operation per till process, not one per record. Each record has a fresh random
// nonce; a key is replaced well before 2^32 records.
class SessionKey {
 public:
  ~SessionKey() { forget(); }

  // The record's header (version, wrapped key) and the AES-GCM key for `recipient`.
  bool ready(const PublicKey& recipient, std::string& why) {
    if (aes_ != nullptr && recipient == recipient_ && uses_ < kMaxUses) return true;
    forget();
    KeyHandle rsa;
    if (!import_key(recipient, rsa, why)) return false;
    std::array<unsigned char, S::kAesKeyBytes> secret{};
    try {
      wire::random_bytes(secret);
    } catch (const std::system_error& e) {
      why = std::string("sealing the spool failed: no random bytes (") + e.what() + ")";
      return false;
    }
    std::string wrapped;
    unsigned char version = 0;
    const bool ok = wrap_key(rsa, secret, wrapped, version, why) && make_aes(secret, why);
    ::SecureZeroMemory(secret.data(), secret.size());
    if (!ok) return false;
    header_.assign(1, static_cast<char>(version));
    header_.push_back(static_cast<char>(wrapped.size() >> 8));
    header_.push_back(static_cast<char>(wrapped.size() & 0xff));
    header_ += wrapped;
    recipient_ = recipient;
    return true;
  }

  // header | nonce | AES-256-GCM(plaintext) | tag, the header as additional data.
  std::optional<std::string> seal(std::string_view plaintext, std::string& why) {
    std::string out = header_;
    out.reserve(header_.size() + S::kNonceBytes + plaintext.size() + S::kTagBytes);
    std::array<unsigned char, S::kNonceBytes> nonce{};
    try {
      wire::random_bytes(nonce);
    } catch (const std::system_error& e) {
      why = std::string("sealing the spool failed: no random bytes (") + e.what() + ")";
      return std::nullopt;
    }
    out.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
    const std::size_t body_at = out.size();
    out.resize(body_at + plaintext.size() + S::kTagBytes);
    auto* bytes = reinterpret_cast<PUCHAR>(out.data());
    BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO info;
    BCRYPT_INIT_AUTH_MODE_INFO(info);
    info.pbNonce = bytes + header_.size();
    info.cbNonce = S::kNonceBytes;
    info.pbAuthData = bytes;
    info.cbAuthData = static_cast<ULONG>(header_.size());
    info.pbTag = bytes + body_at + plaintext.size();
    info.cbTag = S::kTagBytes;
    ULONG n = 0;
    const NTSTATUS s = ::BCryptEncrypt(aes_, reinterpret_cast<PUCHAR>(const_cast<char*>(plaintext.data())), static_cast<ULONG>(plaintext.size()),
                                       &info, nullptr, 0, bytes + body_at, static_cast<ULONG>(plaintext.size()), &n, 0);
    if (s < 0 || n != plaintext.size()) {
      why = status_text("AES-GCM", s);
      return std::nullopt;
    }
    ++uses_;
    return out;
  }

 private:
  static constexpr std::uint64_t kMaxUses = std::uint64_t{1} << 24;

  bool make_aes(const std::array<unsigned char, S::kAesKeyBytes>& secret, std::string& why) {
    NTSTATUS s = ::BCryptOpenAlgorithmProvider(&alg_, BCRYPT_AES_ALGORITHM, nullptr, 0);
    if (s >= 0)
      s = ::BCryptSetProperty(alg_, BCRYPT_CHAINING_MODE, reinterpret_cast<PUCHAR>(const_cast<wchar_t*>(BCRYPT_CHAIN_MODE_GCM)),
                              sizeof(BCRYPT_CHAIN_MODE_GCM), 0);
    if (s >= 0)
      s = ::BCryptGenerateSymmetricKey(alg_, &aes_, nullptr, 0, const_cast<PUCHAR>(secret.data()), static_cast<ULONG>(secret.size()), 0);
    if (s < 0) why = status_text("AES-GCM", s);
    return s >= 0;
  }
  void forget() {
    if (aes_ != nullptr) ::BCryptDestroyKey(aes_);
    if (alg_ != nullptr) ::BCryptCloseAlgorithmProvider(alg_, 0);
    aes_ = nullptr;
    alg_ = nullptr;
    header_.clear();
    uses_ = 0;
  }

  PublicKey recipient_;
  BCRYPT_ALG_HANDLE alg_ = nullptr;
  BCRYPT_KEY_HANDLE aes_ = nullptr;
  std::string header_;
  std::uint64_t uses_ = 0;
};

std::mutex g_session_mu;
SessionKey g_session;  // guarded by g_session_mu (CNG promises nothing of one key used by two threads)

}  // namespace

std::optional<PublicKey> parse_public_key(std::string_view text) {
  auto der = wire::base64_decode(text);
  if (!der || der->empty()) return std::nullopt;
  PublicKey key(der->begin(), der->end());
  KeyHandle probe;
  std::string why;
  if (!import_key(key, probe, why)) return std::nullopt;
  return key;
}

std::string key_text(const PublicKey& key) {
  return wire::base64_encode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

std::optional<std::string> seal_for_daemon(const PublicKey& recipient, std::string_view plaintext, std::string& why) {
  std::lock_guard lock(g_session_mu);
  if (!g_session.ready(recipient, why)) return std::nullopt;
  return g_session.seal(plaintext, why);
}

// Windows plugins never kept a local.key: there is none to find, create or open.
std::optional<LocalKey> local_key(const std::string&, std::string& why) {
  why = "a local spool key is not used on Windows";
  return std::nullopt;
}

std::optional<LocalKey> existing_local_key(const std::string&, bool& missing, std::string&) {
  missing = true;
  return std::nullopt;
}

std::optional<std::string> open(const LocalKey&, std::string_view, std::string& why) {
  why = "a local spool key is not used on Windows";
  return std::nullopt;
}

}  // namespace regulars::plugin::seal
