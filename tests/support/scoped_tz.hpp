// Sets TZ for the life of the object and puts the previous value back after: tests of the
// shop's calendar run in a zone of their choosing.
#pragma once

#include <time.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace regulars::test {

class ScopedTz {
 public:
  explicit ScopedTz(const char* zone) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_) ::setenv("TZ", old_->c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
  }
  ScopedTz(const ScopedTz&) = delete;
  ScopedTz& operator=(const ScopedTz&) = delete;

 private:
  std::optional<std::string> old_;
};

}  // namespace regulars::test
