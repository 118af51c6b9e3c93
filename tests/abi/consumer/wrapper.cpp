// The header-only C++ wrapper as an integrator uses it, against the installed library.
// Usage: consumer_wrapper SCRATCH_DIR   (no daemon runs there)
#include <regulars/regulars.hpp>

#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer_wrapper SCRATCH_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  int failures = 0;
  auto expect = [&failures](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "check failed: %s\n", what);
      ++failures;
    }
  };

  expect(regulars::version() == std::to_string(REGULARS_VERSION_MAJOR) + "." + std::to_string(REGULARS_VERSION_MINOR) +
                                    "." + std::to_string(REGULARS_VERSION_PATCH),
         "regulars::version() matches the installed header");

  // Bad options become a regulars::Error carrying the status.
  try {
    regulars::Client bad("{not json");
    expect(false, "malformed options throw");
  } catch (const regulars::Error& e) {
    expect(e.status() == REGULARS_INVALID_INPUT, "malformed options give REGULARS_INVALID_INPUT");
  }

  // No daemon: hints are "not now", a record lands in the spool, and the handle is move-only RAII.
  // The daemon's spool key is known, from spool.pub beside its socket as a local regularsd
  // leaves it (here RFC 7748's example public key): without it the plugin spools nothing.
  std::ofstream(dir + "/spool.pub") << "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a\n";
  regulars::Client client(R"({"endpoint": "unix:)" + dir + R"(/absent.sock", "spool_dir": ")" + dir +
                          R"(/spool", "budget_ms": 50, "terminal": "lane-1"})");
  regulars::Client moved = std::move(client);
  std::string answer;
  const regulars_status s =
      moved.try_hints(R"({"customer": {"kind": "card", "value": "4000123"}, "locale": "en"})", answer);
  expect(s == REGULARS_UNAVAILABLE || s == REGULARS_TIMEOUT, "hints without a daemon are UNAVAILABLE or TIMEOUT");
  try {
    moved.record(R"({"type": "consent", "customer": {"kind": "card", "value": "4000123"},)"
                 R"( "purposes": {"remember": true, "personalize": true}})");
  } catch (const regulars::Error& e) {
    std::fprintf(stderr, "record: %s\n", e.what());
    expect(false, "record without a daemon is spooled and returns OK");
  }

  if (failures != 0) return 1;
  std::printf("C++ wrapper OK against libregulars %s\n", regulars::version().c_str());
  return 0;
}
