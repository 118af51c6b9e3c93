// A customer's consent settled from their consent records as a set (memory/consent.hpp), over a
// real, migrated SQLite file: the records are written to the log as the writer logs them, in
// the orders different stores of a chain would hold them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "db/db.hpp"
#include "memory/consent.hpp"
#include "temp_dir.hpp"

namespace regulars::daemon {
namespace {

using nlohmann::json;

struct Record {
  std::string id;
  std::int64_t time_ms;
  json purposes;
  json supersedes;     // null: logged before the stamp
  std::string origin = {};  // the store it came from; empty: this store's own
};

class ConsentTest : public ::testing::Test {
 protected:
  ConsentTest() : db_(dir_.sub("regulars.db"), Db::Mode::read_write) {
    migrate(db_);
    db_.exec("PRAGMA synchronous=OFF");
  }

  // Logs the records for `customer` in the order given.
  void log(std::int64_t customer, const std::vector<Record>& records) {
    for (const auto& r : records) {
      json body = {{"type", "consent"}, {"event_id", r.id + "-" + std::to_string(customer)}, {"purposes", r.purposes}};
      if (!r.supersedes.is_null()) {
        json ids = json::array();
        for (const auto& id : r.supersedes) ids.push_back(id.get<std::string>() + "-" + std::to_string(customer));
        body[kSupersedesKey] = ids;
      }
      Stmt& s = db_.cached("INSERT INTO events(event_id, type, customer_id, time_ms, body, seq, origin) VALUES(?, 'consent', ?, ?, ?, ?, ?)");
      s.bind(1, body["event_id"].get<std::string>()).bind(2, customer).bind(3, r.time_ms).bind(4, body.dump()).bind(5, ++seq_);
      if (r.origin.empty()) s.bind_null(6); else s.bind(6, r.origin);
      s.run();
    }
  }
  ConsentState settle(std::int64_t customer) { return settle_consent(db_, customer, seq_); }

  test::TempDir dir_;
  Db db_;
  std::int64_t seq_ = 0;
};

const json kGrant = {{"remember", true}, {"personalize", true}};
const json kWithdraw = {{"personalize", false}};
const json kRegrant = {{"personalize", true}};

TEST_F(ConsentTest, RecordsWithoutTheStampSettleInLogOrder) {
  log(1, {{"g", 100, kGrant, nullptr}, {"w", 200, kWithdraw, nullptr}});
  log(2, {{"g", 100, kGrant, nullptr}, {"w", 200, kWithdraw, nullptr}, {"r", 300, kRegrant, nullptr}});
  EXPECT_EQ(settle(1).personalize, false);
  EXPECT_EQ(settle(1).remember, true);
  EXPECT_EQ(settle(1).personalize_withdrawn_ms, 200);
  EXPECT_EQ(settle(2).personalize, true);
  EXPECT_EQ(settle(2).consent_ms, 300);
}

// A grant given before a withdrawal, arriving after it (a till's spool), does not undo it; a
// withdrawal always takes effect, whatever its date.
TEST_F(ConsentTest, AGrantDatedBeforeAWithdrawalNeverUndoesIt) {
  log(1, {{"g", 100, kGrant, nullptr}, {"w", 200, kWithdraw, nullptr}, {"late", 150, kRegrant, nullptr}});
  EXPECT_EQ(settle(1).personalize, false);
  log(2, {{"g", 100, kGrant, json::array()}, {"w", 200, kWithdraw, json::array({"g"})}});
  const auto stamp = consent_supersedes(db_, 2, kRegrant, 150);
  EXPECT_EQ(stamp, std::vector<std::string>{}) << "the late grant supersedes nothing: the withdrawal is dated after it";
  log(2, {{"late", 150, kRegrant, json::array()}});
  EXPECT_EQ(settle(2).personalize, false);
  log(3, {{"g", 100, kGrant, json::array()}, {"w", 50, kWithdraw, json::array({"g"})}});
  EXPECT_EQ(settle(3).personalize, false) << "a withdrawal dated before the grant it knew of still takes effect";
}

// Two stores, each unaware of the other's change: whichever order a store holds them in, the
// withdrawal wins, even when the grant is later by the clock.
TEST_F(ConsentTest, AConcurrentWithdrawalWinsInEveryOrder) {
  log(1, {{"g", 100, kGrant, json::array()}, {"w", 200, kWithdraw, json::array({"g"})}, {"c", 300, kRegrant, json::array({"g"})}});
  log(2, {{"g", 100, kGrant, json::array()}, {"c", 300, kRegrant, json::array({"g"})}, {"w", 200, kWithdraw, json::array({"g"})}});
  EXPECT_EQ(settle(1).personalize, false);
  EXPECT_EQ(settle(2).personalize, false);
  EXPECT_EQ(settle(1).consent_ms, settle(2).consent_ms);
}

TEST_F(ConsentTest, AGrantMadeKnowingTheWithdrawalStands) {
  log(1, {{"g", 100, kGrant, json::array()}, {"w", 200, kWithdraw, json::array({"g"})}, {"c", 300, kRegrant, json::array({"g"})},
          {"again", 400, kRegrant, json::array({"w", "c"})}});
  EXPECT_EQ(settle(1).personalize, true);
  EXPECT_EQ(settle(1).remember, true);
}

// What a record knew passes through records about other purposes.
TEST_F(ConsentTest, KnowledgePassesThroughRecordsOfOtherPurposes) {
  const json forget = {{"remember", false}}, remember = {{"remember", true}};
  log(1, {{"w", 100, forget, json::array()}, {"p", 200, kRegrant, json::array({"w"})}});
  EXPECT_EQ(settle(1).remember, false);
  EXPECT_EQ(settle(1).personalize, true);
  log(1, {{"r", 300, remember, json::array({"p"})}});
  EXPECT_EQ(settle(1).remember, true);
}

// A late grant of personalize (09:55) names a record about "remember" (10:05) that knew of the
// withdrawal of personalize (10:00): it still does not undo it.
TEST_F(ConsentTest, ALateGrantDoesNotUndoAWithdrawalThroughARecordAboutTheOtherPurpose) {
  const json remember = {{"remember", true}};
  log(1, {{"w", 1000, kWithdraw, json::array()}, {"n", 1050, remember, json::array({"w"})}, {"late", 955, kRegrant, json::array({"n"})}});
  EXPECT_EQ(settle(1).personalize, false);
  EXPECT_EQ(settle(1).remember, true);
  // Without the stamp, the same.
  log(2, {{"w", 1000, kWithdraw, nullptr}, {"n", 1050, remember, nullptr}, {"late", 955, kRegrant, nullptr}});
  EXPECT_EQ(settle(2).personalize, false);
}

// Records logged before the stamp, from two stores that could not hear of each other: each knew
// only its own store's earlier records, so both stores settle alike, on the withdrawal.
TEST_F(ConsentTest, UnstampedRecordsFromTwoStoresSettleAlikeInEitherOrder) {
  const Record grant{"g", 100, kGrant, nullptr, ""};
  const Record w_at_b{"w", 1200, kWithdraw, nullptr, "B"}, g_at_c{"c", 1205, kRegrant, nullptr, "C"};
  log(1, {grant, w_at_b, g_at_c});
  log(2, {grant, g_at_c, w_at_b});
  EXPECT_EQ(settle(1).personalize, false);
  EXPECT_EQ(settle(2).personalize, false);
  log(3, {grant, {"w", 1200, kWithdraw, nullptr, ""}, {"again", 1300, kRegrant, nullptr, ""}});
  EXPECT_EQ(settle(3).personalize, true) << "one store's own records still settle in its log order";
}

// A withdrawal of personalize followed by 250 records about "remember" alone (a till that sends
// consent at every visit): personalize is still withdrawn, never read as not asked.
TEST_F(ConsentTest, AWithdrawalOutlivesHundredsOfLaterRecordsAboutTheOtherPurpose) {
  std::vector<Record> records{{"w", 100, kWithdraw, json::array()}};
  std::string previous = "w";
  for (int i = 0; i < 250; ++i) {
    const std::string id = "r" + std::to_string(i);
    records.push_back({id, 200 + i, {{"remember", true}}, json::array({previous})});
    previous = id;
  }
  log(1, records);
  const ConsentState c = settle(1);
  EXPECT_EQ(c.personalize, false);
  EXPECT_EQ(c.remember, true);
}

TEST_F(ConsentTest, ACustomerWithoutRecordsHasNoConsent) {
  const ConsentState c = settle(7);
  EXPECT_FALSE(c.remember.has_value());
  EXPECT_FALSE(c.personalize.has_value());
  EXPECT_FALSE(c.consent_ms.has_value());
}

TEST_F(ConsentTest, TheStampNamesOnlyTheRecordsNothingElseSuperseded) {
  log(1, {{"g", 100, kGrant, json::array()}, {"w", 200, kWithdraw, json::array({"g"})}, {"c", 300, kRegrant, json::array({"g"})}});
  auto stamp = consent_supersedes(db_, 1, kWithdraw, 400);
  std::sort(stamp.begin(), stamp.end());
  EXPECT_EQ(stamp, (std::vector<std::string>{"c-1", "w-1"}));
}

TEST_F(ConsentTest, AStampFromAnotherStoreIsChecked) {
  EXPECT_FALSE(check_supersedes(json::array({"ev-1", "a.b:c@d_e"})).has_value());
  EXPECT_TRUE(check_supersedes(json::object()).has_value());
  EXPECT_TRUE(check_supersedes(json::array({1})).has_value());
  EXPECT_TRUE(check_supersedes(json::array({"has space"})).has_value());
  EXPECT_TRUE(check_supersedes(json::array({""})).has_value());
  EXPECT_TRUE(check_supersedes(json::array({std::string(129, 'a')})).has_value());
  json many = json::array();
  for (std::size_t i = 0; i <= kMaxSupersedes; ++i) many.push_back("e" + std::to_string(i));
  EXPECT_TRUE(check_supersedes(many).has_value());
}

}  // namespace
}  // namespace regulars::daemon
