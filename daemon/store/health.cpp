// The store's answers for monitoring: the WAL's size, and whether a record can be made durable
// now (event_store.hpp, check_durable).
#include <sys/stat.h>

#include "store/event_store.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

namespace {
// Probes asked for within this long of the last answer get that answer again.
constexpr auto kProbeReuse = std::chrono::seconds(1);
}  // namespace

std::uint64_t EventStore::wal_bytes() const noexcept {
  struct stat st {};
  if (::stat((path_ + "-wal").c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

void EventStore::check_durable(std::function<void(const std::string& failure)> done) {
  {
    std::unique_lock lock(probe_mu_);
    if (probe_waiters_.empty() && probe_answer_ && std::chrono::steady_clock::now() - probe_answered_at_ < kProbeReuse) {
      const std::string answer = *probe_answer_;
      lock.unlock();
      return done(answer);
    }
    probe_waiters_.push_back(std::move(done));
    if (probe_waiters_.size() > 1) return;  // a probe is on its way: its answer is this one's
  }
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Job{PreparedEvent{}, nullptr, [this] { commit_probe(); }});
      cv_.notify_one();
      return;
    }
  }
  probe_answered("regularsd is stopping");
}

// On the writer, between groups: the smallest write a record needs (a transaction that changes
// a row), committed into the WAL and handed to the syncer like a group's acknowledgements.
void EventStore::commit_probe() {
  Db& db = *writer_db_;
  try {
    db.exec("BEGIN IMMEDIATE");
    db.cached("INSERT INTO store_meta(key, value) VALUES('health_probe_ms', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value")
        .bind(1, wire::now_ms())
        .run();
    db.exec("COMMIT");
  } catch (const std::exception& e) {
    try {
      db.exec("ROLLBACK");
    } catch (const std::exception&) {  // SQLite may have rolled back already
    }
    return probe_answered(std::string("the store cannot commit: ") + e.what());
  }
  WriteResult committed;
  committed.ok = true;
  {
    std::lock_guard lock(sync_mu_);
    unsynced_.push_back(Ack{[this](WriteResult r) {
                              if (r.ok) return probe_answered("");
                              probe_answered(sync_failed() ? "a flush of the WAL failed; nothing is acknowledged until "
                                                             "regularsd is restarted on a healthy disk"
                                                           : r.error);
                            },
                            std::move(committed), PreparedEvent{}, groups_committed_});
  }
  sync_cv_.notify_one();
}

void EventStore::probe_answered(const std::string& failure) {
  std::vector<std::function<void(const std::string&)>> waiting;
  {
    std::lock_guard lock(probe_mu_);
    waiting.swap(probe_waiters_);
    probe_answer_ = failure;
    probe_answered_at_ = std::chrono::steady_clock::now();
  }
  for (auto& done : waiting) done(failure);
}

}  // namespace regulars::daemon
