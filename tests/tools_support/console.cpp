#include "console.hpp"

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace regulars::tools {

namespace {
const char* g_note_prefix = "";
}  // namespace

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void out(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vprintf(fmt, ap);
  va_end(ap);
  std::fflush(stdout);
}

void set_note_prefix(const char* prefix) { g_note_prefix = prefix; }

void note(const char* fmt, ...) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  va_list ap;
  va_start(ap, fmt);
  std::fputs(g_note_prefix, stderr);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fflush(stderr);
}

}  // namespace regulars::tools
