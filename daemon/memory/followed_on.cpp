#include "memory/followed_on.hpp"

#include <algorithm>

#include "memory/popularity.hpp"

namespace regulars::daemon {

std::vector<SeedSource> sources_of(const std::vector<std::string_view>& seeds, const StringMap<ItemSource>& sources) {
  std::vector<SeedSource> out;
  for (const std::string_view seed : seeds) {
    const auto it = sources.find(seed);
    if (it == sources.end()) continue;
    SeedSource& s = out.emplace_back();
    s.transitions = it->second.transitions;
    for (const auto& n : it->second.neighbours) s.by_count.push_back(&n);
    std::sort(s.by_count.begin(), s.by_count.end(), [](const Neighbour* a, const Neighbour* b) {
      return a->count != b->count ? a->count > b->count : a->sku < b->sku;
    });
  }
  return out;
}

FollowedOn::FollowedOn(std::size_t seeds, const std::vector<SeedSource>& sources) : seeds_(seeds) {
  smooth_mass_ = static_cast<double>(seeds - sources.size());  // seeds nobody followed yet: E = g
  for (const auto& src : sources) {
    const double denom = static_cast<double>(src.transitions) + kFollowedSmooth;
    smooth_mass_ += kFollowedSmooth / denom;
    for (const Neighbour* n : src.by_count) mass_.emplace_back(n->sku, static_cast<double>(n->count) / denom);
  }
  // One entry per successor, its shares added in seed order (stable: equal SKUs keep it).
  std::stable_sort(mass_.begin(), mass_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < mass_.size(); ++i) {
    if (kept > 0 && mass_[kept - 1].first == mass_[i].first) mass_[kept - 1].second += mass_[i].second;
    else mass_[kept++] = mass_[i];
  }
  mass_.resize(kept);
}

double FollowedOn::similar(std::string_view sku, double g) const {
  if (seeds_ == 0) return g;
  const auto it = std::lower_bound(mass_.begin(), mass_.end(), sku, [](const auto& m, std::string_view s) { return m.first < s; });
  const double mass = it != mass_.end() && it->first == sku ? it->second : 0.0;
  return (mass + smooth_mass_ * g) / static_cast<double>(seeds_);
}

}  // namespace regulars::daemon
