// Quality figures of regulars-eval (latency: tools_support/latency.hpp), kept apart from the program so they can be
// unit-tested against hand-computed examples. Definitions: /work/shared/data/tafeng/README.md
// (the same as "A Next Basket Recommendation Reality Check", Li et al. 2023):
//   recall@k = |top-k ∩ truth| / |truth|
//   ndcg@k   = DCG(top-k) / IDCG, DCG = Σ_{hit at position i} 1/log2(i+1) (i from 1),
//              IDCG = Σ_{i=1..min(k,|truth|)} 1/log2(i+1)
//   phr@k    = share of customers with at least one hit in the top k
// "top-k" is the first k predictions returned (fewer when the engine returns fewer). A SKU
// repeated in the ranking counts once, at its first position: the ranking is treated as a list of
// distinct items, so a duplicate can never raise recall or DCG.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

namespace regulars::eval {

using ItemSet = std::unordered_set<std::string>;

struct AtK {
  double recall = 0;
  double ndcg = 0;
  bool hit = false;
};

// The figures of one customer's ranking against the items of their held-out basket.
// An empty truth gives zeros (the dataset loader refuses empty future baskets).
AtK score_at_k(const std::vector<std::string>& ranked, const ItemSet& truth, std::size_t k);

double recall_at_k(const std::vector<std::string>& ranked, const ItemSet& truth, std::size_t k);
double ndcg_at_k(const std::vector<std::string>& ranked, const ItemSet& truth, std::size_t k);
bool hit_at_k(const std::vector<std::string>& ranked, const ItemSet& truth, std::size_t k);

// Means over customers for a fixed set of cut-offs. A customer whose hints call failed is added
// with an empty ranking: zero hits, and still counted in the denominator.
class Accumulator {
 public:
  explicit Accumulator(std::vector<std::size_t> ks);
  void add(const std::vector<std::string>& ranked, const ItemSet& truth);
  std::size_t users() const noexcept { return users_; }
  const std::vector<std::size_t>& ks() const noexcept { return ks_; }
  // Means over the users added so far; k must be one of ks(). Zero when no user was added.
  double recall(std::size_t k) const;
  double ndcg(std::size_t k) const;
  double phr(std::size_t k) const;

 private:
  std::size_t index_of(std::size_t k) const;
  std::vector<std::size_t> ks_;
  std::vector<double> recall_sum_, ndcg_sum_;
  std::vector<std::size_t> hits_;
  std::size_t users_ = 0;
};

}  // namespace regulars::eval
