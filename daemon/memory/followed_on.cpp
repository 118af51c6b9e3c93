#include "memory/followed_on.hpp"

#include <algorithm>

#include "memory/popularity.hpp"

namespace regulars::daemon {

FollowedOn::FollowedOn(std::size_t seeds, const std::vector<SeedSource>& sources) : seeds_(seeds) {
  smooth_mass_ = static_cast<double>(seeds - sources.size());  // seeds nobody followed yet: E = g
  for (const auto& src : sources) {
    const double denom = static_cast<double>(src.transitions) + kFollowedSmooth;
    smooth_mass_ += kFollowedSmooth / denom;
    for (const Neighbour* n : src.by_count) mass_.emplace_back(n->item, static_cast<double>(n->count) / denom);
  }
  // One entry per successor, its shares added in seed order (stable: equal items keep it), so the
  // sums do not depend on how items were numbered.
  std::stable_sort(mass_.begin(), mass_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < mass_.size(); ++i) {
    if (kept > 0 && mass_[kept - 1].first == mass_[i].first) mass_[kept - 1].second += mass_[i].second;
    else mass_[kept++] = mass_[i];
  }
  mass_.resize(kept);
}

double FollowedOn::similar(ItemId item, double g) const {
  if (seeds_ == 0) return g;
  const auto it = std::lower_bound(mass_.begin(), mass_.end(), item, [](const auto& m, ItemId i) { return m.first < i; });
  const double mass = it != mass_.end() && it->first == item ? it->second : 0.0;
  return (mass + smooth_mass_ * g) / static_cast<double>(seeds_);
}

}  // namespace regulars::daemon
