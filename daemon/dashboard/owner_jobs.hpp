// Owner commands that take longer than a page may wait (a gesture dry run replays the log; an
// erasure rewrites the store): the dashboard starts them and answers at once with a job id, and
// the page asks for the result until it is there. So every call behind a page answers within
// milliseconds, however long the work, and the owner sees that it is running.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "net/admin_http.hpp"

namespace regulars::daemon::dashboard {

class OwnerJobs {
 public:
  static constexpr std::size_t kMaxJobs = 64;  // per daemon; older finished jobs go first
  static constexpr std::chrono::minutes kKeep{10};  // a result nobody fetched is dropped after this

  // A new job for the session `handle`; nullopt when kMaxJobs are running.
  std::optional<std::string> start(const std::string& handle);
  // The job's answer, once the command has given it (any thread).
  void finish(const std::string& id, WebResponse answer);
  // For the session that started it: the answer (and the job is gone), or nullopt while it runs.
  // A job that is not this session's, or unknown, is `unknown` = true.
  std::optional<WebResponse> take(const std::string& id, const std::string& handle, bool& unknown);

 private:
  struct Job {
    std::string handle;
    std::chrono::steady_clock::time_point started;
    std::optional<WebResponse> answer;
  };
  void drop_stale(std::chrono::steady_clock::time_point now);  // under mu_

  std::mutex mu_;
  std::map<std::string, Job> jobs_;
};

}  // namespace regulars::daemon::dashboard
