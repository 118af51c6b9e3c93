#include "machine.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace regulars::bench {

namespace fs = std::filesystem;

ProcSample proc_sample(pid_t pid) {
  ProcSample p;
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream st(base + "/stat");
  std::string text((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  const auto close_paren = text.rfind(')');
  if (close_paren != std::string::npos) {
    std::vector<std::string> f;
    std::string cur;
    for (std::size_t i = close_paren + 2; i <= text.size(); ++i) {
      if (i == text.size() || text[i] == ' ') {
        f.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(text[i]);
      }
    }
    // After the command: field 3 is f[0]; utime and stime are fields 14 and 15.
    if (f.size() > 12) p.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::ifstream io(base + "/io");
  for (std::string key; io >> key;) {
    std::int64_t v = 0;
    io >> v;
    if (key == "wchar:") p.wchar = v;
    if (key == "write_bytes:") p.write_bytes = v;
  }
  return p;
}

std::int64_t preemptions(pid_t pid) {
  std::int64_t total = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) total += std::atoll(line.c_str() + 27);
  }
  return total;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

}  // namespace regulars::bench
