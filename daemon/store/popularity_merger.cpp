// The item popularity's side of each committed group: merged by the writer, or by rg-merger
// beside it (EventStore::Options::merge_beside_writer: the daemon and bulk loads).
//
// A merge scores the group's hold-outs against the popularity before the group and counts its
// purchases, in log order. The SQL projections never read the popularity, so the two halves of a
// group's work can run on two cores: the writer applies group N+1 while rg-merger merges group N
// (and the syncer flushes it). The syncer acknowledges a group once it is both flushed and merged
// (unless Options::acks_wait_for_merge is off). What must not overlap is the writer reading or
// changing the popularity itself (writing it to the items table, a task such as a rebuild): it
// settles the merger first.
#include "base/log.hpp"
#include "store/event_store.hpp"

namespace regulars::daemon {

namespace {
// Groups waiting for rg-merger before the writer waits too: enough to ride out one slow merge,
// few enough that the deltas held (each hold-out carries the customer's known items) stay small.
constexpr std::size_t kMergeQueueMax = 2;
}  // namespace

void EventStore::merge_deltas(const std::vector<PopularityDelta>& deltas) noexcept {
  try {
    for (const auto& d : deltas)
      if (!d.empty()) popularity_.merge(d);
  } catch (const std::exception& e) {  // memory only: counted again from the log at the next start
    try {
      REGULARS_LOG(err, "could not count a group in the item popularity", ({{"error", e.what()}}));
    } catch (...) {
    }
  }
}

void EventStore::merge_committed(std::vector<PopularityDelta>& deltas, std::uint64_t group) {
  if (merger_.joinable()) {
    {
      std::unique_lock lock(merge_mu_);
      merge_cv_.wait(lock, [&] { return merge_queue_.size() < kMergeQueueMax; });
      merge_queue_.push_back(MergeJob{std::move(deltas), group});
    }
    merge_cv_.notify_all();
    if (!options_.acks_wait_for_merge) mark_merged(group);
    return;
  }
  // While the syncer flushes the group, the writer merges it; the syncer holds the group's
  // acknowledgements until then, so a till that hears "stored" sees its purchase everywhere.
  merge_deltas(deltas);
  mark_merged(group);
}

void EventStore::mark_merged(std::uint64_t group) {
  {
    std::lock_guard lock(sync_mu_);
    groups_merged_ = std::max(groups_merged_, group);
  }
  sync_cv_.notify_one();
}

void EventStore::merger_loop() {
  for (;;) {
    MergeJob job;
    {
      std::unique_lock lock(merge_mu_);
      merge_cv_.wait(lock, [&] { return merge_stop_ || !merge_queue_.empty(); });
      if (merge_queue_.empty()) return;  // stopping, and every group handed over is merged
      job = std::move(merge_queue_.front());
      merge_queue_.pop_front();
      merge_busy_ = true;
    }
    merge_cv_.notify_all();  // a place in the queue is free
    merge_deltas(job.deltas);
    if (options_.acks_wait_for_merge) mark_merged(job.group);
    job.deltas.clear();  // taken apart here, not on the writer
    {
      std::lock_guard lock(merge_mu_);
      merge_busy_ = false;
    }
    merge_cv_.notify_all();
  }
}

void EventStore::settle_popularity() {
  if (!merger_.joinable()) return;
  std::unique_lock lock(merge_mu_);
  merge_cv_.wait(lock, [&] { return merge_queue_.empty() && !merge_busy_; });
}

void EventStore::stop_merger() {
  if (!merger_.joinable()) return;
  {
    std::lock_guard lock(merge_mu_);
    merge_stop_ = true;
  }
  merge_cv_.notify_all();
  merger_.join();
}

}  // namespace regulars::daemon
