// Phase 4: durable record throughput with several clients, each with its own regulars_client
// and spool, and where the daemon's write path spent the run.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <latch>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "console.hpp"
#include "machine.hpp"
#include "phases.hpp"
#include "plugin_calls.hpp"

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

std::string spool_dir(const Bench& b, unsigned client) { return b.tmp + "/spool-" + std::to_string(client); }

// Bytes of spooled records in a spool directory (its key files are not records).
std::int64_t spooled_bytes(const std::string& dir) {
  std::int64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().extension() == ".rsp") total += static_cast<std::int64_t>(e.file_size(ec));
  return total;
}

// One run across the clients, with the daemon's status and both processes' samples around it.
struct RecordsRun {
  std::vector<std::int64_t> ns;                // the latency of every OK, all clients
  std::map<std::string, std::int64_t> errors;  // "STATUS: detail" -> records
  std::int64_t n_err = 0;
  double secs = 0;
  std::string load0;  // the load average before the run
  ProcSample daemon0, daemon1, self0, self1;
  std::optional<json> before, after;  // the daemon's status
  std::int64_t spool_bytes = 0;       // left in the clients' spools after the run
};

// Every client records events from the shared list until none is left; they all start at once.
RecordsRun time_records(const Bench& b, const std::vector<regulars_client*>& cs, const std::vector<std::string>& events) {
  const unsigned clients = b.opt.clients;
  const std::size_t records = b.opt.records;
  RecordsRun run;
  run.before = daemon_status(b.daemon.socket(), "regulars-bench");
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
  run.load0 = loadavg();
  run.daemon0 = proc_sample(b.daemon.pid());
  run.self0 = proc_sample(::getpid());
  const auto t0 = Clock::now();
  go.count_down();
  for (auto& th : threads) th.join();
  run.secs = seconds_since(t0);
  run.daemon1 = proc_sample(b.daemon.pid());
  run.self1 = proc_sample(::getpid());
  run.after = daemon_status(b.daemon.socket(), "regulars-bench");
  for (unsigned i = 0; i < clients; ++i) run.spool_bytes += spooled_bytes(spool_dir(b, i));
  for (unsigned t = 0; t < clients; ++t) {
    run.ns.insert(run.ns.end(), lat[t].begin(), lat[t].end());
    for (const auto& [k, n] : errs[t]) run.errors[k] += n;
  }
  for (const auto& [k, n] : run.errors) run.n_err += n;
  return run;
}

// Where the daemon's write path spent the run: a writer busy most of the wall time is the limit;
// otherwise the clients are waiting on the flush or on the round trip.
void print_pipeline(const json& before, const json& after, double secs) {
  const auto pf = [&](const char* k) { return status_field(after["pipeline"], k) - status_field(before["pipeline"], k); };
  const double wall_us = secs * 1e6;
  const std::int64_t syncs = pf("syncs");
  out("  pipeline: writer busy %.0f%% of the run (%.1f us per event), fdatasync x%lld mean %.1f us (max since start "
      "%lld us, %.1f events each), checkpoints x%lld mean %.1f ms\n",
      100.0 * static_cast<double>(pf("writer_busy_us")) / wall_us,
      static_cast<double>(pf("writer_busy_us")) / std::max(1.0, static_cast<double>(pf("events"))),
      static_cast<long long>(syncs), syncs > 0 ? static_cast<double>(pf("sync_us")) / static_cast<double>(syncs) : 0.0,
      static_cast<long long>(status_field(after["pipeline"], "sync_max_us")),
      syncs > 0 ? static_cast<double>(pf("events")) / static_cast<double>(syncs) : 0.0,
      static_cast<long long>(pf("checkpoints")),
      pf("checkpoints") > 0 ? static_cast<double>(pf("checkpoint_us")) / 1e3 / static_cast<double>(pf("checkpoints")) : 0.0);
}

// Prints the run; false when a record failed or the daemon did not gain one event per OK.
bool print_records(const Options& opt, const RecordsRun& run, double records_per_s) {
  const LatencySummary rl = summarize_ns(run.ns);
  out("records (%u clients, each its own regulars_client and spool, budget_ms=%d): records=%zu ok=%zu errors=%lld "
      "elapsed_s=%.2f records_per_s=%.1f\n",
      opt.clients, opt.budget_ms, opt.records, run.ns.size(), static_cast<long long>(run.n_err), run.secs, records_per_s);
  print_errors(run.errors);
  out("  latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f\n", rl.p50, rl.p90, rl.p99, rl.p999,
      rl.max, rl.mean);
  const auto& before = run.before;
  const auto& after = run.after;
  const std::int64_t ev = status_field(after, "events") - status_field(before, "events");
  const std::int64_t commits = status_field(after, "commits") - status_field(before, "commits");
  if (before && after)
    out("  daemon: events +%lld, commits +%lld (%.1f events per commit); spool bytes left: %lld%s\n",
        static_cast<long long>(ev), static_cast<long long>(commits),
        commits > 0 ? static_cast<double>(ev) / static_cast<double>(commits) : 0.0,
        static_cast<long long>(run.spool_bytes),
        ev == static_cast<std::int64_t>(run.ns.size()) ? " (every OK was a daemon commit)"
                                                       : " (some OKs came from the spool, not a daemon commit)");
  else
    out("  daemon: status unavailable; spool bytes left: %lld\n", static_cast<long long>(run.spool_bytes));
  const double nrec = static_cast<double>(std::max<std::size_t>(1, opt.records));
  out("  per record: regularsd cpu %.1f us, this process cpu %.1f us, regularsd wrote %.1f KiB (write_bytes %.1f "
      "KiB); machine loadavg %s -> %s\n",
      (run.daemon1.cpu_s - run.daemon0.cpu_s) * 1e6 / nrec, (run.self1.cpu_s - run.self0.cpu_s) * 1e6 / nrec,
      static_cast<double>(run.daemon1.wchar - run.daemon0.wchar) / 1024.0 / nrec,
      static_cast<double>(run.daemon1.write_bytes - run.daemon0.write_bytes) / 1024.0 / nrec, run.load0.c_str(),
      loadavg().c_str());
  if (before && after && before->contains("pipeline") && after->contains("pipeline"))
    print_pipeline(*before, *after, run.secs);
  return run.n_err == 0 && !(before && after && ev != static_cast<std::int64_t>(run.ns.size()));
}

}  // namespace

void records_phase(const Bench& b, Figures& fig) {
  const std::vector<std::string> events = record_events(b.opt, b.cat);
  std::vector<regulars_client*> cs;
  for (unsigned i = 0; i < b.opt.clients; ++i)
    cs.push_back(open_client({{"endpoint", b.endpoint},
                              {"budget_ms", b.opt.budget_ms},
                              {"spool_dir", spool_dir(b, i)},
                              {"terminal", "bench-" + std::to_string(i)}}));
  const RecordsRun run = time_records(b, cs, events);
  fig.records_per_s = static_cast<double>(run.ns.size()) / run.secs;
  if (!print_records(b.opt, run, fig.records_per_s)) fig.exit_code = 2;
  for (auto* c : cs) regulars_close(c);
}

}  // namespace regulars::bench
