#include "db/db.hpp"

#include <array>
#include <memory>

namespace regulars::daemon {

namespace {
[[noreturn]] void throw_db(sqlite3* db, int rc, std::string_view what) {
  throw DbError(rc, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}
}  // namespace

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                                    nullptr);
  if (rc != SQLITE_OK) throw_db(db, rc, "prepare");
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int idx, std::int64_t v) {
  if (const int rc = sqlite3_bind_int64(stmt_, idx, v); rc != SQLITE_OK) throw_db(db_, rc, "bind");
  return *this;
}
Stmt& Stmt::bind(int idx, double v) {
  if (const int rc = sqlite3_bind_double(stmt_, idx, v); rc != SQLITE_OK) throw_db(db_, rc, "bind");
  return *this;
}
Stmt& Stmt::bind(int idx, std::string_view v) {
  if (const int rc = sqlite3_bind_text64(stmt_, idx, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8); rc != SQLITE_OK)
    throw_db(db_, rc, "bind");
  return *this;
}
Stmt& Stmt::bind_blob(int idx, const void* data, std::size_t n) {
  if (const int rc = sqlite3_bind_blob64(stmt_, idx, data, n, SQLITE_TRANSIENT); rc != SQLITE_OK)
    throw_db(db_, rc, "bind");
  return *this;
}
Stmt& Stmt::bind_null(int idx) {
  if (const int rc = sqlite3_bind_null(stmt_, idx); rc != SQLITE_OK) throw_db(db_, rc, "bind");
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_db(db_, rc, "step");
}

void Stmt::run() {
  while (step()) {
  }
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string_view Stmt::view(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}

Db::Db(const std::string& path, Mode mode) {
  const int flags = (mode != Mode::read_write ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw DbError(rc, msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
  if (mode == Mode::read_write) {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");  // a commit is on disk before its acknowledgement goes out
    exec("PRAGMA foreign_keys=ON");
    // Routine writes zero freed space when it costs no extra I/O; erasure switches to full
    // secure_delete for its own statements (Projector::forget_history).
    exec("PRAGMA secure_delete=FAST");
    // 8 MiB. A bigger cache costs the writer more than it saves: while the file is under 1 GiB,
    // the page cache's highest page number stays at the pending-byte page (1 GiB) and most
    // commits then walk the whole cache hash table (pcache1TruncateUnsafe), which grows with the
    // cache. Misses are served by the operating system's cache in microseconds.
    exec("PRAGMA cache_size=-8192");
    exec("PRAGMA wal_autocheckpoint=4000");
  } else if (mode == Mode::read_only) {
    exec("PRAGMA cache_size=-16384");  // 16 MiB per reader
  } else {
    exec("PRAGMA cache_size=-2048");
  }
  // Savepoint journals and sorts stay in memory instead of spilling to a temp file per commit.
  exec("PRAGMA temp_store=MEMORY");
  // No memory-mapped reads: a mapped window keeps every page it touches resident in the daemon,
  // and the page fault of a newly touched page costs more than the read(2) of a cached one.
  exec("PRAGMA mmap_size=0");
}

Db::~Db() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

void Db::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string s(sql);
  const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw DbError(rc, msg);
  }
}

Stmt& Db::cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(std::string(sql), std::make_unique<Stmt>(db_, sql)).first;
  it->second->reset();
  return *it->second;
}

SecureDelete::SecureDelete(Db& db) : db_(db) { db_.exec("PRAGMA secure_delete=ON"); }

SecureDelete::~SecureDelete() {
  try {
    db_.exec("PRAGMA secure_delete=FAST");
  } catch (...) {  // staying on full secure_delete is safe, only slower
  }
}

int schema_version(Db& db) {
  Stmt s(db.raw(), "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.i64(0));
}

namespace {
// Each entry moves the schema one version up. Never edit a published step; append a new one.
constexpr std::array<std::string_view, 23> kMigrations{R"sql(
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY,          -- order of arrival; the log is append-only
  event_id    TEXT NOT NULL UNIQUE,         -- made by the client: replays are recognised here
  type        TEXT NOT NULL,
  customer_id INTEGER,
  time_ms     INTEGER NOT NULL,
  store       TEXT, terminal TEXT, cashier TEXT, touchpoint TEXT,
  body        TEXT NOT NULL                 -- the event as JSON, without the raw identifier
);
CREATE INDEX events_by_customer ON events(customer_id, time_ms);

CREATE TABLE customers (
  id              INTEGER PRIMARY KEY,
  created_ms      INTEGER NOT NULL,
  first_seen_ms   INTEGER,
  last_seen_ms    INTEGER,
  visits          INTEGER NOT NULL DEFAULT 0,
  spend           INTEGER NOT NULL DEFAULT 0,     -- minor units
  consent_remember    INTEGER,                    -- NULL: never asked
  consent_personalize INTEGER,
  consent_ms          INTEGER
);

-- Identifiers are stored only as HMAC-SHA256 under the installation's secret.
CREATE TABLE identifiers (
  kind        TEXT NOT NULL,
  hash        BLOB NOT NULL,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  created_ms  INTEGER NOT NULL,
  PRIMARY KEY (kind, hash)
) WITHOUT ROWID;

-- How often and how recently each customer buys each item (one count per visit).
CREATE TABLE customer_items (
  customer_id  INTEGER NOT NULL REFERENCES customers(id),
  sku          TEXT NOT NULL,
  baskets      INTEGER NOT NULL,
  qty          REAL NOT NULL,
  first_ms     INTEGER NOT NULL,
  last_ms      INTEGER NOT NULL,
  PRIMARY KEY (customer_id, sku)
) WITHOUT ROWID;
-- Top items of one customer without reading all of them.
CREATE INDEX customer_items_rank ON customer_items(customer_id, baskets DESC, last_ms DESC);

-- The store's catalogue as seen at the till, with its popularity.
CREATE TABLE items (
  sku      TEXT PRIMARY KEY,
  name     TEXT,
  baskets  INTEGER NOT NULL,
  qty      REAL NOT NULL,
  last_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX items_rank ON items(baskets DESC);
)sql", R"sql(
-- v2: the log keeps each event's identifier (as its keyed hash), so customers and their
-- identifiers are projections too and a rebuild can re-derive them, merges included.
ALTER TABLE events ADD COLUMN id_kind TEXT;
ALTER TABLE events ADD COLUMN id_hash BLOB;
CREATE INDEX identifiers_by_customer ON identifiers(customer_id);  -- before the backfill, which uses it
UPDATE events SET id_kind = (SELECT kind FROM identifiers i WHERE i.customer_id = events.customer_id LIMIT 1),
                  id_hash = (SELECT hash FROM identifiers i WHERE i.customer_id = events.customer_id LIMIT 1);

ALTER TABLE customers ADD COLUMN name TEXT;
ALTER TABLE customers ADD COLUMN birthday TEXT;          -- MM-DD or YYYY-MM-DD
ALTER TABLE customers ADD COLUMN anniversary TEXT;
ALTER TABLE customers ADD COLUMN language TEXT;
ALTER TABLE customers ADD COLUMN discreet INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN do_not_mention TEXT;    -- JSON array of topics
ALTER TABLE customers ADD COLUMN returns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN returned_value INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN weekday_hist TEXT;      -- JSON [7] visits by local weekday, Monday first
ALTER TABLE customers ADD COLUMN hour_hist TEXT;         -- JSON [24] visits by local hour

ALTER TABLE customer_items ADD COLUMN returned REAL NOT NULL DEFAULT 0;
ALTER TABLE customer_items ADD COLUMN category TEXT;
ALTER TABLE items ADD COLUMN category TEXT;

CREATE TABLE customer_categories (
  customer_id INTEGER NOT NULL, category TEXT NOT NULL, baskets INTEGER NOT NULL, last_ms INTEGER NOT NULL,
  PRIMARY KEY (customer_id, category)
) WITHOUT ROWID;

-- What each household member ("her son") gets bought, from lines recorded "for" them.
CREATE TABLE member_items (
  customer_id INTEGER NOT NULL, member TEXT NOT NULL, sku TEXT NOT NULL,
  baskets INTEGER NOT NULL, last_ms INTEGER NOT NULL,
  PRIMARY KEY (customer_id, member, sku)
) WITHOUT ROWID;

CREATE TABLE household (
  customer_id INTEGER NOT NULL, member TEXT NOT NULL, name TEXT, birthday TEXT,
  PRIMARY KEY (customer_id, member)
) WITHOUT ROWID;

-- Explicit preferences: who said it and when. member '' is the customer themself.
CREATE TABLE preferences (
  customer_id INTEGER NOT NULL, member TEXT NOT NULL DEFAULT '', key TEXT NOT NULL, value TEXT NOT NULL,
  said_by TEXT, cashier TEXT, time_ms INTEGER NOT NULL,
  PRIMARY KEY (customer_id, member, key)
) WITHOUT ROWID;

CREATE TABLE notes (
  seq INTEGER PRIMARY KEY,   -- the note event's seq
  customer_id INTEGER NOT NULL, text TEXT NOT NULL, cashier TEXT, time_ms INTEGER NOT NULL
);
CREATE INDEX notes_by_customer ON notes(customer_id, time_ms);
)sql", R"sql(
-- v3: the store's best sellers are read from a small in-memory cache refreshed every few
-- seconds; keeping an index ordered by popularity cost every purchase line a random write.
DROP INDEX items_rank;
)sql", R"sql(
-- v4: recency-weighted item memory. For each customer and item, dsum is the decayed number of
-- visits with the item (each older visit counts d times the next) as of the customer's visit
-- dvis; rank_key = ln(dsum) + dvis * ln(1/d) orders a customer's items exactly as their decayed
-- score does at any later visit, so the top items come straight from an index. The repeat
-- counters measure how often a basket's items were already known to the customer (a store
-- where people rarely repeat leans on what sells instead). Filled for old stores by a rebuild
-- at start-up.
ALTER TABLE customer_items ADD COLUMN dsum REAL NOT NULL DEFAULT 0;
ALTER TABLE customer_items ADD COLUMN dvis INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customer_items ADD COLUMN rank_key REAL NOT NULL DEFAULT 0;
DROP INDEX customer_items_rank;
CREATE INDEX customer_items_recent ON customer_items(customer_id, rank_key DESC);
ALTER TABLE customers ADD COLUMN repeat_hits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN repeat_total INTEGER NOT NULL DEFAULT 0;
CREATE TABLE store_stats (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  baskets INTEGER NOT NULL, repeat_hits INTEGER NOT NULL, repeat_total INTEGER NOT NULL
);
INSERT INTO store_stats VALUES (1, 0, 0, 0);
)sql", R"sql(
-- v5: the writer keeps item popularity in memory and writes the items table now and then;
-- items_seq is the last event that table includes (later purchases are counted again at
-- start-up).
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO store_meta VALUES ('items_seq', (SELECT coalesce(max(seq), 0) FROM events));
)sql", R"sql(
-- v6: feedback (NPS, CSAT), the owner's follow-up queue for unhappy customers, staff ideas.
-- Feedback may be anonymous (customer_id NULL). Each row's seq is its event's seq.
CREATE TABLE feedback (
  seq INTEGER PRIMARY KEY, customer_id INTEGER, time_ms INTEGER NOT NULL,
  nps INTEGER, csat INTEGER, declined INTEGER NOT NULL DEFAULT 0,
  reasons TEXT,                  -- JSON array of tags
  comment TEXT,                  -- personal data: erased with the customer
  cashier TEXT, lane TEXT, store TEXT, touchpoint TEXT, visit TEXT
);
CREATE INDEX feedback_by_customer ON feedback(customer_id, time_ms);
CREATE INDEX feedback_by_time ON feedback(time_ms);
CREATE TABLE followups (
  feedback_seq INTEGER PRIMARY KEY,   -- the unhappy feedback that opened it
  customer_id INTEGER,
  opened_ms INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'contacted', 'resolved')),
  updated_ms INTEGER NOT NULL,
  notes TEXT                          -- JSON array of {time_ms, state, by, note}
);
CREATE INDEX followups_by_customer ON followups(customer_id, state);
CREATE TABLE staff_ideas (
  seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, cashier TEXT NOT NULL, lane TEXT, store TEXT,
  kind TEXT NOT NULL, text TEXT NOT NULL
);
ALTER TABLE customers ADD COLUMN last_feedback_ms INTEGER;   -- asked (answered or declined)
ALTER TABLE customers ADD COLUMN last_complaint_ms INTEGER;  -- detractor or CSAT <= 2
)sql", R"sql(
-- v7: what customers go on to buy. For each item (src), how many purchases had it among the
-- buyer's top items (transitions), and its most frequent successors (at most 32, Space-Saving
-- counts) in one row: "sku<US>count<RS>sku<US>count..." (US = 0x1F, RS = 0x1E, which no SKU
-- holds). Kept in memory by the writer and written with the items table, one row per item.
CREATE TABLE item_sources (src TEXT PRIMARY KEY, transitions INTEGER NOT NULL, successors TEXT NOT NULL) WITHOUT ROWID;
-- item_sources includes the events up to sources_seq; the purchases after it are counted at
-- start-up (all of them, once, for a store upgraded to v7).
INSERT INTO store_meta VALUES ('sources_seq', 0);
)sql", R"sql(
-- v8: loyalty gestures. The owner's rules (their JSON as given, validated), and the offers made
-- at the tills: an `offer` event the daemon logs when a rule applies (status offered, or
-- held_out for the control group), then the till's `offer_outcome` (accepted, declined,
-- redeemed). Each offer's cost is what the rule says one gesture may cost.
CREATE TABLE gesture_rules (
  id TEXT PRIMARY KEY, body TEXT NOT NULL, enabled INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE offers (
  offer_id    TEXT PRIMARY KEY,
  seq         INTEGER NOT NULL,     -- the offer event
  rule_id     TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  made_ms     INTEGER NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('offered', 'held_out', 'accepted', 'declined', 'redeemed')),
  cost        INTEGER NOT NULL,
  visit       INTEGER NOT NULL,     -- the customer's visit number the offer was made at
  cashier TEXT, lane TEXT, sku TEXT,
  updated_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX offers_by_rule ON offers(rule_id, made_ms);
CREATE INDEX offers_by_customer ON offers(customer_id, rule_id);
-- Customer tags ("vip", "staff"), set by profile events; a JSON array.
ALTER TABLE customers ADD COLUMN tags TEXT;
-- What a purchase (positive) or return (negative) was worth, in minor units, so "spend over
-- the last N days" reads the log's index instead of every event's JSON.
ALTER TABLE events ADD COLUMN value INTEGER;
UPDATE events SET value = (SELECT CAST(round(sum(coalesce(json_extract(l.value, '$.qty'), 1) *
                                                 coalesce(json_extract(l.value, '$.unit_price'), 0))) AS INTEGER)
                           FROM json_each(events.body, '$.lines') l) * (CASE type WHEN 'return' THEN -1 ELSE 1 END)
 WHERE type IN ('purchase', 'return');
)sql", R"sql(
-- v9: how many of a customer's visits bought something "for" a household member, so a hints
-- answer for the many customers with none skips reading member_items at all.
ALTER TABLE customers ADD COLUMN member_visits INTEGER NOT NULL DEFAULT 0;
UPDATE customers SET member_visits = (SELECT count(DISTINCT e.seq) FROM events e, json_each(e.body, '$.lines') l
                                       WHERE e.customer_id = customers.id AND e.type = 'purchase'
                                         AND json_extract(l.value, '$.for') IS NOT NULL)
 WHERE id IN (SELECT DISTINCT customer_id FROM member_items);
)sql", R"sql(
-- v10: the right to erasure and the owner's audit trail. A receipt says what was erased and
-- when, and holds nothing that leads back to the person. The audit trail records owner
-- actions (rule changes, exports, erasures) with who and when.
CREATE TABLE erasure_receipts (
  receipt_id TEXT PRIMARY KEY, erased_ms INTEGER NOT NULL, actor TEXT NOT NULL, erased TEXT NOT NULL  -- JSON counts
) WITHOUT ROWID;
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT, detail TEXT   -- JSON; never a raw identifier
);
)sql", R"sql(
-- v11: a customer's events by time carry their value, so "spend over the last N days" (gesture
-- rules) reads the index alone instead of one table page per purchase.
DROP INDEX events_by_customer;
CREATE INDEX events_by_customer ON events(customer_id, time_ms, value);
)sql", R"sql(
-- v12: lanes on other machines authenticate with a token each. Only the token's SHA-256 is
-- kept; a revoked token keeps its row (revoked_ms) so the audit trail can name it.
CREATE TABLE lane_tokens (
  token_id TEXT PRIMARY KEY, terminal TEXT NOT NULL, hash BLOB NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL, created_by TEXT NOT NULL, revoked_ms INTEGER
) WITHOUT ROWID;
)sql", R"sql(
-- v13: no index on customer_items by rank. Every purchase line changes its item's rank_key, so
-- the index moved an entry per line and, through page splits and merges, dirtied about as many
-- pages as the table itself: a quarter of all the pages a purchase writes. A customer's items
-- are already together under the primary key (a few dozen rows, one or two pages), and
-- picking the top few of them by rank_key there costs a hints call some tens of microseconds.
DROP INDEX IF EXISTS customer_items_recent;
)sql", R"sql(
-- v14: a customer keeps the id they were given when a rebuild replays the log. enrolled_seq is
-- the event that enrolled them; a rebuild gives each replayed enrolment the id stored for that
-- event. Before, customers were numbered again in log order, so after an erasure every later
-- customer moved down and a healthy store's rebuild reported differences. Stores enrolled before
-- v14 take their first logged event; for a customer who absorbed another by a merge, that may
-- be the other's, and the first rebuild renumbers them once.
ALTER TABLE customers ADD COLUMN enrolled_seq INTEGER;
UPDATE customers SET enrolled_seq = (SELECT min(seq) FROM events WHERE customer_id = customers.id);
)sql", R"sql(
-- v15: consent changes take effect in the order they were received, and a grant does not undo
-- a withdrawal dated at or after it. Each purpose keeps the latest time it was withdrawn.
ALTER TABLE customers ADD COLUMN remember_withdrawn_ms INTEGER;
ALTER TABLE customers ADD COLUMN personalize_withdrawn_ms INTEGER;
UPDATE customers SET
  remember_withdrawn_ms = (SELECT max(time_ms) FROM events WHERE customer_id = customers.id AND type = 'consent'
                             AND json_extract(body, '$.purposes.remember') = 0),
  personalize_withdrawn_ms = (SELECT max(time_ms) FROM events WHERE customer_id = customers.id AND type = 'consent'
                                AND json_extract(body, '$.purposes.personalize') = 0);
)sql", R"sql(
-- v16: an erasure's tombstone. A replay or a retry of an erased event (same event id) must not
-- bring the customer back, nor may new events for an erased identifier until a new consent is
-- recorded for it. Kept privacy.erasure_tombstone_days; identifiers and event ids only as keyed hashes.
CREATE TABLE erased_identifiers (
  kind TEXT NOT NULL, hash BLOB NOT NULL, erased_ms INTEGER NOT NULL, PRIMARY KEY (kind, hash)
) WITHOUT ROWID;
CREATE TABLE erased_events (hash BLOB PRIMARY KEY, erased_ms INTEGER NOT NULL) WITHOUT ROWID;  -- keyed hash of the id
)sql", R"sql(
-- v17: how well each source of item predictions did on the store's own purchases (memory/blend.hpp):
-- trials and hits per cell, written with the successors. A measurement, not a projection: a
-- rebuild measures it again and does not compare it. An old store starts measuring from empty.
CREATE TABLE blend_cells (cell TEXT PRIMARY KEY, trials REAL NOT NULL, hits REAL NOT NULL) WITHOUT ROWID;
)sql", R"sql(
-- v18: where the owner is with each staff idea: new, seen or done (idea_review events), when it
-- last changed and by whom. Ideas logged before start new.
ALTER TABLE staff_ideas ADD COLUMN state TEXT NOT NULL DEFAULT 'new';
ALTER TABLE staff_ideas ADD COLUMN updated_ms INTEGER;
ALTER TABLE staff_ideas ADD COLUMN reviewed_by TEXT;
)sql", R"sql(
-- v19: purchases by time, for the owner's day and period figures (today's visits, returning
-- customers in a report), which scanned the whole log. Partial, and appended at its right edge
-- as purchases arrive in time order, so a commit dirties about one more page, not one per event.
CREATE INDEX IF NOT EXISTS purchases_by_time ON events(time_ms) WHERE type='purchase';
)sql", R"sql(
-- v20: a chain of stores (daemon/chain, CHAIN.md). An event applied from the chain's hub keeps
-- the store it was recorded at, so it is never published again, and each direction of the link
-- keeps its watermark: the last local event published, the last hub event applied.
ALTER TABLE events ADD COLUMN origin TEXT;   -- NULL: recorded at this store
INSERT INTO store_meta VALUES ('chain_published_seq', 0), ('chain_applied_hub_id', 0);
)sql", R"sql(
-- v21: an erasure made at a store of a chain reaches every store and the hub. Until the link
-- has published it, the erased customer's identifiers wait here as keyed hashes (as in the
-- tombstone); the link deletes them once the hub holds the erasure. The hub's erasures are
-- applied here in their own order, from their own watermark.
CREATE TABLE chain_erasure_outbox (
  receipt_id TEXT NOT NULL, kind TEXT NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (receipt_id, kind, hash)
) WITHOUT ROWID;
INSERT INTO store_meta VALUES ('chain_applied_erasure_id', 0);
)sql", R"sql(
-- v22: an event's seq is never given twice. SQLite gives a new row max(seq) + 1, so once the
-- newest events were deleted (an erasure, a prune) their seqs went to the next events, and
-- whatever had already read up to them (the chain's publishing watermark) skipped those. The
-- highest seq ever deleted is kept here; the writer numbers events above it.
INSERT INTO store_meta VALUES ('seq_high_water', (SELECT coalesce(max(seq), 0) FROM events));
CREATE TRIGGER events_keep_seq_high_water AFTER DELETE ON events BEGIN
  UPDATE store_meta SET value = max(value, OLD.seq) WHERE key = 'seq_high_water';
END;
)sql", R"sql(
-- v23: a new consent lifts an erasure's tombstone only from its own time on. The tombstone stays,
-- with the consent's time, so that a sale made before the erasure or while nothing was consented,
-- and delivered only now (a till's spool), stays forgotten. NULL: not lifted.
ALTER TABLE erased_identifiers ADD COLUMN lifted_ms INTEGER;
)sql"};
}  // namespace

int migrate(Db& db) {
  int version = schema_version(db);
  const int from = version;
  if (version > static_cast<int>(kMigrations.size()))
    throw DbError(SQLITE_ERROR, "the store has schema version " + std::to_string(version) +
                                    ", newer than this regularsd understands (" +
                                    std::to_string(kMigrations.size()) + "); upgrade regularsd");
  for (; version < static_cast<int>(kMigrations.size()); ++version) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(kMigrations[static_cast<std::size_t>(version)]);
      db.exec("PRAGMA user_version=" + std::to_string(version + 1));
      db.exec("COMMIT");
    } catch (...) {
      db.exec("ROLLBACK");
      throw;
    }
  }
  return from;
}

}  // namespace regulars::daemon
