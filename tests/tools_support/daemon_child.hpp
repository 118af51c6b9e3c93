// regularsd as a child process of a tool (regulars-bench, regulars-eval): start, wait for its
// socket, read /proc/<pid>/status, ask its "status" op, stop it with SIGTERM.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "child_process.hpp"

namespace regulars::tools {

// The daemon to run: `flag` when given, else the one built with this program (build_path),
// else a regularsd next to this executable, else "regularsd" from PATH.
std::string find_regularsd(const std::string& flag, const std::string& build_path);

class DaemonChild {
 public:
  // Starts `exe --data-dir data_dir extra_args...`, its stdout and stderr going to log_path.
  DaemonChild(const std::string& exe, const std::string& data_dir, const std::vector<std::string>& extra_args,
              const std::string& log_path);
  // Destroying it stops it (SIGTERM, then SIGKILL after 10 s) if still running.

  pid_t pid() const { return child_.pid(); }
  const std::string& socket() const { return socket_; }

  // Waits until the socket accepts a connection; throws (with the log's tail) when the daemon
  // exits first or the limit passes.
  void wait_ready(std::chrono::seconds limit);
  // SIGTERM, then wait; SIGKILL if it does not stop in time. Returns a description.
  std::string stop(std::chrono::seconds limit);
  // /proc/<pid>/status as key → value ("VmRSS" → "123456 kB"); empty once stopped.
  std::map<std::string, std::string> proc_status() const;
  // "VmRSS=… VmHWM=… threads=…" from proc_status(), "?" for what it lacks.
  std::string memory_summary() const;
  std::string log_tail() const { return child_.log_tail(); }

 private:
  std::string socket_;
  ChildProcess child_;
};

// A connected Unix stream socket to `path` (close-on-exec), or -1 with errno set.
int connect_unix(const std::string& path);

// The daemon's "status" op over a raw connection of our own (the C ABI has no call for it);
// `client` is the name given in the hello.
std::optional<nlohmann::json> daemon_status(const std::string& socket_path, const std::string& client);
// Any op (`request` without an id) over a connection of its own; nullopt on any failure.
std::optional<nlohmann::json> daemon_call(const std::string& socket_path, const std::string& client, nlohmann::json request);
// An integer field of a status answer, or -1.
std::int64_t status_field(const std::optional<nlohmann::json>& st, const char* key);

}  // namespace regulars::tools
