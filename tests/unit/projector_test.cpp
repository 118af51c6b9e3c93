// The projector in process: a real Projector over a real, migrated SQLite file. Each event is
// logged and projected as EventStore::apply does it (the customer resolved, the log row written,
// then the projection, in a savepoint that a refused event rolls back), and the projections are
// read back with SQL. The last tests replay the log into cleared projections, as a rebuild does,
// and compare every projection table row for row.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "db/db.hpp"
#include "memory/identity.hpp"
#include "memory/popularity.hpp"
#include "memory/projector.hpp"
#include "store/prepared_event.hpp"
#include "temp_dir.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {
namespace {

using nlohmann::json;
using Gone = std::vector<std::pair<std::int64_t, std::int64_t>>;

const IdentityKey& test_key() {
  static const IdentityKey key(IdentitySecret{9, 9, 9});
  return key;
}

json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }

// An event as a till sends it; `who` empty: about no customer (anonymous feedback, follow-ups,
// outcomes). `fields` are the type's own.
json event(const std::string& type, const std::string& id, const json& who, const std::string& time, json fields = json::object()) {
  json e = {{"type", type}, {"event_id", id}, {"time", time}};
  if (!who.is_null()) e["customer"] = who;
  for (auto& [key, value] : fields.items()) e[key] = value;
  return e;
}

json line(const std::string& sku, double qty, std::int64_t unit_price, const std::string& category = "") {
  json l = {{"sku", sku}, {"name", "the " + sku}, {"qty", qty}, {"unit_price", unit_price}};
  if (!category.empty()) l["category"] = category;
  return l;
}

json for_member(json l, const std::string& member) {
  l["for"] = member;
  return l;
}

json purchase(const std::string& id, const json& who, const std::string& time, json lines) {
  return event("purchase", id, who, time, {{"lines", std::move(lines)}});
}

// The offer event the gesture engine logs when a rule applies (GestureEngine::flush).
PreparedEvent offer(const std::string& offer_id, const json& who, const std::string& time, const std::string& status) {
  PreparedEvent e;
  e.event_id = offer_id;
  e.type = "offer";
  e.id_kind = who.at("kind").get<std::string>();
  e.id_hash = test_key().hash(e.id_kind, wire::normalize_identifier(e.id_kind, who.at("value").get<std::string>()));
  e.time_ms = *wire::parse_time_ms(time);
  e.body = {{"type", "offer"},  {"event_id", offer_id}, {"offer_id", offer_id}, {"rule", "free-chips"},
            {"status", status}, {"cost", 150},          {"visit", 3},           {"customer_kind", e.id_kind},
            {"time", time},     {"sku", "chips"},       {"cashier", "c7"},      {"terminal", "lane-2"}};
  e.body_text = e.body.dump();
  return e;
}

std::int64_t ms(const std::string& time) { return *wire::parse_time_ms(time); }

// What became of one event.
struct Recorded {
  bool refused = false;
  std::string error;
  std::int64_t customer = 0;
  std::int64_t seq = 0;
  Gone gone;
  PopularityDelta popularity;
};

// Every projection table: what Projector::clear_all empties and EventStore::rebuild_now compares.
const std::vector<std::string> kProjectionTables{"customers",   "identifiers", "customer_items", "customer_categories",
                                                 "member_items", "household",  "preferences",    "notes",
                                                 "feedback",    "followups",   "staff_ideas",    "offers",
                                                 "items",       "store_stats", "item_sources"};

class ProjectorTest : public ::testing::Test {
 protected:
  ProjectorTest() : db_(dir_.sub("regulars.db"), Db::Mode::read_write) {
    migrate(db_);
    db_.exec("PRAGMA synchronous=OFF");  // nothing here survives the test; spare the disk
  }

  // Validates and prepares a till's event as the I/O thread does, then records it.
  Recorded record(const json& till_event) {
    if (const auto error = wire::validate_event(till_event)) {
      ADD_FAILURE() << "the test's own event is invalid: " << error->message << "\n" << till_event.dump();
      return {};
    }
    return record(prepare_event(till_event, test_key()));
  }

  // Logs and projects one event as EventStore::apply does, in a savepoint of its own as the
  // writer's retry does: a refused event leaves nothing behind.
  Recorded record(PreparedEvent p) {
    Recorded r;
    db_.exec("SAVEPOINT ev");
    try {
      LoggedEvent logged{0, p.event_id, p.type, p.id_kind, p.id_hash, p.time_ms, std::move(p.body), p.lines.get()};
      Projector projector(db_, erase_on_withdrawal_, in_memory_popularity_ ? &r.popularity : nullptr);
      r.customer = projector.resolve_or_enrol(logged);
      Stmt& s = db_.cached(
          "INSERT INTO events(event_id, type, customer_id, time_ms, cashier, body, id_kind, id_hash, value) "
          "VALUES(?,?,?,?,?,?,?,?,?)");
      s.bind(1, p.event_id).bind(2, p.type).bind(4, p.time_ms).bind(6, p.body_text);
      if (r.customer == 0) s.bind_null(3); else s.bind(3, r.customer);
      if (logged.body.contains("cashier")) s.bind(5, logged.body["cashier"].get<std::string>()); else s.bind_null(5);
      if (p.id_kind.empty()) s.bind_null(7).bind_null(8);
      else s.bind(7, p.id_kind).bind_blob(8, p.id_hash.data(), p.id_hash.size());
      if (p.value) s.bind(9, *p.value); else s.bind_null(9);
      s.run();
      r.seq = db_.last_insert_rowid();
      logged.seq = r.seq;
      r.customer = projector.project(logged, /*log_row_linked=*/true);
      r.gone = projector.take_gone();
      db_.exec("RELEASE ev");
    } catch (const Refused& e) {
      db_.exec("ROLLBACK TO ev");
      db_.exec("RELEASE ev");
      r = Recorded{};
      r.refused = true;
      r.error = e.what();
      return r;
    }
    PopularityDelta counted = r.popularity;
    counted.last_seq = r.seq;
    live_popularity_.merge(counted);
    return r;
  }

  // Clears every projection and replays the log into them as EventStore::rebuild_now does (ids
  // kept, one transaction, each event in log order), counting popularity into `counted`.
  void rebuild(Popularity& counted) {
    db_.exec("BEGIN IMMEDIATE");
    PopularityDelta delta;
    Projector projector(db_, erase_on_withdrawal_, in_memory_popularity_ ? &delta : nullptr);
    projector.set_replaying();
    projector.keep_ids();
    projector.clear_all();
    std::vector<LoggedEvent> log;
    {
      Stmt s(db_.raw(), std::string("SELECT ") + kLoggedEventColumns + " FROM events ORDER BY seq");
      while (s.step()) log.push_back(logged_event_from_row(s));
    }
    for (const LoggedEvent& e : log) {
      delta.clear();
      projector.project(e);
      delta.last_seq = e.seq;
      counted.merge(delta);
    }
    projector.forget_ids();
    db_.exec("COMMIT");
  }

  // Rebuilds (above) and names each projection table whose rows then differ from what the live
  // projection left, as EventStore::rebuild_now compares them (EXCEPT both ways), with the
  // number of differing rows; the log itself must come out unchanged. Empty: all the same.
  std::vector<std::string> differences_after_rebuild(Popularity& rebuilt) {
    std::vector<std::string> tables = kProjectionTables;
    tables.push_back("events");
    for (const auto& t : tables) db_.exec("CREATE TEMP TABLE live_" + t + " AS SELECT * FROM main." + t);
    rebuild(rebuilt);
    std::vector<std::string> out;
    for (const auto& t : tables) {
      const std::string a = "main." + t, b = "temp.live_" + t;
      const std::string n = one("SELECT (SELECT count(*) FROM (SELECT * FROM " + a + " EXCEPT SELECT * FROM " + b +
                                ")) + (SELECT count(*) FROM (SELECT * FROM " + b + " EXCEPT SELECT * FROM " + a + "))");
      if (n != "0") out.push_back(t + ": " + n + " rows differ");
      db_.exec("DROP TABLE " + b);
    }
    return out;
  }

  std::int64_t customer(const json& who) {
    const std::string kind = who.at("kind").get<std::string>();
    return Projector(db_).lookup(kind, test_key().hash(kind, wire::normalize_identifier(kind, who.at("value").get<std::string>())));
  }

  // Each row of a query as "a|b|c" (NULL for a null), in the query's order.
  std::vector<std::string> rows(const std::string& sql) {
    std::vector<std::string> out;
    Stmt s(db_.raw(), sql);
    while (s.step()) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(s.raw()); ++i) {
        if (i) row += '|';
        row += s.is_null(i) ? std::string("NULL") : s.text(i);
      }
      out.push_back(std::move(row));
    }
    return out;
  }
  // The first row of a query; "<no row>" when there is none.
  std::string one(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() ? std::string("<no row>") : r.front();
  }
  std::int64_t count(const std::string& sql) { return std::stoll(one("SELECT count(*) FROM " + sql)); }
  double real(const std::string& sql) {
    Stmt s(db_.raw(), sql);
    EXPECT_TRUE(s.step()) << sql;
    return s.f64(0);
  }

  // Every table of the store, every row, in a fixed order: what "changes nothing" compares.
  std::string whole_store() {
    std::string out;
    for (const auto& table : rows("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
      out += "== " + table + "\n";
      for (const auto& row : rows("SELECT * FROM " + table + " ORDER BY 1, 2")) out += row + "\n";
    }
    return out;
  }

  // Some of every event (below).
  void record_a_bit_of_everything();

  test::TempDir dir_;
  Db db_;
  bool erase_on_withdrawal_ = true;
  bool in_memory_popularity_ = true;  // as the writer runs it; false: the projector writes items and store_stats
  Popularity live_popularity_;        // what the writer merges after each commit
};

// --- purchases ---------------------------------------------------------------------------------

TEST_F(ProjectorTest, APurchaseCountsAVisitSpendItemsAndCategories) {
  const json sara = card("1001");
  const Recorded first = record(purchase("p1", sara, "2026-11-20T10:00:00Z",
                                         {line("bread", 2, 250, "bakery"), line("croissant", 1, 180, "bakery"),
                                          line("milk", 1, 120, "dairy"), line("bread", 1, 250, "bakery")}));
  ASSERT_FALSE(first.refused) << first.error;
  const std::string c = std::to_string(first.customer);
  ASSERT_EQ(first.customer, customer(sara));
  const auto t1 = std::to_string(ms("2026-11-20T10:00:00Z"));
  EXPECT_EQ(one("SELECT visits, spend, first_seen_ms, last_seen_ms FROM customers WHERE id=" + c), "1|1050|" + t1 + "|" + t1);
  // Two lines of one SKU are one item of the visit: one basket, their quantities added.
  EXPECT_EQ(rows("SELECT sku, baskets, qty, category, first_ms, last_ms FROM customer_items WHERE customer_id=" + c + " ORDER BY sku"),
            (std::vector<std::string>{"bread|1|3.0|bakery|" + t1 + "|" + t1, "croissant|1|1.0|bakery|" + t1 + "|" + t1,
                                      "milk|1|1.0|dairy|" + t1 + "|" + t1}));
  // Two bakery items in one basket are one bakery visit.
  EXPECT_EQ(rows("SELECT category, baskets FROM customer_categories WHERE customer_id=" + c + " ORDER BY category"),
            (std::vector<std::string>{"bakery|1", "dairy|1"}));
  EXPECT_EQ(one("SELECT customer_id FROM events WHERE seq=" + std::to_string(first.seq)), c);
  // The store's popularity goes to the writer's delta, not to the items table.
  EXPECT_EQ(first.popularity.totals.baskets, 1);
  ASSERT_EQ(first.popularity.items.count("bread"), 1u);
  EXPECT_EQ(first.popularity.items.at("bread").baskets, 1);
  EXPECT_DOUBLE_EQ(first.popularity.items.at("bread").qty, 3.0);
  EXPECT_EQ(first.popularity.items.at("bread").category, "bakery");
  EXPECT_EQ(count("items"), 0);
  EXPECT_EQ(one("SELECT baskets FROM store_stats"), "0");

  const Recorded second =
      record(purchase("p2", sara, "2026-11-22T18:30:00Z", {line("bread", 1, 250, "bakery"), line("eggs", 1, 300, "dairy")}));
  ASSERT_EQ(second.customer, first.customer);
  const auto t2 = std::to_string(ms("2026-11-22T18:30:00Z"));
  EXPECT_EQ(one("SELECT visits, spend, first_seen_ms, last_seen_ms FROM customers WHERE id=" + c), "2|1600|" + t1 + "|" + t2);
  EXPECT_EQ(one("SELECT baskets, qty, first_ms, last_ms FROM customer_items WHERE sku='bread' AND customer_id=" + c),
            "2|4.0|" + t1 + "|" + t2);
  EXPECT_EQ(rows("SELECT category, baskets, last_ms FROM customer_categories WHERE customer_id=" + c + " ORDER BY category"),
            (std::vector<std::string>{"bakery|2|" + t2, "dairy|2|" + t2}));
}

TEST_F(ProjectorTest, WeekdayAndHourHistogramsUseTheTillsOwnOffset) {
  const json sara = card("1001");
  // 01:30 on Friday at +05:00 is 20:30 on Thursday in UTC: the customer came on a Friday night.
  const Recorded r = record(purchase("p1", sara, "2026-11-20T01:30:00+05:00", {line("bread", 1, 250)}));
  const std::string c = std::to_string(r.customer);
  EXPECT_EQ(one("SELECT weekday_hist FROM customers WHERE id=" + c), "[0,0,0,0,1,0,0]");
  EXPECT_EQ(one("SELECT hour_hist FROM customers WHERE id=" + c), "[0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]");
  // 23:10 on Thursday at -02:00 is Friday 01:10 in UTC.
  record(purchase("p2", sara, "2026-11-19T23:10:00-02:00", {line("bread", 1, 250)}));
  record(purchase("p3", sara, "2026-11-23T23:59:00Z", {line("bread", 1, 250)}));  // a Monday
  EXPECT_EQ(one("SELECT weekday_hist FROM customers WHERE id=" + c), "[1,0,0,1,1,0,0]");
  EXPECT_EQ(one("SELECT hour_hist FROM customers WHERE id=" + c), "[0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2]");
}

TEST_F(ProjectorTest, ItemMemoryDecaysEachOlderVisitAndSeedsTheTransitions) {
  const json sara = card("1001");
  const Recorded v1 = record(purchase("p1", sara, "2026-11-02T10:00:00Z", {line("bread", 1, 250)}));
  const Recorded v2 = record(purchase("p2", sara, "2026-11-03T10:00:00Z", {line("milk", 1, 120)}));
  const Recorded v3 = record(purchase("p3", sara, "2026-11-04T10:00:00Z", {line("bread", 1, 250)}));
  const std::string c = std::to_string(v1.customer);
  auto item = [&](const char* sku, const char* column) {
    return real(std::string("SELECT ") + column + " FROM customer_items WHERE sku='" + sku + "' AND customer_id=" + c);
  };
  // Bread at visits 1 and 3: 1 * 0.9^2 + 1 as of visit 3. Milk once, at visit 2.
  EXPECT_NEAR(item("bread", "dsum"), 1.81, 1e-12);
  EXPECT_EQ(item("bread", "dvis"), 3);
  EXPECT_NEAR(item("bread", "rank_key"), item_rank_key(1.81, 3), 1e-12);
  EXPECT_NEAR(item("milk", "dsum"), 1.0, 1e-12);
  EXPECT_EQ(item("milk", "dvis"), 2);
  EXPECT_NEAR(item("milk", "rank_key"), item_rank_key(1.0, 2), 1e-12);
  // Visit 2 had one item, new; visit 3 one item, known (visit 1 tells nothing).
  EXPECT_EQ(one("SELECT repeat_hits, repeat_total FROM customers WHERE id=" + c), "1|2");
  EXPECT_EQ(v2.popularity.totals.repeat_hits, 0);
  EXPECT_EQ(v2.popularity.totals.repeat_total, 1);
  EXPECT_EQ(v3.popularity.totals.repeat_hits, 1);
  EXPECT_EQ(v3.popularity.totals.repeat_total, 1);
  // A first visit follows nothing; later ones follow the customer's top items, best first
  // (milk, the more recent, outranks bread bought once a visit earlier).
  EXPECT_TRUE(v1.popularity.transitions.empty());
  ASSERT_EQ(v2.popularity.transitions.size(), 1u);
  EXPECT_EQ(v2.popularity.transitions[0].seeds, std::vector<std::string>{"bread"});
  EXPECT_EQ(v2.popularity.transitions[0].basket, std::vector<std::string>{"milk"});
  ASSERT_EQ(v3.popularity.transitions.size(), 1u);
  EXPECT_EQ(v3.popularity.transitions[0].seeds, (std::vector<std::string>{"milk", "bread"}));
  EXPECT_EQ(v3.popularity.transitions[0].basket, std::vector<std::string>{"bread"});

  record(purchase("p4", sara, "2026-11-05T10:00:00Z", {line("milk", 1, 120)}));
  EXPECT_NEAR(item("milk", "dsum"), 1.81, 1e-12);  // visits 2 and 4
  EXPECT_EQ(item("milk", "dvis"), 4);
  EXPECT_NEAR(item("bread", "dsum"), 1.81, 1e-12);  // untouched by a visit without bread
  EXPECT_EQ(one("SELECT repeat_hits, repeat_total FROM customers WHERE id=" + c), "2|3");
}

TEST_F(ProjectorTest, AReturnCountsAgainstTheItemsBoughtAndNotAsAVisit) {
  const json sara = card("1001");
  const Recorded bought = record(purchase("p1", sara, "2026-11-02T10:00:00Z", {line("bread", 2, 250)}));
  const Recorded returned = record(event("return", "r1", sara, "2026-11-03T10:00:00Z",
                                         {{"lines", {line("bread", 1, 250), line("yogurt", 1, 90)}}}));
  ASSERT_FALSE(returned.refused) << returned.error;
  const std::string c = std::to_string(bought.customer);
  EXPECT_EQ(one("SELECT visits, spend, returns, returned_value FROM customers WHERE id=" + c), "1|500|1|340");
  // The returned quantity is kept beside what was bought; an item never bought gets no row.
  EXPECT_EQ(rows("SELECT sku, baskets, qty, returned FROM customer_items WHERE customer_id=" + c),
            std::vector<std::string>{"bread|1|2.0|1.0"});
  EXPECT_TRUE(returned.popularity.items.empty());
  EXPECT_EQ(returned.popularity.totals.baskets, 0);
  EXPECT_EQ(one("SELECT value FROM events WHERE seq=" + std::to_string(returned.seq)), "-340");
}

TEST_F(ProjectorTest, LinesForAMemberBuildTheHouseholdsTastes) {
  const json sara = card("1001");
  record(event("profile", "pr1", sara, "2026-11-01T10:00:00Z",
               {{"household", {{{"member", "son"}, {"name", "Ali"}, {"birthday", "03-14"}}}}}));
  const Recorded v1 = record(purchase("p1", sara, "2026-11-02T10:00:00Z",
                                      {for_member(line("chips", 1, 90), "son"), for_member(line("juice", 1, 150), "son"),
                                       line("bread", 1, 250)}));
  const auto t2 = std::to_string(ms("2026-11-03T10:00:00Z"));
  record(purchase("p2", sara, "2026-11-03T10:00:00Z",
                  {for_member(line("chips", 1, 90), "son"), for_member(line("chips", 2, 90), "son"),
                   for_member(line("crayons", 1, 300), "daughter")}));
  const Recorded v3 = record(purchase("p3", sara, "2026-11-04T10:00:00Z", {line("bread", 1, 250)}));
  record(event("preference", "pf1", sara, "2026-11-05T10:00:00Z", {{"for", "grandma"}, {"key", "tea"}, {"value", "mint"}}));
  const std::string c = std::to_string(v1.customer);
  // Two lines of chips for the son in one basket are one visit's worth.
  EXPECT_EQ(rows("SELECT member, sku, baskets FROM member_items WHERE customer_id=" + c + " ORDER BY member, sku"),
            (std::vector<std::string>{"daughter|crayons|1", "son|chips|2", "son|juice|1"}));
  EXPECT_EQ(one("SELECT last_ms FROM member_items WHERE member='son' AND sku='chips' AND customer_id=" + c), t2);
  EXPECT_EQ(one("SELECT member_visits, visits FROM customers WHERE id=" + c), "2|3");
  // The profile's name for the son stays; members met in lines and preferences join the household.
  EXPECT_EQ(rows("SELECT member, name, birthday FROM household WHERE customer_id=" + c + " ORDER BY member"),
            (std::vector<std::string>{"daughter|NULL|NULL", "grandma|NULL|NULL", "son|Ali|03-14"}));
  // What is bought for a member is still the customer's basket.
  EXPECT_EQ(one("SELECT baskets, qty FROM customer_items WHERE sku='chips' AND customer_id=" + c), "2|4.0");
  // The third visit is a hold-out for the blend: it knows which items were bought for a member
  // (the household factor is measured on them), and the customer's top items (the neighbours').
  ASSERT_EQ(v3.popularity.holdouts.size(), 1u);
  std::vector<std::string> for_member_flags;
  for (const auto& k : v3.popularity.holdouts[0].known) for_member_flags.push_back(k.sku + (k.for_member ? "|member" : "|own"));
  EXPECT_EQ(for_member_flags, (std::vector<std::string>{"bread|own", "chips|member", "crayons|member", "juice|member"}));
  EXPECT_EQ(v3.popularity.holdouts[0].seeds, v3.popularity.transitions.at(0).seeds);
  EXPECT_FALSE(v3.popularity.holdouts[0].seeds.empty());
}

// --- what the customer says: preferences, notes, profile, consent ---------------------------------

TEST_F(ProjectorTest, APreferenceKeepsTheLatestByEventTimeAndNullRemovesIt) {
  const json sara = card("1001");
  const Recorded first = record(event("preference", "pf1", sara, "2026-11-02T10:00:00Z",
                                      {{"key", "bag"}, {"value", "paper"}, {"said_by", "customer"}, {"cashier", "c1"}}));
  const std::string c = std::to_string(first.customer);
  const auto t1 = std::to_string(ms("2026-11-02T10:00:00Z"));
  // An older preference arriving late (a spool replayed) does not overwrite a newer one.
  record(event("preference", "pf0", sara, "2026-11-01T10:00:00Z", {{"key", "bag"}, {"value", "plastic"}, {"cashier", "c9"}}));
  EXPECT_EQ(rows("SELECT member, key, value, said_by, cashier, time_ms FROM preferences WHERE customer_id=" + c),
            std::vector<std::string>{"|bag|paper|customer|c1|" + t1});
  const auto t2 = std::to_string(ms("2026-11-03T10:00:00Z"));
  record(event("preference", "pf2", sara, "2026-11-03T10:00:00Z",
               {{"key", "bag"}, {"value", "cloth"}, {"said_by", "cashier"}, {"cashier", "c2"}}));
  record(event("preference", "pf3", sara, "2026-11-03T11:00:00Z", {{"for", "son"}, {"key", "snack"}, {"value", "chips"}}));
  EXPECT_EQ(rows("SELECT member, key, value, said_by, cashier FROM preferences WHERE customer_id=" + c + " ORDER BY member"),
            (std::vector<std::string>{"|bag|cloth|cashier|c2", "son|snack|chips|NULL|NULL"}));
  record(event("preference", "pf4", sara, "2026-11-04T10:00:00Z", {{"key", "bag"}, {"value", nullptr}}));
  EXPECT_EQ(rows("SELECT member, key, value FROM preferences WHERE customer_id=" + c),
            std::vector<std::string>{"son|snack|chips"});
}

TEST_F(ProjectorTest, ANoteIsKeptWithItsCashierAndTime) {
  const json sara = card("1001");
  const Recorded r = record(event("note", "n1", sara, "2026-11-02T10:00:00Z", {{"text", "Allergic to nuts"}, {"cashier", "c3"}}));
  EXPECT_EQ(rows("SELECT seq, customer_id, text, cashier, time_ms FROM notes"),
            std::vector<std::string>{std::to_string(r.seq) + "|" + std::to_string(r.customer) + "|Allergic to nuts|c3|" +
                                     std::to_string(ms("2026-11-02T10:00:00Z"))});
}

TEST_F(ProjectorTest, AProfileSetsAndClearsWhatItNames) {
  const json sara = card("1001");
  const Recorded r = record(event("profile", "pr1", sara, "2026-11-02T10:00:00Z",
                                  {{"name", "Sara"},
                                   {"birthday", "1990-05-17"},
                                   {"anniversary", "06-01"},
                                   {"language", "fa"},
                                   {"discreet", true},
                                   {"do_not_mention", {"weight", "son"}},
                                   {"tags", {"vip"}}}));
  const std::string c = std::to_string(r.customer);
  const std::string columns = "SELECT name, birthday, anniversary, language, discreet, do_not_mention, tags FROM customers WHERE id=";
  EXPECT_EQ(one(columns + c), R"(Sara|1990-05-17|06-01|fa|1|["weight","son"]|["vip"])");
  // null clears a field, false turns discreet off, and what the event does not name stays.
  record(event("profile", "pr2", sara, "2026-11-03T10:00:00Z", {{"name", nullptr}, {"discreet", false}, {"tags", {"staff"}}}));
  EXPECT_EQ(one(columns + c), R"(NULL|1990-05-17|06-01|fa|0|["weight","son"]|["staff"])");
}

// Issue 19, item 7: consent changes take effect in the order received; a withdrawal always
// does, and a grant does not undo a withdrawal dated at or after it.
TEST_F(ProjectorTest, ConsentChangesTakeEffectInTheOrderReceived) {
  const json sara = card("1001");
  const Recorded r = record(event("consent", "k2", sara, "2026-11-03T10:00:00Z",
                                  {{"purposes", {{"remember", true}, {"personalize", true}}}}));
  const std::string c = std::to_string(r.customer);
  const std::string q = "SELECT consent_remember, consent_personalize, consent_ms FROM customers WHERE id=" + c;
  EXPECT_EQ(one(q), "1|1|" + std::to_string(ms("2026-11-03T10:00:00Z")));
  // A withdrawal arriving later wins, even dated before the grant (a till's clock is not the truth).
  // consent_ms is the newest time among the records the state stands on (memory/consent.hpp):
  // here the grant of "remember", which stands.
  const auto t2 = std::to_string(ms("2026-11-03T10:00:00Z"));
  record(event("consent", "k1", sara, "2026-11-02T10:00:00Z", {{"purposes", {{"personalize", false}}}}));
  EXPECT_EQ(one(q), "1|0|" + t2);
  // Grants dated before it, or at the same moment, do not undo it.
  record(event("consent", "k0", sara, "2026-11-01T10:00:00Z", {{"purposes", {{"personalize", true}}}}));
  record(event("consent", "k1b", sara, "2026-11-02T10:00:00Z", {{"purposes", {{"personalize", true}}}}));
  EXPECT_EQ(one(q), "1|0|" + t2);
  // A grant after it does, and changes only the purpose it names.
  const auto t4 = std::to_string(ms("2026-11-04T10:00:00Z"));
  record(event("consent", "k4", sara, "2026-11-04T10:00:00Z", {{"purposes", {{"personalize", true}}}}));
  EXPECT_EQ(one(q), "1|1|" + t4);
}

// A customer with some of everything, and another beside them.
class WithdrawalTest : public ProjectorTest {
 protected:
  void SetUp() override {
    const Recorded p = record(purchase("s-p1", sara, "2026-11-02T10:00:00Z",
                                       {line("bread", 1, 250, "bakery"), for_member(line("chips", 1, 90), "son")}));
    record(event("preference", "s-pf", sara, "2026-11-02T10:01:00Z", {{"key", "bag"}, {"value", "paper"}}));
    record(event("note", "s-n", sara, "2026-11-02T10:02:00Z", {{"text", "Likes to chat"}}));
    record(event("profile", "s-pr", sara, "2026-11-02T10:03:00Z", {{"name", "Sara"}, {"tags", {"vip"}}}));
    record(event("feedback", "s-fb", sara, "2026-11-02T10:04:00Z", {{"nps", 3}, {"comment", "the queue"}}));
    record(event("followup", "s-fu", nullptr, "2026-11-02T12:00:00Z", {{"feedback", "s-fb"}, {"state", "contacted"}}));
    record(offer("s-offer", sara, "2026-11-02T10:05:00Z", "offered"));
    record(event("consent", "s-k1", sara, "2026-11-02T10:06:00Z", {{"purposes", {{"remember", true}}}}));
    sara_id = p.customer;
    record(purchase("o-p1", other, "2026-11-02T11:00:00Z", {line("bread", 1, 250, "bakery")}));
    record(event("feedback", "o-fb", other, "2026-11-02T11:01:00Z", {{"nps", 2}}));
    record(event("followup", "o-fu", nullptr, "2026-11-02T12:01:00Z", {{"feedback", "o-fb"}, {"state", "contacted"}}));
    other_id = customer(other);
    ASSERT_NE(sara_id, 0);
    ASSERT_NE(other_id, 0);
    ASSERT_NE(sara_id, other_id);
  }

  Recorded withdraw() {
    return record(event("consent", "s-k2", sara, "2026-11-05T10:00:00Z", {{"purposes", {{"remember", false}}}}));
  }

  // The rows about `id` in each table that holds a customer's history.
  std::vector<std::string> history_rows(std::int64_t id) {
    std::vector<std::string> out;
    for (const char* table : {"notes", "preferences", "household", "member_items", "customer_categories", "customer_items",
                              "feedback", "followups", "offers"})
      out.push_back(std::string(table) + ":" + std::to_string(count(std::string(table) + " WHERE customer_id=" + std::to_string(id))));
    return out;
  }

  const json sara = card("2001");
  const json other = card("2002");
  std::int64_t sara_id = 0, other_id = 0;
};

TEST_F(WithdrawalTest, WithErasureTheHistoryGoesAndTheConsentRecordsStay) {
  const auto others_before = history_rows(other_id);
  const Recorded r = withdraw();
  ASSERT_FALSE(r.refused) << r.error;
  EXPECT_EQ(r.gone, (Gone{{sara_id, 0}}));
  const std::string c = std::to_string(sara_id);
  EXPECT_EQ(rows("SELECT event_id FROM events WHERE customer_id=" + c + " ORDER BY seq"),
            (std::vector<std::string>{"s-k1", "s-k2"}));
  // The owner's follow-up notes about her feedback go too; the other customer's stay.
  EXPECT_EQ(rows("SELECT event_id FROM events WHERE type='followup'"), std::vector<std::string>{"o-fu"});
  EXPECT_EQ(history_rows(sara_id), (std::vector<std::string>{"notes:0", "preferences:0", "household:0", "member_items:0",
                                                             "customer_categories:0", "customer_items:0", "feedback:0",
                                                             "followups:0", "offers:0"}));
  EXPECT_EQ(history_rows(other_id), others_before);
  EXPECT_EQ(one("SELECT visits, spend, first_seen_ms, name, tags, member_visits, last_feedback_ms, last_complaint_ms, "
                "weekday_hist, consent_remember, consent_ms FROM customers WHERE id=" + c),
            "0|0|NULL|NULL|NULL|0|NULL|NULL|NULL|0|" + std::to_string(ms("2026-11-05T10:00:00Z")));
  // Still recognised (the consent records name her), and counted afresh from here.
  EXPECT_EQ(customer(sara), sara_id);
  const Recorded again = record(purchase("s-p2", sara, "2026-11-06T10:00:00Z", {line("milk", 1, 120)}));
  EXPECT_EQ(again.customer, sara_id);
  EXPECT_EQ(one("SELECT visits, spend FROM customers WHERE id=" + c), "1|120");
}

TEST_F(WithdrawalTest, WithoutErasureTheHistoryStaysAndOnlyTheConsentChanges) {
  erase_on_withdrawal_ = false;
  const auto sara_before = history_rows(sara_id);
  const std::int64_t events_before = count("events");
  const Recorded r = withdraw();
  ASSERT_FALSE(r.refused) << r.error;
  EXPECT_TRUE(r.gone.empty());
  EXPECT_EQ(count("events"), events_before + 1);
  EXPECT_EQ(history_rows(sara_id), sara_before);
  EXPECT_EQ(sara_before[0], "notes:1");  // there was history to keep
  EXPECT_EQ(one("SELECT visits, spend, name, consent_remember FROM customers WHERE id=" + std::to_string(sara_id)), "1|340|Sara|0");
}

// She bought before she first consented: the event that enrolled her is part of the history
// erased. A rebuild enrols her at the first event left, so the erasure must say the same.
TEST_F(WithdrawalTest, ARebuildAfterTheErasureGivesHerTheSameCustomerRow) {
  withdraw();
  EXPECT_EQ(one("SELECT created_ms, enrolled_seq FROM customers WHERE id=" + std::to_string(sara_id)),
            std::to_string(ms("2026-11-02T10:06:00Z")) + "|" + one("SELECT seq FROM events WHERE event_id='s-k1'"));
  Popularity rebuilt;
  EXPECT_EQ(differences_after_rebuild(rebuilt), std::vector<std::string>{});
}

// Her e-mail, linked, and an old card, merged into her: the erasure keeps the events that made
// them hers, or a rebuild would take the e-mail that withdrew for a new customer.
TEST_F(WithdrawalTest, ARebuildAfterTheErasureKnowsTheIdentifiersSheLinkedAndMerged) {
  const json mail = {{"kind", "email"}, {"value", "Sara@example.org"}}, old_card = card("2003");
  record(event("link", "s-l", sara, "2026-11-03T10:00:00Z", {{"identifier", mail}}));
  record(purchase("s-p0", old_card, "2026-11-03T11:00:00Z", {line("milk", 1, 120)}));
  const Recorded merged = record(event("merge", "s-m", sara, "2026-11-04T10:00:00Z", {{"other", old_card}}));
  ASSERT_FALSE(merged.refused) << merged.error;
  ASSERT_FALSE(record(event("consent", "s-k2", mail, "2026-11-05T10:00:00Z", {{"purposes", {{"remember", false}}}})).refused);
  EXPECT_EQ(rows("SELECT event_id FROM events WHERE customer_id=" + std::to_string(sara_id) + " ORDER BY seq"),
            (std::vector<std::string>{"s-k1", "s-l", "s-m", "s-k2"}));
  Popularity rebuilt;
  EXPECT_EQ(differences_after_rebuild(rebuilt), std::vector<std::string>{});
  EXPECT_EQ(customer(mail), sara_id);
  EXPECT_EQ(customer(old_card), sara_id);
  EXPECT_EQ(count("customers"), 2);
}

// --- identity: link and merge ---------------------------------------------------------------------

TEST_F(ProjectorTest, ALinkAddsAnIdentifierAndALinkToAnotherCustomersIsRefused) {
  const json sara = card("1001"), bob = card("1002");
  const json phone = {{"kind", "phone"}, {"value", "+98 912 000 0001"}};
  const std::int64_t sara_id = record(purchase("p1", sara, "2026-11-02T10:00:00Z", {line("bread", 1, 250)})).customer;
  const std::int64_t bob_id = record(purchase("p2", bob, "2026-11-02T11:00:00Z", {line("milk", 1, 120)})).customer;
  const Recorded linked = record(event("link", "l1", sara, "2026-11-03T10:00:00Z", {{"identifier", phone}}));
  ASSERT_FALSE(linked.refused) << linked.error;
  EXPECT_EQ(customer(phone), sara_id);
  // The phone now finds her: her second visit, not a new customer.
  EXPECT_EQ(record(purchase("p3", phone, "2026-11-04T10:00:00Z", {line("bread", 1, 250)})).customer, sara_id);
  EXPECT_EQ(one("SELECT visits FROM customers WHERE id=" + std::to_string(sara_id)), "2");
  EXPECT_EQ(count("customers"), 2);

  const std::string before = whole_store();
  const Recorded taken = record(event("link", "l2", sara, "2026-11-05T10:00:00Z", {{"identifier", bob}}));
  EXPECT_TRUE(taken.refused);
  EXPECT_NE(taken.error.find("merge"), std::string::npos) << taken.error;
  const Recorded taken_back = record(event("link", "l3", bob, "2026-11-05T10:00:00Z", {{"identifier", phone}}));
  EXPECT_TRUE(taken_back.refused);
  EXPECT_EQ(whole_store(), before) << "a refused link changes nothing, not even the log";
  EXPECT_EQ(customer(bob), bob_id);

  // Linking what she already holds is harmless.
  const Recorded again = record(event("link", "l4", sara, "2026-11-06T10:00:00Z", {{"identifier", phone}}));
  EXPECT_FALSE(again.refused) << again.error;
  EXPECT_EQ(count("identifiers"), 3);
}

TEST_F(ProjectorTest, AMergeCountsBothHistoriesExactlyOnceInLogOrder) {
  const json sara = card("1001"), card2 = card("1002");
  const std::int64_t a = record(purchase("p1", sara, "2026-11-02T10:00:00Z", {line("bread", 1, 250)})).customer;   // Monday
  const std::int64_t b = record(purchase("p2", card2, "2026-11-03T10:00:00Z", {line("bread", 1, 250)})).customer;  // Tuesday
  record(purchase("p3", sara, "2026-11-04T10:00:00Z", {line("milk", 1, 120)}));                                   // Wednesday
  record(purchase("p4", card2, "2026-11-05T10:00:00Z", {line("bread", 1, 250), line("eggs", 1, 300)}));           // Thursday
  record(event("feedback", "f1", card2, "2026-11-05T10:05:00Z", {{"nps", 5}}));
  record(offer("offer-b", card2, "2026-11-05T10:06:00Z", "offered"));
  record(event("preference", "pf1", card2, "2026-11-05T10:07:00Z", {{"key", "bag"}, {"value", "paper"}}));
  ASSERT_NE(a, b);

  const Recorded merged = record(event("merge", "m1", sara, "2026-11-06T10:00:00Z", {{"other", card2}}));
  ASSERT_FALSE(merged.refused) << merged.error;
  EXPECT_EQ(merged.customer, a);
  EXPECT_EQ(merged.gone, (Gone{{b, a}}));
  const std::string c = std::to_string(a);
  EXPECT_EQ(count("customers WHERE id=" + std::to_string(b)), 0);
  EXPECT_EQ(customer(card2), a);
  EXPECT_EQ(count("events WHERE customer_id=" + std::to_string(b)), 0);
  // Four visits, each once, in the order they happened: Mon, Tue, Wed, Thu.
  EXPECT_EQ(one("SELECT visits, spend, first_seen_ms, last_seen_ms, weekday_hist FROM customers WHERE id=" + c),
            "4|1170|" + std::to_string(ms("2026-11-02T10:00:00Z")) + "|" + std::to_string(ms("2026-11-05T10:00:00Z")) +
                "|[1,1,1,1,0,0,0]");
  EXPECT_EQ(rows("SELECT sku, baskets FROM customer_items WHERE customer_id=" + c + " ORDER BY sku"),
            (std::vector<std::string>{"bread|3", "eggs|1", "milk|1"}));
  // Bread at visits 1, 2 and 4 of the merged history (visit order A, B, A, B): 1.9 * 0.9^2 + 1.
  // Replaying one customer's history after the other's would give visits 1, 3, 4: 2.629.
  EXPECT_NEAR(real("SELECT dsum FROM customer_items WHERE sku='bread' AND customer_id=" + c), 2.539, 1e-12);
  EXPECT_EQ(one("SELECT dvis FROM customer_items WHERE sku='bread' AND customer_id=" + c), "4");
  EXPECT_EQ(one("SELECT repeat_hits, repeat_total FROM customers WHERE id=" + c), "2|4");
  // What was the other customer's is now hers.
  EXPECT_EQ(one("SELECT customer_id FROM feedback"), c);
  EXPECT_EQ(one("SELECT customer_id, state FROM followups"), c + "|open");
  EXPECT_EQ(one("SELECT customer_id, status FROM offers"), c + "|offered");
  EXPECT_EQ(one("SELECT customer_id, value FROM preferences"), c + "|paper");
  EXPECT_EQ(one("SELECT last_complaint_ms FROM customers WHERE id=" + c), std::to_string(ms("2026-11-05T10:05:00Z")));
  // The store's counts already hold these baskets; an item both had bought has one buyer fewer.
  for (const auto& [sku, item] : merged.popularity.items) {
    EXPECT_EQ(item.baskets, 0) << sku;
    EXPECT_EQ(item.buyers, -1) << sku;
  }
  EXPECT_TRUE(merged.popularity.transitions.empty());
  EXPECT_EQ(merged.popularity.totals.baskets, 0);
  EXPECT_EQ(merged.popularity.totals.repeat_total, 0);
  // The other card goes on counting for her.
  EXPECT_EQ(record(purchase("p5", card2, "2026-11-07T10:00:00Z", {line("milk", 1, 120)})).customer, a);
  EXPECT_EQ(one("SELECT visits FROM customers WHERE id=" + c), "5");
}

TEST_F(ProjectorTest, AMergeNamingAnUnknownCustomerIsRefused) {
  const json sara = card("1001");
  record(purchase("p1", sara, "2026-11-02T10:00:00Z", {line("bread", 1, 250)}));
  const std::string before = whole_store();
  const Recorded r = record(event("merge", "m1", sara, "2026-11-03T10:00:00Z", {{"other", card("7777")}}));
  EXPECT_TRUE(r.refused);
  const Recorded unknown = record(event("merge", "m2", card("8888"), "2026-11-03T10:00:00Z", {{"other", sara}}));
  EXPECT_TRUE(unknown.refused);
  EXPECT_EQ(whole_store(), before);
}

// --- feedback, follow-ups, offers ---------------------------------------------------------------

TEST_F(ProjectorTest, UnhappyFeedbackOpensAFollowUpThatFollowupEventsMove) {
  const json sara = card("1001");
  const Recorded fb = record(event("feedback", "f1", sara, "2026-11-02T10:00:00Z",
                                   {{"nps", 4}, {"reasons", {"queue"}}, {"comment", "slow"}, {"cashier", "c1"}, {"lane", "lane-2"}}));
  ASSERT_FALSE(fb.refused) << fb.error;
  const std::string c = std::to_string(fb.customer), t1 = std::to_string(ms("2026-11-02T10:00:00Z"));
  EXPECT_EQ(one("SELECT customer_id, nps, csat, declined, reasons, comment, cashier, lane FROM feedback"),
            c + R"(|4|NULL|0|["queue"]|slow|c1|lane-2)");
  EXPECT_EQ(one("SELECT last_feedback_ms, last_complaint_ms FROM customers WHERE id=" + c), t1 + "|" + t1);
  EXPECT_EQ(one("SELECT feedback_seq, customer_id, state, opened_ms, notes FROM followups"),
            std::to_string(fb.seq) + "|" + c + "|open|" + t1 + "|[]");

  const auto t2 = ms("2026-11-02T12:00:00Z"), t3 = ms("2026-11-03T09:00:00Z");
  ASSERT_FALSE(record(event("followup", "u1", nullptr, "2026-11-02T12:00:00Z",
                            {{"feedback", "f1"}, {"state", "contacted"}, {"by", "owner"}, {"note", "called her"}}))
                   .refused);
  record(event("followup", "u2", nullptr, "2026-11-03T09:00:00Z", {{"feedback", "f1"}, {"state", "resolved"}}));
  EXPECT_EQ(one("SELECT state, updated_ms FROM followups"), "resolved|" + std::to_string(t3));
  EXPECT_EQ(json::parse(one("SELECT notes FROM followups")),
            json::parse(R"([{"time_ms":)" + std::to_string(t2) + R"(,"state":"contacted","by":"owner","note":"called her"},)" +
                        R"({"time_ms":)" + std::to_string(t3) + R"(,"state":"resolved"}])"));

  // A happy customer opens nothing, and nothing can follow it up; the last complaint stands.
  record(event("feedback", "f2", sara, "2026-11-04T10:00:00Z", {{"csat", 5}}));
  EXPECT_EQ(count("followups"), 1);
  EXPECT_EQ(one("SELECT last_feedback_ms, last_complaint_ms FROM customers WHERE id=" + c),
            std::to_string(ms("2026-11-04T10:00:00Z")) + "|" + t1);
  EXPECT_TRUE(record(event("followup", "u3", nullptr, "2026-11-04T11:00:00Z", {{"feedback", "f2"}, {"state", "contacted"}})).refused);
  // Anonymous and unhappy: still a follow-up, about nobody.
  const Recorded anonymous = record(event("feedback", "f3", nullptr, "2026-11-05T10:00:00Z", {{"csat", 2}}));
  EXPECT_EQ(anonymous.customer, 0);
  EXPECT_EQ(one("SELECT customer_id, state FROM followups WHERE feedback_seq=" + std::to_string(anonymous.seq)), "NULL|open");
  // Declining to answer is feedback asked, not a complaint.
  record(event("feedback", "f4", sara, "2026-11-06T10:00:00Z", {{"declined", true}}));
  EXPECT_EQ(one("SELECT last_feedback_ms, last_complaint_ms FROM customers WHERE id=" + c),
            std::to_string(ms("2026-11-06T10:00:00Z")) + "|" + t1);
  EXPECT_EQ(count("followups"), 2);
}

TEST_F(ProjectorTest, AnOfferAndItsOutcomes) {
  const json sara = card("1001");
  const std::int64_t a = record(purchase("p1", sara, "2026-11-02T10:00:00Z", {line("bread", 1, 250)})).customer;
  const Recorded made = record(offer("offer-1", sara, "2026-11-03T10:00:00Z", "offered"));
  ASSERT_FALSE(made.refused) << made.error;
  const std::string c = std::to_string(a), t = std::to_string(ms("2026-11-03T10:00:00Z"));
  EXPECT_EQ(one("SELECT offer_id, seq, rule_id, customer_id, made_ms, status, cost, visit, cashier, lane, sku, updated_ms FROM offers"),
            "offer-1|" + std::to_string(made.seq) + "|free-chips|" + c + "|" + t + "|offered|150|3|c7|lane-2|chips|" + t);

  const Recorded accepted = record(event("offer_outcome", "o1", nullptr, "2026-11-03T10:01:00Z",
                                         {{"offer_id", "offer-1"}, {"outcome", "accepted"}}));
  ASSERT_FALSE(accepted.refused) << accepted.error;
  EXPECT_EQ(one("SELECT status, updated_ms FROM offers"), "accepted|" + std::to_string(ms("2026-11-03T10:01:00Z")));
  // The outcome names no customer; its log row is the offer's customer's, for erasure and merges.
  EXPECT_EQ(one("SELECT customer_id FROM events WHERE seq=" + std::to_string(accepted.seq)), c);
  record(event("offer_outcome", "o2", nullptr, "2026-11-03T10:02:00Z", {{"offer_id", "offer-1"}, {"outcome", "redeemed"}}));
  EXPECT_EQ(one("SELECT status FROM offers"), "redeemed");

  std::string before = whole_store();
  EXPECT_TRUE(record(event("offer_outcome", "o3", nullptr, "2026-11-03T10:03:00Z",
                           {{"offer_id", "offer-1"}, {"outcome", "declined"}})).refused);
  EXPECT_TRUE(record(event("offer_outcome", "o4", nullptr, "2026-11-03T10:03:00Z",
                           {{"offer_id", "no-such-offer"}, {"outcome", "accepted"}})).refused);
  EXPECT_EQ(whole_store(), before);

  record(offer("offer-2", sara, "2026-11-04T10:00:00Z", "held_out"));
  EXPECT_TRUE(record(event("offer_outcome", "o5", nullptr, "2026-11-04T10:01:00Z",
                           {{"offer_id", "offer-2"}, {"outcome", "accepted"}})).refused);
  record(offer("offer-3", sara, "2026-11-05T10:00:00Z", "offered"));
  record(event("offer_outcome", "o6", nullptr, "2026-11-05T10:01:00Z", {{"offer_id", "offer-3"}, {"outcome", "declined"}}));
  EXPECT_TRUE(record(event("offer_outcome", "o7", nullptr, "2026-11-05T10:02:00Z",
                           {{"offer_id", "offer-3"}, {"outcome", "accepted"}})).refused);
  EXPECT_EQ(rows("SELECT offer_id, status FROM offers ORDER BY offer_id"),
            (std::vector<std::string>{"offer-1|redeemed", "offer-2|held_out", "offer-3|declined"}));

  // An offer for a customer the store no longer knows (erased meanwhile) enrols nobody.
  before = whole_store();
  EXPECT_TRUE(record(offer("offer-4", card("9999"), "2026-11-06T10:00:00Z", "offered")).refused);
  EXPECT_EQ(whole_store(), before);
}

TEST_F(ProjectorTest, WithoutTheWritersMemoryPurchasesCountInItemsAndStoreStatsOnce) {
  in_memory_popularity_ = false;
  const json sara = card("1001"), bob = card("1002");
  record(purchase("p1", sara, "2026-11-02T10:00:00Z", {line("bread", 1, 250, "bakery")}));
  record(purchase("p2", sara, "2026-11-03T10:00:00Z", {line("bread", 2, 250, "bakery"), line("milk", 1, 120)}));
  record(purchase("p3", bob, "2026-11-04T10:00:00Z", {line("bread", 1, 250, "bakery")}));
  const auto t3 = std::to_string(ms("2026-11-04T10:00:00Z"));
  const std::vector<std::string> items{"bread|the bread|3|4.0|" + t3 + "|bakery",
                                       "milk|the milk|1|1.0|" + std::to_string(ms("2026-11-03T10:00:00Z")) + "|NULL"};
  EXPECT_EQ(rows("SELECT sku, name, baskets, qty, last_ms, category FROM items ORDER BY sku"), items);
  // Sara's second visit: bread known, milk new.
  EXPECT_EQ(one("SELECT baskets, repeat_hits, repeat_total FROM store_stats"), "3|1|2");
  // A merge replays both histories for the customers only: the store's counts stand.
  record(event("merge", "m1", sara, "2026-11-05T10:00:00Z", {{"other", bob}}));
  EXPECT_EQ(one("SELECT visits FROM customers WHERE id=" + std::to_string(customer(sara))), "3");
  EXPECT_EQ(rows("SELECT sku, name, baskets, qty, last_ms, category FROM items ORDER BY sku"), items);
  EXPECT_EQ(one("SELECT baskets, repeat_hits, repeat_total FROM store_stats"), "3|1|2");
}

// --- the log is the truth -------------------------------------------------------------------------

// Popularity as text, item by item, with each item's successors: what readers would see.
std::vector<std::string> describe(const Popularity& p) {
  std::vector<std::string> out;
  const StoreTotals t = p.totals();
  out.push_back("totals " + std::to_string(t.baskets) + " " + std::to_string(t.repeat_hits) + " " + std::to_string(t.repeat_total));
  for (const auto& [sku, id, info] : p.top(1000)) {
    std::string s = sku + " " + info.name + " " + info.category + " " + std::to_string(info.baskets) + " " +
                    std::to_string(info.qty) + " " + std::to_string(info.last_ms) + " <-";
    const auto reading = p.read();
    for (const auto& src : reading.sources_of({sku})) {
      s += " transitions=" + std::to_string(src.transitions);
      for (const Neighbour* n : src.by_count) s += " " + std::string(reading.sku(n->item)) + ":" + std::to_string(n->count);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Some of every event: purchases, a return, members, preferences, notes, profiles, consents, a
// withdrawal with erasure, links, a merge, feedback with follow-ups, offers with outcomes, a
// staff idea.
void ProjectorTest::record_a_bit_of_everything() {
  auto rec = [this](const json& e) { return record(e); };
  auto rec_prepared = [this](PreparedEvent e) { return record(std::move(e)); };
  const json sara = card("1001"), bob = card("1002"), cleo = card("1003"), wren = card("1004");
  const json bobs_phone = {{"kind", "phone"}, {"value", "+98 912 000 0002"}};
  const json wrens_mail = {{"kind", "email"}, {"value", "Wren@example.org"}};
  std::vector<Recorded> all;
  auto ok = [&](const Recorded& r) {
    EXPECT_FALSE(r.refused) << r.error;
    all.push_back(r);
  };
  ok(rec(event("profile", "e01", sara, "2026-11-01T09:00:00+03:30",
               {{"name", "Sara"}, {"birthday", "05-17"}, {"do_not_mention", {"weight"}}, {"discreet", true},
                {"household", {{{"member", "son"}, {"name", "Ali"}}}}})));
  ok(rec(event("consent", "e02", sara, "2026-11-01T09:01:00+03:30", {{"purposes", {{"remember", true}, {"personalize", true}}}})));
  ok(rec(purchase("e03", sara, "2026-11-02T18:00:00+03:30",
                  {line("bread", 1, 250, "bakery"), line("milk", 2, 120, "dairy"), for_member(line("chips", 1, 90), "son")})));
  ok(rec(purchase("e04", bob, "2026-11-02T19:00:00Z", {line("bread", 1, 250, "bakery"), line("coffee", 1, 900)})));
  ok(rec(purchase("e05", wren, "2026-11-02T20:00:00Z", {line("wren-only", 1, 500)})));  // before she first consents
  ok(rec(event("preference", "e06", sara, "2026-11-03T10:00:00Z", {{"key", "bag"}, {"value", "paper"}, {"said_by", "customer"}})));
  ok(rec(event("note", "e07", sara, "2026-11-03T10:01:00Z", {{"text", "New address"}, {"cashier", "c1"}})));
  ok(rec(purchase("e08", sara, "2026-11-04T08:00:00+03:30", {line("bread", 1, 250, "bakery"), line("eggs", 1, 300, "dairy")})));
  ok(rec(event("return", "e09", sara, "2026-11-04T09:00:00+03:30", {{"lines", {line("eggs", 1, 300, "dairy")}}})));
  ok(rec(event("feedback", "e10", sara, "2026-11-04T09:05:00Z", {{"nps", 4}, {"comment", "queue"}})));
  ok(rec(event("followup", "e11", nullptr, "2026-11-04T12:00:00Z", {{"feedback", "e10"}, {"state", "contacted"}, {"by", "owner"}})));
  ok(rec_prepared(offer("e12", sara, "2026-11-05T10:00:00Z", "offered")));
  ok(rec(event("offer_outcome", "e13", nullptr, "2026-11-05T10:01:00Z", {{"offer_id", "e12"}, {"outcome", "accepted"}})));
  ok(rec(event("link", "e14", bob, "2026-11-05T11:00:00Z", {{"identifier", bobs_phone}})));
  ok(rec(purchase("e15", bobs_phone, "2026-11-05T12:00:00Z",
                  {line("coffee", 1, 900), for_member(line("crayons", 1, 300), "daughter")})));
  ok(rec(event("preference", "e16", bob, "2026-11-05T12:01:00Z", {{"for", "daughter"}, {"key", "colour"}, {"value", "red"}})));
  ok(rec(event("feedback", "e17", bob, "2026-11-05T12:02:00Z", {{"csat", 5}})));
  ok(rec(purchase("e18", cleo, "2026-11-06T09:00:00Z", {line("bread", 1, 250, "bakery"), line("coffee", 1, 900)})));
  ok(rec(event("feedback", "e19", cleo, "2026-11-06T09:05:00Z", {{"nps", 2}})));
  ok(rec_prepared(offer("e20", cleo, "2026-11-06T09:06:00Z", "held_out")));
  ok(rec(event("merge", "e21", sara, "2026-11-07T10:00:00Z", {{"other", cleo}})));
  ok(rec(purchase("e22", cleo, "2026-11-08T10:00:00Z", {line("bread", 1, 250, "bakery"), line("milk", 1, 120, "dairy")})));
  ok(rec(event("consent", "e23", wren, "2026-11-08T10:59:00Z", {{"purposes", {{"remember", true}}}})));
  ok(rec(event("preference", "e23b", wren, "2026-11-08T11:00:00Z", {{"key", "receipt"}, {"value", "email"}})));
  ok(rec(event("note", "e24", wren, "2026-11-08T11:01:00Z", {{"text", "Prefers the quiet lane"}})));
  ok(rec(event("profile", "e25", wren, "2026-11-08T11:02:00Z", {{"name", "Wren"}})));
  ok(rec(event("link", "e25b", wren, "2026-11-08T11:03:00Z", {{"identifier", wrens_mail}})));
  ok(rec(event("consent", "e26", wrens_mail, "2026-11-09T11:00:00Z", {{"purposes", {{"remember", false}}}})));
  ok(rec(purchase("e27", wrens_mail, "2026-11-10T11:00:00Z", {line("milk", 1, 120, "dairy")})));
  ok(rec(event("feedback", "e28", nullptr, "2026-11-10T12:00:00Z", {{"csat", 1}, {"comment", "no trolleys"}})));
  ok(rec(event("followup", "e29", nullptr, "2026-11-10T13:00:00Z", {{"feedback", "e28"}, {"state", "resolved"}})));
  ok(rec(event("staff_idea", "e30", nullptr, "2026-11-10T14:00:00Z", {{"cashier", "c1"}, {"text", "More trolleys"}})));
  ok(rec(event("profile", "e31", bob, "2026-11-11T10:00:00Z", {{"name", "Bob"}, {"tags", {"staff"}}})));
  ok(rec(purchase("e32", bob, "2026-11-12T10:00:00Z", {line("coffee", 2, 900), line("bread", 1, 250, "bakery")})));
}

// The store's items, read back at start-up, each with its distinct buyers as customer_items has them.
TEST_F(ProjectorTest, ItemsReadBackAtStartCountEachItemsDistinctBuyers) {
  record(purchase("p1", card("1001"), "2026-11-02T10:00:00Z", {line("bread", 1, 250), line("milk", 1, 120)}));
  record(purchase("p2", card("1002"), "2026-11-02T11:00:00Z", {line("bread", 1, 250)}));
  record(purchase("p3", card("1002"), "2026-11-03T11:00:00Z", {line("bread", 2, 250)}));
  record(purchase("p4", card("1003"), "2026-11-03T12:00:00Z", {line("milk", 1, 120), line("eggs", 1, 300)}));
  live_popularity_.flush(db_, true);
  Popularity loaded;
  loaded.load(db_);
  const auto buyers = [&](const std::string& sku) { return loaded.item(sku).value_or(ItemInfo{}).buyers; };
  EXPECT_EQ(buyers("bread"), 2);
  EXPECT_EQ(buyers("milk"), 2);
  EXPECT_EQ(buyers("eggs"), 1);
  EXPECT_EQ(loaded.item("bread")->baskets, 3);
  EXPECT_EQ(loaded.repeat_share(), live_popularity_.repeat_share());
}

TEST_F(ProjectorTest, ReplayingTheLogIntoClearedProjectionsGivesTheSameTables) {
  record_a_bit_of_everything();
  // Nothing below may pass for want of rows to compare.
  for (const char* table : {"customers", "identifiers", "customer_items", "customer_categories", "member_items", "household",
                            "preferences", "notes", "feedback", "followups", "staff_ideas", "offers"})
    EXPECT_GT(count(table), 0) << table;
  EXPECT_EQ(count("customers"), 3) << "Cleo merged into Sara";

  Popularity rebuilt;
  EXPECT_EQ(differences_after_rebuild(rebuilt), std::vector<std::string>{});
  // The store's popularity, counted again event by event, is what the writer counted, but for
  // Wren's basket: her erased history is gone from the log, while the live counts keep it
  // (anonymous statistics, as EventStore::erase_customer leaves them).
  std::vector<std::string> live = describe(live_popularity_), replayed = describe(rebuilt);
  ASSERT_GT(live.size(), 5u);
  EXPECT_EQ(live.front(), "totals 9 6 8");
  EXPECT_EQ(replayed.front(), "totals 8 6 8");
  EXPECT_EQ(std::erase_if(live, [](const std::string& item) { return item.starts_with("wren-only "); }), 1u);
  live.erase(live.begin());
  replayed.erase(replayed.begin());
  EXPECT_EQ(replayed, live);
}

}  // namespace
}  // namespace regulars::daemon
