// The event store in process: a real EventStore on a SQLite file in a temporary directory, its
// writer, syncer and checkpointer threads running. What it acknowledges, what it refuses, what a
// failing disk does to it, and the rule that nothing on the writer thread may wait for the writer.
#include <gtest/gtest.h>

#include <atomic>
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "db/db.hpp"
#include "memory/identity.hpp"
#include "store/bulk_writer.hpp"
#include "store/event_store.hpp"
#include "temp_dir.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const IdentityKey& test_key() {
  static const IdentityKey key(IdentitySecret{7, 7, 7});
  return key;
}

json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }

PreparedEvent purchase(const std::string& id, const std::string& who, const std::string& sku = "bread") {
  const json e = {{"type", "purchase"},
                  {"event_id", id},
                  {"time", "2026-11-20T10:00:00Z"},
                  {"customer", card(who)},
                  {"lines", {{{"sku", sku}, {"name", sku}, {"qty", 1}, {"unit_price", 250}}}}};
  EXPECT_FALSE(wire::validate_event(e).has_value()) << e.dump();
  return prepare_event(e, test_key());
}

// Submits one event and waits for what the store says about it.
WriteResult submit_and_wait(EventStore& store, PreparedEvent event) {
  std::promise<WriteResult> done;
  auto result = done.get_future();
  store.submit(std::move(event), [&done](WriteResult r) { done.set_value(std::move(r)); });
  return result.get();
}

std::int64_t visits(EventStore& store, const std::string& who) {
  const auto c = store.find_customer("card", test_key().hash("card", who));
  return c ? c->visits : -1;
}

class EventStoreTest : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir_.path(); }
  test::TempDir dir_;
};

TEST_F(EventStoreTest, AnAcknowledgedEventIsReadBackAndARepeatChangesNothing) {
  EventStore store(data_dir(), EventStore::Options{});
  const WriteResult first = submit_and_wait(store, purchase("ev-1", "4000100"));
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(visits(store, "4000100"), 1);
  const WriteResult again = submit_and_wait(store, purchase("ev-1", "4000100"));
  ASSERT_TRUE(again.ok);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.seq, first.seq);
  EXPECT_EQ(visits(store, "4000100"), 1) << "a replayed event id is counted once";
  EXPECT_EQ(store.stats().events, 1);
}

TEST_F(EventStoreTest, AGroupWithOneRefusedEventStoresTheOthers) {
  EventStore store(data_dir(), EventStore::Options{});
  ASSERT_TRUE(submit_and_wait(store, purchase("ev-a", "a")).ok);
  ASSERT_TRUE(submit_and_wait(store, purchase("ev-b", "b")).ok);
  // A link to an identifier another customer holds is refused; the events around it are not.
  const json link = {{"type", "link"}, {"event_id", "ev-link"}, {"customer", card("a")}, {"identifier", card("b")}};
  std::vector<PreparedEvent> group;
  group.push_back(purchase("ev-1", "a"));
  group.push_back(prepare_event(link, test_key()));
  group.push_back(purchase("ev-2", "b"));
  std::mutex m;
  std::vector<WriteResult> results;
  std::condition_variable cv;
  store.submit_all(std::move(group), [&](WriteResult r) {
    std::lock_guard lock(m);
    results.push_back(std::move(r));
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return results.size() == 3; });
  int refused = 0, stored = 0;
  for (const auto& r : results) {
    refused += r.refused;
    stored += r.ok;
  }
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(stored, 2);
  EXPECT_EQ(visits(store, "a"), 2);
  EXPECT_EQ(visits(store, "b"), 2);
}

TEST_F(EventStoreTest, WaitingForTheWriterOnTheWriterThrowsInsteadOfHanging) {
  EventStore store(data_dir(), EventStore::Options{});
  // write_now runs its function on the writer; audit inside it would wait for the writer.
  EXPECT_THROW(store.write_now([&](Db&) { store.audit("test", "nested", ""); }), std::logic_error);
  // The writer is still there for everyone else.
  EXPECT_TRUE(submit_and_wait(store, purchase("ev-after", "4000200")).ok);
  EXPECT_NO_THROW(store.audit("test", "after", ""));
}

// What store.hpp documents for a failed flush: nothing is acknowledged from then on, the WAL
// is kept whole (no checkpoint, none at close), and a restart recovers from what the disk has.
TEST_F(EventStoreTest, AFailedFlushIsNeverAcknowledgedAndTheWalIsKeptForARestart) {
  std::atomic<bool> disk_failing{false};
  std::atomic<int> failed_flushes{0};
  EventStore::Options options;
  options.file_sync = [&](int fd) {
    if (!disk_failing.load()) return ::fdatasync(fd);
    ++failed_flushes;
    errno = EIO;
    return -1;
  };
  {
    EventStore store(data_dir(), options);
    ASSERT_TRUE(submit_and_wait(store, purchase("ev-before", "4000300")).ok);
    disk_failing = true;
    const WriteResult during = submit_and_wait(store, purchase("ev-during", "4000300"));
    EXPECT_FALSE(during.ok);
    EXPECT_NE(during.error.find("not acknowledged"), std::string::npos) << during.error;
    EXPECT_NE(during.error.find("retry with the same event_id"), std::string::npos) << during.error;
    EXPECT_GE(failed_flushes.load(), 1);
    disk_failing = false;  // the disk answers again, but what it lost is unknown: still refused
    const WriteResult after = submit_and_wait(store, purchase("ev-after", "4000300"));
    EXPECT_FALSE(after.ok);
    EXPECT_NE(after.error.find("not acknowledged"), std::string::npos) << after.error;
    store.stop();
    EXPECT_GT(fs::file_size(data_dir() + "/regulars.db-wal"), 0u) << "the WAL is kept whole after a failed flush";
  }
  // A restart replays the WAL; a retry of the unacknowledged events with their ids is safe.
  EventStore store(data_dir(), EventStore::Options{});
  EXPECT_TRUE(submit_and_wait(store, purchase("ev-before", "4000300")).duplicate);
  const WriteResult retried = submit_and_wait(store, purchase("ev-during", "4000300"));
  EXPECT_TRUE(retried.ok);
  EXPECT_EQ(visits(store, "4000300"), 3) << "every event once: before, during (recovered or retried), after";
}

TEST_F(EventStoreTest, ARebuildAfterAnErasureKeepsEveryOtherCustomersId) {
  EventStore store(data_dir(), EventStore::Options{});
  for (const char* who : {"first", "second", "third"})
    for (int visit = 0; visit < 2; ++visit)
      ASSERT_TRUE(submit_and_wait(store, purchase(std::string(who) + std::to_string(visit), who)).ok);
  const auto third_before = store.find_customer("card", test_key().hash("card", "third"));
  ASSERT_TRUE(store.erase_customer("card", test_key().hash("card", "first"), "test"));
  const RebuildReport report = store.rebuild();
  for (const auto& [table, rows] : report.differences) {
    const bool anonymous_counts = table == "items" || table == "store_stats" || table == "item_sources";
    if (anonymous_counts) continue;  // the erasure leaves the anonymous counts as they were
    EXPECT_EQ(rows, 0) << table;
  }
  const auto third_after = store.find_customer("card", test_key().hash("card", "third"));
  ASSERT_TRUE(third_before && third_after);
  EXPECT_EQ(third_after->id, third_before->id);
  EXPECT_EQ(third_after->visits, 2);
}

// A purchase of several items on day `day` of November 2026.
PreparedEvent basket(const std::string& id, const std::string& who, const std::vector<std::string>& skus, int day) {
  json lines = json::array();
  for (const auto& sku : skus) lines.push_back({{"sku", sku}, {"name", sku}, {"qty", 1}, {"unit_price", 100}});
  char time[32];
  std::snprintf(time, sizeof time, "2026-11-%02dT10:00:00Z", day);
  const json e = {{"type", "purchase"}, {"event_id", id}, {"time", time}, {"customer", card(who)}, {"lines", lines}};
  EXPECT_FALSE(wire::validate_event(e).has_value()) << e.dump();
  return prepare_event(e, test_key());
}

// Every row of what the store keeps of its item popularity, as text.
std::vector<std::string> popularity_rows(const std::string& dir) {
  Db db(dir + "/regulars.db", Db::Mode::read_only);
  std::vector<std::string> rows;
  for (const char* sql : {"SELECT sku || ' ' || baskets || ' ' || qty || ' ' || last_ms FROM items ORDER BY sku",
                          "SELECT src || ' ' || transitions || ' ' || successors FROM item_sources ORDER BY src",
                          "SELECT cell || ' ' || trials || ' ' || hits FROM blend_cells ORDER BY cell",
                          "SELECT key || ' ' || value FROM store_meta WHERE key IN ('items_seq', 'sources_seq') ORDER BY key"}) {
    Stmt s(db.raw(), sql);
    while (s.step()) rows.push_back(s.text(0));
  }
  return rows;
}

// The same log loaded in chunks, with an erasure (a task, which changes the popularity itself)
// halfway: with the writer merging each group, or with rg-merger beside it (acknowledging after
// the merge, as the daemon does, or before, as a bulk load does).
std::vector<std::string> bulk_load(const std::string& dir, bool merge_beside_writer, bool acks_wait_for_merge = true) {
  fs::create_directories(dir);
  EventStore::Options options;
  options.group_commit_max = 64;
  options.merge_beside_writer = merge_beside_writer;
  options.acks_wait_for_merge = acks_wait_for_merge;
  EventStore store(dir, options);
  std::uint64_t rng = 12345;
  const auto next = [&rng](std::uint64_t n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (rng >> 33) % n;
  };
  int id = 0;
  for (int chunk = 0; chunk < 24; ++chunk) {
    std::vector<PreparedEvent> events;
    for (int i = 0; i < 64; ++i) {
      std::vector<std::string> skus;
      for (std::uint64_t n = 1 + next(4); n > 0; --n) skus.push_back("sku" + std::to_string(next(25)));
      std::sort(skus.begin(), skus.end());
      skus.erase(std::unique(skus.begin(), skus.end()), skus.end());
      events.push_back(basket("bulk-" + std::to_string(id), "c" + std::to_string(next(40)), skus, 1 + id / 64));
      ++id;
    }
    for (const WriteResult& r : store.apply_now(std::move(events))) {
      EXPECT_TRUE(r.ok) << r.error;
    }
    if (chunk == 12) {
      EXPECT_TRUE(store.erase_customer("card", test_key().hash("card", "c7"), "test"));
    }
  }
  store.stop();
  return popularity_rows(dir);
}

TEST_F(EventStoreTest, ABulkLoadMergingBesideTheWriterCountsTheStoreAsTheWriterDoes) {
  const std::vector<std::string> by_writer = bulk_load(data_dir() + "/by-writer", false);
  const std::vector<std::string> beside = bulk_load(data_dir() + "/beside", true);
  const std::vector<std::string> unacked = bulk_load(data_dir() + "/beside-unacked", true, false);
  ASSERT_GT(by_writer.size(), 40U) << "items, successors and the blend's cells were written";
  EXPECT_EQ(beside, by_writer);
  EXPECT_EQ(unacked, by_writer);
}

// The daemon merges beside the writer too, and acknowledges a purchase only once it is merged:
// the till told "stored" finds the item counted in the very next read.
TEST_F(EventStoreTest, AnAcknowledgedPurchaseIsCountedWhenTheMergeIsBesideTheWriter) {
  EventStore::Options options;
  options.merge_beside_writer = true;
  EventStore store(data_dir(), options);
  for (int i = 0; i < 150; ++i) {
    const std::string sku = "seen-" + std::to_string(i);
    std::vector<PreparedEvent> one;
    one.push_back(basket("ack-" + std::to_string(i), "c" + std::to_string(i % 9), {sku}, 1 + i % 28));
    const auto results = store.apply_now(std::move(one));
    ASSERT_TRUE(results.front().ok) << results.front().error;
    const auto pop = store.read_popularity();
    const ItemInfo* item = pop.item(std::string_view(sku));
    ASSERT_NE(item, nullptr) << sku << " acknowledged but not counted yet";
    EXPECT_EQ(item->baskets, 1);
  }
}

// Chunks in flight together still reach the log in the order their events were added, and every
// answer is counted once.
TEST_F(EventStoreTest, ABulkWriterKeepsTheOrderItsEventsWereAddedIn) {
  EventStore::Options options;
  options.group_commit_max = 8;
  options.merge_beside_writer = true;
  EventStore store(data_dir(), options);
  std::vector<std::int64_t> refused;
  {
    BulkWriter writer(store, 8, [&refused](std::int64_t tag, const WriteResult&) { refused.push_back(tag); });
    for (int i = 0; i < 200; ++i) {
      writer.add(purchase("order-" + std::to_string(i), "c" + std::to_string(i % 7)), i);
      if (writer.full()) writer.flush();
    }
    writer.add(purchase("order-3", "c3"), 200);  // the same event again: a duplicate, not a failure
    writer.finish();
    EXPECT_EQ(writer.outcome().stored, 200);
    EXPECT_EQ(writer.outcome().duplicates, 1);
    EXPECT_EQ(writer.outcome().failed, 0);
  }
  EXPECT_TRUE(refused.empty());
  store.stop();
  Db db(data_dir() + "/regulars.db", Db::Mode::read_only);
  Stmt s(db.raw(), "SELECT event_id FROM events ORDER BY seq");
  int expected = 0;
  while (s.step()) EXPECT_EQ(s.text(0), "order-" + std::to_string(expected++));
  EXPECT_EQ(expected, 200);
}

}  // namespace
}  // namespace regulars::daemon
