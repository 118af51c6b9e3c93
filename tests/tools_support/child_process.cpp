#include "child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

namespace regulars::tools {

using Clock = std::chrono::steady_clock;

std::optional<Account> find_account(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (const passwd* pw = ::getpwnam(name.c_str())) return Account{name, pw->pw_uid, pw->pw_gid};
  }
  return std::nullopt;
}

namespace {

// In the child, between fork and exec: only async-signal-safe calls. Credentials change first,
// because a change of credentials clears the parent-death signal.
[[noreturn]] void exec_child(char* const* argv, int log_fd, const std::optional<Account>& account,
                             const std::string& failed) {
  if (account && (::setgroups(0, nullptr) != 0 || ::setgid(account->gid) != 0 || ::setuid(account->uid) != 0)) {
    [[maybe_unused]] const auto n = ::write(log_fd, failed.data(), failed.size());
    ::_exit(126);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (log_fd >= 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
  }
  ::execvp(argv[0], argv);
  [[maybe_unused]] const auto n = ::write(2, failed.data(), failed.size());
  ::_exit(127);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                           const std::optional<Account>& account)
    : log_(log_path) {
  // Everything the child needs is prepared before fork.
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const std::string failed = "cannot exec " + argv.at(0) + (account ? " as " + account->name : std::string()) + "\n";
  // Opened here, so a child running as another account still writes to a log only we can read.
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_ = ::fork();
  if (pid_ < 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(err));
  }
  if (pid_ == 0) exec_child(cargv.data(), fd, account, failed);
  if (fd >= 0) ::close(fd);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) stop(SIGTERM, std::chrono::seconds(10));
}

std::optional<int> ChildProcess::exited() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  pid_ = -1;
  return status;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::seconds limit) {
  const auto t0 = Clock::now();
  for (;;) {
    if (auto status = exited()) return status;
    if (pid_ <= 0 || Clock::now() - t0 > limit) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ChildProcess::stop(int signal, std::chrono::seconds limit) {
  if (pid_ <= 0) return "not running";
  ::kill(pid_, signal);
  const auto t0 = Clock::now();
  const pid_t pid = pid_;
  const std::optional<int> status = wait_exit(limit);
  if (!status) {
    int ignored = 0;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &ignored, 0);
    pid_ = -1;
    return "did not stop within " + std::to_string(limit.count()) + " s of SIG" + ::sigabbrev_np(signal) + "; killed";
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s after %.2f s", describe_wait_status(*status).c_str(),
                std::chrono::duration<double>(Clock::now() - t0).count());
  return buf;
}

std::string ChildProcess::log_tail() const {
  std::ifstream in(log_);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

std::string describe_wait_status(int status) {
  return WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                           : "signal " + std::to_string(WTERMSIG(status));
}

}  // namespace regulars::tools
