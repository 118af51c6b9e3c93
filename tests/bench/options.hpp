// The command line of regulars-bench; the defaults are the acceptance run's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace regulars::bench {

struct Options {
  std::uint32_t customers = 100'000;
  std::int64_t lines = 2'000'000;
  std::size_t hints = 20'000;
  std::size_t records = 40'000;
  unsigned clients = 8;                          // the first of records_clients once parsed
  std::vector<unsigned> records_clients{8, 32};  // each a records run of its own, in this order
  unsigned rounds = 3;                           // blocks per comparison with a reference
  std::uint64_t seed = 1;
  std::size_t chunk = 5000;
  int budget_ms = 1000;
  int wait_spin_us = 1000;  // the hints clients' wait_spin_us option
  bool keep = false;
  bool breakdown = false;
  int gesture_rules = 50;
  double gesture_rate = 400;
  double gesture_sales_rate = 50;
  std::size_t gesture_hints = 8000;
  std::uint32_t history_visits = 1000;  // the long histories of "hints by history length" (0 skips it)
  std::vector<std::string> daemon_args;
  std::string data_dir;                                     // empty: a fresh one in the temporary directory
  std::string regularsd;                                    // empty: the one built with this benchmark
  std::string tls_dir;                                      // empty: no TLS phase
  std::string redis_server = "/usr/bin/redis-server";       // empty: no Redis arm
  std::string postgres_bin = "/usr/lib/postgresql/15/bin";  // empty: no PostgreSQL arm
};

}  // namespace regulars::bench
