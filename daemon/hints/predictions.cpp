// P(item in the next basket), on one scale for every source, as measured on the store's own
// purchases (memory/blend.hpp): an item the customer bought before scores the measured rate at
// which such items (by segment, baskets with it, visits since) come back, times the item's own
// repeat propensity; any item scores what the store's best sellers new to a customer turn out to
// be worth per unit of popularity (b), applied to what sells (g, the share of baskets with the
// item) and what customers with the same top items went on to buy (E):
// X = b * (g + kLambda * E), with E for item j the mean over the customer's top items i of
// (tr_ij + kSmooth * g_j) / (trc_i + kSmooth), which is g_j when i tells nothing. A known item
// scores max(R, X). In a segment where the store's best sellers did better on the hold-outs than
// the blend, the answer is the best sellers alone.
#include "hints/predictions.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "memory/projector.hpp"
#include "store/event_store.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

// kLambda weighs what similar customers went on to buy against plain popularity when exploring;
// tests/eval/research/results.md has how E and kLambda were chosen (CRE).
constexpr double kLambda = 0.15, kSmooth = 30.0;
constexpr std::size_t kSeeds = 5;       // the customer's top items that say who is like them
constexpr std::size_t kPerSource = 20;  // new candidates: each seed's strongest successors

// The measured blend as it applies to this customer.
struct Habits {
  BlendWeights weights;
  std::int64_t visits = 0;
  double repeat_share = 0.5;  // the store's
  double b = 1;               // store_scale for the customer's segment
  bool store_only = false;
};

Habits habits_of(const CustomerView& c, EventStore& store) {
  Habits h{store.blend_weights(), std::max<std::int64_t>(1, c.visits), store.repeat_share(), 1, false};
  h.b = h.weights.store_scale(h.visits);
  h.store_only = h.weights.store_only(h.visits);
  return h;
}

// E_j: what customers with the customer's top items went on to buy, per successor j, computed once.
class FollowedOn {
 public:
  FollowedOn(std::size_t seeds, const std::vector<ItemSource>& sources) : seeds_(seeds) {
    smooth_mass_ = static_cast<double>(seeds - sources.size());  // seeds nobody followed yet: E = g
    for (const auto& src : sources) {
      const double denom = static_cast<double>(src.transitions) + kSmooth;
      smooth_mass_ += kSmooth / denom;
      for (const auto& n : src.neighbours) mass_[n.sku] += static_cast<double>(n.count) / denom;
    }
  }
  double similar(const std::string& sku, double g) const {
    if (seeds_ == 0) return g;
    const auto it = mass_.find(sku);
    return ((it == mass_.end() ? 0.0 : it->second) + smooth_mass_ * g) / static_cast<double>(seeds_);
  }

 private:
  std::size_t seeds_;
  double smooth_mass_ = 0;
  std::unordered_map<std::string, double> mass_;  // sum over the seeds of tr_ij / (trc_i + kSmooth)
};

struct Candidate {
  const ItemStat* item;
  double personal, popular, similar, score;
};

// A probability: capped at 1 where b (measured on g alone) times g and E would pass it.
double explore(const Habits& h, double g, double e) { return h.store_only ? g : std::min(1.0, h.b * (g + kLambda * e)); }

// Every item worth scoring: the customer's own, the store's best sellers, and the successors of
// the customer's top items. `followed` keeps the last kind alive while the candidates point to it.
class CandidateSet {
 public:
  CandidateSet(const AnswerContext& ctx, const Habits& habits, const FollowedOn& followed_on, double all_baskets)
      : ctx_(ctx), habits_(habits), followed_on_(followed_on), all_baskets_(all_baskets) {}

  void add_own(const std::vector<ItemStat>& personal) {
    for (const auto& item : personal) {
      if (ctx_.basket.count(item.sku) || !ctx_.dnm.allows(item)) continue;
      const KnownItem known{item.sku, item.baskets, item.dvis, item.store_baskets, item.store_buyers};
      add(item, habits_.store_only ? 0.0 : std::min(1.0, habits_.weights.personal(habits_.visits, known, habits_.repeat_share)));
    }
  }
  void add_popular(const std::vector<ItemStat>& popular) {
    for (const auto& item : popular)
      if (!ctx_.basket.count(item.sku) && !seen_.count(item.sku) && ctx_.dnm.allows(item)) add(item, 0.0);
  }
  void add_followed(EventStore& store, const std::vector<ItemSource>& sources);
  std::vector<Candidate> ranked() &&;

 private:
  void add(const ItemStat& item, double personal) {
    const double g = std::min(1.0, static_cast<double>(item.store_baskets) / all_baskets_);
    const double e = followed_on_.similar(item.sku, g);
    candidates_.push_back({&item, personal, g, e, std::max(personal, explore(habits_, g, e))});
    seen_.insert(item.sku);
  }

  const AnswerContext& ctx_;
  const Habits& habits_;
  const FollowedOn& followed_on_;
  double all_baskets_;
  std::vector<Candidate> candidates_;
  std::unordered_set<std::string> seen_;
  std::deque<ItemStat> followed_;  // candidates found only as successors of the customer's items
};

void CandidateSet::add_followed(EventStore& store, const std::vector<ItemSource>& sources) {
  for (const auto& src : sources) {
    for (std::size_t k = 0; k < src.neighbours.size() && k < kPerSource; ++k) {
      const Neighbour& n = src.neighbours[k];
      if (ctx_.basket.count(n.sku) || seen_.count(n.sku)) continue;
      const auto info = store.item_info(n.sku);
      if (!info) continue;
      ItemStat& item = followed_.emplace_back();
      item.sku = n.sku;
      item.name = info->name;
      item.category = info->category;
      item.store_baskets = info->baskets;
      seen_.insert(n.sku);
      if (ctx_.dnm.allows(item)) add(item, 0.0);
    }
  }
}

std::vector<Candidate> CandidateSet::ranked() && {
  std::stable_sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.popular > b.popular;
  });
  return std::move(candidates_);
}

// Why the cashier sees it: the customer's own habit, what people like them buy, or what sells.
std::string reason_for(const AnswerContext& ctx, const Candidate& cand, const Habits& habits) {
  // The customer's own habit when it carries a good part of the score (not just half: the blend's
  // first guess gives an item on half the visits exactly half of what sells to everyone).
  const bool mine = !habits.store_only && cand.personal > 0 && cand.personal >= 0.4 * cand.score;
  if (mine)
    return ctx.say.text("prediction.reason.personal",
                        {{"baskets", ctx.say.num(cand.item->baskets)}, {"visits", ctx.say.num(ctx.customer.visits)}});
  const bool followed_on = !habits.store_only && cand.similar > cand.popular;  // the customer's items point to it
  return ctx.say.text(followed_on ? "prediction.reason.similar" : "prediction.reason.popular");
}

}  // namespace

json predict_items(const AnswerContext& ctx, EventStore& store, const std::vector<ItemStat>& personal, int max_predictions) {
  const StoreTotals totals = store.totals();
  const Habits habits = habits_of(ctx.customer, store);
  std::vector<std::string> seeds;
  for (std::size_t i = 0; i < personal.size() && i < kSeeds; ++i) seeds.push_back(personal[i].sku);
  const auto sources = store.successors(seeds, kMaxNeighbours);  // most frequent first
  const FollowedOn followed_on(seeds.size(), sources);

  CandidateSet candidates(ctx, habits, followed_on, static_cast<double>(std::max<std::int64_t>(1, totals.baskets)));
  candidates.add_own(personal);
  const auto popular = store.popular_items(max_predictions * 3 + static_cast<int>(ctx.basket.size()) + 20);
  candidates.add_popular(popular);
  candidates.add_followed(store, sources);

  json predictions = json::array();
  for (const auto& cand : std::move(candidates).ranked()) {
    if (static_cast<int>(predictions.size()) >= max_predictions) break;
    predictions.push_back({{"sku", cand.item->sku},
                           {"name", display_name(*cand.item)},
                           {"score", std::round(cand.score * 10000.0) / 10000.0},
                           {"reason", reason_for(ctx, cand, habits)}});
  }
  return predictions;
}

}  // namespace regulars::daemon
