#include "memory/identity.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>

#include "wire/hex.hpp"

namespace regulars::daemon {

namespace {

// HMAC-SHA256 contexts already keyed, a few per thread, found by their secret. A one-shot
// HMAC() fetches the algorithm from OpenSSL's provider store and keys it again on every call;
// a keyed context only starts over (EVP_MAC_init with no key keeps the key it has). Every
// hints answer and every event hashes at least once.
class KeyedMacs {
 public:
  ~KeyedMacs() {
    for (auto& k : keyed_) drop(k);
    EVP_MAC_free(mac_);
  }
  EVP_MAC_CTX* for_key(const IdentitySecret& key) {
    for (auto& k : keyed_)
      if (CRYPTO_memcmp(k.secret.data(), key.data(), key.size()) == 0) return k.ctx;
    if (keyed_.size() >= kKept) {  // a re-key's generations, a test's many stores: the oldest goes
      drop(keyed_.front());
      keyed_.erase(keyed_.begin());
    }
    if (mac_ == nullptr && (mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr)) == nullptr) throw std::runtime_error("HMAC is unavailable");
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac_);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (ctx == nullptr || EVP_MAC_init(ctx, key.data(), key.size(), params) != 1) {
      EVP_MAC_CTX_free(ctx);
      throw std::runtime_error("HMAC-SHA256 could not be keyed");
    }
    keyed_.push_back(Keyed{key, ctx});
    return ctx;
  }

 private:
  static constexpr std::size_t kKept = 8;
  struct Keyed {
    IdentitySecret secret;
    EVP_MAC_CTX* ctx;
  };
  static void drop(Keyed& k) {
    EVP_MAC_CTX_free(k.ctx);
    OPENSSL_cleanse(k.secret.data(), k.secret.size());
  }
  EVP_MAC* mac_ = nullptr;
  std::vector<Keyed> keyed_;
};

void hmac_sha256(const IdentitySecret& key, const void* msg, std::size_t n, IdentifierHash& out) {
  thread_local KeyedMacs macs;
  EVP_MAC_CTX* ctx = macs.for_key(key);
  std::size_t len = 0;
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 || EVP_MAC_update(ctx, static_cast<const unsigned char*>(msg), n) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size())
    throw std::runtime_error("HMAC-SHA256 failed");
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

IdentityKey::IdentityKey(std::vector<IdentitySecret> generations) : keys_(std::move(generations)) {
  if (keys_.empty()) throw std::invalid_argument("an identity key needs at least one generation");
}

IdentityKey IdentityKey::load_or_create(const std::string& data_dir) {
  const std::string path = data_dir + "/secret.key";
  // The store first: how many generations its hashes are chained over decides what the file
  // must hold, and a store that was re-keyed must never get a fresh single key by accident.
  const int needed = stored_identity_generations(data_dir + "/regulars.db");
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    if (needed > 1)
      throw std::runtime_error(path + " is missing but the store was re-keyed to " + std::to_string(needed) +
                               " key generations; restore secret.key from the backup taken with the database");
    // A fresh secret would make every known customer a stranger: only a store without
    // identifiers may start with one.
    if (store_has_identifiers(data_dir + "/regulars.db"))
      throw std::runtime_error(path + " is missing but the store already knows customers by it; restore secret.key from "
                               "the backup taken with the database (a new secret would leave every customer unrecognised)");
    IdentitySecret secret{};
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1)
      throw std::runtime_error("cannot generate the installation secret (OpenSSL RAND_bytes failed)");
    write_identity_secrets(path, {secret});
    return IdentityKey(secret);
  }
  std::vector<IdentitySecret> secrets = read_identity_secrets(path);
  if (static_cast<int>(secrets.size()) < needed)
    throw std::runtime_error(path + " holds " + std::to_string(secrets.size()) + " key generation(s) but the store was re-keyed to " +
                             std::to_string(needed) + "; restore secret.key from the backup taken with the database");
  // More than the store uses: a re-key wrote the file and stopped before its transaction
  // committed. The extra key is unused (and the next re-key replaces it).
  secrets.resize(static_cast<std::size_t>(needed));
  return IdentityKey(std::move(secrets));
}

IdentifierHash IdentityKey::hash(std::string_view kind, std::string_view normalized_value) const {
  std::string msg;
  msg.reserve(kind.size() + 1 + normalized_value.size());
  msg.append(kind).push_back('\0');
  msg.append(normalized_value);
  IdentifierHash out{};
  hmac_sha256(keys_.front(), msg.data(), msg.size(), out);
  for (std::size_t i = 1; i < keys_.size(); ++i) out = chain(keys_[i], out);
  return out;
}

IdentifierHash IdentityKey::chain(const IdentitySecret& key, const IdentifierHash& previous) {
  IdentifierHash out{};
  hmac_sha256(key, previous.data(), previous.size(), out);
  return out;
}

std::vector<IdentitySecret> read_identity_secrets(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + errno_text());
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    throw std::runtime_error("cannot stat " + path + ": " + why);
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    throw std::runtime_error(path + " is readable by others; run: chmod 600 " + path);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t unit = std::tuple_size_v<IdentitySecret>;
  if (size == 0 || size % unit != 0 || size > 1024 * unit) {
    ::close(fd);
    throw std::runtime_error(path + " is damaged (" + std::to_string(size) +
                             " bytes, expected a multiple of 32); restore secret.key from the backup taken with the database");
  }
  std::vector<IdentitySecret> secrets(size / unit);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, reinterpret_cast<char*>(secrets.data()) + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != size) throw std::runtime_error("cannot read " + path + " (short read); restore secret.key from backup");
  return secrets;
}

void write_identity_secrets(const std::string& path, const std::vector<IdentitySecret>& secrets) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + errno_text());
  std::string failure;  // what went wrong first, while errno still says it
  auto check = [&](bool ok, const char* what) {
    if (!ok && failure.empty()) failure = std::string(what) + ": " + errno_text();
    return ok;
  };
  // O_CREAT's mode applies only to a new file: a .tmp left by a crash keeps its old mode.
  check(::fchmod(fd, 0600) == 0, "chmod");
  // regularsctl run as root must leave a file the daemon's own user can still read.
  struct stat old{};
  if (failure.empty() && ::geteuid() == 0 && ::stat(path.c_str(), &old) == 0)
    check(::fchown(fd, old.st_uid, old.st_gid) == 0, "chown");
  const auto* data = reinterpret_cast<const char*>(secrets.data());
  const std::size_t size = secrets.size() * std::tuple_size_v<IdentitySecret>;
  for (std::size_t put = 0; failure.empty() && put < size;) {
    const ssize_t n = ::write(fd, data + put, size - put);
    if (n < 0 && errno == EINTR) continue;
    if (check(n > 0, "write")) put += static_cast<std::size_t>(n);
  }
  if (failure.empty()) check(::fsync(fd) == 0, "fsync");
  ::close(fd);
  if (failure.empty()) check(::rename(tmp.c_str(), path.c_str()) == 0, "rename");
  if (!failure.empty()) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path + " (" + failure + "); the old file is unchanged");
  }
  // The rename is durable only once the directory is.
  const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.find_last_of('/'));
  const int dfd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    const std::string reason = errno_text();
    if (dfd >= 0) ::close(dfd);
    throw std::runtime_error("cannot flush the directory of " + path + ": " + reason);
  }
  ::close(dfd);
}

bool store_has_identifiers(const std::string& db_path) {
  struct stat st{};
  if (::stat(db_path.c_str(), &st) != 0) return false;
  sqlite3* db = nullptr;
  // Fails closed: a store that cannot be read might hold customers, so no fresh secret for it.
  auto fail = [&](const char* what) {
    const std::string msg = std::string("cannot tell whether ") + db_path + " knows customers (" + what + "): " +
                            (db ? sqlite3_errmsg(db) : "cannot open") + "; fix that, or restore secret.key";
    sqlite3_close(db);
    throw std::runtime_error(msg);
  };
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) fail("open");
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* s = nullptr;
  bool has_table = false;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='identifiers'", -1, &s, nullptr) !=
      SQLITE_OK)
    fail("schema");
  if (sqlite3_step(s) == SQLITE_ROW) has_table = sqlite3_column_int64(s, 0) > 0;
  else {
    sqlite3_finalize(s);
    fail("schema");
  }
  sqlite3_finalize(s);
  bool found = false;
  if (has_table) {  // no identifiers table yet (an empty file): nothing to lose
    if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM identifiers)", -1, &s, nullptr) != SQLITE_OK) fail("identifiers");
    const int rc = sqlite3_step(s);
    found = rc == SQLITE_ROW && sqlite3_column_int64(s, 0) != 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) fail("identifiers");
  }
  sqlite3_close(db);
  return found;
}

int stored_identity_generations(const std::string& db_path) {
  struct stat st{};
  if (::stat(db_path.c_str(), &st) != 0) return 1;  // no store yet: it starts at one generation
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  auto fail = [&](const std::string& what) -> int {
    const std::string msg = "cannot read the key generation count from " + db_path + " (" + what +
                            "): " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    throw std::runtime_error(msg);
  };
  if (rc != SQLITE_OK) return fail("open");
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* s = nullptr;
  // store_meta came with schema v5; an older store (or an empty file) was never re-keyed.
  rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='store_meta'", -1, &s, nullptr);
  if (rc != SQLITE_OK) return fail("schema");
  rc = sqlite3_step(s);
  const bool has_meta = rc == SQLITE_ROW && sqlite3_column_int64(s, 0) > 0;
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW) return fail("schema");
  std::int64_t generations = 1;
  if (has_meta) {
    rc = sqlite3_prepare_v2(db, "SELECT value FROM store_meta WHERE key=?", -1, &s, nullptr);
    if (rc != SQLITE_OK) return fail("store_meta");
    sqlite3_bind_text(s, 1, kIdentityGenerationsKey, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) generations = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail("store_meta");
  }
  sqlite3_close(db);
  if (generations < 1 || generations > 1024)
    throw std::runtime_error(db_path + " says its identifiers are hashed with " + std::to_string(generations) +
                             " key generations, which cannot be right; restore the store from backup");
  return static_cast<int>(generations);
}

std::string short_tag(const IdentifierHash& h) { return wire::hex_encode(std::span(h).first(4)); }

}  // namespace regulars::daemon
