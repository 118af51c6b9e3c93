#include "store/gesture_queries.hpp"

namespace regulars::daemon::gesture_queries {

// --- The owner's rules -----------------------------------------------------------------------

std::vector<StoredRule> stored_rules(Db& db) {
  Stmt s(db.raw(), "SELECT id, body, enabled FROM gesture_rules ORDER BY id");
  std::vector<StoredRule> out;
  while (s.step()) out.push_back(StoredRule{s.text(0), s.text(1), s.i64(2) != 0});
  return out;
}

void save_rule(Db& db, const std::string& id, const std::string& body, bool enabled, std::int64_t now_ms) {
  db.cached(
        "INSERT INTO gesture_rules(id, body, enabled, created_ms, updated_ms) VALUES(?1,?2,?3,?4,?4) "
        "ON CONFLICT(id) DO UPDATE SET body=excluded.body, enabled=excluded.enabled, updated_ms=excluded.updated_ms")
      .bind(1, id)
      .bind(2, body)
      .bind(3, std::int64_t{enabled})
      .bind(4, now_ms)
      .run();
}

void set_rule_enabled(Db& db, const std::string& id, bool enabled, const std::string& body, std::int64_t now_ms) {
  db.cached("UPDATE gesture_rules SET enabled=?, body=?, updated_ms=? WHERE id=?")
      .bind(1, std::int64_t{enabled})
      .bind(2, body)
      .bind(3, now_ms)
      .bind(4, id)
      .run();
}

// --- Offers ----------------------------------------------------------------------------------

void for_each_offer(Db& db, const std::function<void(const StoredOffer&)>& each) {
  Stmt s(db.raw(),
         "SELECT offer_id, rule_id, customer_id, made_ms, status, cost, visit, coalesce(cashier, ''), coalesce(sku, '') "
         "FROM offers ORDER BY made_ms");
  while (s.step())
    each(StoredOffer{s.text(0), s.text(1), s.i64(2), s.i64(3), s.text(4), s.i64(5), s.i64(6), s.text(7), s.text(8)});
}

// --- What a rule asks about one customer -----------------------------------------------------
// These run at hints calls: cached statements, reset at once so the read snapshot is let go.

namespace {

std::optional<Visits> visits_of(Stmt& s, std::int64_t customer_id, const std::string& key) {
  s.bind(1, customer_id).bind(2, key);
  std::optional<Visits> out;
  if (s.step()) out = Visits{s.i64(0), s.i64(1)};
  s.reset();
  return out;
}

}  // namespace

std::optional<Visits> item_visits(Db& db, std::int64_t customer_id, const std::string& sku) {
  return visits_of(db.cached("SELECT baskets, last_ms FROM customer_items WHERE customer_id=? AND sku=?"), customer_id, sku);
}

std::optional<Visits> category_visits(Db& db, std::int64_t customer_id, const std::string& category) {
  return visits_of(db.cached("SELECT baskets, last_ms FROM customer_categories WHERE customer_id=? AND category=?"),
                   customer_id, category);
}

std::vector<MemberItem> member_items(Db& db, std::int64_t customer_id) {
  Stmt& s = db.cached(
      "SELECT mi.member, mi.sku, mi.baskets, mi.last_ms, coalesce(ci.category, '') FROM member_items mi "
      "LEFT JOIN customer_items ci ON ci.customer_id=mi.customer_id AND ci.sku=mi.sku WHERE mi.customer_id=?");
  s.bind(1, customer_id);
  std::vector<MemberItem> out;
  while (s.step()) out.push_back(MemberItem{s.text(0), s.text(1), s.i64(2), s.i64(3), s.text(4)});
  s.reset();
  return out;
}

std::int64_t spend_since(Db& db, std::int64_t customer_id, std::int64_t since_ms) {
  Stmt& s = db.cached("SELECT coalesce(sum(value), 0) FROM events WHERE customer_id=? AND time_ms>=? AND value IS NOT NULL");
  s.bind(1, customer_id).bind(2, since_ms);
  const std::int64_t sum = s.step() ? s.i64(0) : 0;
  s.reset();
  return sum;
}

std::optional<std::string> favourite_sku(Db& db, std::int64_t customer_id, const std::string& category) {
  Stmt& s = category.empty()
                ? db.cached("SELECT sku FROM customer_items WHERE customer_id=? ORDER BY baskets DESC, last_ms DESC, sku LIMIT 1")
                : db.cached("SELECT sku FROM customer_items WHERE customer_id=? AND category=? "
                            "ORDER BY baskets DESC, last_ms DESC, sku LIMIT 1");
  s.bind(1, customer_id);
  if (!category.empty()) s.bind(2, category);
  std::optional<std::string> out;
  if (s.step()) out = s.text(0);
  s.reset();
  return out;
}

// --- The dry run's replay of the log ---------------------------------------------------------

void for_each_replayed_event(Db& db, std::int64_t until_ms, const std::function<void(const ReplayedEvent&)>& each) {
  std::int64_t after = 0;
  for (;;) {
    Stmt s(db.raw(),
           "SELECT seq, type, coalesce(customer_id, 0), time_ms, body, coalesce(cashier, ''), coalesce(value, 0) FROM events "
           "WHERE seq>? AND time_ms<=? AND type IN ('purchase', 'return', 'feedback', 'profile', 'consent') "
           "ORDER BY seq LIMIT 5000");
    s.bind(1, after).bind(2, until_ms);
    int n = 0;
    while (s.step()) {
      ++n;
      after = s.i64(0);
      each(ReplayedEvent{s.i64(0), s.text(1), s.i64(2), s.i64(3), s.text(4), s.text(5), s.i64(6)});
    }
    if (n == 0) break;
  }
}

// --- The ROI report --------------------------------------------------------------------------

std::vector<std::string> rules_with_offers(Db& db) {
  Stmt s(db.raw(), "SELECT DISTINCT rule_id FROM offers ORDER BY rule_id");
  std::vector<std::string> ids;
  while (s.step()) ids.push_back(s.text(0));
  return ids;
}

std::vector<StatusTotal> offer_totals(Db& db, const std::string& rule_id, std::int64_t until_ms) {
  Stmt s(db.raw(), "SELECT status, count(*), coalesce(sum(cost), 0) FROM offers WHERE rule_id=? AND made_ms<=? GROUP BY status");
  s.bind(1, rule_id).bind(2, until_ms);
  std::vector<StatusTotal> out;
  while (s.step()) out.push_back(StatusTotal{s.text(0), s.i64(1), s.i64(2)});
  return out;
}

void for_each_first_exposure(Db& db, const std::string& rule_id, std::int64_t until_ms,
                             const std::function<void(const FirstExposure&)>& each) {
  Stmt s(db.raw(),
         "SELECT customer_id, made_ms, status = 'held_out' FROM offers o WHERE rule_id=?1 AND made_ms<=?2 AND "
         "made_ms = (SELECT min(made_ms) FROM offers WHERE rule_id=?1 AND customer_id=o.customer_id) "
         "GROUP BY customer_id");
  s.bind(1, rule_id).bind(2, until_ms);
  while (s.step()) each(FirstExposure{s.i64(0), s.i64(1), s.i64(2) != 0});
}

std::vector<Purchase> purchases_between(Db& db, std::int64_t customer_id, std::int64_t after_ms, std::int64_t until_ms) {
  Stmt& s = db.cached(
      "SELECT time_ms, coalesce(value, 0) FROM events WHERE customer_id=? AND type='purchase' AND time_ms>? "
      "AND time_ms<=? ORDER BY time_ms");
  s.bind(1, customer_id).bind(2, after_ms).bind(3, until_ms);
  std::vector<Purchase> out;
  while (s.step()) out.push_back(Purchase{s.i64(0), s.i64(1)});
  s.reset();
  return out;
}

}  // namespace regulars::daemon::gesture_queries
