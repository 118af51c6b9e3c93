// The engine's life and the rules in force: construction, loading from the store, rule changes.
#include "gestures/engine.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "store/gesture_queries.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;
using rules::kDayMs;
using rules::Rule;

namespace {

// The stored rules in typed form, each with the stored "enabled" and its conditions in the order
// they are asked.
std::vector<std::shared_ptr<const Rule>> parse_stored(const std::vector<gesture_queries::StoredRule>& stored) {
  std::vector<std::shared_ptr<const Rule>> set;
  for (const auto& row : stored) {
    auto parsed = rules::parse_rule(json::parse(row.body), "rule", 0, rules::Origin::stored);
    if (auto* err = std::get_if<wire::Error>(&parsed)) {
      // Stored rules passed validation when added; one that no longer does (a stricter
      // regularsd) is skipped, loudly, rather than stopping the daemon.
      REGULARS_LOG(err, "gesture rule skipped", ({{"rule", row.id}, {"error", err->describe()}}));
      continue;
    }
    Rule r = std::get<Rule>(std::move(parsed));
    r.enabled = row.enabled;
    r.source["enabled"] = r.enabled;
    order_by_cost(r.when);
    set.push_back(std::make_shared<const Rule>(std::move(r)));
  }
  return set;
}

}  // namespace

GestureEngine::GestureEngine(EventStore& store, const Phrasebook& phrasebook, bool personalize_requires_consent)
    : store_(store), phrasebook_(phrasebook), personalize_requires_consent_(personalize_requires_consent), rules_(std::make_shared<RuleSet>()) {
  logger_ = std::thread([this] {
    log::name_thread("rg-gestures");
    logger_loop();
  });
}

GestureEngine::~GestureEngine() { stop(); }

std::shared_ptr<const GestureEngine::RuleSet> GestureEngine::rules_in_force() const {
  std::lock_guard lock(rules_mu_);
  return rules_;
}

void GestureEngine::install(RuleSet set) {
  std::stable_sort(set.begin(), set.end(), [](const auto& a, const auto& b) {
    if (a->enabled != b->enabled) return a->enabled;
    return a->priority > b->priority;
  });
  auto shared = std::make_shared<const RuleSet>(std::move(set));
  std::lock_guard lock(rules_mu_);
  rules_ = std::move(shared);
}

void GestureEngine::load() {
  std::lock_guard owner(owner_mu_);  // a rule change meanwhile is not undone by this reload
  Db& db = store_.read_connection();
  RuleSet set = parse_stored(gesture_queries::stored_rules(db));
  std::lock_guard lock(mu_);
  remember_offers(db);
  install(std::move(set));
}

// The limits' state: every offer of the last two months, and each customer's latest offer per
// rule (for cooldowns and for showing the same offer again within a visit).
void GestureEngine::remember_offers(Db& db) {
  counters_.clear();
  made_.clear();
  const std::int64_t since = wire::now_ms() - 62 * kDayMs;
  gesture_queries::for_each_offer(db, [&](const gesture_queries::StoredOffer& o) {
    Counters& c = counters_[o.rule_id];
    c.last[o.customer_id] = Last{o.offer_id, o.made_ms, o.visit, o.status, o.sku, {}};
    if (o.made_ms < since || o.status == "held_out") return;
    const Moment m = moment_at(o.made_ms);
    c.limits.count(o.status == "declined" ? 0 : o.cost, o.cashier, m);
    // A declined one's cost went back already: a decline sent again (another lane, another
    // event id) must not give it back twice.
    made_[o.offer_id] = Made{o.rule_id, m.month, o.cost, o.customer_id, o.status == "declined", o.made_ms, 0};
  });
}

std::variant<Rule, wire::Error> GestureEngine::add_rule(const json& rule, std::size_t text_bytes) {
  auto parsed = rules::parse_rule(rule, "rule", text_bytes);
  if (std::holds_alternative<wire::Error>(parsed)) return parsed;
  std::lock_guard owner(owner_mu_);  // one change at a time: write, then install
  Rule r = std::get<Rule>(std::move(parsed));
  const std::int64_t now = wire::now_ms();
  const std::string body = wire::dump_json(r.source);
  store_.write_now([&](Db& db) { gesture_queries::save_rule(db, r.id, body, r.enabled, now); });
  Rule installed = r;
  order_by_cost(installed.when);
  RuleSet set = *rules_in_force();  // copy-on-write: hints calls keep the set they hold
  set.erase(std::remove_if(set.begin(), set.end(), [&](const auto& x) { return x->id == r.id; }), set.end());
  set.push_back(std::make_shared<const Rule>(std::move(installed)));
  install(std::move(set));
  return r;
}

std::optional<wire::Error> GestureEngine::set_enabled(const std::string& id, bool enabled) {
  std::lock_guard owner(owner_mu_);
  auto existing = rule(id);
  if (!existing)
    return wire::Error{wire::ErrorCode::not_found, "id", "no gesture rule has id '" + id.substr(0, 64) + "'; see regularsctl gestures list"};
  Rule r = *existing;
  r.enabled = enabled;
  r.source["enabled"] = enabled;
  const std::string body = wire::dump_json(r.source);
  store_.write_now([&](Db& db) { gesture_queries::set_rule_enabled(db, id, enabled, body, wire::now_ms()); });
  RuleSet set = *rules_in_force();
  for (auto& x : set)
    if (x->id == id) x = std::make_shared<const Rule>(std::move(r));
  install(std::move(set));
  return std::nullopt;
}

std::shared_ptr<const Rule> GestureEngine::rule(const std::string& id) const {
  const auto set = rules_in_force();  // held while it is read: a rule change may replace it
  for (const auto& r : *set)
    if (r->id == id) return r;
  return nullptr;
}

std::size_t GestureEngine::active_rules() const {
  const auto set = rules_in_force();
  return static_cast<std::size_t>(std::count_if(set->begin(), set->end(), [](const auto& r) { return r->enabled; }));
}

json GestureEngine::list_rules() const {
  const auto set = rules_in_force();
  json out = json::array();
  for (const auto& r : *set) out.push_back(r->source);
  return out;
}

}  // namespace regulars::daemon
