#include "store/event_store.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "metrics/metrics.hpp"
#include "store/stopwatch.hpp"

namespace regulars::daemon {

using nlohmann::json;

bool EventStore::sync_failed() {
  std::lock_guard lock(sync_mu_);
  return !sync_failure_.empty();
}

std::string EventStore::flush_wal() {
  // The WAL file keeps its inode for as long as the writer's connection is open (SQLite only
  // deletes it when the last connection closes), so this descriptor always names it.
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = sync_file(wal_fd_);
  const int error = errno;
  if (options_.metrics != nullptr) options_.metrics->wal_flushed(std::chrono::steady_clock::now() - t0);
  if (rc != 0) return std::string("fdatasync of the WAL failed: ") + std::strerror(error);
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
    // its frames were written to the WAL file before this flush starts. One syncer is enough:
    // the disk serves flushes one at a time.
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
      // The group may still be being counted in the item popularity, by rg-merger or the writer
      // (popularity_merger.cpp); what is acknowledged must be visible to the next hints call.
      std::uint64_t newest = 0;
      for (const auto& a : acks) newest = std::max(newest, a.group);
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return groups_merged_ >= newest || writer_done_; });
    }
    if (failure.empty()) {
      std::int64_t newest_seq = durable_seq_.load();
      for (const auto& a : acks) newest_seq = std::max(newest_seq, a.result.seq);
      durable_seq_.store(newest_seq);
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

}  // namespace regulars::daemon
