#include "store/event_store.hpp"

#include "store/stopwatch.hpp"

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
#include "memory/consent.hpp"
#include "memory/projector.hpp"
#include "memory/tombstone.hpp"
#include "wire/json_text.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {
std::atomic<std::uint64_t> g_next_instance{1};

std::string opt_str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void bind_opt(Stmt& s, int idx, const std::string& v) {
  if (v.empty()) s.bind_null(idx);
  else s.bind(idx, v);
}
}  // namespace

EventStore::EventStore(const std::string& data_dir, Options options)
    : path_(data_dir + "/regulars.db"), options_(options), instance_(g_next_instance.fetch_add(1)) {
  options_.checkpoint_pages = std::max(options_.checkpoint_pages, 1000);  // as the config allows at least
  writer_db_ = std::make_unique<Db>(path_, Db::Mode::read_write);
  if (options_.writer_cache_mib > 0) writer_db_->exec("PRAGMA cache_size=-" + std::to_string(options_.writer_cache_mib * 1024));
  const int from = migrate(*writer_db_);
  if (!options_.hash_event_id)
    options_.hash_event_id = [zeros = IdentityKey(IdentitySecret{})](std::string_view id) { return zeros.hash("event_id", id); };
  {
    Stmt s(writer_db_->raw(), "SELECT EXISTS (SELECT 1 FROM erased_events)");
    any_erased_events_ = s.step() && s.i64(0) != 0;
  }
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
  {
    Stmt s(writer_db_->raw(),
           "SELECT coalesce(max(seq), 0), coalesce((SELECT value FROM store_meta WHERE key='seq_high_water'), 0) FROM events");
    if (s.step()) {
      durable_seq_.store(s.i64(0));
      next_seq_ = std::max(s.i64(0), s.i64(1)) + 1;
    }
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
    writer_id_ = std::this_thread::get_id();
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
  if (options_.merge_beside_writer)
    merger_ = std::thread([this] {
      log::name_thread("rg-merger");
      merger_loop();
    });
}

EventStore::~EventStore() { stop(); }

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
    stop_merger();
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

void EventStore::commit_batch(std::vector<Job>& batch) {
  // Maintenance tasks (rebuild) run alone, outside any event transaction.
  if (batch.size() == 1 && batch.front().task) {
    settle_popularity();  // a task may read or change it
    batch.front().task();
    forget_committed({});
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
  merge_committed(deltas, group);
  events_applied_.fetch_add(batch.size(), std::memory_order_relaxed);
  writer_busy_us_.fetch_add(micros_since(t0), std::memory_order_relaxed);
}

void EventStore::forget_committed(const std::vector<WriteResult>& results) noexcept {
  try {
    if (clear_after_commit_) top_items_cache_.clear();
    clear_after_commit_ = false;
    std::vector<std::int64_t> gone = std::move(forget_after_commit_), changed;
    forget_after_commit_.clear();
    for (const auto& r : results) {
      for (const auto& [from, into] : r.gone) {
        gone.push_back(from);
        if (into != 0) changed.push_back(into);
      }
      if (r.ok && !r.duplicate && r.customer_id != 0) changed.push_back(r.customer_id);
    }
    std::sort(gone.begin(), gone.end());
    for (const std::int64_t customer : gone) top_items_cache_.forget(customer);
    // Each changed customer once per group (a spool's replay brings several events of one), read
    // again if they were kept; one merged away or erased is only forgotten.
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    for (const std::int64_t customer : changed) {
      const bool kept = top_items_cache_.contains(customer);
      top_items_cache_.forget(customer);
      if (kept && !std::binary_search(gone.begin(), gone.end(), customer)) refresh_top_items(customer);
    }
  } catch (const std::exception& e) {  // the commit stands; nothing kept may be older than it
    top_items_cache_.clear();
    try {
      REGULARS_LOG(warn, "every customer's top items forgotten after a commit", ({{"error", e.what()}}));
    } catch (...) {
    }
  } catch (...) {
    top_items_cache_.clear();
  }
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
    flushed = flush_popularity_now_and_then(db);
    db.exec("COMMIT");
    committed = true;
    forget_committed(results);
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

// Now and then, the items changed by earlier commits ride along with the group's transaction.
std::vector<std::string> EventStore::flush_popularity_now_and_then(Db& db) {
  constexpr auto kFlushEvery = std::chrono::seconds(1);
  constexpr auto kSourcesEvery = std::chrono::seconds(10);
  const auto now = std::chrono::steady_clock::now();
  if (now - popularity_flushed_at_ < kFlushEvery) return {};
  settle_popularity();  // in a bulk load: nothing merges while the popularity is read and written
  if (popularity_.dirty() == 0) return {};
  const bool with_sources = now - sources_flushed_at_ >= kSourcesEvery;
  std::vector<std::string> flushed = popularity_.flush(db, with_sources);
  popularity_flushed_at_ = now;
  if (with_sources) sources_flushed_at_ = now;
  return flushed;
}

std::vector<WriteResult> EventStore::apply_now(std::vector<PreparedEvent> events) {
  return apply_later(std::move(events)).get();
}

std::future<std::vector<WriteResult>> EventStore::apply_later(std::vector<PreparedEvent> events) {
  // Through the writer thread, so there is still exactly one writer.
  struct Answers {
    std::mutex mu;
    std::vector<WriteResult> results;
    std::size_t left = 0;
    std::promise<std::vector<WriteResult>> all;
  };
  auto answers = std::make_shared<Answers>();
  answers->results.resize(events.size());
  answers->left = events.size();
  auto future = answers->all.get_future();
  if (events.empty()) answers->all.set_value({});
  for (std::size_t i = 0; i < events.size(); ++i) {
    submit(std::move(events[i]), [answers, i](WriteResult r) {
      std::unique_lock lock(answers->mu);
      answers->results[i] = std::move(r);
      if (--answers->left > 0) return;
      lock.unlock();  // the last answer: nobody else touches the results now
      answers->all.set_value(std::move(answers->results));
    });
  }
  return future;
}

// An erased event replayed (its id is in the tombstone), or an event naming an erased identifier
// that the tombstone's rule keeps out (memory/tombstone.hpp): dropped and counted. A consent to
// remember dated after the erasure lifts the identifier's tombstone from its own time on.
bool EventStore::dropped_by_tombstone(Db& db, const PreparedEvent& e) {
  if (any_erased_events_) {
    const IdentifierHash id_hash = options_.hash_event_id(e.event_id);
    Stmt& s = db.cached("SELECT 1 FROM erased_events WHERE hash=?");
    s.bind_blob(1, id_hash.data(), id_hash.size());
    const bool erased = s.step();
    s.reset();
    if (erased) {
      dropped_erased_events_.fetch_add(1);
      return true;
    }
  }
  std::vector<std::pair<std::string, IdentifierHash>> named;
  if (!e.id_kind.empty()) named.emplace_back(e.id_kind, e.id_hash);
  for (const char* field : {"identifier", "other"}) {  // link and merge
    const auto it = e.body.find(field);
    if (it == e.body.end() || !it->is_object()) continue;
    if (const auto h = from_hex(it->value("hash", std::string()))) named.emplace_back(it->value("kind", std::string()), *h);
  }
  const EventConsent consent = e.type != "consent"                                 ? EventConsent::none
                               : e.body.at("purposes").value("remember", false) ? EventConsent::grants_remember
                                                                                : EventConsent::other;
  bool dropped = false;
  for (const auto& [kind, hash] : named) {
    Stmt& s = db.cached("SELECT erased_ms, lifted_ms FROM erased_identifiers WHERE kind=? AND hash=?");
    s.bind(1, kind).bind_blob(2, hash.data(), hash.size());
    std::optional<Tombstone> tombstone;
    if (s.step()) tombstone = Tombstone{s.i64(0), s.is_null(1) ? std::nullopt : std::optional<std::int64_t>(s.i64(1))};
    s.reset();
    if (!tombstone) continue;
    switch (judge_under_tombstone(*tombstone, e.time_ms, consent)) {
      case TombstoneVerdict::drop:
        dropped = true;
        break;
      case TombstoneVerdict::lift:
        db.cached("UPDATE erased_identifiers SET lifted_ms=? WHERE kind=? AND hash=?")
            .bind(1, e.time_ms).bind(2, kind).bind_blob(3, hash.data(), hash.size()).run();
        break;
      case TombstoneVerdict::keep:
        break;
    }
  }
  if (dropped) dropped_erased_identifiers_.fetch_add(1);
  return dropped;
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
  if (dropped_by_tombstone(db, e)) {  // acknowledged as a duplicate, so tills stop retrying
    r.ok = true;
    r.duplicate = true;
    return r;
  }
  // The body moves into the logged event (the writer does not copy a JSON tree per event) and
  // back when done, in case the group is applied again.
  LoggedEvent logged{0, e.event_id, e.type, e.id_kind, e.id_hash, e.time_ms, std::move(e.body), e.lines.get(), !e.origin.empty()};
  struct GiveBack {
    PreparedEvent& to;
    LoggedEvent& from;
    ~GiveBack() { to.body = std::move(from.body); }
  } give_back{e, logged};
  Projector projector(db, options_.erase_on_withdrawal, popularity);
  r.customer_id = projector.resolve_or_enrol(logged);
  // A consent record made here names the customer's records it knew of (memory/consent.hpp); one
  // from another store of the chain keeps the stamp it was made with.
  if (e.type == "consent" && e.origin.empty() && r.customer_id != 0) {
    logged.body[kSupersedesKey] = consent_supersedes(db, r.customer_id, logged.body.at("purposes"), e.time_ms);
    e.body_text.clear();  // the stamp goes into the log with the body
  }
  {
    Stmt& s = db.cached(
        "INSERT INTO events(event_id, type, customer_id, time_ms, store, terminal, cashier, touchpoint, body, id_kind, id_hash, "
        "value, origin, seq) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
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
    if (e.origin.empty()) s.bind_null(13); else s.bind(13, e.origin);
    s.bind(14, next_seq_);  // never a seq an erased or pruned event had (v22)
    s.run();
    r.seq = next_seq_++;
  }
  logged.seq = r.seq;
  r.customer_id = projector.project(logged, /*log_row_linked=*/true);
  r.gone = projector.take_gone();
  r.ok = true;
  return r;
}

void EventStore::run_on_writer(std::function<void()> fn) {
  if (std::this_thread::get_id() == writer_id_.load())
    throw std::logic_error("run_on_writer called on the writer thread: it would wait for itself");
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
                           // Before the caller hears it is done: an erasure, a rebuild or a
                           // prune is out of the top items' memory by then.
                           forget_committed({});
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

}  // namespace regulars::daemon
