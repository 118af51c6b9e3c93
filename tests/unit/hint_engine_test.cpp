// The hint engine in process: a real EventStore on a SQLite file, events recorded through it,
// and HintEngine::answer read as a cashier would read it. The order of hints, do-not-mention,
// the discreet mode, consent, the basket and the locale.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hints/hint_engine.hpp"
#include "memory/identity.hpp"
#include "store/event_store.hpp"
#include "temp_dir.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {
namespace {

using nlohmann::json;

const IdentityKey& test_key() {
  static const IdentityKey key(IdentitySecret{9, 9, 9});
  return key;
}

json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }

class HintEngineTest : public ::testing::Test {
 protected:
  HintEngineTest() : store_(dir_.path(), EventStore::Options{}), hints_(store_, test_key(), settings()) {}

  // Never "ask for feedback": it is a sample, and the tests below are about the other hints.
  static HintSettings settings() {
    HintSettings s;
    s.feedback_sample_percent = 0;
    return s;
  }

  // Records an event (event_id and time filled in) and waits until it is stored.
  void record(json event, const std::string& time = "2026-11-20T10:00:00Z") {
    event["event_id"] = "ev-" + std::to_string(++next_id_);
    if (!event.contains("time")) event["time"] = time;
    ASSERT_FALSE(wire::validate_event(event).has_value()) << wire::validate_event(event)->describe();
    std::promise<WriteResult> done;
    store_.submit(prepare_event(event, test_key()), [&done](WriteResult r) { done.set_value(std::move(r)); });
    const WriteResult r = done.get_future().get();
    ASSERT_TRUE(r.ok) << r.error;
  }
  void consent(const std::string& who, bool personalize = true) {
    record({{"type", "consent"}, {"customer", card(who)}, {"purposes", {{"remember", true}, {"personalize", personalize}}}});
  }
  void buy(const std::string& who, const std::vector<std::string>& skus, const std::string& time) {
    json lines = json::array();
    for (const auto& sku : skus) lines.push_back({{"sku", sku}, {"name", sku}, {"qty", 1}, {"unit_price", 200}});
    record({{"type", "purchase"}, {"customer", card(who)}, {"lines", lines}}, time);
  }
  // A regular: five visits a week apart, oat milk and bread every time.
  void make_regular(const std::string& who) {
    consent(who);
    for (int day = 1; day <= 29; day += 7)
      buy(who, {"oat-milk", "bread"}, "2026-10-" + std::string(day < 10 ? "0" : "") + std::to_string(day) + "T09:00:00Z");
  }

  json ask(const std::string& who, json extra = json::object()) {
    json request = {{"customer", card(who)}, {"time", "2026-11-20T12:00:00Z"}};
    request.update(extra);
    EXPECT_FALSE(wire::validate_hints_request(request).has_value()) << request.dump();
    return hints_.answer(request, wire::now_ms());
  }

  static std::vector<std::string> kinds(const json& answer) {
    std::vector<std::string> out;
    for (const auto& h : answer["hints"]) out.push_back(h["kind"].get<std::string>());
    return out;
  }
  static const json* hint(const json& answer, const std::string& kind) {
    for (const auto& h : answer["hints"])
      if (h["kind"] == kind) return &h;
    return nullptr;
  }

  test::TempDir dir_;
  EventStore store_;
  HintEngine hints_;
  int next_id_ = 0;
};

TEST_F(HintEngineTest, AStrangerIsNotKnownAndGetsNoHints) {
  const json a = ask("never-seen");
  EXPECT_FALSE(a["customer"]["known"].get<bool>());
  EXPECT_TRUE(a["hints"].empty());
  EXPECT_TRUE(a["predictions"].empty());
  EXPECT_EQ(a["locale"], "en");
  EXPECT_EQ(a["dir"], "ltr");
  EXPECT_TRUE(a["ask_feedback"].is_boolean());
}

TEST_F(HintEngineTest, WithoutConsentToPersonaliseTheCustomerIsKnownButNothingIsSaid) {
  consent("quiet", /*personalize=*/false);
  buy("quiet", {"tea"}, "2026-11-10T09:00:00Z");
  const json a = ask("quiet");
  EXPECT_TRUE(a["customer"]["known"].get<bool>());
  EXPECT_FALSE(a["customer"]["personalized"].get<bool>());
  EXPECT_TRUE(a["hints"].empty());
  EXPECT_TRUE(a["predictions"].empty());
  EXPECT_FALSE(a["customer"].contains("average_basket"));
}

TEST_F(HintEngineTest, ARegularIsGreetedAndTheirUsualItemsComeFirst) {
  make_regular("sara");
  const json a = ask("sara");
  ASSERT_FALSE(a["hints"].empty());
  EXPECT_EQ(a["hints"][0]["kind"], "greeting");
  EXPECT_NE(a["hints"][0]["text"].get<std::string>().find("visit 6"), std::string::npos) << a["hints"][0];
  const json* usual = hint(a, "usual_items");
  ASSERT_NE(usual, nullptr) << a.dump(2);
  EXPECT_NE(usual->at("text").get<std::string>().find("oat-milk"), std::string::npos);
  ASSERT_GE(a["predictions"].size(), 2u);
  EXPECT_TRUE(a["predictions"][0]["sku"] == "oat-milk" || a["predictions"][0]["sku"] == "bread") << a["predictions"];
  EXPECT_NE(a["predictions"][0]["reason"].get<std::string>().find("5 of 5"), std::string::npos) << a["predictions"][0];
  EXPECT_EQ(a["customer"]["visits"], 5);
  EXPECT_EQ(a["customer"]["average_basket"], 400);
}

TEST_F(HintEngineTest, WithABasketOnTheBeltTheUsualItemNotYetScannedIsPointedOut) {
  make_regular("sara");
  const json a = ask("sara", {{"basket", {{{"sku", "bread"}}}}});
  EXPECT_EQ(hint(a, "usual_items"), nullptr);
  const json* missing = hint(a, "missing_usual");
  ASSERT_NE(missing, nullptr) << a.dump(2);
  EXPECT_NE(missing->at("text").get<std::string>().find("oat-milk"), std::string::npos);
  EXPECT_EQ(missing->at("text").get<std::string>().find("bread"), std::string::npos);
  for (const auto& p : a["predictions"]) EXPECT_NE(p["sku"], "bread") << "nothing already in the basket is predicted";
}

TEST_F(HintEngineTest, HintsComeInTheOrderOfTheTableAndAreCapped) {
  make_regular("leila");
  record({{"type", "preference"}, {"customer", card("leila")}, {"key", "bag"}, {"value", "paper"}, {"said_by", "customer"}});
  record({{"type", "preference"}, {"customer", card("leila")}, {"key", "allergy"}, {"value", "nuts"}});
  record({{"type", "note"}, {"customer", card("leila")}, {"text", "Asked about gluten-free bread"}});
  const json a = ask("leila", {{"max_hints", 10}});
  // Bought every 7 days, last 22 days ago: oat milk is also due.
  EXPECT_EQ(kinds(a), (std::vector<std::string>{"greeting", "allergy", "preference", "due", "usual_items", "note"}))
      << a.dump(2);
  int previous = 1000;
  for (const auto& h : a["hints"]) {
    EXPECT_LE(h["priority"].get<int>(), previous);
    previous = h["priority"].get<int>();
  }
  EXPECT_EQ(kinds(ask("leila", {{"max_hints", 2}})), (std::vector<std::string>{"greeting", "allergy"}));
}

TEST_F(HintEngineTest, DoNotMentionDropsEveryHintAndPredictionAboutTheTopic) {
  make_regular("omid");
  record({{"type", "profile"}, {"customer", card("omid")}, {"do_not_mention", {"Oat-Milk"}}});
  const json a = ask("omid");
  EXPECT_EQ(a.dump().find("oat-milk"), std::string::npos) << a.dump(2);
  EXPECT_NE(hint(a, "usual_items"), nullptr) << "bread is still mentioned";
}

TEST_F(HintEngineTest, TheDiscreetModeSaysNothingPrivate) {
  make_regular("dana");
  record({{"type", "preference"}, {"customer", card("dana")}, {"key", "allergy"}, {"value", "nuts"}});
  record({{"type", "profile"}, {"customer", card("dana")}, {"name", "Dana"}, {"birthday", "11-21"}});
  const json normal = ask("dana", {{"max_hints", 10}});
  EXPECT_NE(hint(normal, "allergy"), nullptr);
  EXPECT_NE(hint(normal, "birthday"), nullptr) << normal.dump(2);
  const json discreet = ask("dana", {{"discreet", true}, {"max_hints", 10}});
  EXPECT_TRUE(discreet["customer"]["discreet"].get<bool>());
  EXPECT_EQ(hint(discreet, "allergy"), nullptr);
  EXPECT_EQ(hint(discreet, "birthday"), nullptr);
  ASSERT_NE(hint(discreet, "greeting"), nullptr);
  EXPECT_EQ(hint(discreet, "greeting")->at("text"), "Welcome back!");
  EXPECT_EQ(discreet.dump().find("Dana"), std::string::npos) << "no name on a customer-facing screen";
}

TEST_F(HintEngineTest, PersianAnswersUsePersianDigitsRightToLeftAndIsolateNames) {
  make_regular("reza");
  record({{"type", "profile"}, {"customer", card("reza")}, {"name", "Reza"}});
  const json a = ask("reza", {{"locale", "fa-IR"}});
  EXPECT_EQ(a["locale"], "fa");
  EXPECT_EQ(a["dir"], "rtl");
  const std::string greeting = hint(a, "greeting")->at("text").get<std::string>();
  EXPECT_NE(greeting.find("\u06F6"), std::string::npos) << "visit 6 in Persian digits: " << greeting;
  EXPECT_NE(greeting.find("\u2068Reza\u2069"), std::string::npos) << "the Latin name is isolated: " << greeting;
}

}  // namespace
}  // namespace regulars::daemon
