// Phases 3b and 7: what active gesture rules add to a hints call, through the daemon and then
// in this process alone (issue 4: rules may add at most 100 us p99).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <thread>
#include <variant>
#include <vector>

#include "console.hpp"
#include "gestures/engine.hpp"
#include "hints/hint_engine.hpp"
#include "machine.hpp"
#include "memory/identity.hpp"
#include "phases.hpp"
#include "plugin_calls.hpp"
#include "store/event_store.hpp"
#include "wire/validate.hpp"

namespace regulars::bench {

using nlohmann::json;
using namespace regulars::tools;
namespace d = regulars::daemon;

namespace {

// ---------------------------------------------------------------------------------------------
// 3b. Through the daemon

// Sends `request_of(rule)` to the daemon's gestures op for each rule, stopping at the first
// that fails; false then.
template <typename RequestOf>
bool for_each_rule(const Bench& b, const std::vector<json>& rules, RequestOf request_of) {
  for (const auto& r : rules)
    if (!daemon_call(b.daemon.socket(), "regulars-bench", {{"op", "gestures"}, {"request", request_of(r)}}))
      return false;
  return true;
}

// Another lane recording purchases at --gesture-sales-rate from construction until stop(), so
// sales go on in both arms alike. (Every commit makes SQLite's readers start with a cold page
// cache; a baseline with no writes at all would charge that to the rules' own offer events.)
class SalesLane {
 public:
  explicit SalesLane(const Bench& b) : b_(b), thread_([this] { sell(); }), t0_(Clock::now()) {}
  ~SalesLane() { stop(); }
  SalesLane(const SalesLane&) = delete;
  SalesLane& operator=(const SalesLane&) = delete;

  // Stops the lane and prints what it recorded meanwhile.
  void stop_and_report() {
    stop();
    out("gestures: purchases recorded meanwhile by another lane: %lld (%.0f/s)\n", static_cast<long long>(sold_.load()),
        static_cast<double>(sold_.load()) / seconds_since(t0_));
  }

 private:
  void stop() {
    selling_ = false;
    if (thread_.joinable()) thread_.join();
  }
  void sell() {
    regulars_client* lane =
        open_client({{"endpoint", b_.endpoint}, {"budget_ms", b_.opt.budget_ms}, {"terminal", "bench-sales"}});
    Rng srng(mix(b_.opt.seed, 0x5A1E));
    auto next = Clock::now();
    while (selling_.load()) {
      next += std::chrono::microseconds(static_cast<std::int64_t>(1e6 / b_.opt.gesture_sales_rate));
      std::this_thread::sleep_until(next);
      const auto who = static_cast<std::uint32_t>(srng.below(b_.opt.customers));
      const std::string e = json{{"type", "purchase"}, {"customer", customer_json(who)},
                                 {"lines", basket_lines(b_.cat, profile_of(b_.cat, b_.opt.seed, who), srng, 4)}}.dump();
      if (regulars_record(lane, e.c_str()) == REGULARS_OK) sold_.fetch_add(1);
    }
    regulars_close(lane);
  }

  const Bench& b_;
  std::atomic<bool> selling_{true};
  std::atomic<std::int64_t> sold_{0};
  std::thread thread_;  // after the members sell() reads
  Clock::time_point t0_;
};

// per_arm calls with the rules and per_arm without, in pairs of random order, paced at `rate`
// calls/s (0: back to back). The rules stay enabled; a call without them asks for
// "max_offers": 0, which skips the gesture engine. The two kinds of call alternate, so whatever
// else happens on the machine (the writer, the checkpointer, the sales lane) hits both alike.
void alternate_rules(const Bench& b, regulars_client* c, Rng& rng, double rate, std::size_t per_arm, HintsRun& off,
                     HintsRun& on) {
  auto next = Clock::now();
  bool rules_first = false;
  for (std::size_t i = 0; i < 2 * per_arm; ++i) {
    if (rate > 0) {
      next += std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate));
      std::this_thread::sleep_until(next);
    }
    if (i % 2 == 0) rules_first = rng.below(2) == 0;  // each pair in a random order
    const bool with_rules = (i % 2 == 0) == rules_first;
    json req = json::parse(hints_request(b.cat, static_cast<std::uint32_t>(rng.below(b.opt.customers)), rng));
    if (!with_rules) req["max_offers"] = 0;
    hints_call(c, req.dump(), with_rules ? on : off);
  }
}

// Prints one run's arms side by side; false when a call failed.
bool print_rules_cost(const char* how, int gesture_rules, const HintsRun& off, const HintsRun& on) {
  const LatencySummary a = summarize_ns(off.ns), b = summarize_ns(on.ns);
  out("gestures, %s: %d rules, %zu calls each with and without them, alternating: errors=%lld offers per call=%.3f\n",
      how, gesture_rules, off.ns.size(), static_cast<long long>(off.errors + on.errors),
      on.ns.empty() ? 0.0 : static_cast<double>(on.offers) / static_cast<double>(on.ns.size()));
  out("  rules off: p50=%.1f p99=%.1f p99.9=%.1f us; rules on: p50=%.1f p99=%.1f p99.9=%.1f us\n", a.p50, a.p99,
      a.p999, b.p50, b.p99, b.p999);
  out("  added by %d active rules: p50 %+.1f us, p99 %+.1f us (ratio on/off p99 %.3f)\n", gesture_rules, b.p50 - a.p50,
      b.p99 - a.p99, a.p99 > 0 ? b.p99 / a.p99 : 0.0);
  return off.errors + on.errors == 0;
}

// ---------------------------------------------------------------------------------------------
// 7. In this process

struct RuleEvaluation {
  std::size_t n = 0;  // measured calls, after 200 of warm-up
  std::vector<std::int64_t> without_ns, with_ns, engine_ns;  // engine: with - without, same request
  std::vector<std::int64_t> step_ns;  // the gesture step inside each answer with rules, warm-up included
  std::int64_t offers = 0;            // warm-up included
};

// One request answered by both engines, `rules_first` saying which goes first; the answer with
// rules adds to e's offers and gesture steps. Returns the nanoseconds without and with rules.
std::pair<std::int64_t, std::int64_t> answer_both(d::HintEngine& plain, d::HintEngine& with_rules, const json& req,
                                                  bool rules_first, RuleEvaluation& e) {
  const std::int64_t now = regulars::wire::now_ms();
  std::int64_t t_plain = 0, t_rules = 0;
  for (int k = 0; k < 2; ++k) {
    const bool rules_now = (k == 0) == rules_first;
    const auto t0 = Clock::now();
    const json a = (rules_now ? with_rules : plain).answer(req, now);
    const std::int64_t ns = elapsed_ns(t0, Clock::now());
    (rules_now ? t_rules : t_plain) = ns;
    if (rules_now) {
      e.offers += static_cast<std::int64_t>(a["offers"].size());
      e.step_ns.push_back(d::HintEngine::last_gestures_ns());
    }
  }
  return {t_plain, t_rules};
}

RuleEvaluation time_rule_evaluation(const Options& opt, const Catalogue& cat, const std::string& data_dir) {
  d::EventStore store(data_dir, d::EventStore::Options{});
  const d::IdentityKey key = d::IdentityKey::load_or_create(data_dir);
  d::GestureEngine engine(store, d::Phrasebook::builtin());
  engine.load();
  for (const auto& r : bench_rules(cat, opt.gesture_rules)) {
    auto added = engine.add_rule(r);
    if (std::holds_alternative<regulars::wire::Error>(added)) throw std::runtime_error("bench rule refused");
  }
  d::HintEngine plain(store, key, d::HintSettings{}), with_rules(store, key, d::HintSettings{}, &engine);
  Rng rng(mix(opt.seed, 0x1E7A));
  RuleEvaluation e;
  e.n = std::max<std::size_t>(opt.gesture_hints, 500);
  for (std::size_t i = 0; i < e.n + 200; ++i) {
    const json req = json::parse(hints_request(cat, static_cast<std::uint32_t>(rng.below(opt.customers)), rng));
    const auto [t_plain, t_rules] = answer_both(plain, with_rules, req, i % 2 == 0, e);  // alternate who goes first
    if (i < 200) continue;  // warm-up
    e.without_ns.push_back(t_plain);
    e.with_ns.push_back(t_rules);
    e.engine_ns.push_back(t_rules - t_plain);
  }
  engine.stop();
  return e;
}

void print_rule_evaluation(int gesture_rules, RuleEvaluation& e) {
  const LatencySummary a = summarize_ns(e.without_ns), b = summarize_ns(e.with_ns);
  std::sort(e.engine_ns.begin(), e.engine_ns.end());
  out("rule evaluation in-process (HintEngine::answer, %zu customers, each with and without %d rules): offers per "
      "call=%.3f\n",
      e.n, gesture_rules, static_cast<double>(e.offers) / static_cast<double>(e.n + 200));
  out("  without rules: p50=%.1f p99=%.1f p99.9=%.1f us; with rules: p50=%.1f p99=%.1f p99.9=%.1f us\n", a.p50, a.p99,
      a.p999, b.p50, b.p99, b.p999);
  const LatencySummary step = summarize_ns(e.step_ns);
  out("  the gesture step itself (evaluating %d rules, reserving and describing offers), timed inside the answer: "
      "p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f us\n",
      gesture_rules, step.p50, step.p90, step.p99, step.p999, step.max);
  const auto& engine_ns = e.engine_ns;
  out("  added per call (with - without, same customer): p50=%.1f p99=%.1f p99.9=%.1f us\n",
      static_cast<double>(engine_ns[engine_ns.size() / 2]) / 1000.0,
      static_cast<double>(engine_ns[engine_ns.size() * 99 / 100]) / 1000.0,
      static_cast<double>(engine_ns[engine_ns.size() * 999 / 1000]) / 1000.0);
}

}  // namespace

// Two runs of alternating calls with and without the rules (drift and caches hit both alike):
//  - paced at --gesture-rate calls/s, a very busy store: every offer is still logged, but the
//    log's writes take the small share of the machine they would take in a shop;
//  - back to back, as fast as one client can go: with every call a first decision for its
//    customer, the offers logged keep the writer busy and the hints share two cores with it.
void gestures_phase(const Bench& b, Figures& fig) {
  const Options& opt = b.opt;
  const auto rules = bench_rules(b.cat, opt.gesture_rules);
  if (!for_each_rule(b, rules, [](const json& r) { return json{{"action", "add"}, {"rule", r}}; }))
    throw std::runtime_error("could not add the benchmark's gesture rules (regularsctl gestures needs the daemon's user)");
  regulars_client* c = open_client({{"endpoint", b.endpoint}, {"budget_ms", opt.budget_ms}, {"terminal", "bench-gestures"}});
  Rng rng(mix(opt.seed, 0x6E57));
  HintsRun paced_off, paced_on, fast_off, fast_on;
  {
    SalesLane sales(b);
    alternate_rules(b, c, rng, opt.gesture_rate, std::max<std::size_t>(opt.gesture_hints / 2, 100), paced_off, paced_on);
    alternate_rules(b, c, rng, 0, std::max<std::size_t>(opt.hints / 2, 200), fast_off, fast_on);
    sales.stop_and_report();
  }
  regulars_close(c);
  const bool disabled =
      for_each_rule(b, rules, [](const json& r) { return json{{"action", "disable"}, {"id", r["id"]}}; });
  char how[64];
  std::snprintf(how, sizeof how, "paced at %.0f calls/s", opt.gesture_rate);
  const bool paced_clean = print_rules_cost(how, opt.gesture_rules, paced_off, paced_on);
  const bool fast_clean = print_rules_cost("back to back", opt.gesture_rules, fast_off, fast_on);
  if (!paced_clean || !fast_clean || !disabled) fig.exit_code = 2;
}

void rule_evaluation_phase(const Options& opt, const Catalogue& cat, const std::string& data_dir) {
  RuleEvaluation e = time_rule_evaluation(opt, cat, data_dir);
  print_rule_evaluation(opt.gesture_rules, e);
}

}  // namespace regulars::bench
