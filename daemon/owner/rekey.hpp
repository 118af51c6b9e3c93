// Re-keying the installation's identity secret (regularsctl rekey), offline.
//
// A leaked copy of secret.key lets whoever also has the store (a stolen backup, say) test
// guesses of phone numbers and cards against it. A re-key adds a key generation and re-hashes
// every stored identifier hash with the new key alone (new = HMAC(k_new, old), see
// identity.hpp), so from then on the old file matches nothing, and no customer is lost: the raw
// identifiers are never needed.
//
// Crash safety comes from the order of the two steps. First the secret file is replaced (the
// generations in use plus the new one; tmp file, fsync, rename, fsync of the directory); then
// one SQLite transaction re-hashes identifiers.hash, events.id_hash and the hashes inside link and
// merge bodies and sets store_meta 'identity_generations'. Dying between the two leaves the
// store at N generations with an unused key N+1 in the file: the daemon uses the first N, and
// the next re-key replaces the extra key.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace regulars::daemon {

// The schema whose identifier hashes rekey covers: identifiers.hash, events.id_hash, and the
// "identifier" and "other" hashes in link and merge bodies. (lane_tokens.hash, v12, is the
// SHA-256 of a lane's token, not keyed with the identity secret: it stays; v13 only dropped an
// index; v14 only added customers.enrolled_seq; v15 only the consent withdrawal times; v16 erased_identifiers.hash, covered; v17 blend_cells, counts only; v18 the staff ideas' review state; v19 an index by time; v20 the chain's origin store and watermarks, no hash; v21 chain_erasure_outbox, which must be empty: rekey refuses otherwise; v22 the seq high-water mark; v23 erased_identifiers.lifted_ms, a time.) A store at another version is refused: a migration that keeps an identifier hash
// somewhere new must be covered in rekey.cpp before this moves (a unit test fails when a
// migration is added).
inline constexpr int kRekeySchemaVersion = 23;

struct RekeyResult {
  int generation = 0;            // generations in use now
  std::int64_t identifiers = 0;  // identifiers rows re-hashed
  std::int64_t events = 0;       // events whose id_hash was re-hashed
  std::int64_t bodies = 0;       // link and merge bodies whose hash was re-hashed
  std::int64_t free_pages_scrubbed = 0;
  bool wal_truncated = false;    // false: a reader kept the WAL busy; old pages may remain in it
  double seconds = 0;
};

// Re-keys the store in `data_dir` (regularsd must be stopped: its lock file is taken, without
// waiting, for the whole run). `actor` goes into the audit row ('rekey'), with `detail_user`.
// `progress` gets one line per step. Throws std::runtime_error saying what to do when it
// refuses or fails; nothing in the store has changed then.
// With `adopt_newest_generation`, the new key is not drawn here: it is the newest generation
// already in secret.key, copied from the store of a chain that re-keyed first, so every store
// of the chain hashes alike again (daemon/chain/CHAIN.md, "Re-keying a chain").
RekeyResult rekey_identity(const std::string& data_dir, const std::string& actor, const std::string& detail_user,
                           const std::function<void(const std::string&)>& progress, bool adopt_newest_generation = false);

}  // namespace regulars::daemon
