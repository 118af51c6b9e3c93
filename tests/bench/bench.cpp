// regulars-bench: the acceptance benchmark (issue 2, item 8). Not a test.
//
//  1. Generates a grocery-shaped store (default 100k customers, 2M purchase lines) directly with
//     the daemon's own code (prepare_event + Store::apply_now), deterministically from --seed.
//  2. Starts the real regularsd on it and waits for its socket.
//  3. Measures single-client hints latency through libregulars.so, overall and for customers
//     with short and long histories.
//  3b. Adds 50 gesture rules and measures hints latency with them all enabled against all
//     disabled, in alternating blocks, paced like a busy store and back to back (issue 4:
//     rules may add at most 100 us p99).
//  4. Measures durable record throughput with --clients concurrent clients, each with its own
//     regulars_client and spool.
//  5. Reports the daemon's memory, stops it with SIGTERM, and removes its temporary files.
// The last line of stdout is always "hints_p50_us=… hints_p99_us=… hints_p999_us=… records_per_s=…".
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "console.hpp"
#include "daemon_child.hpp"
#include "gestures/engine.hpp"
#include "hints/hint_engine.hpp"
#include "memory/identity.hpp"
#include "latency.hpp"
#include "base/log.hpp"
#include "regulars/regulars.h"
#include "store/event_store.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace regulars::tools;

namespace {

// ---------------------------------------------------------------------------------------------
// Small utilities

[[noreturn]] void die(const std::string& message) { throw std::runtime_error(message); }

// splitmix64 and xoshiro256**: fast, and the same sequence on every platform for a given seed
// (std:: distributions are implementation-defined, so they are not used for the data).
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

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

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a ^ (b * 0xd6e8feb86659fd93ULL);
  return splitmix64(x);
}

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

Sampler zipf(std::size_t n, double exponent) {
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), exponent);
  return Sampler(w);
}

std::int64_t elapsed_ns(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// ---------------------------------------------------------------------------------------------
// The shop: a catalogue with Zipf-like popularity, customers with favourites and skewed loyalty.

constexpr std::int64_t kDayMs = 86'400'000;
constexpr int kSkus = 5000;

struct Catalogue {
  std::vector<std::string> sku;
  std::vector<std::string> name;
  std::vector<std::int64_t> price;  // minor units
  Sampler popularity;  // what anyone puts in a basket
  Sampler taste;       // where personal favourites come from: flatter, so tastes differ
};

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

// A customer's favourites, derived from (seed, customer) alone so any phase can rebuild them.
struct Profile {
  std::vector<std::uint32_t> favourites;
  Sampler pick;          // favourites weighted: the first is bought most often
  double loyalty = 0.6;  // share of a basket taken from the favourites
};

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

std::string card_of(std::uint32_t customer) { return "L" + std::to_string(10'000'000 + customer); }

json customer_json(std::uint32_t customer) { return {{"kind", "card"}, {"value", card_of(customer)}}; }

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

// ---------------------------------------------------------------------------------------------
// Generation: straight into the store through the daemon's own code.

constexpr const char* kMetaFile = "regulars-bench.json";

void generate(const Plan& plan, const Catalogue& cat, const std::string& dir, std::size_t chunk) {
  using namespace regulars::daemon;
  const auto t0 = Clock::now();
  const IdentityKey key = IdentityKey::load_or_create(dir);
  // One transaction per chunk at most: the writer takes up to group_commit_max queued events.
  Store store(dir, Store::Options{static_cast<int>(chunk)});
  Rng rng(mix(plan.seed, 0xBA5E7));
  std::vector<bool> consented(plan.customers, false);
  std::vector<PreparedEvent> batch;
  std::future<std::vector<WriteResult>> pending;
  std::int64_t events = 0, lines_done = 0, failed = 0;
  double build_s = 0, wait_s = 0;
  int next_decile = 1;
  std::string first_error;

  auto collect = [&] {
    if (!pending.valid()) return;
    const auto w0 = Clock::now();
    for (const auto& r : pending.get()) {
      if (r.ok && !r.duplicate) continue;
      ++failed;
      if (first_error.empty()) first_error = r.ok ? "duplicate event id" : r.error;
    }
    wait_s += seconds_since(w0);
  };
  auto flush = [&] {
    collect();
    if (batch.empty()) return;
    pending = std::async(std::launch::async,
                         [&store, b = std::move(batch)]() mutable { return store.apply_now(std::move(b)); });
    batch = {};
    batch.reserve(chunk);
  };
  auto add = [&](const json& ev) {
    if (auto err = regulars::wire::validate_event(ev)) die("generated an invalid event: " + err->describe());
    batch.push_back(prepare_event(ev, key));
    ++events;
  };

  batch.reserve(chunk);
  auto b0 = Clock::now();
  for (std::size_t i = 0; i < plan.schedule.size(); ++i) {
    const Visit& v = plan.schedule[i];
    const std::string when = regulars::wire::format_time_ms(v.time_ms);
    const std::string lane = "lane-" + std::to_string(1 + v.customer % 6);
    const std::string cashier = "c-" + std::to_string(10 + (v.time_ms / 3'600'000) % 20);
    if (!consented[v.customer]) {  // asked at the first visit; everyone here said yes
      consented[v.customer] = true;
      add({{"type", "consent"},
           {"event_id", "gen-c-" + std::to_string(v.customer)},
           {"time", regulars::wire::format_time_ms(v.time_ms - 60'000)},
           {"store", "bench-store"},
           {"terminal", lane},
           {"cashier", cashier},
           {"customer", customer_json(v.customer)},
           {"purposes", {{"remember", true}, {"personalize", true}}}});
    }
    const Profile profile = profile_of(cat, plan.seed, v.customer);
    add({{"type", "purchase"},
         {"event_id", "gen-p-" + std::to_string(i)},
         {"time", when},
         {"store", "bench-store"},
         {"terminal", lane},
         {"cashier", cashier},
         {"customer", customer_json(v.customer)},
         {"lines", basket_lines(cat, profile, rng, static_cast<int>(v.lines))}});
    lines_done += v.lines;
    if (batch.size() >= chunk) {
      build_s += seconds_since(b0);
      flush();
      b0 = Clock::now();
    }
    while (next_decile <= 9 && lines_done * 10 >= plan.lines * next_decile) {
      note("generate: %d%% (%lld lines, %lld events) %.1f s\n", next_decile * 10, static_cast<long long>(lines_done),
           static_cast<long long>(events), seconds_since(t0));
      ++next_decile;
    }
  }
  build_s += seconds_since(b0);
  flush();
  collect();
  const auto s0 = Clock::now();
  store.stop();  // commits the rest and checkpoints the WAL into the database file
  const double stop_s = seconds_since(s0);
  if (failed > 0) die(std::to_string(failed) + " generated events were not stored; first: " + first_error);
  const double total = seconds_since(t0);
  std::error_code ec;
  const auto db_bytes = fs::file_size(dir + "/regulars.db", ec);
  note("generate: 100%% %lld events, %lld lines in %.1f s\n", static_cast<long long>(events),
       static_cast<long long>(lines_done), total);
  out("generation: customers=%u purchases=%zu lines=%lld events=%lld time_s=%.1f events_per_s=%.0f "
      "db_mb=%.0f (building+preparing %.1f s on this thread, waiting for apply_now %.1f s, final checkpoint %.1f s)\n",
      plan.customers, plan.schedule.size(), static_cast<long long>(lines_done), static_cast<long long>(events), total,
      static_cast<double>(events) / total, ec ? 0.0 : static_cast<double>(db_bytes) / 1e6, build_s, wait_s, stop_s);
  std::ofstream meta(dir + "/" + kMetaFile);
  meta << json{{"customers", plan.customers}, {"lines", plan.lines}, {"seed", plan.seed}, {"end_ms", plan.end_ms}}.dump()
       << "\n";
}

// ---------------------------------------------------------------------------------------------
// The daemon's CPU, I/O and preemptions (DaemonChild, shared with regulars-eval, starts and stops it).

// CPU time and bytes written by a process (all its threads), for per-call costs that do not
// depend on what else the machine is doing.
struct ProcSample {
  double cpu_s = 0;
  std::int64_t wchar = 0;        // bytes passed to write(2) and friends, sockets included
  std::int64_t write_bytes = 0;  // bytes sent towards the storage layer
};

ProcSample proc_sample(pid_t pid) {
  ProcSample p;
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream st(base + "/stat");
  std::string text((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  const auto close_paren = text.rfind(')');
  if (close_paren != std::string::npos) {
    std::vector<std::string> f;
    std::string cur;
    for (std::size_t i = close_paren + 2; i <= text.size(); ++i) {
      if (i == text.size() || text[i] == ' ') {
        f.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(text[i]);
      }
    }
    // After the command: field 3 is f[0]; utime and stime are fields 14 and 15.
    if (f.size() > 12) p.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream io(base + "/io");
  for (std::string key; io >> key;) {
    std::int64_t v = 0;
    io >> v;
    if (key == "wchar:") p.wchar = v;
    if (key == "write_bytes:") p.write_bytes = v;
  }
  return p;
}

// Involuntary context switches over all of a process's threads: how often something else took
// the CPU away from it mid-work (on a busy machine, the source of latency tails).
std::int64_t preemptions(pid_t pid) {
  std::int64_t total = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) total += std::atoll(line.c_str() + 27);
  }
  return total;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

// ---------------------------------------------------------------------------------------------
// Measurements through the plugin.

regulars_client* open_client(const json& options) {
  regulars_client* c = nullptr;
  const std::string text = options.dump();
  if (const auto s = regulars_open(text.c_str(), &c); s != REGULARS_OK)
    die(std::string("regulars_open: ") + regulars_strerror(s) + ": " + regulars_last_error());
  return c;
}

std::string hints_request(const Catalogue& cat, std::uint32_t customer, Rng& rng) {
  json basket = json::array();
  const auto n = rng.between(0, 4);
  for (std::int64_t i = 0; i < n; ++i) basket.push_back({{"sku", cat.sku[cat.popularity(rng)]}});
  return json{{"customer", customer_json(customer)}, {"basket", std::move(basket)}, {"locale", "en"}}.dump();
}

struct HintsRun {
  std::vector<std::int64_t> ns;
  std::int64_t errors = 0, unknown = 0, visits_sum = 0, offers = 0;
  std::map<std::string, std::int64_t> error_kinds;
};

void hints_call(regulars_client* c, const std::string& req, HintsRun& run) {
  char* resp = nullptr;
  const auto t0 = Clock::now();
  const regulars_status s = regulars_hints(c, req.c_str(), &resp);
  const auto t1 = Clock::now();
  if (s != REGULARS_OK) {
    ++run.errors;
    ++run.error_kinds[std::string(regulars_strerror(s)) + ": " + regulars_last_error()];
    return;
  }
  run.ns.push_back(elapsed_ns(t0, t1));
  const auto answer = json::parse(resp, nullptr, false);
  regulars_free(resp);
  const auto cust = answer.is_object() ? answer.find("customer") : answer.end();
  if (cust == answer.end() || !cust->is_object() || !cust->value("known", false)) {
    ++run.unknown;
    return;
  }
  run.visits_sum += cust->value("visits", std::int64_t{0});
  if (const auto o = answer.find("offers"); o != answer.end() && o->is_array()) run.offers += static_cast<std::int64_t>(o->size());
}

// 50 gesture rules of every kind of condition, over the generated catalogue: what a busy store
// might run at once. Most ask about the customer's history; a few apply to many customers.
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
              gesture = {{"kind", "message"}, {"message", {{"en", "Thank {name} for being a regular"}}}};
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

void print_errors(const std::map<std::string, std::int64_t>& kinds) {
  for (const auto& [what, n] : kinds) out("  error x%lld: %s\n", static_cast<long long>(n), what.c_str());
}

// Bytes of spooled records in a spool directory (its key files are not records).
std::int64_t spooled_bytes(const std::string& dir) {
  std::int64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().extension() == ".rsp") total += static_cast<std::int64_t>(e.file_size(ec));
  return total;
}

// ---------------------------------------------------------------------------------------------
// --breakdown: the same work without the plugin and the socket, to show where the time goes.

// fdatasync of a 4 KiB append in `dir`: the floor under every durable commit on this disk.
LatencySummary fsync_probe(const std::string& dir, int n) {
  const std::string path = dir + "/fsync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return {};
  std::vector<std::int64_t> ns;
  const std::string page(4096, 'x');
  for (int i = 0; i < n; ++i) {
    if (::write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size())) break;
    const auto t0 = Clock::now();
    if (::fdatasync(fd) != 0) break;
    ns.push_back(elapsed_ns(t0, Clock::now()));
  }
  ::close(fd);
  ::unlink(path.c_str());
  return summarize_ns(std::move(ns));
}

void breakdown(const std::string& data_dir, const Catalogue& cat, std::uint32_t customers, std::uint64_t seed,
               std::size_t hints, std::size_t records, unsigned clients) {
  using namespace regulars::daemon;
  const LatencySummary fs_probe = fsync_probe(data_dir, 200);
  out("breakdown: fdatasync of 4 KiB in the data dir: p50=%.1f p90=%.1f p99=%.1f max=%.1f us\n", fs_probe.p50,
      fs_probe.p90, fs_probe.p99, fs_probe.max);
  const IdentityKey key = IdentityKey::load_or_create(data_dir);
  Store store(data_dir, Store::Options{1024});
  {
    HintEngine engine(store, key, HintSettings{});
    Rng rng(mix(seed, 0x417));
    std::vector<json> reqs;
    for (std::size_t i = 0; i < hints; ++i)
      reqs.push_back(json::parse(hints_request(cat, static_cast<std::uint32_t>(rng.below(customers)), rng)));
    for (std::size_t i = 0; i < std::min<std::size_t>(hints, 2000); ++i) (void)engine.answer(reqs[i], regulars::wire::now_ms());
    std::vector<std::int64_t> ns;
    for (const auto& r : reqs) {
      const auto t0 = Clock::now();
      const json answer = engine.answer(r, regulars::wire::now_ms());
      const std::string text = regulars::wire::dump_json(answer);
      ns.push_back(elapsed_ns(t0, Clock::now()));
    }
    const LatencySummary s = summarize_ns(std::move(ns));
    out("breakdown: HintEngine::answer + dump in process (no plugin, no socket): p50=%.1f p90=%.1f p99=%.1f "
        "p99.9=%.1f max=%.1f us\n",
        s.p50, s.p90, s.p99, s.p999, s.max);
  }
  {
    // `clients` threads, each with one event in flight at a time, straight into Store::submit.
    Rng rng(mix(seed, 0xD12EC7));
    std::vector<PreparedEvent> events;
    const std::string run = std::to_string(regulars::wire::now_ms());
    for (std::size_t i = 0; i < records; ++i) {
      const auto who = static_cast<std::uint32_t>(rng.below(customers));
      const Profile profile = profile_of(cat, seed, who);
      events.push_back(prepare_event(json{{"type", "purchase"},
                                          {"event_id", "bd-" + run + "-" + std::to_string(i)},
                                          {"time", regulars::wire::format_time_ms(regulars::wire::now_ms())},
                                          {"customer", customer_json(who)},
                                          {"lines", basket_lines(cat, profile, rng, static_cast<int>(rng.between(2, 10)))}},
                                     key));
    }
    const auto commits0 = store.commits();
    std::atomic<std::size_t> next{0};
    std::atomic<std::int64_t> failed{0};
    std::vector<std::vector<std::int64_t>> lat(clients);
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < clients; ++t)
      threads.emplace_back([&, t] {
        for (std::size_t i = next.fetch_add(1); i < records; i = next.fetch_add(1)) {
          std::promise<WriteResult> done;
          auto fut = done.get_future();
          const auto c0 = Clock::now();
          store.submit(std::move(events[i]), [&done](WriteResult r) { done.set_value(std::move(r)); });
          if (!fut.get().ok) ++failed;
          lat[t].push_back(elapsed_ns(c0, Clock::now()));
        }
      });
    for (auto& th : threads) th.join();
    const double secs = seconds_since(t0);
    const auto commits = store.commits() - commits0;
    std::vector<std::int64_t> merged;
    for (auto& l : lat) merged.insert(merged.end(), l.begin(), l.end());
    const LatencySummary s = summarize_ns(std::move(merged));
    out("breakdown: Store::submit in process, %u threads one event each in flight: records=%zu errors=%lld "
        "records_per_s=%.1f commits=%llu (%.1f events per commit) latency p50=%.1f p99=%.1f us\n",
        clients, records, static_cast<long long>(failed.load()), static_cast<double>(records) / secs,
        static_cast<unsigned long long>(commits), commits ? static_cast<double>(records) / static_cast<double>(commits) : 0.0,
        s.p50, s.p99);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regulars-bench — generates a grocery store, then measures regularsd through libregulars.so"};
  std::uint32_t customers = 100'000;
  std::int64_t lines = 2'000'000;
  std::size_t hints = 20'000;
  std::size_t records = 40'000;
  unsigned clients = 8;
  std::uint64_t seed = 1;
  std::size_t chunk = 5000;
  int budget_ms = 1000;
  bool keep = false;
  bool want_breakdown = false;
  int gesture_rules = 50;
  double gesture_rate = 400;
  double gesture_sales_rate = 50;
  std::size_t gesture_hints = 8000;
  std::vector<std::string> daemon_args;
  std::string data_dir_flag, regularsd_flag, tls_dir;
  app.add_option("--customers", customers, "Customers in the generated store")->check(CLI::PositiveNumber);
  app.add_option("--lines", lines, "Purchase lines in the generated store")->check(CLI::PositiveNumber);
  app.add_option("--hints", hints, "Measured hints calls (single client)")->check(CLI::PositiveNumber);
  app.add_option("--records", records, "Durable records in total across the clients")->check(CLI::PositiveNumber);
  app.add_option("--clients", clients, "Concurrent recording clients, one thread and regulars_client each")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--seed", seed, "Seed of the generated data and the request mix");
  app.add_option("--chunk", chunk, "Events per Store::apply_now call during generation")->check(CLI::Range(1, 100000));
  app.add_option("--budget-ms", budget_ms, "budget_ms of the plugin clients (large, so no call is cut)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--data-dir", data_dir_flag,
                 "Use this data directory; if it already holds a store, reuse it and skip generation");
  app.add_option("--regularsd", regularsd_flag, "The regularsd binary (default: the one built with this benchmark)");
  app.add_option("--daemon-arg", daemon_args, "Extra argument for regularsd (repeat for several)")
      ->allow_extra_args(false);
  app.add_option("--gesture-rules", gesture_rules, "Active gesture rules in the gestures phase (0 skips it)")
      ->check(CLI::Range(0, 500));
  app.add_option("--gesture-rate", gesture_rate, "Hints calls per second in the paced gestures run")->check(CLI::Range(1.0, 100000.0));
  app.add_option("--gesture-sales-rate", gesture_sales_rate, "Purchases per second recorded during the gestures runs")
      ->check(CLI::Range(1.0, 10000.0));
  app.add_option("--gesture-hints", gesture_hints, "Hints calls in the paced gestures run (both arms)")->check(CLI::PositiveNumber);
  app.add_flag("--breakdown", want_breakdown,
               "After the runs, repeat them in process (no plugin, no socket) and probe fdatasync, to show where "
               "the time goes");
  app.add_option("--tls", tls_dir,
                 "Also time hints over TLS with a lane token against the Unix socket, using DIR's server.crt, "
                 "server.key and ca.crt (packaging/make-tls.sh DIR 127.0.0.1)");
  app.add_flag("--keep", keep, "Keep the temporary directory (store, spools, daemon log)");
  CLI11_PARSE(app, argc, argv);
  set_note_prefix("bench: ");

  ::signal(SIGPIPE, SIG_IGN);
  ::umask(0077);  // the store holds personal data, even made-up personal data
  regulars::daemon::log::setup("warn", "text");  // regulars_core logs to stderr, warnings only

  std::string tmp;
  {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/regulars-bench-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      std::fprintf(stderr, "bench: error: mkdtemp %s: %s\n", templ.c_str(), std::strerror(errno));
      return 1;
    }
    tmp = templ;
  }
  const std::string data_dir = data_dir_flag.empty() ? tmp + "/data" : data_dir_flag;
  int exit_code = 0;
  LatencySummary all, shorts, longs;
  double records_per_s = 0;

  try {
    out("regulars-bench %s: customers=%u lines=%lld hints=%zu records=%zu clients=%u seed=%llu dir=%s "
        "(cpus=%u loadavg=%s)\n",
        REGULARS_VERSION_STRING, customers, static_cast<long long>(lines), hints, records, clients,
        static_cast<unsigned long long>(seed), data_dir.c_str(), std::thread::hardware_concurrency(),
        loadavg().c_str());
    // --- 1. The store ---------------------------------------------------------------------
    std::int64_t end_ms = regulars::wire::now_ms() / kDayMs * kDayMs;  // the year ends today at 00:00 UTC
    const bool reuse = fs::exists(data_dir + "/regulars.db");
    if (reuse) {
      std::ifstream in(data_dir + "/" + kMetaFile);
      const auto meta = json::parse(in, nullptr, false);
      if (!meta.is_discarded() && meta.is_object()) {
        customers = meta.value("customers", customers);
        lines = meta.value("lines", lines);
        seed = meta.value("seed", seed);
        end_ms = meta.value("end_ms", end_ms);
      } else {
        note("warning: %s has no %s; assuming it was generated with the flags given\n", data_dir.c_str(), kMetaFile);
      }
      out("generation: skipped, reusing %s (customers=%u lines=%lld seed=%llu)\n", data_dir.c_str(), customers,
          static_cast<long long>(lines), static_cast<unsigned long long>(seed));
    }
    const Catalogue cat = make_catalogue(seed);
    const auto p0 = Clock::now();
    const Plan plan = make_plan(customers, lines, seed, end_ms);
    {
      std::uint32_t s = 0, l = 0, fifty = 0, most = 0;
      for (auto v : plan.visits) {
        s += v <= 3;
        l += v >= 40;
        fifty += v >= 50;
        most = std::max(most, v);
      }
      note("plan: %zu visits in %.2f s; customers with <=3 visits: %u, >=40: %u, >=50: %u, most: %u\n",
           plan.schedule.size(), seconds_since(p0), s, l, fifty, most);
    }
    if (!reuse) {
      fs::create_directories(data_dir);
      generate(plan, cat, data_dir, chunk);
    }

    // --- 2. The daemon ----------------------------------------------------------------------
    const std::string exe = find_regularsd(regularsd_flag, REGULARSD_BUILD_PATH);
    if (!tls_dir.empty()) {  // a TLS listener on a free port beside the Unix socket
      const std::string conf = tmp + "/tls.conf";
      std::ofstream(conf) << json{{"listen", {{"tls", {{"address", "127.0.0.1"}, {"port", 0}, {"cert", tls_dir + "/server.crt"},
                                                        {"key", tls_dir + "/server.key"}}}}}}.dump();
      daemon_args.insert(daemon_args.end(), {"--config", conf});
    }
    DaemonChild daemon(exe, data_dir, daemon_args, tmp + "/regularsd.log");
    const auto d0 = Clock::now();
    daemon.wait_ready(std::chrono::seconds(60));
    const auto st0 = daemon_status(daemon.socket(), "regulars-bench");
    out("daemon: %s pid=%d listening after %.2f s; store: events=%lld customers=%lld items=%lld\n", exe.c_str(),
        daemon.pid(), seconds_since(d0), static_cast<long long>(status_field(st0, "events")),
        static_cast<long long>(status_field(st0, "customers")), static_cast<long long>(status_field(st0, "items")));
    const std::string endpoint = "unix:" + daemon.socket();

    // --- 3. Hints latency, one client ---------------------------------------------------------
    {
      regulars_client* c = open_client({{"endpoint", endpoint}, {"budget_ms", budget_ms}, {"terminal", "bench-hints"}});
      Rng rng(mix(seed, 0x417));
      auto random_customer = [&] { return static_cast<std::uint32_t>(rng.below(customers)); };
      const std::size_t warmup = std::clamp<std::size_t>(hints / 10, 100, 2000);
      std::vector<std::string> reqs;
      reqs.reserve(hints);
      for (std::size_t i = 0; i < warmup; ++i) reqs.push_back(hints_request(cat, random_customer(), rng));
      HintsRun warm;
      for (const auto& r : reqs) hints_call(c, r, warm);
      reqs.clear();
      for (std::size_t i = 0; i < hints; ++i) reqs.push_back(hints_request(cat, random_customer(), rng));
      HintsRun run;
      run.ns.reserve(hints);
      const std::string load0 = loadavg();
      const ProcSample d0s = proc_sample(daemon.pid()), b0s = proc_sample(::getpid());
      const std::int64_t dp0 = preemptions(daemon.pid()), bp0 = preemptions(::getpid());
      const auto t0 = Clock::now();
      for (const auto& r : reqs) hints_call(c, r, run);
      const double secs = seconds_since(t0);
      const ProcSample d1s = proc_sample(daemon.pid()), b1s = proc_sample(::getpid());
      const std::int64_t dp1 = preemptions(daemon.pid()), bp1 = preemptions(::getpid());
      all = summarize_ns(run.ns);
      out("hints (1 client, through libregulars.so, budget_ms=%d): warmup=%zu calls=%zu ok=%zu errors=%lld "
          "unknown=%lld mean_visits=%.1f\n",
          budget_ms, warmup, hints, run.ns.size(), static_cast<long long>(run.errors + warm.errors),
          static_cast<long long>(run.unknown + warm.unknown),
          run.ns.size() > static_cast<std::size_t>(run.unknown)
              ? static_cast<double>(run.visits_sum) / static_cast<double>(run.ns.size() - static_cast<std::size_t>(run.unknown))
              : 0.0);
      print_errors(warm.error_kinds);
      print_errors(run.error_kinds);
      out("  latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f  calls_per_s=%.0f\n", all.p50, all.p90,
          all.p99, all.p999, all.max, all.mean, static_cast<double>(hints) / secs);
      out("  cpu per call: regularsd %.1f us, this process (caller + plugin, answers parsed) %.1f us; machine loadavg %s -> %s\n",
          (d1s.cpu_s - d0s.cpu_s) * 1e6 / static_cast<double>(hints),
          (b1s.cpu_s - b0s.cpu_s) * 1e6 / static_cast<double>(hints), load0.c_str(), loadavg().c_str());
      out("  preempted (involuntary context switches) per 100 calls: regularsd %.1f, this process %.1f\n",
          static_cast<double>(dp1 - dp0) * 100.0 / static_cast<double>(hints),
          static_cast<double>(bp1 - bp0) * 100.0 / static_cast<double>(hints));
      if (run.errors + warm.errors + run.unknown + warm.unknown > 0) exit_code = 2;

      // Short against long histories, interleaved so any drift hits both alike.
      std::vector<std::uint32_t> short_ids, long_ids;
      for (std::uint32_t i = 0; i < customers; ++i) {
        if (plan.visits[i] <= 3) short_ids.push_back(i);
        if (plan.visits[i] >= 40) long_ids.push_back(i);
      }
      if (short_ids.empty() || long_ids.empty()) {
        out("hints by history: skipped (short=%zu long=%zu customers in this store)\n", short_ids.size(),
            long_ids.size());
      } else {
        const std::size_t per_group = std::clamp<std::size_t>(hints / 4, 100, 5000);
        std::vector<std::pair<bool, std::string>> mixed;
        for (std::size_t i = 0; i < per_group; ++i) {
          mixed.emplace_back(false, hints_request(cat, short_ids[rng.below(short_ids.size())], rng));
          mixed.emplace_back(true, hints_request(cat, long_ids[rng.below(long_ids.size())], rng));
        }
        for (std::size_t i = mixed.size(); i > 1; --i) std::swap(mixed[i - 1], mixed[rng.below(i)]);
        HintsRun s, l;
        for (const auto& [is_long, r] : mixed) hints_call(c, r, is_long ? l : s);
        shorts = summarize_ns(s.ns);
        longs = summarize_ns(l.ns);
        auto mean_visits = [](const HintsRun& h) {
          const auto known = static_cast<std::int64_t>(h.ns.size()) - h.unknown;
          return known > 0 ? static_cast<double>(h.visits_sum) / static_cast<double>(known) : 0.0;
        };
        out("hints by history: short (<=3 visits, %zu customers): calls=%zu errors=%lld mean_visits=%.1f p50=%.1f "
            "p99=%.1f us\n",
            short_ids.size(), s.ns.size(), static_cast<long long>(s.errors), mean_visits(s), shorts.p50, shorts.p99);
        out("hints by history: long (>=40 visits, %zu customers): calls=%zu errors=%lld mean_visits=%.1f p50=%.1f "
            "p99=%.1f us\n",
            long_ids.size(), l.ns.size(), static_cast<long long>(l.errors), mean_visits(l), longs.p50, longs.p99);
        print_errors(s.error_kinds);
        print_errors(l.error_kinds);
        if (s.errors + l.errors + s.unknown + l.unknown > 0) exit_code = 2;
      }
      regulars_close(c);
    }

    // --- 3a. Hints over TLS against the Unix socket, alternating per call ---------------------
    if (!tls_dir.empty()) {
      const auto issued = daemon_call(daemon.socket(), "regulars-bench",
                                      {{"op", "tokens"}, {"request", {{"action", "issue"}, {"terminal", "bench-tls"}}}});
      std::string tls_endpoint;
      std::getline(std::ifstream(data_dir + "/tls.endpoint"), tls_endpoint);
      if (!issued || tls_endpoint.empty()) throw std::runtime_error("--tls: no TLS listener or no token (see the daemon log)");
      regulars_client* local = open_client({{"endpoint", endpoint}, {"budget_ms", budget_ms}, {"terminal", "bench-unix"}});
      regulars_client* lane = open_client({{"endpoint", tls_endpoint}, {"budget_ms", budget_ms}, {"terminal", "bench-tls"},
                                           {"ca_file", tls_dir + "/ca.crt"}, {"token", (*issued)["token"]}});
      Rng rng(mix(seed, 0x715));
      HintsRun warm, over_unix, over_tls;
      for (std::size_t i = 0; i < 200; ++i) hints_call(i % 2 ? lane : local, hints_request(cat, static_cast<std::uint32_t>(rng.below(customers)), rng), warm);
      for (std::size_t i = 0; i < hints; ++i) {
        // The same request through both, in a random order, so drift and caching hit both alike.
        const std::string r = hints_request(cat, static_cast<std::uint32_t>(rng.below(customers)), rng);
        const bool tls_first = rng.below(2) == 0;
        hints_call(tls_first ? lane : local, r, tls_first ? over_tls : over_unix);
        hints_call(tls_first ? local : lane, r, tls_first ? over_unix : over_tls);
      }
      const LatencySummary u = summarize_ns(over_unix.ns), t = summarize_ns(over_tls.ns);
      out("hints over TLS (lane token, loopback) against the Unix socket, %zu calls each, same requests, "
          "random order per pair: errors unix=%lld tls=%lld\n",
          hints, static_cast<long long>(over_unix.errors), static_cast<long long>(over_tls.errors + warm.errors));
      print_errors(over_tls.error_kinds);
      out("  unix latency_us p50=%.1f p99=%.1f p99.9=%.1f\n", u.p50, u.p99, u.p999);
      out("  tls  latency_us p50=%.1f p99=%.1f p99.9=%.1f  (tls/unix: p50 x%.2f, p99 x%.2f)\n", t.p50, t.p99, t.p999,
          u.p50 > 0 ? t.p50 / u.p50 : 0.0, u.p99 > 0 ? t.p99 / u.p99 : 0.0);
      if (over_unix.errors + over_tls.errors > 0) exit_code = 2;
      regulars_close(local);
      regulars_close(lane);
    }

    // --- 3b. Gesture rules: 50 active rules against none, in alternating blocks --------------
    if (gesture_rules > 0) {
      const auto rules = bench_rules(cat, gesture_rules);
      auto gestures = [&](const json& request) {
        return daemon_call(daemon.socket(), "regulars-bench", {{"op", "gestures"}, {"request", request}});
      };
      bool ok = true;
      for (const auto& r : rules) ok = ok && gestures({{"action", "add"}, {"rule", r}}).has_value();
      auto set_all = [&](bool enabled) {
        for (const auto& r : rules) ok = ok && gestures({{"action", enabled ? "enable" : "disable"}, {"id", r["id"]}}).has_value();
      };
      if (!ok) throw std::runtime_error("could not add the benchmark's gesture rules (regularsctl gestures needs the daemon's user)");
      regulars_client* c = open_client({{"endpoint", endpoint}, {"budget_ms", budget_ms}, {"terminal", "bench-gestures"}});
      Rng rng(mix(seed, 0x6E57));
      // Two runs of alternating blocks (off, on, off, on, ...: drift and caches hit both alike):
      //  - paced at --gesture-rate calls/s, a very busy store: every offer is still logged, but
      //    the log's writes take the small share of the machine they would take in a shop;
      //  - back to back, as fast as one client can go: with every call a first decision for its
      //    customer, the offers logged keep the writer busy and the hints share two cores with it.
      // The rules stay enabled; a call without them asks for "max_offers": 0, which skips the
      // gesture engine. The two kinds of call alternate, so whatever else happens on the
      // machine (the writer, the checkpointer, the sales lane) hits both alike.
      auto run_blocks = [&](double rate, std::size_t per_arm, HintsRun& off, HintsRun& on) {
        auto next = Clock::now();
        bool rules_first = false;
        for (std::size_t i = 0; i < 2 * per_arm; ++i) {
          if (rate > 0) {
            next += std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate));
            std::this_thread::sleep_until(next);
          }
          if (i % 2 == 0) rules_first = rng.below(2) == 0;  // each pair in a random order
          const bool with_rules = (i % 2 == 0) == rules_first;
          json req = json::parse(hints_request(cat, static_cast<std::uint32_t>(rng.below(customers)), rng));
          if (!with_rules) req["max_offers"] = 0;
          hints_call(c, req.dump(), with_rules ? on : off);
        }
      };
      auto report = [&](const char* how, const HintsRun& off, const HintsRun& on) {
        const LatencySummary a = summarize_ns(off.ns), b = summarize_ns(on.ns);
        out("gestures, %s: %d rules, %zu calls each with and without them, alternating: errors=%lld offers per call=%.3f\n",
            how, gesture_rules, off.ns.size(), static_cast<long long>(off.errors + on.errors),
            on.ns.empty() ? 0.0 : static_cast<double>(on.offers) / static_cast<double>(on.ns.size()));
        out("  rules off: p50=%.1f p99=%.1f p99.9=%.1f us; rules on: p50=%.1f p99=%.1f p99.9=%.1f us\n", a.p50, a.p99,
            a.p999, b.p50, b.p99, b.p999);
        out("  added by %d active rules: p50 %+.1f us, p99 %+.1f us (ratio on/off p99 %.3f)\n", gesture_rules, b.p50 - a.p50,
            b.p99 - a.p99, a.p99 > 0 ? b.p99 / a.p99 : 0.0);
        if (off.errors + on.errors > 0) exit_code = 2;
      };
      // Sales go on meanwhile, in both arms alike: purchases recorded at a steady rate by another
      // lane. (Every commit makes SQLite's readers start with a cold page cache; a baseline with
      // no writes at all would charge that to the rules' own offer events.)
      std::atomic<bool> selling{true};
      std::atomic<std::int64_t> sold{0};
      std::thread sales([&] {
        regulars_client* lane = open_client({{"endpoint", endpoint}, {"budget_ms", budget_ms}, {"terminal", "bench-sales"}});
        Rng srng(mix(seed, 0x5A1E));
        auto next = Clock::now();
        while (selling.load()) {
          next += std::chrono::microseconds(static_cast<std::int64_t>(1e6 / gesture_sales_rate));
          std::this_thread::sleep_until(next);
          const auto who = static_cast<std::uint32_t>(srng.below(customers));
          const std::string e = json{{"type", "purchase"}, {"customer", customer_json(who)},
                                     {"lines", basket_lines(cat, profile_of(cat, seed, who), srng, 4)}}.dump();
          if (regulars_record(lane, e.c_str()) == REGULARS_OK) sold.fetch_add(1);
        }
        regulars_close(lane);
      });
      const auto sales_t0 = Clock::now();
      HintsRun paced_off, paced_on, fast_off, fast_on;
      run_blocks(gesture_rate, std::max<std::size_t>(gesture_hints / 2, 100), paced_off, paced_on);
      run_blocks(0, std::max<std::size_t>(hints / 2, 200), fast_off, fast_on);
      selling = false;
      sales.join();
      out("gestures: purchases recorded meanwhile by another lane: %lld (%.0f/s)\n", static_cast<long long>(sold.load()),
          static_cast<double>(sold.load()) / seconds_since(sales_t0));
      regulars_close(c);
      set_all(false);
      char how[64];
      std::snprintf(how, sizeof how, "paced at %.0f calls/s", gesture_rate);
      report(how, paced_off, paced_on);
      report("back to back", fast_off, fast_on);
      if (!ok) exit_code = 2;
    }

    // --- 4. Durable records, several clients --------------------------------------------------
    {
      Rng rng(mix(seed, 0x2EC0));
      std::vector<std::string> events;
      events.reserve(records);
      for (std::size_t i = 0; i < records; ++i) {
        const auto who = static_cast<std::uint32_t>(rng.below(customers));
        const Profile profile = profile_of(cat, seed, who);
        // No event_id and no time: the plugin makes them, as it does for a till.
        events.push_back(json{{"type", "purchase"},
                              {"customer", customer_json(who)},
                              {"lines", basket_lines(cat, profile, rng, static_cast<int>(rng.between(2, 10)))}}
                             .dump());
      }
      std::vector<regulars_client*> cs;
      for (unsigned i = 0; i < clients; ++i)
        cs.push_back(open_client({{"endpoint", endpoint},
                                  {"budget_ms", budget_ms},
                                  {"spool_dir", tmp + "/spool-" + std::to_string(i)},
                                  {"terminal", "bench-" + std::to_string(i)}}));
      const auto before = daemon_status(daemon.socket(), "regulars-bench");
      std::atomic<std::size_t> next{0};
      std::vector<std::vector<std::int64_t>> lat(clients);
      std::vector<std::map<std::string, std::int64_t>> errs(clients);
      std::latch ready(static_cast<std::ptrdiff_t>(clients) + 1), go(1);
      std::vector<std::thread> threads;
      for (unsigned t = 0; t < clients; ++t) {
        threads.emplace_back([&, t] {
          lat[t].reserve(records / clients + 1);
          ready.count_down();
          go.wait();
          for (std::size_t i = next.fetch_add(1); i < records; i = next.fetch_add(1)) {
            const auto t0 = Clock::now();
            const regulars_status s = regulars_record(cs[t], events[i].c_str());
            const auto t1 = Clock::now();
            if (s == REGULARS_OK) lat[t].push_back(elapsed_ns(t0, t1));
            else ++errs[t][std::string(regulars_strerror(s)) + ": " + regulars_last_error()];
          }
        });
      }
      ready.arrive_and_wait();
      const std::string load0 = loadavg();
      const ProcSample d0s = proc_sample(daemon.pid()), b0s = proc_sample(::getpid());
      const auto t0 = Clock::now();
      go.count_down();
      for (auto& th : threads) th.join();
      const double secs = seconds_since(t0);
      const ProcSample d1s = proc_sample(daemon.pid()), b1s = proc_sample(::getpid());
      const auto after = daemon_status(daemon.socket(), "regulars-bench");
      std::int64_t spool_bytes = 0;
      for (unsigned i = 0; i < clients; ++i) spool_bytes += spooled_bytes(tmp + "/spool-" + std::to_string(i));
      std::vector<std::int64_t> merged;
      std::map<std::string, std::int64_t> errors;
      for (unsigned t = 0; t < clients; ++t) {
        merged.insert(merged.end(), lat[t].begin(), lat[t].end());
        for (const auto& [k, n] : errs[t]) errors[k] += n;
      }
      std::int64_t n_err = 0;
      for (const auto& [k, n] : errors) n_err += n;
      const LatencySummary rl = summarize_ns(merged);
      records_per_s = static_cast<double>(merged.size()) / secs;
      out("records (%u clients, each its own regulars_client and spool, budget_ms=%d): records=%zu ok=%zu errors=%lld "
          "elapsed_s=%.2f records_per_s=%.1f\n",
          clients, budget_ms, records, merged.size(), static_cast<long long>(n_err), secs, records_per_s);
      print_errors(errors);
      out("  latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f\n", rl.p50, rl.p90, rl.p99, rl.p999,
          rl.max, rl.mean);
      const std::int64_t ev = status_field(after, "events") - status_field(before, "events");
      const std::int64_t commits = status_field(after, "commits") - status_field(before, "commits");
      if (before && after)
        out("  daemon: events +%lld, commits +%lld (%.1f events per commit); spool bytes left: %lld%s\n",
            static_cast<long long>(ev), static_cast<long long>(commits),
            commits > 0 ? static_cast<double>(ev) / static_cast<double>(commits) : 0.0,
            static_cast<long long>(spool_bytes),
            ev == static_cast<std::int64_t>(merged.size()) ? " (every OK was a daemon commit)"
                                                          : " (some OKs came from the spool, not a daemon commit)");
      else
        out("  daemon: status unavailable; spool bytes left: %lld\n", static_cast<long long>(spool_bytes));
      const double nrec = static_cast<double>(std::max<std::size_t>(1, records));
      out("  per record: regularsd cpu %.1f us, this process cpu %.1f us, regularsd wrote %.1f KiB (write_bytes %.1f "
          "KiB); machine loadavg %s -> %s\n",
          (d1s.cpu_s - d0s.cpu_s) * 1e6 / nrec, (b1s.cpu_s - b0s.cpu_s) * 1e6 / nrec,
          static_cast<double>(d1s.wchar - d0s.wchar) / 1024.0 / nrec,
          static_cast<double>(d1s.write_bytes - d0s.write_bytes) / 1024.0 / nrec, load0.c_str(), loadavg().c_str());
      if (before && after && before->contains("pipeline") && after->contains("pipeline")) {
        // Where the daemon's write path spent the run: a writer busy most of the wall time is
        // the limit; otherwise the clients are waiting on the flush or on the round trip.
        const auto pf = [&](const char* k) {
          return status_field((*after)["pipeline"], k) - status_field((*before)["pipeline"], k);
        };
        const double wall_us = secs * 1e6;
        const std::int64_t syncs = pf("syncs");
        out("  pipeline: writer busy %.0f%% of the run (%.1f us per event), fdatasync x%lld mean %.1f us (max since start "
            "%lld us, %.1f events each), checkpoints x%lld mean %.1f ms\n",
            100.0 * static_cast<double>(pf("writer_busy_us")) / wall_us,
            static_cast<double>(pf("writer_busy_us")) / std::max(1.0, static_cast<double>(pf("events"))),
            static_cast<long long>(syncs), syncs > 0 ? static_cast<double>(pf("sync_us")) / static_cast<double>(syncs) : 0.0,
            static_cast<long long>(status_field((*after)["pipeline"], "sync_max_us")),
            syncs > 0 ? static_cast<double>(pf("events")) / static_cast<double>(syncs) : 0.0,
            static_cast<long long>(pf("checkpoints")),
            pf("checkpoints") > 0 ? static_cast<double>(pf("checkpoint_us")) / 1e3 / static_cast<double>(pf("checkpoints")) : 0.0);
      }
      if (n_err > 0 || (before && after && ev != static_cast<std::int64_t>(merged.size()))) exit_code = 2;
      for (auto* c : cs) regulars_close(c);
    }

    // --- 5. Memory, 6. stop -------------------------------------------------------------------
    out("daemon memory: %s\n", daemon.memory_summary().c_str());
    out("daemon stop (SIGTERM): %s\n", daemon.stop(std::chrono::seconds(30)).c_str());

    // --- 7. Rule evaluation alone, in-process ---------------------------------------------------
    // The daemon's own HintEngine on the same store (now that regularsd has stopped), asked for
    // the same customers with and without the gesture engine, call by call: what 50 rules add
    // to the daemon's work for one hints answer, without the socket and the other processes.
    if (gesture_rules > 0) {
      namespace d = regulars::daemon;
      d::Store store(data_dir, d::Store::Options{});
      const d::IdentityKey key = d::IdentityKey::load_or_create(data_dir);
      d::GestureEngine engine(store, d::Catalogue::builtin());
      engine.load();
      for (const auto& r : bench_rules(cat, gesture_rules)) {
        auto added = engine.add_rule(r);
        if (std::holds_alternative<regulars::wire::Error>(added)) throw std::runtime_error("bench rule refused");
      }
      d::HintEngine plain(store, key, d::HintSettings{}), with_rules(store, key, d::HintSettings{}, &engine);
      Rng rng(mix(seed, 0x1E7A));
      std::vector<std::int64_t> without_ns, with_ns, engine_ns, step_ns;
      const std::size_t n = std::max<std::size_t>(gesture_hints, 500);
      std::int64_t offers = 0;
      for (std::size_t i = 0; i < n + 200; ++i) {
        const json req = json::parse(hints_request(cat, static_cast<std::uint32_t>(rng.below(customers)), rng));
        const std::int64_t now = regulars::wire::now_ms();
        const bool first = i % 2 == 0;  // alternate which engine answers first
        std::int64_t t_plain = 0, t_rules = 0;
        for (int k = 0; k < 2; ++k) {
          const bool rules_now = (k == 0) == first;
          const auto t0 = Clock::now();
          const json a = (rules_now ? with_rules : plain).answer(req, now);
          const std::int64_t ns = elapsed_ns(t0, Clock::now());
          (rules_now ? t_rules : t_plain) = ns;
          if (rules_now) {
            offers += static_cast<std::int64_t>(a["offers"].size());
            step_ns.push_back(d::HintEngine::last_gestures_ns());
          }
        }
        if (i < 200) continue;  // warm-up
        without_ns.push_back(t_plain);
        with_ns.push_back(t_rules);
        engine_ns.push_back(t_rules - t_plain);
      }
      engine.stop();
      const LatencySummary a = summarize_ns(without_ns), b = summarize_ns(with_ns);
      std::sort(engine_ns.begin(), engine_ns.end());
      out("rule evaluation in-process (HintEngine::answer, %zu customers, each with and without %d rules): offers per "
          "call=%.3f\n",
          n, gesture_rules, static_cast<double>(offers) / static_cast<double>(n + 200));
      out("  without rules: p50=%.1f p99=%.1f p99.9=%.1f us; with rules: p50=%.1f p99=%.1f p99.9=%.1f us\n", a.p50, a.p99,
          a.p999, b.p50, b.p99, b.p999);
      const LatencySummary step = summarize_ns(step_ns);
      out("  the gesture step itself (evaluating %d rules, reserving and describing offers), timed inside the answer: "
          "p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f us\n",
          gesture_rules, step.p50, step.p90, step.p99, step.p999, step.max);
      out("  added per call (with - without, same customer): p50=%.1f p99=%.1f p99.9=%.1f us\n",
          static_cast<double>(engine_ns[engine_ns.size() / 2]) / 1000.0,
          static_cast<double>(engine_ns[engine_ns.size() * 99 / 100]) / 1000.0,
          static_cast<double>(engine_ns[engine_ns.size() * 999 / 1000]) / 1000.0);
    }
    if (want_breakdown) breakdown(data_dir, cat, customers, seed, hints, records, clients);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: error: %s\n", e.what());
    exit_code = 1;
  }

  if (keep) {
    out("kept: %s\n", tmp.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(tmp, ec);
  }
  out("hints_p50_us=%.1f hints_p99_us=%.1f hints_p999_us=%.1f records_per_s=%.1f\n", all.p50, all.p99, all.p999,
      records_per_s);
  return exit_code;
}
