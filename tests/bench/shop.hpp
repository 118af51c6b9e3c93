// The made-up grocery shop of regulars-bench: a catalogue with Zipf-like popularity, customers
// with favourites and skewed loyalty, who comes when with how many lines, and the gesture rules a
// busy store might run. Everything is a pure function of --seed, so any phase can rebuild it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace regulars::bench {

[[noreturn]] inline void die(const std::string& message) { throw std::runtime_error(message); }

// splitmix64 and xoshiro256**: fast, and the same sequence on every platform for a given seed
// (std:: distributions are implementation-defined, so they are not used for the data).
std::uint64_t splitmix64(std::uint64_t& x);

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {  // inclusive
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo + 1)));
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// A seed for one use of the data (a phase, a customer) derived from the run's seed.
std::uint64_t mix(std::uint64_t a, std::uint64_t b);

// Samples index i with probability proportional to weights[i].
class Sampler {
 public:
  Sampler() = default;
  explicit Sampler(const std::vector<double>& weights) {
    cdf_.reserve(weights.size());
    double sum = 0;
    for (double w : weights) cdf_.push_back(sum += w);
  }
  std::uint32_t operator()(Rng& rng) const {
    const double u = rng.uniform() * cdf_.back();
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    return static_cast<std::uint32_t>(std::min<std::size_t>(static_cast<std::size_t>(it - cdf_.begin()), cdf_.size() - 1));
  }

 private:
  std::vector<double> cdf_;
};

constexpr std::int64_t kDayMs = 86'400'000;
constexpr int kSkus = 5000;

struct Catalogue {
  std::vector<std::string> sku;
  std::vector<std::string> name;
  std::vector<std::int64_t> price;  // minor units
  Sampler popularity;  // what anyone puts in a basket
  Sampler taste;       // where personal favourites come from: flatter, so tastes differ
};

Catalogue make_catalogue(std::uint64_t seed);

// A customer's favourites, derived from (seed, customer) alone so any phase can rebuild them.
struct Profile {
  std::vector<std::uint32_t> favourites;
  Sampler pick;          // favourites weighted: the first is bought most often
  double loyalty = 0.6;  // share of a basket taken from the favourites
};

Profile profile_of(const Catalogue& cat, std::uint64_t seed, std::uint32_t customer);

// n purchase lines, mostly from the customer's favourites, the rest from what is popular.
nlohmann::json basket_lines(const Catalogue& cat, const Profile& p, Rng& rng, int n);

// The customer's loyalty card, as a till would send it.
nlohmann::json customer_json(std::uint32_t customer);

struct Visit {
  std::int64_t time_ms;
  std::uint32_t customer;
  std::uint32_t lines;
};

struct Plan {
  std::uint32_t customers = 0;
  std::int64_t lines = 0;
  std::uint64_t seed = 0;
  std::int64_t end_ms = 0;
  std::vector<std::uint32_t> visits;  // per customer
  std::vector<Visit> schedule;        // every visit, in time order
};

// Who comes how often, when, and with how many lines — a pure function of its inputs. Throws
// when there are no customers or fewer lines than customers.
Plan make_plan(std::uint32_t customers, std::int64_t lines, std::uint64_t seed, std::int64_t end_ms);

// n gesture rules of every kind of condition, over the generated catalogue: what a busy store
// might run at once. Most ask about the customer's history; a few apply to many customers.
std::vector<nlohmann::json> bench_rules(const Catalogue& cat, int n);

}  // namespace regulars::bench
