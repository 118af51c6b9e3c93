// Customer memory through the real plugin and daemon: merges and links, household tastes,
// "do not mention", consent withdrawal, localised texts, and rebuild from the event log.
#include <algorithm>
#include <fstream>

#include "fixture.hpp"

namespace regulars::test {
namespace {

json id(const std::string& kind, const std::string& value) { return {{"kind", kind}, {"value", value}}; }

class Memory : public DaemonTest {
 protected:
  void record(const json& event) {
    regulars_client* c = client();
    ASSERT_EQ(plugin_.record(c, event.dump().c_str()), REGULARS_OK) << plugin_.last_error() << "\n" << event.dump();
  }
  void buy(const json& who, const std::vector<std::string>& skus, const std::string& time, const std::string& member = "") {
    json lines = json::array();
    for (const auto& s : skus) {
      json line = {{"sku", s}, {"name", s == "oat-milk" ? "Oat milk" : s == "chips-sv" ? "Salt & vinegar chips" : s},
                   {"qty", 1}, {"unit_price", 100}};
      if (!member.empty()) line["for"] = member;
      lines.push_back(line);
    }
    record({{"type", "purchase"}, {"customer", who}, {"lines", lines}, {"time", time}});
  }
};

TEST_F(Memory, MergingTwoCustomersCombinesHistoriesWithoutDoubleCounting) {
  const json card = id("card", "1001"), phone = id("phone", "+98 912 000 1111");
  for (const auto& who : {card, phone})
    record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}},
            {"time", "2026-10-01T09:00:00Z"}});
  buy(card, {"oat-milk"}, "2026-10-02T09:00:00Z");
  buy(card, {"oat-milk", "bread"}, "2026-10-09T09:00:00Z");
  buy(phone, {"bread"}, "2026-10-03T18:00:00Z");
  buy(phone, {"bread", "eggs"}, "2026-10-10T18:00:00Z");
  buy(phone, {"bread"}, "2026-10-17T18:00:00Z");
  ASSERT_EQ(ask(card)["customer"]["visits"], 2);
  ASSERT_EQ(ask(phone)["customer"]["visits"], 3);

  const json merge = {{"type", "merge"}, {"event_id", "merge-1"}, {"customer", card}, {"other", phone}};
  record(merge);
  record(merge);  // a retry of the same merge changes nothing
  const json by_card = ask(card), by_phone = ask(phone);
  EXPECT_EQ(by_card["customer"]["visits"], 5);
  EXPECT_EQ(by_phone["customer"]["visits"], 5);  // both identifiers lead to the one customer
  EXPECT_EQ(by_card["customer"]["first_seen"], "2026-10-02T09:00:00.000Z");
  EXPECT_EQ(by_card["predictions"][0]["sku"], "bread");  // 4 of 5 visits
  EXPECT_EQ(by_card["predictions"][1]["sku"], "oat-milk");  // 2 of 5
  EXPECT_EQ(by_card["predictions"][0]["reason"], "bought on 4 of 5 visits");

  // A new identifier linked to the customer finds the same memory.
  record({{"type", "link"}, {"customer", card}, {"identifier", id("email", "Sara@Example.org")}});
  EXPECT_EQ(ask(id("email", "sara@example.org"))["customer"]["visits"], 5);
  // Linking an identifier that belongs to someone else is refused, with the way out named.
  record({{"type", "consent"}, {"customer", id("card", "2002")}, {"purposes", {{"remember", true}}}});
  const std::string bad_link = json{{"type", "link"}, {"customer", card}, {"identifier", id("card", "2002")}}.dump();
  EXPECT_EQ(plugin_.record(client(), bad_link.c_str()), REGULARS_INVALID_INPUT);
  EXPECT_NE(std::string(plugin_.last_error()).find("merge"), std::string::npos) << plugin_.last_error();

  ASSERT_EQ(daemon_->stop(), 0);
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.count("SELECT count(*) FROM customers"), 2);  // the merged one and card 2002
  EXPECT_EQ(db.count("SELECT sum(baskets) FROM customer_items WHERE sku='bread'"), 4);
  EXPECT_EQ(db.count("SELECT baskets FROM items WHERE sku='bread'"), 4);  // store counts unchanged by the merge
}

TEST_F(Memory, PurchaseForAHouseholdMemberBecomesTheirTaste) {
  const json parent = id("phone", "+44 7700 900111");
  record({{"type", "consent"}, {"customer", parent}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  buy(parent, {"chips-sv"}, "2026-11-02T10:00:00Z", "son");
  buy(parent, {"milk"}, "2026-11-09T10:00:00Z");
  const json answer = ask(parent, {{"locale", "en"}, {"time", "2026-11-16T10:00:00Z"}});
  const json* household = find_hint(answer, "household");
  ASSERT_NE(household, nullptr) << answer.dump(2);
  EXPECT_EQ((*household)["text"], "son loves Salt & vinegar chips.");
  EXPECT_EQ((*household)["why"], "Bought for son on 1 visit.");
  // Not on a customer-facing screen.
  EXPECT_EQ(find_hint(ask(parent, {{"discreet", true}}), "household"), nullptr);
}

TEST_F(Memory, DoNotMentionIsRespectedEverywhere) {
  const json who = id("card", "3003");
  record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  buy(who, {"pregnancy-test", "oat-milk"}, "2026-11-01T10:00:00Z");
  buy(who, {"pregnancy-test", "oat-milk"}, "2026-11-08T10:00:00Z");
  record({{"type", "note"}, {"customer", who}, {"text", "Asked about the pharmacy opening hours"}});
  record({{"type", "preference"}, {"customer", who}, {"key", "bag"}, {"value", "paper"}, {"said_by", "customer"}});
  json before = ask(who);
  ASSERT_NE(find_hint(before, "note"), nullptr);
  ASSERT_NE(before.dump().find("pregnancy-test"), std::string::npos);

  record({{"type", "profile"}, {"customer", who}, {"do_not_mention", {"pregnancy-test", "note"}}});
  const json after = ask(who, {{"max_predictions", 50}});
  EXPECT_EQ(after.dump().find("pregnancy-test"), std::string::npos) << after.dump(2);
  EXPECT_EQ(find_hint(after, "note"), nullptr);
  ASSERT_NE(find_hint(after, "preference"), nullptr);  // the rest still shows
  EXPECT_EQ((*find_hint(after, "preference"))["text"], "Prefers bag: paper.");
  EXPECT_EQ(after["predictions"][0]["sku"], "oat-milk");
}

TEST_F(Memory, WithdrawnConsentStopsHintsAndErasesHistoryByDefault) {
  const json who = id("card", "4004");
  record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}, {"time", "2026-11-01T09:00:00Z"}});
  buy(who, {"oat-milk"}, "2026-11-02T10:00:00Z");
  buy(who, {"oat-milk"}, "2026-11-09T10:00:00Z");
  record({{"type", "note"}, {"customer", who}, {"text", "Likes a chat about football"}, {"time", "2026-11-09T10:05:00Z"}});
  ASSERT_FALSE(ask(who)["hints"].empty());

  // Withdrawing personalisation: no hints at once; the history stays.
  record({{"type", "consent"}, {"customer", who}, {"purposes", {{"personalize", false}}}, {"time", "2026-11-10T09:00:00Z"}});
  json answer = ask(who);
  EXPECT_TRUE(answer["hints"].empty());
  EXPECT_TRUE(answer["predictions"].empty());
  EXPECT_EQ(answer["customer"]["visits"], 2);

  // Withdrawing "remember": the policy (default erase) removes the history for real.
  record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", false}}}, {"time", "2026-11-11T09:00:00Z"}});
  answer = ask(who);
  EXPECT_TRUE(answer["hints"].empty());
  EXPECT_EQ(answer["customer"]["visits"], 0);
  ASSERT_EQ(daemon_->stop(), 0);
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.count("SELECT count(*) FROM events WHERE type <> 'consent'"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM events WHERE type = 'consent'"), 3);  // the record of consent stays
  EXPECT_EQ(db.count("SELECT count(*) FROM customer_items"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM notes"), 0);
  // Erased for real: the note's bytes are not left in free space of the store or its WAL.
  for (const std::string& path : {daemon_->db_path(), daemon_->db_path() + "-wal"}) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("Likes a chat about football"), std::string::npos) << path;
  }
}

class MemoryKeepPolicy : public Memory {
 protected:
  std::vector<std::string> daemon_args() override {
    std::ofstream(dir_.sub("keep.conf")) << R"({ "privacy": { "on_remember_withdrawn": "keep" } // keep, unused
    })";
    return {"--config", dir_.sub("keep.conf")};
  }
};

TEST_F(MemoryKeepPolicy, WithdrawnConsentKeepsHistoryUnusedWhenThePolicySaysKeep) {
  const json who = id("card", "5005");
  record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}, {"time", "2026-11-01T09:00:00Z"}});
  buy(who, {"tea"}, "2026-11-02T10:00:00Z");
  record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", false}}}, {"time", "2026-11-03T09:00:00Z"}});
  const json answer = ask(who);
  EXPECT_TRUE(answer["hints"].empty());
  EXPECT_FALSE(answer["customer"]["personalized"].get<bool>());
  EXPECT_EQ(answer["customer"]["visits"], 1);
}

// Persian in the Solar Hijri calendar and Persian digits, Arabic in Arabic-Indic digits and the
// plural form each count takes; Arabic words about the customer agree with the salutation they
// gave, and are neutral without one.
TEST_F(Memory, PersianAndArabicTextsComeOutExactlyWithTheirDigits) {
  const json who = id("card", "6006");
  record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  buy(who, {"oat-milk", "bread"}, "2026-11-03T10:00:00Z");
  buy(who, {"oat-milk"}, "2026-11-10T10:00:00Z");
  buy(who, {"oat-milk", "eggs"}, "2026-11-17T10:00:00Z");
  record({{"type", "preference"}, {"customer", who}, {"key", "bag"}, {"value", "paper"}, {"said_by", "customer"},
          {"time", "2026-11-17T10:01:00Z"}});
  const json basket = json::array({{{"sku", "bread"}}});

  const json fa = ask(who, {{"locale", "fa"}, {"time", "2026-11-23T12:00:00Z"}, {"basket", basket}});
  EXPECT_EQ(fa["dir"], "rtl");
  EXPECT_EQ((*find_hint(fa, "greeting"))["text"], "خوش آمدید — مراجعهٔ ۴ (آخرین بار: ۶ روز پیش).");
  EXPECT_EQ((*find_hint(fa, "greeting"))["why"], "شناسایی با کارت؛ ۳ مراجعه از ۱۲ آبان ۱۴۰۵.");
  EXPECT_EQ((*find_hint(fa, "missing_usual"))["text"], "معمولاً \u2068Oat milk\u2069 می‌خرد — در سبد امروز نیست.");
  EXPECT_EQ((*find_hint(fa, "preference"))["text"], "ترجیح کیسه: \u2068paper\u2069.");
  EXPECT_EQ(fa["predictions"][0]["reason"], "در ۳ مراجعه از ۳ مراجعه خریده");

  const json ar = ask(who, {{"locale", "ar"}, {"time", "2026-11-23T12:00:00Z"}, {"basket", basket}});
  EXPECT_EQ(ar["dir"], "rtl");
  EXPECT_EQ((*find_hint(ar, "greeting"))["text"], "أهلاً بالعودة — الزيارة رقم ٤ (آخر مرة: منذ ٦ أيام).");
  EXPECT_EQ((*find_hint(ar, "greeting"))["why"], "التعرّف عبر البطاقة؛ ٣ زيارات منذ ٣ نوفمبر ٢٠٢٦.");
  EXPECT_EQ((*find_hint(ar, "missing_usual"))["text"], "من المشتريات المعتادة: \u2068Oat milk\u2069 — ليس في سلة اليوم.");
  EXPECT_EQ((*find_hint(ar, "preference"))["text"], "التفضيل في الكيس: \u2068paper\u2069.");
  record({{"type", "preference"}, {"customer", who}, {"key", "salutation"}, {"value", "female"}});
  const json her = ask(who, {{"locale", "ar"}, {"time", "2026-11-23T12:00:00Z"}, {"basket", basket}});
  EXPECT_EQ((*find_hint(her, "greeting"))["text"], "أهلاً بعودتكِ — الزيارة رقم ٤ (آخر مرة: منذ ٦ أيام).");
  EXPECT_EQ((*find_hint(her, "missing_usual"))["text"], "تأخذ عادةً \u2068Oat milk\u2069 — ليس في سلة اليوم.");
  EXPECT_EQ((*find_hint(her, "preference"))["text"], "تفضّل الكيس: \u2068paper\u2069.");
  EXPECT_EQ(her["hints"].dump().find("female"), std::string::npos) << "the form of address is used, not shown: " << her["hints"];

  // An unknown locale falls back to English; so does the customer's own language otherwise.
  EXPECT_EQ((*find_hint(ask(who, {{"locale", "xx"}, {"time", "2026-11-23T12:00:00Z"}}), "greeting"))["text"],
            "Welcome back — visit 4 (last: 6 days ago).");
  record({{"type", "profile"}, {"customer", who}, {"language", "fa"}, {"name", "Sara"}});
  EXPECT_EQ((*find_hint(ask(who, {{"time", "2026-11-23T12:00:00Z"}}), "greeting"))["text"],
            "\u2068Sara\u2069 عزیز، خوش آمدید — مراجعهٔ ۴ (آخرین بار: ۶ روز پیش).");
}

// What similar customers buy: customers who had coffee went on to buy a water filter; as many
// others bought apple juice, so both sell equally well. A newcomer whose top item is coffee gets
// the water filter ranked above the apple juice (which its SKU would otherwise put first), and
// told why.
TEST_F(Memory, PredictionsIncludeWhatCustomersWithTheSameItemsWentOnToBuy) {
  const json consent = {{"remember", true}, {"personalize", true}};
  for (int i = 0; i < 8; ++i) {
    const json coffee_drinker = id("card", "71" + std::to_string(i)), juice_buyer = id("card", "72" + std::to_string(i));
    for (const auto& who : {coffee_drinker, juice_buyer}) record({{"type", "consent"}, {"customer", who}, {"purposes", consent}});
    buy(coffee_drinker, {"coffee"}, "2026-10-0" + std::to_string(i + 1) + "T09:00:00Z");
    buy(coffee_drinker, {"water-filter"}, "2026-10-1" + std::to_string(i) + "T09:00:00Z");
    buy(juice_buyer, {"apple-juice"}, "2026-10-2" + std::to_string(i) + "T09:00:00Z");
  }
  const json newcomer = id("card", "7300");
  record({{"type", "consent"}, {"customer", newcomer}, {"purposes", consent}});
  buy(newcomer, {"coffee"}, "2026-10-30T09:00:00Z");
  const json answer = ask(newcomer);
  std::vector<std::string> skus;
  for (const auto& p : answer["predictions"]) skus.push_back(p["sku"].get<std::string>());
  const auto filter = std::find(skus.begin(), skus.end(), "water-filter"), juice = std::find(skus.begin(), skus.end(), "apple-juice");
  ASSERT_NE(filter, skus.end()) << answer["predictions"].dump();
  ASSERT_NE(juice, skus.end()) << answer["predictions"].dump();
  EXPECT_LT(filter - skus.begin(), juice - skus.begin()) << answer["predictions"].dump();
  EXPECT_EQ(answer["predictions"][filter - skus.begin()]["reason"], "customers like them buy it");
  EXPECT_EQ(answer["predictions"][juice - skus.begin()]["reason"], "popular in this store");

  // Rebuild counts the same successors from the log.
  std::string out;
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_NE(out.find("item_sources          identical"), std::string::npos) << out;
  EXPECT_EQ(ask(newcomer)["predictions"], answer["predictions"]);
}

TEST_F(Memory, RebuildReproducesTheProjectionsExactly) {
  const json a = id("card", "7007"), b = id("phone", "0912 333 4444");
  for (const auto& who : {a, b})
    record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  buy(a, {"oat-milk", "bread"}, "2026-10-01T08:30:00+03:30");
  buy(a, {"chips-sv"}, "2026-10-08T08:30:00+03:30", "son");
  buy(b, {"bread"}, "2026-10-02T17:00:00Z");
  record({{"type", "return"}, {"customer", a}, {"lines", {{{"sku", "bread"}, {"qty", 1}, {"unit_price", 100}}}}});
  record({{"type", "preference"}, {"customer", a}, {"key", "allergy"}, {"value", "nuts"}, {"for", "son"}});
  record({{"type", "note"}, {"customer", a}, {"text", "Prefers to pay by phone"}});
  record({{"type", "profile"}, {"customer", a}, {"birthday", "03-14"}, {"household", {{{"member", "son"}, {"name", "Ali"}}}}});
  record({{"type", "merge"}, {"customer", a}, {"other", b}});
  buy(b, {"eggs"}, "2026-10-20T17:00:00Z");
  record({{"type", "link"}, {"customer", a}, {"identifier", id("email", "a@example.org")}});
  const json before = ask(a, {{"time", "2026-11-01T10:00:00Z"}});

  std::string out;
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_NE(out.find("projections match the event log"), std::string::npos) << out;
  EXPECT_EQ(ask(a, {{"time", "2026-11-01T10:00:00Z"}}), before);

  // A projection damaged behind the daemon's back is found and repaired by rebuild.
  ASSERT_EQ(daemon_->stop(), 0);
  ASSERT_EQ(run_command("sqlite3 " + daemon_->db_path() + " \"UPDATE customers SET visits=99\"", out), 0) << out;
  daemon_->start();
  // The client reconnects in the background; wait for it as a till would.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  regulars_status s = REGULARS_UNAVAILABLE;
  while (s != REGULARS_OK && Clock::now() < deadline) {
    plugin_.hints_text(client(), json{{"customer", a}}.dump(), s);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ask(a)["customer"]["visits"], 99);
  EXPECT_EQ(ctl("rebuild", out), 3) << out;
  EXPECT_NE(out.find("customers"), std::string::npos);
  EXPECT_NE(out.find("rows differed"), std::string::npos) << out;
  EXPECT_EQ(ask(a, {{"time", "2026-11-01T10:00:00Z"}}), before);
}

}  // namespace
}  // namespace regulars::test
