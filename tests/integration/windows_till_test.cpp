// Windows tills: regulars.dll, cross-compiled with MinGW-w64, loaded by a Windows program
// (tests/windows/win_till.cpp, LoadLibrary) that runs under Wine and talks to a real regularsd
// on Linux over TCP with TLS and its lane token, as a Windows lane in a shop does. The Linux side
// here starts, stops and freezes the daemon between the till's calls and checks the store.
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "child_process.hpp"
#include "tls_fixture.hpp"

namespace regulars::test {
namespace {

namespace fs = std::filesystem;

// How the till saw one call: {"op", "status", "ms", "error", "answer"}.
std::vector<json> till_lines(const std::string& output) {
  std::vector<json> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.front() == '{') lines.push_back(json::parse(line, nullptr, false));
  return lines;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One build of the Windows till and the Wine that runs it: 64-bit, and 32-bit as many OPOS
// hosts are.
struct Flavour {
  const char* name;
  const char* wine;
  const char* prefix;
  const char* till;
  const char* minimal;
};
void PrintTo(const Flavour& flavour, std::ostream* out) { *out << flavour.name; }
const Flavour kWin64{"win64", REGULARS_WINE64, REGULARS_WINE_PREFIX "64", REGULARS_WIN64_DIR "/win_till.exe", REGULARS_WIN64_DIR "/minimal.exe"};
const Flavour kWin32{"win32", REGULARS_WINE32, REGULARS_WINE_PREFIX "32", REGULARS_WIN32_DIR "/win_till.exe", REGULARS_WIN32_DIR "/minimal.exe"};

// The command line that runs `program` (and its arguments) under a flavour's Wine.
std::string wine_command(const Flavour& flavour, const std::string& program) {
  return std::string("WINEPREFIX=") + flavour.prefix + " WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' " + flavour.wine + " " + program;
}

// Why this machine cannot run a flavour's Wine at all, or "". A kernel without IA32 emulation
// (some virtual machines turn it off) refuses every 32-bit x86 program with ENOEXEC, and then
// the 32-bit tests cannot run here; any other failure of Wine fails them as usual. Asked once.
const std::string& cannot_run(const Flavour& flavour) {
  static const std::string win32 = [] {
    std::string out;
    const int rc = run_command(std::string(REGULARS_WINE32) + " --version", out);
    if (rc == 0 || out.find("Exec format error") == std::string::npos) return std::string();
    return "this machine's kernel does not run 32-bit x86 programs (IA32 emulation is off): " + out;
  }();
  static const std::string none;
  return std::string(flavour.name) == "win32" ? win32 : none;
}

class WindowsTill : public TlsDaemonTest, public ::testing::WithParamInterface<Flavour> {
 protected:
  void SetUp() override {
    if (const auto& why = cannot_run(GetParam()); !why.empty()) GTEST_SKIP() << why;
    TlsDaemonTest::SetUp();
    token_ = issue("lane-win").second;
    wait_for_rsa_key();
  }

  // The daemon makes its RSA spool key on a thread of its own at first start; a Windows till
  // learns it at hello, so the tests begin once it is there.
  void wait_for_rsa_key() {
    const std::string pub = daemon_->data_dir() + "/spool_rsa.pub";
    for (int i = 0; i < 500 && !fs::exists(pub); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(fs::exists(pub)) << "regularsd never made its RSA spool key";
  }

  // Wine sees the Linux file system as drive Z:.
  static std::string windows_path(const std::string& path) { return "Z:" + path; }

  // A budget that holds a process's first TLS handshake under Wine on a busy machine (Schannel's
  // libraries load then; with 1 s, a first record was once spooled before the hello). Tests of
  // the budget set their own.
  json till_options(json extra = json::object()) {
    json o = {{"endpoint", "tls:127.0.0.1:" + std::to_string(port())}, {"ca_file", windows_path(ca())},
              {"token", token_}, {"terminal", "lane-win"}, {"budget_ms", 5000}, {"spool_dir", windows_path(dir_.sub("win-spool"))}};
    o.update(extra);
    return o;
  }

  std::string till_command(const json& options, const std::string& ops) {
    const std::string file = dir_.sub("till-" + std::to_string(++runs_) + ".json");
    std::ofstream(file) << options.dump();
    return wine(GetParam().till) + " " + windows_path(file) + " " + ops;
  }
  static std::string wine(const std::string& program) { return wine_command(GetParam(), program); }

  // Runs the Windows till once: it opens a client, makes the calls `ops`, and closes it.
  std::vector<json> run_till(const json& options, const std::string& ops) {
    std::string out;
    const int rc = run_command(till_command(options, ops), out);
    EXPECT_EQ(rc, 0) << out;
    auto lines = till_lines(out);
    EXPECT_FALSE(lines.empty()) << out;
    if (!lines.empty()) {
      EXPECT_EQ(lines.front()["status"], REGULARS_OK) << "regulars_open: " << lines.front();
    }
    return lines;
  }

  long long events_named(const std::string& prefix) {
    return StoreFile(daemon_->db_path()).count("SELECT count(*) FROM events WHERE event_id LIKE '" + prefix + "%'");
  }

  std::vector<std::string> spool_files() const {
    std::vector<std::string> out;
    if (!fs::exists(dir_.sub("win-spool"))) return out;
    for (const auto& e : fs::directory_iterator(dir_.sub("win-spool")))
      if (e.path().filename().string().rfind("spool-", 0) == 0) out.push_back(e.path().string());
    return out;
  }

  std::string token_;
  int runs_ = 0;
};

TEST_P(WindowsTill, RecordsAndGetsHintsOverTlsEndToEnd) {
  const auto lines = run_till(till_options(), "record:win-e2e-1:4000777 record:win-e2e-2:4000777 hints:4000777");
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[1]["status"], REGULARS_OK) << lines[1];
  EXPECT_EQ(lines[2]["status"], REGULARS_OK) << lines[2];
  ASSERT_EQ(lines[3]["status"], REGULARS_OK) << lines[3];
  EXPECT_EQ(lines[3]["answer"]["customer"]["known"], true) << lines[3];
  EXPECT_EQ(lines[3]["answer"]["customer"]["visits"], 2) << lines[3];
  EXPECT_EQ(events_named("win-e2e-"), 2);
  // By host name: the lookup runs on a thread of its own, bounded by the budget.
  const auto by_name = run_till(till_options({{"endpoint", "tls:localhost:" + std::to_string(port())}}), "hints:4000777");
  ASSERT_EQ(by_name.size(), 3u);
  EXPECT_EQ(by_name[1]["status"], REGULARS_OK) << by_name[1];
  // The daemon saw a TLS lane with its token, named as the token names it.
  EXPECT_NE(daemon_->log().find("\"terminal\":\"lane-win\""), std::string::npos);
}

TEST_P(WindowsTill, WithTheDaemonDownHintsFailFastRecordsSpoolAndAnotherProcessReplaysThemOnce) {
  // One hello, so the till knows the daemon's spool key (kept beside its spool).
  const auto hello = run_till(till_options(), "record:win-spool-0:4000888");
  ASSERT_EQ(hello.size(), 3u);
  ASSERT_EQ(hello[1]["status"], REGULARS_OK) << hello[1];
  ASSERT_TRUE(fs::exists(dir_.sub("win-spool") + "/regularsd.pub"));
  // The folder the plugin made is its account's alone (Wine shows the access list it was given as
  // the Unix mode: nothing for others).
  EXPECT_EQ(fs::status(dir_.sub("win-spool")).permissions() & fs::perms::others_all, fs::perms::none);
  const json options = till_options({{"budget_ms", 300}});
  daemon_->stop();

  const auto down = run_till(options, "hints:4000888 record:win-spool-1:4000888 record:win-spool-2:4000888 record:win-spool-3:4000888");
  ASSERT_EQ(down.size(), 6u);
  EXPECT_EQ(down[1]["status"], REGULARS_UNAVAILABLE) << down[1];
  EXPECT_LT(down[1]["ms"].get<double>(), 300.0 + 25.0) << "hints with the daemon down must fail within the budget";
  for (int i = 2; i <= 4; ++i) EXPECT_EQ(down[static_cast<std::size_t>(i)]["status"], REGULARS_OK) << down[static_cast<std::size_t>(i)];
  // Spooled, sealed: no raw card number on the till's disk.
  const auto files = spool_files();
  ASSERT_EQ(files.size(), 1u);
  const std::string spooled = read_file(files.front());
  EXPECT_EQ(spooled.find("4000888"), std::string::npos);
  // One record key per till process, wrapped once: the three records carry the same wrapped key
  // (after each record's 12-byte frame, its version, length and 256 bytes), so the daemon does
  // one RSA operation for them all.
  ASSERT_GT(spooled.size(), 12u + 259u);
  const std::string wrapped = spooled.substr(12, 259);
  std::size_t seen = 0;
  for (std::size_t at = spooled.find(wrapped); at != std::string::npos; at = spooled.find(wrapped, at + 1)) ++seen;
  EXPECT_EQ(seen, 3u);

  daemon_->start();
  // A second process on the same spool folder claims the file its predecessor left and replays it.
  run_till(till_options(), "wait:4000");
  EXPECT_EQ(events_named("win-spool-"), 4);
  EXPECT_TRUE(spool_files().empty());
  // Exactly once: another process finds nothing more to send.
  run_till(till_options(), "wait:1500");
  EXPECT_EQ(events_named("win-spool-"), 4);
  EXPECT_FALSE(fs::exists(dir_.sub("win-spool") + "/quarantine")) << "nothing was set aside";
}

// Paths are UTF-8 in the options, as on Linux: a spool folder named in another script keeps
// working offline, its daemon key read back from the folder by a process that never met the daemon.
TEST_P(WindowsTill, ASpoolFolderNamedInAnotherScriptWorksOffline) {
  const json options = till_options({{"spool_dir", windows_path(dir_.sub("spool-caf\u00e9-\u06a9\u0627\u0641\u0647"))}});
  run_till(options, "record:win-script-0:4000555");
  daemon_->stop();
  const auto down = run_till(options, "record:win-script-1:4000555");
  ASSERT_EQ(down.size(), 3u);
  EXPECT_EQ(down[1]["status"], REGULARS_OK) << down[1];
  daemon_->start();
  run_till(till_options({{"spool_dir", options["spool_dir"]}}), "wait:3000");
  EXPECT_EQ(events_named("win-script-"), 2);
}

TEST_P(WindowsTill, WithTheDaemonFrozenEveryCallReturnsWithinItsBudget) {
  run_till(till_options(), "record:win-frozen-0:4000999");  // the spool key, beside the spool
  constexpr int kBudgetMs = 300;
  const std::string log = dir_.sub("frozen-till.log");
  // The till connects and answers once, then calls again while the daemon is frozen.
  const std::string command = till_command(till_options({{"budget_ms", kBudgetMs}}),
                                           "hints:4000999 wait:3000 hints:4000999 record:win-frozen-1:4000999 "
                                           "hints:4000999 record:win-frozen-2:4000999");
  tools::ChildProcess till({"bash", "-c", command}, log);
  for (int i = 0; i < 1500 && read_file(log).find("\"op\":\"hints\"") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_NE(read_file(log).find("\"op\":\"hints\""), std::string::npos) << read_file(log);
  daemon_->suspend();
  const auto status = till.wait_exit(std::chrono::seconds(60));
  daemon_->resume();
  ASSERT_TRUE(status.has_value()) << "the till did not finish";
  const auto lines = till_lines(read_file(log));
  ASSERT_EQ(lines.size(), 7u) << read_file(log);
  EXPECT_EQ(lines[1]["status"], REGULARS_OK) << lines[1];
  for (std::size_t i = 2; i <= 5; ++i) {
    EXPECT_LE(lines[i]["ms"].get<double>(), kBudgetMs + 25.0) << lines[i];
    // A record is spooled (durable) when the daemon does not answer. A hint cannot be: the first
    // times out, and the client, having given up on the connection, fails the next ones at once.
    if (lines[i]["op"] == "record") {
      EXPECT_EQ(lines[i]["status"], REGULARS_OK) << lines[i];
    } else {
      EXPECT_TRUE(lines[i]["status"] == REGULARS_TIMEOUT || lines[i]["status"] == REGULARS_UNAVAILABLE) << lines[i];
    }
  }
  // Thawed, the daemon holds each record once, whether it took it from the socket or the spool.
  run_till(till_options(), "wait:3000");
  EXPECT_EQ(events_named("win-frozen-"), 3);
}

TEST_P(WindowsTill, AWrongTokenOrAWrongCaIsRefusedWithTheDocumentedStatus) {
  std::string wrong = token_;
  wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
  const auto impostor = run_till(till_options({{"token", wrong}}), "hints:4000123 record:win-refused-1:4000123");
  ASSERT_EQ(impostor.size(), 4u);
  EXPECT_EQ(impostor[1]["status"], REGULARS_UNAVAILABLE) << impostor[1];
  EXPECT_NE(impostor[1]["error"].get<std::string>().find("token is not valid"), std::string::npos) << impostor[1];

  make_certs(dir_.sub("other-ca"));
  const auto misled = run_till(till_options({{"ca_file", windows_path(dir_.sub("other-ca") + "/ca.crt")}}), "hints:4000123");
  ASSERT_EQ(misled.size(), 3u);
  EXPECT_EQ(misled[1]["status"], REGULARS_UNAVAILABLE) << misled[1];
  EXPECT_NE(misled[1]["error"].get<std::string>().find("certificate"), std::string::npos) << misled[1];
  EXPECT_EQ(events_named("win-refused-"), 0);

  // A CA file that is not one is refused at open, naming the option, as on Linux.
  std::string out;
  run_command(till_command(till_options({{"ca_file", windows_path(dir_.sub("tls") + "/nothing.pem")}}), "hints:4000123"), out);
  const auto lines = till_lines(out);
  ASSERT_FALSE(lines.empty()) << out;
  EXPECT_EQ(lines[0]["status"], REGULARS_INVALID_INPUT) << lines[0];
  EXPECT_NE(lines[0]["error"].get<std::string>().find("options.ca_file"), std::string::npos) << lines[0];
}

TEST_P(WindowsTill, StatusTextsAreTheSameAsOnLinux) {
  std::string out;
  ASSERT_EQ(run_command(wine(GetParam().till) + " strerror", out), 0) << out;
  const auto start = out.find('[');
  ASSERT_NE(start, std::string::npos) << out;
  const json texts = json::parse(out.substr(start, out.find(']', start) - start + 1));
  ASSERT_EQ(texts.size(), static_cast<std::size_t>(REGULARS_IO) + 2);
  for (int s = 0; s <= REGULARS_IO + 1; ++s)
    EXPECT_EQ(texts[static_cast<std::size_t>(s)], plugin_.strerror(static_cast<regulars_status>(s))) << s;
}

// sdk/examples/minimal.c as a Windows integrator builds it, against the import library. With a
// budget that holds a process's first TLS handshake under Wine on a busy machine (Schannel's
// libraries load then): with 200 ms, its record was sometimes spooled and its hints unavailable.
TEST_P(WindowsTill, TheMinimalExampleRecordsAndGetsHints) {
  std::string out;
  ASSERT_EQ(run_command(wine(GetParam().minimal) + " tls:127.0.0.1:" + std::to_string(port()) + " " + windows_path(dir_.sub("minimal-spool")) +
                            " " + windows_path(ca()) + " " + token_ + " 2000",
                        out),
            0)
      << out;
  EXPECT_NE(out.find("\"known\":true"), std::string::npos) << out;
  EXPECT_EQ(StoreFile(daemon_->db_path()).count("SELECT count(*) FROM events WHERE type='purchase'"), 1);
}

// An ECDSA signature whose r or s has fewer than 32 significant bytes (a certificate in about
// 128): Wine's crypt32 refused such a server certificate, so the plugin checks the signature
// itself. The store's certificate is made again (make-tls.sh keeps the CA) until it is one.
class WindowsTillShortSignature : public WindowsTill {
 protected:
  std::vector<std::string> daemon_args() override {
    for (int i = 0; i < 3000; ++i) {
      make_certs(dir_.sub("tls"));
      if (has_short_signature_part(dir_.sub("tls") + "/server.crt")) return tls_config();
    }
    throw std::runtime_error("no certificate with a short signature part in 3000 tries");
  }
  // The DER ECDSA-Sig-Value as `openssl x509 -text` prints it; true when r or s is under 32 bytes.
  static bool has_short_signature_part(const std::string& cert) {
    std::string out;
    run_command("openssl x509 -in " + cert + " -noout -text", out);
    std::vector<int> der;
    for (std::istringstream in(out.substr(out.rfind("Signature Value:") + 16)); !in.eof();) {
      std::string byte;
      std::getline(in, byte, ':');
      byte.erase(std::remove_if(byte.begin(), byte.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }), byte.end());
      if (!byte.empty()) der.push_back(std::stoi(byte, nullptr, 16));
    }
    auto short_at = [&](std::size_t tag) {  // the INTEGER at `tag`: its length and first byte
      return tag + 2 < der.size() && (der[tag + 1] < 32 || (der[tag + 1] == 32 && der[tag + 2] == 0));
    };
    if (der.size() < 8) return false;
    const std::size_t r = 2, s = r + 2 + static_cast<std::size_t>(der[r + 1]);
    return short_at(r) || short_at(s);
  }
};

TEST_P(WindowsTillShortSignature, AServerCertificateWithAShortSignaturePartIsTakenAsTheCaSignedIt) {
  const auto lines = run_till(till_options(), "hints:4000321");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["status"], REGULARS_OK) << lines[1];
}

INSTANTIATE_TEST_SUITE_P(Builds, WindowsTillShortSignature, ::testing::Values(kWin64, kWin32),
                         [](const ::testing::TestParamInfo<Flavour>& flavour) { return std::string(flavour.param.name); });

INSTANTIATE_TEST_SUITE_P(Builds, WindowsTill, ::testing::Values(kWin64, kWin32),
                         [](const ::testing::TestParamInfo<Flavour>& flavour) { return std::string(flavour.param.name); });

// tests/abi/c_header_test.c, built with MinGW as C99 and C89 against the import library: the
// header, every status's text, and the calls that need no daemon, on Windows.
class WindowsAbi : public ::testing::TestWithParam<Flavour> {};

TEST_P(WindowsAbi, TheCHeaderTestPassesAsC99AndC89) {
  if (const auto& why = cannot_run(GetParam()); !why.empty()) GTEST_SKIP() << why;
  const std::string dir = std::string(GetParam().till).substr(0, std::string(GetParam().till).rfind('/'));
  for (const char* program : {"/abi_c_header_c99.exe", "/abi_c_header_c90.exe"}) {
    std::string out;
    EXPECT_EQ(run_command(wine_command(GetParam(), dir + program), out), 0) << program << ": " << out;
    EXPECT_NE(out.find("regulars.h OK as C"), std::string::npos) << program << ": " << out;
  }
}

INSTANTIATE_TEST_SUITE_P(Builds, WindowsAbi, ::testing::Values(kWin64, kWin32),
                         [](const ::testing::TestParamInfo<Flavour>& flavour) { return std::string(flavour.param.name); });

// What a DLL exports and which DLLs it needs, as objdump reads its PE headers.
struct PeTables {
  std::vector<std::string> exports, imports;
};

PeTables pe_tables(const std::string& objdump, const std::string& dll) {
  std::string out;
  EXPECT_EQ(run_command(objdump + " -p " + dll, out), 0) << out;
  PeTables t;
  std::istringstream in(out);
  bool in_exports = false;
  for (std::string line; std::getline(in, line);) {
    if (line.find("DLL Name:") != std::string::npos) t.imports.push_back(line.substr(line.find(':') + 2));
    if (line.rfind("[Ordinal/Name Pointer] Table", 0) == 0) in_exports = true;
    else if (in_exports && line.find(']') != std::string::npos) t.exports.push_back(line.substr(line.find(']') + 2));
    else if (in_exports && line.empty()) in_exports = false;
  }
  return t;
}

// Both DLLs, 64-bit and 32-bit.
TEST(WindowsDll, ExportsTheCAbiAloneAndNeedsOnlyDllsEveryWindowsHas) {
  const std::vector<std::string> abi = {"regulars_close", "regulars_free",   "regulars_hints",    "regulars_last_error",
                                        "regulars_open",  "regulars_record", "regulars_strerror", "regulars_version"};
  const std::vector<std::string> system = {"advapi32.dll", "bcrypt.dll", "crypt32.dll", "kernel32.dll",
                                           "msvcrt.dll",   "secur32.dll", "ws2_32.dll"};
  for (const auto& [objdump, dll] : {std::pair<std::string, std::string>{"x86_64-w64-mingw32-objdump", REGULARS_WIN64_DIR "/regulars.dll"},
                                     std::pair<std::string, std::string>{"i686-w64-mingw32-objdump", REGULARS_WIN32_DIR "/regulars.dll"}}) {
    PeTables t = pe_tables(objdump, dll);
    std::sort(t.exports.begin(), t.exports.end());
    EXPECT_EQ(t.exports, abi) << dll;
    for (auto& name : t.imports) {
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      EXPECT_NE(std::find(system.begin(), system.end(), name), system.end()) << dll << " needs " << name;
    }
  }
}

// packaging/: regulars-<version>-win64.zip and -win32.zip, with what the Windows README lists.
TEST(WindowsZip, HoldsWhatAWindowsIntegratorNeeds) {
  for (const std::string zip : {REGULARS_WIN64_ZIP, REGULARS_WIN32_ZIP}) {
    std::string out;
    ASSERT_EQ(run_command("cmake -E tar tf " + zip, out), 0) << out;
    for (const char* file : {"/regulars.dll", "/lib/regulars.lib", "/lib/libregulars.dll.a", "/lib/regulars.def",
                             "/include/regulars/regulars.h", "/examples/minimal.c", "/csharp/NativeMethods.cs",
                             "/csharp/LibraryLoader.cs", "/csharp/Properties.cs", "/README.md"})
      EXPECT_NE(out.find(std::string(file) + "\n"), std::string::npos) << zip << " lacks " << file << "\n" << out;
    EXPECT_EQ(out.find("Regulars.dll.config"), std::string::npos) << "Mono's mapping to the Linux library is not for Windows";
  }
}

}  // namespace
}  // namespace regulars::test
