#include "spool_writer.hpp"

#include <vector>

namespace regulars::plugin {
namespace {

// Writes waiting for a disk that does not answer are bounded: past this many, a record is refused
// at once (TIMEOUT, not recorded) instead of growing the queue without end.
constexpr std::size_t kMaxQueued = 1024;

}  // namespace

SpoolWriter::SpoolWriter(Spool& spool) : spool_(spool) {
  thread_ = std::thread([this] { run(); });
}

SpoolWriter::~SpoolWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

regulars_status SpoolWriter::append(std::string payload, Deadline deadline, std::string& why) {
  auto job = std::make_shared<Job>();
  job->payload = std::move(payload);
  std::unique_lock lock(mu_);
  if (queue_.size() >= kMaxQueued) {
    why = "the spool's disk is behind by " + std::to_string(queue_.size()) + " writes; the event was not recorded";
    return REGULARS_TIMEOUT;
  }
  queue_.push_back(job);
  work_cv_.notify_one();
  if (!done_cv_.wait_until(lock, deadline, [&] { return job->done; })) {
    why = "the spool's disk did not finish writing within the time budget";
    return REGULARS_TIMEOUT;
  }
  why = job->why;
  return job->status;
}

void SpoolWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is written
    std::vector<std::shared_ptr<Job>> batch(queue_.begin(), queue_.end());
    queue_.clear();
    lock.unlock();
    std::vector<std::string> payloads;
    payloads.reserve(batch.size());
    for (auto& job : batch) payloads.push_back(std::move(job->payload));
    std::string why;
    const std::vector<regulars_status> statuses = spool_.append_batch(payloads, why);
    lock.lock();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i]->status = statuses[i];
      if (statuses[i] != REGULARS_OK) batch[i]->why = why;
      batch[i]->done = true;
    }
    done_cv_.notify_all();
  }
}

}  // namespace regulars::plugin
