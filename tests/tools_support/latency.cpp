#include "latency.hpp"

#include <algorithm>
#include <cmath>

namespace regulars::tools {

LatencySummary summarize_ns(std::vector<std::int64_t> ns) {
  LatencySummary s;
  s.n = ns.size();
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto rank = [&](double q) {  // nearest rank: the smallest value with at least q of the samples at or below it
    const auto idx = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ns.size())));
    return static_cast<double>(ns[std::min(ns.size() - 1, idx == 0 ? 0 : idx - 1)]) / 1000.0;
  };
  s.p50 = rank(0.50);
  s.p90 = rank(0.90);
  s.p99 = rank(0.99);
  s.p999 = rank(0.999);
  s.max = static_cast<double>(ns.back()) / 1000.0;
  double sum = 0;
  for (auto v : ns) sum += static_cast<double>(v);
  s.mean = sum / static_cast<double>(ns.size()) / 1000.0;
  return s;
}

}  // namespace regulars::tools
