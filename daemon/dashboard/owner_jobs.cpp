#include "dashboard/owner_jobs.hpp"

#include "wire/random.hpp"

namespace regulars::daemon::dashboard {

std::optional<std::string> OwnerJobs::start(const std::string& handle) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  drop_stale(now);
  if (jobs_.size() >= kMaxJobs) return std::nullopt;
  std::string id = wire::random_id("job-", 16);
  jobs_.emplace(id, Job{handle, now, std::nullopt});
  return id;
}

void OwnerJobs::finish(const std::string& id, WebResponse answer) {
  std::lock_guard lock(mu_);
  if (const auto it = jobs_.find(id); it != jobs_.end()) it->second.answer = std::move(answer);
}

std::optional<WebResponse> OwnerJobs::take(const std::string& id, const std::string& handle, bool& unknown) {
  std::lock_guard lock(mu_);
  const auto it = jobs_.find(id);
  unknown = it == jobs_.end() || it->second.handle != handle;
  if (unknown || !it->second.answer) return std::nullopt;
  WebResponse answer = std::move(*it->second.answer);
  jobs_.erase(it);
  return answer;
}

void OwnerJobs::drop_stale(std::chrono::steady_clock::time_point now) {
  std::erase_if(jobs_, [&](const auto& kv) { return kv.second.answer && now - kv.second.started > kKeep; });
}

}  // namespace regulars::daemon::dashboard
