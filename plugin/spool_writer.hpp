// Writes to the spool on a thread the plugin owns, so that a slow disk costs the till its time
// budget and no more. The caller waits for its record until its deadline; past it, the record is
// still written (or fails) on this thread: "durable or not recorded", never half of each.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "deadline.hpp"
#include "regulars/regulars.h"
#include "spool.hpp"

namespace regulars::plugin {

class SpoolWriter {
 public:
  explicit SpoolWriter(Spool& spool);
  // Writes whatever is still queued, then stops: records a caller gave up waiting for are not
  // dropped at close.
  ~SpoolWriter();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  // As Spool::append, in submission order, with writes queued together sharing one fsync.
  // REGULARS_TIMEOUT when `deadline` comes first: the record is then written later, or not at all
  // if the write fails or too many writes are already waiting for the disk.
  regulars_status append(std::string payload, Deadline deadline, std::string& why);

 private:
  struct Job {
    std::string payload;
    bool done = false;
    regulars_status status = REGULARS_INTERNAL;
    std::string why;
  };
  void run();

  Spool& spool_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::thread thread_;
};

}  // namespace regulars::plugin
