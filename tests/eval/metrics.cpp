#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace regulars::eval {

AtK score_at_k(const std::vector<std::string>& ranked, const ItemSet& truth, std::size_t k) {
  AtK r;
  if (truth.empty() || k == 0) return r;
  ItemSet seen;
  std::size_t hits = 0;
  double dcg = 0;
  const std::size_t n = std::min(k, ranked.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (!seen.insert(ranked[i]).second) continue;  // a repeat is never a second hit
    if (truth.count(ranked[i]) == 0) continue;
    ++hits;
    dcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);  // position i+1 → log2(i+2)
  }
  double idcg = 0;
  const std::size_t ideal = std::min(k, truth.size());
  for (std::size_t i = 0; i < ideal; ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  r.recall = static_cast<double>(hits) / static_cast<double>(truth.size());
  r.ndcg = dcg / idcg;
  r.hit = hits > 0;
  return r;
}

double recall_at_k(const std::vector<std::string>& ranked, const ItemSet& truth, std::size_t k) {
  return score_at_k(ranked, truth, k).recall;
}
double ndcg_at_k(const std::vector<std::string>& ranked, const ItemSet& truth, std::size_t k) {
  return score_at_k(ranked, truth, k).ndcg;
}
bool hit_at_k(const std::vector<std::string>& ranked, const ItemSet& truth, std::size_t k) {
  return score_at_k(ranked, truth, k).hit;
}

Accumulator::Accumulator(std::vector<std::size_t> ks)
    : ks_(std::move(ks)), recall_sum_(ks_.size()), ndcg_sum_(ks_.size()), hits_(ks_.size()) {}

void Accumulator::add(const std::vector<std::string>& ranked, const ItemSet& truth) {
  for (std::size_t i = 0; i < ks_.size(); ++i) {
    const AtK s = score_at_k(ranked, truth, ks_[i]);
    recall_sum_[i] += s.recall;
    ndcg_sum_[i] += s.ndcg;
    hits_[i] += s.hit ? 1 : 0;
  }
  ++users_;
}

std::size_t Accumulator::index_of(std::size_t k) const {
  const auto it = std::find(ks_.begin(), ks_.end(), k);
  if (it == ks_.end()) throw std::out_of_range("no figures kept for k=" + std::to_string(k));
  return static_cast<std::size_t>(it - ks_.begin());
}

double Accumulator::recall(std::size_t k) const {
  return users_ ? recall_sum_[index_of(k)] / static_cast<double>(users_) : 0.0;
}
double Accumulator::ndcg(std::size_t k) const {
  return users_ ? ndcg_sum_[index_of(k)] / static_cast<double>(users_) : 0.0;
}
double Accumulator::phr(std::size_t k) const {
  return users_ ? static_cast<double>(hits_[index_of(k)]) / static_cast<double>(users_) : 0.0;
}

}  // namespace regulars::eval
