#include "store/event_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>

#include "base/log.hpp"
#include "memory/projector.hpp"
#include "wire/json_text.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {
std::atomic<std::uint64_t> g_next_instance{1};

// Should steady writing keep passive checkpoints from ever finishing, the checkpointer makes
// room with a blocking one once the WAL holds twice its checkpoint size (at least 256 MiB).
constexpr int kMinRestartFrames = 65536;
// The writer finishes a checkpoint only once at most this many frames are left to copy; the
// checkpointer repeats its copy to get there.
constexpr int kFinishFrames = 256;

std::string opt_str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void bind_opt(Stmt& s, int idx, const std::string& v) {
  if (v.empty()) s.bind_null(idx);
  else s.bind(idx, v);
}
}  // namespace

PreparedEvent prepare_event(const json& event, const IdentityKey& key) {
  PreparedEvent p;
  p.event_id = event.at("event_id").get<std::string>();
  p.type = event.at("type").get<std::string>();
  if (const auto customer = event.find("customer"); customer != event.end()) {  // absent: anonymous
    p.id_kind = customer->at("kind").get<std::string>();
    p.id_hash = key.hash(p.id_kind, wire::normalize_identifier(p.id_kind, customer->at("value").get<std::string>()));
  }
  const auto t = event.find("time");
  p.time_ms = t != event.end() ? wire::parse_time_ms(t->get<std::string>()).value_or(wire::now_ms()) : wire::now_ms();
  p.body = event;
  p.body.erase("customer");  // the raw identifier never reaches the log
  if (!p.id_kind.empty()) p.body["customer_kind"] = p.id_kind;
  // Link and merge name a second identifier: the log keeps its keyed hash only.
  for (const char* field : {"identifier", "other"}) {
    if (!p.body.contains(field)) continue;
    const auto& id = event.at(field);
    const std::string kind = id.at("kind").get<std::string>();
    p.body[field] = {{"kind", kind},
                   {"hash", to_hex(key.hash(kind, wire::normalize_identifier(kind, id.at("value").get<std::string>())))}};
  }
  p.body_text = wire::dump_json(p.body);
  if (p.type == "purchase" || p.type == "return") {
    auto lines = std::make_shared<BasketLines>(basket_lines(p.body));
    p.value = p.type == "return" ? -lines->value : lines->value;
    p.lines = std::move(lines);
  }
  return p;
}

EventStore::EventStore(const std::string& data_dir, Options options)
    : path_(data_dir + "/regulars.db"), options_(options), instance_(g_next_instance.fetch_add(1)) {
  options_.checkpoint_pages = std::max(options_.checkpoint_pages, 1000);  // as the config allows at least
  writer_db_ = std::make_unique<Db>(path_, Db::Mode::read_write);
  const int from = migrate(*writer_db_);
  bool has_events = false;
  {
    Stmt s(writer_db_->raw(), "SELECT EXISTS (SELECT 1 FROM events)");
    has_events = s.step() && s.i64(0) != 0;
  }
  // Projections added by a migration are filled from the log before anyone is served.
  if (from > 0 && from < 4 && has_events) {
    REGULARS_LOG(info, "rebuilding projections after an upgrade", ({{"from_schema", from}}));
    rebuild_now();
  }
  popularity_.load(*writer_db_);
  catch_up_popularity();
  popularity_flushed_at_ = sources_flushed_at_ = std::chrono::steady_clock::now();
  // Commits go into the WAL without a flush; the syncer flushes the WAL file before anyone is
  // told (see store.hpp). Checkpoints run on the checkpointer's own connection: installing a
  // WAL hook turns off the writer's automatic checkpoints.
  writer_db_->exec("PRAGMA synchronous=NORMAL");
  // After a WAL reset, the file keeps a little more than one checkpoint's worth of frames
  // (4,120 bytes each at 4 KiB pages): it is rewritten in place rather than truncated and grown
  // again, which would make every flush commit file-system metadata too.
  writer_db_->exec("PRAGMA journal_size_limit=" +
                   std::to_string(static_cast<std::int64_t>(options_.checkpoint_pages) * 5 / 4 * 4120));
  const std::string wal_path = path_ + "-wal";
  wal_fd_ = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (wal_fd_ < 0)
    throw DbError(SQLITE_CANTOPEN, "cannot open " + wal_path + " to flush it: " + std::strerror(errno) +
                                       "; check that the data directory is writable by regularsd");
  sqlite3_wal_hook(writer_db_->raw(), &EventStore::on_wal_commit, this);
  writer_ = std::thread([this] {
    log::name_thread("rg-writer");
    writer_loop();
  });
  syncer_ = std::thread([this] {
    log::name_thread("rg-syncer");
    syncer_loop();
  });
  checkpointer_ = std::thread([this] {
    log::name_thread("rg-checkpoint");
    checkpointer_loop();
  });
}

int EventStore::on_wal_commit(void* self, sqlite3*, const char*, int frames) {
  auto* store = static_cast<EventStore*>(self);
  store->wal_frames_.store(frames, std::memory_order_relaxed);
  if (frames >= store->options_.checkpoint_pages) store->ckpt_cv_.notify_one();
  return SQLITE_OK;
}

EventStore::~EventStore() { stop(); }

namespace {
std::uint64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
}
}  // namespace

EventStore::PipelineStats EventStore::pipeline() const noexcept {
  PipelineStats p;
  p.commits = commits_.load();
  p.events = events_applied_.load();
  p.writer_busy_us = writer_busy_us_.load();
  p.syncs = syncs_.load();
  p.sync_us = sync_us_.load();
  p.sync_max_us = sync_max_us_.load();
  p.checkpoints = checkpoints_.load();
  p.checkpoint_us = checkpoint_us_.load();
  return p;
}

void EventStore::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
    try {
      flush_popularity();
    } catch (const std::exception& e) {  // counted again from the log at the next start
      REGULARS_LOG(warn, "could not write item popularity at shutdown", ({{"error", e.what()}}));
    }
  }
  {
    std::lock_guard lock(sync_mu_);
    writer_done_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();  // every committed event acknowledged after a flush
  {
    std::lock_guard lock(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  if (wal_fd_ >= 0) {
    ::close(wal_fd_);
    wal_fd_ = -1;
  }
  if (writer_db_) {
    if (sync_failed()) {
      // Pages a failed flush may have lost are still in the WAL: keep it whole (no checkpoint
      // now, none when the connection closes). The next start recovers from it.
      sqlite3_db_config(writer_db_->raw(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      return;
    }
    try {
      writer_db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const DbError&) {  // readers may still hold a snapshot; the WAL is replayed on next open
    }
  }
}

bool EventStore::sync_failed() {
  std::lock_guard lock(sync_mu_);
  return !sync_failure_.empty();
}

void EventStore::submit(PreparedEvent event, Completion done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Job{std::move(event), std::move(done), nullptr});
      cv_.notify_one();
      return;
    }
  }
  done(WriteResult::failed("shutting_down"));
}

void EventStore::submit_all(std::vector<PreparedEvent> events, const Completion& done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      for (auto& e : events) queue_.push_back(Job{std::move(e), done, nullptr});
      cv_.notify_one();
      return;
    }
  }
  for (std::size_t i = 0; i < events.size(); ++i) done(WriteResult::failed("shutting_down"));
}

EventStore::ReadScope::ReadScope(EventStore& store) {
  Db& db = store.reader();
  if (sqlite3_get_autocommit(db.raw()) == 0) return;  // an outer scope holds the transaction
  db.exec("BEGIN");
  db_ = &db;
}

EventStore::ReadScope::~ReadScope() {
  if (db_ == nullptr) return;
  try {
    db_->exec("COMMIT");
  } catch (const std::exception&) {  // a read transaction has nothing to lose; SQLite ends it
  }
}

void EventStore::writer_loop() {
  std::vector<Job> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      // Group commit: everything queued while the writer was busy with the previous group goes
      // in one transaction. No waiting for more: the flush runs beside the writer (syncer), so
      // an idle writer only delays the next group.
      const std::size_t n = std::min<std::size_t>(queue_.size(), static_cast<std::size_t>(options_.group_commit_max));
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        // A task runs alone: it ends the batch before it, or is a batch of its own.
        if (queue_.front().task && !batch.empty()) break;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (batch.back().task) break;
      }
    }
    commit_batch(batch);
    // Cleared only once done, so the checkpointer does not start a round meanwhile (one of the
    // two would only get SQLITE_BUSY).
    if (finish_checkpoint_.load()) {
      finish_checkpoint();
      finish_checkpoint_.store(false);
      ckpt_cv_.notify_one();
    }
  }
}

void EventStore::finish_checkpoint() {
  // A passive checkpoint on another connection can never catch up with a writer that keeps
  // committing, so the WAL would only grow, and appending to a growing file makes every
  // fdatasync commit file-system metadata as well. Once the checkpointer has copied most of
  // the WAL, the writer copies the few frames committed since, between two groups; the WAL
  // then starts over at the next commit, rewriting the same file blocks.
  if (sync_failed()) return;  // keep every frame: see fail_sync
  int log = 0, done = 0;
  const int rc = sqlite3_wal_checkpoint_v2(writer_db_->raw(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  if (rc == SQLITE_OK && done == log) wal_frames_.store(0, std::memory_order_relaxed);  // all copied: starts over
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    REGULARS_LOG(warn, "checkpoint failed; will retry", ({{"error", sqlite3_errmsg(writer_db_->raw())}}));
}

void EventStore::commit_batch(std::vector<Job>& batch) {
  // Maintenance tasks (rebuild) run alone, outside any event transaction.
  if (batch.size() == 1 && batch.front().task) {
    batch.front().task();
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<WriteResult> results(batch.size());
  // Each event's effect on the store's popularity, in log order: merged (in that order, so
  // sums come out exactly as a rebuild adds them) once the transaction has committed.
  std::vector<PopularityDelta> deltas(batch.size());
  // Optimistically, the whole group in one go: a savepoint per event would copy every page the
  // event touches into a sub-journal. Should any event fail, the group is rolled back and
  // applied again with a savepoint each, so that only that event fails.
  if (!run_group(batch, results, deltas, /*savepoint_per_event=*/false))
    run_group(batch, results, deltas, /*savepoint_per_event=*/true);
  // The group is in the WAL, not yet on disk: the syncer acknowledges it after its flush.
  const std::uint64_t group = ++groups_committed_;
  {
    std::lock_guard lock(sync_mu_);
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (!batch[i].task)
        unsynced_.push_back(Ack{std::move(batch[i].done), std::move(results[i]), std::move(batch[i].event), group});
  }
  sync_cv_.notify_one();
  // Then, while the flush runs, the store's item popularity takes in the committed group (in
  // log order, so sums come out as a rebuild adds them). Hints read it live (item names for
  // do-not-mention, store totals, successors), so the syncer holds the group's acknowledgements
  // until this is done: a till that hears "stored" sees its purchase everywhere. The flush
  // almost always takes longer than the merge, so nobody waits for it.
  try {
    for (const auto& d : deltas)
      if (!d.empty()) popularity_.merge(d);
  } catch (const std::exception& e) {  // memory only: counted again from the log at the next start
    REGULARS_LOG(err, "could not count a group in the item popularity", ({{"error", e.what()}}));
  }
  {
    std::lock_guard lock(sync_mu_);
    groups_merged_ = group;
  }
  sync_cv_.notify_one();
  events_applied_.fetch_add(batch.size(), std::memory_order_relaxed);
  writer_busy_us_.fetch_add(micros_since(t0), std::memory_order_relaxed);
}

bool EventStore::run_group(std::vector<Job>& batch, std::vector<WriteResult>& results, std::vector<PopularityDelta>& deltas,
                      bool savepoint_per_event) {
  std::vector<std::string> flushed;
  bool committed = false;
  for (auto& d : deltas) d.clear();
  Db& db = *writer_db_;
  try {
    db.cached("BEGIN IMMEDIATE").run();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].task) continue;
      if (!savepoint_per_event) {
        results[i] = apply(batch[i].event, &deltas[i]);
      } else {
        db.cached("SAVEPOINT ev").run();
        try {
          results[i] = apply(batch[i].event, &deltas[i]);
          db.cached("RELEASE ev").run();
        } catch (const Refused& e) {
          db.cached("ROLLBACK TO ev").run();
          db.cached("RELEASE ev").run();
          results[i] = WriteResult::failed(e.what(), true);
          deltas[i].clear();
        } catch (const std::exception& e) {
          db.cached("ROLLBACK TO ev").run();
          db.cached("RELEASE ev").run();
          results[i] = WriteResult::failed(e.what());
          deltas[i].clear();
        }
      }
      if (results[i].ok && !results[i].duplicate) deltas[i].last_seq = results[i].seq;
    }
    // The store totals: one row, once per commit.
    StoreTotals t;
    for (const auto& d : deltas) {
      t.baskets += d.totals.baskets;
      t.repeat_hits += d.totals.repeat_hits;
      t.repeat_total += d.totals.repeat_total;
    }
    if (t.baskets != 0 || t.repeat_total != 0)
      db.cached("UPDATE store_stats SET baskets=baskets+?, repeat_hits=repeat_hits+?, repeat_total=repeat_total+? WHERE id=1")
          .bind(1, t.baskets)
          .bind(2, t.repeat_hits)
          .bind(3, t.repeat_total)
          .run();
    // Now and then, the items changed by earlier commits ride along with this one.
    constexpr auto kFlushEvery = std::chrono::seconds(1);
    constexpr auto kSourcesEvery = std::chrono::seconds(10);
    const auto now = std::chrono::steady_clock::now();
    if (popularity_.dirty() > 0 && now - popularity_flushed_at_ >= kFlushEvery) {
      const bool with_sources = now - sources_flushed_at_ >= kSourcesEvery;
      flushed = popularity_.flush(db, with_sources);
      popularity_flushed_at_ = now;
      if (with_sources) sources_flushed_at_ = now;
    }
    db.exec("COMMIT");
    committed = true;
    commits_.fetch_add(1);
    if (customer_listener_)
      for (auto& r : results)
        for (const auto& [from, into] : r.gone) customer_listener_(from, into);
    // The popularity deltas are merged by commit_batch once the syncer has the group.
  } catch (const std::exception& e) {
    if (!committed) {
      try {
        db.exec("ROLLBACK");
      } catch (const std::exception&) {
      }
      popularity_.flush_failed(std::move(flushed));
      if (!savepoint_per_event) return false;  // find the failing event, one savepoint each
    }
    REGULARS_LOG(err, "commit failed", ({{"error", e.what()}, {"events", batch.size()}}));
    for (auto& r : results) r = WriteResult::failed(std::string("commit failed: ") + e.what());
    if (!committed)
      for (auto& d : deltas) d.clear();  // nothing of the group is stored
  }
  return true;
}

std::string EventStore::flush_wal() {
  // The WAL file keeps its inode for as long as the writer's connection is open (SQLite only
  // deletes it when the last connection closes), so this descriptor always names it.
  if (::fdatasync(wal_fd_) != 0) return std::string("fdatasync of the WAL failed: ") + std::strerror(errno);
  return {};
}

void EventStore::syncer_loop() {
  std::vector<Ack> acks;
  for (;;) {
    std::string failure;
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return writer_done_ || !unsynced_.empty(); });
      if (unsynced_.empty()) return;  // writer_done_ and nothing left
      acks.swap(unsynced_);
      failure = sync_failure_;
    }
    // Every ack taken here belongs to a group whose COMMIT returned before the swap above, so
    // its frames were written to the WAL file before this flush starts. (A second syncer, to
    // start a flush while another is under way, was measured: the disk serves flushes one
    // at a time, so each only took longer.)
    if (failure.empty()) {
      const auto t0 = std::chrono::steady_clock::now();
      failure = flush_wal();
      const std::uint64_t us = micros_since(t0);
      syncs_.fetch_add(1, std::memory_order_relaxed);
      sync_us_.fetch_add(us, std::memory_order_relaxed);
      if (us > sync_max_us_.load(std::memory_order_relaxed)) sync_max_us_.store(us, std::memory_order_relaxed);
      if (!failure.empty()) fail_sync("WAL", failure);
    }
    {
      // The writer may still be counting the last group in the item popularity (see
      // commit_batch); what is acknowledged must be visible to the next hints call.
      std::uint64_t newest = 0;
      for (const auto& a : acks) newest = std::max(newest, a.group);
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return groups_merged_ >= newest || writer_done_; });
    }
    for (auto& a : acks) {
      if (!failure.empty() && a.result.ok)
        a.result = WriteResult::failed("not acknowledged: " + failure + "; retry with the same event_id");
      a.done(std::move(a.result));
    }
    acks.clear();
  }
}

void EventStore::fail_sync(const char* file, const std::string& failure) {
  // After a failed fdatasync the kernel may have dropped the dirty pages; a later flush could
  // then "succeed" without them. Nothing more is acknowledged until a restart, which recovers
  // from what really reached the disk.
  std::lock_guard lock(sync_mu_);
  if (!sync_failure_.empty()) return;
  sync_failure_ = failure;
  REGULARS_LOG(critical, "cannot flush the store to disk; restart regularsd once the disk is healthy",
               ({{"file", file}, {"error", failure}}));
}

void EventStore::checkpointer_loop() {
  std::unique_ptr<Db> db;
  try {
    db = std::make_unique<Db>(path_, Db::Mode::read_write);
    db->exec("PRAGMA wal_autocheckpoint=0");
    // A RESTART checkpoint holds the write lock while it waits for readers: it gives up soon
    // rather than keep the writer (whose own lock wait is 5 s) from committing.
    sqlite3_busy_timeout(db->raw(), 100);
  } catch (const std::exception& e) {
    REGULARS_LOG(err, "checkpointer cannot open the store; the WAL will grow until restart", ({{"error", e.what()}}));
    return;
  }
  // The database file, to sync what each round copied (SQLite syncs only a complete copy).
  const int db_fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (db_fd < 0)
    REGULARS_LOG(warn, "checkpointer cannot open the database file to flush its copies; the writer will flush them",
                 ({{"error", std::strerror(errno)}}));
  struct CloseFd {
    int fd;
    ~CloseFd() {
      if (fd >= 0) ::close(fd);
    }
  } close_db_fd{db_fd};
  const int threshold = options_.checkpoint_pages;
  const int restart_frames = std::max(kMinRestartFrames, 2 * threshold);
  std::uint64_t commits_seen = commits_.load();
  for (;;) {
    bool idle = false;
    {
      std::unique_lock lock(ckpt_mu_);
      // A timed wait: a notification from the WAL hook is not taken under this lock. While the
      // writer has its turn (finish_checkpoint_), no round starts.
      ckpt_cv_.wait_for(lock, std::chrono::seconds(1), [&] {
        return ckpt_stop_ || (!finish_checkpoint_.load() && wal_frames_.load(std::memory_order_relaxed) >= threshold);
      });
      if (ckpt_stop_) return;
      if (finish_checkpoint_.load()) continue;
      // A large WAL is copied back under load; a quiet store (no commit for a second) is copied
      // back whatever its size, so readers search a short WAL and the next write starts over.
      const std::uint64_t commits = commits_.load();
      idle = commits == commits_seen && wal_frames_.load(std::memory_order_relaxed) > 0;
      commits_seen = commits;
      if (wal_frames_.load(std::memory_order_relaxed) < threshold && !idle) continue;
    }
    if (sync_failed()) return;  // keep every frame in the WAL: see fail_sync
    // PASSIVE copies what no reader still needs without ever blocking the writer. While the
    // writer keeps committing, it never reaches the end of the WAL and so never syncs the
    // database file: whoever copies the last frames does, for every page copied before. Were
    // that the writer (finish_checkpoint), every till would wait for tens of megabytes to
    // reach the disk. So the checkpointer syncs what it copied itself, and repeats the copy
    // while that leaves clearly fewer frames for the writer each time: each round costs two
    // flushes, so on a slow disk the frames committed meanwhile stop shrinking, and the writer
    // takes what is left rather than let the WAL grow.
    int rc = SQLITE_OK;
    int log = 0, done = 0, wal = 0, done_before = -1;
    int left = std::numeric_limits<int>::max();
    bool stalled = false;
    for (;;) {
      const auto t0 = std::chrono::steady_clock::now();
      rc = sqlite3_wal_checkpoint_v2(db->raw(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      // Far past its size (steady writing faster than the copy, or readers in the way): a
      // blocking checkpoint that starts the WAL over, waiting at most the busy timeout.
      if (rc == SQLITE_OK && wal_frames_.load(std::memory_order_relaxed) >= restart_frames)
        rc = sqlite3_wal_checkpoint_v2(db->raw(), "main", SQLITE_CHECKPOINT_RESTART, &log, &done);
      if (rc == SQLITE_OK && done > 0 && db_fd >= 0 && ::fdatasync(db_fd) != 0) {
        // SQLite already counts these frames as copied: the WAL no longer vouches for them.
        // Stop checkpointing and acknowledging, as for a failed WAL flush.
        fail_sync("database", std::string("fdatasync of the database file failed: ") + std::strerror(errno));
        return;
      }
      if (rc == SQLITE_OK && log > 0) {
        checkpoints_.fetch_add(1, std::memory_order_relaxed);
        checkpoint_us_.fetch_add(micros_since(t0), std::memory_order_relaxed);
      }
      if (rc != SQLITE_OK) break;
      wal = wal_frames_.load(std::memory_order_relaxed);
      if (wal < done) break;  // the WAL started over meanwhile: nothing of the old one is left
      // A reader's snapshot holds back frames a round cannot copy (done < log); it ends soon,
      // unless a long query keeps it: when a round moved nothing, wait rather than spin.
      if (done < log && done == done_before) {
        stalled = true;
        break;
      }
      done_before = done;
      const int now_left = wal - done;
      if (now_left <= kFinishFrames || std::int64_t{now_left} * 4 >= std::int64_t{left} * 3) break;
      left = now_left;
      if (ckpt_stop_requested()) return;
    }
    if (rc != SQLITE_OK) {
      if (rc != SQLITE_BUSY)
        REGULARS_LOG(warn, "checkpoint failed; will retry", ({{"error", sqlite3_errmsg(db->raw())}, {"wal_pages", log}}));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } else if (stalled) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } else if (wal >= done) {
      // Nothing committed since: SQLite synced the complete copy itself and the next commit
      // starts the WAL over. Otherwise the writer copies the few frames left between groups.
      if (wal > done) {
        finish_checkpoint_.store(true);
      } else {
        int expected = wal;
        wal_frames_.compare_exchange_strong(expected, 0, std::memory_order_relaxed);
      }
    }
  }
}

bool EventStore::ckpt_stop_requested() {
  std::lock_guard lock(ckpt_mu_);
  return ckpt_stop_;
}

std::vector<WriteResult> EventStore::apply_now(std::vector<PreparedEvent> events) {
  // Runs through the writer thread so there is still exactly one writer.
  std::vector<WriteResult> results(events.size());
  std::mutex m;
  std::condition_variable cv;
  std::size_t left = events.size();
  for (std::size_t i = 0; i < events.size(); ++i) {
    submit(std::move(events[i]), [&, i](WriteResult r) {
      std::lock_guard lock(m);
      results[i] = std::move(r);
      if (--left == 0) cv.notify_one();
    });
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return left == 0; });
  return results;
}

WriteResult EventStore::apply(PreparedEvent& e, PopularityDelta* popularity) {
  Db& db = *writer_db_;
  WriteResult r;
  {
    Stmt& s = db.cached("SELECT seq FROM events WHERE event_id=?");
    s.bind(1, e.event_id);
    if (s.step()) {
      r.ok = true;
      r.duplicate = true;
      r.seq = s.i64(0);
      s.reset();
      return r;
    }
  }
  // The body moves into the logged event (the writer does not copy a JSON tree per event) and
  // back when done, in case the group is applied again.
  LoggedEvent logged{0, e.event_id, e.type, e.id_kind, e.id_hash, e.time_ms, std::move(e.body), e.lines.get()};
  struct GiveBack {
    PreparedEvent& to;
    LoggedEvent& from;
    ~GiveBack() { to.body = std::move(from.body); }
  } give_back{e, logged};
  Projector projector(db, options_.erase_on_withdrawal, popularity);
  r.customer_id = projector.resolve_or_enrol(logged);
  {
    Stmt& s = db.cached(
        "INSERT INTO events(event_id, type, customer_id, time_ms, store, terminal, cashier, touchpoint, body, id_kind, id_hash, "
        "value) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, e.event_id).bind(2, e.type).bind(4, e.time_ms);
    if (r.customer_id == 0) s.bind_null(3); else s.bind(3, r.customer_id);
    bind_opt(s, 5, opt_str(logged.body, "store"));
    bind_opt(s, 6, opt_str(logged.body, "terminal"));
    bind_opt(s, 7, opt_str(logged.body, "cashier"));
    bind_opt(s, 8, opt_str(logged.body, "touchpoint"));
    s.bind(9, e.body_text.empty() ? wire::dump_json(logged.body) : e.body_text);
    if (e.id_kind.empty()) {
      s.bind_null(10).bind_null(11);
    } else {
      s.bind(10, e.id_kind).bind_blob(11, e.id_hash.data(), e.id_hash.size());
    }
    if (e.value) s.bind(12, *e.value); else s.bind_null(12);
    s.run();
    r.seq = db.last_insert_rowid();
  }
  logged.seq = r.seq;
  r.customer_id = projector.project(logged, /*log_row_linked=*/true);
  r.gone = projector.take_gone();
  r.ok = true;
  return r;
}

void EventStore::run_on_writer(std::function<void()> fn) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr failure;
  {
    std::lock_guard lock(mu_);
    if (stopping_) throw std::runtime_error("regularsd is stopping");
    queue_.push_back(Job{PreparedEvent{}, nullptr, [&] {
                           try {
                             fn();
                           } catch (...) {
                             failure = std::current_exception();
                           }
                           std::lock_guard l(m);
                           done = true;
                           cv.notify_one();
                         }});
    cv_.notify_one();
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
  if (failure) std::rethrow_exception(failure);
}

void EventStore::write_now(const std::function<void(Db&)>& fn) {
  run_on_writer([&] {
    Db& db = *writer_db_;
    db.exec("BEGIN IMMEDIATE");
    try {
      fn(db);
      db.exec("COMMIT");
    } catch (...) {
      try {
        db.exec("ROLLBACK");
      } catch (const std::exception&) {  // SQLite may have rolled back already
      }
      throw;
    }
    if (const std::string failure = flush_wal(); !failure.empty()) throw std::runtime_error(failure);
  });
}

void EventStore::audit(const std::string& actor, const std::string& action, const std::string& target, const nlohmann::json& detail) {
  write_now([&](Db& db) {
    db.cached("INSERT INTO audit(time_ms, actor, action, target, detail) VALUES(?,?,?,?,?)")
        .bind(1, wire::now_ms())
        .bind(2, actor)
        .bind(3, action)
        .bind(4, target)
        .bind(5, wire::dump_json(detail))
        .run();
  });
}

std::optional<nlohmann::json> EventStore::erase_customer(const std::string& kind, const IdentifierHash& hash, const std::string& actor) {
  std::optional<nlohmann::json> receipt;
  std::int64_t customer = 0;
  write_now([&](Db& db) {
    {
      Stmt& s = db.cached("SELECT customer_id FROM identifiers WHERE kind=? AND hash=?");
      s.bind(1, kind).bind_blob(2, hash.data(), hash.size());
      if (s.step()) customer = s.i64(0);
      s.reset();
    }
    if (customer == 0) return;
    SecureDelete secure(db);
    nlohmann::json erased = nlohmann::json::object();
    auto count = [&](const std::string& sql) {
      Stmt s(db.raw(), sql);
      s.bind(1, customer);
      return s.step() ? s.i64(0) : 0;
    };
    {
      Stmt s(db.raw(), "SELECT type, count(*) FROM events WHERE customer_id=? GROUP BY type ORDER BY type");
      s.bind(1, customer);
      nlohmann::json by_type = nlohmann::json::object();
      while (s.step()) by_type[s.text(0)] = s.i64(1);
      erased["events"] = std::move(by_type);
    }
    erased["identifiers"] = count("SELECT count(*) FROM identifiers WHERE customer_id=?");
    for (const char* table : {"customer_items", "customer_categories", "member_items", "household", "preferences", "notes",
                              "feedback", "followups", "offers"})
      erased[table] = count(std::string("SELECT count(*) FROM ") + table + " WHERE customer_id=?");
    // The owner's follow-up changes about this customer's feedback (they quote it).
    erased["followup_changes"] = count(
        "SELECT count(*) FROM events WHERE type='followup' AND json_extract(body, '$.feedback') IN "
        "(SELECT event_id FROM events WHERE customer_id=?1 AND type='feedback')");
    db.cached(
          "DELETE FROM events WHERE type='followup' AND json_extract(body, '$.feedback') IN "
          "(SELECT event_id FROM events WHERE customer_id=? AND type='feedback')")
        .bind(1, customer)
        .run();
    db.cached("DELETE FROM events WHERE customer_id=?").bind(1, customer).run();
    for (const char* table : {"customer_items", "customer_categories", "member_items", "household", "preferences", "notes",
                              "feedback", "followups", "offers", "identifiers"})
      db.cached(std::string("DELETE FROM ") + table + " WHERE customer_id=?").bind(1, customer).run();
    db.cached("DELETE FROM customers WHERE id=?").bind(1, customer).run();
    const std::string id = wire::random_id("erasure-", 8);  // throws: the erasure rolls back
    const std::int64_t now = wire::now_ms();
    receipt = nlohmann::json{{"receipt_id", id}, {"erased_at", wire::format_time_ms(now)}, {"by", actor}, {"erased", erased}};
    db.cached("INSERT INTO erasure_receipts(receipt_id, erased_ms, actor, erased) VALUES(?,?,?,?)")
        .bind(1, id)
        .bind(2, now)
        .bind(3, actor)
        .bind(4, wire::dump_json(erased))
        .run();
    db.cached("INSERT INTO audit(time_ms, actor, action, target, detail) VALUES(?,?,'erase',?,?)")
        .bind(1, now)
        .bind(2, actor)
        .bind(3, id)
        .bind(4, wire::dump_json(erased))
        .run();
  });
  if (!receipt) return std::nullopt;
  if (customer_listener_) customer_listener_(customer, 0);
  (*receipt)["wal_truncated"] = truncate_wal();
  REGULARS_LOG(info, "customer erased", ({{"receipt", (*receipt)["receipt_id"]}, {"wal_truncated", (*receipt)["wal_truncated"]}}));
  return receipt;
}

bool EventStore::truncate_wal() {
  // Older copies of deleted rows live on in WAL frames until the WAL is copied back and
  // emptied. Readers holding an older snapshot keep it alive a moment: retry, briefly each
  // time and for 5 s at most, so the tills' writes wait no longer than that.
  bool truncated = false;
  if (sync_failed()) {  // the WAL holds what a failed flush may have lost: it stays whole
    REGULARS_LOG(warn, "the WAL is kept whole after a failed flush; restart regularsd once the disk is healthy", ({}));
    return false;
  }
  run_on_writer([&] {
    sqlite3* db = writer_db_->raw();
    sqlite3_busy_timeout(db, 50);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!truncated && std::chrono::steady_clock::now() < give_up) {
      int log = 0, done = 0;
      truncated = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &done) == SQLITE_OK;
      if (!truncated) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    sqlite3_busy_timeout(db, 5000);
  });
  if (!truncated) REGULARS_LOG(warn, "the WAL could not be emptied now; old pages stay in it until a later checkpoint restarts it", ({}));
  return truncated;
}

nlohmann::json EventStore::prune(std::int64_t cutoff_ms) {
  // Behavioural history older than the cutoff goes; what says who the customer is (consent
  // records, profile, links and merges) stays. An owner's follow-up change or a till's offer
  // outcome goes with the feedback or offer it is about, so what remains replays cleanly.
  static constexpr const char* kPruned = "('purchase', 'return', 'note', 'preference', 'feedback', 'followup', 'staff_idea', "
                                         "'offer', 'offer_outcome')";
  nlohmann::json pruned = nlohmann::json::object();
  std::int64_t total = 0;
  RebuildReport report;
  bool any = false;
  run_on_writer([&] {
    {  // nothing old enough: no rebuild (retention runs every few hours on stores of any size)
      Stmt s(writer_db_->raw(), std::string("SELECT EXISTS (SELECT 1 FROM events WHERE time_ms < ? AND type IN ") + kPruned + ")");
      s.bind(1, cutoff_ms);
      any = s.step() && s.i64(0) != 0;
    }
    if (!any) return;
    // Full secure_delete for the whole transaction: the rebuild empties and refills the
    // projections, and the pruned notes and comments in them must not stay in freed pages.
    SecureDelete secure(*writer_db_);
    report = rebuild_now(
        [&](Db& db) {
          db.exec("CREATE TEMP TABLE prune_seqs AS SELECT seq FROM events WHERE time_ms < " + std::to_string(cutoff_ms) +
                  " AND type IN " + kPruned);
          db.exec("INSERT INTO prune_seqs SELECT seq FROM events WHERE type='followup' AND json_extract(body, '$.feedback') IN "
                  "(SELECT event_id FROM events WHERE seq IN (SELECT seq FROM prune_seqs) AND type='feedback') "
                  "AND seq NOT IN (SELECT seq FROM prune_seqs)");
          db.exec("INSERT INTO prune_seqs SELECT seq FROM events WHERE type='offer_outcome' AND json_extract(body, '$.offer_id') IN "
                  "(SELECT event_id FROM events WHERE seq IN (SELECT seq FROM prune_seqs) AND type='offer') "
                  "AND seq NOT IN (SELECT seq FROM prune_seqs)");
          {
            Stmt s(db.raw(), "SELECT type, count(*) FROM events WHERE seq IN (SELECT seq FROM prune_seqs) GROUP BY type ORDER BY type");
            while (s.step()) {
              pruned[s.text(0)] = s.i64(1);
              total += s.i64(1);
            }
          }
          db.exec("DELETE FROM events WHERE seq IN (SELECT seq FROM prune_seqs)");
          db.exec("DROP TABLE temp.prune_seqs");
        },
        /*compare=*/false);
  });
  if (any && rebuild_listener_) rebuild_listener_();
  const bool truncated = any ? truncate_wal() : true;
  REGULARS_LOG(info, "retention", ({{"cutoff", wire::format_time_ms(cutoff_ms)}, {"pruned", total}}));
  return {{"cutoff", wire::format_time_ms(cutoff_ms)}, {"pruned", total}, {"by_type", pruned}, {"customers", report.customers},
          {"wal_truncated", truncated}};
}

RebuildReport EventStore::rebuild() {
  RebuildReport report;
  run_on_writer([&] { report = rebuild_now(); });
  if (rebuild_listener_) rebuild_listener_();
  return report;
}

RebuildReport EventStore::rebuild_now(const std::function<void(Db&)>& before, bool compare) {
  Db& db = *writer_db_;
  static const std::vector<std::string> kTables{"feedback", "followups", "staff_ideas",
                                                "customers", "identifiers", "customer_items", "items", "customer_categories",
                                                "member_items", "household", "preferences", "notes", "store_stats",
                                                "item_sources", "offers"};
  RebuildReport report;
  db.exec("BEGIN IMMEDIATE");
  try {
    popularity_.flush(db, true);  // the stored state includes what is only in memory so far
    if (before) before(db);
    if (compare) {
      for (const auto& t : kTables) db.exec("CREATE TEMP TABLE stored_" + t + " AS SELECT * FROM main." + t);
      db.exec("CREATE TEMP TABLE stored_event_customers AS SELECT seq, customer_id FROM main.events");
    }
    // Popularity and transitions are counted again in memory, event by event in log order as the
    // live writer does, then written out whole.
    PopularityDelta delta;
    Projector projector(db, options_.erase_on_withdrawal, &delta);
    projector.set_replaying();
    projector.keep_ids();
    projector.clear_all();
    popularity_.clear();
    // Read the log in chunks, each fully read before it is projected: projecting updates the
    // rows just read (their customer), which must not disturb an open scan.
    std::int64_t after = 0;
    for (;;) {
      std::vector<LoggedEvent> chunk;
      {
        Stmt events(db.raw(), std::string("SELECT ") + kLoggedEventColumns + " FROM events WHERE seq>? ORDER BY seq LIMIT 2000");
        events.bind(1, after);
        while (events.step()) chunk.push_back(logged_event_from_row(events));
      }
      if (chunk.empty()) break;
      after = chunk.back().seq;
      for (const auto& e : chunk) {
        delta.clear();
        projector.project(e);
        delta.last_seq = e.seq;
        popularity_.merge(delta);
        ++report.events;
      }
    }
    const StoreTotals totals = popularity_.totals();
    db.cached("UPDATE store_stats SET baskets=?, repeat_hits=?, repeat_total=? WHERE id=1")
        .bind(1, totals.baskets)
        .bind(2, totals.repeat_hits)
        .bind(3, totals.repeat_total)
        .run();
    popularity_.flush(db, true);
    auto differing = [&](const std::string& a, const std::string& b) {
      Stmt s(db.raw(), "SELECT (SELECT count(*) FROM (SELECT * FROM " + a + " EXCEPT SELECT * FROM " + b +
                           ")) + (SELECT count(*) FROM (SELECT * FROM " + b + " EXCEPT SELECT * FROM " + a + "))");
      s.step();
      return s.i64(0);
    };
    // The rebuilt items table counts every event in the log.
    db.exec("INSERT INTO store_meta(key, value) VALUES('items_seq', (SELECT coalesce(max(seq), 0) FROM events)) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    if (compare) {
      for (const auto& t : kTables) report.differences.emplace_back(t, differing("main." + t, "temp.stored_" + t));
      report.differences.emplace_back("events.customer_id",
                                      differing("(SELECT seq, customer_id FROM main.events)", "temp.stored_event_customers"));
      {
        Stmt c(db.raw(), "SELECT count(*) FROM customers");  // finalized before the DROPs below
        c.step();
        report.customers = c.i64(0);
      }
      for (const auto& t : kTables) db.exec("DROP TABLE temp.stored_" + t);
      db.exec("DROP TABLE temp.stored_event_customers");
    }
    projector.forget_ids();
    if (!compare) {
      Stmt c(db.raw(), "SELECT count(*) FROM customers");
      c.step();
      report.customers = c.i64(0);
    }
    db.exec("COMMIT");
    popularity_.load(db);
    {
      std::lock_guard lock(popular_mu_);
      popular_.reset();  // the best sellers are listed again from the rebuilt counts
    }
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (const std::exception&) {  // SQLite may have rolled back already
    }
    // Back to what is committed, the rolled-back flush included (catch-up counts the rest again).
    popularity_.load(db);
    catch_up_popularity();
    for (const auto& t : kTables) db.exec("DROP TABLE IF EXISTS temp.stored_" + t);
    db.exec("DROP TABLE IF EXISTS temp.stored_event_customers");
    Projector(db).forget_ids();
    throw;
  }
  return report;
}

void EventStore::catch_up_popularity() {
  Db& db = *writer_db_;
  std::int64_t n = 0;
  {
    const std::int64_t items_seq = popularity_.items_watermark(), sources_seq = popularity_.sources_watermark();
    Stmt s(db.raw(), "SELECT seq, time_ms, body, customer_id FROM events WHERE seq>? AND type='purchase' ORDER BY seq");
    s.bind(1, std::min(items_seq, sources_seq));
    Stmt top(db.raw(), "SELECT sku FROM customer_items WHERE customer_id=? ORDER BY rank_key DESC, sku LIMIT " +
                           std::to_string(kTransitionSeeds));
    while (s.step()) {
      PopularityDelta d;
      const BasketLines lines = basket_lines(nlohmann::json::parse(s.text(2)));
      if (s.i64(0) > items_seq) count_items(lines, s.i64(1), d);
      // Transitions, approximately: the customer's top items now stand in for those before the
      // purchase (a rebuild counts them exactly).
      if (!s.is_null(3) && s.i64(0) > sources_seq) {
        Transition t;
        top.reset();
        top.bind(1, s.i64(3));
        while (top.step()) t.seeds.push_back(top.text(0));
        for (const auto& [sku, _] : lines.per_sku) t.basket.push_back(sku);
        if (!t.seeds.empty()) d.transitions.push_back(std::move(t));
      }
      d.last_seq = s.i64(0);
      popularity_.merge(d);
      ++n;
    }
  }
  if (n > 0) {
    REGULARS_LOG(info, "counted purchases logged after the last popularity write", ({{"purchases", n}}));
    flush_popularity();
  }
}

void EventStore::flush_popularity() {
  if (popularity_.dirty() == 0) return;
  Db& db = *writer_db_;
  db.exec("BEGIN IMMEDIATE");
  std::vector<std::string> flushed;
  try {
    flushed = popularity_.flush(db, true);
    db.exec("COMMIT");
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (const std::exception&) {  // SQLite may have rolled back already
    }
    popularity_.flush_failed(std::move(flushed));
    throw;
  }
}

Db& EventStore::reader() {
  // One read-only connection per (thread, store): SQLite connections are not shared.
  thread_local std::unordered_map<std::uint64_t, std::unique_ptr<Db>> readers;
  auto& slot = readers[instance_];
  if (!slot) slot = std::make_unique<Db>(path_, Db::Mode::read_only);
  return *slot;
}

std::optional<CustomerView> EventStore::find_customer(const std::string& kind, const IdentifierHash& hash) {
  Stmt& s = reader().cached(
      "SELECT c.id, coalesce(c.first_seen_ms, 0), coalesce(c.last_seen_ms, 0), c.visits, c.spend, "
      "c.consent_remember, c.consent_personalize, coalesce(c.name, ''), coalesce(c.birthday, ''), "
      "coalesce(c.anniversary, ''), coalesce(c.language, ''), c.discreet, coalesce(c.do_not_mention, ''), c.returns, "
      "coalesce(c.weekday_hist, ''), coalesce(c.hour_hist, ''), c.repeat_hits, c.repeat_total, "
      "coalesce(c.last_feedback_ms, 0), coalesce(c.last_complaint_ms, 0), coalesce(c.tags, ''), c.member_visits "
      "FROM identifiers i JOIN customers c ON c.id=i.customer_id WHERE i.kind=? AND i.hash=?");
  s.bind(1, kind).bind_blob(2, hash.data(), hash.size());
  if (!s.step()) return std::nullopt;
  CustomerView c;
  c.id = s.i64(0);
  c.first_seen_ms = s.i64(1);
  c.last_seen_ms = s.i64(2);
  c.visits = s.i64(3);
  c.spend = s.i64(4);
  if (!s.is_null(5)) c.consent_remember = s.i64(5) != 0;
  if (!s.is_null(6)) c.consent_personalize = s.i64(6) != 0;
  c.name = s.text(7);
  c.birthday = s.text(8);
  c.anniversary = s.text(9);
  c.language = s.text(10);
  c.discreet = s.i64(11) != 0;
  if (const std::string dnm = s.text(12); !dnm.empty())
    for (const auto& v : nlohmann::json::parse(dnm)) c.do_not_mention.push_back(v.get<std::string>());
  c.returns = s.i64(13);
  if (const std::string w = s.text(14); !w.empty()) c.weekday_hist = nlohmann::json::parse(w).get<std::vector<std::int64_t>>();
  if (const std::string h = s.text(15); !h.empty()) c.hour_hist = nlohmann::json::parse(h).get<std::vector<std::int64_t>>();
  c.repeat_hits = s.i64(16);
  c.repeat_total = s.i64(17);
  c.last_feedback_ms = s.i64(18);
  c.last_complaint_ms = s.i64(19);
  if (const std::string t = s.text(20); !t.empty())
    for (const auto& v : nlohmann::json::parse(t)) c.tags.push_back(v.get<std::string>());
  c.member_visits = s.i64(21);
  s.reset();
  return c;
}

std::vector<ItemStat> EventStore::top_items(std::int64_t customer_id, int limit) {
  Stmt& s = reader().cached(
      "SELECT sku, baskets, last_ms, first_ms, coalesce(category, ''), returned, dsum, dvis "
      "FROM customer_items WHERE customer_id=? ORDER BY rank_key DESC, sku LIMIT ?");
  s.bind(1, customer_id).bind(2, std::int64_t{limit});
  std::vector<ItemStat> out;
  while (s.step()) {
    ItemStat st{s.text(0), "", s.i64(1), s.i64(2), s.i64(3), s.text(4), s.f64(5), s.f64(6), s.i64(7), 0};
    if (const auto info = popularity_.item(st.sku)) {
      st.name = info->name;
      st.store_baskets = info->baskets;
    }
    out.push_back(std::move(st));
  }
  return out;
}

std::vector<MemberTaste> EventStore::member_tastes(std::int64_t customer_id, int limit) {
  Stmt& s = reader().cached(
      "SELECT member, sku, baskets FROM member_items WHERE customer_id=? ORDER BY baskets DESC, last_ms DESC LIMIT ?");
  s.bind(1, customer_id).bind(2, std::int64_t{limit});
  std::vector<MemberTaste> out;
  while (s.step()) {
    MemberTaste t{s.text(0), s.text(1), "", s.i64(2)};
    const auto info = popularity_.item(t.sku);
    t.name = info && !info->name.empty() ? info->name : t.sku;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Preference> EventStore::preferences(std::int64_t customer_id) {
  Stmt& s = reader().cached(
      "SELECT member, key, value, coalesce(said_by, ''), time_ms FROM preferences WHERE customer_id=? "
      "ORDER BY member, key LIMIT 32");
  s.bind(1, customer_id);
  std::vector<Preference> out;
  while (s.step()) out.push_back(Preference{s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4)});
  return out;
}

std::vector<Note> EventStore::recent_notes(std::int64_t customer_id, int limit) {
  Stmt& s = reader().cached(
      "SELECT text, coalesce(cashier, ''), time_ms FROM notes WHERE customer_id=? ORDER BY time_ms DESC LIMIT ?");
  s.bind(1, customer_id).bind(2, std::int64_t{limit});
  std::vector<Note> out;
  while (s.step()) out.push_back(Note{s.text(0), s.text(1), s.i64(2)});
  return out;
}

std::vector<HouseholdMember> EventStore::household(std::int64_t customer_id) {
  Stmt& s = reader().cached(
      "SELECT member, coalesce(name, ''), coalesce(birthday, '') FROM household WHERE customer_id=? ORDER BY member LIMIT 16");
  s.bind(1, customer_id);
  std::vector<HouseholdMember> out;
  while (s.step()) out.push_back(HouseholdMember{s.text(0), s.text(1), s.text(2)});
  return out;
}

std::optional<OpenFollowup> EventStore::open_followup(std::int64_t customer_id) {
  Stmt& s = reader().cached(
      "SELECT f.opened_ms, f.state, fb.nps, fb.csat, coalesce(fb.reasons, '[]') FROM followups f "
      "JOIN feedback fb ON fb.seq=f.feedback_seq WHERE f.customer_id=? AND f.state<>'resolved' "
      "ORDER BY f.opened_ms DESC LIMIT 1");
  s.bind(1, customer_id);
  std::optional<OpenFollowup> out;
  if (s.step()) {
    OpenFollowup f;
    f.opened_ms = s.i64(0);
    f.state = s.text(1);
    if (!s.is_null(2)) f.nps = s.i64(2);
    if (!s.is_null(3)) f.csat = s.i64(3);
    for (const auto& r : nlohmann::json::parse(s.text(4))) f.reasons.push_back(r.get<std::string>());
    out = std::move(f);
  }
  s.reset();
  return out;
}

std::vector<ItemStat> EventStore::popular_items(int limit) {
  // Best sellers change slowly: the list is sorted again every few seconds, not per request.
  constexpr auto kRefresh = std::chrono::seconds(2);
  constexpr int kKept = 200;
  std::shared_ptr<const std::vector<ItemStat>> list;
  bool refresh = false;
  {
    std::lock_guard lock(popular_mu_);
    list = popular_;
    if ((!list || std::chrono::steady_clock::now() - popular_at_ > kRefresh) && !popular_refreshing_) {
      popular_refreshing_ = true;
      refresh = true;
    }
  }
  if (refresh) {
    auto fresh = std::make_shared<std::vector<ItemStat>>();
    for (auto& [sku, i] : popularity_.top(kKept))
      fresh->push_back(ItemStat{sku, i.name, i.baskets, i.last_ms, 0, i.category, 0, 0, 0, i.baskets});
    std::lock_guard lock(popular_mu_);
    popular_ = fresh;
    popular_at_ = std::chrono::steady_clock::now();
    popular_refreshing_ = false;
    list = fresh;
  }
  std::vector<ItemStat> out;
  if (!list) return out;
  out.assign(list->begin(), list->begin() + std::min<std::ptrdiff_t>(limit, static_cast<std::ptrdiff_t>(list->size())));
  return out;
}

StoreTotals EventStore::totals() { return popularity_.totals(); }

StoreStats EventStore::stats() {
  Db& db = reader();
  StoreStats st;
  Stmt& s = db.cached(
      "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT count(*) FROM customers)");
  if (s.step()) {
    st.events = s.i64(0);
    st.customers = s.i64(1);
  }
  st.items = static_cast<std::int64_t>(popularity_.size());
  s.reset();
  return st;
}

}  // namespace regulars::daemon
