// The daemon's connection slots and descriptors under pressure (issue 19, items 4 and 5): a
// daemon out of file descriptors must neither spin nor flood its log and must serve tills again
// once descriptors come back; one peer holding connections must not lock the real tills out.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "fixture.hpp"

namespace regulars::test {
namespace {

// CPU time (user + system) the process has used so far, in seconds (/proc/PID/stat).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  // After the command: state is field 3, utime field 14, stime field 15.
  const double ticks = std::stod(fields.at(11)) + std::stod(fields.at(12));
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int open_descriptors(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

// The soft "Max open files" of a running process (/proc/PID/limits).
long long soft_descriptor_limit(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Max open files", 0) == 0) return std::stoll(line.substr(26));
  return -1;
}

std::size_t line_count(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

class DescriptorLimit : public DaemonTest {
 protected:
  void before_start(DaemonProcess& daemon) override { daemon.limit_descriptors(kSoft, kHard); }
  static constexpr unsigned long kSoft = 128;
  static constexpr unsigned long kHard = 128;
};

// A daemon started by hand with a low soft limit takes what the hard limit allows.
class LowSoftLimit : public DaemonTest {
 protected:
  void before_start(DaemonProcess& daemon) override { daemon.limit_descriptors(64, 4096); }
};

TEST_F(LowSoftLimit, RaisesItsDescriptorLimitToTheHardLimitAtStart) {
  EXPECT_EQ(soft_descriptor_limit(daemon_->pid()), 4096);
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("\"descriptor_limit\":4096"), std::string::npos) << log.substr(0, 4000);
  EXPECT_NE(log.find("\"was\":64"), std::string::npos) << log.substr(0, 4000);
}

// Idle connections take every descriptor; connections queued behind them make accept fail with
// EMFILE again and again. The daemon must wait between tries, log a handful of lines, and serve
// a till again once the connections go.
TEST_F(DescriptorLimit, AcceptBacksOffAndRecoversWhenDescriptorsRunOut) {
  std::vector<std::unique_ptr<RawConnection>> idle;
  // More connections than descriptors: the rest wait in the listen queue.
  for (unsigned long i = 0; i < kSoft + 40; ++i) {
    idle.push_back(std::make_unique<RawConnection>(daemon_->socket_path(), false));
    idle.back()->send_frame(R"({"id":0,"op":"hello","protocol":1})");
  }
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (open_descriptors(daemon_->pid()) < static_cast<int>(kSoft) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(open_descriptors(daemon_->pid()), static_cast<int>(kSoft) - 1) << "the daemon never ran out of descriptors";

  // Two seconds out of descriptors, with connections still waiting to be accepted.
  const double cpu_before = cpu_seconds(daemon_->pid());
  const std::size_t lines_before = line_count(daemon_->log());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double cpu_used = cpu_seconds(daemon_->pid()) - cpu_before;
  const std::size_t lines_logged = line_count(daemon_->log()) - lines_before;
  std::cout << "2 s out of descriptors: " << cpu_used << " s of CPU, " << lines_logged << " log lines\n";
  EXPECT_LT(cpu_used, 0.3 * kSanitizerMarginScale) << "CPU seconds used in 2 s out of descriptors";
  EXPECT_LT(lines_logged, 100u) << "log lines written in 2 s out of descriptors";

  idle.clear();
  regulars_client* c = open_client(2000);
  ASSERT_EQ(plugin_.record(c, consent("4000777").c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(c, purchase("4000777", {"bread"}).c_str()), REGULARS_OK) << plugin_.last_error();
  EXPECT_EQ(wait_for_visits(c, "4000777", 1), 1);
}

}  // namespace
}  // namespace regulars::test
