// The prediction blend in the real daemon: every returning customer's purchase is measured as a
// hold-out, a segment where the best sellers do as well as personal history is served the best
// sellers, status shows it, and the measurements survive a restart and a rebuild.
#include <set>

#include "fixture.hpp"

namespace regulars::test {
namespace {

class PredictionBlend : public DaemonTest {
 protected:
  json blend() {
    const auto [status, body] = admin("GET", "/v1/status");
    EXPECT_EQ(status, 200);
    return body.value("prediction_blend", json::object());
  }
};

// Five customers, 120 visits each; every basket is the store's two best sellers and an item
// nobody buys twice. Knowing a customer adds nothing to what sells.
TEST_F(PredictionBlend, AStoreWhereHistoryAddsNothingIsServedItsBestSellers) {
  constexpr int kCustomers = 5, kVisits = 120;
  for (int c = 0; c < kCustomers; ++c)
    ASSERT_EQ(plugin_.record(client(), consent("blend-" + std::to_string(c)).c_str()), REGULARS_OK);
  for (int v = 0; v < kVisits; ++v)
    for (int c = 0; c < kCustomers; ++c) {
      const std::string who = "blend-" + std::to_string(c);
      const std::string once = "once-" + std::to_string(c) + "-" + std::to_string(v);
      ASSERT_EQ(plugin_.record(client(), purchase(who, {"bread", "milk", once}).c_str()), REGULARS_OK) << plugin_.last_error();
    }
  const json b = blend();
  EXPECT_EQ(b["holdouts"], kCustomers * (kVisits - 1)) << b.dump();
  const json& most_visits = b["segments"].back();  // 40+ visits: 80 hold-outs each
  EXPECT_EQ(most_visits["visits"], "40+");
  EXPECT_EQ(most_visits["serves"], "best sellers") << b.dump();
  EXPECT_NEAR(most_visits["recall_at_10"]["store"].get<double>(), 2.0 / 3.0, 1e-3);
  EXPECT_EQ(most_visits["recall_at_10"]["blend"], most_visits["recall_at_10"]["store"]);
  EXPECT_EQ(b["segments"][0]["serves"], "blend") << "too few hold-outs to judge";

  const json answer = ask(json::parse(card("blend-0")));
  ASSERT_GE(answer["predictions"].size(), 2u) << answer.dump();
  std::set<std::string> first_two{answer["predictions"][0]["sku"], answer["predictions"][1]["sku"]};
  EXPECT_EQ(first_two, (std::set<std::string>{"bread", "milk"}));

  // Measurements are kept (blend_cells) across a restart; a rebuild measures them again.
  // The scale b and the household factor are recomputed from the kept cells at start-up, fresher
  // than the live ones (refreshed every 256 hold-outs); the counts must be the same.
  const auto counts = [](json j) {
    for (auto& s : j["segments"]) s.erase("store_scale");
    j.erase("household_factor");
    return j;
  };
  daemon_->stop();
  daemon_->start();
  EXPECT_EQ(counts(blend()), counts(b));
  const auto [status, rebuilt] = admin("POST", "/v1/rebuild");
  ASSERT_EQ(status, 200) << rebuilt.dump();
  EXPECT_EQ(blend()["holdouts"], b["holdouts"]);
  EXPECT_EQ(blend()["segments"].back()["serves"], "best sellers");
}

}  // namespace
}  // namespace regulars::test
