#include "store/event_store.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "base/string_hash.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {
// The store whose ReadScope holds this thread's read transaction, and the top items cache's epoch
// taken before that transaction's snapshot (TopItemsCache::offer).
thread_local const EventStore* scope_store = nullptr;
thread_local std::uint64_t scope_epoch = 0;
}  // namespace

EventStore::ReadScope::~ReadScope() {
  if (db_ == nullptr) return;
  scope_store = nullptr;
  try {
    db_->cached("COMMIT").run();  // prepared once: these two are half of a short answer's statements
  } catch (const std::exception&) {  // a read transaction has nothing to lose; SQLite ends it
  }
}

EventStore::ReadScope::ReadScope(EventStore& store) {
  Db& db = store.reader();
  if (sqlite3_get_autocommit(db.raw()) == 0) return;  // an outer scope holds the transaction
  scope_epoch = store.top_items_cache_.epoch();  // before the snapshot, which the first read takes
  db.cached("BEGIN").run();
  scope_store = &store;
  db_ = &db;
}

namespace {
thread_local Db::Mode reader_mode = Db::Mode::read_only;
}  // namespace

void EventStore::use_lean_readers_on_this_thread() { reader_mode = Db::Mode::read_only_lean; }

Db& EventStore::reader() {
  // One read-only connection per (thread, store): SQLite connections are not shared.
  thread_local std::unordered_map<std::uint64_t, std::unique_ptr<Db>> readers;
  auto& slot = readers[instance_];
  if (!slot) slot = std::make_unique<Db>(path_, reader_mode);
  return *slot;
}

std::optional<CustomerView> EventStore::find_customer(const std::string& kind, const IdentifierHash& hash) {
  Stmt& s = reader().cached(
      "SELECT c.id, coalesce(c.first_seen_ms, 0), coalesce(c.last_seen_ms, 0), c.visits, c.spend, "
      "c.consent_remember, c.consent_personalize, coalesce(c.name, ''), coalesce(c.birthday, ''), "
      "coalesce(c.anniversary, ''), coalesce(c.language, ''), c.discreet, coalesce(c.do_not_mention, ''), c.returns, "
      "coalesce(c.weekday_hist, ''), coalesce(c.hour_hist, ''), c.repeat_hits, c.repeat_total, "
      "coalesce(c.last_feedback_ms, 0), coalesce(c.last_complaint_ms, 0), coalesce(c.tags, ''), c.member_visits "
      "FROM identifiers i JOIN customers c ON c.id=i.customer_id WHERE i.kind=? AND i.hash=?");
  s.bind(1, kind).bind_blob(2, hash.data(), hash.size());
  if (!s.step()) return std::nullopt;
  CustomerView c;
  c.id = s.i64(0);
  c.first_seen_ms = s.i64(1);
  c.last_seen_ms = s.i64(2);
  c.visits = s.i64(3);
  c.spend = s.i64(4);
  if (!s.is_null(5)) c.consent_remember = s.i64(5) != 0;
  if (!s.is_null(6)) c.consent_personalize = s.i64(6) != 0;
  c.name = s.text(7);
  c.birthday = s.text(8);
  c.anniversary = s.text(9);
  c.language = s.text(10);
  c.discreet = s.i64(11) != 0;
  if (const std::string dnm = s.text(12); !dnm.empty())
    for (const auto& v : nlohmann::json::parse(dnm)) c.do_not_mention.push_back(v.get<std::string>());
  c.returns = s.i64(13);
  if (const std::string w = s.text(14); !w.empty()) c.weekday_hist = nlohmann::json::parse(w).get<std::vector<std::int64_t>>();
  if (const std::string h = s.text(15); !h.empty()) c.hour_hist = nlohmann::json::parse(h).get<std::vector<std::int64_t>>();
  c.repeat_hits = s.i64(16);
  c.repeat_total = s.i64(17);
  c.last_feedback_ms = s.i64(18);
  c.last_complaint_ms = s.i64(19);
  if (const std::string t = s.text(20); !t.empty())
    for (const auto& v : nlohmann::json::parse(t)) c.tags.push_back(v.get<std::string>());
  c.member_visits = s.i64(21);
  s.reset();
  return c;
}

namespace {
ItemStat item_stat_of(const Stmt& s) {
  return ItemStat{s.text(0), "", s.i64(1), s.i64(2), s.i64(3), s.text(4), s.f64(5), s.f64(6), s.i64(7), 0};
}

// A customer's first `rows` items by rank (rank_key, then SKU). No index orders the table by rank
// (schema v13), so any query reads all of the customer's rows; they are adjacent in the table's
// key, so one descent and a walk along them, and a partial sort here, which costs less than
// SQLite's sorter for the same rows.
std::vector<ItemStat> query_top_items(Db& db, std::int64_t customer_id, int rows) {
  Stmt& s = db.cached(
      "SELECT sku, baskets, last_ms, first_ms, coalesce(category, ''), returned, dsum, dvis, rank_key "
      "FROM customer_items WHERE customer_id=?");
  s.bind(1, customer_id);
  std::vector<std::pair<double, ItemStat>> scanned;
  while (s.step()) scanned.emplace_back(s.f64(8), item_stat_of(s));
  s.reset();
  const auto n = std::min(scanned.size(), static_cast<std::size_t>(std::max(0, rows)));
  std::partial_sort(scanned.begin(), scanned.begin() + static_cast<std::ptrdiff_t>(n), scanned.end(),
                    [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second.sku < b.second.sku; });
  std::vector<ItemStat> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(std::move(scanned[i].second));
  return out;
}
}  // namespace

// The customer's items by rank, from the store, offered to the cache when read in full for it.
std::vector<ItemStat> EventStore::read_top_items(std::int64_t customer_id, int limit) {
  Db& db = reader();
  // The cache's epoch before the snapshot: the scope's, or now, before this query's own snapshot.
  // In a transaction that is not a ReadScope's, the snapshot's age is unknown: nothing is offered.
  std::optional<std::uint64_t> since;
  if (scope_store == this) since = scope_epoch;
  else if (sqlite3_get_autocommit(db.raw()) != 0) since = top_items_cache_.epoch();
  const int rows = std::max(limit, TopItemsCache::kRows);
  std::vector<ItemStat> out = query_top_items(db, customer_id, rows);
  if (since && rows == TopItemsCache::kRows) top_items_cache_.offer(customer_id, *since, out);
  if (out.size() > static_cast<std::size_t>(std::max(0, limit))) out.resize(static_cast<std::size_t>(std::max(0, limit)));
  return out;
}

// On the writer, after the commit that changed a customer whose rows were kept: kept again,
// so a regular's next answer does not pay for their whole history.
void EventStore::refresh_top_items(std::int64_t customer_id) {
  const std::uint64_t now = top_items_cache_.epoch();  // after the forget: the writer's read is current
  top_items_cache_.offer(customer_id, now, query_top_items(*writer_db_, customer_id, TopItemsCache::kRows));
}

std::size_t EventStore::warm_top_items() {
  std::vector<std::int64_t> regulars;
  {
    Stmt s(reader().raw(), "SELECT id FROM customers WHERE visits > 1 ORDER BY visits DESC LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(top_items_cache_.capacity()));
    while (s.step()) regulars.push_back(s.i64(0));
  }
  for (const std::int64_t id : regulars) read_top_items(id, TopItemsCache::kRows);
  return top_items_cache_.size();
}

std::vector<ItemStat> EventStore::top_items(std::int64_t customer_id, int limit) {
  auto cached = top_items_cache_.find(customer_id, limit);
  std::vector<ItemStat> out = cached ? std::move(*cached) : read_top_items(customer_id, limit);
  const auto known = popularity_.read();  // after the rows: the writer's merge never waits on SQLite
  for (ItemStat& st : out)
    if (const ItemInfo* info = known.item(st.sku)) {
      st.name = info->name;
      st.store_baskets = info->baskets;
      st.store_buyers = info->buyers;
    }
  return out;
}

void EventStore::mark_bought_for_members(std::int64_t customer_id, std::vector<ItemStat>& items) {
  Stmt& s = reader().cached("SELECT DISTINCT sku FROM member_items WHERE customer_id=?");
  s.bind(1, customer_id);
  StringSet skus;
  while (s.step()) skus.insert(s.text(0));
  s.reset();
  for (ItemStat& item : items) item.for_member = skus.count(item.sku) > 0;
}

std::vector<MemberTaste> EventStore::member_tastes(std::int64_t customer_id, int limit) {
  Stmt& s = reader().cached(
      "SELECT member, sku, baskets FROM member_items WHERE customer_id=? ORDER BY baskets DESC, last_ms DESC LIMIT ?");
  s.bind(1, customer_id).bind(2, std::int64_t{limit});
  std::vector<MemberTaste> out;
  while (s.step()) {
    MemberTaste t{s.text(0), s.text(1), "", s.i64(2)};
    const auto info = popularity_.item(t.sku);
    t.name = info && !info->name.empty() ? info->name : t.sku;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Preference> EventStore::preferences(std::int64_t customer_id) {
  Stmt& s = reader().cached(
      "SELECT member, key, value, coalesce(said_by, ''), time_ms FROM preferences WHERE customer_id=? "
      "ORDER BY member, key LIMIT 32");
  s.bind(1, customer_id);
  std::vector<Preference> out;
  while (s.step()) out.push_back(Preference{s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4)});
  return out;
}

std::vector<Note> EventStore::recent_notes(std::int64_t customer_id, int limit) {
  Stmt& s = reader().cached(
      "SELECT text, coalesce(cashier, ''), time_ms FROM notes WHERE customer_id=? ORDER BY time_ms DESC LIMIT ?");
  s.bind(1, customer_id).bind(2, std::int64_t{limit});
  std::vector<Note> out;
  while (s.step()) out.push_back(Note{s.text(0), s.text(1), s.i64(2)});
  return out;
}

std::vector<HouseholdMember> EventStore::household(std::int64_t customer_id) {
  Stmt& s = reader().cached(
      "SELECT member, coalesce(name, ''), coalesce(birthday, '') FROM household WHERE customer_id=? ORDER BY member LIMIT 16");
  s.bind(1, customer_id);
  std::vector<HouseholdMember> out;
  while (s.step()) out.push_back(HouseholdMember{s.text(0), s.text(1), s.text(2)});
  return out;
}

std::optional<OpenFollowup> EventStore::open_followup(std::int64_t customer_id) {
  Stmt& s = reader().cached(
      "SELECT f.opened_ms, f.state, fb.nps, fb.csat, coalesce(fb.reasons, '[]') FROM followups f "
      "JOIN feedback fb ON fb.seq=f.feedback_seq WHERE f.customer_id=? AND f.state<>'resolved' "
      "ORDER BY f.opened_ms DESC LIMIT 1");
  s.bind(1, customer_id);
  std::optional<OpenFollowup> out;
  if (s.step()) {
    OpenFollowup f;
    f.opened_ms = s.i64(0);
    f.state = s.text(1);
    if (!s.is_null(2)) f.nps = s.i64(2);
    if (!s.is_null(3)) f.csat = s.i64(3);
    for (const auto& r : nlohmann::json::parse(s.text(4))) f.reasons.push_back(r.get<std::string>());
    out = std::move(f);
  }
  s.reset();
  return out;
}

std::shared_ptr<const std::vector<ItemStat>> EventStore::best_sellers() {
  // Best sellers change slowly: the list is sorted again every few seconds, not per request.
  constexpr auto kRefresh = std::chrono::seconds(2);
  constexpr int kKept = 200;
  std::shared_ptr<const std::vector<ItemStat>> list;
  bool refresh = false;
  {
    std::lock_guard lock(popular_mu_);
    list = popular_;
    if ((!list || std::chrono::steady_clock::now() - popular_at_ > kRefresh) && !popular_refreshing_) {
      popular_refreshing_ = true;
      refresh = true;
    }
  }
  if (refresh) {
    auto fresh = std::make_shared<std::vector<ItemStat>>();
    for (auto& [sku, id, i] : popularity_.top(kKept))
      fresh->push_back(ItemStat{sku, i.name, i.baskets, i.last_ms, 0, i.category, 0, 0, 0, i.baskets});
    std::lock_guard lock(popular_mu_);
    popular_ = fresh;
    popular_at_ = std::chrono::steady_clock::now();
    popular_refreshing_ = false;
    list = fresh;
  }
  return list;
}

StoreTotals EventStore::totals() { return popularity_.totals(); }

StoreStats EventStore::stats() {
  Db& db = reader();
  StoreStats st;
  Stmt& s = db.cached(
      "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT count(*) FROM customers)");
  if (s.step()) {
    st.events = s.i64(0);
    st.customers = s.i64(1);
  }
  st.items = static_cast<std::int64_t>(popularity_.size());
  s.reset();
  return st;
}

}  // namespace regulars::daemon
