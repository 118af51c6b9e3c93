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
#include "generate.hpp"
#include "gestures/engine.hpp"
#include "hints/hint_engine.hpp"
#include "memory/identity.hpp"
#include "latency.hpp"
#include "machine.hpp"
#include "base/log.hpp"
#include "regulars/regulars.h"
#include "shop.hpp"
#include "store/event_store.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace regulars::tools;
using namespace regulars::bench;

namespace {

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
