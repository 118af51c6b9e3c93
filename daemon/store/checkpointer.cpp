#include "store/event_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <thread>

#include "base/log.hpp"
#include "store/stopwatch.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {
// Should steady writing keep passive checkpoints from ever finishing, the checkpointer makes
// room with a blocking one once the WAL holds twice its checkpoint size (at least 256 MiB).
constexpr int kMinRestartFrames = 65536;
// The writer finishes a checkpoint only once at most this many frames are left to copy; the
// checkpointer repeats its copy to get there.
constexpr int kFinishFrames = 256;
}  // namespace

int EventStore::on_wal_commit(void* self, sqlite3*, const char*, int frames) {
  auto* store = static_cast<EventStore*>(self);
  store->wal_frames_.store(frames, std::memory_order_relaxed);
  if (frames >= store->options_.checkpoint_pages) store->ckpt_cv_.notify_one();
  return SQLITE_OK;
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

std::unique_ptr<Db> EventStore::open_checkpoint_connection() {
  try {
    auto db = std::make_unique<Db>(path_, Db::Mode::read_write);
    db->exec("PRAGMA wal_autocheckpoint=0");
    // A RESTART checkpoint holds the write lock while it waits for readers: it gives up soon
    // rather than keep the writer (whose own lock wait is 5 s) from committing.
    sqlite3_busy_timeout(db->raw(), 100);
    return db;
  } catch (const std::exception& e) {
    REGULARS_LOG(err, "checkpointer cannot open the store; the WAL will grow until restart", ({{"error", e.what()}}));
    return nullptr;
  }
}

void EventStore::checkpointer_loop() {
  const std::unique_ptr<Db> db = open_checkpoint_connection();
  if (!db) return;
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
  std::uint64_t commits_seen = commits_.load();
  while (wait_for_checkpoint_turn(commits_seen)) {
    if (sync_failed()) return;  // keep every frame in the WAL: see fail_sync
    const CheckpointRounds rounds = run_checkpoint_rounds(*db, db_fd);
    if (rounds.stop) return;
    after_checkpoint_rounds(rounds, *db);
  }
}

bool EventStore::wait_for_checkpoint_turn(std::uint64_t& commits_seen) {
  const int threshold = options_.checkpoint_pages;
  std::unique_lock lock(ckpt_mu_);
  for (;;) {
    // A timed wait: a notification from the WAL hook is not taken under this lock. While the
    // writer has its turn (finish_checkpoint_), no round starts.
    ckpt_cv_.wait_for(lock, std::chrono::seconds(1), [&] {
      return ckpt_stop_ || (!finish_checkpoint_.load() && wal_frames_.load(std::memory_order_relaxed) >= threshold);
    });
    if (ckpt_stop_) return false;
    if (finish_checkpoint_.load()) continue;
    // A large WAL is copied back under load; a quiet store (no commit for a second) is copied
    // back whatever its size, so readers search a short WAL and the next write starts over.
    const std::uint64_t commits = commits_.load();
    const bool idle = commits == commits_seen && wal_frames_.load(std::memory_order_relaxed) > 0;
    commits_seen = commits;
    if (wal_frames_.load(std::memory_order_relaxed) >= threshold || idle) return true;
  }
}

// PASSIVE copies what no reader still needs without ever blocking the writer. While the writer
// keeps committing, it never reaches the end of the WAL and so never syncs the database file:
// whoever copies the last frames does, for every page copied before. Were that the writer
// (finish_checkpoint), every till would wait for tens of megabytes to reach the disk. So the
// checkpointer syncs what it copied itself, and repeats the copy while that leaves clearly
// fewer frames for the writer each time: each round costs two flushes, so on a slow disk the
// frames committed meanwhile stop shrinking, and the writer takes what is left rather than let
// the WAL grow.
EventStore::CheckpointRounds EventStore::run_checkpoint_rounds(Db& db, int db_fd) {
  const int restart_frames = std::max(kMinRestartFrames, 2 * options_.checkpoint_pages);
  CheckpointRounds r;
  int done_before = -1;
  int left = std::numeric_limits<int>::max();
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    r.rc = sqlite3_wal_checkpoint_v2(db.raw(), "main", SQLITE_CHECKPOINT_PASSIVE, &r.log, &r.done);
    // Far past its size (steady writing faster than the copy, or readers in the way): a
    // blocking checkpoint that starts the WAL over, waiting at most the busy timeout.
    if (r.rc == SQLITE_OK && wal_frames_.load(std::memory_order_relaxed) >= restart_frames)
      r.rc = sqlite3_wal_checkpoint_v2(db.raw(), "main", SQLITE_CHECKPOINT_RESTART, &r.log, &r.done);
    if (r.rc == SQLITE_OK && r.done > 0 && db_fd >= 0 && sync_file(db_fd) != 0) {
      // SQLite already counts these frames as copied: the WAL no longer vouches for them.
      // Stop checkpointing and acknowledging, as for a failed WAL flush.
      fail_sync("database", std::string("fdatasync of the database file failed: ") + std::strerror(errno));
      r.stop = true;
      return r;
    }
    if (r.rc == SQLITE_OK && r.log > 0) {
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
      checkpoint_us_.fetch_add(micros_since(t0), std::memory_order_relaxed);
    }
    if (r.rc != SQLITE_OK) return r;
    r.wal = wal_frames_.load(std::memory_order_relaxed);
    if (r.wal < r.done) return r;  // the WAL started over meanwhile: nothing of the old one is left
    // A reader's snapshot holds back frames a round cannot copy (done < log); it ends soon,
    // unless a long query keeps it: when a round moved nothing, wait rather than spin.
    if (r.done < r.log && r.done == done_before) {
      r.stalled = true;
      return r;
    }
    done_before = r.done;
    const int now_left = r.wal - r.done;
    if (now_left <= kFinishFrames || std::int64_t{now_left} * 4 >= std::int64_t{left} * 3) return r;
    left = now_left;
    if (ckpt_stop_requested()) {
      r.stop = true;
      return r;
    }
  }
}

void EventStore::after_checkpoint_rounds(const CheckpointRounds& r, Db& db) {
  if (r.rc != SQLITE_OK) {
    if (r.rc != SQLITE_BUSY)
      REGULARS_LOG(warn, "checkpoint failed; will retry", ({{"error", sqlite3_errmsg(db.raw())}, {"wal_pages", r.log}}));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } else if (r.stalled) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } else if (r.wal > r.done) {
    // The writer copies the few frames committed since, between two groups.
    finish_checkpoint_.store(true);
  } else if (r.wal == r.done) {
    // Nothing committed since: SQLite synced the complete copy itself and the next commit
    // starts the WAL over.
    int expected = r.wal;
    wal_frames_.compare_exchange_strong(expected, 0, std::memory_order_relaxed);
  }
}

bool EventStore::ckpt_stop_requested() {
  std::lock_guard lock(ckpt_mu_);
  return ckpt_stop_;
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

}  // namespace regulars::daemon
