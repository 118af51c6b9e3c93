#include "owner/rekey.hpp"

#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "db/db.hpp"
#include "memory/identity.hpp"
#include "memory/projector.hpp"
#include "store/data_dir_lock.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

namespace {

using nlohmann::json;

std::int64_t scalar(Db& db, const std::string& sql) {
  Stmt s(db.raw(), sql);
  return s.step() ? s.i64(0) : 0;
}

// One line per tenth of a long step.
class Progress {
 public:
  Progress(const std::function<void(const std::string&)>& out, std::string step, std::int64_t total)
      : out_(out), step_(std::move(step)), total_(total) {}
  void advance(std::int64_t n) {
    done_ += n;
    if (!out_ || total_ < 250000) return;  // short steps need no more than their heading
    while (done_ * 10 >= next_tenth_ * total_ && next_tenth_ <= 10) {
      out_("  " + step_ + ": " + std::to_string(next_tenth_ * 10) + "%");
      ++next_tenth_;
    }
  }

 private:
  const std::function<void(const std::string&)>& out_;
  std::string step_;
  std::int64_t total_, done_ = 0, next_tenth_ = 1;
};

bool is_hash_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// A stored hash column, checked: anything but 32 bytes means the store is not what we think.
IdentifierHash stored_hash(const Stmt& row, int col, const std::string& where) {
  IdentifierHash h{};
  if (sqlite3_column_type(row.raw(), col) != SQLITE_BLOB || sqlite3_column_bytes(row.raw(), col) != static_cast<int>(h.size()))
    throw std::runtime_error(where + " holds a hash that is not 32 bytes; the store is damaged (check it with regularsctl rebuild)");
  std::memcpy(h.data(), sqlite3_column_blob(row.raw(), col), h.size());
  return h;
}

// A link's "identifier" or a merge's "other" hash, re-hashed; the body serialised as the daemon
// serialises bodies (prepare_event).
std::string rehash_body(const std::string& text, const IdentitySecret& key, std::int64_t seq) {
  json body = json::parse(text, nullptr, false);
  const std::string where = "event seq " + std::to_string(seq);
  if (body.is_discarded() || !body.is_object()) throw std::runtime_error(where + " (link or merge) has a body that is not a JSON object");
  int found = 0;
  for (const char* field : {"identifier", "other"}) {
    const auto it = body.find(field);
    if (it == body.end()) continue;
    const auto hash = it->is_object() ? it->find("hash") : it->end();
    if (hash == it->end() || !hash->is_string() || !is_hash_hex(hash->get<std::string>()))
      throw std::runtime_error(where + " names an identifier without a valid hash (64 hex digits)");
    *hash = to_hex(IdentityKey::chain(key, from_hex(hash->get<std::string>()).value()));  // is_hash_hex checked it
    ++found;
  }
  if (found == 0) throw std::runtime_error(where + " is a link or merge that names no second identifier");
  return wire::dump_json(body);
}

// Every row is changed by a statement of its own: a statement that changes many rows inside a
// transaction keeps a journal of every page it touches, in memory (temp_store=MEMORY), which on
// a large store is the size of the log; moving it to a temporary file instead would write the
// old hashes to disk outside the data directory.
constexpr std::int64_t kBatch = 8192;

// identifiers: keyed by (kind, hash), so walking that key while changing it could meet a row
// twice. Walked by customer instead (identifiers_by_customer), a range of customer ids at a time.
std::int64_t rehash_identifiers(Db& db, const IdentitySecret& key, const std::function<void(const std::string&)>& out) {
  const std::int64_t total = scalar(db, "SELECT count(*) FROM identifiers");
  Progress progress(out, "identifiers", total);
  const std::int64_t last = scalar(db, "SELECT coalesce(max(customer_id), 0) FROM identifiers");
  Stmt select(db.raw(), "SELECT kind, hash FROM identifiers WHERE customer_id > ? AND customer_id <= ?");
  Stmt update(db.raw(), "UPDATE identifiers SET hash=? WHERE kind=? AND hash=?");
  std::vector<std::pair<std::string, IdentifierHash>> batch;
  std::int64_t done = 0;
  for (std::int64_t from = scalar(db, "SELECT coalesce(min(customer_id), 1) FROM identifiers") - 1; from < last; from += kBatch) {
    batch.clear();
    select.bind(1, from).bind(2, from + kBatch);
    while (select.step()) batch.emplace_back(select.text(0), stored_hash(select, 1, "identifiers"));
    select.reset();
    for (const auto& [kind, old] : batch) {
      const IdentifierHash h = IdentityKey::chain(key, old);
      update.bind_blob(1, h.data(), h.size()).bind(2, kind).bind_blob(3, old.data(), old.size()).run();
      update.reset();
    }
    done += static_cast<std::int64_t>(batch.size());
    progress.advance(static_cast<std::int64_t>(batch.size()));
  }
  if (done != total)
    throw std::runtime_error("re-hashed " + std::to_string(done) + " identifiers of " + std::to_string(total) + "; the store is damaged");
  return done;
}

// An erasure's tombstone (a few rows per erasure): erased_identifiers and erased_events, each
// read whole and rewritten.
std::int64_t rehash_tombstone(Db& db, const IdentitySecret& key) {
  struct ErasedIdentifier {
    std::string kind;
    IdentifierHash hash;
    std::int64_t erased_ms;
    std::optional<std::int64_t> lifted_ms;
  };
  std::vector<ErasedIdentifier> identifiers;
  std::vector<std::pair<IdentifierHash, std::int64_t>> events;
  {
    Stmt select(db.raw(), "SELECT kind, hash, erased_ms, lifted_ms FROM erased_identifiers");
    while (select.step())
      identifiers.push_back({select.text(0), stored_hash(select, 1, "erased_identifiers"), select.i64(2),
                             select.is_null(3) ? std::nullopt : std::optional<std::int64_t>(select.i64(3))});
    Stmt select_events(db.raw(), "SELECT hash, erased_ms FROM erased_events");
    while (select_events.step()) events.emplace_back(stored_hash(select_events, 0, "erased_events"), select_events.i64(1));
  }
  db.exec("DELETE FROM erased_identifiers");
  db.exec("DELETE FROM erased_events");
  Stmt insert(db.raw(), "INSERT INTO erased_identifiers(kind, hash, erased_ms, lifted_ms) VALUES(?,?,?,?)");
  for (const auto& [kind, old, erased_ms, lifted_ms] : identifiers) {
    const IdentifierHash h = IdentityKey::chain(key, old);
    insert.bind(1, kind).bind_blob(2, h.data(), h.size()).bind(3, erased_ms);
    if (lifted_ms) insert.bind(4, *lifted_ms);
    else insert.bind_null(4);
    insert.run();
    insert.reset();
  }
  Stmt insert_event(db.raw(), "INSERT INTO erased_events(hash, erased_ms) VALUES(?,?)");
  for (const auto& [old, erased_ms] : events) {
    const IdentifierHash h = IdentityKey::chain(key, old);
    insert_event.bind_blob(1, h.data(), h.size()).bind(2, erased_ms).run();
    insert_event.reset();
  }
  return static_cast<std::int64_t>(identifiers.size());
}

// events: the customer's id_hash, and in link and merge bodies the second identifier's hash.
// Walked by seq, which no update changes.
std::pair<std::int64_t, std::int64_t> rehash_events(Db& db, const IdentitySecret& key,
                                                    const std::function<void(const std::string&)>& out) {
  Progress progress(out, "events", scalar(db, "SELECT count(*) FROM events"));
  Stmt select(db.raw(),
              "SELECT seq, id_hash, CASE WHEN type IN ('link', 'merge') THEN body END FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
  Stmt set_hash(db.raw(), "UPDATE events SET id_hash=? WHERE seq=?");
  Stmt set_body(db.raw(), "UPDATE events SET body=? WHERE seq=?");
  struct Row {
    std::int64_t seq;
    std::optional<IdentifierHash> hash;
    std::optional<std::string> body;
  };
  std::vector<Row> batch;
  std::int64_t events = 0, bodies = 0, after = 0;
  do {
    batch.clear();
    select.bind(1, after).bind(2, kBatch);
    while (select.step()) {
      Row& r = batch.emplace_back(Row{select.i64(0), std::nullopt, std::nullopt});
      if (!select.is_null(1)) r.hash = stored_hash(select, 1, "event seq " + std::to_string(r.seq));
      if (!select.is_null(2)) r.body = rehash_body(select.text(2), key, r.seq);
    }
    select.reset();
    for (const Row& r : batch) {
      if (r.hash) {
        const IdentifierHash h = IdentityKey::chain(key, *r.hash);
        set_hash.bind_blob(1, h.data(), h.size()).bind(2, r.seq).run();
        set_hash.reset();
        ++events;
      }
      if (r.body) {
        set_body.bind(1, std::string_view(*r.body)).bind(2, r.seq).run();
        set_body.reset();
        ++bodies;
      }
    }
    if (!batch.empty()) after = batch.back().seq;
    progress.advance(static_cast<std::int64_t>(batch.size()));
  } while (static_cast<std::int64_t>(batch.size()) == kBatch);
  return {events, bodies};
}

// Pages on the freelist may still hold hashes from before: under the daemon's routine
// secure_delete=FAST, freed pages are not zeroed. Allocating every free page to a table of
// zero-filled blobs overwrites them, and dropping it (secure_delete=ON) frees them zeroed.
std::int64_t scrub_free_pages(Db& db) {
  const std::int64_t free_pages = scalar(db, "PRAGMA freelist_count");
  if (free_pages == 0) return 0;
  const std::int64_t page_size = scalar(db, "PRAGMA page_size");
  db.exec("CREATE TABLE main.rekey_scrub(b BLOB)");
  Stmt insert(db.raw(), "INSERT INTO main.rekey_scrub(b) VALUES(zeroblob(?))");
  for (std::int64_t left; (left = scalar(db, "PRAGMA freelist_count")) > 0;) {
    // Each overflow page carries page_size - 4 bytes; 4096 pages at a time keep blobs modest.
    insert.bind(1, std::min<std::int64_t>(left, 4096) * (page_size - 4)).run();
    insert.reset();
  }
  db.exec("DROP TABLE main.rekey_scrub");
  return free_pages;
}

}  // namespace

namespace {

using ProgressLines = std::function<void(const std::string&)>;

// Refuses a data directory that is not one, or lacks the store or its secret.
void check_data_dir(const std::string& data_dir, const std::string& db_path, const std::string& secret_path) {
  struct stat st{};
  if (::stat(data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error(data_dir + " is not a data directory (is --data-dir right?)");
  if (::stat(db_path.c_str(), &st) != 0) throw std::runtime_error("there is no store at " + db_path + " (is --data-dir right?)");
  if (::stat(secret_path.c_str(), &st) != 0)
    throw std::runtime_error(secret_path + " is missing; restore secret.key from the backup taken with the database");
}

// Refuses a store whose schema this re-key does not cover.
void check_schema(Db& db) {
  const int schema = schema_version(db);
  if (schema < kRekeySchemaVersion)
    throw std::runtime_error("the store has schema version " + std::to_string(schema) + "; start regularsd once so it upgrades the store (" +
                             "then stop it) and run rekey again");
  if (schema > kRekeySchemaVersion)
    throw std::runtime_error("the store has schema version " + std::to_string(schema) + " but this rekey covers the hashes of version " +
                             std::to_string(kRekeySchemaVersion) + "; use the regularsctl that came with this regularsd");
}

// An erasure not yet on the chain's hub names its customer by hashes of the old generation, which
// the hub and the other stores know; re-hashing it would make it name nobody there.
void check_no_erasure_waiting_for_the_chain(Db& db) {
  Stmt s(db.raw(), "SELECT count(*) FROM chain_erasure_outbox");
  if (s.step() && s.i64(0) > 0)
    throw std::runtime_error("an erasure made here has not reached the chain's hub yet; start regularsd until "
                             "'regularsctl chain status' shows no erasure waiting, stop it, and run rekey again");
}

// The generations in use, as the store says, and a new one after them; the file may hold one
// more from a re-key that died before its commit, which this one replaces.
std::vector<IdentitySecret> secrets_with_a_new_generation(const std::string& db_path, const std::string& secret_path) {
  const int in_use = stored_identity_generations(db_path);
  std::vector<IdentitySecret> secrets = read_identity_secrets(secret_path);
  if (static_cast<int>(secrets.size()) < in_use)
    throw std::runtime_error(secret_path + " holds " + std::to_string(secrets.size()) + " key generation(s) but the store uses " +
                             std::to_string(in_use) + "; restore secret.key from the backup taken with the database");
  secrets.resize(static_cast<std::size_t>(in_use));
  IdentitySecret key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
    throw std::runtime_error("cannot generate a new key (OpenSSL RAND_bytes failed)");
  secrets.push_back(key);
  return secrets;
}

// Notes the generation in use and the audit row, inside the re-key's transaction.
void record_generation(Db& db, const RekeyResult& result, const std::string& actor, const std::string& detail_user) {
  db.cached("INSERT INTO store_meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value")
      .bind(1, std::string_view(kIdentityGenerationsKey))
      .bind(2, std::int64_t{result.generation})
      .run();
  const json detail = {{"generation", result.generation}, {"identifiers", result.identifiers}, {"events", result.events},
                       {"bodies", result.bodies},         {"user", detail_user}};
  db.cached("INSERT INTO audit(time_ms, actor, action, target, detail) VALUES(?,?,'rekey',?,?)")
      .bind(1, wire::now_ms())
      .bind(2, actor)
      .bind(3, "generation " + std::to_string(result.generation))
      .bind(4, wire::dump_json(detail))
      .run();
}

// Step 2: every stored hash chained once more with `key`, in one transaction, with every freed
// byte overwritten. Throws, the store unchanged, when anything fails.
RekeyResult rehash_store(Db& db, const IdentitySecret& key, int generation, const std::string& actor,
                         const std::string& detail_user, const ProgressLines& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  RekeyResult result;
  result.generation = generation;
  db.exec("PRAGMA secure_delete=ON");
  db.exec("BEGIN IMMEDIATE");
  try {
    say("re-hashing identifiers...");
    result.identifiers = rehash_identifiers(db, key, progress);
    say("re-hashing the erasure tombstones...");
    result.identifiers += rehash_tombstone(db, key);
    say("re-hashing the event log (each event's identifier, and the second one in link and merge events)...");
    std::tie(result.events, result.bodies) = rehash_events(db, key, progress);
    say("overwriting free pages...");
    result.free_pages_scrubbed = scrub_free_pages(db);
    record_generation(db, result, actor, detail_user);
    say("committing...");
    db.exec("COMMIT");
  } catch (const std::exception& e) {
    try {
      db.exec("ROLLBACK");
    } catch (...) {  // a failed COMMIT may have rolled back already
    }
    throw std::runtime_error(std::string("rekey failed and the store is unchanged (secret.key holds an unused extra key, which "
                                         "the next rekey replaces; regularsd ignores it): ") +
                             e.what());
  }
  return result;
}

}  // namespace

// The generations in use and the newest one in the file, which another store of the chain wrote
// in its own re-key and which was copied here (a chain-wide re-key, daemon/chain/CHAIN.md).
std::vector<IdentitySecret> secrets_with_the_chains_new_generation(const std::string& db_path, const std::string& secret_path) {
  const int in_use = stored_identity_generations(db_path);
  std::vector<IdentitySecret> secrets = read_identity_secrets(secret_path);
  if (static_cast<int>(secrets.size()) != in_use + 1)
    throw std::runtime_error(secret_path + " holds " + std::to_string(secrets.size()) + " key generation(s) and the store uses " +
                             std::to_string(in_use) + "; --adopt needs exactly one more: copy here the secret.key of the store "
                             "of the chain that re-keyed first");
  return secrets;
}

RekeyResult rekey_identity(const std::string& data_dir, const std::string& actor, const std::string& detail_user,
                           const ProgressLines& progress, bool adopt_newest_generation) {
  const auto started = std::chrono::steady_clock::now();
  const std::string db_path = data_dir + "/regulars.db";
  const std::string secret_path = data_dir + "/secret.key";
  check_data_dir(data_dir, db_path, secret_path);
  DataDirLock lock(data_dir);
  check_data_dir(data_dir, db_path, secret_path);  // as it is now that no daemon can change it
  Db db(db_path, Db::Mode::read_write);
  check_schema(db);
  check_no_erasure_waiting_for_the_chain(db);
  const std::vector<IdentitySecret> secrets = adopt_newest_generation
                                                  ? secrets_with_the_chains_new_generation(db_path, secret_path)
                                                  : secrets_with_a_new_generation(db_path, secret_path);
  const int generation = static_cast<int>(secrets.size());

  // Step 1: the file first, durably. Until the transaction below commits, the store still says
  // it uses one generation fewer and the daemon ignores the new key.
  if (!adopt_newest_generation) write_identity_secrets(secret_path, secrets);
  if (progress)
    progress("wrote " + secret_path + " with " + std::to_string(generation) + " key generations (generation " +
             std::to_string(generation) + " not in use until the store is re-hashed)");
  RekeyResult result = rehash_store(db, secrets.back(), generation, actor, detail_user, progress);

  // The old pages live on in the WAL until it is copied back and emptied.
  if (progress) progress("checkpointing and emptying the write-ahead log...");
  int log = 0, copied = 0;
  result.wal_truncated = sqlite3_wal_checkpoint_v2(db.raw(), "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &copied) == SQLITE_OK;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace regulars::daemon
