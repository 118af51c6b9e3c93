#include "store/gesture_queries.hpp"

namespace regulars::daemon::gesture_queries {

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

}  // namespace regulars::daemon::gesture_queries
