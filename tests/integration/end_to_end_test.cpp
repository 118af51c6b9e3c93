// Acceptance 2 of the foundation: consent + three purchases through the dlopen'ed plugin, then
// the hints know the customer and put oat milk first.
#include <fstream>
#include <sstream>

#include "fixture.hpp"

namespace regulars::test {
namespace {

class EndToEnd : public DaemonTest {};

TEST_F(EndToEnd, ConsentThenThreePurchasesGiveVisitsAndOatMilkFirst) {
  regulars_client* c = open_client();
  ASSERT_EQ(plugin_.record(c, consent("4000123").c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(c, purchase("4000123", {"oat-milk", "bread"}).c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(c, purchase("4000123", {"apples"}).c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(c, purchase("4000123", {"oat-milk", "eggs"}).c_str()), REGULARS_OK);

  regulars_status s;
  const json h = hints(c, "4000123", &s);
  ASSERT_EQ(s, REGULARS_OK) << plugin_.last_error();
  EXPECT_TRUE(h["customer"]["known"].get<bool>());
  EXPECT_EQ(h["customer"]["visits"], 3);
  EXPECT_EQ(h["customer"]["consent"]["personalize"], true);
  ASSERT_FALSE(h["predictions"].empty());
  EXPECT_EQ(h["predictions"][0]["sku"], "oat-milk");
  EXPECT_GT(h["predictions"][0]["score"].get<double>(), h["predictions"][1]["score"].get<double>());
  ASSERT_FALSE(h["hints"].empty());
  EXPECT_EQ(h["hints"][0]["kind"], "greeting");
  EXPECT_NE(h["hints"][0]["text"].get<std::string>().find("visit 4"), std::string::npos) << h["hints"][0];
  EXPECT_FALSE(h["hints"][0]["why"].get<std::string>().empty());

  // Another identifier is another (unknown) customer.
  const json unknown = hints(c, "4000999");
  EXPECT_FALSE(unknown["customer"]["known"].get<bool>());
  EXPECT_TRUE(unknown["predictions"].empty());
}

TEST_F(EndToEnd, WithoutConsentTheCustomerIsKnownButNotPersonalised) {
  regulars_client* c = open_client();
  ASSERT_EQ(plugin_.record(c, purchase("5550001", {"tea"}).c_str()), REGULARS_OK);
  const json h = hints(c, "5550001");
  EXPECT_TRUE(h["customer"]["known"].get<bool>());
  EXPECT_FALSE(h["customer"]["personalized"].get<bool>());
  EXPECT_TRUE(h["hints"].empty());
  EXPECT_TRUE(h["predictions"].empty());

  // Withdrawn consent stops personalisation at once.
  ASSERT_EQ(plugin_.record(c, consent("5550001", true).c_str()), REGULARS_OK);
  EXPECT_FALSE(hints(c, "5550001")["hints"].empty());
  ASSERT_EQ(plugin_.record(c, consent("5550001", false).c_str()), REGULARS_OK);
  EXPECT_TRUE(hints(c, "5550001")["hints"].empty());
}

TEST_F(EndToEnd, TheSameEventIdIsCountedOnce) {
  regulars_client* c = open_client();
  ASSERT_EQ(plugin_.record(c, consent("4000123").c_str()), REGULARS_OK);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(plugin_.record(c, purchase("4000123", {"milk"}, "till-7-receipt-42").c_str()), REGULARS_OK);
  EXPECT_EQ(visits(c, "4000123"), 1);
}

TEST_F(EndToEnd, BadEventsAreRefusedWithTheFieldAndChangeNothing) {
  regulars_client* c = open_client();
  ASSERT_EQ(plugin_.record(c, purchase("4000123", {"milk"}).c_str()), REGULARS_OK);
  const std::string bad_qty =
      R"({"type":"purchase","customer":{"kind":"card","value":"4000123"},"lines":[{"sku":"x","qty":-1}]})";
  EXPECT_EQ(plugin_.record(c, bad_qty.c_str()), REGULARS_INVALID_INPUT);
  EXPECT_NE(std::string(plugin_.last_error()).find("event.lines[0].qty"), std::string::npos) << plugin_.last_error();
  EXPECT_EQ(plugin_.record(c, "{not json"), REGULARS_INVALID_INPUT);
  EXPECT_EQ(plugin_.record(c, R"({"type":"refund","customer":{"kind":"card","value":"1"}})"), REGULARS_INVALID_INPUT);
  // A payment card number is never accepted as an identifier...
  EXPECT_EQ(plugin_.record(c, purchase("4111 1111 1111 1111", {"milk"}).c_str()), REGULARS_INVALID_INPUT);
  // ...but a processor's opaque payment token is.
  EXPECT_EQ(plugin_.record(c, R"({"type":"purchase","customer":{"kind":"payment_token","value":"tok_9fQ2xLm"},"lines":[{"sku":"milk"}]})"),
            REGULARS_OK);
  EXPECT_EQ(plugin_.record(nullptr, "{}"), REGULARS_INVALID_ARGUMENT);
  char* out = reinterpret_cast<char*>(0x1);
  EXPECT_EQ(plugin_.hints(c, "[]", &out), REGULARS_INVALID_INPUT);
  EXPECT_EQ(out, nullptr);

  ASSERT_EQ(daemon_->stop(), 0);
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.count("SELECT count(*) FROM events"), 2);  // the good purchase and the token one
}

TEST_F(EndToEnd, RawIdentifiersNeverReachTheStoreOrTheLog) {
  regulars_client* c = open_client();
  ASSERT_EQ(plugin_.record(c, consent("7777000111").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(c, purchase("7777000111", {"milk"}).c_str()), REGULARS_OK);
  EXPECT_TRUE(hints(c, "7777000111")["customer"]["known"].get<bool>());
  close_client(c);
  ASSERT_EQ(daemon_->stop(), 0);
  for (const std::string& path : {daemon_->db_path(), daemon_->db_path() + "-wal", daemon_->log_path()}) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str().find("7777000111"), std::string::npos) << path;
  }
  EXPECT_NE(daemon_->log().find("recorded"), std::string::npos);  // the log did record the events
}

TEST_F(EndToEnd, ManyThreadsShareOneClient) {
  regulars_client* c = open_client(1000);
  ASSERT_EQ(plugin_.record(c, consent("600").c_str()), REGULARS_OK);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (plugin_.record(c, purchase("600", {"sku-" + std::to_string(t)}).c_str()) != REGULARS_OK) ++failures;
        regulars_status s;
        plugin_.hints_text(c, hints_request("600"), s);
        if (s != REGULARS_OK) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(visits(c, "600"), 300);
}

}  // namespace
}  // namespace regulars::test

namespace regulars::test {
namespace {

// Scores are shares (0..1) even right after a burst of purchases, when cached store figures
// would be older than the item counts they are divided into.
TEST_F(EndToEnd, PredictionScoresStayBetweenZeroAndOneAfterABurst) {
  regulars_client* c = open_client(1000);
  ASSERT_EQ(plugin_.record(c, consent("81").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(c, purchase("81", {"tea", "milk"}).c_str()), REGULARS_OK);
  ASSERT_FALSE(hints(c, "81")["predictions"].empty());  // fills the daemon's best-seller cache
  for (int i = 0; i < 6; ++i) ASSERT_EQ(plugin_.record(c, purchase("81", {"tea"}).c_str()), REGULARS_OK);
  const json h = hints(c, "81");
  ASSERT_FALSE(h["predictions"].empty());
  for (const auto& p : h["predictions"]) {
    EXPECT_GE(p["score"].get<double>(), 0.0) << p;
    EXPECT_LE(p["score"].get<double>(), 1.0) << p;
  }
  EXPECT_EQ(h["predictions"][0]["sku"], "tea");
  EXPECT_EQ(h["predictions"][0]["reason"], "bought on 7 of 7 visits");
}

}  // namespace
}  // namespace regulars::test
