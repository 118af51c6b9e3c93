// The dry run: "if this rule had been active over the last N days". Replays the log into
// per-customer memory and asks the rule before every purchase of the window, as if the till had
// asked for hints with that basket on the belt, within the rule's limits as the engine keeps
// them. Nothing is stored and no offer is made.
#include <algorithm>
#include <map>

#include "gestures/engine.hpp"
#include "gestures/limits.hpp"
#include "memory/projector.hpp"
#include "store/gesture_queries.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;
using gesture_queries::ReplayedEvent;
using rules::kDayMs;
using rules::Rule;

namespace {

struct ReplayItem {
  std::int64_t baskets = 0, last_ms = 0;
  std::string category;
};

// One customer as the log has shown them so far.
class ReplayFacts final : public Facts {
 public:
  std::unordered_map<std::string, ReplayItem> items;                     // sku
  std::unordered_map<std::string, Facts::Bought> categories;
  std::map<std::pair<std::string, std::string>, ReplayItem> member_items;  // (member, sku)
  std::vector<std::pair<std::int64_t, std::int64_t>> spends;              // (time, value)
  std::optional<bool> personalize, remember;
  std::unordered_map<std::string, std::string>* names = nullptr;
  std::vector<std::pair<std::string, std::string>> basket;  // (sku, category) of the purchase under way

  Bought bought(const std::string& sku, const std::string& category, const std::string& member) override;
  bool in_basket(const std::string& sku, const std::string& category) override {
    for (const auto& [s, cat] : basket)
      if (sku.empty() ? cat == category : s == sku) return true;
    return false;
  }
  std::int64_t spend_since(std::int64_t since) override {
    std::int64_t sum = 0;
    for (auto it = spends.rbegin(); it != spends.rend() && it->first >= since; ++it) sum += it->second;
    return sum;
  }
  bool open_followup() override { return last_complaint_ms > 0; }
  std::optional<Favourite> favourite(const std::string& category, const std::string& member) override;
  std::string item_name(const std::string& sku) override {
    if (names) {
      if (auto it = names->find(sku); it != names->end()) return it->second;
    }
    return sku;
  }
  std::string item_category(const std::string& sku) override {
    const auto it = items.find(sku);
    return it == items.end() ? std::string() : it->second.category;
  }

  void remember_consent(const json& body);
  void remember_profile(const json& body);
  void remember_purchase(const BasketLines& lines, std::int64_t time_ms, std::int64_t value);
};

Facts::Bought ReplayFacts::bought(const std::string& sku, const std::string& category, const std::string& member) {
  Bought out;
  auto take = [&](std::int64_t baskets, std::int64_t last) {
    out.baskets += baskets;
    out.last_ms = std::max(out.last_ms, last);
  };
  if (member.empty()) {
    if (!sku.empty()) {
      if (auto it = items.find(sku); it != items.end()) take(it->second.baskets, it->second.last_ms);
    } else if (auto it = categories.find(category); it != categories.end()) {
      take(it->second.baskets, it->second.last_ms);
    }
    return out;
  }
  for (const auto& [key, it] : member_items)
    if ((member == "any" || key.first == member) && (sku.empty() ? it.category == category : key.second == sku))
      take(it.baskets, it.last_ms);
  return out;
}

std::optional<Facts::Favourite> ReplayFacts::favourite(const std::string& category, const std::string& member) {
  std::optional<Favourite> best;
  std::int64_t best_n = 0;
  if (member.empty()) {
    for (const auto& [sku, it] : items)
      if ((category.empty() || it.category == category) && (it.baskets > best_n || (it.baskets == best_n && best && sku < best->sku))) {
        best_n = it.baskets;
        best = Favourite{sku, {}, {}};
      }
  } else {
    for (const auto& [key, it] : member_items)
      if ((member == "any" || key.first == member) && (category.empty() || it.category == category) && it.baskets > best_n) {
        best_n = it.baskets;
        best = Favourite{key.second, {}, key.first};
      }
  }
  return best;
}

void ReplayFacts::remember_consent(const json& body) {
  const json& purposes = body.at("purposes");
  if (const auto p = purposes.find("personalize"); p != purposes.end()) personalize = p->get<bool>();
  if (const auto r = purposes.find("remember"); r != purposes.end()) remember = r->get<bool>();
}

void ReplayFacts::remember_profile(const json& body) {
  if (auto b = body.find("birthday"); b != body.end()) birthday = b->is_string() ? b->get<std::string>() : "";
  if (auto n = body.find("name"); n != body.end()) name = n->is_string() ? n->get<std::string>() : "";
  if (auto tg = body.find("tags"); tg != body.end()) tags = tg->get<std::vector<std::string>>();
}

void ReplayFacts::remember_purchase(const BasketLines& lines, std::int64_t t, std::int64_t value) {
  if (visits == 0) first_seen_ms = t;
  ++visits;
  last_seen_ms = std::max(last_seen_ms, t);
  spends.emplace_back(t, value);
  for (const auto& [sku, a] : lines.per_sku) {
    ReplayItem& it = items[sku];
    ++it.baskets;
    it.last_ms = std::max(it.last_ms, t);
    if (!a.category.empty()) {
      it.category = a.category;
      Facts::Bought& cat = categories[a.category];
      ++cat.baskets;
      cat.last_ms = std::max(cat.last_ms, t);
    }
  }
  for (const auto& [key, _] : lines.per_member) {
    ReplayItem& it = member_items[key];
    ++it.baskets;
    it.last_ms = std::max(it.last_ms, t);
    it.category = lines.per_sku.at(key.second).category;
  }
}

// What the dry run found, counted as it goes.
struct Tally {
  std::int64_t purchases = 0, eligible_visits = 0, offers = 0, held = 0, capped = 0, cost = 0;
  std::map<std::int64_t, std::int64_t> by_day;                  // local day -> offers
  std::unordered_map<std::int64_t, std::int64_t> by_customer;  // customer -> offers

  json per_day() const {
    json out = json::array();
    for (const auto& [day, n] : by_day) out.push_back({{"date", wire::format_time_ms(day * kDayMs).substr(0, 10)}, {"offers", n}});
    return out;
  }
  // "how many offers": how many customers had that many.
  json offers_per_customer() const {
    std::map<std::int64_t, std::int64_t> how_often;
    for (const auto& [_, n] : by_customer) ++how_often[n];
    json out = json::object();
    for (const auto& [n, customers] : how_often) out[std::to_string(n)] = customers;
    return out;
  }
};

// The log replayed event by event, with the rule asked before each purchase of the window.
class Replay {
 public:
  Replay(const Rule& rule, std::int64_t from_ms, bool personalize_requires_consent)
      : rule_(rule), from_ms_(from_ms), personalize_requires_consent_(personalize_requires_consent) {}

  void take(const ReplayedEvent& e);
  const Tally& tally() const { return tally_; }

 private:
  void purchase(ReplayFacts& f, const ReplayedEvent& e, const json& body);
  void ask_rule(ReplayFacts& f, const ReplayedEvent& e);

  const Rule& rule_;
  const std::int64_t from_ms_;
  const bool personalize_requires_consent_;
  std::unordered_map<std::int64_t, ReplayFacts> people_;
  std::unordered_map<std::string, std::string> names_;  // sku -> the latest name a line gave it
  std::unordered_map<std::int64_t, std::int64_t> last_offer_;  // customer -> last offer (or hold-out) ms
  LimitCounts limits_;
  Tally tally_;
};

void Replay::take(const ReplayedEvent& e) {
  if (e.customer_id == 0) return;
  ReplayFacts& f = people_[e.customer_id];
  f.customer_id = e.customer_id;
  f.names = &names_;
  const json body = json::parse(e.body);
  if (e.type == "consent") {
    f.remember_consent(body);
  } else if (e.type == "profile") {
    f.remember_profile(body);
  } else if (e.type == "feedback") {
    if (is_unhappy(body)) f.last_complaint_ms = std::max(f.last_complaint_ms, e.time_ms);
  } else if (e.type == "return") {
    f.spends.emplace_back(e.time_ms, e.value);
  } else {
    purchase(f, e, body);
  }
}

void Replay::purchase(ReplayFacts& f, const ReplayedEvent& e, const json& body) {
  // First ask the rule as the till would have, with this basket on the belt.
  const BasketLines lines = basket_lines(body);
  f.basket.clear();
  for (const auto& [sku, a] : lines.per_sku) {
    f.basket.emplace_back(sku, a.category);
    if (!a.name.empty()) names_[sku] = a.name;
  }
  if (e.time_ms >= from_ms_) {
    ++tally_.purchases;
    ask_rule(f, e);
  }
  // Then remember the purchase.
  f.remember_purchase(lines, e.time_ms, e.value);
}

void Replay::ask_rule(ReplayFacts& f, const ReplayedEvent& e) {
  const Moment m = moment_at(e.time_ms);
  // As at the till: gestures need consent to personalise (and to be remembered).
  const bool allowed = f.personalize.value_or(!personalize_requires_consent_) && f.remember.value_or(true);
  if (!allowed || !rule_applies(rule_, f, m)) return;
  const rules::Gesture& g = rule_.gesture;
  if (g.kind == rules::Gesture::Kind::free_item && g.favourite && !f.favourite(g.favourite_category, g.favourite_member))
    return;  // no favourite to give
  ++tally_.eligible_visits;
  const auto last = last_offer_.find(e.customer_id);
  if (last != last_offer_.end() && rule_.limits.cooldown_days > 0 &&
      e.time_ms - last->second < static_cast<std::int64_t>(rule_.limits.cooldown_days) * kDayMs)
    return;
  if (held_out(rule_, e.customer_id)) {
    ++tally_.held;
    last_offer_[e.customer_id] = e.time_ms;
    return;
  }
  if (!limits_.allow(rule_.limits, g.cost, e.cashier, m)) {
    ++tally_.capped;
    return;
  }
  limits_.count(g.cost, e.cashier, m);
  last_offer_[e.customer_id] = e.time_ms;
  ++tally_.offers;
  tally_.cost += g.cost;
  ++tally_.by_day[m.day];
  ++tally_.by_customer[e.customer_id];
}

}  // namespace

json GestureEngine::dry_run(Db& db, const Rule& input, int days, std::int64_t now_ms) const {
  Rule rule = input;
  order_by_cost(rule.when);
  const std::int64_t from_ms = now_ms - static_cast<std::int64_t>(days) * kDayMs;
  Replay replay(rule, from_ms, personalize_requires_consent_);
  gesture_queries::for_each_replayed_event(db, now_ms, [&](const ReplayedEvent& e) { replay.take(e); });
  const Tally& t = replay.tally();
  return {{"rule", rule.id},
          {"days", days},
          {"from", wire::format_time_ms(from_ms)},
          {"to", wire::format_time_ms(now_ms)},
          {"purchases", t.purchases},
          {"eligible_visits", t.eligible_visits},
          {"offers", t.offers},
          {"customers", static_cast<std::int64_t>(t.by_customer.size())},
          {"held_out", t.held},
          {"capped", t.capped},
          {"cost", t.cost},
          {"offers_per_customer", t.offers_per_customer()},
          {"per_day", t.per_day()}};
}

}  // namespace regulars::daemon
