// The chain's hub: one PostgreSQL database every store of a chain publishes its events to and
// reads the others' from (daemon/chain/CHAIN.md has the schema and the guarantees). One Hub is one libpq
// connection, used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct pg_conn;

namespace regulars::daemon::chain {

// What went wrong with the hub, typed so that status and regularsctl can say what to do.
enum class HubFailure {
  config,           // chain.hub is not a connection string libpq can read
  unreachable,      // no connection: host, port, network, or the server is down
  auth,             // the server refused the user or the password
  tls,              // the server's certificate does not verify against chain.ca_file
  secret_mismatch,  // this store's identity secret is not the chain's
  duplicate_store,  // another store already publishes under this store id
  schema,           // the hub's tables are missing or of another version
  query,            // a statement failed (the connection is dropped and made again)
};
const char* failure_name(HubFailure f) noexcept;

class HubError : public std::runtime_error {
 public:
  HubError(HubFailure failure, const std::string& what) : std::runtime_error(what), failure_(failure) {}
  HubFailure failure() const noexcept { return failure_; }

 private:
  HubFailure failure_;
};

struct HubSettings {
  std::string conninfo;  // libpq connection string or URI; may hold a password: never logged
  std::string ca_file;   // non-empty: TLS required, the server verified against it (verify-full)
  int connect_timeout_s = 5;
};

// One event as the hub keeps it: identifiers only as the chain's keyed hashes.
struct HubEvent {
  std::int64_t hub_id = 0;  // the hub's order (0 before publishing)
  std::string origin;       // the store it was recorded at
  std::int64_t origin_seq = 0;
  std::string event_id, type, id_kind, id_hash_hex;
  std::int64_t time_ms = 0;
  std::string body;  // the logged JSON body
  std::int64_t published_ms = 0;  // when the hub committed it (fetched rows only)
};

// An erasure on its way through the chain: the erased customer's identifiers as the chain's
// keyed hashes, as JSON [{"kind": ..., "hash": hex}, ...].
struct HubErasure {
  std::string erasure_id;  // the receipt id of the store that made it
  std::int64_t hub_id = 0;
  std::string origin;
  std::string identifiers;
  std::int64_t requested_ms = 0;  // when the store that made it erased the customer (0: when it reached the hub)
};

// Which stores have carried out an erasure, and which have yet to (offline, say).
struct ErasureReceipt {
  struct Confirmation {
    std::string store_id, at;
    std::int64_t customers_erased = 0;  // 0: the store never knew the customer
  };
  std::string erasure_id, origin, requested_at;
  std::int64_t hub_events_deleted = 0;
  std::vector<Confirmation> confirmed;
  std::vector<std::string> waiting_for;
};

// One store's figures over a period, from the hub, computed as the store's own reports compute
// them (owner/reports.cpp): NPS and CSAT from the feedback said there, visits from its purchases.
struct StoreFigures {
  std::string store_id;
  std::int64_t nps_responses = 0, promoters = 0, detractors = 0;
  std::int64_t csat_responses = 0, csat_satisfied = 0;
  std::int64_t visits = 0, customers = 0;  // customers: distinct identifiers that bought there
};
struct ChainFigures {
  std::vector<StoreFigures> stores;
  std::int64_t customers = 0;  // distinct identifiers that bought anywhere in the chain
};

inline constexpr int kMaxRoiRows = 100'000;  // read for the chain's ROI report: a bound, not a policy

// One store's sums for one gesture rule's ROI report (gestures/roi_sums.hpp), as JSON text: as
// the store sent them, and to be checked again when read back.
struct StoreRoi {
  std::string store_id, rule_id;
  std::int64_t as_of_ms = 0;
  std::string sums;
};

// Where a store stands with the hub.
struct HubStoreState {
  std::int64_t published_seq = 0;   // the last local seq the hub holds
  std::int64_t newest_hub_id = 0;   // the newest event on the hub
  bool new_chain = false;           // this store was the first: its secret is now the chain's
};

class Hub {
 public:
  // Connects; throws HubError (unreachable, auth, tls) with a message that says what to check.
  explicit Hub(const HubSettings& settings);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Creates the hub's tables if they are not there (any store may be the first), then enrols
  // this store, or checks it is the one enrolled under `store_id` (`instance` is a number the
  // store drew once), and that `secret_check` is the chain's. Throws HubError.
  HubStoreState join(const std::string& store_id, std::int64_t instance, const std::string& secret_check);

  // Adds events in one transaction, in the hub's order; an event id the hub already holds is
  // skipped. Records `published_seq` for the store. Returns how many were new.
  // forget_withdrawn: a consent among them that withdraws "remember" also deletes, in the same
  // transaction, the customer's hub events before it (all but consent records, links and
  // merges), under every identifier linked or merged with theirs before it, as the stores that
  // erase on withdrawal do with their own logs.
  std::int64_t publish(const std::string& store_id, const std::vector<HubEvent>& events, std::int64_t published_seq,
                       bool forget_withdrawn = true);

  // Deletes the customer's events from the hub, keeps their identifiers out of it from now on,
  // and records the erasure, confirmed by `store_id`, in the hub's order. False when the hub
  // already had it.
  bool publish_erasure(const std::string& store_id, const HubErasure& erasure);
  std::vector<HubErasure> fetch_erasures(const std::string& store_id, std::int64_t after_hub_id, int limit);
  void confirm_erasure(const std::string& store_id, const std::string& erasure_id, std::int64_t customers_erased);
  std::optional<ErasureReceipt> erasure_receipt(const std::string& erasure_id);

  // Grants up to `wanted` units (offers, or minor units of a budget) of one of a rule's chain
  // caps for one period (`key` and `period` as ChainAllowance names them: the rule id and a chain
  // day, or "rule/week" and a week, or "rule/month" and a month; `cap` sets the period's cap
  // when this store is the first to ask); never more than the cap in all, and in whole multiples
  // of `units` (what one offer takes). Returns the grant.
  std::int64_t lease(const std::string& key, std::int64_t period, std::int64_t cap, std::int64_t wanted,
                     std::int64_t units = 1);
  // Gives back `n` units granted earlier and not spent.
  void give_back(const std::string& key, std::int64_t period, std::int64_t n);

  // A chain-wide re-key's step on the hub: every identifier hash the hub holds (events, links' and
  // merges' second identifiers, erasures) and the secret check go through `rehash`, one more
  // link of the chain of keys, in one transaction. The hub must show `old_check`; one that shows
  // `new_check` was re-keyed already (returns -1). Returns the hashes re-hashed.
  std::int64_t rekey(const std::string& old_check, const std::string& new_check,
                     const std::function<std::string(const std::string& hex)>& rehash);

  // Every store's figures for events timed in [from_ms, to_ms).
  ChainFigures figures(std::int64_t from_ms, std::int64_t to_ms);

  // Replaces this store's ROI sums, one per rule, with those computed at `as_of_ms`; and every
  // store's, by rule.
  void publish_roi(const std::string& store_id, std::int64_t as_of_ms, const std::vector<StoreRoi>& rules);
  std::vector<StoreRoi> roi();

  // The other stores' events after `after_hub_id`, oldest first, at most `limit`, and none past
  // another store's erasure this store has not applied (it has applied those up to
  // `erasures_applied`): applied before that erasure, an event after it would be taken away by it.
  std::vector<HubEvent> fetch(const std::string& store_id, std::int64_t after_hub_id, std::int64_t erasures_applied, int limit);

  // Records how far this store has applied the hub (for the chain's status); best effort.
  void report_applied(const std::string& store_id, std::int64_t applied_hub_id);
  std::int64_t newest_hub_id();

  // Waits up to `timeout_ms` for a NOTIFY from a publishing store; true if one came.
  bool wait_for_news(int timeout_ms);

 private:
  pg_conn* conn_ = nullptr;
};

// The number a store draws once and keeps (store_meta 'chain_instance'): two stores that claim
// one store id tell apart by it.
std::int64_t draw_store_instance();

// libpq's message for a failed connection, classified.
HubFailure classify_connect_failure(const std::string& message);

}  // namespace regulars::daemon::chain
