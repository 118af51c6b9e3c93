// regulars-chain-bench: a chain of store daemons recording through one PostgreSQL hub on this
// machine (daemon/chain/CHAIN.md). Each round runs the same stores and tills twice, interleaved:
// once with a chain section (every store publishing to and applying from the hub) and once
// without, and prints
//   - each arm's records per second (all stores together) and their ratio;
//   - the events per second the hub took in;
//   - the replication lag, from a record's acknowledgement at one store to the event being in
//     another store's log, p50 and p99, from sampled events;
//   - the hub's rows, table bytes and WAL bytes per event.
// Min/median/max over the rounds on the last line. A benchmark, not a test: it judges nothing.
#include <sqlite3.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_child.hpp"
#include "latency.hpp"
#include "pg_cluster.hpp"
#include "regulars/regulars.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace regulars::tools;

struct Options {
  int stores = 4;
  int tills = 4;  // per store, each with one record in flight
  double seconds = 10;
  int rounds = 3;
  int sample_every = 20;  // one record in this many is followed to another store
  std::string postgres_bin = "/usr/lib/postgresql/15/bin";
  std::string regularsd;
};

struct ArmRun {
  double records_per_s = 0;
  std::int64_t records = 0, errors = 0;
};

struct ChainFigures {
  ArmRun chain, alone;
  double hub_events_per_s = 0;
  std::vector<std::int64_t> lag_ns;
  double hub_rows_per_event = 0, hub_bytes_per_event = 0, hub_wal_bytes_per_event = 0, hub_cpu_us_per_event = 0;
};

std::string store_id(int i) { return std::string(1, static_cast<char>('A' + i)); }
// Each round's stores are new stores (new data directories), so they join under names of their own.
std::string chain_store_id(int round, int i) { return "r" + std::to_string(round) + "-" + store_id(i); }

// A purchase of 1 to 5 of 500 items by one of 20,000 customers.
std::string purchase_json(std::mt19937_64& rng, const std::string& event_id) {
  json lines = json::array();
  const int n = 1 + static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) lines.push_back({{"sku", "sku-" + std::to_string(rng() % 500)}, {"qty", 1}, {"unit_price", 199}});
  return json{{"type", "purchase"},
              {"event_id", event_id},
              {"customer", {{"kind", "card"}, {"value", "c" + std::to_string(rng() % 20000)}}},
              {"lines", lines}}
      .dump();
}

// The stores of one arm: data directories of their own, a shared secret, with or without the chain.
class Stores {
 public:
  Stores(const Options& o, const std::string& dir, const std::string& hub_conninfo, const std::string& secret, int round) {
    for (int i = 0; i < o.stores; ++i) {
      const std::string data = dir + "/" + store_id(i);
      fs::create_directories(data);
      fs::permissions(data, fs::perms::owner_all, fs::perm_options::replace);
      std::ofstream(data + "/secret.key", std::ios::binary) << secret;
      fs::permissions(data + "/secret.key", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
      std::vector<std::string> args{"--log-level", "warn"};
      if (!hub_conninfo.empty()) {
        std::ofstream(data + ".conf") << json{{"chain", {{"hub", hub_conninfo}, {"store_id", chain_store_id(round, i)}}}}.dump();
        args.insert(args.end(), {"--config", data + ".conf"});
      }
      daemons_.push_back(std::make_unique<DaemonChild>(o.regularsd, data, args, data + ".log"));
      dirs_.push_back(data);
    }
    for (auto& d : daemons_) d->wait_ready(std::chrono::seconds(30));
  }
  const std::string& socket(int i) const { return daemons_[static_cast<std::size_t>(i)]->socket(); }
  const std::string& dir(int i) const { return dirs_[static_cast<std::size_t>(i)]; }
  void stop() {
    for (auto& d : daemons_) d->stop(std::chrono::seconds(30));
  }

 private:
  std::vector<std::unique_ptr<DaemonChild>> daemons_;
  std::vector<std::string> dirs_;
};

// Watches one store's log for events from the others and notes when each sampled one arrived.
class ArrivalWatch {
 public:
  explicit ArrivalWatch(const std::string& db_path) {
    thread_ = std::thread([this, db_path] { watch(db_path); });
  }
  ~ArrivalWatch() { finish(); }
  void expect(const std::string& event_id, Clock::time_point sent) {
    std::lock_guard lock(mu_);
    sent_[event_id] = sent;
  }
  std::vector<std::int64_t> finish() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return lags_;
  }
  std::size_t waiting() {
    std::lock_guard lock(mu_);
    return sent_.size();
  }

 private:
  void watch(const std::string& db_path) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT seq, event_id FROM events WHERE seq > ? AND origin IS NOT NULL ORDER BY seq", -1, &st, nullptr);
    std::int64_t last = 0;
    while (!done_) {
      sqlite3_bind_int64(st, 1, last);
      while (sqlite3_step(st) == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        const std::string id = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
        std::lock_guard lock(mu_);
        if (const auto it = sent_.find(id); it != sent_.end()) {
          lags_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - it->second).count());
          sent_.erase(it);
        }
      }
      sqlite3_reset(st);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  std::mutex mu_;
  std::map<std::string, Clock::time_point> sent_;
  std::vector<std::int64_t> lags_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Every till of every store records purchases, one in flight each, for `seconds`. Sampled records
// of stores other than the watched one (index 1) are handed to `watch`.
ArmRun run_tills(const Options& o, const Stores& stores, const std::string& arm, int round, ArrivalWatch* watch) {
  std::atomic<std::int64_t> records{0}, errors{0};
  std::vector<std::thread> tills;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  for (int s = 0; s < o.stores; ++s)
    for (int t = 0; t < o.tills; ++t)
      tills.emplace_back([&, s, t] {
        regulars_client* c = nullptr;
        const json opts = {{"endpoint", "unix:" + stores.socket(s)}, {"budget_ms", 5000}, {"terminal", "lane-" + std::to_string(t)}};
        if (regulars_open(opts.dump().c_str(), &c) != REGULARS_OK) {
          ++errors;
          return;
        }
        std::mt19937_64 rng(static_cast<std::uint64_t>(round * 1000 + s * 100 + t));
        for (int n = 0; Clock::now() < until; ++n) {
          const std::string id = arm + "-" + std::to_string(round) + "-" + store_id(s) + std::to_string(t) + "-" + std::to_string(n);
          const auto sent = Clock::now();
          const bool sampled = watch != nullptr && s != 1 && n % o.sample_every == 0;
          if (sampled) watch->expect(id, sent);
          (regulars_record(c, purchase_json(rng, id).c_str()) == REGULARS_OK ? records : errors)++;
        }
        regulars_close(c);
      });
  const auto t0 = Clock::now();
  for (auto& t : tills) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  return {static_cast<double>(records.load()) / secs, records.load(), errors.load()};
}

// CPU seconds used so far by the hub's server: the postmaster (its pid is the first line of
// postmaster.pid) and every backend it forked, from /proc.
double hub_cpu_seconds(const std::string& cluster_dir) {
  std::ifstream pidfile(cluster_dir + "/postmaster.pid");
  long postmaster = 0;
  pidfile >> postmaster;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  double total = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (std::stol(name) != postmaster && ppid != postmaster) continue;
    std::string skip;
    for (int i = 0; i < 9; ++i) rest >> skip;  // pgrp .. cmajflt
    long utime = 0, stime = 0;
    rest >> utime >> stime;
    total += static_cast<double>(utime + stime) / static_cast<double>(ticks);
  }
  return total;
}

double scalar(const PgCluster& pg, const std::string& sql) {
  const std::string v = pg.scalar(sql, "chain");
  return v.empty() ? 0 : std::stod(v);
}

// The chain arm on fresh stores: records, then the hub's and the watched store's catching up.
void run_chain_arm(const Options& o, const std::string& tmp, PgCluster& pg, int round, const std::string& secret,
                   std::int64_t& acknowledged, ChainFigures& f) {
  // Each round's stores start a chain of their own: a store joining a chain with history first
  // applies all of it, which is a measure of its own (not this one's).
  pg.exec("DROP DATABASE IF EXISTS chain");
  pg.exec("CREATE DATABASE chain");
  acknowledged = 0;
  {
    Stores chain(o, tmp + "/chain-" + std::to_string(round), pg.conninfo("chain"), secret, round);
    // The first store to reach the hub makes its tables; every store has joined once all are seen.
    const auto joined = Clock::now();
    const auto all_joined = [&] {
      return scalar(pg, "SELECT (to_regclass('regulars_stores') IS NOT NULL)::int") > 0 &&
             scalar(pg, "SELECT count(*) FROM regulars_stores WHERE store_id LIKE 'r" + std::to_string(round) + "-%'") >= o.stores;
    };
    while (!all_joined()) {
      if (Clock::now() - joined > std::chrono::seconds(30)) throw std::runtime_error("the stores did not all join the hub in 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double events_before = scalar(pg, "SELECT count(*) FROM regulars_events");
    const double wal_before = scalar(pg, "SELECT pg_current_wal_lsn() - '0/0'");
    const double cpu_before = hub_cpu_seconds(pg.socket_dir() + "/cluster");
    ArrivalWatch watch(chain.dir(1) + "/regulars.db");
    const auto t0 = Clock::now();
    f.chain = run_tills(o, chain, "chain", round, &watch);
    // The hub has every event once the last one arrives; the watched store, all it was sent.
    const double expected = events_before + static_cast<double>(f.chain.records);  // each run's ids are new
    while (scalar(pg, "SELECT count(*) FROM regulars_events") < expected && Clock::now() - t0 < std::chrono::minutes(5))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    f.hub_events_per_s = static_cast<double>(f.chain.records) / std::chrono::duration<double>(Clock::now() - t0).count();
    while (watch.waiting() > 0 && Clock::now() - t0 < std::chrono::minutes(5)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    f.lag_ns = watch.finish();
    const double cpu_after = hub_cpu_seconds(pg.socket_dir() + "/cluster");  // before the stores' backends exit
    chain.stop();
    acknowledged += f.chain.records;
    const double events = scalar(pg, "SELECT count(*) FROM regulars_events");
    f.hub_rows_per_event = events / static_cast<double>(std::max<std::int64_t>(1, acknowledged));  // 1: none lost, none twice
    f.hub_bytes_per_event = scalar(pg, "SELECT pg_total_relation_size('regulars_events')") / std::max(1.0, events);
    f.hub_wal_bytes_per_event =
        (scalar(pg, "SELECT pg_current_wal_lsn() - '0/0'") - wal_before) / std::max(1.0, events - events_before);
    // Publishing, and every other store fetching, each event: the hub's cost of one event.
    f.hub_cpu_us_per_event = 1e6 * (cpu_after - cpu_before) / std::max(1.0, events - events_before);
  }
}

// One round: both arms on fresh stores with the same tills, the chain first in odd rounds and
// last in even ones, so a machine that slows down over the run favours neither.
ChainFigures run_round(const Options& o, const std::string& tmp, PgCluster& pg, int round, std::int64_t& acknowledged,
                       const std::string& secret) {
  ChainFigures f;
  const auto alone_arm = [&] {
    Stores alone(o, tmp + "/alone-" + std::to_string(round), "", secret, round);
    f.alone = run_tills(o, alone, "alone", round, nullptr);
    alone.stop();
  };
  if (round % 2 == 1) alone_arm();
  run_chain_arm(o, tmp, pg, round, secret, acknowledged, f);
  if (round % 2 == 0) alone_arm();
  return f;
}

// min/median/max of `v`, with `decimals` digits after the point.
std::string min_med_max(std::vector<double> v, int decimals = 1) {
  std::sort(v.begin(), v.end());
  std::string out;
  for (const double x : {v.front(), v[v.size() / 2], v.back()}) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
    out += (out.empty() ? "" : "/") + std::string(buf);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"regulars-chain-bench: store daemons recording through one PostgreSQL hub, against the same without it"};
  app.add_option("--stores", o.stores, "Store daemons")->check(CLI::Range(2, 16));
  app.add_option("--tills", o.tills, "Tills per store, each with one record in flight")->check(CLI::Range(1, 64));
  app.add_option("--seconds", o.seconds, "Seconds each arm records for")->check(CLI::Range(0.5, 600.0));
  app.add_option("--rounds", o.rounds, "Rounds, each running both arms")->check(CLI::Range(1, 20));
  app.add_option("--postgres-bin", o.postgres_bin, "PostgreSQL's program directory (initdb, postgres)");
  app.add_option("--regularsd", o.regularsd, "The regularsd to run (default: the one built with this program)");
  CLI11_PARSE(app, argc, argv);
  try {
    o.regularsd = find_regularsd(o.regularsd, REGULARSD_BUILD_PATH);
    char pattern[] = "/tmp/regulars-chain-bench-XXXXXX";
    const std::string tmp = ::mkdtemp(pattern);
    const std::string hub_dir = tmp + "/hub";
    fs::create_directory(hub_dir);
    PgCluster pg(o.postgres_bin, hub_dir, PgCluster::server_account(tmp), "bench");
    std::printf("chain bench: %d stores x %d tills, %.0f s per arm, %d rounds; hub at %s\n", o.stores, o.tills, o.seconds, o.rounds,
                hub_dir.c_str());
    std::vector<double> chain_rps, alone_rps, ratio, hub_eps, lag50, lag99, bytes, wal, rows, cpu;
    std::int64_t errors = 0, acknowledged = 0;
    // One chain, one identity secret: every round's stores join the same hub.
    std::random_device rd;
    std::string secret(32, '\0');
    for (auto& ch : secret) ch = static_cast<char>(rd() & 0xff);
    for (int r = 0; r < o.rounds; ++r) {
      const ChainFigures f = run_round(o, tmp, pg, r, acknowledged, secret);
      const LatencySummary lag = summarize_ns(f.lag_ns);
      std::printf("round %d: records/s chain %.0f, alone %.0f (%.2fx); hub took %.0f events/s; lag p50 %.1f ms, p99 %.1f ms "
                  "(%zu sampled); hub %.0f bytes, %.0f WAL bytes and %.0f us of CPU per event; errors %lld\n",
                  r + 1, f.chain.records_per_s, f.alone.records_per_s, f.chain.records_per_s / f.alone.records_per_s,
                  f.hub_events_per_s, lag.p50 / 1000, lag.p99 / 1000, lag.n, f.hub_bytes_per_event, f.hub_wal_bytes_per_event,
                  f.hub_cpu_us_per_event,
                  static_cast<long long>(f.chain.errors + f.alone.errors));
      chain_rps.push_back(f.chain.records_per_s), alone_rps.push_back(f.alone.records_per_s);
      ratio.push_back(100.0 * f.chain.records_per_s / f.alone.records_per_s), hub_eps.push_back(f.hub_events_per_s);
      lag50.push_back(lag.p50 / 1000), lag99.push_back(lag.p99 / 1000), bytes.push_back(f.hub_bytes_per_event);
      wal.push_back(f.hub_wal_bytes_per_event), rows.push_back(f.hub_rows_per_event), cpu.push_back(f.hub_cpu_us_per_event);
      errors += f.chain.errors + f.alone.errors;
    }
    pg.stop();
    fs::remove_all(tmp);
    std::printf("min/median/max: records_per_s_chain=%s records_per_s_alone=%s chain_vs_alone_pct=%s hub_events_per_s=%s "
                "lag_p50_ms=%s lag_p99_ms=%s hub_rows_per_event=%s hub_bytes_per_event=%s hub_wal_bytes_per_event=%s "
                "hub_cpu_us_per_event=%s errors=%lld\n",
                min_med_max(chain_rps).c_str(), min_med_max(alone_rps).c_str(), min_med_max(ratio).c_str(), min_med_max(hub_eps).c_str(),
                min_med_max(lag50).c_str(), min_med_max(lag99).c_str(), min_med_max(rows, 3).c_str(), min_med_max(bytes).c_str(),
                min_med_max(wal).c_str(), min_med_max(cpu).c_str(),
                static_cast<long long>(errors));
    return errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chain bench: error: %s\n", e.what());
    return 2;
  }
}
