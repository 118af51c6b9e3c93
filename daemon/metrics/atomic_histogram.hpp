// A latency histogram that the hot paths can observe without a lock.
//
// prometheus-cpp 1.0's Histogram::Observe takes a mutex of the histogram's own, which every I/O
// thread answering hints would contend on. Here an observation is two relaxed atomic additions
// (its bucket and the sum); at scrape time fold_into() hands what was observed since the last
// scrape to the registry's Histogram in one ObserveMultiple call, so the registry, its families
// and TextSerializer stay the exposition's single source.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace prometheus {
class Histogram;
}

namespace regulars::daemon {

class AtomicHistogram {
 public:
  // `upper_bounds_seconds`: the buckets' upper bounds ("le"), ascending; +Inf is implied.
  explicit AtomicHistogram(const std::vector<double>& upper_bounds_seconds);
  AtomicHistogram(const AtomicHistogram&) = delete;
  AtomicHistogram& operator=(const AtomicHistogram&) = delete;

  // Any thread, wait-free.
  void observe(std::chrono::nanoseconds took) noexcept;

  // Adds to `into` what was observed since the previous fold (scrape time, any thread; folds
  // are serialised here). `into` must have been built with the same bounds.
  void fold_into(prometheus::Histogram& into);

  // Observations so far, for tests.
  std::uint64_t count() const noexcept;

 private:
  std::vector<std::int64_t> upper_bounds_ns_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // one per bound, then +Inf
  std::atomic<std::uint64_t> sum_ns_{0};

  std::mutex fold_mu_;  // scrapes only
  std::vector<std::uint64_t> folded_counts_;
  std::uint64_t folded_sum_ns_ = 0;
};

}  // namespace regulars::daemon
