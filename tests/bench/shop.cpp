#include "shop.hpp"

#include <cmath>
#include <cstdio>
#include <iterator>

namespace regulars::bench {

using nlohmann::json;

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a ^ (b * 0xd6e8feb86659fd93ULL);
  return splitmix64(x);
}

namespace {

Sampler zipf(std::size_t n, double exponent) {
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), exponent);
  return Sampler(w);
}

std::string card_of(std::uint32_t customer) { return "L" + std::to_string(10'000'000 + customer); }

}  // namespace

Catalogue make_catalogue(std::uint64_t seed) {
  static const char* const kKinds[] = {
      "Oat milk", "Whole milk", "Sourdough bread", "Bananas", "Apples", "Free-range eggs", "Greek yoghurt",
      "Cheddar", "Butter", "Coffee beans", "Green tea", "Orange juice", "Tomatoes", "Cucumbers", "Rice",
      "Pasta", "Olive oil", "Salt & vinegar chips", "Dark chocolate", "Chickpeas", "Lentils", "Chicken thighs",
      "Salmon fillet", "Minced beef", "Tofu", "Spinach", "Carrots", "Onions", "Potatoes", "Lemons",
      "Sparkling water", "Dish soap", "Paper towels", "Toothpaste", "Cat food", "Honey", "Granola", "Hummus",
      "Feta", "Basmati rice", "Dates", "Pistachios", "Saffron", "Flatbread", "Ice cream", "Frozen peas",
      "Tortillas", "Peanut butter", "Jam", "Cereal"};
  static const char* const kBrands[] = {"Brookfield", "Sunvale", "Hearth & Co", "Nordic Table", "Golden Field",
                                        "Little Farm", "Casa Verde", "Blue Harbour", "Saffron Road", "House brand"};
  static const char* const kSizes[] = {"250 g", "500 g", "1 kg", "1 L", "2 L", "6-pack", "family pack", "small"};
  constexpr std::size_t nk = std::size(kKinds), nb = std::size(kBrands), ns = std::size(kSizes);
  Catalogue c;
  Rng rng(mix(seed, 0xCA7A));
  for (int i = 0; i < kSkus; ++i) {
    char sku[16];
    std::snprintf(sku, sizeof sku, "sku-%05d", i);
    const auto u = static_cast<std::size_t>(i);
    c.sku.emplace_back(sku);
    c.name.push_back(std::string(kBrands[(u / nk) % nb]) + " " + kKinds[u % nk] + " " + kSizes[(u / (nk * nb)) % ns]);
    c.price.push_back(rng.between(49, 1999));
  }
  c.popularity = zipf(kSkus, 0.9);
  c.taste = zipf(kSkus, 0.6);
  return c;
}

Profile profile_of(const Catalogue& cat, std::uint64_t seed, std::uint32_t customer) {
  Rng rng(mix(seed ^ 0x5EED, customer));
  Profile p;
  const int n = static_cast<int>(rng.between(4, 24));
  std::vector<double> w;
  for (int tries = 0; static_cast<int>(p.favourites.size()) < n && tries < 10 * n; ++tries) {
    const auto item = cat.taste(rng);
    if (std::find(p.favourites.begin(), p.favourites.end(), item) != p.favourites.end()) continue;
    p.favourites.push_back(item);
    w.push_back(1.0 / std::pow(static_cast<double>(w.size() + 1), 1.1));
  }
  p.pick = Sampler(w);
  p.loyalty = 0.4 + 0.45 * rng.uniform();
  return p;
}

json basket_lines(const Catalogue& cat, const Profile& p, Rng& rng, int n) {
  json lines = json::array();
  std::vector<std::uint32_t> taken;
  for (int i = 0; i < n; ++i) {
    std::uint32_t item = 0;
    for (int tries = 0; tries < 8; ++tries) {
      item = rng.uniform() < p.loyalty ? p.favourites[p.pick(rng)] : cat.popularity(rng);
      if (std::find(taken.begin(), taken.end(), item) == taken.end()) break;
    }
    taken.push_back(item);  // a rare repeat is just a second line of the same item
    const std::int64_t qty = rng.uniform() < 0.8 ? 1 : rng.between(2, 4);
    lines.push_back({{"sku", cat.sku[item]}, {"name", cat.name[item]}, {"qty", qty}, {"unit_price", cat.price[item]}});
  }
  return lines;
}

json customer_json(std::uint32_t customer) { return {{"kind", "card"}, {"value", card_of(customer)}}; }

// Who comes how often, when, and with how many lines — a pure function of its inputs.
Plan make_plan(std::uint32_t customers, std::int64_t lines, std::uint64_t seed, std::int64_t end_ms) {
  if (customers == 0) die("--customers must be at least 1");
  if (lines < static_cast<std::int64_t>(customers)) die("--lines must be at least --customers (one visit each)");
  Plan plan{customers, lines, seed, end_ms, {}, {}};
  Rng rng(mix(seed, 0x9A7));
  // Visits: about one per six lines (baskets of 2–10), at least one per customer.
  const std::int64_t total_visits = std::max<std::int64_t>(customers, std::llround(static_cast<double>(lines) / 6.0));
  // Loyalty is Pareto-distributed: most customers come a few times, a few come nearly daily.
  constexpr std::uint32_t kMaxVisits = 300;
  std::vector<double> loyalty(customers);
  for (auto& l : loyalty) l = std::pow(1.0 - rng.uniform(), -1.0 / 1.3);
  auto allocate = [&](double scale) {
    std::int64_t sum = 0;
    for (std::uint32_t i = 0; i < customers; ++i)
      sum += std::clamp<std::int64_t>(std::llround(loyalty[i] * scale), 1, kMaxVisits);
    return sum;
  };
  double lo = 0, hi = 1;
  while (allocate(hi) < total_visits && hi < 1e9) hi *= 2;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (allocate(mid) < total_visits ? lo : hi) = mid;
  }
  plan.visits.resize(customers);
  std::int64_t sum = 0;
  for (std::uint32_t i = 0; i < customers; ++i)
    sum += plan.visits[i] =
        static_cast<std::uint32_t>(std::clamp<std::int64_t>(std::llround(loyalty[i] * hi), 1, kMaxVisits));
  while (sum > total_visits) {  // trim the rounding excess from customers who can spare a visit
    auto& v = plan.visits[rng.below(customers)];
    if (v > 1) --v, --sum;
  }
  while (sum < total_visits) {
    auto& v = plan.visits[rng.below(customers)];
    if (v < kMaxVisits) ++v, ++sum;
  }
  // Basket sizes 2–10, nudged until the lines add up exactly.
  plan.schedule.reserve(static_cast<std::size_t>(total_visits));
  std::int64_t line_sum = 0;
  const std::int64_t start_ms = end_ms - 365 * kDayMs;
  for (std::uint32_t c = 0; c < customers; ++c) {
    for (std::uint32_t k = 0; k < plan.visits[c]; ++k) {
      const std::int64_t day = rng.between(0, 364);
      const std::int64_t time = start_ms + day * kDayMs + rng.between(8 * 3600, 21 * 3600) * 1000;
      const auto n = static_cast<std::uint32_t>(rng.between(2, 10));
      plan.schedule.push_back(Visit{time, c, n});
      line_sum += n;
    }
  }
  const std::uint32_t min_lines = lines >= 2 * total_visits ? 2 : 1;
  while (line_sum > lines) {
    auto& v = plan.schedule[rng.below(plan.schedule.size())];
    if (v.lines > min_lines) --v.lines, --line_sum;
  }
  while (line_sum < lines) {
    auto& v = plan.schedule[rng.below(plan.schedule.size())];
    if (v.lines < 10) ++v.lines, ++line_sum;
  }
  std::stable_sort(plan.schedule.begin(), plan.schedule.end(),
                   [](const Visit& a, const Visit& b) { return a.time_ms < b.time_ms; });
  return plan;
}

std::vector<json> bench_rules(const Catalogue& cat, int n) {
  std::vector<json> rules;
  for (int i = 0; i < n; ++i) {
    const std::string sku = cat.sku[static_cast<std::size_t>(i * 37 % kSkus)];
    const std::string id = "bench-rule-" + std::to_string(i);
    json when, gesture = {{"kind", "discount"}, {"amount", 100}};
    switch (i % 10) {
      case 0: when = {{"all", {{{"bought", {{"sku", sku}, {"min_times", 2}}}}, {{"not", {{"in_basket", {{"sku", sku}}}}}}}}};
              gesture = {{"kind", "free_item"}, {"sku", sku}, {"value", 150},
                         {"message", {{"en", "Offer a free {item}, on the house"}, {"fa", "یک {item} رایگان"}}}};
              break;
      case 1: when = {{"all", {{{"visit", {{"every", 5 + i % 7}}}}, {{"bought", {{"category", "dairy"}, {"within_days", 60}}}}}}}; break;
      case 2: when = {{"absent", {{"days", 30 + i}}}}; gesture = {{"kind", "discount"}, {"percent", 10}, {"max_value", 500}}; break;
      case 3: when = {{"all", {{{"segment", "regular"}}, {{"spend", {{"over", 20000}, {"days", 30}}}}}}};
              gesture = {{"kind", "message"}, {"message", {{"en", "Thank {name|you} for being a regular"}}}};
              break;
      case 4: when = {{"birthday", {{"days_before", 3}, {"days_after", 3}}}}; break;
      case 5: when = {{"complaint", {{"within_days", 30}, {"open", true}}}};
              gesture = {{"kind", "task"}, {"task", {{"en", "Apologise and offer a coffee"}}}};
              break;
      case 6: when = {{"all", {{{"time", {{"weekdays", {"sat", "sun"}}, {"hours", {{"from", "09:00"}, {"to", "12:00"}}}}}}, {{"tag", "vip"}}}}}; break;
      case 7: when = {{"all", {{{"random", {{"probability", 0.02}}}}, {{"segment", "occasional"}}}}}; break;
      case 8: when = {{"any", {{{"bought", {{"sku", sku}, {"member", "any"}}}}, {{"visit", {{"nth", 10}}}}}}}; break;
      default: when = {{"all", {{{"bought", {{"sku", sku}, {"within_days", 14}}}}, {{"not", {{"bought", {{"sku", cat.sku[static_cast<std::size_t>((i * 91 + 5) % kSkus)]}}}}}}}}};
    }
    rules.push_back({{"id", id}, {"when", when}, {"gesture", gesture}, {"priority", 10 + i},
                     {"limits", {{"cooldown_days", 30}, {"per_day", 200}}}, {"holdout", 0.1}});
  }
  return rules;
}

}  // namespace regulars::bench
