// Phases 3 and 3a: hints latency through libregulars.so with one client, beside Redis GETs.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <fstream>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "console.hpp"
#include "interleave.hpp"
#include "machine.hpp"
#include "phases.hpp"
#include "plugin_calls.hpp"

namespace regulars::bench {

using nlohmann::json;
using namespace regulars::tools;

namespace {

// The headline run: random customers after a warm-up, in blocks beside the Redis arm's when
// there is one, with what the calls cost the daemon and this process and how often either was
// preempted (summed over our blocks only).
struct OverallRun {
  std::size_t warmup = 0;
  HintsRun warm, run;
  double secs = 0;
  std::string load0;  // the load average before the run
  double daemon_cpu_s = 0, self_cpu_s = 0;
  std::int64_t daemon_preempted = 0, self_preempted = 0;
  std::vector<double> block_p50_us;  // per block, to show how steady the machine was
};

// The Redis arm beside it: the same number of GETs, in the blocks between ours.
struct RedisRun {
  std::vector<std::int64_t> ns;
  std::vector<double> block_p50_us;
  bool failed = false;
};

// Calls [begin, end) of `reqs`, timed one by one, with the processes' costs around the block.
void time_hints_block(const Bench& b, regulars_client* c, const std::vector<std::string>& reqs, std::size_t begin,
                      std::size_t end, OverallRun& o) {
  const pid_t daemon = b.daemon.pid(), self = ::getpid();
  const ProcSample daemon0 = proc_sample(daemon), self0 = proc_sample(self);
  const std::int64_t dp0 = preemptions(daemon), bp0 = preemptions(self);
  const std::size_t ok0 = o.run.ns.size();
  const auto t0 = Clock::now();
  for (std::size_t i = begin; i < end; ++i) hints_call(c, reqs[i], o.run);
  o.secs += seconds_since(t0);
  o.daemon_cpu_s += proc_sample(daemon).cpu_s - daemon0.cpu_s;
  o.self_cpu_s += proc_sample(self).cpu_s - self0.cpu_s;
  o.daemon_preempted += preemptions(daemon) - dp0;
  o.self_preempted += preemptions(self) - bp0;
  o.block_p50_us.push_back(summarize_ns({o.run.ns.begin() + static_cast<std::ptrdiff_t>(ok0), o.run.ns.end()}).p50);
}

Block redis_block(const Bench& b, RedisRun& redis) {
  if (b.redis == nullptr) return {};
  return guard_reference("redis", [&b, &redis](std::size_t begin, std::size_t end) {
    std::vector<std::int64_t> ns;
    b.redis->time_gets(end - begin, ns, std::chrono::microseconds(b.opt.wait_spin_us));
    redis.block_p50_us.push_back(summarize_ns(ns).p50);
    redis.ns.insert(redis.ns.end(), ns.begin(), ns.end());
  }, redis.failed);
}

OverallRun time_hints(const Bench& b, regulars_client* c, Rng& rng, RedisRun& redis) {
  const std::size_t hints = b.opt.hints;
  auto random_customer = [&] { return static_cast<std::uint32_t>(rng.below(b.opt.customers)); };
  OverallRun o;
  o.warmup = std::clamp<std::size_t>(hints / 10, 100, 2000);
  std::vector<std::string> reqs;
  reqs.reserve(hints);
  for (std::size_t i = 0; i < o.warmup; ++i) reqs.push_back(hints_request(b.cat, random_customer(), rng));
  for (const auto& r : reqs) hints_call(c, r, o.warm);
  const Block reference = redis_block(b, redis);
  if (reference) {
    reference(0, o.warmup);  // a warm-up for the reference too; dropped below
    redis.ns.clear();
    redis.block_p50_us.clear();
  }
  reqs.clear();
  for (std::size_t i = 0; i < hints; ++i) reqs.push_back(hints_request(b.cat, random_customer(), rng));
  o.run.ns.reserve(hints);
  o.load0 = loadavg();
  interleave(
      b.opt.rounds, hints, [&](std::size_t begin, std::size_t end) { time_hints_block(b, c, reqs, begin, end, o); },
      reference);
  return o;
}

// Prints the run; false when a call failed or found no customer.
bool print_overall(const Bench& b, const OverallRun& o, const LatencySummary& all) {
  const HintsRun& run = o.run;
  const auto hints = static_cast<double>(b.opt.hints);
  out("hints (1 client, through libregulars.so, budget_ms=%d, wait_spin_us=%d): warmup=%zu calls=%zu ok=%zu "
      "errors=%lld unknown=%lld mean_visits=%.1f\n",
      b.opt.budget_ms, b.opt.wait_spin_us, o.warmup, b.opt.hints, run.ns.size(), static_cast<long long>(run.errors + o.warm.errors),
      static_cast<long long>(run.unknown + o.warm.unknown),
      run.ns.size() > static_cast<std::size_t>(run.unknown)
          ? static_cast<double>(run.visits_sum) / static_cast<double>(run.ns.size() - static_cast<std::size_t>(run.unknown))
          : 0.0);
  print_errors(o.warm.error_kinds);
  print_errors(run.error_kinds);
  out("  latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f  calls_per_s=%.0f\n", all.p50, all.p90,
      all.p99, all.p999, all.max, all.mean, hints / o.secs);
  out("  cpu per call: regularsd %.1f us, this process (caller + plugin, answers parsed) %.1f us; machine loadavg %s -> %s\n",
      o.daemon_cpu_s * 1e6 / hints, o.self_cpu_s * 1e6 / hints, o.load0.c_str(), loadavg().c_str());
  out("  preempted (involuntary context switches) per 100 calls: regularsd %.1f, this process %.1f\n",
      static_cast<double>(o.daemon_preempted) * 100.0 / hints, static_cast<double>(o.self_preempted) * 100.0 / hints);
  return run.errors + o.warm.errors + run.unknown + o.warm.unknown == 0;
}

// The Redis arm's figures beside ours, block by block; its summary, or nullopt when it failed.
std::optional<LatencySummary> print_redis(const Bench& b, const OverallRun& o, const RedisRun& redis,
                                          const LatencySummary& hints) {
  if (redis.failed) return std::nullopt;
  const LatencySummary r = summarize_ns(redis.ns);
  out("redis reference (1 client, GET of a %zu-byte value, RESP over the Unix socket, no persistence, wait_spin_us=%d "
      "as the hints client; in %u blocks taking turns with the hints run): calls=%zu\n",
      RedisReference::kValueBytes, b.opt.wait_spin_us, b.opt.rounds, redis.ns.size());
  out("  latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f  (hints/redis: p50 x%.1f, p99 x%.1f)\n",
      r.p50, r.p90, r.p99, r.p999, r.max, r.mean, r.p50 > 0 ? hints.p50 / r.p50 : 0.0,
      r.p99 > 0 ? hints.p99 / r.p99 : 0.0);
  std::string blocks;
  for (std::size_t i = 0; i < o.block_p50_us.size() && i < redis.block_p50_us.size(); ++i) {
    char buf[48];
    std::snprintf(buf, sizeof buf, " %.0f/%.1f", o.block_p50_us[i], redis.block_p50_us[i]);
    blocks += buf;
  }
  out("  p50_us by block, hints/redis:%s\n", blocks.c_str());
  return r;
}

double mean_visits(const HintsRun& h) {
  const auto known = static_cast<std::int64_t>(h.ns.size()) - h.unknown;
  return known > 0 ? static_cast<double>(h.visits_sum) / static_cast<double>(known) : 0.0;
}

// Customers with short (<= 3 visits) against long (>= 40) histories, interleaved in a random
// order so any drift hits both alike. False when a call failed or found no customer.
bool hints_by_history(const Bench& b, const Plan& plan, regulars_client* c, Rng& rng) {
  std::vector<std::uint32_t> short_ids, long_ids;
  for (std::uint32_t i = 0; i < b.opt.customers; ++i) {
    if (plan.visits[i] <= 3) short_ids.push_back(i);
    if (plan.visits[i] >= 40) long_ids.push_back(i);
  }
  if (short_ids.empty() || long_ids.empty()) {
    out("hints by history: skipped (short=%zu long=%zu customers in this store)\n", short_ids.size(), long_ids.size());
    return true;
  }
  const std::size_t per_group = std::clamp<std::size_t>(b.opt.hints / 4, 100, 5000);
  std::vector<std::pair<bool, std::string>> mixed;
  for (std::size_t i = 0; i < per_group; ++i) {
    mixed.emplace_back(false, hints_request(b.cat, short_ids[rng.below(short_ids.size())], rng));
    mixed.emplace_back(true, hints_request(b.cat, long_ids[rng.below(long_ids.size())], rng));
  }
  for (std::size_t i = mixed.size(); i > 1; --i) std::swap(mixed[i - 1], mixed[rng.below(i)]);
  HintsRun s, l;
  for (const auto& [is_long, r] : mixed) hints_call(c, r, is_long ? l : s);
  const LatencySummary shorts = summarize_ns(s.ns), longs = summarize_ns(l.ns);
  out("hints by history: short (<=3 visits, %zu customers): calls=%zu errors=%lld mean_visits=%.1f p50=%.1f "
      "p99=%.1f us\n",
      short_ids.size(), s.ns.size(), static_cast<long long>(s.errors), mean_visits(s), shorts.p50, shorts.p99);
  out("hints by history: long (>=40 visits, %zu customers): calls=%zu errors=%lld mean_visits=%.1f p50=%.1f "
      "p99=%.1f us\n",
      long_ids.size(), l.ns.size(), static_cast<long long>(l.errors), mean_visits(l), longs.p50, longs.p99);
  print_errors(s.error_kinds);
  print_errors(l.error_kinds);
  return s.errors + l.errors + s.unknown + l.unknown == 0;
}

// Customers made for this run (their cards new to the store), each recorded their consent and
// `visits` purchases through the plugin, mostly of one generated customer's favourites, as a
// regular buys.
std::vector<json> made_customers(const Bench& b, regulars_client* c, Rng& rng, std::size_t n, std::uint32_t visits,
                                 std::int64_t& errors) {
  std::vector<json> out;
  std::random_device fresh;  // not the seeded sequence: a store reused by another run must not know them
  for (std::size_t k = 0; k < n; ++k) {
    // "L" and ten digits: like the generated cards, never a payment card number.
    const std::uint64_t number = 8'000'000'000 + (static_cast<std::uint64_t>(fresh()) << 16 ^ fresh()) % 1'000'000'000;
    json who = {{"kind", "card"}, {"value", "L" + std::to_string(number)}};
    const Profile profile = profile_of(b.cat, b.opt.seed, static_cast<std::uint32_t>(rng.below(b.opt.customers)));
    // Consent first, as the generated customers gave it: their answers are personalised.
    const json consent = {{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}};
    if (regulars_record(c, consent.dump().c_str()) != REGULARS_OK) ++errors;
    for (std::uint32_t v = 0; v < visits; ++v) {
      const json e = {{"type", "purchase"}, {"customer", who}, {"lines", basket_lines(b.cat, profile, rng, static_cast<int>(rng.between(2, 10)))}};
      if (regulars_record(c, e.dump().c_str()) != REGULARS_OK) ++errors;
    }
    out.push_back(std::move(who));
  }
  return out;
}

// Whether an answer's cost grows with the customer's history: customers of one visit against
// customers of --history-visits, made for this run and asked in one random order, so drift
// hits both alike. False when a call failed.
bool hints_by_history_length(const Bench& b, regulars_client* c, Rng& rng, Figures& fig) {
  constexpr std::size_t kPerGroup = 4;
  std::int64_t record_errors = 0;
  const auto t0 = Clock::now();
  const auto longs = made_customers(b, c, rng, kPerGroup, b.opt.history_visits, record_errors);
  const auto ones = made_customers(b, c, rng, kPerGroup, 1, record_errors);
  const double made_s = static_cast<double>(elapsed_ns(t0, Clock::now())) / 1e9;
  std::vector<std::pair<bool, std::string>> mixed;
  const std::size_t calls = std::clamp<std::size_t>(b.opt.hints / 4, 200, 5000);
  for (std::size_t i = 0; i < calls; ++i) {
    const bool is_long = i % 2 == 0;
    const json& who = (is_long ? longs : ones)[rng.below(kPerGroup)];
    mixed.emplace_back(is_long, json{{"customer", who}, {"locale", "en"}}.dump());
  }
  for (std::size_t i = mixed.size(); i > 1; --i) std::swap(mixed[i - 1], mixed[rng.below(i)]);
  HintsRun one, many;
  for (const auto& [is_long, r] : mixed) hints_call(c, r, is_long ? many : one);
  const LatencySummary o = summarize_ns(one.ns), m = summarize_ns(many.ns);
  out("hints by history length (%zu customers of each made for this run in %.1f s, record errors %lld): "
      "1 visit: calls=%zu mean_visits=%.1f p50=%.1f p99=%.1f us; %u visits: calls=%zu mean_visits=%.1f p50=%.1f p99=%.1f us "
      "(p50 x%.2f)\n",
      kPerGroup, made_s, static_cast<long long>(record_errors), one.ns.size(), mean_visits(one), o.p50, o.p99,
      b.opt.history_visits, many.ns.size(), mean_visits(many), m.p50, m.p99, o.p50 > 0 ? m.p50 / o.p50 : 0.0);
  print_errors(one.error_kinds);
  print_errors(many.error_kinds);
  if (o.p50 > 0) fig.history_p50_ratio = m.p50 / o.p50;
  return record_errors + one.errors + many.errors + one.unknown + many.unknown == 0;
}

}  // namespace

void hints_phase(const Bench& b, const Plan& plan, Figures& fig) {
  regulars_client* c = open_client(
      {{"endpoint", b.endpoint}, {"budget_ms", b.opt.budget_ms}, {"wait_spin_us", b.opt.wait_spin_us}, {"terminal", "bench-hints"}});
  Rng rng(mix(b.opt.seed, 0x417));  // one sequence through both runs
  RedisRun redis;
  const OverallRun overall = time_hints(b, c, rng, redis);
  fig.hints = summarize_ns(overall.run.ns);
  if (!print_overall(b, overall, fig.hints)) fig.exit_code = 2;
  if (b.redis != nullptr) {
    fig.redis_get = print_redis(b, overall, redis, fig.hints);
    if (!fig.redis_get) fig.exit_code = 2;
  }
  if (!hints_by_history(b, plan, c, rng)) fig.exit_code = 2;
  if (b.opt.history_visits > 0 && !hints_by_history_length(b, c, rng, fig)) fig.exit_code = 2;
  regulars_close(c);
}

void tls_phase(const Bench& b, Figures& fig) {
  const auto issued = daemon_call(b.daemon.socket(), "regulars-bench",
                                  {{"op", "tokens"}, {"request", {{"action", "issue"}, {"terminal", "bench-tls"}}}});
  std::string tls_endpoint;
  std::getline(std::ifstream(b.data_dir + "/tls.endpoint"), tls_endpoint);
  if (!issued || tls_endpoint.empty()) throw std::runtime_error("--tls: no TLS listener or no token (see the daemon log)");
  const int budget_ms = b.opt.budget_ms;
  const int spin = b.opt.wait_spin_us;
  regulars_client* local = open_client({{"endpoint", b.endpoint}, {"budget_ms", budget_ms}, {"wait_spin_us", spin}, {"terminal", "bench-unix"}});
  regulars_client* lane = open_client({{"endpoint", tls_endpoint}, {"budget_ms", budget_ms}, {"wait_spin_us", spin}, {"terminal", "bench-tls"},
                                       {"ca_file", b.opt.tls_dir + "/ca.crt"}, {"token", (*issued)["token"]}});
  Rng rng(mix(b.opt.seed, 0x715));
  auto random_customer = [&] { return static_cast<std::uint32_t>(rng.below(b.opt.customers)); };
  HintsRun warm, over_unix, over_tls;
  for (std::size_t i = 0; i < 200; ++i) hints_call(i % 2 ? lane : local, hints_request(b.cat, random_customer(), rng), warm);
  for (std::size_t i = 0; i < b.opt.hints; ++i) {
    // The same request through both, in a random order, so drift and caching hit both alike.
    const std::string r = hints_request(b.cat, random_customer(), rng);
    const bool tls_first = rng.below(2) == 0;
    hints_call(tls_first ? lane : local, r, tls_first ? over_tls : over_unix);
    hints_call(tls_first ? local : lane, r, tls_first ? over_unix : over_tls);
  }
  const LatencySummary u = summarize_ns(over_unix.ns), t = summarize_ns(over_tls.ns);
  out("hints over TLS (lane token, loopback) against the Unix socket, %zu calls each, same requests, "
      "random order per pair: errors unix=%lld tls=%lld\n",
      b.opt.hints, static_cast<long long>(over_unix.errors), static_cast<long long>(over_tls.errors + warm.errors));
  print_errors(over_tls.error_kinds);
  out("  unix latency_us p50=%.1f p99=%.1f p99.9=%.1f\n", u.p50, u.p99, u.p999);
  out("  tls  latency_us p50=%.1f p99=%.1f p99.9=%.1f  (tls/unix: p50 x%.2f, p99 x%.2f)\n", t.p50, t.p99, t.p999,
      u.p50 > 0 ? t.p50 / u.p50 : 0.0, u.p99 > 0 ? t.p99 / u.p99 : 0.0);
  if (over_unix.errors + over_tls.errors > 0) fig.exit_code = 2;
  regulars_close(local);
  regulars_close(lane);
}

}  // namespace regulars::bench
