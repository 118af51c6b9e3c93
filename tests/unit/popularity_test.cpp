// The successor lists' Space-Saving rule: at most kMaxNeighbours per item; a newcomer to a full
// list replaces the smallest count (ties: the smallest SKU) and inherits that count plus one.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "memory/popularity.hpp"

namespace regulars::daemon {
namespace {

PopularityDelta follows(const std::string& seed, const std::vector<std::string>& basket) {
  PopularityDelta d;
  d.transitions.push_back(Transition{{seed}, basket});
  return d;
}

// The rule written the plain way, as the reference, with SKUs rather than the store's numbers.
struct Counted {
  std::string sku;
  std::int64_t count = 0;
};
void reference_count(std::vector<Counted>& list, const std::string& sku) {
  for (auto& n : list)
    if (n.sku == sku) {
      ++n.count;
      return;
    }
  if (list.size() < kMaxNeighbours) {
    list.push_back({sku, 1});
    return;
  }
  auto smallest = list.begin();
  for (auto it = list.begin(); it != list.end(); ++it)
    if (it->count < smallest->count || (it->count == smallest->count && it->sku < smallest->sku)) smallest = it;
  *smallest = Counted{sku, smallest->count + 1};
}

std::map<std::string, std::int64_t> as_map(const std::vector<Counted>& list) {
  std::map<std::string, std::int64_t> m;
  for (const auto& n : list) m[n.sku] = n.count;
  return m;
}

std::map<std::string, std::int64_t> successors_of(const Popularity& p, std::string_view seed) {
  std::map<std::string, std::int64_t> m;
  const auto reading = p.read();
  const auto sources = reading.sources_of({seed});
  for (const Neighbour* n : sources.at(0).by_count) m[std::string(reading.sku(n->item))] = n->count;
  return m;
}

TEST(Successors, ANewcomerToAFullListReplacesTheSmallestCountAndTheSmallestSkuOnTies) {
  Popularity p;
  std::vector<std::string> basket;
  for (std::size_t i = 0; i < kMaxNeighbours; ++i) basket.push_back("s" + std::to_string(100 + i));
  p.merge(follows("milk", basket));                  // 32 successors, count 1 each
  p.merge(follows("milk", {"s100", "s101"}));        // those two now count 2
  p.merge(follows("milk", {"zz-new"}));              // replaces s102: the smallest SKU of the 1s
  const auto got = successors_of(p, "milk");
  EXPECT_EQ(got.size(), kMaxNeighbours);
  EXPECT_EQ(got.count("s102"), 0u);
  EXPECT_EQ(got.at("zz-new"), 2);  // inherits 1 + 1
  EXPECT_EQ(got.at("s100"), 2);
  EXPECT_EQ(got.at("s103"), 1);
  p.merge(follows("milk", {"aa-new"}));  // replaces s103 (zz-new and s100/s101 count 2)
  const auto again = successors_of(p, "milk");
  EXPECT_EQ(again.count("s103"), 0u);
  EXPECT_EQ(again.at("aa-new"), 2);
}

TEST(Successors, MatchThePlainRuleOverManyRandomPurchases) {
  Popularity p;
  std::vector<Counted> reference;
  std::mt19937 rng(7);
  std::geometric_distribution<int> pick(0.04);  // a few popular successors, a long tail
  for (int i = 0; i < 20000; ++i) {
    const std::string sku = "sku-" + std::to_string(pick(rng));
    reference_count(reference, sku);
    p.merge(follows("bread", {sku}));
  }
  EXPECT_EQ(successors_of(p, "bread"), as_map(reference));
}

}  // namespace
}  // namespace regulars::daemon
