#include "owner/owner_pool.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "base/log.hpp"
#include "store/event_store.hpp"

namespace regulars::daemon::owner {

namespace {
// Nice value of the owner's threads: a lower priority than the I/O threads and the writer, so a
// CPU-bound dry run takes what the tills leave.
constexpr int kOwnerNice = 10;
}  // namespace

OwnerPool::OwnerPool(int threads, std::size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < std::max(1, threads); ++i)
    workers_.emplace_back([this] {
      log::name_thread("rg-owner");
      // Per thread on Linux: setpriority on a thread id changes that thread alone.
      if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kOwnerNice) != 0)
        REGULARS_LOG(debug, "owner thread keeps the normal CPU priority", ({{"error", errno}}));
      // Owner work scans (exports, dry runs, reports): its connections stay small.
      EventStore::use_lean_readers_on_this_thread();
      work_loop();
    });
}

OwnerPool::~OwnerPool() { drain(); }

OwnerPool::Refusal OwnerPool::submit(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    if (draining_) return Refusal::stopping;
    if (queue_.size() >= max_queued_) return Refusal::full;
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
  return Refusal::none;
}

void OwnerPool::drain() {
  {
    std::lock_guard lock(mu_);
    if (draining_ && workers_.empty()) return;
    draining_ = true;
    if (!queue_.empty()) REGULARS_LOG(info, "waiting for owner work to finish", ({{"queued", queue_.size()}}));
  }
  cv_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  std::lock_guard lock(mu_);
  workers_.clear();
}

void OwnerPool::work_loop() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return draining_ || !queue_.empty(); });
      if (queue_.empty()) return;  // draining, and nothing left
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      work();
    } catch (const std::exception& e) {  // a job reports its own errors; this is a last resort
      REGULARS_LOG(err, "owner work failed", ({{"error", e.what()}}));
    }
  }
}

}  // namespace regulars::daemon::owner
