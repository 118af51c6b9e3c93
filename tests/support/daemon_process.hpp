// Runs a real regularsd in a temporary directory for the length of a test.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace regulars::test {

class DaemonProcess {
 public:
  // Does not start anything; call start().
  explicit DaemonProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  ~DaemonProcess();  // SIGKILL if still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Variables ("NAME=value") added to regularsd's environment from the next start() on, e.g.
  // to run it under an LD_PRELOAD shim.
  void set_env(std::vector<std::string> env) { env_ = std::move(env); }
  // Starts regularsd and waits (up to 10 s) until its socket answers; throws on failure.
  void start();
  // The next start() runs regularsd with this RLIMIT_NOFILE (set in the child before exec), as a
  // shell's `ulimit -n` would: how the daemon copes with few descriptors.
  void limit_descriptors(unsigned long soft, unsigned long hard) {
    fd_soft_ = soft;
    fd_hard_ = hard;
  }
  // SIGTERM and wait; returns the exit status (as from waitpid's WEXITSTATUS, or -signal).
  int stop();
  void kill9();
  void suspend();  // SIGSTOP, and waits until every thread has stopped
  void resume();   // SIGCONT
  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }

  std::string socket_path() const { return data_dir_ + "/regularsd.sock"; }
  std::string endpoint() const { return "unix:" + socket_path(); }
  const std::string& data_dir() const noexcept { return data_dir_; }
  std::string db_path() const { return data_dir_ + "/regulars.db"; }
  // Beside the data directory, so the daemon's own files stay as they would be in production.
  std::string log_path() const { return data_dir_.substr(0, data_dir_.find_last_of('/')) + "/regularsd.log"; }
  // The daemon's log so far (stderr), for diagnosis and for checks that nothing leaks into it.
  std::string log() const;
  // The first sanitizer report (ASan, LSan, UBSan, TSan) in the log and what follows it, or "".
  // A sanitized regularsd writes its reports to stderr, where the test would not see them.
  std::string sanitizer_report() const;

 private:
  int wait_exit();
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  std::vector<std::string> env_;
  pid_t pid_ = -1;
  unsigned long fd_soft_ = 0;  // 0: inherit the test's limit
  unsigned long fd_hard_ = 0;
};

// Sends one raw frame payload over a fresh connection after hello and returns the response
// payload ("" if the daemon closed the connection). For protocol tests.
class RawConnection {
 public:
  explicit RawConnection(const std::string& socket_path, bool send_hello = true);
  ~RawConnection();
  void send_bytes(const std::string& bytes);
  void send_frame(const std::string& payload);
  // Next response payload; "" when the peer closed the connection or nothing came in timeout_ms.
  std::string read_frame(int timeout_ms = 2000);
  // True when the daemon closed its side within timeout_ms.
  bool closed_by_peer(int timeout_ms = 2000);

 private:
  int fd_ = -1;
  std::string buffer_;
};

// Runs a command, returns its exit status; stdout+stderr go to `output`.
int run_command(const std::string& command, std::string& output);

}  // namespace regulars::test
