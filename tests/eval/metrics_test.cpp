// The figures of regulars-eval on examples computed by hand (log2(3) = 1.5849625, log2(5) = 2.3219281),
// and the dataset checks of its loader.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataset.hpp"
#include "latency.hpp"
#include "metrics.hpp"

namespace regulars::eval {
namespace {

using regulars::tools::LatencySummary;
using regulars::tools::summarize_ns;

using V = std::vector<std::string>;
constexpr double kEps = 1e-9;
const double kPos2 = 1.0 / std::log2(3.0);  // 0.6309298 — the discount of position 2
const double kPos3 = 0.5;                   // 1/log2(4)
const double kPos4 = 1.0 / std::log2(5.0);  // 0.4306766

TEST(EvalMetrics, OneHitAtPositionTwoOfThree) {
  const V ranked{"a", "b", "c", "d"};
  const ItemSet truth{"b", "d", "x"};
  // k=3: b is hit at position 2; the ideal list has min(3, 3) = 3 hits.
  EXPECT_NEAR(recall_at_k(ranked, truth, 3), 1.0 / 3.0, kEps);
  EXPECT_NEAR(ndcg_at_k(ranked, truth, 3), kPos2 / (1.0 + kPos2 + kPos3), kEps);  // 0.2960819
  EXPECT_NEAR(ndcg_at_k(ranked, truth, 3), 0.2960819, 1e-7);
  EXPECT_TRUE(hit_at_k(ranked, truth, 3));
  // k=10: b (2) and d (4); only 4 predictions exist, the ideal still has 3 positions.
  EXPECT_NEAR(recall_at_k(ranked, truth, 10), 2.0 / 3.0, kEps);
  EXPECT_NEAR(ndcg_at_k(ranked, truth, 10), (kPos2 + kPos4) / (1.0 + kPos2 + kPos3), kEps);  // 0.4981893
  EXPECT_NEAR(ndcg_at_k(ranked, truth, 10), 0.4981893, 1e-7);
  // k=1: a is no hit.
  EXPECT_EQ(recall_at_k(ranked, truth, 1), 0.0);
  EXPECT_EQ(ndcg_at_k(ranked, truth, 1), 0.0);
  EXPECT_FALSE(hit_at_k(ranked, truth, 1));
}

TEST(EvalMetrics, IdealIsCutAtK) {
  const V ranked{"x", "a"};
  const ItemSet truth{"a", "b", "c", "d", "e"};
  // k=2: one hit at position 2 of 5 truths; the ideal is min(2, 5) = 2 positions.
  EXPECT_NEAR(recall_at_k(ranked, truth, 2), 0.2, kEps);
  EXPECT_NEAR(ndcg_at_k(ranked, truth, 2), kPos2 / (1.0 + kPos2), kEps);  // 0.3868528
  EXPECT_NEAR(ndcg_at_k(ranked, truth, 2), 0.3868528, 1e-7);
}

TEST(EvalMetrics, PerfectRankingScoresOne) {
  const V ranked{"c", "a", "b", "z"};
  const ItemSet truth{"a", "b", "c"};
  for (std::size_t k : {3u, 10u, 20u}) {
    EXPECT_NEAR(recall_at_k(ranked, truth, k), 1.0, kEps) << k;
    EXPECT_NEAR(ndcg_at_k(ranked, truth, k), 1.0, kEps) << k;
  }
  // k=2 ranks two of three truths perfectly: ndcg 1, recall 2/3.
  EXPECT_NEAR(ndcg_at_k(ranked, truth, 2), 1.0, kEps);
  EXPECT_NEAR(recall_at_k(ranked, truth, 2), 2.0 / 3.0, kEps);
}

TEST(EvalMetrics, RepeatedPredictionCountsOnce) {
  EXPECT_NEAR(recall_at_k({"a", "a", "b"}, {"a"}, 3), 1.0, kEps);
  EXPECT_NEAR(ndcg_at_k({"a", "a", "b"}, {"a"}, 3), 1.0, kEps);
  EXPECT_NEAR(recall_at_k({"x", "a", "a"}, {"a", "b"}, 3), 0.5, kEps);
  EXPECT_NEAR(ndcg_at_k({"x", "a", "a"}, {"a", "b"}, 3), kPos2 / (1.0 + kPos2), kEps);
}

TEST(EvalMetrics, EmptyRankingOrTruthScoresZero) {
  const AtK none = score_at_k({}, {"a"}, 10);
  EXPECT_EQ(none.recall, 0.0);
  EXPECT_EQ(none.ndcg, 0.0);
  EXPECT_FALSE(none.hit);
  const AtK no_truth = score_at_k({"a"}, {}, 10);
  EXPECT_EQ(no_truth.recall, 0.0);
  EXPECT_EQ(no_truth.ndcg, 0.0);
  EXPECT_FALSE(no_truth.hit);
  EXPECT_EQ(score_at_k({"a"}, {"a"}, 0).recall, 0.0);
}

TEST(EvalMetrics, AccumulatorAveragesOverAllUsersIncludingFailures) {
  Accumulator acc({3, 10});
  acc.add({"a", "b", "c"}, {"a"});         // hit at 1: recall 1, ndcg 1
  acc.add({"x", "y", "b"}, {"b", "c"});    // k=3: hit at 3: recall 1/2, ndcg 0.5/(1+kPos2)
  acc.add({}, {"q"});                      // a failed call: zeros
  acc.add({"x", "y", "z", "w"}, {"w"});    // k=3 no hit; k=10 hit at 4: ndcg kPos4
  EXPECT_EQ(acc.users(), 4u);
  EXPECT_NEAR(acc.recall(3), (1.0 + 0.5) / 4.0, kEps);
  EXPECT_NEAR(acc.ndcg(3), (1.0 + kPos3 / (1.0 + kPos2)) / 4.0, kEps);
  EXPECT_NEAR(acc.phr(3), 0.5, kEps);
  EXPECT_NEAR(acc.recall(10), (1.0 + 0.5 + 1.0) / 4.0, kEps);
  EXPECT_NEAR(acc.ndcg(10), (1.0 + kPos3 / (1.0 + kPos2) + kPos4) / 4.0, kEps);
  EXPECT_NEAR(acc.phr(10), 0.75, kEps);
  EXPECT_THROW(acc.recall(5), std::out_of_range);
  EXPECT_EQ(Accumulator({10}).recall(10), 0.0);
}

TEST(EvalMetrics, LatencyPercentilesAreNearestRank) {
  std::vector<std::int64_t> ns;
  for (int us = 100; us >= 1; --us) ns.push_back(us * 1000);  // 1..100 µs, unsorted
  const LatencySummary s = summarize_ns(ns);
  EXPECT_EQ(s.n, 100u);
  EXPECT_DOUBLE_EQ(s.p50, 50.0);
  EXPECT_DOUBLE_EQ(s.p90, 90.0);
  EXPECT_DOUBLE_EQ(s.p99, 99.0);
  EXPECT_DOUBLE_EQ(s.p999, 100.0);
  EXPECT_DOUBLE_EQ(s.max, 100.0);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_EQ(summarize_ns({}).n, 0u);
}

// --- the dataset loader ------------------------------------------------------------------------

using nlohmann::json;

std::string error_of(const json& doc, bool one = false) {
  try {
    parse_dataset(doc, "f.json", one);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(EvalDataset, StripsSentinelsDropsRepeatsAndSortsNaturally) {
  const auto doc = json::parse(R"({"10": [[-1], [3, 1, 3], [2], [-1]], "9": [[-1], [7], [-1]], "b": [[5]], "a": [[4], [-1]]})");
  const Dataset ds = parse_dataset(doc, "f.json", false);
  ASSERT_EQ(ds.customers.size(), 4u);
  EXPECT_EQ(ds.customers[0].id, "9");
  EXPECT_EQ(ds.customers[1].id, "10");
  EXPECT_EQ(ds.customers[2].id, "a");
  EXPECT_EQ(ds.customers[3].id, "b");
  EXPECT_EQ(ds.customers[1].baskets, (std::vector<std::vector<std::string>>{{"3", "1"}, {"2"}}));
  EXPECT_EQ(ds.baskets, 5u);
  EXPECT_EQ(ds.items, 6u);
  EXPECT_EQ(ds.duplicates, 1u);
}

TEST(EvalDataset, ErrorsNameTheCustomerAndThePosition) {
  EXPECT_EQ(error_of(json::parse(R"({"1": [[-1], [1], [2, "x"], [-1]]})")),
            R"(f.json: customer "1", element 2 of its list, item 1: item ids must be non-negative integers, got "x")");
  EXPECT_EQ(error_of(json::parse(R"({"1": [[-1], [1], [-2], [-1]]})")),
            R"(f.json: customer "1", element 2 of its list, item 0: item ids must be non-negative integers, got -2)");
  EXPECT_EQ(error_of(json::parse(R"({"1": [[-1], [1.5], [-1]]})")),
            R"(f.json: customer "1", element 1 of its list, item 0: item ids must be non-negative integers, got 1.5)");
  EXPECT_EQ(error_of(json::parse(R"({"7": [[-1], [1], [-1], [2], [-1]]})")),
            R"(f.json: customer "7", element 2 of its list: the [-1] sentinel may only be the first or the last element)");
  EXPECT_EQ(error_of(json::parse(R"({"7": [[-1], [], [-1]]})")), R"(f.json: customer "7", element 1 of its list: empty basket)");
  EXPECT_EQ(error_of(json::parse(R"({"7": [[-1], 5, [-1]]})")),
            R"(f.json: customer "7", element 1 of its list: a basket must be a list of item ids, got 5)");
  EXPECT_EQ(error_of(json::parse(R"({"7": [[-1], [-1]]})")), R"(f.json: customer "7": no baskets besides the [-1] sentinels)");
  EXPECT_EQ(error_of(json::parse(R"({"7": {"a": 1}})")),
            R"(f.json: customer "7": expected a list of baskets [[-1], basket, ..., [-1]], got {"a":1})");
  EXPECT_EQ(error_of(json::parse(R"([1, 2])")),
            R"(f.json: the top level must be an object {"customer_id": [[-1], basket, ..., [-1]]}, got array)");
  EXPECT_EQ(error_of(json::parse(R"({})")), "f.json: no customers");
  EXPECT_EQ(error_of(json::parse(R"({"3": [[-1], [1], [2], [-1]]})"), true),
            R"(f.json: customer "3": expected exactly one basket (the held-out next basket), found 2)");
  json big = json::array();
  for (int i = 0; i < 1001; ++i) big.push_back(i);
  EXPECT_EQ(error_of(json{{"4", json::array({big})}}),
            R"(f.json: customer "4", element 0 of its list: 1001 distinct items; a purchase holds at most 1000 lines)");
}

TEST(EvalDataset, NaturalOrder) {
  EXPECT_TRUE(natural_less("2", "10"));
  EXPECT_FALSE(natural_less("10", "2"));
  EXPECT_TRUE(natural_less("999", "a"));
  EXPECT_TRUE(natural_less("a", "b"));
  EXPECT_TRUE(natural_less("007", "8"));
  EXPECT_FALSE(natural_less("5", "5"));
}

}  // namespace
}  // namespace regulars::eval
