#include "metrics/atomic_histogram.hpp"

#include <prometheus/histogram.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace regulars::daemon {

AtomicHistogram::AtomicHistogram(const std::vector<double>& upper_bounds_seconds)
    : counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_seconds.size() + 1)),
      folded_counts_(upper_bounds_seconds.size() + 1, 0) {
  if (!std::is_sorted(upper_bounds_seconds.begin(), upper_bounds_seconds.end()))
    throw std::invalid_argument("histogram bounds must ascend");
  for (const double s : upper_bounds_seconds) upper_bounds_ns_.push_back(std::llround(s * 1e9));
  for (std::size_t i = 0; i <= upper_bounds_ns_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void AtomicHistogram::observe(std::chrono::nanoseconds took) noexcept {
  const std::int64_t ns = std::max<std::int64_t>(0, took.count());
  // Prometheus buckets are "less than or equal": the first bound not below the value.
  const auto bucket = std::lower_bound(upper_bounds_ns_.begin(), upper_bounds_ns_.end(), ns) - upper_bounds_ns_.begin();
  counts_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

void AtomicHistogram::fold_into(prometheus::Histogram& into) {
  std::lock_guard lock(fold_mu_);
  std::vector<double> increments(folded_counts_.size());
  bool any = false;
  for (std::size_t i = 0; i < folded_counts_.size(); ++i) {
    const std::uint64_t now = counts_[i].load(std::memory_order_relaxed);
    increments[i] = static_cast<double>(now - folded_counts_[i]);
    any = any || now != folded_counts_[i];
    folded_counts_[i] = now;
  }
  // The sum may include an observation whose bucket is counted at the next scrape (or the
  // reverse): the two are read a moment apart, and only the counts must agree with each other.
  const std::uint64_t sum = sum_ns_.load(std::memory_order_relaxed);
  const double sum_increment = static_cast<double>(sum - folded_sum_ns_) / 1e9;
  folded_sum_ns_ = sum;
  if (any || sum_increment != 0) into.ObserveMultiple(increments, sum_increment);
}

std::uint64_t AtomicHistogram::count() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i <= upper_bounds_ns_.size(); ++i) n += counts_[i].load(std::memory_order_relaxed);
  return n;
}

}  // namespace regulars::daemon
