// A till for the Windows tests: loads regulars.dll at run time, as an OPOS-style host does
// (LoadLibraryW, GetProcAddress), and makes the calls it is told to, printing one JSON line per
// call with its status, its time and what came back. Run under Wine by
// tests/integration/windows_till_test.cpp against a real regularsd on Linux. The same source
// builds on Linux (dlopen of libregulars.so.0), so tests/bench/windows_hints_bench.sh times both
// plugins against one daemon in one run.
//
//   win_till.exe OPTIONS_FILE OP...
//     hints:CARD              regulars_hints for a card; the answer is printed
//     record:EVENT_ID:CARD    a purchase of one item
//     wait:MS                 sleeps (the client's own thread may replay its spool meanwhile)
//     bench:N:CARD            N timed hints calls after 100 untimed; prints percentiles in µs
//   win_till.exe strerror     every status's text, as a JSON array
// Lines: {"op": ..., "status": N, "ms": T, "error": "...", "answer": {...}}
#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "regulars/regulars.h"

namespace {

struct Library {
  decltype(&regulars_version) version = nullptr;
  decltype(&regulars_strerror) strerror = nullptr;
  decltype(&regulars_last_error) last_error = nullptr;
  decltype(&regulars_open) open = nullptr;
  decltype(&regulars_close) close = nullptr;
  decltype(&regulars_hints) hints = nullptr;
  decltype(&regulars_record) record = nullptr;
  decltype(&regulars_free) free = nullptr;
};

#ifdef _WIN32
using Module = HMODULE;
void* symbol(Module dll, const char* name) { return reinterpret_cast<void*>(::GetProcAddress(dll, name)); }
Module open_library() {
  const HMODULE dll = ::LoadLibraryW(L"regulars.dll");
  if (dll == nullptr) std::printf("{\"op\":\"load\",\"error\":\"LoadLibrary(regulars.dll) failed: %lu\"}\n", ::GetLastError());
  return dll;
}
#else
using Module = void*;
void* symbol(Module dll, const char* name) { return ::dlsym(dll, name); }
Module open_library() {
  void* dll = ::dlopen("libregulars.so.0", RTLD_NOW | RTLD_LOCAL);
  if (dll == nullptr) std::printf("{\"op\":\"load\",\"error\":\"dlopen(libregulars.so.0) failed\"}\n");
  return dll;
}
#endif

template <class Fn>
bool bind(Module dll, Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(symbol(dll, name));
  if (fn == nullptr) std::printf("{\"op\":\"load\",\"error\":\"the library lacks %s\"}\n", name);
  return fn != nullptr;
}

bool load(Library& lib) {
  const Module dll = open_library();
  if (dll == nullptr) return false;
  return bind(dll, lib.version, "regulars_version") && bind(dll, lib.strerror, "regulars_strerror") &&
         bind(dll, lib.last_error, "regulars_last_error") && bind(dll, lib.open, "regulars_open") &&
         bind(dll, lib.close, "regulars_close") && bind(dll, lib.hints, "regulars_hints") &&
         bind(dll, lib.record, "regulars_record") && bind(dll, lib.free, "regulars_free");
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void report(const char* op, const Library& lib, regulars_status s, double ms, const char* answer = nullptr) {
  std::printf("{\"op\":\"%s\",\"status\":%d,\"ms\":%.3f,\"error\":%s,\"answer\":%s}\n", op, static_cast<int>(s), ms,
              quoted(s == REGULARS_OK ? "" : lib.last_error()).c_str(), answer != nullptr ? answer : "null");
  std::fflush(stdout);
}

std::string purchase(const std::string& event_id, const std::string& card) {
  return "{\"type\":\"purchase\",\"event_id\":\"" + event_id + "\",\"customer\":{\"kind\":\"card\",\"value\":\"" + card +
         "\"},\"lines\":[{\"sku\":\"tea\",\"name\":\"Green tea\",\"qty\":1,\"unit_price\":250}]}";
}

// N timed hints calls (after 100 untimed) on one client: latency percentiles in microseconds.
void bench(const Library& lib, regulars_client* client, int calls, const std::string& card) {
  const std::string request = "{\"customer\":{\"kind\":\"card\",\"value\":\"" + card + "\"},\"locale\":\"en\"}";
  std::vector<double> us;
  int errors = 0;
  for (int i = -100; i < calls; ++i) {
    char* answer = nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    const regulars_status s = lib.hints(client, request.c_str(), &answer);
    const double took = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    lib.free(answer);
    if (s != REGULARS_OK) ++errors;
    if (i >= 0) us.push_back(took);
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us.empty() ? 0.0 : us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))]; };
  std::printf("{\"op\":\"bench\",\"calls\":%d,\"errors\":%d,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}\n",
              calls, errors, at(0.5), at(0.9), at(0.99), at(0.999), us.empty() ? 0.0 : us.back());
  std::fflush(stdout);
}

int run_ops(const Library& lib, const std::string& options, int argc, char** argv) {
  regulars_client* client = nullptr;
  auto t0 = std::chrono::steady_clock::now();
  const regulars_status opened = lib.open(options.c_str(), &client);
  report("open", lib, opened, ms_since(t0));
  if (opened != REGULARS_OK) return 0;
  for (int i = 0; i < argc; ++i) {
    const std::string op = argv[i];
    const std::string arg = op.substr(op.find(':') + 1);
    t0 = std::chrono::steady_clock::now();
    if (op.rfind("hints:", 0) == 0) {
      char* answer = nullptr;
      const std::string request = "{\"customer\":{\"kind\":\"card\",\"value\":\"" + arg + "\"},\"locale\":\"en\"}";
      const regulars_status s = lib.hints(client, request.c_str(), &answer);
      report("hints", lib, s, ms_since(t0), answer);
      lib.free(answer);
    } else if (op.rfind("record:", 0) == 0) {
      const std::string event_id = arg.substr(0, arg.find(':'));
      const regulars_status s = lib.record(client, purchase(event_id, arg.substr(arg.find(':') + 1)).c_str());
      report("record", lib, s, ms_since(t0));
    } else if (op.rfind("bench:", 0) == 0) {
      bench(lib, client, std::stoi(arg.substr(0, arg.find(':'))), arg.substr(arg.find(':') + 1));
    } else if (op.rfind("wait:", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(arg)));
    } else {
      std::printf("{\"op\":%s,\"error\":\"unknown operation\"}\n", quoted(op).c_str());
      return 2;
    }
  }
  t0 = std::chrono::steady_clock::now();
  lib.close(client);
  report("close", lib, REGULARS_OK, ms_since(t0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Library lib;
  if (!load(lib)) return 1;
  if (argc == 2 && std::string(argv[1]) == "strerror") {
    std::printf("[");
    for (int s = 0; s <= REGULARS_IO + 1; ++s) std::printf("%s%s", s == 0 ? "" : ",", quoted(lib.strerror(static_cast<regulars_status>(s))).c_str());
    std::printf("]\n");
    return 0;
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: win_till.exe OPTIONS_FILE OP... | strerror\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream options;
  options << in.rdbuf();
  if (!in) {
    std::printf("{\"op\":\"load\",\"error\":\"cannot read the options file\"}\n");
    return 1;
  }
  return run_ops(lib, options.str(), argc - 2, argv + 2);
}
