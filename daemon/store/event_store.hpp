// The event store: an append-only event log in SQLite with the projections kept in step with it.
//
// Three threads share the write path, so that the disk's flush latency never stalls the CPU
// work of applying events:
//   - the writer owns the only connection that writes events; it applies a group of events in
//     one transaction and commits it into the WAL (synchronous=NORMAL: no flush yet);
//   - the syncer flushes the WAL file (fdatasync) and only then runs the completions of every
//     group committed before the flush began. An acknowledgement therefore always follows a
//     flush that covers its event, exactly as synchronous=FULL would give, while the writer
//     is already applying the next group;
//   - the checkpointer copies the WAL back into the database from its own connection, so the
//     writer never pays for a checkpoint.
// Readers use their own read-only connections, one per thread. They may see a group a moment
// before it is flushed; nobody is told it is stored until it is.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "db/db.hpp"
#include "memory/identity.hpp"
#include "memory/popularity.hpp"
#include "store/customer_view.hpp"
#include "store/prepared_event.hpp"
#include "store/top_items_cache.hpp"

namespace regulars::daemon {

class Metrics;

// What `rebuild` found: rows per projection table that differed from the stored state.
struct RebuildReport {
  std::int64_t events = 0;
  std::int64_t customers = 0;
  std::vector<std::pair<std::string, std::int64_t>> differences;  // (table, differing rows)
  // Tables that are statistics rather than exact projections: the successors of each item are
  // recounted at start-up after a crash from the customers' current top items, which only
  // approximates their top items at the time. Rebuild recounts them exactly; differing rows
  // there are reported but do not make the projections "differ".
  static bool approximate(const std::string& table) { return table == "item_sources"; }
  bool identical() const {
    for (const auto& [table, n] : differences)
      if (n != 0 && !approximate(table)) return false;
    return true;
  }
};

struct StoreStats {
  std::int64_t events = 0;
  std::int64_t customers = 0;
  std::int64_t items = 0;
};

class EventStore {
 public:
  struct Options {
    int group_commit_max = 1024;
    bool erase_on_withdrawal = true;  // config privacy.on_remember_withdrawn
    int checkpoint_pages = 32000;     // config store.checkpoint_pages
    int tombstone_days = 365;         // config privacy.erasure_tombstone_days
    // The keyed hash an erased event id is kept as (the installation's IdentityKey). Empty: a
    // key of zeros, for tests.
    std::function<IdentifierHash(std::string_view event_id)> hash_event_id;
    // Flushes a file to the disk (the WAL, and the database after a checkpoint); returns 0 or
    // -1 with errno set, as fdatasync(2) does. Tests give one that fails, to see what a dying
    // disk does to the store.
    std::function<int(int fd)> file_sync;  // empty: ::fdatasync
    Metrics* metrics = nullptr;  // where WAL flush times go; null: not measured
    // In a chain of stores: an erasure made here also waits in chain_erasure_outbox until the
    // chain's link has taken it to the hub (daemon/chain/CHAIN.md).
    bool chain_outbox = false;
    // The writer's page cache in MiB; 0: the daemon's 8 MiB (db/db.cpp says why no more). A bulk
    // load into a stopped store commits rarely, so it takes BulkWriter::kCacheMib.
    int writer_cache_mib = 0;
    // Each committed group's share of the item popularity is merged on a thread of its own
    // (rg-merger), in log order, while the writer applies the next group. Off: the writer merges
    // each group itself, while the syncer flushes it (popularity_merger.cpp).
    bool merge_beside_writer = false;
    // An acknowledgement waits until its group is merged, so a till told "stored" sees its
    // purchase in the next hints answer. Off only for a bulk load into a stopped store, where no
    // till asks for hints meanwhile.
    bool acks_wait_for_merge = true;
  };
  // Opens (creating and migrating) DIR/regulars.db and starts the writer.
  EventStore(const std::string& data_dir, Options options);
  ~EventStore();  // drains and stops the writer
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  using Completion = std::function<void(WriteResult)>;
  // Queues an event. `done` runs on the syncer thread once a flush covers the event's commit (or
  // its failure); when the store is stopping, at once on the caller's thread.
  void submit(PreparedEvent event, Completion done);
  // Queues several events at once (one wake-up of the writer); `done` runs for each.
  void submit_all(std::vector<PreparedEvent> events, const Completion& done);

  // A read transaction on the calling thread's read connection while it lives: the queries of
  // one answer see one snapshot and take the WAL read lock once instead of once per query.
  // Nested scopes are harmless (the outer one holds the transaction).
  class ReadScope {
   public:
    explicit ReadScope(EventStore& store);
    ~ReadScope();
    ReadScope(const ReadScope&) = delete;
    ReadScope& operator=(const ReadScope&) = delete;

   private:
    Db* db_ = nullptr;  // set when this scope began the transaction
  };
  // Called on the writer thread after a commit that merged a customer into another (into != 0)
  // or erased one's history (into == 0), for memory kept outside the store. Set before use.
  void set_customer_listener(std::function<void(std::int64_t from, std::int64_t into)> listener) {
    customer_listener_ = std::move(listener);
  }
  // Called after a rebuild or a prune has recomputed the projections (customer ids may have
  // changed: they follow enrolment order in the log), for memory kept outside the store.
  void set_rebuild_listener(std::function<void()> listener) { rebuild_listener_ = std::move(listener); }
  // Stops accepting, commits what is queued, and joins the writer.
  void stop();

  // Runs `fn` on the writer's connection in a transaction of its own and returns once it is
  // committed and flushed (the owner's settings: gesture rules). Exceptions roll it back.
  void write_now(const std::function<void(Db&)>& fn);

  // Erases the customer an identifier names, everywhere: every event about them (consents
  // included), every projection, feedback comments, follow-ups and offers, their identifiers
  // and the customer itself, with secure_delete on, then checkpoints and truncates the WAL so
  // no older page keeps a copy. Returns the receipt (also stored), or nullopt when no customer
  // has that identifier. The store's anonymous item statistics keep the baskets' counts.
  std::optional<nlohmann::json> erase_customer(const std::string& kind, const IdentifierHash& hash, const std::string& actor);
  // An erasure made at another store of the chain: each identifier's customer, if this store
  // knows them, is erased as above (not sent back to the chain), and every identifier is
  // tombstoned as of `erased_ms` (when the erasure reached the hub: a consent given again after
  // it, at any store, lifts the tombstone here too, however late this store learns of it).
  // Returns how many customers were erased here.
  using Identifiers = std::vector<std::pair<std::string, IdentifierHash>>;  // (kind, keyed hash)
  std::int64_t erase_from_chain(const Identifiers& identifiers, const std::string& actor, std::int64_t erased_ms);

  // Retention: deletes the behavioural events (purchases, returns, notes, preferences,
  // feedback, follow-ups, staff ideas, offers and their outcomes) older than `cutoff_ms`, with
  // secure_delete on, and rebuilds every projection from what remains, in one transaction.
  // Consents, profiles, links and merges stay. Returns what went.
  nlohmann::json prune(std::int64_t cutoff_ms);

  // Appends to the owner's audit trail (flushed before it returns).
  void audit(const std::string& actor, const std::string& action, const std::string& target,
             const nlohmann::json& detail = nlohmann::json::object());

  // Applies events synchronously in one transaction (bulk loading, tests).
  std::vector<WriteResult> apply_now(std::vector<PreparedEvent> events);
  // The same without waiting: the events are queued on the calling thread, in their order, and
  // the future holds the store's answers once every one is durable (or failed).
  std::future<std::vector<WriteResult>> apply_later(std::vector<PreparedEvent> events);

  // Read side; each call uses the calling thread's own read-only connection.
  std::optional<CustomerView> find_customer(const std::string& kind, const IdentifierHash& hash);
  std::vector<ItemStat> top_items(std::int64_t customer_id, int limit);
  // The store's best sellers, best first (the 200 best, listed again every 2 s, shared).
  std::shared_ptr<const std::vector<ItemStat>> best_sellers();
  StoreTotals totals();                            // as of the last acknowledged group
  std::vector<MemberTaste> member_tastes(std::int64_t customer_id, int limit);
  // Sets for_member on the items the customer bought for a household member.
  void mark_bought_for_members(std::int64_t customer_id, std::vector<ItemStat>& items);
  std::vector<Preference> preferences(std::int64_t customer_id);
  std::vector<Note> recent_notes(std::int64_t customer_id, int limit);
  std::vector<HouseholdMember> household(std::int64_t customer_id);
  std::optional<OpenFollowup> open_followup(std::int64_t customer_id);
  // Item popularity, what customers went on to buy, the blend's weights: many lookups for one
  // answer under one shared lock, with no copies (memory/popularity.hpp).
  Popularity::Reading read_popularity() const { return popularity_.read(); }
  // An item as the store knows it (name, category, baskets), from memory.
  std::optional<ItemInfo> item_info(const std::string& sku) { return popularity_.item(sku); }
  // The blend of prediction sources as measured on the store's purchases (memory/blend.hpp).
  BlendWeights blend_weights() const { return popularity_.blend_weights(); }
  double repeat_share() const { return popularity_.repeat_share(); }
  nlohmann::json describe_blend() const { return popularity_.describe_blend(); }
  // The calling thread's read-only connection, for reports.
  Db& read_connection() { return reader(); }
  // Makes the read connections this thread opens from now on lean (Db::Mode::read_only_lean):
  // for threads whose reads are long scans, such as the owner's.
  static void use_lean_readers_on_this_thread();
  StoreStats stats();
  // How many customers' top items are kept in memory (store/top_items_cache.hpp).
  std::size_t cached_top_items() const { return top_items_cache_.size(); }
  // Reads into that memory the top items of the customers with the most visits (those with a
  // long history are kept), on the calling thread; returns how many are kept. regularsd runs it
  // once at start on an owner thread, so a regular's first answer after a restart is quick too.
  std::size_t warm_top_items();

  // Recomputes every projection from the event log (on the writer thread, in one transaction)
  // and reports where the result differs from what was stored. The rebuilt state is kept.
  RebuildReport rebuild();

  const std::string& path() const noexcept { return path_; }
  // The size of the WAL file (regulars.db-wal) in bytes; 0 when it cannot be read.
  std::uint64_t wal_bytes() const noexcept;

  // Whether a record can be made durable now, answered by doing the smallest such write: the
  // writer commits one row (store_meta 'health_probe_ms') and the syncer flushes it like any
  // group. `done` gets "" once it is on disk, or why it is not (the commit failed: disk full,
  // read-only, I/O error; a flush failed earlier, so nothing is acknowledged until a restart;
  // the store is stopping). It runs on the syncer or the writer thread, or at once on this one
  // when an answer less than a second old can be given again: probes from any number of callers
  // cost at most one commit a second, and share the flush of the records around them.
  void check_durable(std::function<void(const std::string& failure)> done);
  std::uint64_t commits() const noexcept { return commits_.load(); }
  // The newest event seq known to be on disk: flushed by the syncer, or found at start-up. Events
  // above it may yet vanish in a crash (and their seq be given again), so whatever leaves the
  // store by seq (the chain's publishing) stops here.
  std::int64_t durable_seq() const noexcept { return durable_seq_.load(); }
  // Events acknowledged and dropped since start-up because an erasure's tombstone names them:
  // their event id was erased, or their identifier was and no new consent has been recorded.
  struct TombstoneDrops {
    std::uint64_t erased_events = 0, erased_identifiers = 0;
  };
  TombstoneDrops tombstone_drops() const noexcept { return {dropped_erased_events_.load(), dropped_erased_identifiers_.load()}; }
  // Where the write path spends its time, since start-up (status reports it; the benchmark
  // reads it to tell a busy writer from a slow disk).
  struct PipelineStats {
    std::uint64_t commits = 0;
    std::uint64_t events = 0;          // applied by the writer, duplicates included
    std::uint64_t writer_busy_us = 0;  // applying and committing groups
    std::uint64_t syncs = 0;           // fdatasync calls of the WAL
    std::uint64_t sync_us = 0;         // time in them
    std::uint64_t sync_max_us = 0;
    std::uint64_t checkpoints = 0;     // passive checkpoints that copied the WAL back
    std::uint64_t checkpoint_us = 0;
  };
  PipelineStats pipeline() const noexcept;

 private:
  // Erasure's tombstone: recorded by erase_customer; consulted for every event by apply.
  void record_tombstone(Db& db, std::int64_t customer);
  bool dropped_by_tombstone(Db& db, const PreparedEvent& e);
  struct Job {
    PreparedEvent event;
    Completion done;
    std::function<void()> task;  // instead of an event: work that needs the writer connection
  };
  struct Ack {
    Completion done;
    WriteResult result;
    // The event itself, freed by the syncer: taking its JSON tree apart is work the single
    // writer need not do, and the syncer mostly waits on the disk.
    PreparedEvent event;
    std::uint64_t group = 0;  // the writer's group number: delivered once that group is merged
  };
  void writer_loop();
  void commit_batch(std::vector<Job>& batch);
  // The item popularity's side of a committed group (popularity_merger.cpp): merged here, or
  // handed to rg-merger (Options::merge_beside_writer: the daemon and bulk loads).
  void merge_committed(std::vector<PopularityDelta>& deltas, std::uint64_t group);
  // Lets the syncer acknowledge the groups up to `group`, as far as their merge is concerned.
  void mark_merged(std::uint64_t group);
  void merge_deltas(const std::vector<PopularityDelta>& deltas) noexcept;
  void merger_loop();
  // Writer thread: returns once rg-merger has merged every group handed to it, so the writer may
  // read or change the popularity itself (a flush, a task). At once without rg-merger.
  void settle_popularity();
  void stop_merger();
  // After a commit on the writer thread: what it changed leaves the top items' cache.
  void forget_committed(const std::vector<WriteResult>& results) noexcept;
  std::vector<ItemStat> read_top_items(std::int64_t customer_id, int limit);
  void refresh_top_items(std::int64_t customer_id);
  // Applies and commits a group; false when, without per-event savepoints, an event failed
  // and the group was rolled back.
  bool run_group(std::vector<Job>& batch, std::vector<WriteResult>& results, std::vector<PopularityDelta>& deltas,
                 bool savepoint_per_event);
  // Inside a group's transaction, at most once a second: the popularity's changed items (and
  // every 10 s its successors and blend); returns what was written, for flush_failed.
  std::vector<std::string> flush_popularity_now_and_then(Db& db);
  void syncer_loop();
  // Records the first failed flush (of the WAL or, after a checkpoint, the database file).
  void fail_sync(const char* file, const std::string& failure);
  bool sync_failed();
  void checkpointer_loop();
  std::unique_ptr<Db> open_checkpoint_connection();
  // Waits until the WAL is large, or the store went quiet; false once the store stops.
  bool wait_for_checkpoint_turn(std::uint64_t& commits_seen);
  struct CheckpointRounds {  // what the last round of copying the WAL back came to
    int rc = SQLITE_OK;
    int log = 0, done = 0, wal = 0;  // frames in the WAL, copied back, and in the WAL after the round
    bool stalled = false;            // a reader's snapshot kept the round from moving anything
    bool stop = false;               // the store is stopping, or the database could not be flushed
  };
  CheckpointRounds run_checkpoint_rounds(Db& db, int db_fd);
  void after_checkpoint_rounds(const CheckpointRounds& rounds, Db& db);
  void finish_checkpoint();
  bool ckpt_stop_requested();
  // Flushes the WAL file; returns an empty string or what went wrong.
  std::string flush_wal();
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);
  WriteResult apply(PreparedEvent& e, PopularityDelta* popularity);
  // Counts the purchases logged after the items table's watermark (start-up after a crash).
  void catch_up_popularity();
  // Writes the changed items in a transaction of their own (stop, before a rebuild).
  void flush_popularity();
  // `before` runs inside the rebuild's transaction, before the replay (pruning); without
  // `compare` the stored projections are not compared, only replaced.
  RebuildReport rebuild_now(const std::function<void(Db&)>& before = nullptr, bool compare = true);
  std::int64_t replay_log(Db& db);
  // Checkpoints and truncates the WAL (after an erasure or a prune); false if readers kept it
  // busy for 5 s.
  bool truncate_wal();
  // Runs `fn` on the writer thread and waits for it. Throws std::logic_error when called on the
  // writer itself (a completion or listener asking for a write), which would wait for ever.
  void run_on_writer(std::function<void()> fn);
  // The durability probe (health.cpp): its commit on the writer, and its answer to every caller waiting.
  void commit_probe();
  void probe_answered(const std::string& failure);
  int sync_file(int fd) const { return options_.file_sync ? options_.file_sync(fd) : ::fdatasync(fd); }
  Db& reader();
  // chain_named: null when the chain is not told; else the identifiers the chain has named already
  // (an erasure from another store), and the customer's others are queued for it.
  std::optional<nlohmann::json> erase_customer_now(const std::string& kind, const IdentifierHash& hash, const std::string& actor,
                                                   const Identifiers* chain_named);
  std::optional<nlohmann::json> erase_customer_rolling_back(const std::string& kind, const IdentifierHash& hash,
                                                            const std::string& actor, const Identifiers* chain_named);
  void forget_purchases(Db& db, std::int64_t customer);

  std::string path_;
  Options options_;
  std::unique_ptr<Db> writer_db_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread writer_;
  std::atomic<std::thread::id> writer_id_{};  // the writer thread, for run_on_writer's check
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::int64_t> durable_seq_{0};
  std::int64_t next_seq_ = 1;  // writer thread: the seq of the next event logged, above any ever used
  std::atomic<std::uint64_t> dropped_erased_events_{0}, dropped_erased_identifiers_{0};
  bool any_erased_events_ = false;  // writer only: whether the event-id tombstone is worth a look
  std::atomic<std::uint64_t> events_applied_{0}, writer_busy_us_{0}, syncs_{0}, sync_us_{0}, sync_max_us_{0},
      checkpoints_{0}, checkpoint_us_{0};
  Popularity popularity_;
  // rg-merger (Options::merge_beside_writer): the committed groups' deltas waiting, in log order.
  std::thread merger_;
  std::mutex merge_mu_;
  std::condition_variable merge_cv_;
  struct MergeJob {
    std::vector<PopularityDelta> deltas;
    std::uint64_t group = 0;
  };
  std::deque<MergeJob> merge_queue_;
  bool merge_busy_ = false, merge_stop_ = false;  // under merge_mu_
  std::chrono::steady_clock::time_point popularity_flushed_at_, sources_flushed_at_;  // writer thread only
  // Long histories' top items for the hints (top_items_cache.hpp): 4,096 customers, about 28 MiB.
  TopItemsCache top_items_cache_{4096};
  // Writer thread only: customers a writer task changed, forgotten there once it has committed;
  // set by a rebuild, which may change anyone.
  std::vector<std::int64_t> forget_after_commit_;
  bool clear_after_commit_ = false;

  // Committed, not yet flushed: acknowledged by the syncer after its next fdatasync.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<Ack> unsynced_;
  bool writer_done_ = false;  // the writer has stopped: the syncer drains and ends
  std::uint64_t groups_committed_ = 0;  // writer thread only
  std::uint64_t groups_merged_ = 0;     // under sync_mu_: groups whose popularity is merged
  std::string sync_failure_;  // set once a flush failed (under sync_mu_): nothing later is acknowledged
  int wal_fd_ = -1;           // the WAL file, opened read-only, for fdatasync
  std::thread syncer_;

  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  std::atomic<int> wal_frames_{0};  // WAL size after the last commit, from the WAL hook
  std::atomic<bool> finish_checkpoint_{false};  // the checkpointer copied most of the WAL: the writer's turn
  bool ckpt_stop_ = false;
  std::thread checkpointer_;
  std::mutex popular_mu_;
  std::shared_ptr<const std::vector<ItemStat>> popular_;
  std::chrono::steady_clock::time_point popular_at_;
  bool popular_refreshing_ = false;
  std::uint64_t instance_;  // keys the per-thread reader connections
  std::function<void(std::int64_t, std::int64_t)> customer_listener_;
  std::function<void()> rebuild_listener_;

  // The durability probe (health.cpp), under probe_mu_.
  std::mutex probe_mu_;
  std::vector<std::function<void(const std::string&)>> probe_waiters_;  // non-empty: a probe is on its way
  std::chrono::steady_clock::time_point probe_answered_at_;
  std::optional<std::string> probe_answer_;  // the last probe's failure ("" when durable)
};

}  // namespace regulars::daemon
