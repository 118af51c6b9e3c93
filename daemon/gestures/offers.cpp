// Offers at a hints call: which rules give what to this customer now, within their limits, and
// what later becomes of an offer (an outcome, a merge or an erasure of its customer).
#include <cctype>

#include "gestures/engine.hpp"
#include "metrics/metrics.hpp"

namespace regulars::daemon {

using nlohmann::json;
using rules::kDayMs;
using rules::Rule;

namespace {

// Asking again within this long, with no purchase recorded in between, is the same visit.
constexpr std::int64_t kSameVisitMs = 12 * 3'600'000;

// False when the offer is about a topic the customer asked us never to mention: its item, the
// item's category or the household member.
bool mentionable(const std::string& sku, const std::string& member, Facts& facts, const OfferContext& ctx) {
  if (ctx.do_not_mention == nullptr || ctx.do_not_mention->empty()) return true;
  for (std::string topic : {sku, member, sku.empty() ? std::string() : facts.item_name(sku),
                            sku.empty() ? std::string() : facts.item_category(sku)}) {
    for (auto& ch : topic) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!topic.empty() && ctx.do_not_mention->count(topic)) return false;
  }
  return true;
}

}  // namespace

json GestureEngine::offers(Facts& facts, const OfferContext& ctx, const Moment& now, int max_offers) {
  const auto set = rules_in_force();
  json out = json::array();
  const std::int64_t visit = facts.visits + 1;
  for (const auto& rp : *set) {
    const Rule& rule = *rp;
    if (!rule.enabled) break;  // enabled rules come first
    if (static_cast<int>(out.size()) >= max_offers) break;
    // 1. The same visit asks again (a till asks while scanning): the same answer, whatever the
    //    basket holds by now.
    const Earlier earlier = earlier_at_this_visit(rule.id, facts.customer_id, visit, now);
    if (earlier.kind == Earlier::Kind::settled) continue;
    if (earlier.kind == Earlier::Kind::show_again) {
      out.push_back(shown_again(rule, earlier.offer, facts, ctx));
      continue;
    }
    // 2. Does the rule hold, and what exactly is given.
    if (!rule_applies(rule, facts, now)) continue;
    std::optional<Last> offer = what_is_given(rule, facts);
    if (!offer || !mentionable(offer->sku, offer->member, facts, ctx)) continue;
    // 3. Cooldown, control group and limits, taken atomically.
    if (!reserve(rule, facts.customer_id, visit, ctx, now, *offer)) continue;
    json o = describe(rule, *offer, facts, ctx);
    o["new"] = true;
    out.push_back(std::move(o));
  }
  return out;
}

GestureEngine::Earlier GestureEngine::earlier_at_this_visit(const std::string& rule_id, std::int64_t customer,
                                                            std::int64_t visit, const Moment& now) {
  std::lock_guard lock(mu_);
  Counters& c = counters_[rule_id];
  const auto last = c.last.find(customer);
  if (last == c.last.end()) return {};
  const Last& l = last->second;
  if (l.visit != visit || now.ms < l.made_ms || now.ms - l.made_ms >= kSameVisitMs) return {};
  if (l.status == "offered" || l.status == "accepted") return {Earlier::Kind::show_again, l};
  return {Earlier::Kind::settled, {}};
}

json GestureEngine::shown_again(const Rule& rule, Last offer, Facts& facts, const OfferContext& ctx) const {
  if (offer.member.empty() && rule.gesture.favourite && !rule.gesture.favourite_member.empty()) {
    // Read back from the store after a restart: find the member again (outside the lock).
    if (const auto fav = facts.favourite(rule.gesture.favourite_category, rule.gesture.favourite_member))
      if (fav->sku == offer.sku) offer.member = fav->member;
  }
  json o = describe(rule, offer, facts, ctx);
  o["new"] = false;
  return o;
}

// The item of a free_item gesture: the rule's own, or the customer's (or the member's)
// favourite; nullopt when they have no favourite to give.
std::optional<GestureEngine::Last> GestureEngine::what_is_given(const Rule& rule, Facts& facts) {
  Last offer;
  if (rule.gesture.kind != rules::Gesture::Kind::free_item) return offer;
  if (!rule.gesture.favourite) {
    offer.sku = rule.gesture.sku;
    return offer;
  }
  const auto fav = facts.favourite(rule.gesture.favourite_category, rule.gesture.favourite_member);
  if (!fav) return std::nullopt;
  offer.sku = fav->sku;
  offer.member = fav->member;
  return offer;
}

namespace {
// The rule's caps across the chain, as its store's lease is spent from them.
std::vector<ChainCap> chain_caps(const rules::Limits& limits, std::int64_t cost) {
  std::vector<ChainCap> caps;
  if (limits.chain_per_day > 0) caps.push_back({ChainPeriod::day, limits.chain_per_day, 1});
  if (limits.chain_per_week > 0) caps.push_back({ChainPeriod::week, limits.chain_per_week, 1});
  if (limits.chain_monthly_budget > 0 && cost > 0) caps.push_back({ChainPeriod::month, limits.chain_monthly_budget, cost});
  return caps;
}
}  // namespace

// Takes the offer's place within the rule's limits and queues it for the log; false when the
// customer is cooling down, held out (that decision is logged too) or a limit is reached.
bool GestureEngine::reserve(const Rule& rule, std::int64_t customer, std::int64_t visit, const OfferContext& ctx,
                            const Moment& now, Last& offer) {
  const std::int64_t cost = rule.gesture.cost;
  std::lock_guard lock(mu_);
  Counters& c = counters_[rule.id];
  const auto last = c.last.find(customer);
  if (last != c.last.end() && last->second.visit == visit && now.ms - last->second.made_ms < kSameVisitMs)
    return false;  // another till decided for this visit a moment ago
  if (last != c.last.end() && rule.limits.cooldown_days > 0 &&
      now.ms - last->second.made_ms < static_cast<std::int64_t>(rule.limits.cooldown_days) * kDayMs)
    return false;
  offer.offer_id = new_offer_id();
  offer.made_ms = now.ms;
  offer.visit = visit;
  if (held_out(rule, customer)) {
    offer.status = "held_out";
    c.last[customer] = offer;
    pending_.push_back(Pending{ctx, rule.id, offer, 0});
    if (metrics_ != nullptr) metrics_->offer(OfferOutcome::held_out);
    return false;  // recorded for the ROI report; never shown
  }
  if (!c.limits.allow(rule.limits, cost, ctx.cashier, now)) return false;
  if (chain_ != nullptr) {
    const std::vector<ChainCap> caps = chain_caps(rule.limits, cost);
    if (!caps.empty() && !chain_->take(rule.id, caps, now.ms))
      return false;  // this store's share of one of the chain's caps is spent; the link is getting more
  }
  c.limits.count(cost, ctx.cashier, now);
  offer.status = "offered";
  c.last[customer] = offer;
  made_[offer.offer_id] = Made{rule.id, now.month, cost, customer, false, now.ms, rule.limits.chain_monthly_budget};
  pending_.push_back(Pending{ctx, rule.id, offer, cost});
  if (metrics_ != nullptr) metrics_->offer(OfferOutcome::offered);
  if (pending_.size() >= 128) logger_cv_.notify_one();
  return true;
}

void GestureEngine::outcome(const std::string& offer_id, const std::string& outcome) {
  if (metrics_ != nullptr) {
    if (outcome == "accepted") metrics_->offer(OfferOutcome::accepted);
    else if (outcome == "declined") metrics_->offer(OfferOutcome::declined);
    else if (outcome == "redeemed") metrics_->offer(OfferOutcome::redeemed);
  }
  std::lock_guard lock(mu_);
  const auto it = made_.find(offer_id);
  if (it == made_.end()) return;
  Made& m = it->second;
  Counters& c = counters_[m.rule];
  // A declined offer gives its cost back to its month's budget (the store refuses any change
  // after a decline, so it cannot be taken twice).
  if (outcome == "declined" && !m.declined) {
    c.limits.give_back(m.month, m.cost);
    // And to this store's lease of the chain's budget, which goes back to the hub when unused.
    if (chain_ != nullptr && m.chain_budget > 0 && m.cost > 0)
      chain_->give_back(m.rule, ChainCap{ChainPeriod::month, m.chain_budget, m.cost}, m.made_ms);
    m.declined = true;
  }
  if (auto last = c.last.find(m.customer); last != c.last.end() && last->second.offer_id == offer_id)
    last->second.status = outcome;
}

void GestureEngine::customer_merged(std::int64_t from, std::int64_t into) {
  std::lock_guard lock(mu_);
  for (auto& [_, c] : counters_) {
    const auto it = c.last.find(from);
    if (it == c.last.end()) continue;
    if (into != 0) {
      auto& target = c.last[into];
      if (target.made_ms < it->second.made_ms) target = it->second;  // the latest decision wins
    }
    c.last.erase(it);
  }
  for (auto& [_, m] : made_)
    if (m.customer == from) m.customer = into;
}

}  // namespace regulars::daemon
