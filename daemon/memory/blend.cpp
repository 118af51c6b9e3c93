#include "memory/blend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "db/db.hpp"
#include "memory/followed_on.hpp"

namespace regulars::daemon {

// A handful of items for membership tests: a basket, or the items a customer knows. Sorted ids;
// a binary search beats hashing at these sizes.
class ItemSet {
 public:
  ItemSet() = default;
  explicit ItemSet(std::vector<ItemId> items) : items_(std::move(items)) {
    std::sort(items_.begin(), items_.end());
    items_.erase(std::unique(items_.begin(), items_.end()), items_.end());
  }
  bool contains(ItemId item) const { return std::binary_search(items_.begin(), items_.end(), item); }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<ItemId> items_;
};

// Every item one hold-out's scoring compares, as an integer, so that membership tests and
// de-duplication compare integers, not SKUs: the popularity's id where the caller gave one, and
// for an item given none, one numbered here from the top of the range down (real ids count up
// from 0, so the two never meet).
class ItemNumbers {
 public:
  ItemId of(ItemId given, std::string_view sku) {
    if (given != kNoItem) return given;
    const auto [it, fresh] = unnumbered_.try_emplace(sku, next_);
    if (fresh) --next_;
    return it->second;
  }

 private:
  std::unordered_map<std::string_view, ItemId> unnumbered_;
  ItemId next_ = kNoItem - 1;
};

// A hold-out's items as numbers: the known items, the probed best sellers and the neighbours'
// candidates (each in its list's order), and the sets scoring tests against.
struct HoldOutItems {
  std::vector<ItemId> known, best, candidates;
  ItemSet known_set, basket;

  HoldOutItems(const HoldOut& h, const StoreView& store, const Neighbours* neighbours) {
    ItemNumbers numbers;
    known.reserve(h.known.size());
    for (const auto& k : h.known) known.push_back(numbers.of(k.item, k.sku));
    for (const auto& b : store.best) best.push_back(numbers.of(b.item, b.sku));
    if (neighbours != nullptr)
      for (const auto& f : neighbours->candidates) candidates.push_back(numbers.of(f.item, f.sku));
    std::vector<ItemId> in_basket;
    in_basket.reserve(h.basket.size());
    const bool given = h.basket_items.size() == h.basket.size();
    for (std::size_t i = 0; i < h.basket.size(); ++i) in_basket.push_back(numbers.of(given ? h.basket_items[i] : kNoItem, h.basket[i]));
    known_set = ItemSet(known);
    basket = ItemSet(std::move(in_basket));
  }
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
// The scoreboard's lists cost most of a hold-out's scoring (the neighbours, a ranking per lambda):
// a segment scores them on every hold-out until its board has kListsAlwaysUntil, then on every
// kListsEvery-th.
constexpr double kListsAlwaysUntil = 1000;
constexpr std::uint64_t kListsEvery = 4;
constexpr double kMinBoard = 200;        // hold-outs a segment needs before it may fall back to the best sellers
constexpr double kGainMargin = 1.64;     // standard errors the blend must beat the best sellers by (one-sided 95%)
// Before the store has measured its neighbours: the weight a study of Ta-Feng chose
// (tests/eval/research/results.md, CRE), one of kLambdas.
constexpr std::size_t kLambdaGuess = 2;
constexpr double kHouseholdShrink = 10.0;  // expected hits before the household factor counts fully

double rate(const Trials& t, double prior, double weight) { return (t.hits + weight * prior) / (t.trials + weight); }

Trials& operator+=(Trials& a, const Trials& b) {
  a.trials += b.trials;
  a.hits += b.hits;
  return a;
}

const char* const kListNames[] = {"store", "frequency", "recency", "neighbours", "household", "blend"};
const char* const kSegmentNames[] = {"1", "2", "3", "4", "5-6", "7-9", "10-14", "15-24", "25-39", "40+"};

// recall of `list` (its first kListSize) on `basket`.
double recall(const std::vector<ItemId>& list, const ItemSet& basket) {
  double hits = 0;
  for (std::size_t i = 0; i < list.size() && i < kListSize; ++i) hits += basket.contains(list[i]) ? 1.0 : 0.0;
  return basket.size() == 0 ? 0.0 : hits / static_cast<double>(basket.size());
}

// The first kListSize of `items` (of the hold-out's known items) by `better`, as numbers.
template <class Better>
std::vector<ItemId> top_of(std::vector<const KnownItem*> items, const HoldOut& h, const HoldOutItems& numbers, Better better) {
  const std::size_t n = std::min(kListSize, items.size());
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n), items.end(), better);
  std::vector<ItemId> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(numbers.known[static_cast<std::size_t>(items[i] - h.known.data())]);
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
  const double own = repeat_share > 0 ? p * std::sqrt(share / repeat_share) : p;
  return item.for_member ? own * household_ : own;
}

double BlendWeights::explore(std::int64_t visits, double g, double e) const {
  const int s = segment_of(visits);
  return store_only_[s] ? g : explore_score(b_[s], lambda_[s], g, e);
}

namespace {

// An item the blend could put on a hold-out's list, with what its score is made of.
struct Scorable {
  ItemId item;
  double personal, g, e, popularity;
};

// The first kListSize of `all` as the blend ranks them (hints/predictions.cpp): a known item at
// max(its personal rate, what exploring gives it), any other at what exploring gives it.
std::vector<ItemId> ranked(std::vector<Scorable>& all, double b, double lambda) {
  std::vector<std::pair<double, const Scorable*>> scored;
  scored.reserve(all.size());
  for (const auto& c : all) scored.emplace_back(std::max(c.personal, explore_score(b, lambda, c.g, c.e)), &c);
  const std::size_t n = std::min(kListSize, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(n), scored.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second->popularity > y.second->popularity;
  });
  std::vector<ItemId> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(scored[i].second->item);
  return out;
}

}  // namespace

// The blend itself, even where a segment is served the best sellers: whether it would do better
// is what the scoreboard asks.
void Blend::score_blends(const HoldOut& h, const StoreView& store, const HoldOutItems& items, const Neighbours& neighbours,
                         HoldOutScore& out) const {
  std::vector<Scorable> all;
  all.reserve(h.known.size() + kStoreProbe + neighbours.candidates.size());
  for (std::size_t i = 0; i < h.known.size(); ++i) {
    const KnownItem& k = h.known[i];
    const double g = static_cast<double>(k.store_baskets) / store.baskets;
    const double personal = std::min(1.0, weights_.personal(h.visits, k, store.repeat_share));
    all.push_back({items.known[i], personal, g, neighbours.on.similar(k.item, g), static_cast<double>(k.store_baskets)});
  }
  // A few dozen at most: a linear search beats a hash set.
  std::vector<ItemId> added;
  auto add = [&added](ItemId item) {
    if (std::find(added.begin(), added.end(), item) != added.end()) return false;
    added.push_back(item);
    return true;
  };
  for (std::size_t i = 0; i < store.best.size() && i < kStoreProbe; ++i) {
    const BestSeller& best = store.best[i];
    const double g = static_cast<double>(best.baskets) / store.baskets;
    if (!items.known_set.contains(items.best[i]) && add(items.best[i]))
      all.push_back({items.best[i], 0.0, g, neighbours.on.similar(best.item, g), static_cast<double>(best.baskets)});
  }
  for (std::size_t i = 0; i < neighbours.candidates.size(); ++i) {
    const Followed& f = neighbours.candidates[i];
    if (add(items.candidates[i])) all.push_back({items.candidates[i], 0.0, f.g, f.e, f.g * store.baskets});
  }
  const double b = weights_.store_scale(h.visits), lambda = weights_.neighbours_weight(h.visits);
  for (std::size_t i = 0; i < kLambdas.size(); ++i) {
    out.lambda_recall[i] = recall(ranked(all, b, kLambdas[i]), items.basket);
    if (kLambdas[i] == lambda) out.recall[kBlended] = out.lambda_recall[i];
  }
}

// Each known item's cell of the table, and the household factor's trial for those bought for a
// member (its expectation is the table's rate, before the factor).
void Blend::score_personal(const HoldOut& h, const HoldOutItems& items, double repeat_share, HoldOutScore& out) const {
  for (std::size_t i = 0; i < h.known.size(); ++i) {
    const KnownItem& k = h.known[i];
    const bool hit = items.basket.contains(items.known[i]);
    out.cells.push_back({count_bucket(k.baskets), age_bucket(h.visits - k.last_visit), hit});
    if (!k.for_member) continue;
    KnownItem as_own = k;
    as_own.for_member = false;
    out.household += Trials{std::min(1.0, weights_.personal(h.visits, as_own, repeat_share)), hit ? 1.0 : 0.0};
  }
}

bool Blend::wants_lists(std::int64_t visits, std::uint64_t nth) const {
  return board_[segment_of(visits)][kStore].trials < kListsAlwaysUntil || nth % kListsEvery == 0;
}

Blend::HoldOutScore Blend::score(const HoldOut& h, const StoreView& store, const Neighbours* neighbours) const {
  const HoldOutItems items(h, store, neighbours);
  HoldOutScore out;
  out.segment = segment_of(h.visits);
  out.cells.reserve(h.known.size());
  score_personal(h, items, store.repeat_share, out);
  for (std::size_t i = 0; i < store.best.size() && i < kStoreProbe; ++i) {
    if (!items.known_set.contains(items.best[i]))
      out.store += Trials{static_cast<double>(store.best[i].baskets) / store.baskets, items.basket.contains(items.best[i]) ? 1.0 : 0.0};
  }
  if (neighbours != nullptr) score_lists(h, store, items, *neighbours, out);
  return out;
}

void Blend::score_lists(const HoldOut& h, const StoreView& store, const HoldOutItems& items, const Neighbours& neighbours,
                        HoldOutScore& out) const {
  out.lists_scored = true;
  std::vector<const KnownItem*> known, for_members;
  known.reserve(h.known.size());
  for (const auto& k : h.known) {
    known.push_back(&k);
    if (k.for_member) for_members.push_back(&k);
  }
  const std::vector<ItemId> best(items.best.begin(), items.best.begin() + static_cast<std::ptrdiff_t>(std::min(kListSize, items.best.size())));
  std::vector<std::size_t> by_e(neighbours.candidates.size());
  for (std::size_t i = 0; i < by_e.size(); ++i) by_e[i] = i;
  std::stable_sort(by_e.begin(), by_e.end(), [&](std::size_t a, std::size_t b) { return neighbours.candidates[a].e > neighbours.candidates[b].e; });
  std::vector<ItemId> followed;
  for (std::size_t i = 0; i < by_e.size() && i < kListSize; ++i) followed.push_back(items.candidates[by_e[i]]);
  auto more_baskets = [](const KnownItem* a, const KnownItem* b) {
    return a->baskets != b->baskets ? a->baskets > b->baskets : a->store_baskets > b->store_baskets;
  };
  const std::vector<ItemId> lists[kLists] = {
      best,
      top_of(known, h, items, more_baskets),
      top_of(known, h, items, [](const KnownItem* a, const KnownItem* b) {
        return a->last_visit != b->last_visit ? a->last_visit > b->last_visit : a->baskets > b->baskets;
      }),
      followed,
      top_of(for_members, h, items, more_baskets),
      {}};
  for (int l = 0; l < kBlended; ++l) out.recall[static_cast<std::size_t>(l)] = recall(lists[l], items.basket);
  score_blends(h, store, items, neighbours, out);
}

void Blend::count(const HoldOutScore& score) {
  const int s = score.segment;
  for (const auto& cell : score.cells) personal_[s][cell.count][cell.age] += Trials{1, cell.hit ? 1.0 : 0.0};
  household_ += score.household;
  store_[s] += score.store;
  if (score.lists_scored) {
    for (int l = 0; l < kLists; ++l) board_[s][l] += Trials{1, score.recall[static_cast<std::size_t>(l)]};
    for (std::size_t i = 0; i < kLambdas.size(); ++i) {
      lambda_board_[s][i] += Trials{1, score.lambda_recall[i]};
      const double lead = score.lambda_recall[i] - score.lambda_recall[kLambdaGuess];
      lambda_squares_[s][i] += lead * lead;
    }
    const double gain = score.recall[kBlended] - score.recall[kStore];
    blend_gain_[s] += Trials{1, gain};
    blend_gain_sq_[s] += gain * gain;
  }
  // A young store learns from every hold-out (its weights are then exactly those a restart
  // computes from the kept cells), an older one every kRefreshEvery.
  ++holdouts_;
  if (holdouts_ <= kLearnEvery || holdouts_ % kRefreshEvery == 0) weights_ = compute();
}

namespace {
// Whether the mean of n paired differences with this sum and sum of squares is clearly above 0:
// by more than kGainMargin standard errors.
bool clearly_positive(double n, double sum, double sum_sq) {
  if (n <= 0) return false;
  const double mean = sum / n;
  return mean > kGainMargin * std::sqrt(std::max(0.0, sum_sq / n - mean * mean) / n);
}
}  // namespace

// Whether the blend recalled clearly more than the best sellers in segment s: by more than
// kGainMargin standard errors of the hold-outs' paired differences. A gain within the noise
// does not pay for personalising: the simpler list serves. A segment with too few hold-outs
// to tell keeps the blend; stores measured before the differences were kept compare the sums.
bool Blend::blend_pays(int s) const {
  const Trials& gain = blend_gain_[s];
  if (gain.trials < kMinBoard) {
    const auto& board = board_[s];
    return board[kStore].trials < kMinBoard || board[kStore].hits < board[kBlended].hits;
  }
  return clearly_positive(gain.trials, gain.hits, blend_gain_sq_[s]);
}

// The lambda whose lists recalled clearly more than the guess's (the most, if several), once
// there are kMinBoard hold-outs to tell; -1 before. A lead within the noise keeps the guess,
// so the choice does not wander with the sample.
int Blend::best_lambda(const LambdaBoard& board, const LambdaSquares& squares) {
  if (board[kLambdaGuess].trials < kMinBoard) return -1;
  std::size_t best = kLambdaGuess;
  for (std::size_t i = 0; i < kLambdas.size(); ++i) {
    const double lead = board[i].hits - board[kLambdaGuess].hits;
    if (i != kLambdaGuess && board[i].hits > board[best].hits && clearly_positive(board[i].trials, lead, squares[i])) best = i;
  }
  return static_cast<int>(best);
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
  LambdaBoard lambda_all{};
  LambdaSquares squares_all{};
  for (int s = 0; s < kSegments; ++s) {
    store_all += store_[s];
    for (std::size_t i = 0; i < kLambdas.size(); ++i) {
      lambda_all[i] += lambda_board_[s][i];
      squares_all[i] += lambda_squares_[s][i];
    }
  }
  const double b_all = rate(store_all, 1.0, 1.0);
  const int measured = best_lambda(lambda_all, squares_all);
  const int store_lambda = measured >= 0 ? measured : static_cast<int>(kLambdaGuess);
  w.household_ = rate(household_, 1.0, kHouseholdShrink);
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
    const int own = best_lambda(lambda_board_[s], lambda_squares_[s]);
    w.lambda_[s] = kLambdas[static_cast<std::size_t>(own >= 0 ? own : store_lambda)];
    w.store_only_[s] = !blend_pays(s);
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
                        {"neighbours_weight", weights_.lambda_[s]},
                        {"serves", weights_.store_only_[s] ? "best sellers" : "blend"}});
  }
  return {{"holdouts", holdouts_}, {"household_factor", std::round(weights_.household_ * 1000) / 1000}, {"segments", segments}};
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
    for (std::size_t i = 0; i < kLambdas.size(); ++i) {
      put("lambda/" + seg + "/" + std::to_string(kLambdas[i]), lambda_board_[s][i]);
      put("lambda2/" + seg + "/" + std::to_string(kLambdas[i]), Trials{lambda_squares_[s][i], 0});
    }
    put("gain/" + seg, blend_gain_[s]);
    put("gain2/" + seg, Trials{blend_gain_sq_[s], 0});
    for (int l = 0; l < kLists; ++l) put("l/" + seg + "/" + kListNames[l], board_[s][l]);
  }
  put("h", household_);
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
    for (std::size_t i = 0; i < kLambdas.size(); ++i) {
      fresh.lambda_board_[s][i] = get("lambda/" + seg + "/" + std::to_string(kLambdas[i]));
      fresh.lambda_squares_[s][i] = get("lambda2/" + seg + "/" + std::to_string(kLambdas[i])).trials;
    }
    fresh.blend_gain_[s] = get("gain/" + seg);
    fresh.blend_gain_sq_[s] = get("gain2/" + seg).trials;
    for (int l = 0; l < kLists; ++l) fresh.board_[s][l] = get("l/" + seg + "/" + kListNames[l]);
  }
  fresh.household_ = get("h");
  fresh.holdouts_ = static_cast<std::int64_t>(get("n").trials);
  fresh.weights_ = fresh.compute();
  *this = std::move(fresh);
}

}  // namespace regulars::daemon
