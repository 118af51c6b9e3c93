// The measured phases of regulars-bench, in the order main runs them. Each prints its own lines
// on stdout; a phase that saw failed calls sets Figures::exit_code to 2, and a phase that cannot
// run at all throws.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon_child.hpp"
#include "latency.hpp"
#include "options.hpp"
#include "postgres_reference.hpp"
#include "redis_reference.hpp"
#include "shop.hpp"

namespace regulars::bench {

// What the last line of stdout reports, and the exit status; filled as the phases go, so an
// error part-way still reports what was measured before it.
struct Figures {
  tools::LatencySummary hints;                     // the single-client hints run
  double records_per_s = 0;                        // the run with the first of --records-clients
  std::optional<tools::LatencySummary> redis_get;  // the Redis arm beside the hints run, when it ran
  std::optional<double> history_p50_ratio;         // hints p50, --history-visits visits against one visit
  struct Records {
    unsigned clients = 0;
    double regulars_per_s = 0;
    std::optional<double> postgres_per_s;  // the PostgreSQL arm beside it, when it ran
  };
  std::vector<Records> records;  // one per --records-clients
  int exit_code = 0;
};

// What the phases through the plugin share: the flags, the shop and the running daemon.
struct Bench {
  const Options& opt;
  const Catalogue& cat;
  tools::DaemonChild& daemon;
  std::string endpoint;  // "unix:" + the daemon's socket
  std::string data_dir;
  std::string tmp;                        // the run's temporary directory (spools, TLS config, daemon log)
  RedisReference* redis = nullptr;        // the reference for hints; none when not installed
  PostgresReference* postgres = nullptr;  // the reference for records; none when not installed
};

// 3. Hints latency with one client, overall (into Figures::hints) in --rounds blocks beside
// Redis GETs (into Figures::redis_get), then short against long histories.
void hints_phase(const Bench& b, const Plan& plan, Figures& fig);

// 3a. Hints over TLS with a lane token against the Unix socket, alternating per call
// (--tls DIR only).
void tls_phase(const Bench& b, Figures& fig);

// 3b. Hints with --gesture-rules active rules against none, while another lane records sales.
void gestures_phase(const Bench& b, Figures& fig);

// 4. Durable records with each of --records-clients concurrent clients (into Figures::records),
// in --rounds blocks beside PostgreSQL INSERTs from as many connections.
void records_phase(const Bench& b, Figures& fig);

// 7. Rule evaluation alone: the daemon's HintEngine in this process on the same store, once the
// daemon has stopped, with and without the gesture engine, call by call.
void rule_evaluation_phase(const Options& opt, const Catalogue& cat, const std::string& data_dir);

// --breakdown: the same work without the plugin and the socket, and an fdatasync probe, to show
// where the time goes. Also runs on the stopped daemon's store.
void breakdown_phase(const Options& opt, const Catalogue& cat, const std::string& data_dir);

}  // namespace regulars::bench
