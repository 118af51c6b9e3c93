// Latency percentiles in microseconds, as regulars-bench and regulars-eval report them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace regulars::tools {

struct LatencySummary {
  std::size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;  // microseconds
};

// Nearest-rank percentiles of durations in nanoseconds; all zeros for no samples.
LatencySummary summarize_ns(std::vector<std::int64_t> ns);

}  // namespace regulars::tools
