#include "pg_cluster.hpp"

#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>

namespace regulars::tools {

namespace {

std::runtime_error pg_error(const std::string& what) { return std::runtime_error("postgres: " + what); }

std::string trimmed(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

PgCluster::PgCluster(std::string bin_dir, std::string dir, std::optional<Account> account, std::string superuser,
                     std::vector<std::string> settings)
    : bin_dir_(std::move(bin_dir)), dir_(std::move(dir)), account_(std::move(account)), superuser_(std::move(superuser)),
      settings_(std::move(settings)) {
  if (account_ && ::chown(dir_.c_str(), account_->uid, account_->gid) != 0)
    throw pg_error("chown " + dir_ + " to " + account_->name + ": " + std::strerror(errno));
  // --no-sync: the template files need not reach the disk before the run; the server itself
  // runs with fsync on. No locale: the C collation, as the daemon compares bytes.
  ChildProcess initdb({bin_dir_ + "/initdb", "--pgdata=" + dir_ + "/cluster", "--username=" + superuser_, "--auth=trust",
                       "--encoding=UTF8", "--no-locale", "--no-sync"},
                      dir_ + "/initdb.log", account_);
  const std::optional<int> status = initdb.wait_exit(std::chrono::seconds(120));
  if (!status || *status != 0)
    throw pg_error("initdb " + (status ? describe_wait_status(*status) : std::string("took over 120 s")) + "; its log:\n" +
                   initdb.log_tail());
  start();
}

PgCluster::~PgCluster() {
  if (server_) stop();
}

void PgCluster::start() {
  if (server_) return;
  // Durability as shipped, said out loud so a changed default cannot flatter a comparison.
  std::vector<std::string> argv{bin_dir_ + "/postgres", "-D", dir_ + "/cluster", "-c", "listen_addresses=", "-c",
                                "unix_socket_directories=" + dir_, "-c", "fsync=on", "-c",
                                "synchronous_commit=on", "-c", "full_page_writes=on"};
  for (const auto& setting : settings_) argv.insert(argv.end(), {"-c", setting});
  server_.emplace(argv, dir_ + "/postgres.log", account_);
  const std::string info = conninfo();
  const auto t0 = std::chrono::steady_clock::now();
  while (PQping(info.c_str()) != PQPING_OK) {
    if (const auto exited = server_->exited()) {
      const std::string log = server_->log_tail();
      server_.reset();
      throw pg_error("postgres exited (" + describe_wait_status(*exited) + "); its log:\n" + log);
    }
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(60))
      throw pg_error("postgres did not answer on " + dir_ + " within 60 s; its log:\n" + server_->log_tail());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string PgCluster::stop() {
  if (!server_) return "not running";
  std::string how = server_->stop(SIGINT, std::chrono::seconds(30));
  server_.reset();
  return how;
}

std::string PgCluster::conninfo(const std::string& dbname) const {
  // The socket's name carries the port: a cluster given one of its own is found under it.
  std::string port;
  for (const auto& setting : settings_)
    if (setting.rfind("port=", 0) == 0) port = " " + setting;
  return "host=" + dir_ + port + " dbname=" + dbname + " user=" + superuser_;
}

void PgCluster::exec(const std::string& sql, const std::string& dbname) const { scalar(sql, dbname); }

std::string PgCluster::scalar(const std::string& sql, const std::string& dbname) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo(dbname).c_str()), PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    throw pg_error("connect: " + (conn ? trimmed(PQerrorMessage(conn.get())) : std::string("out of memory")));
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), PQclear);
  const ExecStatusType status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw pg_error(sql + ": " + trimmed(PQerrorMessage(conn.get())));
  if (status != PGRES_TUPLES_OK || PQntuples(res.get()) == 0 || PQgetisnull(res.get(), 0, 0)) return "";
  return PQgetvalue(res.get(), 0, 0);
}

std::optional<Account> PgCluster::server_account(const std::string& parent) {
  if (::geteuid() != 0) return std::nullopt;
  auto account = find_account({"postgres", "nobody"});
  if (!account) throw pg_error("running as root, and no account 'postgres' or 'nobody' to run PostgreSQL as");
  if (::chmod(parent.c_str(), 0711) != 0) throw pg_error("chmod " + parent + ": " + std::strerror(errno));
  return account;
}

std::string PgCluster::find_bin_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string best;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(entry.path() / "bin" / "initdb", ec) && entry.path().string() > best) best = entry.path().string();
  return best.empty() ? "" : best + "/bin";
}

}  // namespace regulars::tools
