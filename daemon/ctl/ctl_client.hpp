// regularsctl's connection to regularsd: the owner's side of the till socket, one request and
// its answer at a time, blocking. Enough for one-shot commands.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace regulars::ctl {

class CtlClient {
 public:
  // Connects to the socket at `path` and says hello; throws std::runtime_error saying what to
  // check when regularsd cannot be reached.
  explicit CtlClient(const std::string& path);
  ~CtlClient();
  CtlClient(const CtlClient&) = delete;
  CtlClient& operator=(const CtlClient&) = delete;

  // Sends `request` (an op and its fields) and returns the result; an error answer is thrown as
  // std::runtime_error "code: field: message".
  nlohmann::json call(nlohmann::json request);

 private:
  int fd_ = -1;
  std::uint64_t next_id_ = 0;
};

}  // namespace regulars::ctl
