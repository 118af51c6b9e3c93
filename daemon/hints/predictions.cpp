// P(item in the next basket) is modelled as a mixture: with weight r the customer repeats their
// own habits (recency-weighted share of visits with the item), with weight 1-r they explore. r
// is how often this customer's basket items were already known to them, shrunk towards the
// store's rate, so a store where people rarely repeat leans on exploring without any per-store
// tuning. Exploring follows what sells in the store (g, the share of baskets with the item) and
// what customers with the same top items went on to buy (E):
// X = (g + kLambda * E) / (1 + kLambda), with E for item j the mean over the customer's top
// items i of (tr_ij + kSmooth * g_j) / (trc_i + kSmooth), which is g_j when i tells nothing.
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

constexpr double kShrink = 10.0;  // baskets' worth of evidence before a customer's own rate counts fully
// kLambda weighs what similar customers went on to buy against plain popularity when exploring;
// tests/eval/research/results.md has how E and kLambda were chosen.
constexpr double kLambda = 0.15, kSmooth = 30.0;
constexpr std::size_t kSeeds = 5;       // the customer's top items that say who is like them
constexpr std::size_t kPerSource = 10;  // new candidates: each seed's strongest successors

// How much this customer repeats their own habits, and the decayed weight of all their visits.
struct Habits {
  double repeat = 0;  // r
  double visits = 1;
  double norm = 1;
};

Habits habits_of(const CustomerView& c, const StoreTotals& totals) {
  const double store_repeat =
      totals.repeat_total > 0 ? static_cast<double>(totals.repeat_hits) / static_cast<double>(totals.repeat_total) : 0.5;
  Habits h;
  h.repeat = (static_cast<double>(c.repeat_hits) + kShrink * store_repeat) / (static_cast<double>(c.repeat_total) + kShrink);
  h.visits = static_cast<double>(std::max<std::int64_t>(1, c.visits));
  h.norm = (1.0 - std::pow(kItemDecay, h.visits)) / (1.0 - kItemDecay);
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

double explore(double g, double e) { return (g + kLambda * e) / (1.0 + kLambda); }

// Every item worth scoring: the customer's own, the store's best sellers, and the successors of
// the customer's top items. `followed` keeps the last kind alive while the candidates point to it.
class CandidateSet {
 public:
  CandidateSet(const AnswerContext& ctx, const Habits& habits, const FollowedOn& followed_on, double all_baskets)
      : ctx_(ctx), habits_(habits), followed_on_(followed_on), all_baskets_(all_baskets) {}

  void add_own(const std::vector<ItemStat>& personal) {
    for (const auto& item : personal) {
      if (ctx_.basket.count(item.sku) || !ctx_.dnm.allows(item)) continue;
      const double p = item.dsum * std::pow(kItemDecay, habits_.visits - static_cast<double>(item.dvis)) / habits_.norm;
      add(item, p);
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
    candidates_.push_back({&item, personal, g, e, habits_.repeat * personal + (1.0 - habits_.repeat) * explore(g, e)});
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
std::string reason_for(const AnswerContext& ctx, const Candidate& cand, double repeat) {
  const bool mine = cand.personal > 0 && repeat * cand.personal >= (1.0 - repeat) * explore(cand.popular, cand.similar);
  if (mine)
    return ctx.say.text("prediction.reason.personal",
                        {{"baskets", ctx.say.num(cand.item->baskets)}, {"visits", ctx.say.num(ctx.customer.visits)}});
  const bool followed_on = cand.similar > cand.popular;  // the customer's items point to it
  return ctx.say.text(followed_on ? "prediction.reason.similar" : "prediction.reason.popular");
}

}  // namespace

json predict_items(const AnswerContext& ctx, EventStore& store, const std::vector<ItemStat>& personal, int max_predictions) {
  const StoreTotals totals = store.totals();
  const Habits habits = habits_of(ctx.customer, totals);
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
                           {"reason", reason_for(ctx, cand, habits.repeat)}});
  }
  return predictions;
}

}  // namespace regulars::daemon
