// Console output of the benchmark-style tools: results on stdout, progress on stderr.
#pragma once

#include <chrono>

namespace regulars::tools {

double seconds_since(std::chrono::steady_clock::time_point t0);

// printf to stdout, flushed at once so the lines interleave sensibly with stderr.
void out(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Every note() line starts with this (e.g. "bench: "), so it is told apart from the daemon's log.
void set_note_prefix(const char* prefix);
// printf to stderr after the prefix; whole lines even when several threads write.
void note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace regulars::tools
