#include "memory/blend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "db/db.hpp"

namespace regulars::daemon {

// A handful of SKUs for membership tests: a basket, or the items a customer knows. Sorted views
// of strings that outlive it; a binary search beats hashing at these sizes.
class SkuSet {
 public:
  explicit SkuSet(std::vector<std::string_view> skus) : skus_(std::move(skus)) {
    std::sort(skus_.begin(), skus_.end());
    skus_.erase(std::unique(skus_.begin(), skus_.end()), skus_.end());
  }
  bool contains(std::string_view sku) const { return std::binary_search(skus_.begin(), skus_.end(), sku); }
  std::size_t size() const { return skus_.size(); }

 private:
  std::vector<std::string_view> skus_;
};

namespace {

constexpr double kShrink = 20.0;         // trials before a cell's own rate outweighs its parent's
constexpr double kItemShrink = 20.0;     // baskets before an item's own repeat share counts fully
// Lower bounds of the segments and count buckets, for the guess a cell starts from.
constexpr std::array<double, kSegments> kSegmentFrom{1, 2, 3, 4, 5, 7, 10, 15, 25, 40};
constexpr std::array<double, kCountBuckets> kCountFrom{1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 23};

// Before the store has measured a cell: the share of the customer's visits with the item, less
// the longer ago it was last bought (what a shopkeeper would guess).
double first_guess(int segment, int count, int age) {
  return std::min(0.95, kCountFrom[count] / std::max(kSegmentFrom[segment], kCountFrom[count])) * std::pow(0.7, age);
}
constexpr double kStoreShrink = 5.0;     // expected hits before a segment's own b counts fully
constexpr std::int64_t kRefreshEvery = 256;  // hold-outs between two recomputations of the weights
constexpr std::int64_t kLearnEvery = 1024;   // until then, after every hold-out
constexpr double kMinBoard = 200;        // hold-outs a segment needs before it may fall back to the best sellers

double rate(const Trials& t, double prior, double weight) { return (t.hits + weight * prior) / (t.trials + weight); }

Trials& operator+=(Trials& a, const Trials& b) {
  a.trials += b.trials;
  a.hits += b.hits;
  return a;
}

const char* const kListNames[] = {"store", "frequency", "recency", "blend"};
const char* const kSegmentNames[] = {"1", "2", "3", "4", "5-6", "7-9", "10-14", "15-24", "25-39", "40+"};

SkuSet basket_of(const HoldOut& h) { return SkuSet({h.basket.begin(), h.basket.end()}); }

SkuSet known_of(const HoldOut& h) {
  std::vector<std::string_view> skus;
  skus.reserve(h.known.size());
  for (const auto& k : h.known) skus.push_back(k.sku);
  return SkuSet(std::move(skus));
}

// recall of `list` (its first kListSize) on `basket`.
double recall(const std::vector<std::string_view>& list, const SkuSet& basket) {
  double hits = 0;
  for (std::size_t i = 0; i < list.size() && i < kListSize; ++i) hits += basket.contains(list[i]) ? 1.0 : 0.0;
  return basket.size() == 0 ? 0.0 : hits / static_cast<double>(basket.size());
}

// The first kListSize of `items` by `better`, as SKUs.
template <class Better>
std::vector<std::string_view> top_of(std::vector<const KnownItem*> items, Better better) {
  const std::size_t n = std::min(kListSize, items.size());
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n), items.end(), better);
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(items[i]->sku);
  return out;
}

}  // namespace

namespace {
// The bucket of `n` among upper bounds (the last bucket is open).
template <std::size_t N>
int bucket(std::int64_t n, const std::array<std::int64_t, N>& upper) {
  for (std::size_t i = 0; i < N; ++i)
    if (n <= upper[i]) return static_cast<int>(i);
  return static_cast<int>(N);
}
}  // namespace

int segment_of(std::int64_t visits) {
  static constexpr std::array<std::int64_t, kSegments - 1> kUpper{1, 2, 3, 4, 6, 9, 14, 24, 39};
  return bucket(visits, kUpper);
}

int count_bucket(std::int64_t baskets) {
  static constexpr std::array<std::int64_t, kCountBuckets - 1> kUpper{1, 2, 3, 4, 5, 6, 8, 11, 15, 22};
  return bucket(baskets, kUpper);
}

int age_bucket(std::int64_t visits_since) {
  if (visits_since <= 0) return 0;
  if (visits_since == 1) return 1;
  if (visits_since <= 3) return 2;
  return 3;
}

double BlendWeights::personal(std::int64_t visits, const KnownItem& item, double repeat_share) const {
  const double p = p_[segment_of(visits)][count_bucket(item.baskets)][age_bucket(visits - item.last_visit)];
  // Some items are bought again and again by whoever buys them (milk), others once (a kettle):
  // the item's own share of repeat purchases, relative to the store's.
  const double repeats = static_cast<double>(std::max<std::int64_t>(0, item.store_baskets - item.store_buyers));
  const double share = (repeats + kItemShrink * repeat_share) / (static_cast<double>(item.store_baskets) + kItemShrink);
  return repeat_share > 0 ? p * std::sqrt(share / repeat_share) : p;
}

std::vector<std::string_view> Blend::blended_list(const HoldOut& h, const StoreView& store, const SkuSet& known) const {
  struct Scored {
    std::string_view sku;
    double score, popularity;
  };
  std::vector<Scored> all;
  all.reserve(h.known.size() + kStoreProbe);
  for (const auto& k : h.known)
    all.push_back({k.sku, weights_.personal(h.visits, k, store.repeat_share), static_cast<double>(k.store_baskets)});
  const double b = weights_.store_scale(h.visits);
  for (std::size_t i = 0; i < store.best.size() && i < kStoreProbe; ++i) {
    const auto& [sku, baskets] = store.best[i];
    if (!known.contains(sku)) all.push_back({sku, b * static_cast<double>(baskets) / store.baskets, static_cast<double>(baskets)});
  }
  const std::size_t n = std::min(kListSize, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), [](const Scored& a, const Scored& b2) {
    return a.score != b2.score ? a.score > b2.score : a.popularity > b2.popularity;
  });
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(all[i].sku);
  return out;
}

void Blend::measure(const HoldOut& h, const StoreView& store) {
  const SkuSet basket = basket_of(h);
  const SkuSet known = known_of(h);
  const int s = segment_of(h.visits);
  std::vector<const KnownItem*> items;
  items.reserve(h.known.size());
  for (const auto& k : h.known) {
    Trials& cell = personal_[s][count_bucket(k.baskets)][age_bucket(h.visits - k.last_visit)];
    cell.trials += 1;
    cell.hits += basket.contains(k.sku) ? 1 : 0;
    items.push_back(&k);
  }
  std::vector<std::string_view> best;
  for (std::size_t i = 0; i < store.best.size() && i < kStoreProbe; ++i) {
    const auto& [sku, baskets] = store.best[i];
    if (i < kListSize) best.push_back(sku);
    if (known.contains(sku)) continue;
    store_[s].trials += static_cast<double>(baskets) / store.baskets;
    store_[s].hits += basket.contains(sku) ? 1 : 0;
  }
  auto& board = board_[s];
  const std::vector<std::string_view> lists[kLists] = {
      best,
      top_of(items, [](const KnownItem* a, const KnownItem* b) {
        return a->baskets != b->baskets ? a->baskets > b->baskets : a->store_baskets > b->store_baskets;
      }),
      top_of(items, [](const KnownItem* a, const KnownItem* b) {
        return a->last_visit != b->last_visit ? a->last_visit > b->last_visit : a->baskets > b->baskets;
      }),
      blended_list(h, store, known)};
  for (int l = 0; l < kLists; ++l) board[l] += Trials{1, recall(lists[l], basket)};
  // A young store learns from every hold-out (its weights are then exactly those a restart
  // computes from the kept cells), an older one every kRefreshEvery.
  ++holdouts_;
  if (holdouts_ <= kLearnEvery || holdouts_ % kRefreshEvery == 0) weights_ = compute();
}

BlendWeights Blend::compute() const {
  BlendWeights w;
  std::array<Trials, kCountBuckets> by_count{};
  std::array<std::array<Trials, kCountBuckets>, kSegments> by_segment{};
  for (int s = 0; s < kSegments; ++s)
    for (int c = 0; c < kCountBuckets; ++c)
      for (int a = 0; a < kAgeBuckets; ++a) {
        by_segment[s][c] += personal_[s][c][a];
        by_count[c] += personal_[s][c][a];
      }
  Trials store_all;
  for (const auto& t : store_) store_all += t;
  const double b_all = rate(store_all, 1.0, 1.0);
  for (int s = 0; s < kSegments; ++s) {
    for (int c = 0; c < kCountBuckets; ++c) {
      // Shrunk towards the same count bucket in this segment, then towards the first guess.
      for (int a = 0; a < kAgeBuckets; ++a) {
        const double guess = first_guess(s, c, a);
        const double p_seg = rate(by_segment[s][c], rate(by_count[c], guess, kShrink), kShrink);
        w.p_[s][c][a] = rate(personal_[s][c][a], p_seg * guess / first_guess(s, c, 0), kShrink);
      }
    }
    w.b_[s] = rate(store_[s], b_all, kStoreShrink);
    const auto& board = board_[s];
    // Where the blend does no better than the best sellers, personal signal is noise: serve what sells.
    w.store_only_[s] = board[kStore].trials >= kMinBoard && board[kStore].hits >= board[kBlended].hits;
  }
  return w;
}

nlohmann::json Blend::describe() const {
  nlohmann::json segments = nlohmann::json::array();
  for (int s = 0; s < kSegments; ++s) {
    nlohmann::json recall = nlohmann::json::object();
    const auto& board = board_[s];
    for (int l = 0; l < kLists; ++l)
      recall[kListNames[l]] = board[l].trials > 0 ? std::round(board[l].hits / board[l].trials * 10000) / 10000 : 0.0;
    Trials repeat;
    for (const auto& by_age : personal_[s])
      for (const auto& t : by_age) repeat += t;
    segments.push_back({{"visits", kSegmentNames[s]},
                        {"holdouts", static_cast<std::int64_t>(board[kStore].trials)},
                        {"recall_at_10", recall},
                        {"repeat_rate", std::round(rate(repeat, 0, 1e-9) * 10000) / 10000},
                        {"store_scale", std::round(weights_.b_[s] * 1000) / 1000},
                        {"serves", weights_.store_only_[s] ? "best sellers" : "blend"}});
  }
  return {{"holdouts", holdouts_}, {"segments", segments}};
}

void Blend::save(Db& db) const {
  Stmt& up = db.cached(
      "INSERT INTO blend_cells(cell, trials, hits) VALUES(?,?,?) "
      "ON CONFLICT(cell) DO UPDATE SET trials=excluded.trials, hits=excluded.hits");
  auto put = [&](const std::string& cell, const Trials& t) {
    up.reset();
    up.bind(1, cell).bind(2, t.trials).bind(3, t.hits).run();
  };
  for (int s = 0; s < kSegments; ++s) {
    const std::string seg = std::to_string(s);
    for (int c = 0; c < kCountBuckets; ++c)
      for (int a = 0; a < kAgeBuckets; ++a)
        put("p/" + seg + "/" + std::to_string(c) + "/" + std::to_string(a), personal_[s][c][a]);
    put("b/" + seg, store_[s]);
    for (int l = 0; l < kLists; ++l) put("l/" + seg + "/" + kListNames[l], board_[s][l]);
  }
  put("n", Trials{static_cast<double>(holdouts_), 0});
}

void Blend::load(Db& db) {
  Blend fresh;
  std::unordered_map<std::string, Trials> cells;
  {
    Stmt s(db.raw(), "SELECT cell, trials, hits FROM blend_cells");
    while (s.step()) cells[s.text(0)] = Trials{s.f64(1), s.f64(2)};
  }
  auto get = [&](const std::string& cell) {
    const auto it = cells.find(cell);
    return it == cells.end() ? Trials{} : it->second;
  };
  for (int s = 0; s < kSegments; ++s) {
    const std::string seg = std::to_string(s);
    for (int c = 0; c < kCountBuckets; ++c)
      for (int a = 0; a < kAgeBuckets; ++a)
        fresh.personal_[s][c][a] = get("p/" + seg + "/" + std::to_string(c) + "/" + std::to_string(a));
    fresh.store_[s] = get("b/" + seg);
    for (int l = 0; l < kLists; ++l) fresh.board_[s][l] = get("l/" + seg + "/" + kListNames[l]);
  }
  fresh.holdouts_ = static_cast<std::int64_t>(get("n").trials);
  fresh.weights_ = fresh.compute();
  *this = std::move(fresh);
}

}  // namespace regulars::daemon
