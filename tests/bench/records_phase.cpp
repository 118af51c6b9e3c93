// Phase 4: durable record throughput with several clients, each with its own regulars_client
// and spool, and where the daemon's write path spent the run; beside it, the same events as
// PostgreSQL INSERTs from as many connections.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <filesystem>
#include <latch>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "console.hpp"
#include "interleave.hpp"
#include "machine.hpp"
#include "phases.hpp"
#include "plugin_calls.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"

namespace regulars::bench {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace regulars::tools;

namespace {

// Purchases of random customers from their profiles. No event_id and no time: the plugin makes
// them, as it does for a till.
std::vector<std::string> record_events(const Options& opt, const Catalogue& cat) {
  Rng rng(mix(opt.seed, 0x2EC0));
  std::vector<std::string> events;
  events.reserve(opt.records);
  for (std::size_t i = 0; i < opt.records; ++i) {
    const auto who = static_cast<std::uint32_t>(rng.below(opt.customers));
    const Profile profile = profile_of(cat, opt.seed, who);
    events.push_back(json{{"type", "purchase"},
                          {"customer", customer_json(who)},
                          {"lines", basket_lines(cat, profile, rng, static_cast<int>(rng.between(2, 10)))}}
                         .dump());
  }
  return events;
}

// The completed event as the plugin sends it, as a PostgreSQL row: the id, time and terminal the
// plugin adds to an event that lacks them (plugin/client.cpp).
EventRow as_row(const std::string& event) {
  json e = json::parse(event);
  e["event_id"] = wire::time_ordered_id("ev-", 8);
  e["time"] = wire::format_time_ms(wire::now_ms());
  e["terminal"] = "bench-pg";
  return {e["event_id"].get<std::string>(), e.dump()};
}

std::string spool_dir(const Bench& b, unsigned clients, unsigned client) {
  return b.tmp + "/spool-" + std::to_string(clients) + "-" + std::to_string(client);
}

// Bytes of spooled records in a spool directory (its key files are not records).
std::int64_t spooled_bytes(const std::string& dir) {
  std::int64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().extension() == ".rsp") total += static_cast<std::int64_t>(e.file_size(ec));
  return total;
}

// One block of a run across the clients, with the daemon's status and both processes' samples
// around it.
struct RecordsBlock {
  std::vector<std::int64_t> ns;                // the latency of every OK, all clients
  std::map<std::string, std::int64_t> errors;  // "STATUS: detail" -> records
  double secs = 0;
  ProcSample daemon0, daemon1, self0, self1;
  std::optional<json> before, after;  // the daemon's status
};

// Every client records events [begin, end) of the shared list until none is left; they all
// start at once.
RecordsBlock time_records(const Bench& b, const std::vector<regulars_client*>& cs, const std::vector<std::string>& events,
                          std::size_t begin, std::size_t end) {
  const std::size_t clients = cs.size();
  RecordsBlock run;
  run.before = daemon_status(b.daemon.socket(), "regulars-bench");
  std::atomic<std::size_t> next{begin};
  std::vector<std::vector<std::int64_t>> lat(clients);
  std::vector<std::map<std::string, std::int64_t>> errs(clients);
  std::latch ready(static_cast<std::ptrdiff_t>(clients) + 1), go(1);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      lat[t].reserve((end - begin) / clients + 1);
      ready.count_down();
      go.wait();
      for (std::size_t i = next.fetch_add(1); i < end; i = next.fetch_add(1)) {
        const auto t0 = Clock::now();
        const regulars_status s = regulars_record(cs[t], events[i].c_str());
        const auto t1 = Clock::now();
        if (s == REGULARS_OK) lat[t].push_back(elapsed_ns(t0, t1));
        else ++errs[t][std::string(regulars_strerror(s)) + ": " + regulars_last_error()];
      }
    });
  }
  ready.arrive_and_wait();
  run.daemon0 = proc_sample(b.daemon.pid());
  run.self0 = proc_sample(::getpid());
  const auto t0 = Clock::now();
  go.count_down();
  for (auto& th : threads) th.join();
  run.secs = seconds_since(t0);
  run.daemon1 = proc_sample(b.daemon.pid());
  run.self1 = proc_sample(::getpid());
  run.after = daemon_status(b.daemon.socket(), "regulars-bench");
  for (std::size_t t = 0; t < clients; ++t) {
    run.ns.insert(run.ns.end(), lat[t].begin(), lat[t].end());
    for (const auto& [k, n] : errs[t]) run.errors[k] += n;
  }
  return run;
}

// The counters of the daemon's write path that print_pipeline reads.
constexpr const char* kPipelineCounters[] = {"syncs", "sync_us", "writer_busy_us", "events", "checkpoints", "checkpoint_us"};

// What the blocks of one client count add up to: the daemon's and the processes' counters as
// growth over our blocks alone, so the reference's blocks in between count for nothing.
struct RecordsRun {
  unsigned clients = 0;
  std::vector<std::int64_t> ns;
  std::map<std::string, std::int64_t> errors;
  std::int64_t n_err = 0;
  double secs = 0;
  std::string load0;  // the load average before the run
  double daemon_cpu_s = 0, self_cpu_s = 0;
  std::int64_t daemon_wchar = 0, daemon_write_bytes = 0;
  bool have_status = true;  // the daemon answered "status" around every block
  std::int64_t events = 0, commits = 0;
  bool have_pipeline = true;
  std::map<std::string, std::int64_t> pipeline;  // kPipelineCounters' growth
  std::int64_t sync_max_us = 0;                  // the daemon's longest fdatasync since it started
  std::int64_t spool_bytes = 0;                  // left in the clients' spools after the run
  std::vector<double> block_per_s;               // per block, to show how steady the machine was

  void add(const RecordsBlock& block) {
    ns.insert(ns.end(), block.ns.begin(), block.ns.end());
    for (const auto& [k, n] : block.errors) {
      errors[k] += n;
      n_err += n;
    }
    secs += block.secs;
    block_per_s.push_back(static_cast<double>(block.ns.size()) / block.secs);
    daemon_cpu_s += block.daemon1.cpu_s - block.daemon0.cpu_s;
    self_cpu_s += block.self1.cpu_s - block.self0.cpu_s;
    daemon_wchar += block.daemon1.wchar - block.daemon0.wchar;
    daemon_write_bytes += block.daemon1.write_bytes - block.daemon0.write_bytes;
    have_status = have_status && block.before && block.after;
    if (!have_status) return;
    events += status_field(block.after, "events") - status_field(block.before, "events");
    commits += status_field(block.after, "commits") - status_field(block.before, "commits");
    have_pipeline = have_pipeline && block.before->contains("pipeline") && block.after->contains("pipeline");
    if (!have_pipeline) return;
    const json &p0 = (*block.before)["pipeline"], &p1 = (*block.after)["pipeline"];
    for (const char* k : kPipelineCounters) pipeline[k] += status_field(p1, k) - status_field(p0, k);
    sync_max_us = status_field(p1, "sync_max_us");
  }
};

// The PostgreSQL arm beside one client count: as many connections, the same events.
struct PostgresRun {
  InsertRun inserts;
  std::vector<double> block_per_s;
  bool failed = false;
};

// Where the daemon's write path spent the run: a writer busy most of the wall time is the limit;
// otherwise the clients are waiting on the flush or on the round trip.
void print_pipeline(const RecordsRun& run) {
  const auto pf = [&](const char* k) { return run.pipeline.at(k); };
  const double wall_us = run.secs * 1e6;
  const std::int64_t syncs = pf("syncs");
  out("  pipeline: writer busy %.0f%% of the run (%.1f us per event), fdatasync x%lld mean %.1f us (max since start "
      "%lld us, %.1f events each), checkpoints x%lld mean %.1f ms\n",
      100.0 * static_cast<double>(pf("writer_busy_us")) / wall_us,
      static_cast<double>(pf("writer_busy_us")) / std::max(1.0, static_cast<double>(pf("events"))),
      static_cast<long long>(syncs), syncs > 0 ? static_cast<double>(pf("sync_us")) / static_cast<double>(syncs) : 0.0,
      static_cast<long long>(run.sync_max_us),
      syncs > 0 ? static_cast<double>(pf("events")) / static_cast<double>(syncs) : 0.0,
      static_cast<long long>(pf("checkpoints")),
      pf("checkpoints") > 0 ? static_cast<double>(pf("checkpoint_us")) / 1e3 / static_cast<double>(pf("checkpoints")) : 0.0);
}

// Prints the run; false when a record failed or the daemon did not gain one event per OK.
bool print_records(const Options& opt, const RecordsRun& run, double records_per_s) {
  const LatencySummary rl = summarize_ns(run.ns);
  out("records (%u clients, each its own regulars_client and spool, budget_ms=%d): records=%zu ok=%zu errors=%lld "
      "elapsed_s=%.2f records_per_s=%.1f\n",
      run.clients, opt.budget_ms, opt.records, run.ns.size(), static_cast<long long>(run.n_err), run.secs, records_per_s);
  print_errors(run.errors);
  out("  latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f\n", rl.p50, rl.p90, rl.p99, rl.p999,
      rl.max, rl.mean);
  const bool every_ok_committed = run.events == static_cast<std::int64_t>(run.ns.size());
  if (run.have_status)
    out("  daemon: events +%lld, commits +%lld (%.1f events per commit); spool bytes left: %lld%s\n",
        static_cast<long long>(run.events), static_cast<long long>(run.commits),
        run.commits > 0 ? static_cast<double>(run.events) / static_cast<double>(run.commits) : 0.0,
        static_cast<long long>(run.spool_bytes),
        every_ok_committed ? " (every OK was a daemon commit)" : " (some OKs came from the spool, not a daemon commit)");
  else
    out("  daemon: status unavailable; spool bytes left: %lld\n", static_cast<long long>(run.spool_bytes));
  const double nrec = static_cast<double>(std::max<std::size_t>(1, opt.records));
  out("  per record: regularsd cpu %.1f us, this process cpu %.1f us, regularsd wrote %.1f KiB (write_bytes %.1f "
      "KiB); machine loadavg %s -> %s\n",
      run.daemon_cpu_s * 1e6 / nrec, run.self_cpu_s * 1e6 / nrec, static_cast<double>(run.daemon_wchar) / 1024.0 / nrec,
      static_cast<double>(run.daemon_write_bytes) / 1024.0 / nrec, run.load0.c_str(), loadavg().c_str());
  if (run.have_status && run.have_pipeline) print_pipeline(run);
  return run.n_err == 0 && !(run.have_status && !every_ok_committed);
}

// The PostgreSQL arm's figures beside ours, block by block; its rows per second, or nullopt when
// it failed.
std::optional<double> print_postgres(const Options& opt, const RecordsRun& ours, const PostgresRun& pg,
                                     double records_per_s) {
  if (pg.failed) return std::nullopt;
  const InsertRun& r = pg.inserts;
  const double per_s = static_cast<double>(r.ns.size()) / r.secs;
  const LatencySummary l = summarize_ns(r.ns);
  out("postgres reference (%u connections, libpq, one INSERT of the event's jsonb in flight each, autocommit, "
      "fsync and synchronous_commit on; in %u blocks taking turns with the records run): rows=%zu ok=%zu "
      "errors=%lld elapsed_s=%.2f inserts_per_s=%.1f (records/postgres x%.2f)\n",
      ours.clients, opt.rounds, opt.records, r.ns.size(), static_cast<long long>(r.n_err), r.secs, per_s,
      per_s > 0 ? records_per_s / per_s : 0.0);
  print_errors(r.errors);
  out("  latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f\n", l.p50, l.p90, l.p99, l.p999, l.max,
      l.mean);
  std::string blocks;
  for (std::size_t i = 0; i < ours.block_per_s.size() && i < pg.block_per_s.size(); ++i) {
    char buf[48];
    std::snprintf(buf, sizeof buf, " %.0f/%.0f", ours.block_per_s[i], pg.block_per_s[i]);
    blocks += buf;
  }
  out("  per_s by block, records/postgres:%s\n", blocks.c_str());
  if (r.n_err > 0) return std::nullopt;
  return per_s;
}

Block postgres_block(const Bench& b, unsigned clients, const std::vector<std::string>& events,
                     std::optional<PostgresClients>& conns, PostgresRun& pg) {
  if (b.postgres == nullptr) return {};
  return guard_reference("postgres", [&b, clients, &events, &conns, &pg](std::size_t begin, std::size_t end) {
    if (!conns) conns.emplace(*b.postgres, clients);
    std::vector<EventRow> rows;
    rows.reserve(end - begin);
    for (std::size_t i = begin; i < end; ++i) rows.push_back(as_row(events[i]));
    InsertRun block = conns->insert(rows);
    pg.block_per_s.push_back(static_cast<double>(block.ns.size()) / block.secs);
    pg.inserts.ns.insert(pg.inserts.ns.end(), block.ns.begin(), block.ns.end());
    for (const auto& [k, n] : block.errors) pg.inserts.errors[k] += n;
    pg.inserts.n_err += block.n_err;
    pg.inserts.secs += block.secs;
  }, pg.failed);
}

// The records run with `clients` clients, beside the PostgreSQL arm when there is one.
void records_run(const Bench& b, unsigned clients, const std::vector<std::string>& events, Figures& fig) {
  std::vector<regulars_client*> cs;
  for (unsigned i = 0; i < clients; ++i)
    cs.push_back(open_client({{"endpoint", b.endpoint},
                              {"budget_ms", b.opt.budget_ms},
                              {"spool_dir", spool_dir(b, clients, i)},
                              {"terminal", "bench-" + std::to_string(i)}}));
  RecordsRun run;
  run.clients = clients;
  run.load0 = loadavg();
  std::optional<PostgresClients> conns;
  PostgresRun pg;
  interleave(
      b.opt.rounds, events.size(),
      [&](std::size_t begin, std::size_t end) { run.add(time_records(b, cs, events, begin, end)); },
      postgres_block(b, clients, events, conns, pg));
  for (unsigned i = 0; i < clients; ++i) run.spool_bytes += spooled_bytes(spool_dir(b, clients, i));
  Figures::Records figures{clients, static_cast<double>(run.ns.size()) / run.secs, std::nullopt};
  if (!print_records(b.opt, run, figures.regulars_per_s)) fig.exit_code = 2;
  if (b.postgres != nullptr) {
    figures.postgres_per_s = print_postgres(b.opt, run, pg, figures.regulars_per_s);
    if (!figures.postgres_per_s) fig.exit_code = 2;
  }
  fig.records.push_back(figures);
  for (auto* c : cs) regulars_close(c);
}

}  // namespace

void records_phase(const Bench& b, Figures& fig) {
  const std::vector<std::string> events = record_events(b.opt, b.cat);
  for (const unsigned clients : b.opt.records_clients) records_run(b, clients, events, fig);
  fig.records_per_s = fig.records.empty() ? 0.0 : fig.records.front().regulars_per_s;
}

}  // namespace regulars::bench
