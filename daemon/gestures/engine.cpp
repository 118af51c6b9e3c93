#include "gestures/engine.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_set>

#include "base/log.hpp"
#include "memory/projector.hpp"
#include "wire/json_text.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;
using rules::Condition;
using rules::Rule;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;
// Asking again within this long, with no purchase recorded in between, is the same visit.
constexpr std::int64_t kSameVisitMs = 12 * 3'600'000;

std::string text_for(const rules::Localised& texts, const std::string& locale) {
  if (texts.empty()) return {};
  if (auto it = texts.find(locale); it != texts.end()) return it->second;
  if (auto it = texts.find("en"); it != texts.end()) return it->second;
  return texts.begin()->second;
}

std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& args) {
  for (const auto& [key, value] : args) {
    const std::string mark = "{" + key + "}";
    for (std::size_t at = text.find(mark); at != std::string::npos; at = text.find(mark, at + value.size()))
      text.replace(at, mark.size(), value);
  }
  return text;
}

std::string money(std::int64_t minor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(minor / 100), static_cast<long long>(std::llabs(minor % 100)));
  return buf;
}

std::string cashier_day(const std::string& cashier, std::int64_t day) { return cashier + '\x1f' + std::to_string(day); }

}  // namespace

GestureEngine::GestureEngine(EventStore& store, const Phrasebook& phrasebook, bool personalize_requires_consent)
    : store_(store), phrasebook_(phrasebook), personalize_requires_consent_(personalize_requires_consent), rules_(std::make_shared<RuleSet>()) {
  logger_ = std::thread([this] {
    log::name_thread("rg-gestures");
    logger_loop();
  });
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
  RuleSet set;
  {
    Stmt s(db.raw(), "SELECT id, body, enabled FROM gesture_rules ORDER BY id");
    while (s.step()) {
      auto parsed = rules::parse_rule(json::parse(s.text(1)));
      if (auto* err = std::get_if<wire::Error>(&parsed)) {
        // Stored rules passed validation when added; one that no longer does (a stricter
        // regularsd) is skipped, loudly, rather than stopping the daemon.
        REGULARS_LOG(err, "gesture rule skipped", ({{"rule", s.text(0)}, {"error", err->describe()}}));
        continue;
      }
      Rule r = std::get<Rule>(std::move(parsed));
      r.enabled = s.i64(2) != 0;
      r.source["enabled"] = r.enabled;
      order_by_cost(r.when);
      set.push_back(std::make_shared<const Rule>(std::move(r)));
    }
  }
  // The limits' state: every offer of the last two months, and each customer's latest offer
  // per rule (for cooldowns and for showing the same offer again within a visit).
  std::lock_guard lock(mu_);
  counters_.clear();
  made_.clear();
  const std::int64_t since = wire::now_ms() - 62 * kDayMs;
  Stmt s(db.raw(),
         "SELECT offer_id, rule_id, customer_id, made_ms, status, cost, visit, coalesce(cashier, ''), coalesce(sku, '') "
         "FROM offers ORDER BY made_ms");
  while (s.step()) {
    const std::string offer_id = s.text(0), rule = s.text(1), status = s.text(4), cashier = s.text(7);
    const std::int64_t customer = s.i64(2), made = s.i64(3), cost = s.i64(5);
    Counters& c = counters_[rule];
    c.last[customer] = Last{offer_id, made, s.i64(6), status, s.text(8), {}};
    if (made < since || status == "held_out") continue;
    const Moment m = moment_at(made);
    ++c.per_day[m.day];
    ++c.per_week[m.week];
    if (!cashier.empty()) ++c.per_cashier_day[cashier_day(cashier, m.day)];
    if (status != "declined") c.spent[m.month] += cost;
    made_[offer_id] = Made{rule, m.month, cost, customer};
  }
  install(std::move(set));
}

std::variant<Rule, wire::Error> GestureEngine::add_rule(const json& rule, std::size_t text_bytes) {
  auto parsed = rules::parse_rule(rule, "rule", text_bytes);
  if (std::holds_alternative<wire::Error>(parsed)) return parsed;
  std::lock_guard owner(owner_mu_);  // one change at a time: write, then install
  Rule r = std::get<Rule>(std::move(parsed));
  const std::int64_t now = wire::now_ms();
  const std::string body = wire::dump_json(r.source);
  store_.write_now([&](Db& db) {
    db.cached(
          "INSERT INTO gesture_rules(id, body, enabled, created_ms, updated_ms) VALUES(?1,?2,?3,?4,?4) "
          "ON CONFLICT(id) DO UPDATE SET body=excluded.body, enabled=excluded.enabled, updated_ms=excluded.updated_ms")
        .bind(1, r.id)
        .bind(2, body)
        .bind(3, std::int64_t{r.enabled})
        .bind(4, now)
        .run();
  });
  Rule installed = r;
  order_by_cost(installed.when);
  RuleSet set;  // copy-on-write: hints calls keep the set they hold
  {
    std::lock_guard lock(rules_mu_);
    set = *rules_;
  }
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
  store_.write_now([&](Db& db) {
    db.cached("UPDATE gesture_rules SET enabled=?, body=?, updated_ms=? WHERE id=?")
        .bind(1, std::int64_t{enabled})
        .bind(2, body)
        .bind(3, wire::now_ms())
        .bind(4, id)
        .run();
  });
  RuleSet set;
  {
    std::lock_guard lock(rules_mu_);
    set = *rules_;
  }
  for (auto& x : set)
    if (x->id == id) x = std::make_shared<const Rule>(std::move(r));
  install(std::move(set));
  return std::nullopt;
}

std::shared_ptr<const Rule> GestureEngine::rule(const std::string& id) const {
  std::shared_ptr<const RuleSet> set;
  {
    std::lock_guard lock(rules_mu_);
    set = rules_;
  }
  for (const auto& r : *set)
    if (r->id == id) return r;
  return nullptr;
}

std::size_t GestureEngine::active_rules() const {
  std::lock_guard lock(rules_mu_);
  return static_cast<std::size_t>(std::count_if(rules_->begin(), rules_->end(), [](const auto& r) { return r->enabled; }));
}

json GestureEngine::list_rules() const {
  std::shared_ptr<const RuleSet> set;
  {
    std::lock_guard lock(rules_mu_);
    set = rules_;
  }
  json out = json::array();
  for (const auto& r : *set) out.push_back(r->source);
  return out;
}

std::string GestureEngine::new_offer_id() {
  // Time first, then randomness (as the plugin's event ids): new offers land at the end of the
  // offers and event_id indexes instead of dirtying a random page of each.
  return wire::time_ordered_id("offer-", 4);
}

void GestureEngine::flush() {
  std::lock_guard order(flush_mu_);
  std::vector<Pending> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return;
  std::vector<PreparedEvent> events;
  events.reserve(batch.size());
  for (const Pending& p : batch) {
    PreparedEvent& e = events.emplace_back();
    e.event_id = p.offer.offer_id;
    e.type = "offer";
    e.id_kind = p.ctx.id_kind;
    e.id_hash = p.ctx.id_hash;
    e.time_ms = p.offer.made_ms;
    e.body = {{"type", "offer"},          {"event_id", p.offer.offer_id}, {"offer_id", p.offer.offer_id},
              {"rule", p.rule},           {"status", p.offer.status},     {"cost", p.cost},
              {"visit", p.offer.visit},   {"customer_kind", p.ctx.id_kind},
              {"time", wire::format_time_ms(p.offer.made_ms)}};
    if (!p.offer.sku.empty()) e.body["sku"] = p.offer.sku;
    if (!p.ctx.cashier.empty()) e.body["cashier"] = p.ctx.cashier;
    if (!p.ctx.terminal.empty()) e.body["terminal"] = p.ctx.terminal;
    if (!p.ctx.store.empty()) e.body["store"] = p.ctx.store;
    e.body_text = wire::dump_json(e.body);
  }
  store_.submit_all(std::move(events), [](WriteResult r) {
    if (!r.ok) REGULARS_LOG(err, "offer not logged", ({{"seq", r.seq}, {"error", r.error}}));
  });
}

void GestureEngine::logger_loop() {
  std::unique_lock lock(mu_);
  auto forgotten_at = std::chrono::steady_clock::now();
  while (!logger_stop_) {
    logger_cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return logger_stop_ || pending_.size() >= 128; });
    // Hourly: offers from before last month can no longer give a budget anything back.
    if (std::chrono::steady_clock::now() - forgotten_at > std::chrono::hours(1)) {
      forgotten_at = std::chrono::steady_clock::now();
      const int oldest = moment_at(wire::now_ms()).month - 1;
      for (auto it = made_.begin(); it != made_.end();) it = it->second.month < oldest ? made_.erase(it) : std::next(it);
    }
    if (pending_.empty()) continue;
    lock.unlock();
    flush();
    lock.lock();
  }
}

void GestureEngine::stop() {
  {
    std::lock_guard lock(mu_);
    if (logger_stop_) return;
    logger_stop_ = true;
  }
  logger_cv_.notify_all();
  if (logger_.joinable()) logger_.join();
  flush();
}

GestureEngine::~GestureEngine() { stop(); }

json GestureEngine::describe(const Rule& rule, const Last& offer, Facts& facts, const OfferContext& ctx) const {
  const std::string& locale = ctx.locale;
  const rules::Gesture& g = rule.gesture;
  const std::string item = offer.sku.empty() ? std::string() : facts.item_name(offer.sku);
  const std::vector<std::pair<std::string, std::string>> args{
      {"item", phrasebook_.isolate(locale, item)},
      {"member", phrasebook_.isolate(locale, offer.member)},
      {"name", phrasebook_.isolate(locale, facts.name)},
      {"percent", phrasebook_.number(locale, g.percent)},
      {"amount", money(g.amount)}};
  static const char* kKinds[] = {"free_item", "discount", "message", "task"};
  json o = {{"offer_id", offer.offer_id}, {"rule", rule.id}, {"kind", kKinds[static_cast<int>(g.kind)]}, {"cost", g.cost}};
  if (!rule.name.empty()) o["rule_name"] = rule.name;
  std::string text = fill(text_for(g.message, locale), args);
  if (text.empty()) {
    switch (g.kind) {
      case rules::Gesture::Kind::free_item:
        text = phrasebook_.text(locale, offer.member.empty() ? "offer.free_item" : "offer.free_item_member", args);
        break;
      case rules::Gesture::Kind::discount:
        text = phrasebook_.text(locale, g.percent > 0 ? "offer.discount_percent" : "offer.discount_amount", args);
        break;
      default:
        text = fill(text_for(g.task, locale), args);
    }
  }
  o["text"] = text;
  o["why"] = phrasebook_.text(locale, "offer.why", {{"rule", phrasebook_.isolate(locale, rule.name.empty() ? rule.id : rule.name)}});
  if (!offer.sku.empty()) {
    o["sku"] = offer.sku;
    o["item"] = item;
  }
  if (!offer.member.empty()) o["member"] = offer.member;
  if (g.kind == rules::Gesture::Kind::discount) {
    if (g.percent > 0) o["percent"] = g.percent;
    else o["amount"] = g.amount;
  }
  if (g.kind == rules::Gesture::Kind::task) o["task"] = fill(text_for(g.task, locale), args);
  o["status"] = offer.status;
  return o;
}

json GestureEngine::offers(Facts& facts, const OfferContext& ctx, const Moment& now, int max_offers) {
  std::shared_ptr<const RuleSet> set;
  {
    std::lock_guard lock(rules_mu_);
    set = rules_;
  }
  json out = json::array();
  const std::int64_t visit = facts.visits + 1;
  // Topics the customer asked us never to mention: an offer about one is not made at all.
  auto mentionable = [&](const Last& offer) {
    if (ctx.do_not_mention == nullptr || ctx.do_not_mention->empty()) return true;
    for (std::string topic : {offer.sku, offer.member, offer.sku.empty() ? std::string() : facts.item_name(offer.sku),
                              offer.sku.empty() ? std::string() : facts.item_category(offer.sku)}) {
      for (auto& ch : topic) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!topic.empty() && ctx.do_not_mention->count(topic)) return false;
    }
    return true;
  };
  for (const auto& rp : *set) {
    const Rule& rule = *rp;
    if (!rule.enabled) break;  // enabled rules come first
    if (static_cast<int>(out.size()) >= max_offers) break;
    // 1. The same visit asks again (a till asks while scanning): the same answer, whatever the
    //    basket holds by now.
    Last offer;
    bool again = false, skip = false;
    {
      std::lock_guard lock(mu_);
      Counters& c = counters_[rule.id];
      if (const auto last = c.last.find(facts.customer_id); last != c.last.end()) {
        const Last& l = last->second;
        if (l.visit == visit && now.ms >= l.made_ms && now.ms - l.made_ms < kSameVisitMs) {
          again = l.status == "offered" || l.status == "accepted";
          skip = !again;  // held out, declined or redeemed at this visit
          if (again) offer = l;
        }
      }
    }
    if (skip) continue;
    if (again) {
      if (offer.member.empty() && rule.gesture.favourite && !rule.gesture.favourite_member.empty()) {
        // Read back from the store after a restart: find the member again (outside the lock).
        if (const auto fav = facts.favourite(rule.gesture.favourite_category, rule.gesture.favourite_member))
          if (fav->sku == offer.sku) offer.member = fav->member;
      }
      json o = describe(rule, offer, facts, ctx);
      o["new"] = false;
      out.push_back(std::move(o));
      continue;
    }
    // 2. Does the rule hold, and what exactly is given: the favourite item is the customer's
    //    (or the member's) own.
    if (!rule_applies(rule, facts, now)) continue;
    if (rule.gesture.kind == rules::Gesture::Kind::free_item) {
      if (rule.gesture.favourite) {
        const auto fav = facts.favourite(rule.gesture.favourite_category, rule.gesture.favourite_member);
        if (!fav) continue;
        offer.sku = fav->sku;
        offer.member = fav->member;
      } else {
        offer.sku = rule.gesture.sku;
      }
    }
    if (!mentionable(offer)) continue;
    // 3. Cooldown, control group and limits, taken atomically.
    const std::int64_t cost = rule.gesture.cost;
    {
      std::lock_guard lock(mu_);
      Counters& c = counters_[rule.id];
      const auto last = c.last.find(facts.customer_id);
      if (last != c.last.end() && last->second.visit == visit && now.ms - last->second.made_ms < kSameVisitMs)
        continue;  // another till decided for this visit a moment ago
      if (last != c.last.end() && rule.limits.cooldown_days > 0 &&
          now.ms - last->second.made_ms < static_cast<std::int64_t>(rule.limits.cooldown_days) * kDayMs)
        continue;
      offer.offer_id = new_offer_id();
      offer.made_ms = now.ms;
      offer.visit = visit;
      if (held_out(rule, facts.customer_id)) {
        offer.status = "held_out";
        c.last[facts.customer_id] = offer;
        pending_.push_back(Pending{ctx, rule.id, offer, 0});
        continue;  // recorded for the ROI report; never shown
      }
      const rules::Limits& lim = rule.limits;
      if (lim.per_day > 0 && c.per_day[now.day] >= lim.per_day) continue;
      if (lim.per_week > 0 && c.per_week[now.week] >= lim.per_week) continue;
      if (lim.monthly_budget > 0 && c.spent[now.month] + cost > lim.monthly_budget) continue;
      if (lim.per_cashier_per_day > 0 && !ctx.cashier.empty() &&
          c.per_cashier_day[cashier_day(ctx.cashier, now.day)] >= lim.per_cashier_per_day)
        continue;
      ++c.per_day[now.day];
      ++c.per_week[now.week];
      c.spent[now.month] += cost;
      if (!ctx.cashier.empty()) ++c.per_cashier_day[cashier_day(ctx.cashier, now.day)];
      offer.status = "offered";
      c.last[facts.customer_id] = offer;
      made_[offer.offer_id] = Made{rule.id, now.month, cost, facts.customer_id};
      pending_.push_back(Pending{ctx, rule.id, offer, cost});
      if (pending_.size() >= 128) logger_cv_.notify_one();
    }
    json o = describe(rule, offer, facts, ctx);
    o["new"] = true;
    out.push_back(std::move(o));
  }
  return out;
}

void GestureEngine::outcome(const std::string& offer_id, const std::string& outcome) {
  std::lock_guard lock(mu_);
  const auto it = made_.find(offer_id);
  if (it == made_.end()) return;
  Made& m = it->second;
  Counters& c = counters_[m.rule];
  // A declined offer gives its cost back to its month's budget (the store refuses any change
  // after a decline, so it cannot be taken twice).
  if (outcome == "declined" && !m.declined) {
    c.spent[m.month] -= m.cost;
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
