// Disk full: the daemon's data folder runs out of space (the disk shim fails every write there
// with ENOSPC while a switch file exists). Meanwhile no event is acknowledged and then lost:
// a till without a spool is refused, a till with one spools; hints keep answering. Once space
// is back, the same daemon process (no restart) stores again, and the spooled events arrive.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "fixture.hpp"
#include "power_cut.hpp"

namespace regulars::test {
namespace {

namespace fs = std::filesystem;

class DiskFull : public DaemonTest {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(dir_.sub("data"), std::vector<std::string>{});
    daemon_->set_env(disk_shim_env({daemon_->data_dir()}, "", full_flag()));
    daemon_->start();
  }
  std::string full_flag() const { return dir_.sub("disk-is-full"); }
  void fill_disk() { std::ofstream(full_flag()) << "full\n"; }
  void free_space() { fs::remove(full_flag()); }

  bool stored(const std::string& event_id) {
    StoreFile db(daemon_->db_path());
    return db.count("SELECT count(*) FROM events WHERE event_id='" + event_id + "'") == 1;
  }
  // Polls until `ok` holds, for up to `timeout`.
  template <typename F>
  static bool eventually(F ok, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    const auto deadline = Clock::now() + timeout;
    while (!ok()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  std::string no_spool_options() const {
    return json{{"endpoint", daemon_->endpoint()}, {"budget_ms", 2000}, {"terminal", "lane-2"}, {"store", "main"}}.dump();
  }
};

TEST_F(DiskFull, RecordsAreRefusedOrSpooledAndTheDaemonRecoversWhenSpaceReturns) {
  regulars_client* spooling = open_client(2000);
  regulars_client* direct = nullptr;
  ASSERT_EQ(plugin_.open(no_spool_options().c_str(), &direct), REGULARS_OK) << plugin_.last_error();
  clients_.push_back(direct);
  ASSERT_EQ(plugin_.record(direct, consent("5100").c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(direct, purchase("5100", {"tea"}, "df-before").c_str()), REGULARS_OK) << plugin_.last_error();
  const pid_t pid = daemon_->pid();

  fill_disk();
  // A till without a spool: the daemon cannot store, so the till must not hear OK.
  for (int i = 0; i < 5; ++i) {
    const regulars_status s = plugin_.record(direct, purchase("5100", {"tea"}, "df-refused-" + std::to_string(i)).c_str());
    EXPECT_NE(s, REGULARS_OK) << "acknowledged while the disk was full";
  }
  // A till with a spool: acknowledged only once the event is in its spool.
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "df-spooled-" + std::to_string(i);
    const regulars_status s = plugin_.record(spooling, purchase("5100", {"bread"}, id).c_str());
    EXPECT_TRUE(s == REGULARS_OK || s == REGULARS_UNAVAILABLE || s == REGULARS_TIMEOUT) << s << " " << plugin_.last_error();
    if (s == REGULARS_OK) acknowledged.push_back(id);
  }
  EXPECT_EQ(acknowledged.size(), 20u) << "the till with a spool should have spooled every event";
  // Hints still answer from what is stored.
  EXPECT_EQ(visits(direct, "5100"), 1) << "hints stopped answering while the disk was full";
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(stored("df-refused-" + std::to_string(i)));

  free_space();
  // The same process stores again by itself: a till without a spool is told OK within 10 s.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  regulars_status s = REGULARS_UNAVAILABLE;
  while (Clock::now() < deadline) {
    s = plugin_.record(direct, purchase("5100", {"tea"}, "df-after").c_str());
    if (s == REGULARS_OK) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(s, REGULARS_OK) << "regularsd did not store again after space came back: " << plugin_.last_error()
                            << "\nits log:\n" << daemon_->log().substr(0, 4000);
  EXPECT_EQ(daemon_->pid(), pid);
  EXPECT_TRUE(stored("df-after"));
  // The spooled events arrive, each once: the consent, "df-before", 20 spooled, "df-after".
  EXPECT_EQ(wait_for_visits(direct, "5100", 22), 22);
  for (const auto& id : acknowledged) EXPECT_TRUE(stored(id)) << id << " was acknowledged and is not stored";
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.scalar("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.count("SELECT count(*) FROM events WHERE event_id LIKE 'df-refused-%'"), 0);
}

// The disk fills while four tills record without pause, and stays full long enough for the
// checkpointer to fail too; then space returns. Every acknowledged event is stored exactly once.
TEST_F(DiskFull, TillsRecordingWhileTheDiskFillsAndEmptiesLoseNothing) {
  constexpr int kTills = 4;
  std::vector<regulars_client*> tills;
  for (int t = 0; t < kTills; ++t) tills.push_back(open_client(50));
  regulars_client* direct = nullptr;
  ASSERT_EQ(plugin_.open(no_spool_options().c_str(), &direct), REGULARS_OK) << plugin_.last_error();
  clients_.push_back(direct);
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> acked_while_full{0};
  std::atomic<bool> full{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kTills; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string id = "dft-" + std::to_string(t) + "-" + std::to_string(i);
        const bool was_full = full.load();
        if (plugin_.record(tills[static_cast<std::size_t>(t)], purchase("52" + std::to_string(t), {"milk"}, id).c_str()) != REGULARS_OK)
          continue;
        std::lock_guard lock(mu);
        acknowledged.insert(id);
        if (was_full && full.load()) ++acked_while_full;
      }
    });
  const auto acked = [&] {
    std::lock_guard lock(mu);
    return acknowledged.size();
  };
  ASSERT_TRUE(eventually([&] { return acked() >= 200; })) << "the tills are not recording";

  fill_disk();
  full = true;
  const std::string probe = purchase("5300", {"tea"}, "dft-probe");
  EXPECT_NE(plugin_.record(direct, probe.c_str()), REGULARS_OK) << "acknowledged without a spool while the disk was full";
  // Full long enough for the tills to spool and for the checkpointer to try its copy.
  EXPECT_TRUE(eventually([&] { return acked_while_full.load() >= 200; })) << "the tills did not spool while the disk was full";
  EXPECT_TRUE(eventually([&] { return daemon_->log().find("\"checkpoint failed; will retry\"") != std::string::npos; }))
      << "the checkpointer never met the full disk";
  regulars_status hint_status = REGULARS_INTERNAL;
  hints(direct, "520", &hint_status);
  EXPECT_EQ(hint_status, REGULARS_OK) << "hints stopped answering while the disk was full";

  full = false;
  free_space();
  EXPECT_TRUE(eventually([&] { return plugin_.record(direct, probe.c_str()) == REGULARS_OK; }))
      << "regularsd did not store again after space came back: " << plugin_.last_error();
  stop = true;
  for (auto& th : threads) th.join();
  for (auto* c : tills) close_client(c);  // what they still spool stays in their files

  // The tills' spool is drained by a new client on the folder, as after a checkout restart.
  regulars_client* replayer = open_client(2000);
  (void)replayer;
  long long missing = 0;
  EXPECT_TRUE(eventually(
      [&] {
        StoreFile db(daemon_->db_path());
        missing = 0;
        for (const auto& id : acknowledged) missing += db.count("SELECT count(*) = 0 FROM events WHERE event_id='" + id + "'");
        return missing == 0;
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(missing, 0) << "of " << acknowledged.size() << " acknowledged events";
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.count("SELECT count(*) FROM (SELECT event_id FROM events GROUP BY event_id HAVING count(*) > 1)"), 0);
  EXPECT_EQ(db.scalar("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace regulars::test
