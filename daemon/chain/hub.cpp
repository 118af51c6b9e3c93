#include "chain/hub.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <memory>
#include <optional>
#include <random>
#include <nlohmann/json.hpp>

#include "memory/tombstone.hpp"

namespace regulars::daemon::chain {

namespace {

constexpr int kHubSchemaVersion = 1;

// Every table carries the regulars_ prefix, so the hub may share a database with other work.
// hub_id is handed out under the clock row's lock, so ids grow in commit order and a reader
// that has applied up to N never meets a smaller id later (daemon/chain/CHAIN.md, "delivery").
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS regulars_chain (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS regulars_clock (id int PRIMARY KEY CHECK (id = 1), last_hub_id bigint NOT NULL);
INSERT INTO regulars_clock VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS regulars_stores (
  store_id text PRIMARY KEY, instance bigint NOT NULL, joined_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz, published_seq bigint NOT NULL DEFAULT 0, applied_hub_id bigint NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS regulars_events (
  hub_id bigint PRIMARY KEY, origin text NOT NULL REFERENCES regulars_stores, origin_seq bigint NOT NULL,
  event_id text NOT NULL UNIQUE, type text NOT NULL, id_kind text, id_hash text, time_ms bigint NOT NULL,
  body jsonb NOT NULL, published_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE INDEX IF NOT EXISTS regulars_events_by_customer ON regulars_events (id_kind, id_hash);
CREATE INDEX IF NOT EXISTS regulars_events_by_identifier ON regulars_events ((body->'identifier'->>'hash'));
CREATE INDEX IF NOT EXISTS regulars_events_by_other ON regulars_events ((body->'other'->>'hash'));
CREATE TABLE IF NOT EXISTS regulars_leases (
  rule_id text NOT NULL, day bigint NOT NULL, cap int NOT NULL, granted int NOT NULL DEFAULT 0 CHECK (granted BETWEEN 0 AND cap),
  PRIMARY KEY (rule_id, day));
CREATE TABLE IF NOT EXISTS regulars_roi (
  store_id text NOT NULL REFERENCES regulars_stores, rule_id text NOT NULL, as_of_ms bigint NOT NULL, sums jsonb NOT NULL,
  PRIMARY KEY (store_id, rule_id));
CREATE TABLE IF NOT EXISTS regulars_erasures (
  erasure_id text PRIMARY KEY, hub_id bigint NOT NULL UNIQUE, origin text NOT NULL REFERENCES regulars_stores,
  identifiers jsonb NOT NULL, requested_at timestamptz NOT NULL DEFAULT clock_timestamp(), hub_events_deleted bigint NOT NULL);
CREATE TABLE IF NOT EXISTS regulars_erased_identifiers (
  id_kind text NOT NULL, id_hash text NOT NULL, erasure_id text NOT NULL, erased_ms bigint, lifted_ms bigint,
  PRIMARY KEY (id_kind, id_hash));
CREATE INDEX IF NOT EXISTS regulars_erased_by_hash ON regulars_erased_identifiers (id_hash);
CREATE TABLE IF NOT EXISTS regulars_erasure_confirmations (
  erasure_id text NOT NULL REFERENCES regulars_erasures, store_id text NOT NULL REFERENCES regulars_stores,
  confirmed_at timestamptz NOT NULL DEFAULT clock_timestamp(), customers_erased bigint NOT NULL,
  PRIMARY KEY (erasure_id, store_id));
)sql";

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Runs a statement with text parameters; throws HubError(query) unless it succeeded.
Result run(pg_conn* conn, const std::string& sql, const std::vector<std::string>& params = {}) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  // Without parameters, the simple protocol, which also takes several statements (the schema).
  Result r(params.empty() ? PQexec(conn, sql.c_str())
                          : PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                         nullptr, nullptr, 0));
  const ExecStatusType status = PQresultStatus(r.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw HubError(HubFailure::query, "the hub refused a statement: " + trimmed(PQerrorMessage(conn)));
  return r;
}

std::string field(const Result& r, int row, int col) {
  return PQgetisnull(r.get(), row, col) ? std::string() : std::string(PQgetvalue(r.get(), row, col));
}
std::int64_t field_i64(const Result& r, int row, int col) { return std::stoll(field(r, row, col)); }

// A transaction that rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(pg_conn* conn) : conn_(conn) { run(conn_, "BEGIN"); }
  ~Transaction() {
    if (!done_) Result(PQexec(conn_, "ROLLBACK"));
  }
  void commit() {
    run(conn_, "COMMIT");
    done_ = true;
  }

 private:
  pg_conn* conn_;
  bool done_ = false;
};

std::string connect_message(HubFailure f, const std::string& libpq, const HubSettings& s) {
  switch (f) {
    case HubFailure::auth:
      return "the hub refused this store's login (" + libpq + "); check the user and password in chain.hub (or the "
             "password file it names)";
    case HubFailure::tls:
      return "the hub's certificate could not be verified against chain.ca_file " + s.ca_file + " (" + libpq +
             "); check that the file is the CA that signed the hub's certificate and that the host name matches it";
    default:
      return "cannot reach the hub (" + libpq + "); check the host and port in chain.hub and that PostgreSQL is running";
  }
}

}  // namespace

const char* failure_name(HubFailure f) noexcept {
  switch (f) {
    case HubFailure::config: return "config";
    case HubFailure::unreachable: return "unreachable";
    case HubFailure::auth: return "auth";
    case HubFailure::tls: return "tls";
    case HubFailure::secret_mismatch: return "secret_mismatch";
    case HubFailure::duplicate_store: return "duplicate_store";
    case HubFailure::schema: return "schema";
    case HubFailure::query: return "query";
  }
  return "unknown";
}

// What a consent event says of "remember": given (true), withdrawn (false), or nothing (not a
// consent, or one that leaves it as it was).
std::optional<bool> remember_in(const HubEvent& e) {
  if (e.type != "consent") return std::nullopt;
  const auto body = nlohmann::json::parse(e.body, nullptr, false);
  if (!body.is_object()) return std::nullopt;
  const auto purposes = body.find("purposes");
  if (purposes == body.end() || !purposes->is_object()) return std::nullopt;
  const auto remember = purposes->find("remember");
  if (remember == purposes->end() || !remember->is_boolean()) return std::nullopt;
  return remember->get<bool>();
}

bool withdraws_remember(const HubEvent& e) { return remember_in(e) == false; }
// A consent to remember: a customer erased in the chain who gives it again is remembered again.
bool grants_remember(const HubEvent& e) { return remember_in(e) == true; }

// Hubs made before a new consent could lift an erasure's tombstone lack its two times; the
// store that owns the tables adds them, dating each tombstone by its erasure.
void add_tombstone_times(pg_conn* conn) {
  const Result has = run(conn,
                         "SELECT 1 FROM information_schema.columns WHERE table_name = 'regulars_erased_identifiers' "
                         "AND column_name = 'lifted_ms'");
  if (PQntuples(has.get()) > 0) return;
  run(conn, "ALTER TABLE regulars_erased_identifiers ADD COLUMN erased_ms bigint, ADD COLUMN lifted_ms bigint");
  run(conn,
      "UPDATE regulars_erased_identifiers x SET erased_ms = (extract(epoch FROM e.requested_at) * 1000)::bigint "
      "FROM regulars_erasures e WHERE e.erasure_id = x.erasure_id");
}

// A consent to remember dated after the erasure of one of the customer's identifiers lifts that
// identifier's tombstone from the consent's time on, the earliest such consent whatever order
// they arrive in (memory/tombstone.hpp, the rule each store keeps too).
void lift_tombstones(pg_conn* conn, const std::vector<HubEvent>& events) {
  for (const HubEvent& e : events)
    if (!e.id_kind.empty() && grants_remember(e))
      run(conn,
          "UPDATE regulars_erased_identifiers SET lifted_ms = $3::bigint WHERE id_kind = $1 AND id_hash = $2 "
          "AND erased_ms < $3::bigint AND (lifted_ms IS NULL OR lifted_ms > $3::bigint)",
          {e.id_kind, e.id_hash_hex, std::to_string(e.time_ms)});
}

// The customer's hub events before their withdrawal of "remember" (by the hub's order, as a
// store's own log goes by its order): every identifier linked or merged with the withdrawal's
// before it, then their events but the consent records, links and merges. By the withdrawal's
// row on the hub, so a batch published again finds the same boundary.
void forget_before_withdrawal(pg_conn* conn, const std::string& event_id) {
  run(conn,
      "WITH RECURSIVE w AS (SELECT hub_id, id_kind, id_hash FROM regulars_events WHERE event_id = $1), "
      "edges AS (SELECT e.id_kind AS kind, e.id_hash AS hash, "
      "  e.body->(CASE e.type WHEN 'link' THEN 'identifier' ELSE 'other' END)->>'kind' AS other_kind, "
      "  e.body->(CASE e.type WHEN 'link' THEN 'identifier' ELSE 'other' END)->>'hash' AS other_hash "
      "  FROM regulars_events e, w WHERE e.type IN ('link', 'merge') AND e.hub_id < w.hub_id), "
      "ids(kind, hash) AS (SELECT id_kind, id_hash FROM w WHERE id_hash IS NOT NULL "
      "  UNION SELECT CASE WHEN x.kind = ids.kind AND x.hash = ids.hash THEN x.other_kind ELSE x.kind END, "
      "               CASE WHEN x.kind = ids.kind AND x.hash = ids.hash THEN x.other_hash ELSE x.hash END "
      "  FROM ids JOIN edges x ON (x.kind = ids.kind AND x.hash = ids.hash) OR (x.other_kind = ids.kind AND x.other_hash = ids.hash)) "
      "DELETE FROM regulars_events e USING w WHERE e.hub_id < w.hub_id AND e.type NOT IN ('consent', 'link', 'merge') "
      "AND (e.id_kind, e.id_hash) IN (SELECT kind, hash FROM ids)",
      {event_id});
}

std::int64_t draw_store_instance() {
  std::random_device rd;
  return static_cast<std::int64_t>((std::uint64_t{rd()} << 31) ^ rd()) | 1;
}

HubFailure classify_connect_failure(const std::string& message) {
  for (const char* auth : {"password authentication failed", "no password supplied", "authentication failed",
                           "no pg_hba.conf entry", "role \"", "does not exist"})
    if (message.find(auth) != std::string::npos) return HubFailure::auth;
  for (const char* tls : {"certificate", "SSL", "ssl", "root certificate file"})
    if (message.find(tls) != std::string::npos) return HubFailure::tls;
  return HubFailure::unreachable;
}

Hub::Hub(const HubSettings& s) {
  // libpq's messages about a string it cannot read quote the string, password included: it is
  // read here first, and a failure says so in words of our own.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(s.conninfo.c_str(), &parse_error);
  if (parse_error != nullptr) PQfreemem(parse_error);
  if (parsed == nullptr)
    throw HubError(HubFailure::config, "chain.hub is not a libpq connection string or URI that can be read; check its "
                                       "quoting, its key=value pairs and any %-escapes (the string is not repeated here, "
                                       "as it may hold a password)");
  PQconninfoFree(parsed);
  const std::string timeout = std::to_string(s.connect_timeout_s);
  // The connection string comes first and is expanded; what follows overrides it, so TLS
  // cannot be weakened by the string when a CA is configured.
  // Keepalives, so a hub gone silent (a cut network) is noticed in under a minute, not hours.
  std::vector<const char*> keys{"dbname", "connect_timeout", "application_name", "keepalives", "keepalives_idle",
                                "keepalives_interval", "keepalives_count"};
  std::vector<const char*> values{s.conninfo.c_str(), timeout.c_str(), "regularsd", "1", "10", "5", "3"};
  if (!s.ca_file.empty()) {
    keys.insert(keys.end(), {"sslmode", "sslrootcert"});
    values.insert(values.end(), {"verify-full", s.ca_file.c_str()});
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn_ == nullptr) throw HubError(HubFailure::unreachable, "cannot reach the hub: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string message = trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    const HubFailure f = classify_connect_failure(message);
    throw HubError(f, connect_message(f, message, s));
  }
  // A store that stalls inside a transaction must not hold the clock row (every store's
  // publishing) or a lease row for long: the server ends such a transaction, and a statement
  // waits at most so long for a lock or for its answer.
  Result(PQexec(conn_, "SET synchronous_commit = on; SET lock_timeout = '5s'; SET statement_timeout = '20s'; "
                       "SET idle_in_transaction_session_timeout = '10s'"));
}

Hub::~Hub() {
  if (conn_ != nullptr) PQfinish(conn_);
}

HubStoreState Hub::join(const std::string& store_id, std::int64_t instance, const std::string& secret_check) {
  Transaction tx(conn_);
  // Stores joining at once must not race to create the tables.
  run(conn_, "SELECT pg_advisory_xact_lock(7262876)");
  // Made once, by the first store; the others only need rights on the tables, not to own them.
  if (field(run(conn_, "SELECT to_regclass('regulars_erasure_confirmations') IS NULL"), 0, 0) == "t") run(conn_, kSchema);
  add_tombstone_times(conn_);
  const Result made = run(conn_, "INSERT INTO regulars_chain VALUES ('schema_version', $1), ('secret_check', $2) ON CONFLICT DO NOTHING",
                          {std::to_string(kHubSchemaVersion), secret_check});
  HubStoreState state;
  state.new_chain = std::string(PQcmdTuples(made.get())) == "2";
  const Result meta = run(conn_, "SELECT key, value FROM regulars_chain WHERE key IN ('schema_version', 'secret_check')");
  for (int i = 0; i < PQntuples(meta.get()); ++i) {
    const std::string key = field(meta, i, 0), value = field(meta, i, 1);
    if (key == "schema_version" && value != std::to_string(kHubSchemaVersion))
      throw HubError(HubFailure::schema, "the hub's tables are of version " + value + ", this regularsd knows version " +
                                             std::to_string(kHubSchemaVersion) + "; upgrade every store of the chain together");
    if (key == "secret_check" && value != secret_check)
      throw HubError(HubFailure::secret_mismatch,
                     "this store's identity secret is not the chain's, so its customers would not be recognised at the "
                     "other stores; give every store of the chain the same secret.key before its first start "
                     "(daemon/chain/CHAIN.md, \"Setting it up\")");
  }
  const Result other = run(conn_, "SELECT store_id FROM regulars_stores WHERE instance = $2 AND store_id <> $1",
                           {store_id, std::to_string(instance)});
  if (PQntuples(other.get()) > 0)
    throw HubError(HubFailure::duplicate_store, "this store is in the chain as '" + field(other, 0, 0) +
                                                    "' already; give chain.store_id that name again");
  run(conn_, "INSERT INTO regulars_stores(store_id, instance) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      {store_id, std::to_string(instance)});
  const Result me = run(conn_, "SELECT instance, published_seq FROM regulars_stores WHERE store_id = $1", {store_id});
  if (field_i64(me, 0, 0) != instance)
    throw HubError(HubFailure::duplicate_store,
                   "another store already publishes to the hub as store id '" + store_id +
                       "'; give this store a store_id of its own in the chain section");
  state.published_seq = field_i64(me, 0, 1);
  run(conn_, "UPDATE regulars_stores SET last_seen = now() WHERE store_id = $1", {store_id});
  tx.commit();
  state.newest_hub_id = newest_hub_id();
  run(conn_, "LISTEN regulars_chain");
  return state;
}

std::int64_t Hub::publish(const std::string& store_id, const std::vector<HubEvent>& events, std::int64_t published_seq,
                          bool forget_withdrawn) {
  Transaction tx(conn_);
  std::int64_t added = 0;
  if (!events.empty()) {
    // The clock row stays locked until COMMIT: the next publisher's ids are larger and commit later.
    const Result clock = run(conn_, "UPDATE regulars_clock SET last_hub_id = last_hub_id + $1 WHERE id = 1 RETURNING last_hub_id",
                             {std::to_string(events.size())});
    std::int64_t hub_id = field_i64(clock, 0, 0) - static_cast<std::int64_t>(events.size());
    // An event about an identifier the chain has erased stays out: a store that was offline
    // during the erasure publishes what it sold before it learns of it. Unless the customer has
    // since consented again, and the event is from that consent on (memory/tombstone.hpp).
    lift_tombstones(conn_, events);
    std::string sql =
        "INSERT INTO regulars_events(hub_id, origin, origin_seq, event_id, type, id_kind, id_hash, time_ms, body) "
        "SELECT v.* FROM (VALUES ";
    std::vector<std::string> params;
    params.reserve(events.size() * 9);
    constexpr const char* kCasts[] = {"::bigint", "", "::bigint", "", "", "", "", "::bigint", "::jsonb"};
    for (const HubEvent& e : events) {
      const std::size_t n = params.size();
      sql += (n == 0 ? "(" : ",(");
      for (std::size_t k = 0; k < 9; ++k) sql += "$" + std::to_string(n + k + 1) + kCasts[k] + (k == 8 ? ")" : ",");
      params.insert(params.end(), {std::to_string(++hub_id), store_id, std::to_string(e.origin_seq), e.event_id, e.type,
                                   e.id_kind, e.id_hash_hex, std::to_string(e.time_ms), e.body});
    }
    sql +=
        ") AS v(hub_id, origin, origin_seq, event_id, type, id_kind, id_hash, time_ms, body) WHERE NOT EXISTS "
        "(SELECT 1 FROM regulars_erased_identifiers x WHERE ((x.id_kind = v.id_kind AND x.id_hash = v.id_hash) "
        "OR x.id_hash = v.body->'identifier'->>'hash' OR x.id_hash = v.body->'other'->>'hash') "
        "AND (v.time_ms <= x.erased_ms OR x.lifted_ms IS NULL "
        "     OR (v.type <> 'consent' AND v.time_ms < x.lifted_ms - $" + std::to_string(params.size() + 1) + "::bigint))) "
        "ON CONFLICT (event_id) DO NOTHING";
    params.push_back(std::to_string(kLiftGraceMs));
    added = std::stoll(PQcmdTuples(run(conn_, sql, params).get()));
    if (forget_withdrawn)
      for (const HubEvent& e : events)
        if (withdraws_remember(e)) forget_before_withdrawal(conn_, e.event_id);
  }
  run(conn_, "UPDATE regulars_stores SET published_seq = greatest(published_seq, $2), last_seen = now() WHERE store_id = $1",
      {store_id, std::to_string(published_seq)});
  if (added > 0) run(conn_, "NOTIFY regulars_chain");
  tx.commit();
  return added;
}

std::vector<HubEvent> Hub::fetch(const std::string& store_id, std::int64_t after_hub_id, std::int64_t erasures_applied, int limit) {
  // One statement, so one snapshot: an erasure committed after the store fetched its erasures is
  // seen here whenever an event after it is (hub ids follow commit order), and bounds the rows.
  const Result r = run(conn_,
                       "SELECT hub_id, origin, origin_seq, event_id, type, coalesce(id_kind, ''), coalesce(id_hash, ''), "
                       "time_ms, body::text, (extract(epoch FROM published_at) * 1000)::bigint FROM regulars_events "
                       "WHERE hub_id > $1 AND origin <> $2 AND hub_id < coalesce((SELECT min(hub_id) FROM regulars_erasures "
                       "WHERE hub_id > $4 AND origin <> $2), 9223372036854775807) ORDER BY hub_id LIMIT $3",
                       {std::to_string(after_hub_id), store_id, std::to_string(limit), std::to_string(erasures_applied)});
  std::vector<HubEvent> out(static_cast<std::size_t>(PQntuples(r.get())));
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    HubEvent& e = out[static_cast<std::size_t>(i)];
    e.hub_id = field_i64(r, i, 0);
    e.origin = field(r, i, 1);
    e.origin_seq = field_i64(r, i, 2);
    e.event_id = field(r, i, 3);
    e.type = field(r, i, 4);
    e.id_kind = field(r, i, 5);
    e.id_hash_hex = field(r, i, 6);
    e.time_ms = field_i64(r, i, 7);
    e.body = field(r, i, 8);
    e.published_ms = field_i64(r, i, 9);
  }
  return out;
}

bool Hub::publish_erasure(const std::string& store_id, const HubErasure& erasure) {
  Transaction tx(conn_);
  if (PQntuples(run(conn_, "SELECT 1 FROM regulars_erasures WHERE erasure_id = $1", {erasure.erasure_id}).get()) > 0) {
    tx.commit();
    return false;  // published before a crash took the outbox's clean-up: nothing more to do
  }
  const Result clock = run(conn_, "UPDATE regulars_clock SET last_hub_id = last_hub_id + 1 WHERE id = 1 RETURNING last_hub_id");
  // The customer's events go from the hub, and so do links and merges that name one of their identifiers.
  const Result deleted = run(conn_,
                             "DELETE FROM regulars_events e USING jsonb_to_recordset($1::jsonb) AS x(kind text, hash text) "
                             "WHERE (e.id_kind = x.kind AND e.id_hash = x.hash) OR e.body->'identifier'->>'hash' = x.hash "
                             "OR e.body->'other'->>'hash' = x.hash",
                             {erasure.identifiers});
  // Dated by the store that made it, as that store's own tombstone is: a link that was down
  // publishes it late, and a consent given there meanwhile must lift it here too.
  const std::string requested_ms = erasure.requested_ms > 0 ? std::to_string(erasure.requested_ms) : std::string();
  run(conn_,
      "INSERT INTO regulars_erasures(erasure_id, hub_id, origin, identifiers, hub_events_deleted, requested_at) "
      "VALUES ($1, $2, $3, $4::jsonb, $5, coalesce(to_timestamp(nullif($6, '')::bigint / 1000.0), clock_timestamp()))",
      {erasure.erasure_id, field(clock, 0, 0), store_id, erasure.identifiers, PQcmdTuples(deleted.get()), requested_ms});
  run(conn_,
      "INSERT INTO regulars_erased_identifiers(id_kind, id_hash, erasure_id, erased_ms) "
      "SELECT x.kind, x.hash, $2, (extract(epoch FROM e.requested_at) * 1000)::bigint "
      "FROM jsonb_to_recordset($1::jsonb) AS x(kind text, hash text), regulars_erasures e WHERE e.erasure_id = $2 "
      // Two erasures of one identifier: the later one's date stands, whichever came last, and
      // only a later erasure ends a lift.
      "ON CONFLICT (id_kind, id_hash) DO UPDATE SET "
      "erasure_id = CASE WHEN excluded.erased_ms >= regulars_erased_identifiers.erased_ms "
      "  THEN excluded.erasure_id ELSE regulars_erased_identifiers.erasure_id END, "
      "lifted_ms = CASE WHEN excluded.erased_ms >= regulars_erased_identifiers.erased_ms "
      "  THEN NULL ELSE regulars_erased_identifiers.lifted_ms END, "
      "erased_ms = greatest(regulars_erased_identifiers.erased_ms, excluded.erased_ms)",
      {erasure.identifiers, erasure.erasure_id});
  run(conn_, "INSERT INTO regulars_erasure_confirmations(erasure_id, store_id, customers_erased) VALUES ($1, $2, 1)",
      {erasure.erasure_id, store_id});
  run(conn_, "NOTIFY regulars_chain");
  tx.commit();
  return true;
}

std::vector<HubErasure> Hub::fetch_erasures(const std::string& store_id, std::int64_t after_hub_id, int limit) {
  const Result r = run(conn_,
                       "SELECT erasure_id, hub_id, origin, identifiers::text, "
                       "(extract(epoch FROM requested_at) * 1000)::bigint FROM regulars_erasures "
                       "WHERE hub_id > $1 AND origin <> $2 ORDER BY hub_id LIMIT $3",
                       {std::to_string(after_hub_id), store_id, std::to_string(limit)});
  std::vector<HubErasure> out(static_cast<std::size_t>(PQntuples(r.get())));
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    HubErasure& e = out[static_cast<std::size_t>(i)];
    e.erasure_id = field(r, i, 0);
    e.hub_id = field_i64(r, i, 1);
    e.origin = field(r, i, 2);
    e.identifiers = field(r, i, 3);
    e.requested_ms = field_i64(r, i, 4);
  }
  return out;
}

void Hub::confirm_erasure(const std::string& store_id, const std::string& erasure_id, std::int64_t customers_erased) {
  run(conn_,
      "INSERT INTO regulars_erasure_confirmations(erasure_id, store_id, customers_erased) VALUES ($1, $2, $3) "
      "ON CONFLICT DO NOTHING",
      {erasure_id, store_id, std::to_string(customers_erased)});
}

std::optional<ErasureReceipt> Hub::erasure_receipt(const std::string& erasure_id) {
  const Result e = run(conn_,
                       "SELECT origin, to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), hub_events_deleted "
                       "FROM regulars_erasures WHERE erasure_id = $1",
                       {erasure_id});
  if (PQntuples(e.get()) == 0) return std::nullopt;
  ErasureReceipt receipt;
  receipt.erasure_id = erasure_id;
  receipt.origin = field(e, 0, 0);
  receipt.requested_at = field(e, 0, 1);
  receipt.hub_events_deleted = field_i64(e, 0, 2);
  const Result stores = run(conn_,
                            "SELECT s.store_id, to_char(c.confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                            "coalesce(c.customers_erased, 0) FROM regulars_stores s LEFT JOIN regulars_erasure_confirmations c "
                            "ON c.store_id = s.store_id AND c.erasure_id = $1 ORDER BY s.store_id",
                            {erasure_id});
  for (int i = 0; i < PQntuples(stores.get()); ++i) {
    if (PQgetisnull(stores.get(), i, 1)) {
      receipt.waiting_for.push_back(field(stores, i, 0));
    } else {
      receipt.confirmed.push_back({field(stores, i, 0), field(stores, i, 1), field_i64(stores, i, 2)});
    }
  }
  return receipt;
}

std::int64_t Hub::rekey(const std::string& old_check, const std::string& new_check,
                        const std::function<std::string(const std::string& hex)>& rehash) {
  Transaction tx(conn_);
  run(conn_, "SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0");  // a big hub takes a while
  const Result check = run(conn_, "SELECT value FROM regulars_chain WHERE key = 'secret_check' FOR UPDATE");
  const std::string current = PQntuples(check.get()) > 0 ? field(check, 0, 0) : "";
  if (current == new_check) return -1;
  if (current != old_check)
    throw HubError(HubFailure::secret_mismatch, "the hub's hashes are not those of this store's key generations before the "
                                                "re-key; re-key the hub with the store whose secret.key re-keyed first");
  run(conn_, "LOCK TABLE regulars_events, regulars_erased_identifiers, regulars_erasures IN EXCLUSIVE MODE");
  // Each distinct hash once, into a map the updates join: a customer's hundreds of events cost one HMAC.
  run(conn_, "CREATE TEMP TABLE regulars_rekey_map (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP");
  const Result hashes = run(conn_,
                            "SELECT id_hash FROM regulars_events WHERE id_hash <> '' UNION "
                            "SELECT body->'identifier'->>'hash' FROM regulars_events WHERE body ? 'identifier' UNION "
                            "SELECT body->'other'->>'hash' FROM regulars_events WHERE body ? 'other' UNION "
                            "SELECT id_hash FROM regulars_erased_identifiers");
  const int distinct = PQntuples(hashes.get());
  constexpr int kBatch = 500;
  for (int from = 0; from < distinct; from += kBatch) {
    std::string sql = "INSERT INTO regulars_rekey_map(old, new) VALUES ";
    std::vector<std::string> params;
    for (int i = from; i < std::min(distinct, from + kBatch); ++i) {
      sql += (i == from ? "($" : ",($") + std::to_string(params.size() + 1) + ",$" + std::to_string(params.size() + 2) + ")";
      params.push_back(field(hashes, i, 0));
      params.push_back(rehash(params.back()));
    }
    run(conn_, sql, params);
  }
  std::int64_t n = std::stoll(PQcmdTuples(
      run(conn_, "UPDATE regulars_events e SET id_hash = m.new FROM regulars_rekey_map m WHERE e.id_hash = m.old").get()));
  for (const char* named : {"identifier", "other"})
    n += std::stoll(PQcmdTuples(run(conn_, std::string("UPDATE regulars_events e SET body = jsonb_set(e.body, '{") + named +
                                               ",hash}', to_jsonb(m.new)) FROM regulars_rekey_map m WHERE e.body->'" + named +
                                               "'->>'hash' = m.old")
                                    .get()));
  n += std::stoll(PQcmdTuples(
      run(conn_, "UPDATE regulars_erased_identifiers x SET id_hash = m.new FROM regulars_rekey_map m WHERE x.id_hash = m.old").get()));
  const Result erasures = run(conn_, "SELECT erasure_id, identifiers::text FROM regulars_erasures");
  for (int i = 0; i < PQntuples(erasures.get()); ++i) {
    auto ids = nlohmann::json::parse(field(erasures, i, 1));
    for (auto& id : ids) id["hash"] = rehash(id["hash"].get<std::string>()), ++n;
    run(conn_, "UPDATE regulars_erasures SET identifiers = $2::jsonb WHERE erasure_id = $1", {field(erasures, i, 0), ids.dump()});
  }
  run(conn_, "UPDATE regulars_chain SET value = $1 WHERE key = 'secret_check'", {new_check});
  tx.commit();
  return n;
}

ChainFigures Hub::figures(std::int64_t from_ms, std::int64_t to_ms) {
  const std::vector<std::string> period{std::to_string(from_ms), std::to_string(to_ms)};
  // Feedback that was declined says nothing; the thresholds are the store's (9+ promotes, 6- detracts, CSAT 4+ satisfies).
  const Result r = run(conn_,
                       "WITH f AS (SELECT e.*, (e.body->>'nps')::int AS nps, (e.body->>'csat')::int AS csat FROM regulars_events e "
                       "  WHERE e.time_ms >= $1 AND e.time_ms < $2 AND (e.type = 'purchase' OR (e.type = 'feedback' AND NOT e.body ? 'declined'))) "
                       "SELECT s.store_id, count(f.nps), count(*) FILTER (WHERE f.nps >= 9), count(*) FILTER (WHERE f.nps <= 6), "
                       "count(f.csat), count(*) FILTER (WHERE f.csat >= 4), count(*) FILTER (WHERE f.type = 'purchase'), "
                       "count(DISTINCT f.id_kind || ':' || f.id_hash) FILTER (WHERE f.type = 'purchase' AND f.id_kind <> '') "
                       "FROM regulars_stores s LEFT JOIN f ON f.origin = s.store_id GROUP BY s.store_id ORDER BY s.store_id",
                       period);
  ChainFigures out;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.stores.push_back({field(r, i, 0), field_i64(r, i, 1), field_i64(r, i, 2), field_i64(r, i, 3), field_i64(r, i, 4),
                          field_i64(r, i, 5), field_i64(r, i, 6), field_i64(r, i, 7)});
  out.customers = field_i64(run(conn_,
                                "SELECT count(DISTINCT id_kind || ':' || id_hash) FROM regulars_events WHERE type = 'purchase' "
                                "AND id_kind <> '' AND time_ms >= $1 AND time_ms < $2",
                                period),
                            0, 0);
  return out;
}

void Hub::publish_roi(const std::string& store_id, std::int64_t as_of_ms, const std::vector<StoreRoi>& rules) {
  // One transaction: a rule the store no longer reports goes with the rest of its old rows.
  Transaction tx(conn_);
  run(conn_, "DELETE FROM regulars_roi WHERE store_id = $1", {store_id});
  for (const StoreRoi& r : rules)
    run(conn_, "INSERT INTO regulars_roi(store_id, rule_id, as_of_ms, sums) VALUES ($1, $2, $3, $4::jsonb)",
        {store_id, r.rule_id, std::to_string(as_of_ms), r.sums});
  tx.commit();
}

std::vector<StoreRoi> Hub::roi() {
  // Every store's rules, bounded in rows and in bytes (a store's row is a few hundred bytes; a
  // longer one is read as empty, and refused as not valid sums).
  const Result r = run(conn_, "SELECT store_id, rule_id, as_of_ms, CASE WHEN octet_length(sums::text) <= 65536 THEN sums::text "
                              "ELSE '' END FROM regulars_roi ORDER BY rule_id, store_id LIMIT " + std::to_string(kMaxRoiRows));
  std::vector<StoreRoi> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back({field(r, i, 0), field(r, i, 1), field_i64(r, i, 2), field(r, i, 3)});
  return out;
}

std::int64_t Hub::lease(const std::string& key, std::int64_t period, std::int64_t cap, std::int64_t wanted, std::int64_t units) {
  Transaction tx(conn_);
  // The first store to ask sets the period's cap, and a store asking with a lower cap (the rule
  // was lowered meanwhile) is granted only up to its own; the row lock makes grants add up
  // exactly. Grants come in whole offers (`units` each), so no store holds a part of a gesture's
  // cost that it can neither spend nor, while its tills are busy, give back.
  run(conn_, "INSERT INTO regulars_leases(rule_id, day, cap) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
      {key, std::to_string(period), std::to_string(cap)});
  const Result r = run(conn_,
                       "WITH cur AS (SELECT granted, cap FROM regulars_leases WHERE rule_id = $1 AND day = $2 FOR UPDATE) "
                       "UPDATE regulars_leases l SET granted = cur.granted + "
                       "greatest(0, least($3, least(cur.cap, $4) - cur.granted) / $5 * $5) FROM cur "
                       "WHERE l.rule_id = $1 AND l.day = $2 RETURNING l.granted - cur.granted",
                       {key, std::to_string(period), std::to_string(wanted), std::to_string(cap), std::to_string(units)});
  tx.commit();
  return field_i64(r, 0, 0);
}

void Hub::give_back(const std::string& key, std::int64_t period, std::int64_t n) {
  run(conn_, "UPDATE regulars_leases SET granted = greatest(0, granted - $3) WHERE rule_id = $1 AND day = $2",
      {key, std::to_string(period), std::to_string(n)});
}

void Hub::report_applied(const std::string& store_id, std::int64_t applied_hub_id) {
  run(conn_, "UPDATE regulars_stores SET applied_hub_id = greatest(applied_hub_id, $2), last_seen = now() WHERE store_id = $1",
      {store_id, std::to_string(applied_hub_id)});
}

std::int64_t Hub::newest_hub_id() {
  return field_i64(run(conn_, "SELECT last_hub_id FROM regulars_clock WHERE id = 1"), 0, 0);
}

bool Hub::wait_for_news(int timeout_ms) {
  const auto drain = [this] {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      PQfreemem(n);
      any = true;
    }
    return any;
  };
  if (drain()) return true;
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (p.fd < 0) throw HubError(HubFailure::unreachable, "the connection to the hub was lost");
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  if (PQconsumeInput(conn_) == 0)
    throw HubError(HubFailure::unreachable, "the connection to the hub was lost: " + trimmed(PQerrorMessage(conn_)));
  return drain();
}

}  // namespace regulars::daemon::chain
