// The PostgreSQL arm of regulars-bench: a private cluster (initdb in a directory of its own, the
// server listening only on a Unix socket there, fsync and synchronous_commit on) with one table
// of events, and clients that each keep one INSERT in flight, as a team would store a till's
// events in PostgreSQL.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "pg_cluster.hpp"

namespace regulars::bench {

// One event as a row: its id is the primary key, its JSON goes into a jsonb column.
struct EventRow {
  std::string event_id;
  std::string body;
};

// A series of INSERTs across several connections.
struct InsertRun {
  std::vector<std::int64_t> ns;                // the latency of every committed INSERT, all clients
  std::map<std::string, std::int64_t> errors;  // PostgreSQL's message -> INSERTs
  std::int64_t n_err = 0;
  double secs = 0;
};

class PostgresReference {
 public:
  // initdb in dir/cluster, then the server on a socket in `dir` (private, made by the caller).
  // Run as root, both run as `account` (PostgreSQL refuses root), which then owns `dir`. Throws
  // with the failing program's log.
  PostgresReference(const std::string& bin_dir, const std::string& dir, const std::optional<tools::Account>& account);
  ~PostgresReference();

  // A new connection with the INSERT prepared; throws with libpq's message.
  std::shared_ptr<PGconn> connect() const;

  // The server's durability settings as it reports them: "fsync=on synchronous_commit=on ...".
  std::string durability() const;

  // SIGINT (a fast shutdown), then wait; a description of how it ended.
  std::string stop();

 private:
  std::string socket_dir_;
  std::unique_ptr<tools::PgCluster> cluster_;
};

// Connections that each keep one INSERT in flight, as each till has one record in flight.
class PostgresClients {
 public:
  PostgresClients(const PostgresReference& pg, unsigned clients);

  // Every client INSERTs rows from `rows` (autocommit: one transaction each) until none is
  // left; they all start at once.
  InsertRun insert(const std::vector<EventRow>& rows);

 private:
  std::vector<std::shared_ptr<PGconn>> conns_;
};

}  // namespace regulars::bench
