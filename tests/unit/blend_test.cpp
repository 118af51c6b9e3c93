// The blend's measurements on hand-made hold-outs: a store whose customers buy only what sells
// must end up served the best sellers; one whose customers buy their own items again must not,
// and must rank those items by the measured rates. The cells survive a save and a load.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db/db.hpp"
#include "memory/blend.hpp"
#include "temp_dir.hpp"

namespace regulars::daemon {
namespace {

// 30 items; "s0".."s9" sell most. Each customer knows "own0".."own4".
StoreView store() {
  StoreView v;
  for (int i = 0; i < 30; ++i) v.best.emplace_back("s" + std::to_string(i), 1000 - 10 * i);
  v.baskets = 5000;
  v.repeat_share = 0.3;
  return v;
}

HoldOut customer(std::int64_t visits, std::vector<std::string> basket) {
  HoldOut h{visits, {}, std::move(basket)};
  for (int i = 0; i < 5; ++i) h.known.push_back(KnownItem{"own" + std::to_string(i), 2 + i, visits - i % 2, 50, 20});
  return h;
}

TEST(BlendBuckets, SegmentsCountsAndAges) {
  EXPECT_EQ(segment_of(1), 0);
  EXPECT_EQ(segment_of(2), 1);
  EXPECT_EQ(segment_of(4), 3);
  EXPECT_EQ(segment_of(6), 4);
  EXPECT_EQ(segment_of(9), 5);
  EXPECT_EQ(segment_of(39), 8);
  EXPECT_EQ(segment_of(40), 9);
  EXPECT_EQ(count_bucket(1), 0);
  EXPECT_EQ(count_bucket(3), 2);
  EXPECT_EQ(count_bucket(8), 6);
  EXPECT_EQ(count_bucket(22), 9);
  EXPECT_EQ(count_bucket(100), 10);
  EXPECT_EQ(age_bucket(0), 0);
  EXPECT_EQ(age_bucket(1), 1);
  EXPECT_EQ(age_bucket(3), 2);
  EXPECT_EQ(age_bucket(9), 3);
}

TEST(Blend, FallsBackToBestSellersWhereNobodyRepeats) {
  Blend blend;
  for (int i = 0; i < 512; ++i) blend.measure(customer(5, {"s" + std::to_string(i % 3), "x"}), store());
  EXPECT_TRUE(blend.weights().store_only(5));
  EXPECT_FALSE(blend.weights().store_only(1));  // nothing measured there: the blend stays
  const KnownItem own{"own0", 6, 5, 50, 20};
  EXPECT_LT(blend.weights().personal(5, own, 0.3), 0.01);
  const auto d = blend.describe();
  EXPECT_EQ(d["holdouts"], 512);
  EXPECT_EQ(d["segments"][4]["serves"], "best sellers");
  EXPECT_GT(d["segments"][4]["recall_at_10"]["store"].get<double>(), 0.49);
  EXPECT_EQ(d["segments"][4]["recall_at_10"]["frequency"].get<double>(), 0.0);
}

TEST(Blend, KeepsPersonalItemsWhereCustomersRepeat) {
  Blend blend;
  // The customer buys again what they bought at the last visit (own0, own2, own4), and nothing that sells.
  for (int i = 0; i < 512; ++i) blend.measure(customer(9, {"own0", "own2", "own4"}), store());
  const BlendWeights& w = blend.weights();
  EXPECT_FALSE(w.store_only(9));
  const KnownItem last_visit{"a", 4, 9, 50, 20}, long_ago{"b", 4, 5, 50, 20};
  EXPECT_GT(w.personal(9, last_visit, 0.3), 0.9);
  EXPECT_LT(w.personal(9, long_ago, 0.3), w.personal(9, last_visit, 0.3));
  EXPECT_LT(w.store_scale(9), 0.1);  // the best sellers were never bought
  const auto recall = blend.describe()["segments"][5]["recall_at_10"];
  EXPECT_GT(recall["blend"].get<double>(), 0.4);  // the first weights, before any measurement, favour what sells
  EXPECT_EQ(recall["store"].get<double>(), 0.0);
}

TEST(Blend, AnItemBoughtAgainByItsBuyersWeighsMore) {
  Blend blend;
  const KnownItem staple{"milk", 3, 4, 100, 10}, one_off{"kettle", 3, 4, 100, 95};
  EXPECT_GT(blend.weights().personal(4, staple, 0.3), blend.weights().personal(4, one_off, 0.3));
}

TEST(Blend, SurvivesSaveAndLoad) {
  test::TempDir dir;
  Db db(dir.sub("regulars.db"), Db::Mode::read_write);
  migrate(db);
  Blend blend;
  for (int i = 0; i < 512; ++i) blend.measure(customer(5, {"s1"}), store());
  blend.save(db);
  Blend loaded;
  loaded.load(db);
  EXPECT_EQ(loaded.describe(), blend.describe());
  EXPECT_EQ(loaded.weights().store_only(5), blend.weights().store_only(5));
}

}  // namespace
}  // namespace regulars::daemon
