// The threads that do the owner's work (reports, exports, erasures, dry runs, rebuilds), so none
// of it runs on an I/O thread: a dry run that replays months of history or an erasure waiting for
// the WAL to empty must never stall a till's hints. The queue is bounded, and the threads run at
// a lower CPU priority than the rest of regularsd, so tills win the CPU while owner work runs.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace regulars::daemon::owner {

class OwnerPool {
 public:
  // `threads` workers (at least 1) named rg-owner; at most `max_queued` jobs wait for one.
  OwnerPool(int threads, std::size_t max_queued);
  ~OwnerPool();  // drain()s
  OwnerPool(const OwnerPool&) = delete;
  OwnerPool& operator=(const OwnerPool&) = delete;

  enum class Refusal { none, full, stopping };
  // Queues `work`; when it is refused (the queue is full, or the pool is draining) `work` is
  // not run and the refusal says why.
  Refusal submit(std::function<void()> work);
  // Stops taking work, lets the queued and running work finish, and joins the workers. Safe to
  // call more than once; regularsd calls it before it stops the store.
  void drain();

 private:
  void work_loop();

  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool draining_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace regulars::daemon::owner
