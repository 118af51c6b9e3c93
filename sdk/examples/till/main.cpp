// regulars-till: a terminal checkout simulator. It loads libregulars with dlopen (as a point-of-sale
// application would), identifies customers, scans items, takes payment, and shows what Regulars
// tells the cashier. Run it interactively, or replay a session with --script FILE.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "plugin.hpp"
#include "screen.hpp"
#include "till.hpp"

namespace {

constexpr const char* kUsage = R"(usage: regulars-till [options]

  --plugin PATH        libregulars to dlopen (default: ../lib/libregulars.so.0 next to this
                       program, then the build tree's, then the dynamic linker's search)
  --endpoint unix:PATH where regularsd listens (default unix:/var/lib/regulars/regularsd.sock)
  --spool DIR          keep events here while regularsd is unavailable (default: no spool)
  --terminal NAME      this lane (default lane-1)
  --cashier NAME       cashier on duty, stamped on events
  --store NAME         store, stamped on events
  --locale TAG         language of the hints (default en)
  --budget-ms N        time budget of every plugin call (default 50)
  --script FILE        run the commands in FILE, echoing them like a recorded session
  --pace MS            with --script: pause after each command (three times as long after
                       a hints panel or a receipt), for people watching
  --quiet              print only errors and, at the end, what was recorded
  --color WHEN         auto (default), always or never
  --help, --version

Without --script, commands are read from standard input (type 'help').
)";

int terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return std::clamp<int>(ws.ws_col, 60, 88);
  return 78;
}

std::string trim(std::string s) {
  const auto start = s.find_first_not_of(" \t\r");
  if (start == std::string::npos) return {};
  const auto end = s.find_last_not_of(" \t\r");
  return s.substr(start, end - start + 1);
}

// Drops a trailing " # comment".
std::string strip_comment(const std::string& s) {
  for (std::size_t i = 1; i < s.size(); ++i)
    if (s[i] == '#' && (s[i - 1] == ' ' || s[i - 1] == '\t')) return trim(s.substr(0, i));
  return s;
}

std::vector<std::string> split_commands(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= line.size()) {
    const auto semi = line.find(';', start);
    const auto end = semi == std::string::npos ? line.size() : semi;
    if (auto cmd = trim(line.substr(start, end - start)); !cmd.empty()) out.push_back(std::move(cmd));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  return out;
}

int usage_error(const std::string& message) {
  std::cerr << "regulars-till: " << message << "\n(see regulars-till --help)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  till::Settings settings;
  std::string script, color = "auto";
  int pace_ms = 0;

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto take = [&](std::string& out) -> bool {
      if (!has_value) {
        if (i + 1 >= argc) return false;
        value = argv[++i];
      }
      out = value;
      return true;
    };
    auto take_int = [&](int& out, int lo, int hi) -> bool {
      std::string s;
      if (!take(s)) return false;
      char* end = nullptr;
      const long v = std::strtol(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || v < lo || v > hi) return false;
      out = static_cast<int>(v);
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--version") {
      std::cout << "regulars-till " << REGULARS_VERSION_STRING << "\n";
      return 0;
    }
    bool ok = true;
    if (arg == "--plugin") ok = take(settings.plugin);
    else if (arg == "--endpoint") ok = take(settings.endpoint);
    else if (arg == "--spool") ok = take(settings.spool);
    else if (arg == "--terminal") ok = take(settings.terminal);
    else if (arg == "--cashier") ok = take(settings.cashier);
    else if (arg == "--store") ok = take(settings.store);
    else if (arg == "--locale") ok = take(settings.locale);
    else if (arg == "--budget-ms") ok = take_int(settings.budget_ms, 1, 10000);
    else if (arg == "--script") ok = take(script);
    else if (arg == "--pace") ok = take_int(pace_ms, 0, 60000);
    else if (arg == "--quiet" && !has_value) settings.quiet = true;
    else if (arg == "--color" || arg == "--colour") ok = take(color) && (color == "auto" || color == "always" || color == "never");
    else return usage_error("unknown option " + std::string(argv[i]));
    if (!ok) return usage_error("option " + arg + " needs a valid value");
  }

  const bool tty_out = ::isatty(STDOUT_FILENO) != 0;
  const bool use_color =
      color == "always" || (color == "auto" && tty_out && std::getenv("NO_COLOR") == nullptr);
  const till::Style style(use_color);

  std::ifstream script_file;
  if (!script.empty()) {
    script_file.open(script);
    if (!script_file) return usage_error("cannot read script " + script + ": " + std::strerror(errno));
  }
  const bool interactive = script.empty() && ::isatty(STDIN_FILENO) != 0;
  const std::string source = script.empty() ? std::string("stdin") : script;
  std::istream& in = script.empty() ? std::cin : script_file;

  // A real till must not die because a socket closed under it.
  std::signal(SIGPIPE, SIG_IGN);

  till::Plugin plugin;
  std::string why;
  if (!plugin.load(settings.plugin, why)) {
    std::cerr << "regulars-till: " << why << "\n";
    return 2;
  }

  const bool quiet = settings.quiet;
  const std::string lane = settings.terminal;
  till::Till lane_till(plugin, style, settings, terminal_width());
  if (!lane_till.open()) {
    std::cerr << "regulars-till: " << lane_till.error() << "\n";
    return 2;
  }
  if (interactive) std::cout << style(till::tone::dim, "type 'help' for the commands, 'quit' to leave") << "\n";

  int exit_code = 0;
  int line_no = 0;
  std::string raw;
  bool done = false;
  while (!done) {
    if (interactive) std::cout << style(till::tone::bold, lane + "> ") << std::flush;
    if (!std::getline(in, raw)) break;
    ++line_no;
    const std::string line = trim(raw);
    if (line.empty()) continue;
    if (line[0] == '#') {
      // In a replayed session, comments are the narration.
      if (!interactive && !quiet) {
        const std::string text = trim(line.substr(line.find_first_not_of('#')));
        if (!text.empty()) std::cout << "\n" << style("3;36", "» " + text) << "\n";
      }
      continue;
    }
    for (const auto& command : split_commands(strip_comment(line))) {
      if (!interactive && !quiet)
        std::cout << style(till::tone::dim, lane + " ▸ ") << style(till::tone::bold, command) << "\n";
      const auto result = lane_till.execute(command);
      if (result == till::Till::Result::quit) {
        done = true;
        break;
      }
      if (result == till::Till::Result::error) {
        std::cout.flush();
        std::cerr << style(till::tone::bold_red, "✗ ") << source << ":" << line_no << ": " << lane_till.error() << "\n";
        if (!interactive) {
          exit_code = 1;
          done = true;
          break;
        }
      }
      std::cout.flush();
      if (!interactive && pace_ms > 0 && command.rfind("sleep", 0) != 0) {
        // A hints panel or a receipt takes longer to read than a scanned line.
        const bool panel = command.rfind("customer", 0) == 0 || command.rfind("hints", 0) == 0 ||
                           command.rfind("pay", 0) == 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(panel ? 3 * pace_ms : pace_ms));
      }
    }
  }

  lane_till.close();
  if (quiet)
    std::cout << lane_till.summary() << "\n";
  else
    std::cout << "\n" << style(till::tone::dim, "session: " + lane_till.summary()) << "\n";
  return exit_code;
}
