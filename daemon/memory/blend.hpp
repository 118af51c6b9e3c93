// How predictable each source of item predictions is in this store, measured on the store's own
// purchases: every purchase of a returning customer is a hold-out for what was known of them just
// before it. From the measurements come the weights of the blend the hints rank by:
//
// - personal: P(an item the customer already bought is in the next basket), counted per customer
//   segment (visits so far), per how many of their baskets held it and per how many visits ago
//   they last bought it. Frequency and recency are thus two axes of one measured table.
// - household: how much more (or less) often than that table says an item comes back when it was
//   bought for a household member; one factor for the store.
// - store: b, how many hits the store's best sellers that are new to the customer get per unit
//   of their share of baskets g; b * g is then a probability on the same scale as the table.
// - co-purchase neighbours: lambda, the weight of E (what customers with the same top items went
//   on to buy, memory/followed_on.hpp) beside g in what any item scores, b * (g + lambda * E).
//   Each hold-out ranks its blended list under each of a few lambdas (kLambdas), and a segment
//   uses the one whose lists recalled clearly more than the guess's (beyond the noise), the most (the store's choice until the segment has enough
//   hold-outs of its own; ties keep the guess, 0.15). A store where what customers go on to buy
//   only gets in the way settles at 0.
// - a scoreboard per segment: the recall@10 each list would have had on the hold-out (the
//   store's best sellers, the customer's most frequent items, their most recent ones, the
//   neighbours, the household's items, and the blend). Where the blend does no better than the
//   best sellers by more than the noise of the hold-outs, personal signal does not pay in that
//   segment and the hints fall back to what sells most.
//
// A measurement, not a projection: it depends on when the popularity it compares with was
// merged, so a rebuild measures it again but does not compare it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "memory/item_id.hpp"

namespace regulars::daemon {

class Db;
class FollowedOn;

inline constexpr int kSegments = 10;      // customers by visits so far: 1, 2, 3, 4, 5-6, 7-9, 10-14, 15-24, 25-39, 40+
inline constexpr int kCountBuckets = 11;  // baskets with the item: 1, 2, 3, 4, 5, 6, 7-8, 9-11, 12-15, 16-22, 23+
inline constexpr int kAgeBuckets = 4;    // visits since it was last bought: 0, 1, 2-3, 4+
inline constexpr std::size_t kListSize = 10;  // the scoreboard's lists: recall@10, as the hints are judged
inline constexpr std::size_t kStoreProbe = 20;  // best sellers that calibrate b
inline constexpr std::array<double, 5> kLambdas{0.0, 0.05, 0.15, 0.3, 0.6};  // the neighbours' weights tried

int segment_of(std::int64_t visits);
int count_bucket(std::int64_t baskets);
int age_bucket(std::int64_t visits_since);

// One of the customer's items as a hold-out or a hints answer sees it.
struct KnownItem {
  std::string sku;
  std::int64_t baskets = 0;     // the customer's baskets with it
  std::int64_t last_visit = 0;  // the customer's visit that last bought it (1-based)
  std::int64_t store_baskets = 0, store_buyers = 0;
  bool for_member = false;  // bought for a household member
  ItemId item = kNoItem;    // the popularity's number for it, where the caller knows it
};

// A returning customer's purchase, and what was known of them before it.
struct HoldOut {
  std::int64_t visits = 0;  // before the purchase
  std::vector<KnownItem> known;  // store_* filled by Popularity::merge
  std::vector<std::string> basket;
  std::vector<std::string> seeds;  // the customer's top items, best first (kTransitionSeeds)
  // The basket's ids, one per SKU of `basket`, where the caller knows them (Popularity::score);
  // empty otherwise. Ids come from one numbering: an item has its id everywhere or nowhere.
  std::vector<ItemId> basket_items;
};

// A successor of the customer's top items, new to them, as a hold-out sees it.
struct Followed {
  std::string_view sku;
  double g = 0;  // its share of the store's baskets
  double e = 0;  // E, what customers like this one went on to buy
  ItemId item = kNoItem;  // the popularity's number for it, where the caller knows it
};

// What the co-purchase neighbours say about one hold-out: E for any item, and the candidates.
struct Neighbours {
  const FollowedOn& on;
  std::vector<Followed> candidates;  // strongest first, seed by seed
};

// What the store knows when it measures: its best sellers and its totals.
struct BestSeller {
  std::string sku;
  std::int64_t baskets = 0;
  ItemId item = kNoItem;
};
struct StoreView {
  std::vector<BestSeller> best;  // best first
  double baskets = 1;     // N
  double repeat_share = 0.5;  // share of basket lines that were repeat purchases, 1 - sum(buyers)/sum(baskets)
};

struct Trials {
  double trials = 0, hits = 0;
};

// What exploring gives an item: what sells (g) and what similar customers went on to buy (E),
// weighted by lambda and put on the personal scale by b; a probability, so capped at 1 where b
// (measured on g alone) would pass it. The hints and the blend's own lists rank by this one formula.
inline double explore_score(double b, double lambda, double g, double e) { return std::min(1.0, b * (g + lambda * e)); }

// The weights the hints rank by, shrunk and ready (a copy readers keep for one answer).
class BlendWeights {
 public:
  // P(in next basket) of an item the customer bought before (with its repeat propensity).
  double personal(std::int64_t visits, const KnownItem& item, double repeat_share) const;
  // The scale that turns an item's share of baskets into a probability, for this segment.
  double store_scale(std::int64_t visits) const { return b_[segment_of(visits)]; }
  // The weight of E beside g for this segment: the score of any item is b * (g + lambda * E).
  double neighbours_weight(std::int64_t visits) const { return lambda_[segment_of(visits)]; }
  // Whether this segment is served the best sellers alone.
  bool store_only(std::int64_t visits) const { return store_only_[segment_of(visits)]; }
  // The score of an item not (or hardly) known to the customer in this segment (explore_score),
  // or its share of baskets alone where the segment is served the best sellers.
  double explore(std::int64_t visits, double g, double e) const;

 private:
  friend class Blend;
  std::array<std::array<std::array<double, kAgeBuckets>, kCountBuckets>, kSegments> p_{};
  std::array<double, kSegments> b_{};
  std::array<double, kSegments> lambda_{};
  double household_ = 1.0;
  std::array<bool, kSegments> store_only_{};
};

struct HoldOutItems;  // blend.cpp

class Blend {
 public:
  enum List { kStore, kFrequency, kRecency, kNeighbours, kHousehold, kBlended, kLists };

  Blend() { weights_ = compute(); }
  // What one hold-out says, not yet counted: scoring is the costly part, and reads the blend
  // without changing it, so the writer scores under a shared read of the popularity (hints
  // answers go on) and counts under the exclusive lock.
  struct HoldOutScore {
    struct Cell {
      int count, age;
      bool hit;
    };
    int segment = 0;
    bool lists_scored = false;  // the scoreboard's lists (recall, lambda_recall) were scored
    std::vector<Cell> cells;  // one per known item
    Trials household;         // the items bought for a member: the table's P, hits
    Trials store;             // the probed best sellers new to the customer: sum of g, hits
    std::array<double, kLists> recall{};
    std::array<double, kLambdas.size()> lambda_recall{};
  };
  // neighbours null: the table, the household factor and b only (see wants_lists).
  HoldOutScore score(const HoldOut& h, const StoreView& store, const Neighbours* neighbours) const;
  // Whether the nth hold-out of its segment since start-up, of a customer with `visits`, also scores the
  // scoreboard's lists: all of them while the segment's board is young, then a sample, since
  // they cost most of the scoring.
  bool wants_lists(std::int64_t visits, std::uint64_t nth) const;
  void count(const HoldOutScore& score);
  void measure(const HoldOut& h, const StoreView& store, const Neighbours& neighbours) { count(score(h, store, &neighbours)); }
  // The weights as of the last refresh: after every hold-out in a young store, then every few hundred.
  const BlendWeights& weights() const { return weights_; }
  std::int64_t holdouts() const { return holdouts_; }
  // The measurements and the current blend, per segment, for `regularsctl status`.
  nlohmann::json describe() const;

  void clear() { *this = Blend{}; }
  void load(Db& db);
  void save(Db& db) const;  // inside the caller's transaction

 private:
  BlendWeights compute() const;
  void score_personal(const HoldOut& h, const HoldOutItems& items, double repeat_share, HoldOutScore& out) const;
  void score_lists(const HoldOut& h, const StoreView& store, const HoldOutItems& items, const Neighbours& neighbours,
                   HoldOutScore& out) const;
  // Scores the list the blend would have made under each lambda, and under the chosen one.
  void score_blends(const HoldOut& h, const StoreView& store, const HoldOutItems& items, const Neighbours& neighbours,
                    HoldOutScore& out) const;
  using LambdaBoard = std::array<Trials, kLambdas.size()>;
  using LambdaSquares = std::array<double, kLambdas.size()>;  // sums of (recall under lambda - under the guess)^2
  static int best_lambda(const LambdaBoard& board, const LambdaSquares& squares);
  bool blend_pays(int segment) const;

  std::array<std::array<std::array<Trials, kAgeBuckets>, kCountBuckets>, kSegments> personal_{};
  std::array<Trials, kSegments> store_{};  // trials: sum of g of probed best sellers; hits
  std::array<LambdaBoard, kSegments> lambda_board_{};
  std::array<LambdaSquares, kSegments> lambda_squares_{};
  std::array<Trials, kSegments> blend_gain_{};     // per scored hold-out: recall@10 of the blend less the best sellers'
  std::array<double, kSegments> blend_gain_sq_{};  // the sum of its squares  // the blend's recall@10 under each lambda
  Trials household_{};  // trials: the table's P of items bought for a member; hits
  std::array<std::array<Trials, kLists>, kSegments> board_{};  // trials: hold-outs; hits: sum of recall@10
  std::int64_t holdouts_ = 0;
  BlendWeights weights_;
};

}  // namespace regulars::daemon
