// P(item in the next basket), on one scale for every source, as measured on the store's own
// purchases (memory/blend.hpp): an item the customer bought before scores the measured rate at
// which such items (by segment, baskets with it, visits since) come back, times the item's own
// repeat propensity and, for an item bought for a household member, the household factor; any
// item scores what the store's best sellers new to a customer turn out to be worth per unit of
// popularity (b), applied to what sells (g, the share of baskets with the item) and what
// customers with the same top items went on to buy (E, memory/followed_on.hpp), weighted by the
// measured lambda: X = b * (g + lambda * E). A known item scores max(R, X). In a segment where
// the store's best sellers did better on the hold-outs than the blend, the answer is the best
// sellers alone.
#include "hints/predictions.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "memory/projector.hpp"
#include "store/event_store.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

// The measured blend as it applies to this customer.
struct Habits {
  const BlendWeights& weights;
  std::int64_t visits = 0;
  double repeat_share = 0.5;  // the store's
  bool store_only = false;
};

Habits habits_of(const CustomerView& c, const Popularity::Reading& pop) {
  Habits h{pop.blend_weights(), std::max<std::int64_t>(1, c.visits), pop.repeat_share(), false};
  h.store_only = h.weights.store_only(h.visits);
  return h;
}

// An item being scored. The views point into the customer's items, the best sellers' list or
// the popularity being read, all of which outlive the ranking.
struct Candidate {
  std::string_view sku, name;
  std::int64_t baskets;  // the customer's own
  double personal, popular, similar, score;
};

// Every item worth scoring: the customer's own, the store's best sellers, and the successors of
// the customer's top items.
class CandidateSet {
 public:
  CandidateSet(const AnswerContext& ctx, const Habits& habits, const Popularity::Reading& pop, const FollowedOn& followed_on,
               double all_baskets)
      : ctx_(ctx), habits_(habits), pop_(pop), followed_on_(followed_on), all_baskets_(all_baskets) {
    seen_.reserve(256);
  }

  void add_own(const std::vector<ItemStat>& personal) {
    for (const auto& item : personal) {
      if (ctx_.basket.count(item.sku) || !ctx_.dnm.allows(item)) continue;
      const KnownItem known{item.sku, item.baskets, item.dvis, item.store_baskets, item.store_buyers, item.for_member};
      add(item, habits_.store_only ? 0.0 : std::min(1.0, habits_.weights.personal(habits_.visits, known, habits_.repeat_share)));
    }
  }
  void add_popular(const std::vector<ItemStat>& best, std::size_t n) {
    for (std::size_t i = 0; i < best.size() && i < n; ++i) {
      const ItemStat& item = best[i];
      if (!ctx_.basket.count(item.sku) && !seen_.count(item.sku) && ctx_.dnm.allows(item)) add(item, 0.0);
    }
  }
  void add_followed(const std::vector<SeedSource>& sources) {
    for (const auto& src : sources) {
      for (std::size_t k = 0; k < src.by_count.size() && k < kFollowedPerSeed; ++k) {
        const ItemId id = src.by_count[k]->item;
        const ItemInfo* info = pop_.item(id);
        if (info == nullptr) continue;
        const std::string_view sku = pop_.sku(id);
        if (ctx_.basket.count(sku) || !seen_.insert(sku).second) continue;
        if (ctx_.dnm.allows({sku, info->name, info->category})) add(sku, id, info->name, 0, info->baskets, 0.0);
      }
    }
  }
  std::vector<Candidate> ranked() && {
    std::stable_sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) {
      if (a.score != b.score) return a.score > b.score;
      return a.popular > b.popular;
    });
    return std::move(candidates_);
  }

 private:
  // The item's number as this reading of the popularity gives it (a rebuild numbers items anew).
  void add(const ItemStat& item, double personal) {
    add(item.sku, pop_.id(item.sku), item.name, item.baskets, item.store_baskets, personal);
  }
  void add(std::string_view sku, ItemId id, std::string_view name, std::int64_t baskets, std::int64_t store_baskets, double personal) {
    const double g = std::min(1.0, static_cast<double>(store_baskets) / all_baskets_);
    const double e = followed_on_.similar(id, g);
    candidates_.push_back({sku, name, baskets, personal, g, e, std::max(personal, habits_.weights.explore(habits_.visits, g, e))});
    seen_.insert(sku);
  }

  const AnswerContext& ctx_;
  const Habits& habits_;
  const Popularity::Reading& pop_;
  const FollowedOn& followed_on_;
  double all_baskets_;
  std::vector<Candidate> candidates_;
  std::unordered_set<std::string_view> seen_;
};

enum class Reason { personal, similar, popular };

// One prediction as the answer shows it, copied out of what was read.
struct Pick {
  std::string sku, name;
  std::int64_t baskets;
  double score;
  Reason reason;
};

// Why the cashier sees it: the customer's own habit, what people like them buy, or what sells.
Reason reason_for(const Candidate& cand, const Habits& habits) {
  // The customer's own habit when it carries a good part of the score (not just half: the blend's
  // first guess gives an item on half the visits exactly half of what sells to everyone).
  if (!habits.store_only && cand.personal > 0 && cand.personal >= 0.4 * cand.score) return Reason::personal;
  const bool followed_on = !habits.store_only && cand.similar > cand.popular;  // the customer's items point to it
  return followed_on ? Reason::similar : Reason::popular;
}

// The ranking, under one read of the popularity; the texts are written after it is released.
std::vector<Pick> pick_items(const AnswerContext& ctx, EventStore& store, const std::vector<ItemStat>& personal,
                             int max_predictions) {
  // Before the read: listing the best sellers again takes the popularity's lock itself.
  const auto best = store.best_sellers();
  const auto pop = store.read_popularity();
  const Habits habits = habits_of(ctx.customer, pop);
  std::vector<std::string_view> seeds;
  for (std::size_t i = 0; i < personal.size() && i < static_cast<std::size_t>(kTransitionSeeds); ++i) seeds.push_back(personal[i].sku);
  const auto sources = pop.sources_of(seeds);
  const FollowedOn followed_on(seeds.size(), sources);

  CandidateSet candidates(ctx, habits, pop, followed_on, static_cast<double>(std::max<std::int64_t>(1, pop.totals().baskets)));
  candidates.add_own(personal);
  if (best) candidates.add_popular(*best, static_cast<std::size_t>(max_predictions * 3 + static_cast<int>(ctx.basket.size()) + 20));
  candidates.add_followed(sources);

  std::vector<Pick> picks;
  for (const auto& cand : std::move(candidates).ranked()) {
    if (static_cast<int>(picks.size()) >= max_predictions) break;
    picks.push_back({std::string(cand.sku), std::string(cand.name.empty() ? cand.sku : cand.name), cand.baskets,
                     std::round(cand.score * 10000.0) / 10000.0, reason_for(cand, habits)});
  }
  return picks;
}

std::string reason_text(const AnswerContext& ctx, const Pick& pick) {
  switch (pick.reason) {
    case Reason::personal:
      return ctx.say.text("prediction.reason.personal", {{"baskets", ctx.say.num(pick.baskets)}, {"visits", ctx.say.num(ctx.customer.visits)}});
    case Reason::similar: return ctx.say.text("prediction.reason.similar");
    case Reason::popular: break;
  }
  return ctx.say.text("prediction.reason.popular");
}

}  // namespace

json predict_items(const AnswerContext& ctx, EventStore& store, const std::vector<ItemStat>& personal, int max_predictions) {
  json predictions = json::array();
  for (const Pick& pick : pick_items(ctx, store, personal, max_predictions))
    predictions.push_back({{"sku", pick.sku}, {"name", pick.name}, {"score", pick.score}, {"reason", reason_text(ctx, pick)}});
  return predictions;
}

}  // namespace regulars::daemon
