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

// ---------------------------------------------------------------------------------------------
// Dry run: replay the log into per-customer memory and ask the rule before every purchase of
// the window, as if the till had asked for hints with that basket on the belt.

namespace {

struct ReplayItem {
  std::int64_t baskets = 0, last_ms = 0;
  std::string category;
};

class ReplayFacts final : public Facts {
 public:
  std::unordered_map<std::string, ReplayItem> items;                     // sku
  std::unordered_map<std::string, Facts::Bought> categories;
  std::map<std::pair<std::string, std::string>, ReplayItem> member_items;  // (member, sku)
  std::vector<std::pair<std::int64_t, std::int64_t>> spends;              // (time, value)
  std::optional<bool> personalize, remember;
  std::unordered_map<std::string, std::string>* names = nullptr;
  std::vector<std::pair<std::string, std::string>> basket;  // (sku, category) of the purchase under way

  Bought bought(const std::string& sku, const std::string& category, const std::string& member) override {
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
  std::optional<Favourite> favourite(const std::string& category, const std::string& member) override {
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
};

}  // namespace

json GestureEngine::dry_run(Db& db, const Rule& input, int days, std::int64_t now_ms) const {
  Rule rule = input;
  order_by_cost(rule.when);
  const std::int64_t from_ms = now_ms - static_cast<std::int64_t>(days) * kDayMs;
  std::unordered_map<std::int64_t, ReplayFacts> people;
  std::unordered_map<std::string, std::string> names;
  struct Sim {
    std::unordered_map<std::int64_t, std::int64_t> last;  // customer -> last offer ms (or hold-out)
    std::unordered_map<std::int64_t, int> per_day, per_week;
    std::unordered_map<std::string, int> per_cashier;
    std::unordered_map<int, std::int64_t> spent;
  } sim;
  std::int64_t offers = 0, held = 0, capped = 0, cost = 0, eligible_visits = 0, purchases = 0;
  std::map<std::int64_t, std::int64_t> by_day;
  std::unordered_map<std::int64_t, std::int64_t> by_customer;
  std::int64_t after = 0;
  for (;;) {
    Stmt s(db.raw(),
           "SELECT seq, type, coalesce(customer_id, 0), time_ms, body, coalesce(cashier, ''), coalesce(value, 0) FROM events "
           "WHERE seq>? AND time_ms<=? AND type IN ('purchase', 'return', 'feedback', 'profile', 'consent') "
           "ORDER BY seq LIMIT 5000");
    s.bind(1, after).bind(2, now_ms);
    int n = 0;
    while (s.step()) {
      ++n;
      after = s.i64(0);
      const std::string type = s.text(1);
      const std::int64_t customer = s.i64(2), t = s.i64(3);
      if (customer == 0) continue;
      ReplayFacts& f = people[customer];
      f.customer_id = customer;
      f.names = &names;
      const json body = json::parse(s.text(4));
      if (type == "consent") {
        const json& purposes = body.at("purposes");
        if (const auto p = purposes.find("personalize"); p != purposes.end()) f.personalize = p->get<bool>();
        if (const auto r = purposes.find("remember"); r != purposes.end()) f.remember = r->get<bool>();
        continue;
      }
      if (type == "profile") {
        if (auto b = body.find("birthday"); b != body.end()) f.birthday = b->is_string() ? b->get<std::string>() : "";
        if (auto n2 = body.find("name"); n2 != body.end()) f.name = n2->is_string() ? n2->get<std::string>() : "";
        if (auto tg = body.find("tags"); tg != body.end()) f.tags = tg->get<std::vector<std::string>>();
        continue;
      }
      if (type == "feedback") {
        if (is_unhappy(body)) f.last_complaint_ms = std::max(f.last_complaint_ms, t);
        continue;
      }
      if (type == "return") {
        f.spends.emplace_back(t, s.i64(6));
        continue;
      }
      // A purchase: first ask the rule as the till would have, with this basket on the belt.
      const BasketLines lines = basket_lines(body);
      f.basket.clear();
      for (const auto& [sku, a] : lines.per_sku) {
        f.basket.emplace_back(sku, a.category);
        if (!a.name.empty()) names[sku] = a.name;
      }
      if (t >= from_ms) {
        ++purchases;
        const Moment m = moment_at(t);
        // As at the till: gestures need consent to personalise (and to be remembered).
        const bool allowed = f.personalize.value_or(!personalize_requires_consent_) && f.remember.value_or(true);
        if (allowed && rule_applies(rule, f, m)) {
          bool give = true;
          if (rule.gesture.kind == rules::Gesture::Kind::free_item && rule.gesture.favourite &&
              !f.favourite(rule.gesture.favourite_category, rule.gesture.favourite_member))
            give = false;
          if (give) ++eligible_visits;
          const auto last = sim.last.find(customer);
          if (give && last != sim.last.end() && rule.limits.cooldown_days > 0 &&
              t - last->second < static_cast<std::int64_t>(rule.limits.cooldown_days) * kDayMs)
            give = false;
          if (give && held_out(rule, customer)) {
            ++held;
            sim.last[customer] = t;
            give = false;
          } else if (give) {
            const std::string cashier = s.text(5);
            const auto& lim = rule.limits;
            const std::string cday = cashier_day(cashier, m.day);
            if ((lim.per_day > 0 && sim.per_day[m.day] >= lim.per_day) ||
                (lim.per_week > 0 && sim.per_week[m.week] >= lim.per_week) ||
                (lim.monthly_budget > 0 && sim.spent[m.month] + rule.gesture.cost > lim.monthly_budget) ||
                (lim.per_cashier_per_day > 0 && !cashier.empty() && sim.per_cashier[cday] >= lim.per_cashier_per_day)) {
              ++capped;
            } else {
              ++sim.per_day[m.day];
              ++sim.per_week[m.week];
              sim.spent[m.month] += rule.gesture.cost;
              if (!cashier.empty()) ++sim.per_cashier[cday];
              sim.last[customer] = t;
              ++offers;
              cost += rule.gesture.cost;
              ++by_day[m.day];
              ++by_customer[customer];
            }
          }
        }
      }
      // Then remember the purchase.
      if (f.visits == 0) f.first_seen_ms = t;
      ++f.visits;
      f.last_seen_ms = std::max(f.last_seen_ms, t);
      f.spends.emplace_back(t, s.i64(6));
      for (const auto& [sku, a] : lines.per_sku) {
        ReplayItem& it = f.items[sku];
        ++it.baskets;
        it.last_ms = std::max(it.last_ms, t);
        if (!a.category.empty()) {
          it.category = a.category;
          Facts::Bought& cat = f.categories[a.category];
          ++cat.baskets;
          cat.last_ms = std::max(cat.last_ms, t);
        }
      }
      for (const auto& [key, _] : lines.per_member) {
        ReplayItem& it = f.member_items[key];
        ++it.baskets;
        it.last_ms = std::max(it.last_ms, t);
        it.category = lines.per_sku.at(key.second).category;
      }
    }
    if (n == 0) break;
  }
  json per_day = json::array();
  for (const auto& [day, n] : by_day) per_day.push_back({{"date", wire::format_time_ms(day * kDayMs).substr(0, 10)}, {"offers", n}});
  std::map<std::int64_t, std::int64_t> how_often;  // offers per customer -> customers
  for (const auto& [_, n] : by_customer) ++how_often[n];
  json frequency = json::object();
  for (const auto& [n, customers] : how_often) frequency[std::to_string(n)] = customers;
  return {{"rule", rule.id},
          {"days", days},
          {"from", wire::format_time_ms(from_ms)},
          {"to", wire::format_time_ms(now_ms)},
          {"purchases", purchases},
          {"eligible_visits", eligible_visits},
          {"offers", offers},
          {"customers", static_cast<std::int64_t>(by_customer.size())},
          {"held_out", held},
          {"capped", capped},
          {"cost", cost},
          {"offers_per_customer", std::move(frequency)},
          {"per_day", std::move(per_day)}};
}

// ---------------------------------------------------------------------------------------------
// ROI: customers offered a rule's gesture against those held out of it, each followed for
// `window_days` after their first exposure. The purchase of the visit at which the offer was
// made (within two hours of it) is not "afterwards".

namespace {

struct Group {
  std::int64_t customers = 0, matured = 0, returned = 0;
  std::vector<double> visits, spend;
};

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double variance(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

double round4(double x) { return std::round(x * 10000.0) / 10000.0; }

json group_json(const Group& g) {
  return {{"customers", g.customers},
          {"followed", g.matured},
          {"returned", g.returned},
          {"return_rate", g.matured ? round4(static_cast<double>(g.returned) / static_cast<double>(g.matured)) : 0.0},
          {"visits_per_customer", round4(mean(g.visits))},
          {"spend_per_customer", round4(mean(g.spend))}};
}

// Difference of the offered group's mean minus the held-out one's, with a 95% normal interval
// (Welch's standard error); null interval with fewer than two customers on either side.
json difference(const std::vector<double>& a, const std::vector<double>& b) {
  const double d = mean(a) - mean(b);
  json out = {{"difference", round4(d)}, {"ci95", nullptr}};
  if (a.size() >= 2 && b.size() >= 2) {
    const double se = std::sqrt(variance(a) / static_cast<double>(a.size()) + variance(b) / static_cast<double>(b.size()));
    out["ci95"] = {round4(d - 1.96 * se), round4(d + 1.96 * se)};
  }
  return out;
}

}  // namespace

json GestureEngine::roi(Db& db, const std::string& only, std::int64_t now_ms, int window_days) const {
  const std::int64_t window = static_cast<std::int64_t>(window_days) * kDayMs;
  constexpr std::int64_t kSameVisit = 2 * 3'600'000;
  std::vector<std::string> ids;
  {
    Stmt s(db.raw(), "SELECT DISTINCT rule_id FROM offers ORDER BY rule_id");
    while (s.step()) ids.push_back(s.text(0));
  }
  for (const auto& r : list_rules())
    if (std::find(ids.begin(), ids.end(), r.at("id").get<std::string>()) == ids.end()) ids.push_back(r.at("id").get<std::string>());
  json out = json::array();
  for (const auto& id : ids) {
    if (!only.empty() && id != only) continue;
    json row = {{"rule", id}};
    if (const auto r = rule(id); r && !r->name.empty()) row["name"] = r->name;
    {
      Stmt s(db.raw(), "SELECT status, count(*), coalesce(sum(cost), 0) FROM offers WHERE rule_id=? AND made_ms<=? GROUP BY status");
      s.bind(1, id).bind(2, now_ms);
      json counts = {{"offered", 0}, {"accepted", 0}, {"declined", 0}, {"redeemed", 0}, {"held_out", 0}};
      std::int64_t total = 0, given = 0, committed = 0;
      while (s.step()) {
        const std::string st = s.text(0);
        counts[st] = s.i64(1);
        if (st != "held_out") total += s.i64(1);
        if (st == "accepted" || st == "redeemed") given += s.i64(2);
        if (st != "held_out" && st != "declined") committed += s.i64(2);
      }
      row["offers"] = total;
      row["outcomes"] = std::move(counts);
      row["cost"] = given;          // gestures accepted or redeemed
      row["cost_committed"] = committed;  // what the budget counts (declined offers excluded)
    }
    Group offered, control;
    {
      // Each customer counts in the group of their first exposure (a merge or a changed hold-out
      // share can leave one customer with both kinds of row).
      Stmt s(db.raw(),
             "SELECT customer_id, made_ms, status = 'held_out' FROM offers o WHERE rule_id=?1 AND made_ms<=?2 AND "
             "made_ms = (SELECT min(made_ms) FROM offers WHERE rule_id=?1 AND customer_id=o.customer_id) "
             "GROUP BY customer_id");
      s.bind(1, id).bind(2, now_ms);
      Stmt buys(db.raw(), "SELECT time_ms, coalesce(value, 0) FROM events WHERE customer_id=? AND type='purchase' AND time_ms>? "
                          "AND time_ms<=? ORDER BY time_ms");
      while (s.step()) {
        const std::int64_t customer = s.i64(0), t0 = s.i64(1);
        Group& g = s.i64(2) != 0 ? control : offered;
        ++g.customers;
        if (t0 + window > now_ms) continue;  // not followed for the whole window yet
        ++g.matured;
        buys.reset();
        buys.bind(1, customer).bind(2, t0).bind(3, t0 + window);
        double visits = 0, spend = 0;
        bool same_visit_skipped = false;
        while (buys.step()) {
          if (!same_visit_skipped && buys.i64(0) - t0 <= kSameVisit) {
            same_visit_skipped = true;
            continue;
          }
          same_visit_skipped = true;
          visits += 1;
          spend += static_cast<double>(buys.i64(1));
        }
        if (visits > 0) ++g.returned;
        g.visits.push_back(visits);
        g.spend.push_back(spend);
      }
    }
    row["offered"] = group_json(offered);
    row["held_out"] = group_json(control);
    json diff = json::object();
    {
      std::vector<double> a, b;
      for (double v : offered.visits) a.push_back(v > 0 ? 1.0 : 0.0);
      for (double v : control.visits) b.push_back(v > 0 ? 1.0 : 0.0);
      // A proportion's variance is p(1-p)/n (Wald), not the sample variance.
      const double pa = mean(a), pb = mean(b);
      json rr = {{"difference", round4(pa - pb)}, {"ci95", nullptr}};
      if (!a.empty() && !b.empty()) {
        const double se = std::sqrt(pa * (1 - pa) / static_cast<double>(a.size()) + pb * (1 - pb) / static_cast<double>(b.size()));
        rr["ci95"] = {round4(pa - pb - 1.96 * se), round4(pa - pb + 1.96 * se)};
      }
      diff["return_rate"] = std::move(rr);
    }
    diff["visits_per_customer"] = difference(offered.visits, control.visits);
    diff["spend_per_customer"] = difference(offered.spend, control.spend);
    row["difference"] = std::move(diff);
    row["window_days"] = window_days;
    const double cost_per = offered.customers ? static_cast<double>(row["cost"].get<std::int64_t>()) / static_cast<double>(offered.customers) : 0.0;
    row["cost_per_offered_customer"] = round4(cost_per);
    row["net_spend_per_offered_customer"] = round4(mean(offered.spend) - mean(control.spend) - cost_per);
    out.push_back(std::move(row));
  }
  return {{"as_of", wire::format_time_ms(now_ms)}, {"rules", std::move(out)}};
}

}  // namespace regulars::daemon
