#include "seal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <tuple>

#include "dynlib.hpp"
#include "wire/hex.hpp"
#include "wire/sealed.hpp"

namespace regulars::plugin::seal {
namespace {

namespace S = wire::sealed;

// The libcrypto functions used, typed from OpenSSL's headers (used at build time only).
struct Api {
  decltype(&::EVP_PKEY_CTX_new_id) pkey_ctx_new_id;
  decltype(&::EVP_PKEY_CTX_new) pkey_ctx_new;
  decltype(&::EVP_PKEY_CTX_free) pkey_ctx_free;
  decltype(&::EVP_PKEY_keygen_init) keygen_init;
  decltype(&::EVP_PKEY_keygen) keygen;
  decltype(&::EVP_PKEY_free) pkey_free;
  decltype(&::EVP_PKEY_new_raw_public_key) new_raw_public_key;
  decltype(&::EVP_PKEY_get_raw_public_key) get_raw_public_key;
  decltype(&::EVP_PKEY_new_raw_private_key) new_raw_private_key;
  decltype(&::EVP_PKEY_get_raw_private_key) get_raw_private_key;
  decltype(&::EVP_PKEY_derive_init) derive_init;
  decltype(&::EVP_PKEY_derive_set_peer) derive_set_peer;
  decltype(&::EVP_PKEY_derive) derive;
  decltype(&::HMAC) hmac;
  decltype(&::EVP_sha256) sha256;
  decltype(&::EVP_CIPHER_CTX_new) cipher_new;
  decltype(&::EVP_CIPHER_CTX_free) cipher_free;
  decltype(&::EVP_CIPHER_CTX_ctrl) cipher_ctrl;
  decltype(&::EVP_chacha20_poly1305) chacha20_poly1305;
  decltype(&::EVP_EncryptInit_ex) encrypt_init;
  decltype(&::EVP_EncryptUpdate) encrypt_update;
  decltype(&::EVP_EncryptFinal_ex) encrypt_final;
  decltype(&::EVP_DecryptInit_ex) decrypt_init;
  decltype(&::EVP_DecryptUpdate) decrypt_update;
  decltype(&::EVP_DecryptFinal_ex) decrypt_final;
  decltype(&::RAND_bytes) rand_bytes;
};

const Api* load_api(std::string& why) {
  auto fill = [](DynLib& lib, Api& api) {
    auto get = [&](auto& fn, const char* name) { lib.bind(fn, name); };
    get(api.pkey_ctx_new_id, "EVP_PKEY_CTX_new_id");
    get(api.pkey_ctx_new, "EVP_PKEY_CTX_new");
    get(api.pkey_ctx_free, "EVP_PKEY_CTX_free");
    get(api.keygen_init, "EVP_PKEY_keygen_init");
    get(api.keygen, "EVP_PKEY_keygen");
    get(api.pkey_free, "EVP_PKEY_free");
    get(api.new_raw_public_key, "EVP_PKEY_new_raw_public_key");
    get(api.get_raw_public_key, "EVP_PKEY_get_raw_public_key");
    get(api.new_raw_private_key, "EVP_PKEY_new_raw_private_key");
    get(api.get_raw_private_key, "EVP_PKEY_get_raw_private_key");
    get(api.derive_init, "EVP_PKEY_derive_init");
    get(api.derive_set_peer, "EVP_PKEY_derive_set_peer");
    get(api.derive, "EVP_PKEY_derive");
    get(api.hmac, "HMAC");
    get(api.sha256, "EVP_sha256");
    get(api.cipher_new, "EVP_CIPHER_CTX_new");
    get(api.cipher_free, "EVP_CIPHER_CTX_free");
    get(api.cipher_ctrl, "EVP_CIPHER_CTX_ctrl");
    get(api.chacha20_poly1305, "EVP_chacha20_poly1305");
    get(api.encrypt_init, "EVP_EncryptInit_ex");
    get(api.encrypt_update, "EVP_EncryptUpdate");
    get(api.encrypt_final, "EVP_EncryptFinal_ex");
    get(api.decrypt_init, "EVP_DecryptInit_ex");
    get(api.decrypt_update, "EVP_DecryptUpdate");
    get(api.decrypt_final, "EVP_DecryptFinal_ex");
    get(api.rand_bytes, "RAND_bytes");
    return std::string();
  };
  return load_once<Api>({"libcrypto.so.3", "libcrypto.so"}, "sealing the spool", fill, why);
}

}  // namespace

const char* const kHelloKeyField = "spool_key";
const std::size_t kOverhead = S::kOverhead;

std::optional<PublicKey> parse_public_key(std::string_view hex) {
  return wire::hex_decode_array<std::tuple_size_v<PublicKey>>(hex);
}

std::string key_text(const PublicKey& key) { return wire::hex_encode(key); }

std::optional<std::string> seal_for_daemon(const PublicKey& recipient, std::string_view plaintext, std::string& why) {
  return seal(recipient, plaintext, S::kVersion, why);
}

namespace {

// Frees what it holds; OpenSSL's objects are reached through the loaded functions.
struct Owned {
  const Api* api;
  EVP_PKEY_CTX* kctx = nullptr;
  EVP_PKEY* mine = nullptr;
  EVP_PKEY* peer = nullptr;
  EVP_PKEY_CTX* dctx = nullptr;
  EVP_CIPHER_CTX* cctx = nullptr;
  ~Owned() {
    if (cctx) api->cipher_free(cctx);
    if (dctx) api->pkey_ctx_free(dctx);
    if (peer) api->pkey_free(peer);
    if (mine) api->pkey_free(mine);
    if (kctx) api->pkey_ctx_free(kctx);
  }
};

// X25519(mine, peer) then the record key (sdk/wire/sealed.hpp).
bool record_key(Owned& o, const PublicKey& peer, const PublicKey& ephemeral, const PublicKey& recipient,
                std::array<std::uint8_t, 32>& key) {
  const Api* api = o.api;
  o.peer = api->new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size());
  o.dctx = o.peer ? api->pkey_ctx_new(o.mine, nullptr) : nullptr;
  std::array<std::uint8_t, 32> shared{};
  std::size_t len = shared.size();
  if (o.dctx == nullptr || api->derive_init(o.dctx) != 1 || api->derive_set_peer(o.dctx, o.peer) != 1 ||
      api->derive(o.dctx, shared.data(), &len) != 1 || len != shared.size())
    return false;
  std::string label(S::kLabel);
  label.append(reinterpret_cast<const char*>(ephemeral.data()), ephemeral.size());
  label.append(reinterpret_cast<const char*>(recipient.data()), recipient.size());
  unsigned int key_len = 0;
  return api->hmac(api->sha256(), shared.data(), static_cast<int>(shared.size()),
                   reinterpret_cast<const unsigned char*>(label.data()), label.size(), key.data(), &key_len) != nullptr;
}

bool new_x25519(Owned& o) {
  o.kctx = o.api->pkey_ctx_new_id(EVP_PKEY_X25519, nullptr);
  return o.kctx != nullptr && o.api->keygen_init(o.kctx) == 1 && o.api->keygen(o.kctx, &o.mine) == 1;
}

}  // namespace

std::optional<std::string> seal(const PublicKey& recipient, std::string_view plaintext, unsigned char version,
                                std::string& why) {
  const Api* api = load_api(why);
  if (api == nullptr) return std::nullopt;
  auto fail = [&](const char* what) {
    why = std::string("cannot seal the spool record: ") + what;
    return std::nullopt;
  };
  // An ephemeral X25519 key per record: only the recipient's private key opens it.
  Owned o{api};
  PublicKey ephemeral{};
  std::size_t len = ephemeral.size();
  if (!new_x25519(o) || api->get_raw_public_key(o.mine, ephemeral.data(), &len) != 1)
    return fail("X25519 key generation failed");
  std::array<std::uint8_t, 32> key{};
  if (!record_key(o, recipient, ephemeral, recipient, key)) return fail("the spool key is not a usable X25519 key");
  unsigned char nonce[S::kNonceBytes];
  if (api->rand_bytes(nonce, sizeof nonce) != 1) return fail("no random bytes");
  std::string out(1, static_cast<char>(version));
  out.append(reinterpret_cast<const char*>(ephemeral.data()), ephemeral.size());
  out.append(reinterpret_cast<const char*>(nonce), sizeof nonce);
  const std::size_t body_at = out.size();
  out.resize(body_at + plaintext.size() + S::kTagBytes);
  auto* body = reinterpret_cast<unsigned char*>(out.data() + body_at);
  int n = 0, tail = 0;
  o.cctx = api->cipher_new();
  if (o.cctx == nullptr || api->encrypt_init(o.cctx, api->chacha20_poly1305(), nullptr, nullptr, nullptr) != 1 ||
      api->cipher_ctrl(o.cctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(S::kNonceBytes), nullptr) != 1 ||
      api->encrypt_init(o.cctx, nullptr, nullptr, key.data(), nonce) != 1 ||
      api->encrypt_update(o.cctx, body, &n, reinterpret_cast<const unsigned char*>(plaintext.data()),
                          static_cast<int>(plaintext.size())) != 1 ||
      api->encrypt_final(o.cctx, body + n, &tail) != 1 ||
      api->cipher_ctrl(o.cctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(S::kTagBytes), body + plaintext.size()) != 1)
    return fail("ChaCha20-Poly1305 failed");
  return out;
}

namespace {

// Reads DIR/local.key: the key, nullopt with `why` when the file is there but unusable, and
// `missing` set when it is not there at all.
std::optional<LocalKey> read_local_key(const Api* api, const std::string& path, bool& missing, std::string& why) {
  missing = false;
  LocalKey k;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    missing = errno == ENOENT;
    why = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  const ssize_t n = ::read(fd, k.private_key.data(), k.private_key.size());
  ::close(fd);
  Owned o{api};
  if (n == static_cast<ssize_t>(k.private_key.size()))
    o.mine = api->new_raw_private_key(EVP_PKEY_X25519, nullptr, k.private_key.data(), k.private_key.size());
  std::size_t len = k.public_key.size();
  if (o.mine == nullptr || api->get_raw_public_key(o.mine, k.public_key.data(), &len) != 1) {
    why = path + " is damaged; records spooled before the daemon was first reached cannot be opened";
    return std::nullopt;
  }
  return k;
}

}  // namespace

std::optional<LocalKey> local_key(const std::string& spool_dir, std::string& why) {
  const Api* api = load_api(why);
  if (api == nullptr) return std::nullopt;
  // One thread of this process at a time; other processes on the same directory are settled
  // by link(), which fails if the key already exists.
  static std::mutex mu;
  std::lock_guard lock(mu);
  const std::string path = spool_dir + "/local.key";
  bool missing = false;
  if (auto k = read_local_key(api, path, missing, why)) return k;
  if (!missing) return std::nullopt;  // there but unusable (damaged, or not ours to read): never replace it
  LocalKey made;
  {
    Owned o{api};
    std::size_t len = made.private_key.size();
    if (!new_x25519(o) || api->get_raw_private_key(o.mine, made.private_key.data(), &len) != 1) {
      why = "cannot make the spool's own key";
      return std::nullopt;
    }
  }
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    why = "cannot create a file in " + spool_dir + ": " + std::strerror(errno);
    return std::nullopt;
  }
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, made.private_key.data(), made.private_key.size()) == static_cast<ssize_t>(made.private_key.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  const bool linked = written && ::link(tmp.c_str(), path.c_str()) == 0;
  const int link_error = errno;
  ::unlink(tmp.c_str());
  if (!linked && !(written && link_error == EEXIST)) {
    why = "cannot write " + path + ": " + std::strerror(written ? link_error : errno);
    return std::nullopt;
  }
  if (linked) {  // the key must outlive a power cut: records sealed to it depend on it
    if (const int dfd = ::open(spool_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  // Whether ours or another process's won the race, the key on disk is the one to use.
  return read_local_key(api, path, missing, why);
}

std::optional<LocalKey> existing_local_key(const std::string& spool_dir, bool& missing, std::string& why) {
  missing = false;
  const Api* api = load_api(why);
  if (api == nullptr) return std::nullopt;
  return read_local_key(api, spool_dir + "/local.key", missing, why);
}

std::optional<std::string> open(const LocalKey& key, std::string_view sealed, std::string& why) {
  const Api* api = load_api(why);
  if (api == nullptr) return std::nullopt;
  if (sealed.size() < S::kOverhead) return std::nullopt;
  PublicKey ephemeral{};
  std::memcpy(ephemeral.data(), sealed.data() + 1, ephemeral.size());
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data() + 1 + S::kKeyBytes);
  const auto* body = nonce + S::kNonceBytes;
  const std::size_t body_len = sealed.size() - S::kOverhead;
  Owned o{api};
  o.mine = api->new_raw_private_key(EVP_PKEY_X25519, nullptr, key.private_key.data(), key.private_key.size());
  std::array<std::uint8_t, 32> k{};
  if (o.mine == nullptr || !record_key(o, ephemeral, ephemeral, key.public_key, k)) return std::nullopt;
  std::string plain(body_len, '\0');
  int n = 0, tail = 0;
  o.cctx = api->cipher_new();
  const bool ok =
      o.cctx != nullptr && api->decrypt_init(o.cctx, api->chacha20_poly1305(), nullptr, nullptr, nullptr) == 1 &&
      api->cipher_ctrl(o.cctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(S::kNonceBytes), nullptr) == 1 &&
      api->decrypt_init(o.cctx, nullptr, nullptr, k.data(), nonce) == 1 &&
      api->decrypt_update(o.cctx, reinterpret_cast<unsigned char*>(plain.data()), &n, body, static_cast<int>(body_len)) == 1 &&
      api->cipher_ctrl(o.cctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(S::kTagBytes),
                       const_cast<unsigned char*>(body + body_len)) == 1 &&
      api->decrypt_final(o.cctx, reinterpret_cast<unsigned char*>(plain.data()) + n, &tail) == 1;
  if (!ok) return std::nullopt;
  plain.resize(static_cast<std::size_t>(n + tail));
  return plain;
}

}  // namespace regulars::plugin::seal
