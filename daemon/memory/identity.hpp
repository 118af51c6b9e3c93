// Keyed hashing of customer identifiers: the raw value never reaches the store or the logs.
//
// The installation's secret has generations (DATA_DIR/secret.key holds them in order, 32 bytes
// each). A stored hash is the chain h1 = HMAC(k1, kind || 0x00 || value), h(i+1) = HMAC(k(i+1), h(i)):
// a re-key (daemon/owner/rekey.hpp) adds a generation and re-hashes every stored hash with the new key
// alone, without ever needing the raw identifiers, and from then on a leaked copy of the earlier
// keys matches nothing in the store. The store (store_meta 'identity_generations', absent = 1)
// says how many generations are in use; the file may hold one more, left by a re-key that died
// before its transaction committed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regulars::daemon {

using IdentifierHash = std::array<std::uint8_t, 32>;
using IdentitySecret = std::array<std::uint8_t, 32>;

// The store_meta key holding how many secret generations the stored hashes are chained over.
inline constexpr const char* kIdentityGenerationsKey = "identity_generations";

class IdentityKey {
 public:
  // Loads DIR/secret.key, creating it (32 random bytes, mode 0600) on first start, and uses as
  // many generations as the store in DIR/regulars.db says (read-only look at store_meta).
  // Refuses a file that is readable by others, damaged, or holds fewer generations than the
  // store needs (with what to do about it).
  static IdentityKey load_or_create(const std::string& data_dir);
  // One generation: a store that was never re-keyed (tests, benchmarks).
  explicit IdentityKey(IdentitySecret secret) : keys_{secret} {}
  // The generations in order, oldest first; at least one.
  explicit IdentityKey(std::vector<IdentitySecret> generations);

  // The chain over every generation in use; with one, HMAC-SHA256(k1, kind || 0x00 || normalised value).
  IdentifierHash hash(std::string_view kind, std::string_view normalized_value) const;
  std::size_t generations() const noexcept { return keys_.size(); }

  // One link of the chain: HMAC-SHA256(key, previous). What a re-key applies to each stored hash.
  static IdentifierHash chain(const IdentitySecret& key, const IdentifierHash& previous);

 private:
  std::vector<IdentitySecret> keys_;
};

// Every generation in DIR/secret.key (a missing file is an error here). Refuses a file readable
// by others or whose size is not a positive multiple of 32 bytes.
std::vector<IdentitySecret> read_identity_secrets(const std::string& path);
// Replaces `path` with `secrets` crash-safely: a temporary file (mode 0600, the old file's owner
// when run as root), fsync, rename over the old one, fsync of the directory. Either the old or
// the new content survives a crash, never a mix.
void write_identity_secrets(const std::string& path, const std::vector<IdentitySecret>& secrets);
// How many generations the store at `db_path` is hashed with: store_meta 'identity_generations',
// 1 when the store, the table or the row does not exist yet. Opens the file read-only.
int stored_identity_generations(const std::string& db_path);
// Whether the store at `db_path` holds any identifier (false when it does not exist yet).
bool store_has_identifiers(const std::string& db_path);

// First 8 hex digits of a hash: enough to follow one customer through the logs, useless to
// recover the identifier.
std::string short_tag(const IdentifierHash& h);

}  // namespace regulars::daemon
