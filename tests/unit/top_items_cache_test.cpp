// The top items of long histories, kept in memory for the hints (store/top_items_cache.hpp): what
// the cache keeps and refuses, and, on a real EventStore, that EventStore::top_items gives what
// the store holds after a purchase, a merge, an erasure, a rebuild and a retention prune.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "memory/identity.hpp"
#include "store/event_store.hpp"
#include "store/top_items_cache.hpp"
#include "temp_dir.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {
namespace {

using nlohmann::json;

std::vector<ItemStat> rows(int n, const std::string& prefix = "sku-") {
  std::vector<ItemStat> out;
  for (int i = 0; i < n; ++i) out.push_back(ItemStat{prefix + std::to_string(i), "", n - i, 2000 + i, 1000, "cat", 0, 1.0, 1, 0});
  return out;
}

std::vector<std::string> skus(const std::vector<ItemStat>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.sku);
  return out;
}

TEST(TopItemsCache, KeepsLongHistoriesOnlyAndServesAnyLimitUpToWhatItKeeps) {
  TopItemsCache cache(1024);
  cache.offer(1, cache.epoch(), rows(TopItemsCache::kRows - 1));
  EXPECT_FALSE(cache.find(1, 10)) << "a short history is read from the store";
  cache.offer(2, cache.epoch(), rows(TopItemsCache::kRows));
  const auto top = cache.find(2, 50);
  ASSERT_TRUE(top);
  EXPECT_EQ(top->size(), 50u);
  EXPECT_EQ(skus(*top).front(), "sku-0");
  EXPECT_EQ((*top)[3].baskets, TopItemsCache::kRows - 3);
  EXPECT_EQ((*top)[3].category, "cat");
  EXPECT_FALSE(cache.find(2, TopItemsCache::kRows + 1)) << "more rows than are kept come from the store";
}

TEST(TopItemsCache, RefusesRowsReadBeforeAChangeToTheSameShard) {
  TopItemsCache cache(1024);
  const std::uint64_t before = cache.epoch();
  cache.forget(7);  // the writer committed a change to customer 7 after the reader's snapshot began
  cache.offer(7, before, rows(TopItemsCache::kRows));
  EXPECT_FALSE(cache.find(7, 10)) << "rows from a snapshot that may predate the change";
  cache.offer(7, cache.epoch(), rows(TopItemsCache::kRows));
  EXPECT_TRUE(cache.find(7, 10));
  cache.forget(7);
  EXPECT_FALSE(cache.find(7, 10));
  cache.offer(8, cache.epoch(), rows(TopItemsCache::kRows));
  cache.clear();
  EXPECT_FALSE(cache.find(8, 10));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TopItemsCache, StaysWithinItsCapacity) {
  TopItemsCache cache(128);
  for (int id = 1; id <= 1000; ++id) cache.offer(id, cache.epoch(), rows(TopItemsCache::kRows));
  EXPECT_LE(cache.size(), 128u);
  EXPECT_GT(cache.size(), 0u);
}

// On a real store: a customer with more items than the cache keeps.
const IdentityKey& test_key() {
  static const IdentityKey key(IdentitySecret{3, 1, 4});
  return key;
}

json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }

json basket_of(int first, int n) {
  json lines = json::array();
  for (int i = first; i < first + n; ++i) lines.push_back({{"sku", "item-" + std::to_string(i)}, {"qty", 1}, {"unit_price", 100}});
  return lines;
}

PreparedEvent event(json e, const std::string& type, const std::string& id, const json& who, const std::string& time) {
  e["type"] = type;
  e["event_id"] = id;
  e["customer"] = who;
  e["time"] = time;
  EXPECT_FALSE(wire::validate_event(e).has_value()) << e.dump();
  return prepare_event(e, test_key());
}

WriteResult submit_and_wait(EventStore& store, PreparedEvent e) {
  std::promise<WriteResult> done;
  auto result = done.get_future();
  store.submit(std::move(e), [&done](WriteResult r) { done.set_value(std::move(r)); });
  return result.get();
}

class TopItemsInStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<EventStore>(dir_.path(), EventStore::Options{});
    // 80 items over four visits, the first ten on every visit.
    for (int v = 0; v < 4; ++v) {
      json lines = basket_of(0, 10);
      for (const auto& l : basket_of(10 + v * 20, 20)) lines.push_back(l);
      buy("long", "p" + std::to_string(v), lines, "2026-11-0" + std::to_string(v + 1) + "T10:00:00Z");
    }
    buy("other", "o1", basket_of(500, 3), "2026-11-02T10:00:00Z");
    long_id_ = customer("long");
    ASSERT_GT(long_id_, 0);
  }

  void buy(const std::string& who, const std::string& id, const json& lines, const std::string& time) {
    const auto r = submit_and_wait(*store_, event({{"lines", lines}}, "purchase", id, card(who), time));
    ASSERT_TRUE(r.ok) << r.error;
  }
  std::int64_t customer(const std::string& who) {
    const auto c = store_->find_customer("card", test_key().hash("card", who));
    return c ? c->id : 0;
  }
  // What the store holds, read without the cache.
  std::vector<std::string> stored_top(std::int64_t id, int limit = 50) {
    Stmt s(store_->read_connection().raw(),
           "SELECT sku FROM customer_items WHERE customer_id=? ORDER BY rank_key DESC, sku LIMIT ?");
    s.bind(1, id).bind(2, std::int64_t{limit});
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }
  // Asks twice: the first answer may come from the store, the second from the cache.
  void expect_top_is_stored(std::int64_t id, const char* after) {
    const auto first = skus(store_->top_items(id, 50));
    const auto second = skus(store_->top_items(id, 50));
    EXPECT_EQ(first, stored_top(id)) << "after " << after;
    EXPECT_EQ(second, stored_top(id)) << "after " << after << " (cached)";
  }

  test::TempDir dir_;
  std::unique_ptr<EventStore> store_;
  std::int64_t long_id_ = 0;
};

TEST_F(TopItemsInStoreTest, ALongHistoryIsServedFromMemoryAndAPurchaseIsSeenAtOnce) {
  expect_top_is_stored(long_id_, "the first read");
  EXPECT_EQ(store_->cached_top_items(), 1u) << "only the long history is kept";
  // Bought on a fifth visit, item-95 comes into the top rows; the acknowledged purchase is seen.
  buy("long", "p5", json::array({{{"sku", "item-95"}, {"qty", 1}, {"unit_price", 100}}}), "2026-11-06T10:00:00Z");
  const auto top = skus(store_->top_items(long_id_, 50));
  EXPECT_EQ(top, stored_top(long_id_));
  EXPECT_NE(std::find(top.begin(), top.end(), "item-95"), top.end());
}

TEST_F(TopItemsInStoreTest, AKeptHistoryIsReadAgainByTheWriterAfterAPurchase) {
  expect_top_is_stored(long_id_, "the first read");
  buy("long", "p5", json::array({{{"sku", "item-95"}, {"qty", 1}, {"unit_price", 100}}}), "2026-11-06T10:00:00Z");
  EXPECT_EQ(store_->cached_top_items(), 1u) << "kept across the purchase, not dropped until the next answer";
  expect_top_is_stored(long_id_, "a purchase");
}

TEST_F(TopItemsInStoreTest, AfterARestartTheLongHistoriesAreWarmedFromTheStore) {
  store_.reset();
  store_ = std::make_unique<EventStore>(dir_.path(), EventStore::Options{});
  EXPECT_EQ(store_->cached_top_items(), 0u);
  EXPECT_EQ(store_->warm_top_items(), 1u) << "the one customer with a long history";
  expect_top_is_stored(customer("long"), "a restart");
}

TEST_F(TopItemsInStoreTest, AMergeGivesTheSurvivorBothHistories) {
  expect_top_is_stored(long_id_, "the first read");
  const auto r = submit_and_wait(*store_, event({{"other", card("other")}}, "merge", "m1", card("long"), "2026-11-07T10:00:00Z"));
  ASSERT_TRUE(r.ok) << r.error;
  const auto all = stored_top(long_id_, 200);
  EXPECT_NE(std::find(all.begin(), all.end(), "item-500"), all.end()) << "the merged customer's items are hers now";
  expect_top_is_stored(long_id_, "a merge");
}

TEST_F(TopItemsInStoreTest, AnErasedCustomersItemsAreNotServedToWhoeverGetsTheirIdNext) {
  expect_top_is_stored(long_id_, "the first read");
  ASSERT_TRUE(store_->erase_customer("card", test_key().hash("card", "long"), "test"));
  EXPECT_TRUE(store_->top_items(long_id_, 50).empty());
  EXPECT_TRUE(stored_top(long_id_).empty());
  EXPECT_EQ(store_->cached_top_items(), 0u);
}

TEST_F(TopItemsInStoreTest, ARebuildAndAPruneLeaveNothingStale) {
  expect_top_is_stored(long_id_, "the first read");
  ASSERT_TRUE(store_->rebuild().identical());
  EXPECT_EQ(store_->cached_top_items(), 0u) << "a rebuild may change anyone";
  expect_top_is_stored(long_id_, "a rebuild");
  // Retention: the first two visits go; the rows left are those of the last two.
  const auto pruned = store_->prune(wire::parse_time_ms("2026-11-03T00:00:00Z").value());
  EXPECT_EQ(pruned["pruned"].get<int>(), 3);
  EXPECT_EQ(store_->cached_top_items(), 0u);
  const std::int64_t id = customer("long");
  expect_top_is_stored(id, "a prune");
  EXPECT_EQ(stored_top(id, 200).size(), 50u) << "ten items on every visit and twenty of each of the last two";
}

// A customer's items are read in key order and sorted in memory: a short history, a long one and
// one of hundreds of items all give the store's order, ties (items of the same visits) by sku,
// for any limit.
TEST_F(TopItemsInStoreTest, ShortAndVeryLongHistoriesGiveTheStoresOrderForAnyLimit) {
  for (int v = 0; v < 3; ++v)
    buy("very long", "v" + std::to_string(v), basket_of(1000 + v * 90, 100 + v * 10), "2026-11-0" + std::to_string(v + 2) + "T09:00:00Z");
  const std::int64_t very_long = customer("very long");
  ASSERT_GT(very_long, 0);
  ASSERT_EQ(stored_top(very_long, 1000).size(), 300u);
  const std::int64_t other = customer("other");
  for (const std::int64_t id : {very_long, long_id_, other})
    for (const int limit : {1, 3, 50, 60, 400}) {
      const auto read = skus(store_->top_items(id, limit));
      EXPECT_EQ(read, stored_top(id, limit)) << "customer " << id << ", limit " << limit;
    }
}

}  // namespace
}  // namespace regulars::daemon
