// A private PostgreSQL cluster for tests and benchmarks: initdb in a directory of its own, the
// server on a Unix socket there (no TCP), fsync and synchronous_commit on. Run as root, it runs
// as `account` (PostgreSQL refuses root), which then owns the directory. It can be stopped and
// started again on the same files, as an outage of a real server would be.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace regulars::tools {

class PgCluster {
 public:
  // initdb in dir/cluster (the superuser `superuser`, trust authentication on the socket),
  // then start(). Throws with the failing program's log.
  // `settings` ("name=value") are passed to the server as -c options: a TCP port with TLS, say.
  PgCluster(std::string bin_dir, std::string dir, std::optional<Account> account, std::string superuser,
            std::vector<std::string> settings = {});
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Starts the server and waits (up to 60 s) until it answers.
  void start();
  // SIGINT (a fast shutdown), then wait; a description of how it ended.
  std::string stop();
  bool running() const { return server_.has_value(); }

  const std::string& socket_dir() const noexcept { return dir_; }
  const std::string& superuser() const noexcept { return superuser_; }
  // A libpq connection string for `dbname` on the socket, as the superuser.
  std::string conninfo(const std::string& dbname = "postgres") const;
  // Runs SQL as the superuser (psql-like, for setting up roles and databases); throws on failure.
  void exec(const std::string& sql, const std::string& dbname = "postgres") const;
  // The first column of the first row of a query, "" for none or NULL; throws on failure.
  std::string scalar(const std::string& sql, const std::string& dbname = "postgres") const;

  // Run as root, PostgreSQL runs as an account of its own (it refuses root): Debian's `postgres`,
  // else `nobody`. That account must reach its directory inside `parent`, so `parent` becomes
  // traversable (0711: not listable). Not root: nullopt, the server runs as the caller.
  static std::optional<Account> server_account(const std::string& parent);
  // The directory of Debian's PostgreSQL programs (initdb, postgres), or "" when not installed.
  static std::string find_bin_dir();

 private:
  std::string bin_dir_, dir_;
  std::optional<Account> account_;
  std::string superuser_;
  std::vector<std::string> settings_;
  std::optional<ChildProcess> server_;
};

}  // namespace regulars::tools
