#include "postgres_reference.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <latch>
#include <stdexcept>
#include <thread>

namespace regulars::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSuperuser = "bench";
constexpr const char* kInsertStatement = "insert_event";

std::runtime_error pg_error(const std::string& what) { return std::runtime_error("postgres: " + what); }

// libpq's last message on `conn`, without the newline it ends with.
std::string last_message(const PGconn* conn) {
  std::string m = PQerrorMessage(conn);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

std::shared_ptr<PGconn> open_connection(const std::string& socket_dir) {
  const char* keys[] = {"host", "dbname", "user", "application_name", nullptr};
  const char* values[] = {socket_dir.c_str(), "postgres", kSuperuser, "regulars-bench", nullptr};
  std::shared_ptr<PGconn> conn(PQconnectdbParams(keys, values, 0), PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    throw pg_error(std::string("connect: ") + (conn ? last_message(conn.get()) : std::string("out of memory")));
  return conn;
}

}  // namespace

PostgresReference::PostgresReference(const std::string& bin_dir, const std::string& dir,
                                     const std::optional<tools::Account>& account)
    : socket_dir_(dir), cluster_(std::make_unique<tools::PgCluster>(bin_dir, dir, account, kSuperuser)) {
  cluster_->exec("CREATE TABLE events (event_id text PRIMARY KEY, body jsonb NOT NULL)");
}

PostgresReference::~PostgresReference() = default;

std::shared_ptr<PGconn> PostgresReference::connect() const {
  auto conn = open_connection(socket_dir_);
  std::unique_ptr<PGresult, decltype(&PQclear)> res(
      PQprepare(conn.get(), kInsertStatement, "INSERT INTO events (event_id, body) VALUES ($1, $2::jsonb)", 2, nullptr),
      PQclear);
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) throw pg_error("prepare: " + last_message(conn.get()));
  return conn;
}

std::string PostgresReference::durability() const {
  const auto conn = open_connection(socket_dir_);
  std::string out;
  for (const char* name : {"fsync", "synchronous_commit", "wal_sync_method", "full_page_writes"}) {
    const std::string sql = std::string("SELECT current_setting('") + name + "')";
    std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), PQclear);
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) != 1)
      throw pg_error(sql + ": " + last_message(conn.get()));
    out += (out.empty() ? "" : " ") + std::string(name) + "=" + PQgetvalue(res.get(), 0, 0);
  }
  return out;
}

std::string PostgresReference::stop() { return cluster_->stop(); }

PostgresClients::PostgresClients(const PostgresReference& pg, unsigned clients) {
  for (unsigned i = 0; i < clients; ++i) conns_.push_back(pg.connect());
}

InsertRun PostgresClients::insert(const std::vector<EventRow>& rows) {
  const std::size_t clients = conns_.size();
  std::atomic<std::size_t> next{0};
  std::vector<std::vector<std::int64_t>> lat(clients);
  std::vector<std::map<std::string, std::int64_t>> errs(clients);
  std::latch ready(static_cast<std::ptrdiff_t>(clients) + 1), go(1);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      PGconn* conn = conns_[t].get();
      lat[t].reserve(rows.size() / clients + 1);
      ready.count_down();
      go.wait();
      for (std::size_t i = next.fetch_add(1); i < rows.size(); i = next.fetch_add(1)) {
        const char* params[] = {rows[i].event_id.c_str(), rows[i].body.c_str()};
        const auto t0 = Clock::now();
        PGresult* res = PQexecPrepared(conn, kInsertStatement, 2, params, nullptr, nullptr, 0);
        const auto t1 = Clock::now();
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
          lat[t].push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        else ++errs[t][last_message(conn)];
        PQclear(res);
      }
    });
  }
  ready.arrive_and_wait();
  const auto t0 = Clock::now();
  go.count_down();
  for (auto& th : threads) th.join();
  InsertRun run;
  run.secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (std::size_t t = 0; t < clients; ++t) {
    run.ns.insert(run.ns.end(), lat[t].begin(), lat[t].end());
    for (const auto& [k, n] : errs[t]) {
      run.errors[k] += n;
      run.n_err += n;
    }
  }
  return run;
}

}  // namespace regulars::bench
