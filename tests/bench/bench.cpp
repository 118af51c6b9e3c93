// regulars-bench: the acceptance benchmark (issue 2, item 8). Not a test.
//
//  1. Generates a grocery-shaped store (default 100k customers, 2M purchase lines) directly with
//     the daemon's own code (prepare_event + EventStore::apply_now), deterministically from --seed
//     (shop.hpp, generate.hpp).
//  2. Starts the real regularsd on it and waits for its socket.
//  3. Measures single-client hints latency through libregulars.so, overall and for customers
//     with short and long histories.
//  3b. Adds 50 gesture rules and measures hints latency with them all enabled against all
//     disabled, in alternating blocks, paced like a busy store and back to back (issue 4:
//     rules may add at most 100 us p99).
//  4. Measures durable record throughput with --clients concurrent clients, each with its own
//     regulars_client and spool.
//  5. Reports the daemon's memory, stops it with SIGTERM, and removes its temporary files.
// The phases are in phases.hpp. The last line of stdout is always
// "hints_p50_us=… hints_p99_us=… hints_p999_us=… records_per_s=…".
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "base/log.hpp"
#include "console.hpp"
#include "daemon_child.hpp"
#include "generate.hpp"
#include "machine.hpp"
#include "options.hpp"
#include "phases.hpp"
#include "shop.hpp"
#include "wire/validate.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace regulars::bench;
using namespace regulars::tools;

namespace {

void add_flags(CLI::App& app, Options& opt) {
  app.add_option("--customers", opt.customers, "Customers in the generated store")->check(CLI::PositiveNumber);
  app.add_option("--lines", opt.lines, "Purchase lines in the generated store")->check(CLI::PositiveNumber);
  app.add_option("--hints", opt.hints, "Measured hints calls (single client)")->check(CLI::PositiveNumber);
  app.add_option("--records", opt.records, "Durable records in total across the clients")->check(CLI::PositiveNumber);
  app.add_option("--clients", opt.clients, "Concurrent recording clients, one thread and regulars_client each")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--seed", opt.seed, "Seed of the generated data and the request mix");
  app.add_option("--chunk", opt.chunk, "Events per EventStore::apply_now call during generation")->check(CLI::Range(1, 100000));
  app.add_option("--budget-ms", opt.budget_ms, "budget_ms of the plugin clients (large, so no call is cut)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--data-dir", opt.data_dir,
                 "Use this data directory; if it already holds a store, reuse it and skip generation");
  app.add_option("--regularsd", opt.regularsd, "The regularsd binary (default: the one built with this benchmark)");
  app.add_option("--daemon-arg", opt.daemon_args, "Extra argument for regularsd (repeat for several)")
      ->allow_extra_args(false);
  app.add_option("--gesture-rules", opt.gesture_rules, "Active gesture rules in the gestures phase (0 skips it)")
      ->check(CLI::Range(0, 500));
  app.add_option("--gesture-rate", opt.gesture_rate, "Hints calls per second in the paced gestures run")
      ->check(CLI::Range(1.0, 100000.0));
  app.add_option("--gesture-sales-rate", opt.gesture_sales_rate, "Purchases per second recorded during the gestures runs")
      ->check(CLI::Range(1.0, 10000.0));
  app.add_option("--gesture-hints", opt.gesture_hints, "Hints calls in the paced gestures run (both arms)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--breakdown", opt.breakdown,
               "After the runs, repeat them in process (no plugin, no socket) and probe fdatasync, to show where "
               "the time goes");
  app.add_option("--tls", opt.tls_dir,
                 "Also time hints over TLS with a lane token against the Unix socket, using DIR's server.crt, "
                 "server.key and ca.crt (packaging/make-tls.sh DIR 127.0.0.1)");
  app.add_flag("--keep", opt.keep, "Keep the temporary directory (store, spools, daemon log)");
}

// A fresh private directory under $TMPDIR (or /tmp); nullopt, with the error printed, if none.
std::optional<std::string> make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/regulars-bench-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    std::fprintf(stderr, "bench: error: mkdtemp %s: %s\n", templ.c_str(), std::strerror(errno));
    return std::nullopt;
  }
  return templ;
}

// Who comes how often (a note on stderr of how loyal they are).
Plan plan_visits(const Options& opt, std::int64_t end_ms) {
  const auto p0 = Clock::now();
  Plan plan = make_plan(opt.customers, opt.lines, opt.seed, end_ms);
  std::uint32_t s = 0, l = 0, fifty = 0, most = 0;
  for (auto v : plan.visits) {
    s += v <= 3;
    l += v >= 40;
    fifty += v >= 50;
    most = std::max(most, v);
  }
  note("plan: %zu visits in %.2f s; customers with <=3 visits: %u, >=40: %u, >=50: %u, most: %u\n",
       plan.schedule.size(), seconds_since(p0), s, l, fifty, most);
  return plan;
}

// The made-up shop and what its store holds.
struct Shop {
  Catalogue cat;
  Plan plan;
};

// 1. The store: reused when data_dir holds one (opt then takes what it was generated with),
// else generated.
Shop prepare_store(Options& opt, const std::string& data_dir) {
  std::int64_t end_ms = regulars::wire::now_ms() / kDayMs * kDayMs;  // the year ends today at 00:00 UTC
  const bool reuse = fs::exists(data_dir + "/regulars.db");
  if (reuse) adopt_store_meta(data_dir, opt.customers, opt.lines, opt.seed, end_ms);
  Shop shop{make_catalogue(opt.seed), plan_visits(opt, end_ms)};
  if (!reuse) {
    fs::create_directories(data_dir);
    generate(shop.plan, shop.cat, data_dir, opt.chunk);
  }
  return shop;
}

// --tls: a TLS listener on a free port beside the Unix socket, through a config file in tmp.
void add_tls_listener(Options& opt, const std::string& tmp) {
  const std::string conf = tmp + "/tls.conf";
  std::ofstream(conf) << json{{"listen", {{"tls", {{"address", "127.0.0.1"}, {"port", 0}, {"cert", opt.tls_dir + "/server.crt"},
                                                    {"key", opt.tls_dir + "/server.key"}}}}}}.dump();
  opt.daemon_args.insert(opt.daemon_args.end(), {"--config", conf});
}

void wait_for_daemon(DaemonChild& daemon, const std::string& exe) {
  const auto d0 = Clock::now();
  daemon.wait_ready(std::chrono::seconds(60));
  const auto st0 = daemon_status(daemon.socket(), "regulars-bench");
  out("daemon: %s pid=%d listening after %.2f s; store: events=%lld customers=%lld items=%lld\n", exe.c_str(),
      daemon.pid(), seconds_since(d0), static_cast<long long>(status_field(st0, "events")),
      static_cast<long long>(status_field(st0, "customers")), static_cast<long long>(status_field(st0, "items")));
}

// Every phase in order; throws when one cannot run, with `fig` holding what was measured so far.
void run_bench(Options& opt, const std::string& tmp, const std::string& data_dir, Figures& fig) {
  out("regulars-bench %s: customers=%u lines=%lld hints=%zu records=%zu clients=%u seed=%llu dir=%s "
      "(cpus=%u loadavg=%s)\n",
      REGULARS_VERSION_STRING, opt.customers, static_cast<long long>(opt.lines), opt.hints, opt.records, opt.clients,
      static_cast<unsigned long long>(opt.seed), data_dir.c_str(), std::thread::hardware_concurrency(),
      loadavg().c_str());
  const Shop shop = prepare_store(opt, data_dir);

  // 2. The daemon
  const std::string exe = find_regularsd(opt.regularsd, REGULARSD_BUILD_PATH);
  if (!opt.tls_dir.empty()) add_tls_listener(opt, tmp);
  DaemonChild daemon(exe, data_dir, opt.daemon_args, tmp + "/regularsd.log");
  wait_for_daemon(daemon, exe);
  const Bench b{opt, shop.cat, daemon, "unix:" + daemon.socket(), data_dir, tmp};

  hints_phase(b, shop.plan, fig);
  if (!opt.tls_dir.empty()) tls_phase(b, fig);
  if (opt.gesture_rules > 0) gestures_phase(b, fig);
  records_phase(b, fig);

  // 5. Memory, 6. stop
  out("daemon memory: %s\n", daemon.memory_summary().c_str());
  out("daemon stop (SIGTERM): %s\n", daemon.stop(std::chrono::seconds(30)).c_str());

  if (opt.gesture_rules > 0) rule_evaluation_phase(opt, shop.cat, data_dir);
  if (opt.breakdown) breakdown_phase(opt, shop.cat, data_dir);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regulars-bench — generates a grocery store, then measures regularsd through libregulars.so"};
  Options opt;
  add_flags(app, opt);
  CLI11_PARSE(app, argc, argv);
  set_note_prefix("bench: ");

  ::signal(SIGPIPE, SIG_IGN);
  ::umask(0077);  // the store holds personal data, even made-up personal data
  regulars::daemon::log::setup("warn", "text");  // regulars_core logs to stderr, warnings only

  const std::optional<std::string> tmp = make_temp_dir();
  if (!tmp) return 1;
  const std::string data_dir = opt.data_dir.empty() ? *tmp + "/data" : opt.data_dir;
  Figures fig;
  try {
    run_bench(opt, *tmp, data_dir, fig);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: error: %s\n", e.what());
    fig.exit_code = 1;
  }

  if (opt.keep) {
    out("kept: %s\n", tmp->c_str());
  } else {
    std::error_code ec;
    fs::remove_all(*tmp, ec);
  }
  out("hints_p50_us=%.1f hints_p99_us=%.1f hints_p999_us=%.1f records_per_s=%.1f\n", fig.hints.p50, fig.hints.p99,
      fig.hints.p999, fig.records_per_s);
  return fig.exit_code;
}
