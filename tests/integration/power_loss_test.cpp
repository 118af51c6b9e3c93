// Power loss: tills record against a real regularsd, both under the disk shim (disk_shim.c);
// at a random moment the daemon and the tills are killed with SIGKILL, and every write that no
// fsync/fdatasync covered is undone, in the daemon's folder and in the tills' spool, as a power
// cut may leave them. After a restart, every event a till was told REGULARS_OK about is in the
// store exactly once, once the spool has been replayed through a new client.
//
// Every other round the spool is left for the next round's tills to replay, so that a cut can
// also catch a replay under way.
// REGULARS_POWER_LOSS_ROUNDS sets the number of rounds (5 by default, the CI form);
// REGULARS_POWER_LOSS_SEED replays the random choices of an earlier run (it is printed).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <unordered_set>

#include "fixture.hpp"
#include "power_cut.hpp"

namespace regulars::test {
namespace {

namespace fs = std::filesystem;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::stoi(v) : fallback;
}

// Whole lines of the acknowledgement file (a kill may tear the last one).
std::vector<std::string> acknowledged_ids(const std::string& path) {
  std::ifstream in(path);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  std::vector<std::string> ids;
  for (std::size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1)
    ids.push_back(text.substr(at, nl - at));
  return ids;
}

std::unordered_multiset<std::string> stored_ids(const std::string& db_path) {
  sqlite3* db = nullptr;
  std::unordered_multiset<std::string> out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT event_id FROM events WHERE event_id LIKE 'pl-%'", -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) out.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// The replaying client deletes spool files meanwhile: a file listed and gone before its size is
// read is as empty as one never there.
bool spool_empty(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".rsp") continue;
    const auto size = fs::file_size(e.path(), ec);
    if (!ec && size > 0) return false;
  }
  return true;
}

class PowerLoss : public DaemonTest {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(dir_.sub("data"), std::vector<std::string>{});
    start_daemon();
  }
  // Each start of the daemon logs to a fresh undo folder: a power cut undoes what that
  // process did since its files' last flushes.
  void start_daemon() {
    daemon_undo_ = dir_.sub("undo-daemon-" + std::to_string(++starts_));
    daemon_->set_env(disk_shim_env({daemon_->data_dir()}, daemon_undo_));
    daemon_->start();
  }
  pid_t start_till(int round, const std::string& undo) {
    const std::vector<std::string> env_strings = disk_shim_env({dir_.sub("spool")}, undo);
    std::vector<std::string> args = {POWER_LOSS_TILL_PATH, daemon_->endpoint(), dir_.sub("spool"), acks_path(round),
                                     std::to_string(round), "4"};
    std::vector<std::string> env = env_strings;
    for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    for (auto& v : env) envp.push_back(v.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    return pid;
  }
  std::string acks_path(int round) const { return dir_.sub("acks-" + std::to_string(round)); }
  std::string daemon_undo_;
  int starts_ = 0;
};

TEST_F(PowerLoss, EveryAcknowledgedEventSurvivesACutAfterItsFlush) {
  const int rounds = env_int("REGULARS_POWER_LOSS_ROUNDS", 5);
  const unsigned seed = static_cast<unsigned>(env_int("REGULARS_POWER_LOSS_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
  std::mt19937 rng(seed);
  std::printf("power loss: %d rounds, REGULARS_POWER_LOSS_SEED=%u\n", rounds, seed);
  fs::create_directories(dir_.sub("spool"));
  std::vector<std::string> all_acked;
  PowerCut total;
  long long from_spool = 0, lost = 0, doubled = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string till_undo = dir_.sub("undo-till-" + std::to_string(round));
    const pid_t till = start_till(round, till_undo);
    ASSERT_GT(till, 0);
    // Until the tills have been told OK at least once, then a random moment.
    const auto started = Clock::now();
    while (acknowledged_ids(acks_path(round)).empty() && Clock::now() - started < std::chrono::seconds(10))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 800)(rng)));
    // Either the daemon dies first and the tills spool a while, or both go at once.
    if (rng() % 2 == 0) {
      daemon_->kill9();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)));
      ::kill(till, SIGKILL);
    } else {
      ::kill(till, SIGKILL);
      daemon_->kill9();
    }
    int status = 0;
    ASSERT_EQ(::waitpid(till, &status, 0), till);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the till process ended by itself, status " << status;

    for (const auto& [undo, watched] : {std::pair{daemon_undo_, daemon_->data_dir()}, std::pair{till_undo, dir_.sub("spool")}}) {
      const PowerCut cut = cut_power(undo, {watched});
      total.writes_undone += cut.writes_undone;
      total.bytes_restored += cut.bytes_restored;
      total.names_undone += cut.names_undone;
    }
    const std::vector<std::string> acked = acknowledged_ids(acks_path(round));
    all_acked.insert(all_acked.end(), acked.begin(), acked.end());

    start_daemon();
    {
      const auto stored = stored_ids(daemon_->db_path());
      for (const auto& id : acked) from_spool += stored.count(id) == 0;
    }
    // Every other round, the next round's tills replay this one's spool (under the shim, so a
    // cut may catch the replay, its deletions included) and the count waits a round.
    if (round % 2 == 0 && round != rounds - 1) continue;
    // A new client on the spool folder replays what the dead tills left there.
    regulars_client* replayer = open_client(2000);
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    long long missing = 0;
    for (;;) {
      const bool drained = spool_empty(dir_.sub("spool"));
      const auto stored = stored_ids(daemon_->db_path());
      missing = 0;
      for (const auto& id : all_acked) missing += stored.count(id) == 0;
      if ((drained && missing == 0) || Clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    close_client(replayer);
    const auto stored = stored_ids(daemon_->db_path());
    long long twice = 0;
    for (const auto& id : all_acked) twice += stored.count(id) > 1;
    lost += missing;
    doubled += twice;
    StoreFile db(daemon_->db_path());
    EXPECT_EQ(db.scalar("PRAGMA integrity_check"), "ok") << "round " << round;
    EXPECT_EQ(missing, 0) << "round " << round << ": acknowledged events lost after the power cut";
    EXPECT_EQ(twice, 0) << "round " << round << ": acknowledged events stored twice";
    if (missing != 0 || twice != 0) break;
  }
  std::printf("power loss: %d rounds, %zu events acknowledged, %lld of them still in a spool after the cut, %lld lost, "
              "%lld stored twice; the cuts undid %lld writes (%lld bytes) and %lld name changes\n",
              rounds, all_acked.size(), from_spool, lost, doubled, total.writes_undone, total.bytes_restored,
              total.names_undone);
  EXPECT_GT(all_acked.size(), 0u);
  EXPECT_GT(total.writes_undone, 0) << "the cuts undid nothing: is the shim preloaded?";
}

}  // namespace
}  // namespace regulars::test
