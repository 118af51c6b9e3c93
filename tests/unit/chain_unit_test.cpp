// The chain of stores in process. A hub's rows are input from outside: each is checked like a
// till's event before the store applies it, and a bad one is refused with a reason
// (daemon/chain/hub_event.cpp). Also the gesture engine's share of chain caps, and the chain's day.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <variant>

#include "chain/hub_event.hpp"
#include "memory/identity.hpp"
#include "memory/projector.hpp"
#include "store/prepared_event.hpp"
#include "wire/json_text.hpp"

namespace regulars::daemon::chain {
namespace {

using nlohmann::json;

// A row as a store publishes it: the event prepared (identifier hashed), as its log keeps it.
HubEvent row_from(const json& event) {
  const IdentityKey key(IdentitySecret{});
  const PreparedEvent p = prepare_event(event, key);
  HubEvent row;
  row.hub_id = 7;
  row.origin = "store-a";
  row.origin_seq = 3;
  row.event_id = p.event_id;
  row.type = p.type;
  row.id_kind = p.id_kind;
  if (!p.id_kind.empty()) row.id_hash_hex = to_hex(p.id_hash);
  row.time_ms = p.time_ms;
  row.body = p.body_text;
  return row;
}

json a_purchase() {
  return {{"type", "purchase"},
          {"event_id", "e-1"},
          {"time", "2026-11-23T10:15:00Z"},
          {"customer", {{"kind", "card"}, {"value", "4000123"}}},
          {"lines", {{{"sku", "oat-milk"}, {"qty", 2}, {"unit_price", 150}}}}};
}

std::string refusal(const HubEvent& row) {
  const auto r = prepared_from_hub(row);
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

TEST(HubEvent, AStoresRowBecomesTheSameEventWithItsOrigin) {
  const HubEvent row = row_from(a_purchase());
  const auto r = prepared_from_hub(row);
  ASSERT_TRUE(std::holds_alternative<PreparedEvent>(r)) << std::get<std::string>(r);
  const PreparedEvent& p = std::get<PreparedEvent>(r);
  const PreparedEvent local = prepare_event(a_purchase(), IdentityKey(IdentitySecret{}));
  EXPECT_EQ(p.origin, "store-a");
  EXPECT_EQ(p.event_id, "e-1");
  EXPECT_EQ(p.id_kind, "card");
  EXPECT_EQ(p.id_hash, local.id_hash);
  EXPECT_EQ(p.time_ms, local.time_ms);
  EXPECT_EQ(p.value, local.value) << "a basket's worth is read again from its lines";
  ASSERT_NE(p.lines, nullptr);
  EXPECT_EQ(p.body, local.body);
  EXPECT_FALSE(p.body.contains("customer")) << "no raw identifier, and none made up";
}

TEST(HubEvent, LinksAndMergesKeepTheirSecondHash) {
  json link = {{"type", "link"}, {"event_id", "l-1"}, {"time", "2026-11-23T10:15:00Z"},
               {"customer", {{"kind", "card"}, {"value", "4000123"}}},
               {"identifier", {{"kind", "phone"}, {"value", "+44 20 7946 0000"}}}};
  const auto r = prepared_from_hub(row_from(link));
  ASSERT_TRUE(std::holds_alternative<PreparedEvent>(r)) << std::get<std::string>(r);
  EXPECT_EQ(std::get<PreparedEvent>(r).body["identifier"]["hash"].get<std::string>().size(), 64u);
  HubEvent raw = row_from(link);
  json body = json::parse(raw.body);
  body["identifier"]["value"] = "+44 20 7946 0000";
  raw.body = body.dump();
  EXPECT_NE(refusal(raw), "") << "a raw second identifier is refused";
}

TEST(HubEvent, AMergeOfTwoCustomersOfOneKindTravels) {
  const json merge = {{"type", "merge"}, {"event_id", "m-1"}, {"time", "2026-11-23T10:15:00Z"},
                      {"customer", {{"kind", "card"}, {"value", "7202"}}}, {"other", {{"kind", "card"}, {"value", "7203"}}}};
  EXPECT_EQ(refusal(row_from(merge)), "");
}

TEST(HubEvent, BadRowsAreRefusedWithAReason) {
  const HubEvent good = row_from(a_purchase());
  const auto with = [&](auto change) {
    HubEvent r = good;
    change(r);
    return refusal(r);
  };
  EXPECT_NE(with([](HubEvent& r) { r.origin = "a b"; }), "");
  EXPECT_NE(with([](HubEvent& r) { r.type = "offer"; }).find("do not travel"), std::string::npos);
  EXPECT_NE(with([](HubEvent& r) { r.id_kind = "passport"; }), "");
  EXPECT_NE(with([](HubEvent& r) { r.id_hash_hex = "abc"; }).find("64 hex"), std::string::npos);
  EXPECT_NE(with([](HubEvent& r) { r.body = "[1,2]"; }), "");
  EXPECT_NE(with([](HubEvent& r) { r.body = "{not json"; }), "");
  EXPECT_NE(with([](HubEvent& r) { r.event_id = "e-2"; }).find("event_id"), std::string::npos);
  EXPECT_NE(with([](HubEvent& r) { r.time_ms += 1; }).find("time"), std::string::npos);
  // The body is checked as a till's event is: a negative quantity, a raw customer, a card number.
  const auto body_with = [&](auto change) {
    return with([&](HubEvent& r) {
      json b = json::parse(r.body);
      change(b);
      r.body = b.dump();
    });
  };
  EXPECT_NE(body_with([](json& b) { b["lines"][0]["qty"] = -1; }), "");
  EXPECT_NE(body_with([](json& b) { b["customer"] = {{"kind", "card"}, {"value", "4000123"}}; }), "");
  EXPECT_NE(body_with([](json& b) { b["lines"][0]["name"] = "4111 1111 1111 1111"; }), "");
  EXPECT_NE(body_with([](json& b) { b["customer_kind"] = "phone"; }).find("customer_kind"), std::string::npos);
  EXPECT_NE(body_with([](json& b) { b["surprise"] = 1; }), "");
}

TEST(HubEvent, OnlyTheCustomersMemoryTravels) {
  for (const char* t : {"purchase", "return", "consent", "preference", "note", "profile", "link", "merge", "feedback"})
    EXPECT_TRUE(is_carried_type(t)) << t;
  for (const char* t : {"offer", "offer_outcome", "followup", "staff_idea", "idea_review"}) EXPECT_FALSE(is_carried_type(t)) << t;
}

}  // namespace
}  // namespace regulars::daemon::chain

// The gesture engine's share of a chain's caps, and the chain's day.
#include <map>

#include "chain/link.hpp"
#include "gestures/chain_allowance.hpp"

namespace regulars::daemon::chain {
namespace {

constexpr std::int64_t kDay = 86'400'000;

const std::vector<ChainCap> kDayCap{{ChainPeriod::day, 30, 1}};

TEST(ChainAllowance, OffersComeOnlyFromWhatWasGrantedForToday) {
  ChainAllowance a([](std::int64_t ms) { return ms / kDay; });
  const std::int64_t now = 20'000 * kDay + 1000;
  EXPECT_FALSE(a.take("r", kDayCap, now)) << "nothing granted yet";
  auto shares = a.shares(now);
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_TRUE(shares[0].wanted) << "a refusal asks the link for a lease";
  EXPECT_EQ(shares[0].cap, 30);
  EXPECT_EQ(shares[0].key, "r") << "a day cap keeps the rule id as its name on the hub";
  EXPECT_TRUE(a.granted("r", 20'000, 2));
  EXPECT_TRUE(a.take("r", kDayCap, now));
  EXPECT_TRUE(a.take("r", kDayCap, now));
  EXPECT_FALSE(a.take("r", kDayCap, now));
  EXPECT_TRUE(a.granted("r", 20'000, 3));
  EXPECT_TRUE(a.take("r", kDayCap, now));
  EXPECT_FALSE(a.shares(now)[0].idle);
  EXPECT_TRUE(a.shares(now + ChainAllowance::kIdleAfterMs)[0].idle) << "unused for 3 s: better back on the hub";
  EXPECT_EQ(a.take_back("r", 20'000), 2);
  EXPECT_FALSE(a.take("r", kDayCap, now)) << "given back";
  EXPECT_TRUE(a.granted("r", 20'000, 1));
  EXPECT_FALSE(a.take("r", kDayCap, now + kDay)) << "yesterday's lease is not today's";
  a.forget_past(now + kDay);
  EXPECT_EQ(a.shares(now + kDay).size(), 1u) << "only today's entry is left";
  EXPECT_FALSE(a.granted("r", 20'000, 4)) << "a grant for a day that is over goes straight back";
}

// A rule with a day cap, a week cap and a budget takes from all three at once, or from none.
TEST(ChainAllowance, AnOfferTakesFromEveryCapOfItsRuleOrFromNone) {
  ChainAllowance a([](std::int64_t ms) { return ms / kDay; });
  const std::int64_t now = 20'000 * kDay + 1000;  // 2024-10-04, a Friday
  const std::vector<ChainCap> caps{{ChainPeriod::day, 30, 1}, {ChainPeriod::week, 100, 1}, {ChainPeriod::month, 5000, 250}};
  EXPECT_FALSE(a.take("r", caps, now));
  const std::int64_t week = a.period_of(ChainPeriod::week, now), month = a.period_of(ChainPeriod::month, now);
  EXPECT_EQ(week, (20'000 + 3) / 7);
  EXPECT_EQ(month, 2024 * 12 + 9);
  std::map<std::string, ChainAllowance::Share> by_key;
  for (const auto& s : a.shares(now)) by_key[s.key] = s;
  ASSERT_EQ(by_key.size(), 3u);
  EXPECT_EQ(by_key["r/week"].period, week);
  EXPECT_EQ(by_key["r/month"].period, month);
  EXPECT_EQ(by_key["r/month"].units, 250) << "a budget is spent in the gesture's cost";
  a.granted("r", 20'000, 5);
  a.granted("r/week", week, 5);
  a.granted("r/month", month, 400);
  EXPECT_TRUE(a.take("r", caps, now));
  EXPECT_FALSE(a.take("r", caps, now)) << "150 of the budget left: less than one gesture";
  EXPECT_EQ(a.take_back("r", 20'000), 4) << "the refused offer took nothing from the day cap";
  EXPECT_EQ(a.take_back("r/week", week), 4);
  a.give_back("r", caps[2], now);  // the offer was declined: its cost comes back
  EXPECT_EQ(a.take_back("r/month", month), 400);
}

TEST(ChainAllowance, AWeeksAndAMonthsLeasesEndWithThem) {
  ChainAllowance a([](std::int64_t ms) { return ms / kDay; });
  const std::int64_t sunday = 20'002 * kDay + 1000, monday = sunday + kDay;  // 2024-10-06 and 07
  const std::vector<ChainCap> week{{ChainPeriod::week, 10, 1}};
  a.take("r", week, sunday);
  a.granted("r/week", a.period_of(ChainPeriod::week, sunday), 2);
  EXPECT_TRUE(a.take("r", week, sunday));
  EXPECT_FALSE(a.take("r", week, monday)) << "a new week begins on Monday";
  a.forget_past(monday);
  ASSERT_EQ(a.shares(monday).size(), 1u);
  EXPECT_EQ(a.shares(monday)[0].period, a.period_of(ChainPeriod::week, sunday) + 1);
  const std::int64_t oct31 = 20'027 * kDay + 1000, nov1 = oct31 + kDay;
  EXPECT_EQ(a.period_of(ChainPeriod::month, nov1), a.period_of(ChainPeriod::month, oct31) + 1);
}

TEST(ChainDay, FollowsTheChainsTimeZone) {
  // 2026-07-01T23:30:00Z: July 1st in UTC and in New York, July 2nd in Paris (UTC+2 in summer).
  const std::int64_t t = 1'782'948'600'000;
  const std::int64_t utc_day = chain_day_in("UTC")(t);
  EXPECT_EQ(utc_day, t / kDay);
  EXPECT_EQ(chain_day_in("Europe/Paris")(t), utc_day + 1);
  EXPECT_EQ(chain_day_in("America/New_York")(t), utc_day);
  EXPECT_THROW(chain_day_in("Mars/Olympus_Mons"), std::invalid_argument);
}

}  // namespace
}  // namespace regulars::daemon::chain

#include "gestures/limits.hpp"

namespace regulars::daemon {
namespace {

TEST(LimitCounts, AStoreInNoChainIsAChainOfOne) {
  rules::Limits limits;
  limits.chain_per_day = 2;
  LimitCounts counts;
  const Moment today = moment_at(1'782'948'600'000), tomorrow = moment_at(1'782'948'600'000 + 86'400'000);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(counts.allow(limits, 0, "ana", today));
    counts.count(0, "ana", today);
  }
  EXPECT_FALSE(counts.allow(limits, 0, "ben", today)) << "the cap counts the store's own offers of the day";
  EXPECT_TRUE(counts.allow(limits, 0, "ben", tomorrow));
}

TEST(LimitCounts, AStoreInNoChainCountsItsOwnWeekAndBudget) {
  rules::Limits limits;
  limits.chain_per_week = 3;
  limits.chain_monthly_budget = 1000;
  LimitCounts counts;
  const Moment monday = moment_at_offset(1'783'296'000'000, 0);  // 2026-07-06
  ASSERT_EQ(monday.weekday, 0);
  for (int i = 0; i < 2; ++i) {
    const Moment day = moment_at_offset(monday.ms + i * 86'400'000, 0);
    ASSERT_TRUE(counts.allow(limits, 400, "", day));
    counts.count(400, "", day);
  }
  EXPECT_FALSE(counts.allow(limits, 400, "", monday)) << "800 of 1000 spent: one more 400 would pass the budget";
  EXPECT_TRUE(counts.allow(limits, 200, "", monday));
  counts.count(200, "", monday);
  EXPECT_FALSE(counts.allow(limits, 0, "", moment_at_offset(monday.ms + 6 * 86'400'000, 0))) << "3 this week";
  EXPECT_TRUE(counts.allow(limits, 0, "", moment_at_offset(monday.ms + 7 * 86'400'000, 0))) << "a new week";
}

}  // namespace
}  // namespace regulars::daemon

namespace regulars::daemon::chain {
namespace {

// libpq's own messages about a connection string quote it, password and all; the hub's never do.
TEST(Hub, ABadConnectionStringIsRefusedWithoutQuotingIt) {
  for (const std::string& conninfo : {std::string("host=/nonexistent password=hunter2 s3cr3t"),
                                     std::string("postgresql://store:s3cr3t%zz@hub.example/regulars"),
                                     std::string("postgresql://store:s3cr3t@[broken/regulars")}) {
    SCOPED_TRACE(conninfo);
    try {
      Hub hub(HubSettings{conninfo, "", 1});
      ADD_FAILURE() << "connected?";
    } catch (const HubError& e) {
      EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("chain.hub"), std::string::npos) << "names the setting: " << e.what();
    }
  }
}

}  // namespace
}  // namespace regulars::daemon::chain

namespace regulars::daemon::chain {
namespace {

// A row whose fields have the wrong JSON types is refused, not thrown: a throw stopped the link
// at that row for good.
TEST(HubEvent, FieldsOfTheWrongTypeAreRefusedNotThrown) {
  HubEvent row = row_from(a_purchase());
  for (const char* body : {R"({"type":"purchase","event_id":5,"time":"2026-11-23T10:15:00Z","customer_kind":"card","lines":[]})",
                           R"({"type":7,"event_id":"e-1","customer_kind":"card"})",
                           R"({"type":"purchase","event_id":"e-1","customer_kind":["card"]})",
                           R"({"type":"purchase","event_id":"e-1","time":12,"customer_kind":"card"})"}) {
    SCOPED_TRACE(body);
    row.body = body;
    std::variant<PreparedEvent, std::string> r;
    EXPECT_NO_THROW(r = prepared_from_hub(row));
    EXPECT_TRUE(std::holds_alternative<std::string>(r));
  }
}

}  // namespace
}  // namespace regulars::daemon::chain
