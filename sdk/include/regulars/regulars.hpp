// Header-only C++ wrapper over regulars.h: RAII, move-only client handle; failures become
// regulars::Error exceptions carrying the status and the library's detailed message.
#pragma once

#include <regulars/regulars.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace regulars {

class Error : public std::runtime_error {
 public:
  Error(regulars_status status, const std::string& detail)
      : std::runtime_error(std::string(regulars_strerror(status)) + (detail.empty() ? "" : ": " + detail)),
        status_(status) {}
  regulars_status status() const noexcept { return status_; }

 private:
  regulars_status status_;
};

inline void check(regulars_status status) {
  if (status != REGULARS_OK) throw Error(status, regulars_last_error());
}

inline std::string version() { return regulars_version(); }

// One connection to the daemon with its spool. Thread-safe; move-only.
class Client {
 public:
  // options_json: see regulars_open in regulars.h.
  explicit Client(const std::string& options_json = "{}") {
    regulars_client* raw = nullptr;
    check(regulars_open(options_json.c_str(), &raw));
    handle_.reset(raw);
  }

  // Returns the hints answer as JSON text. Throws regulars::Error, also for UNAVAILABLE and
  // TIMEOUT; use try_hints where "no hints now" is an ordinary outcome.
  std::string hints(const std::string& request_json) {
    std::string out;
    check(try_hints(request_json, out));
    return out;
  }

  // Non-throwing form: the status, and on REGULARS_OK the answer in `out`.
  regulars_status try_hints(const std::string& request_json, std::string& out) noexcept {
    char* raw = nullptr;
    const regulars_status status = regulars_hints(handle_.get(), request_json.c_str(), &raw);
    if (status == REGULARS_OK && raw != nullptr) {
      try {
        out.assign(raw);
      } catch (...) {
        regulars_free(raw);
        return REGULARS_INTERNAL;
      }
    }
    regulars_free(raw);
    return status;
  }

  // Durable when it returns (see regulars_record).
  void record(const std::string& event_json) { check(regulars_record(handle_.get(), event_json.c_str())); }

  regulars_client* get() const noexcept { return handle_.get(); }

 private:
  struct Closer {
    void operator()(regulars_client* c) const noexcept { regulars_close(c); }
  };
  std::unique_ptr<regulars_client, Closer> handle_;
};

}  // namespace regulars
