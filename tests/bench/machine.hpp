// What the machine saw of a run: a process's CPU time, I/O and preemptions from /proc, the load
// average, and elapsed time. The daemon's pid comes from DaemonChild (tools_support).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace regulars::bench {

using Clock = std::chrono::steady_clock;

inline std::int64_t elapsed_ns(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// CPU time and bytes written by a process (all its threads), for per-call costs that do not
// depend on what else the machine is doing.
struct ProcSample {
  double cpu_s = 0;
  std::int64_t wchar = 0;        // bytes passed to write(2) and friends, sockets included
  std::int64_t write_bytes = 0;  // bytes sent towards the storage layer
};

ProcSample proc_sample(pid_t pid);

// Involuntary context switches over all of a process's threads: how often something else took
// the CPU away from it mid-work (on a busy machine, the source of latency tails).
std::int64_t preemptions(pid_t pid);

// The one-minute load average, as /proc/loadavg writes it.
std::string loadavg();

}  // namespace regulars::bench
