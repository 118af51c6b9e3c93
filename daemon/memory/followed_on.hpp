// What customers with the same top items went on to buy: the co-purchase neighbours source of
// the predictions. The hints rank with it, and the blend measures it on the store's hold-outs, so
// both read it through this one piece of code.
//
// For a customer whose top items ("seeds", kTransitionSeeds of them) are i, item j scores
// E_j = mean over the seeds of (tr_ij + kSmooth * g_j) / (trc_i + kSmooth),
// where tr_ij counts purchases with i among the seeds that held j, trc_i the purchases with i among
// the seeds, and g_j the share of the store's baskets that held j. A seed nobody followed yet
// tells nothing: its term is g_j.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "memory/item_id.hpp"

namespace regulars::daemon {

struct Neighbour;

inline constexpr double kFollowedSmooth = 30.0;  // transitions before a seed's own successors outweigh g
inline constexpr std::size_t kFollowedPerSeed = 20;  // new candidates: each seed's strongest successors

// A seed the store has seen followed: its successors, most frequent first (ties by SKU).
struct SeedSource {
  std::int64_t transitions = 0;
  std::vector<const Neighbour*> by_count;
};

// E_j for one customer, computed once from their seeds' sources.
class FollowedOn {
 public:
  FollowedOn(std::size_t seeds, const std::vector<SeedSource>& sources);
  // E for an item that `g` of the store's baskets held (kNoItem: one no seed was followed by).
  double similar(ItemId item, double g) const;

 private:
  std::size_t seeds_;
  double smooth_mass_ = 0;
  std::vector<std::pair<ItemId, double>> mass_;  // by item: sum over the seeds of tr_ij / (trc_i + kSmooth)
};

}  // namespace regulars::daemon
