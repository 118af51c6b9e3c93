// regulars-bench: the acceptance benchmark (issue 2, item 8). Not a test.
//
//  1. Generates a grocery-shaped store (default 100k customers, 2M purchase lines) directly with
//     the daemon's own code (prepare_event + BulkWriter), deterministically from --seed
//     (shop.hpp, generate.hpp).
//  2. Starts the real regularsd on it and waits for its socket.
//  3. Measures single-client hints latency through libregulars.so, overall and for customers
//     with short and long histories.
//  3b. Adds 50 gesture rules and measures hints latency with them all enabled against all
//     disabled, in alternating blocks, paced like a busy store and back to back (issue 4:
//     rules may add at most 100 us p99).
//  4. Measures durable record throughput with each of --records-clients concurrent clients (8,
//     then 32), each client with its own regulars_client and spool.
//  5. Reports the daemon's memory, stops it with SIGTERM, and removes its temporary files.
// Beside 3 and 4, in blocks taking turns with them, the references a team would otherwise pick
// (references/): Redis GETs of a 1 KB value against hints, PostgreSQL INSERTs of the same events
// from as many connections against records. One not installed is skipped with a line saying so.
// The phases are in phases.hpp. The last line of stdout is always
// "hints_p50_us=… hints_p99_us=… hints_p999_us=… records_per_s=… hints_vs_redis_p50=…
// hints_vs_redis_p99=… records_vs_postgres=… records_vs_postgres_8=… records_vs_postgres_32=…
// hints_long_vs_one_visit_p50=…" (a ratio is "n/a" when its reference or its phase did not run).
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

// Flags whose meaning depends on another, settled once parsing is done.
struct LinkedFlags {
  CLI::Option* clients = nullptr;
};

LinkedFlags add_flags(CLI::App& app, Options& opt) {
  app.add_option("--customers", opt.customers, "Customers in the generated store")->check(CLI::PositiveNumber);
  app.add_option("--lines", opt.lines, "Purchase lines in the generated store")->check(CLI::PositiveNumber);
  app.add_option("--hints", opt.hints, "Measured hints calls (single client)")->check(CLI::PositiveNumber);
  app.add_option("--records", opt.records, "Durable records in total across the clients")->check(CLI::PositiveNumber);
  LinkedFlags linked;
  linked.clients = app.add_option("--clients", opt.clients,
                                  "Concurrent recording clients, one thread and regulars_client each (one records run; "
                                  "the same as --records-clients N)")
                       ->check(CLI::Range(1u, 256u));
  app.add_option("--records-clients", opt.records_clients,
                 "Client counts of the records runs, one run each, in order (default 8,32; the first is records_per_s)")
      ->delimiter(',')
      ->check(CLI::Range(1u, 256u))
      ->excludes(linked.clients);
  app.add_option("--rounds", opt.rounds,
                 "Blocks the hints and records runs are split into, taking turns with the reference's blocks")
      ->check(CLI::Range(1u, 100u));
  app.add_option("--redis-server", opt.redis_server,
                 "redis-server to compare hints with: GETs of a 1 KB value over a Unix socket ('' skips it)");
  app.add_option("--postgres-bin", opt.postgres_bin,
                 "PostgreSQL's program directory (initdb, postgres) to compare records with: INSERTs of the same "
                 "events from as many connections ('' skips it)");
  app.add_option("--seed", opt.seed, "Seed of the generated data and the request mix");
  app.add_option("--chunk", opt.chunk, "Events per transaction (one BulkWriter chunk) during generation")->check(CLI::Range(1, 100000));
  app.add_option("--budget-ms", opt.budget_ms, "budget_ms of the plugin clients (large, so no call is cut)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--wait-spin-us", opt.wait_spin_us,
                 "wait_spin_us of the hints clients: how long a call polls for its answer before it sleeps (0: the "
                 "plugin's default, sleep at once)")
      ->check(CLI::Range(0, 5000));
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
  app.add_option("--history-visits", opt.history_visits,
                 "Visits of the customers made for 'hints by history length', against customers of one visit (0 skips it)")
      ->check(CLI::Range(0u, 100000u));
  app.add_option("--gesture-hints", opt.gesture_hints, "Hints calls in the paced gestures run (both arms)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--breakdown", opt.breakdown,
               "After the runs, repeat them in process (no plugin, no socket) and probe fdatasync, to show where "
               "the time goes");
  app.add_option("--tls", opt.tls_dir,
                 "Also time hints over TLS with a lane token against the Unix socket, using DIR's server.crt, "
                 "server.key and ca.crt (packaging/make-tls.sh DIR 127.0.0.1)");
  app.add_flag("--keep", opt.keep, "Keep the temporary directory (store, spools, daemon log)");
  return linked;
}

void settle_linked_flags(const LinkedFlags& linked, Options& opt) {
  if (linked.clients->count() > 0) opt.records_clients = {opt.clients};
  opt.clients = opt.records_clients.front();  // what the breakdown's records run uses
}

std::string join(const std::vector<unsigned>& v) {
  std::string s;
  for (const unsigned x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
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

// The servers the phases compare regularsd with, each started in a directory of its own under tmp;
// one that is not installed, or will not start, is left out with a line saying why.
struct References {
  std::optional<RedisReference> redis;
  std::optional<PostgresReference> postgres;

  References() = default;
  References(const References&) = delete;
  References& operator=(const References&) = delete;
  ~References() { stop(); }

  void stop() {
    if (redis) out("redis reference stop (SIGTERM): %s\n", redis->stop().c_str());
    if (postgres) out("postgres reference stop (SIGINT): %s\n", postgres->stop().c_str());
    redis.reset();
    postgres.reset();
  }
};

bool installed(const std::string& program, const char* name) {
  if (program.empty()) {
    out("%s reference: skipped (turned off)\n", name);
    return false;
  }
  if (::access(program.c_str(), X_OK) != 0) {
    out("%s reference: skipped (%s is not installed)\n", name, program.c_str());
    return false;
  }
  return true;
}

std::string reference_dir(const std::string& tmp, const char* name) {
  const std::string dir = tmp + "/" + name;
  fs::create_directory(dir);
  return dir;
}

// A reference that is installed but will not start is an error (exit status 2), not a skip.
void start_references(const Options& opt, const std::string& tmp, References& refs, Figures& fig) {
  if (installed(opt.redis_server, "redis")) {
    try {
      refs.redis.emplace(opt.redis_server, reference_dir(tmp, "redis"));
      out("redis reference: %s, socket in %s/redis\n", opt.redis_server.c_str(), tmp.c_str());
    } catch (const std::exception& e) {
      note("error: redis reference: %s\n", e.what());
      fig.exit_code = 2;
    }
  }
  if (installed(opt.postgres_bin.empty() ? "" : opt.postgres_bin + "/postgres", "postgres")) {
    try {
      const auto account = PgCluster::server_account(tmp);
      const auto t0 = Clock::now();
      refs.postgres.emplace(opt.postgres_bin, reference_dir(tmp, "postgres"), account);
      const double ready_s = seconds_since(t0);
      out("postgres reference: %s, cluster and socket in %s/postgres%s, ready after %.1f s; %s\n",
          opt.postgres_bin.c_str(), tmp.c_str(), account ? (" as " + account->name).c_str() : "", ready_s,
          refs.postgres->durability().c_str());
    } catch (const std::exception& e) {
      note("error: postgres reference: %s\n", e.what());
      fig.exit_code = 2;
    }
  }
}

// Every phase in order; throws when one cannot run, with `fig` holding what was measured so far.
void run_bench(Options& opt, const std::string& tmp, const std::string& data_dir, Figures& fig) {
  out("regulars-bench %s: customers=%u lines=%lld hints=%zu records=%zu clients=%s rounds=%u seed=%llu dir=%s "
      "(cpus=%u loadavg=%s)\n",
      REGULARS_VERSION_STRING, opt.customers, static_cast<long long>(opt.lines), opt.hints, opt.records,
      join(opt.records_clients).c_str(), opt.rounds,
      static_cast<unsigned long long>(opt.seed), data_dir.c_str(), std::thread::hardware_concurrency(),
      loadavg().c_str());
  const Shop shop = prepare_store(opt, data_dir);

  // 2. The daemon
  const std::string exe = find_regularsd(opt.regularsd, REGULARSD_BUILD_PATH);
  if (!opt.tls_dir.empty()) add_tls_listener(opt, tmp);
  DaemonChild daemon(exe, data_dir, opt.daemon_args, tmp + "/regularsd.log");
  wait_for_daemon(daemon, exe);
  References refs;
  start_references(opt, tmp, refs, fig);
  const Bench b{opt,
                shop.cat,
                daemon,
                "unix:" + daemon.socket(),
                data_dir,
                tmp,
                refs.redis ? &*refs.redis : nullptr,
                refs.postgres ? &*refs.postgres : nullptr};

  hints_phase(b, shop.plan, fig);
  if (!opt.tls_dir.empty()) tls_phase(b, fig);
  if (opt.gesture_rules > 0) gestures_phase(b, fig);
  records_phase(b, fig);
  refs.stop();

  // 5. Memory, 6. stop
  out("daemon memory: %s\n", daemon.memory_summary().c_str());
  out("daemon stop (SIGTERM): %s\n", daemon.stop(std::chrono::seconds(30)).c_str());

  if (opt.gesture_rules > 0) rule_evaluation_phase(opt, shop.cat, data_dir);
  if (opt.breakdown) breakdown_phase(opt, shop.cat, data_dir);
}

// "%.2f" of a ratio, or "n/a" when the reference did not run.
std::string ratio(std::optional<double> value) {
  if (!value) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", *value);
  return buf;
}

std::optional<double> divide(double a, double b) { return b > 0 ? std::optional<double>(a / b) : std::nullopt; }

// The last line: the acceptance figures, then how they compare with the references (hints
// latency as a multiple of a Redis GET's, records per second as a multiple of PostgreSQL's
// inserts per second).
std::string summary_line(const Figures& fig) {
  char head[160];
  std::snprintf(head, sizeof head, "hints_p50_us=%.1f hints_p99_us=%.1f hints_p999_us=%.1f records_per_s=%.1f",
                fig.hints.p50, fig.hints.p99, fig.hints.p999, fig.records_per_s);
  std::string line = head;
  const auto& redis = fig.redis_get;
  line += " hints_vs_redis_p50=" + ratio(redis ? divide(fig.hints.p50, redis->p50) : std::nullopt);
  line += " hints_vs_redis_p99=" + ratio(redis ? divide(fig.hints.p99, redis->p99) : std::nullopt);
  const auto vs_postgres = [](const Figures::Records& r) {
    return r.postgres_per_s ? divide(r.regulars_per_s, *r.postgres_per_s) : std::nullopt;
  };
  line += " records_vs_postgres=" + ratio(fig.records.empty() ? std::nullopt : vs_postgres(fig.records.front()));
  for (const auto& r : fig.records)
    line += " records_vs_postgres_" + std::to_string(r.clients) + "=" + ratio(vs_postgres(r));
  line += " hints_long_vs_one_visit_p50=" + ratio(fig.history_p50_ratio);  // last: the fields before keep their places
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regulars-bench — generates a grocery store, then measures regularsd through libregulars.so"};
  Options opt;
  const LinkedFlags linked = add_flags(app, opt);
  CLI11_PARSE(app, argc, argv);
  settle_linked_flags(linked, opt);
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
  out("%s\n", summary_line(fig).c_str());
  return fig.exit_code;
}
