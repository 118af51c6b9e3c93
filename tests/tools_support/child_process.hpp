// A server program run as a child of a tool (regularsd, and the benchmark's Redis and PostgreSQL):
// started with its output in a log file, never outliving the tool, stopped with a signal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace regulars::tools {

// The unprivileged account a child runs as when the tool runs as root (PostgreSQL refuses root).
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The first of `names` that exists in the password database; nullopt if none does.
std::optional<Account> find_account(const std::vector<std::string>& names);

class ChildProcess {
 public:
  // Starts argv (argv[0] searched in PATH), stdout and stderr written to log_path, as `account`
  // when given. The child gets SIGTERM if the thread that started it ends first.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::optional<Account>& account = std::nullopt);
  ~ChildProcess();  // stop(SIGTERM, 10 s) if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The wait status once it has exited (reaping it), nullopt while it runs.
  std::optional<int> exited();
  // Waits up to `limit` for it to exit on its own; its wait status, or nullopt (still running).
  std::optional<int> wait_exit(std::chrono::seconds limit);
  // Sends `signal`, then waits; SIGKILL if it does not stop in time. Returns a description.
  std::string stop(int signal, std::chrono::seconds limit);
  // The last 4000 bytes of its log.
  std::string log_tail() const;

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// "exit status N" or "signal N" for a wait status.
std::string describe_wait_status(int status);

}  // namespace regulars::tools
