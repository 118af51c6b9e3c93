// The writer's extra work per purchase for the prediction blend: merging a purchase's popularity
// delta with its hold-out, against the same delta without one, in a store of Ta-Feng's size
// (12,000 items, customers who know 50 items, baskets of 7). Google Benchmark; run
// build/tests/bench/regulars-blend-bench.
#include <benchmark/benchmark.h>

#include <string>

#include "memory/popularity.hpp"

namespace regulars::daemon {
namespace {

constexpr int kItems = 12000, kKnown = 50, kBasket = 7;

std::string sku(int i) { return std::to_string(100000 + i); }

Popularity& store() {
  static Popularity* p = [] {
    auto* pop = new Popularity;
    PopularityDelta d;
    for (int i = 0; i < kItems; ++i)
      for (int k = 0; k < 1 + 2000 / (i + 1); ++k) d.item_bought(sku(i), "", "", 1, 0, k == 0);
    d.totals.baskets = 77000;
    pop->merge(d);
    return pop;
  }();
  return *p;
}

PopularityDelta purchase(int n, bool with_holdout) {
  PopularityDelta d;
  for (int j = 0; j < kBasket; ++j) d.item_bought(sku((n * 7 + j * 131) % kItems), "", "", 1, 0, false);
  d.totals.baskets = 1;
  if (with_holdout) {
    HoldOut h{12, {}, {}, {sku(n % kItems), sku((n + 37) % kItems)}, {}};
    for (int j = 0; j < kKnown; ++j) h.known.push_back(KnownItem{sku((n + j * 37) % kItems), 1 + j % 5, 12 - j % 9, 0, 0});
    for (int j = 0; j < kBasket; ++j) h.basket.push_back(sku((n * 7 + j * 131) % kItems));
    d.holdouts.push_back(std::move(h));
  }
  return d;
}

void merge_purchase(benchmark::State& state, bool with_holdout) {
  Popularity& pop = store();
  int n = 0;
  for (auto _ : state) {
    const PopularityDelta d = purchase(n++, with_holdout);
    pop.merge(d);
  }
}

void BM_MergePurchase(benchmark::State& state) { merge_purchase(state, false); }
void BM_MergePurchaseWithHoldOut(benchmark::State& state) { merge_purchase(state, true); }
BENCHMARK(BM_MergePurchase);
BENCHMARK(BM_MergePurchaseWithHoldOut);

}  // namespace
}  // namespace regulars::daemon

BENCHMARK_MAIN();
