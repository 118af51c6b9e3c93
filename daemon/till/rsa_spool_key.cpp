#include "till/rsa_spool_key.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/log.hpp"
#include "till/key_file.hpp"
#include "wire/sealed.hpp"

namespace regulars::daemon {

namespace S = wire::sealed;

struct RsaSpoolKey::Key {
  EVP_PKEY* pkey = nullptr;
  std::string public_text;
  // What a PKCS#1 v1.5 wrapping that does not unwrap yields instead (implicit rejection): a key
  // derived from this secret and the wrapping, the same for the same bytes every time.
  std::array<unsigned char, 32> rejection_secret{};
  ~Key() {
    EVP_PKEY_free(pkey);
    OPENSSL_cleanse(rejection_secret.data(), rejection_secret.size());
  }
};

namespace {

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using AesKey = std::array<unsigned char, S::kAesKeyBytes>;

std::string public_text_of(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(pkey, &der);
  if (n <= 0) throw std::runtime_error("cannot encode the RSA spool key");
  std::string out = wire::base64_encode(std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return out;
}

// The PEM file's key; nullptr when there is no file. Throws when it is there but unusable.
EVP_PKEY* read_key(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return nullptr;
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) throw std::runtime_error(path + " is readable by others; run: chmod 600 " + path);
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  EVP_PKEY* pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (pkey == nullptr || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pkey) != static_cast<int>(S::kRsaBits)) {
    EVP_PKEY_free(pkey);
    throw std::runtime_error(path + " is damaged (expected a 2048-bit RSA key in PEM); remove it to make a new one (events "
                                    "Windows tills spooled for the old key are then lost)");
  }
  return pkey;
}

EVP_PKEY* generate() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(S::kRsaBits)) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &pkey) != 1)
    throw std::runtime_error("cannot make the RSA spool key (OpenSSL key generation failed)");
  return pkey;
}

void save(EVP_PKEY* pkey, const std::string& data_dir, const std::string& public_text) {
  BIO* mem = BIO_new(BIO_s_mem());
  if (mem == nullptr || PEM_write_bio_PKCS8PrivateKey(mem, pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(mem);
    throw std::runtime_error("cannot encode the RSA spool key");
  }
  char* pem = nullptr;
  const long n = BIO_get_mem_data(mem, &pem);
  std::string text(pem, static_cast<std::size_t>(n));
  BIO_free(mem);
  write_key_file(data_dir + "/spool_rsa.key", text, 0600);
  OPENSSL_cleanse(text.data(), text.size());
  // Not secret: it lets a test, or an owner, see that the key exists.
  write_key_file(data_dir + "/spool_rsa.pub", public_text + "\n", 0644);
}

// 0xff when a == b, else 0, without a branch.
unsigned char equal_mask(std::size_t a, std::size_t b) {
  const std::size_t diff = a ^ b;
  return static_cast<unsigned char>(((diff | (0 - diff)) >> (sizeof(std::size_t) * 8 - 1)) - 1);
}

// The raw RSA decryption of a wrapped key; false when OpenSSL refuses the input (not below the
// modulus), which says nothing about what it holds.
bool rsa_raw(EVP_PKEY* pkey, int padding, const unsigned char* wrapped, std::size_t len,
             std::array<unsigned char, S::kRsaWrappedBytes>& out, std::size_t& out_len) {
  PkeyCtx ctx(EVP_PKEY_CTX_new(pkey, nullptr));
  const bool oaep = padding == RSA_PKCS1_OAEP_PADDING;
  const bool ready = ctx && EVP_PKEY_decrypt_init(ctx.get()) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) == 1 &&
                     (!oaep || (EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) == 1 &&
                                EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) == 1));
  if (!ready) throw std::runtime_error("cannot set up RSA decryption");
  out_len = out.size();
  const int decrypted = EVP_PKEY_decrypt(ctx.get(), out.data(), &out_len, wrapped, len);
  ERR_clear_error();  // a refusal leaves its reason on this thread's queue
  return decrypted == 1;
}

// 0xff when the raw block is a PKCS#1 v1.5 encryption block holding a 32-byte key
// (00 02, 221 non-zero padding bytes, 00, key), else 0; every byte is looked at, in the same
// order, whatever it holds. OpenSSL 3.0's own PKCS#1 check answers bad padding on a path of its
// own, whose timing can be told apart (the "Marvin" attack): the block is read here instead.
unsigned char pkcs1_key_block(const std::array<unsigned char, S::kRsaWrappedBytes>& m) {
  constexpr std::size_t kSeparator = S::kRsaWrappedBytes - S::kAesKeyBytes - 1;
  unsigned char good = static_cast<unsigned char>(equal_mask(m[0], 0) & equal_mask(m[1], 2) & equal_mask(m[kSeparator], 0));
  for (std::size_t i = 2; i < kSeparator; ++i) good = static_cast<unsigned char>(good & ~equal_mask(m[i], 0));
  return good;
}

// The record key unwrapped. A wrapping that does not unwrap gives another key instead, derived
// from the wrapping (implicit rejection), chosen without a branch: the record then fails its tag
// exactly as a forged one does, and neither the answer nor its timing says what was wrong.
// Records reach this only from a till with a lane token (or on the local socket).
AesKey unwrap(const RsaSpoolKey::Key& key, unsigned char version, const unsigned char* wrapped, std::size_t len) {
  AesKey fallback{};
  unsigned int fallback_len = 0;
  std::array<unsigned char, 1 + S::kRsaWrappedBytes> message{};
  message[0] = version;
  std::memcpy(message.data() + 1, wrapped, std::min(len, S::kRsaWrappedBytes));
  if (HMAC(EVP_sha256(), key.rejection_secret.data(), static_cast<int>(key.rejection_secret.size()), message.data(), message.size(),
           fallback.data(), &fallback_len) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  std::array<unsigned char, S::kRsaWrappedBytes> out{};
  std::size_t out_len = 0;
  unsigned char good = 0;
  const unsigned char* key_bytes = out.data();
  if (version == S::kRsaOaepVersion) {
    // OAEP's decoding is OpenSSL's own, and was made not to tell its failures apart.
    const bool decrypted = rsa_raw(key.pkey, RSA_PKCS1_OAEP_PADDING, wrapped, len, out, out_len);
    good = static_cast<unsigned char>(equal_mask(decrypted ? 1 : 0, 1) & equal_mask(out_len, S::kAesKeyBytes));
  } else {
    const bool decrypted = rsa_raw(key.pkey, RSA_NO_PADDING, wrapped, len, out, out_len);
    good = static_cast<unsigned char>(equal_mask(decrypted ? 1 : 0, 1) & equal_mask(out_len, S::kRsaWrappedBytes) & pkcs1_key_block(out));
    key_bytes = out.data() + S::kRsaWrappedBytes - S::kAesKeyBytes;
  }
  AesKey result{};
  for (std::size_t i = 0; i < result.size(); ++i)
    result[i] = static_cast<unsigned char>((key_bytes[i] & good) | (fallback[i] & static_cast<unsigned char>(~good)));
  OPENSSL_cleanse(out.data(), out.size());
  OPENSSL_cleanse(fallback.data(), fallback.size());
  return result;
}

std::array<unsigned char, 32> fresh_secret() {
  std::array<unsigned char, 32> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) throw std::runtime_error("no random bytes from OpenSSL");
  return secret;
}

}  // namespace

RsaSpoolKey::RsaSpoolKey(const std::string& data_dir) {
  if (EVP_PKEY* loaded = read_key(data_dir + "/spool_rsa.key")) {
    auto key = std::make_shared<Key>();
    key->pkey = loaded;
    key->public_text = public_text_of(loaded);
    key->rejection_secret = fresh_secret();
    key_ = std::move(key);
    return;
  }
  maker_ = std::thread([this, data_dir] { make(data_dir); });
}

RsaSpoolKey::~RsaSpoolKey() {
  if (maker_.joinable()) maker_.join();
  for (auto& [_, k] : unwrapped_) OPENSSL_cleanse(k.data(), k.size());
}

void RsaSpoolKey::make(const std::string& data_dir) {
  try {
    auto key = std::make_shared<Key>();
    key->pkey = generate();
    key->public_text = public_text_of(key->pkey);
    key->rejection_secret = fresh_secret();
    save(key->pkey, data_dir, key->public_text);
    std::lock_guard lock(mu_);
    key_ = std::move(key);
  } catch (const std::exception& e) {
    // Windows tills then cannot spool (they say the key is not known); everything else works.
    REGULARS_LOG(err, "cannot make the RSA spool key", ({{"error", e.what()}}));
  }
}

// A plugin wraps one record key per process and seals every record it spools with it, so each
// wrapping is unwrapped once (an RSA private-key operation, about a millisecond, on an I/O
// thread) and found here for the rest.
AesKey RsaSpoolKey::record_key(const Key& key, unsigned char version, const unsigned char* wrapped, std::size_t len) const {
  std::string id(1, static_cast<char>(version));
  id.append(reinterpret_cast<const char*>(wrapped), len);
  {
    std::lock_guard lock(mu_);
    if (const auto it = unwrapped_.find(id); it != unwrapped_.end()) return it->second;
  }
  AesKey aes = unwrap(key, version, wrapped, len);
  std::lock_guard lock(mu_);
  ++unwraps_;
  if (unwrapped_.size() >= kUnwrappedKept) {
    for (auto& [_, k] : unwrapped_) OPENSSL_cleanse(k.data(), k.size());
    unwrapped_.clear();
  }
  unwrapped_.emplace(std::move(id), aes);
  return aes;
}

std::uint64_t RsaSpoolKey::unwraps() const {
  std::lock_guard lock(mu_);
  return unwraps_;
}

std::string RsaSpoolKey::public_text() const {
  std::lock_guard lock(mu_);
  return key_ ? key_->public_text : std::string();
}

std::optional<std::string> RsaSpoolKey::open(std::string_view sealed) const {
  std::shared_ptr<const Key> key;
  {
    std::lock_guard lock(mu_);
    key = key_;
  }
  if (!key || sealed.size() < S::kRsaOverhead) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  const unsigned char version = p[0];
  const std::size_t wrapped_len = std::size_t{p[1]} << 8 | p[2];
  if ((version != S::kRsaOaepVersion && version != S::kRsaPkcs1Version) || wrapped_len != S::kRsaWrappedBytes) return std::nullopt;
  const std::size_t header = 3 + wrapped_len;
  const unsigned char* nonce = p + header;
  const unsigned char* body = nonce + S::kNonceBytes;
  const std::size_t body_len = sealed.size() - S::kRsaOverhead;
  const unsigned char* tag = body + body_len;
  AesKey aes = record_key(*key, version, p + 3, wrapped_len);
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  std::string plain(body_len, '\0');
  int n = 0, aad = 0, tail = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(S::kNonceBytes), nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, aes.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &aad, p, static_cast<int>(header)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &n, body, static_cast<int>(body_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(S::kTagBytes), const_cast<unsigned char*>(tag)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + n, &tail) == 1;
  OPENSSL_cleanse(aes.data(), aes.size());
  if (!ok) return std::nullopt;
  plain.resize(static_cast<std::size_t>(n + tail));
  return plain;
}

std::string RsaSpoolKey::seal(std::string_view public_text, std::string_view plaintext, unsigned char version) {
  const auto der = wire::base64_decode(public_text);
  if (!der) throw std::invalid_argument("not a spool key");
  const auto* d = reinterpret_cast<const unsigned char*>(der->data());
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &d, static_cast<long>(der->size()));
  if (pub == nullptr) throw std::invalid_argument("not a spool key");
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> owned(pub, EVP_PKEY_free);
  AesKey aes{};
  std::array<unsigned char, S::kNonceBytes> nonce{};
  RAND_bytes(aes.data(), static_cast<int>(aes.size()));
  RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
  std::string out(3 + S::kRsaWrappedBytes, '\0');
  out[0] = static_cast<char>(version);
  out[1] = static_cast<char>(S::kRsaWrappedBytes >> 8);
  out[2] = static_cast<char>(S::kRsaWrappedBytes & 0xff);
  std::size_t wrapped_len = S::kRsaWrappedBytes;
  PkeyCtx ctx(EVP_PKEY_CTX_new(pub, nullptr));
  const bool oaep = version == S::kRsaOaepVersion;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), oaep ? RSA_PKCS1_OAEP_PADDING : RSA_PKCS1_PADDING) != 1 ||
      (oaep && (EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1)) ||
      EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + 3, &wrapped_len, aes.data(), aes.size()) != 1)
    throw std::runtime_error("RSA wrapping failed");
  out.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  const std::size_t body_at = out.size();
  out.resize(body_at + plaintext.size() + S::kTagBytes);
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> cctx(EVP_CIPHER_CTX_new());
  int n = 0, aad = 0, tail = 0;
  if (!cctx || EVP_EncryptInit_ex(cctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(cctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(S::kNonceBytes), nullptr) != 1 ||
      EVP_EncryptInit_ex(cctx.get(), nullptr, nullptr, aes.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(cctx.get(), nullptr, &aad, bytes, static_cast<int>(3 + S::kRsaWrappedBytes)) != 1 ||
      EVP_EncryptUpdate(cctx.get(), bytes + body_at, &n, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(cctx.get(), bytes + body_at + n, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(cctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(S::kTagBytes), bytes + body_at + plaintext.size()) != 1)
    throw std::runtime_error("AES-GCM failed");
  return out;
}

}  // namespace regulars::daemon
