#include "till/spool_key.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "till/key_file.hpp"
#include "wire/hex.hpp"
#include "wire/sealed.hpp"

namespace regulars::daemon {
namespace {

namespace S = wire::sealed;
using Bytes = std::array<std::uint8_t, 32>;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// X25519(private, peer public), or nullopt for a degenerate peer key.
std::optional<Bytes> agree(const EVP_PKEY* mine, const std::uint8_t* peer_public) {
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public, S::kKeyBytes));
  if (!peer) return std::nullopt;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(const_cast<EVP_PKEY*>(mine), nullptr));
  Bytes shared{};
  std::size_t len = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size())
    return std::nullopt;
  return shared;
}

Bytes record_key(const Bytes& shared, const std::uint8_t* ephemeral_public, const Bytes& recipient_public) {
  std::string msg(S::kLabel);
  msg.append(reinterpret_cast<const char*>(ephemeral_public), S::kKeyBytes);
  msg.append(reinterpret_cast<const char*>(recipient_public.data()), S::kKeyBytes);
  Bytes key{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), shared.data(), static_cast<int>(shared.size()), reinterpret_cast<const unsigned char*>(msg.data()),
           msg.size(), key.data(), &len) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return key;
}

}  // namespace

SpoolKey SpoolKey::load_or_create(const std::string& data_dir) {
  const std::string path = data_dir + "/spool.key";
  SpoolKey k;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  if (fd < 0) {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
      throw std::runtime_error("cannot make the spool key (OpenSSL X25519 key generation failed)");
    Pkey generated(raw);
    std::size_t len = k.private_.size();
    if (EVP_PKEY_get_raw_private_key(generated.get(), k.private_.data(), &len) != 1 || len != k.private_.size())
      throw std::runtime_error("cannot read the new spool key");
    write_key_file(path, std::string_view(reinterpret_cast<const char*>(k.private_.data()), k.private_.size()), 0600);
  } else {
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw std::runtime_error("cannot stat " + path + ": " + why);
    }
    // One byte more than a key is asked for: a longer file is as damaged as a shorter one.
    std::array<std::uint8_t, 33> buf{};
    const ssize_t n = (st.st_mode & 077) != 0 ? -2 : ::read(fd, buf.data(), buf.size());
    ::close(fd);
    std::memcpy(k.private_.data(), buf.data(), k.private_.size());
    OPENSSL_cleanse(buf.data(), buf.size());
    if (n == -2) throw std::runtime_error(path + " is readable by others; run: chmod 600 " + path);
    if (n != static_cast<ssize_t>(k.private_.size()))
      throw std::runtime_error(path + " is damaged (expected 32 bytes); remove it to make a new one (events tills "
                                      "spooled for the old key are then lost)");
  }
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, k.private_.data(), k.private_.size()));
  std::size_t len = k.public_.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), k.public_.data(), &len) != 1)
    throw std::runtime_error("cannot derive the spool public key from " + path);
  k.public_hex_ = wire::hex_encode(k.public_);
  // Not secret: a till on this machine reads it to seal before its first connection.
  const std::string pub = k.public_hex_ + "\n";
  write_key_file(data_dir + "/spool.pub", pub, 0644);
  return k;
}

SpoolKey::~SpoolKey() { OPENSSL_cleanse(private_.data(), private_.size()); }

std::optional<std::string> SpoolKey::open(std::string_view sealed) const {
  if (sealed.size() < S::kOverhead || static_cast<unsigned char>(sealed[0]) != S::kVersion) return std::nullopt;
  const auto* p = reinterpret_cast<const std::uint8_t*>(sealed.data()) + 1;
  const std::uint8_t* ephemeral = p;
  const std::uint8_t* nonce = p + S::kKeyBytes;
  const std::uint8_t* body = nonce + S::kNonceBytes;
  const std::size_t body_len = sealed.size() - S::kOverhead;
  const std::uint8_t* tag = body + body_len;
  Pkey mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_.data(), private_.size()));
  if (!mine) return std::nullopt;
  const auto shared = agree(mine.get(), ephemeral);
  if (!shared) return std::nullopt;
  const Bytes key = record_key(*shared, ephemeral, public_);
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  std::string plain(body_len, '\0');
  int n = 0, tail = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(S::kNonceBytes), nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &n, body, static_cast<int>(body_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(S::kTagBytes), const_cast<std::uint8_t*>(tag)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + n, &tail) == 1;
  if (!ok) return std::nullopt;
  plain.resize(static_cast<std::size_t>(n + tail));
  return plain;
}

std::string SpoolKey::seal(const std::array<std::uint8_t, 32>& public_key, std::string_view plaintext) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> kctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!kctx || EVP_PKEY_keygen_init(kctx.get()) != 1 || EVP_PKEY_keygen(kctx.get(), &raw) != 1)
    throw std::runtime_error("X25519 key generation failed");
  Pkey ephemeral(raw);
  Bytes ephemeral_public{};
  std::size_t len = ephemeral_public.size();
  if (EVP_PKEY_get_raw_public_key(ephemeral.get(), ephemeral_public.data(), &len) != 1 || len != ephemeral_public.size())
    throw std::runtime_error("cannot read the ephemeral X25519 public key");
  const auto shared = agree(ephemeral.get(), public_key.data());
  if (!shared) throw std::runtime_error("not a usable X25519 public key");
  const Bytes key = record_key(*shared, ephemeral_public.data(), public_key);
  std::string out(1, static_cast<char>(S::kVersion));
  out.append(reinterpret_cast<const char*>(ephemeral_public.data()), S::kKeyBytes);
  unsigned char nonce[S::kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) throw std::runtime_error("no random bytes for the nonce");
  out.append(reinterpret_cast<const char*>(nonce), sizeof nonce);
  std::string body(plaintext.size(), '\0');
  unsigned char tag[S::kTagBytes];
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  int n = 0, tail = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(S::kNonceBytes), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(body.data()), &n,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(body.data()) + n, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(S::kTagBytes), tag) != 1)
    throw std::runtime_error("ChaCha20-Poly1305 failed");
  out += body;
  out.append(reinterpret_cast<const char*>(tag), sizeof tag);
  return out;
}

}  // namespace regulars::daemon
