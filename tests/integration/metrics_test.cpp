// Monitoring against a real regularsd: /metrics is valid Prometheus text (promtool says so), its
// counters move by exactly what the tills did, it names no customer, and /healthz tells a store
// that can make records durable from one that cannot (the disk shim's full disk). Both are open
// from this machine, and from elsewhere only with the metrics token.
#include <ifaddrs.h>
#include <net/if.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "fixture.hpp"
#include "power_cut.hpp"

namespace regulars::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPromtool = "/usr/bin/promtool";

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One GET over a real TCP connection to `ipv4:port`, with a bearer token when one is given.
HttpAnswer http_get(const std::string& ipv4, int port, const std::string& path, const std::string& token = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ipv4.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    ADD_FAILURE() << "cannot connect to " << ipv4 << ":" << port;
    return {};
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: regularsd\r\nConnection: close\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  request += "\r\n";
  EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string response;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto head_end = response.find("\r\n\r\n");
  if (response.size() < 12 || head_end == std::string::npos) {
    ADD_FAILURE() << "no HTTP answer: " << response;
    return {};
  }
  HttpAnswer a;
  a.status = std::stoi(response.substr(9, 3));
  a.body = response.substr(head_end + 4);
  std::smatch m;
  const std::string head = response.substr(0, head_end);
  if (std::regex_search(head, m, std::regex("\r\nContent-Type: ([^\r]*)", std::regex::icase))) a.content_type = m[1];
  return a;
}

// Every sample of a Prometheus text body: "name{labels}" (as written) -> value.
std::map<std::string, double> samples(const std::string& body) {
  std::map<std::string, double> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// promtool's verdict on `body`: its exit status, and what it printed.
int promtool_check(const std::string& body, const TempDir& dir, std::string& said) {
  const std::string file = dir.sub("metrics.txt");
  std::ofstream(file) << body;
  return run_command(std::string(kPromtool) + " check metrics < " + file + " 2>&1", said);
}

// A non-loopback IPv4 address of this machine, or "" when it has none.
std::string non_loopback_ipv4() {
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0) return "";
  std::string found;
  for (const ifaddrs* i = all; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
      continue;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    found = text;
  }
  ::freeifaddrs(all);
  return found;
}

std::string read_line(const std::string& file) {
  std::string line;
  std::getline(std::ifstream(file), line);
  return line;
}

class Monitoring : public DaemonTest {
 protected:
  int admin_port() {
    std::string endpoint;
    const int fd = connect_admin(endpoint);  // waits until the port answers
    if (fd >= 0) ::close(fd);
    return std::atoi(endpoint.c_str() + endpoint.rfind(':') + 1);
  }
  HttpAnswer get(const std::string& path, const std::string& token = "") { return http_get("127.0.0.1", admin_port(), path, token); }
  std::map<std::string, double> scrape() {
    const HttpAnswer a = get("/metrics");
    EXPECT_EQ(a.status, 200) << a.body;
    return samples(a.body);
  }
  std::string metrics_token() { return read_line(daemon_->data_dir() + "/metrics.token"); }

  // One request over the till socket (after hello); returns the answer's "ok" or error code.
  std::string till_request(RawConnection& c, const json& request) {
    c.send_frame(request.dump());
    return error_code(c.read_frame());
  }
  static json raw_record(const std::string& event_id, const std::string& card_value, const std::string& sku) {
    return {{"id", 1},
            {"op", "record"},
            {"event",
             {{"type", "purchase"},
              {"event_id", event_id},
              {"customer", {{"kind", "card"}, {"value", card_value}}},
              {"lines", {{{"sku", sku}, {"name", sku}, {"qty", 1}, {"unit_price", 250}}}}}}};
  }
  static json raw_hints(const std::string& card_value) {
    return {{"id", 2}, {"op", "hints"}, {"request", {{"customer", {{"kind", "card"}, {"value", card_value}}}}}};
  }
};

TEST_F(Monitoring, MetricsArePrometheusTextThatPromtoolAccepts) {
  ASSERT_TRUE(fs::exists(kPromtool)) << kPromtool << " is missing: apt-get install prometheus (packaging/setup.sh does)";
  regulars_client* c = client();
  ASSERT_EQ(plugin_.record(c, consent("4000555").c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(c, purchase("4000555", {"milk", "bread"}).c_str()), REGULARS_OK) << plugin_.last_error();
  EXPECT_EQ(visits(c, "4000555"), 1);

  const HttpAnswer a = get("/metrics");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.content_type, "text/plain; version=0.0.4; charset=utf-8");
  std::string said;
  EXPECT_EQ(promtool_check(a.body, dir_, said), 0) << "promtool check metrics:\n" << said << "\nbody:\n" << a.body;
  // Every metric the README promises is there.
  for (const char* name : {"regulars_hints_duration_seconds_bucket", "regulars_records_total", "regulars_spool_replays_total",
                           "regulars_wal_flush_duration_seconds_bucket", "regulars_wal_bytes", "regulars_errors_total",
                           "regulars_connected_lanes", "regulars_gesture_offers_total", "regulars_build_info"})
    EXPECT_NE(a.body.find(std::string("\n") + name), std::string::npos) << name << " is missing:\n" << a.body;
  const auto s = samples(a.body);
  EXPECT_GT(s.at("regulars_wal_bytes"), 0);
  EXPECT_GE(s.at("regulars_wal_flush_duration_seconds_count"), 2) << "two records, each acknowledged after a flush";
  EXPECT_GE(s.at("regulars_connected_lanes{transport=\"socket\"}"), 1) << "the test's client is connected";
}

TEST_F(Monitoring, CountersMoveByExactlyWhatTheTillsDid) {
  RawConnection till(daemon_->socket_path());
  const auto before = scrape();
  constexpr int kRecords = 4, kHints = 6;
  for (int i = 0; i < kRecords; ++i)
    ASSERT_EQ(till_request(till, raw_record("mt-" + std::to_string(i), "4000600", "tea")), "ok");
  ASSERT_EQ(till_request(till, raw_record("mt-0", "4000600", "tea")), "ok");  // a retry: stored once
  for (int i = 0; i < kHints; ++i) ASSERT_EQ(till_request(till, raw_hints("4000600")), "ok");
  json bad = raw_record("mt-bad", "4000600", "tea");
  bad["event"]["lines"][0]["qty"] = -3;
  ASSERT_EQ(till_request(till, bad), "invalid_event");
  ASSERT_EQ(till_request(till, {{"id", 3}, {"op", "no_such_op"}}), "unknown_op");
  const auto after = scrape();

  auto moved = [&](const std::string& series) { return after.at(series) - before.at(series); };
  EXPECT_EQ(moved("regulars_records_total{outcome=\"stored\"}"), kRecords);
  EXPECT_EQ(moved("regulars_records_total{outcome=\"duplicate\"}"), 1);
  EXPECT_EQ(moved("regulars_records_total{outcome=\"invalid\"}"), 1);
  EXPECT_EQ(moved("regulars_records_total{outcome=\"failed\"}"), 0);
  EXPECT_EQ(moved("regulars_spool_replays_total{outcome=\"stored\"}"), 0) << "nothing came from a spool";
  EXPECT_EQ(moved("regulars_hints_duration_seconds_count"), kHints);
  EXPECT_GT(moved("regulars_hints_duration_seconds_sum"), 0);
  EXPECT_LT(moved("regulars_hints_duration_seconds_sum"), kHints * 0.05) << "each well within a till's 50 ms budget";
  EXPECT_EQ(moved("regulars_errors_total{code=\"invalid_event\"}"), 1);
  EXPECT_EQ(moved("regulars_errors_total{code=\"unknown_op\"}"), 1);
  EXPECT_EQ(moved("regulars_errors_total{code=\"internal\"}"), 0);
  EXPECT_GE(moved("regulars_wal_flush_duration_seconds_count"), 1);
  EXPECT_EQ(after.at("regulars_connected_lanes{transport=\"socket\"}"), 1) << "the raw connection said hello";
}

TEST_F(Monitoring, EventsFromATillsSpoolAreCountedAsReplays) {
  regulars_client* c = open_client(50);  // learns the spool key from the running daemon
  ASSERT_EQ(plugin_.record(c, consent("4000700").c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(daemon_->stop(), 0);
  constexpr int kSpooled = 3;
  for (int i = 0; i < kSpooled; ++i)
    ASSERT_EQ(plugin_.record(c, purchase("4000700", {"soup"}, "spooled-" + std::to_string(i)).c_str()), REGULARS_OK)
        << plugin_.last_error();
  daemon_->start();
  ASSERT_EQ(wait_for_visits(c, "4000700", kSpooled), kSpooled) << "the spool was not replayed";
  const auto s = scrape();  // a new process: its counters start from zero
  EXPECT_EQ(s.at("regulars_spool_replays_total{outcome=\"stored\"}"), kSpooled);
  EXPECT_GE(s.at("regulars_records_total{outcome=\"stored\"}"), kSpooled) << "replays are records too";
}

TEST_F(Monitoring, GestureOffersAreCountedByOutcome) {
  // The fixture's admin() reads admin.token before it waits for the admin port: wait first,
  // for the token is written before the port opens.
  admin_port();
  const auto [added, answer] = admin("POST", "/v1/gestures",
                                     json::parse(R"({"id": "coffee-thanks", "when": {"bought": {"sku": "coffee"}},
                                                     "gesture": {"kind": "discount", "amount": 50}})"));
  ASSERT_EQ(added, 200) << answer.dump();
  regulars_client* c = client();
  ASSERT_EQ(plugin_.record(c, consent("4000800").c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(c, purchase("4000800", {"coffee"}).c_str()), REGULARS_OK) << plugin_.last_error();
  const auto before = scrape();
  const json offers = hints(c, "4000800")["offers"];
  ASSERT_EQ(offers.size(), 1u) << offers.dump();
  const json outcome = {{"type", "offer_outcome"}, {"offer_id", offers[0]["offer_id"]}, {"outcome", "accepted"}};
  ASSERT_EQ(plugin_.record(c, outcome.dump().c_str()), REGULARS_OK) << plugin_.last_error();
  const auto after = scrape();
  EXPECT_EQ(after.at("regulars_gesture_offers_total{outcome=\"offered\"}") -
                before.at("regulars_gesture_offers_total{outcome=\"offered\"}"),
            1);
  EXPECT_EQ(after.at("regulars_gesture_offers_total{outcome=\"accepted\"}") -
                before.at("regulars_gesture_offers_total{outcome=\"accepted\"}"),
            1);
  EXPECT_EQ(after.at("regulars_gesture_offers_total{outcome=\"declined\"}"), 0);
}

// Identifiers, names, SKUs, cashiers, lanes and stores the tills sent appear nowhere, and every
// label is one of the few fixed ones: the number of series does not grow with the shop.
TEST_F(Monitoring, MetricsNameNoCustomerAndHaveOnlyFixedLabels) {
  regulars_client* c = client();
  const json who = {{"kind", "phone"}, {"value", "+98 912 555 0147"}};
  json consent_event = {{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}};
  ASSERT_EQ(plugin_.record(c, consent_event.dump().c_str()), REGULARS_OK) << plugin_.last_error();
  const json sale = {{"type", "purchase"},
                     {"customer", who},
                     {"cashier", "cashier-Shirin"},
                     {"store", "store-Tajrish"},
                     {"lines", {{{"sku", "sku-zebra-771"}, {"name", "Saffron Zebra Cake"}, {"qty", 1}, {"unit_price", 990}}}}};
  ASSERT_EQ(plugin_.record(c, sale.dump().c_str()), REGULARS_OK) << plugin_.last_error();
  const json profile = {{"type", "profile"}, {"customer", who}, {"name", "Parvaneh Metricsova"}};
  plugin_.record(c, profile.dump().c_str());  // known or refused, the name must not show either way
  EXPECT_EQ(visits(c, "31337999"), -1);
  ask(who);

  const HttpAnswer a = get("/metrics");
  ASSERT_EQ(a.status, 200);
  // The text without the sample values (numbers that may hold any digits by chance).
  std::string names;
  std::istringstream lines(a.body);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) names += (line[0] == '#' ? line : line.substr(0, line.rfind(' '))) + "\n";
  for (const char* secret : {"0147", "555", "Shirin", "Tajrish", "zebra", "Zebra", "Saffron", "Parvaneh", "Metricsova",
                             "31337", "lane-1", "phone"})
    EXPECT_EQ(names.find(secret), std::string::npos) << "/metrics shows '" << secret << "':\n" << a.body;
  const std::set<std::string> allowed = {"outcome", "code", "transport", "version", "le"};
  const std::regex label(R"(([a-z_]+)=")");
  for (const auto& [series, _] : samples(a.body))
    for (std::sregex_iterator m(series.begin(), series.end(), label), end; m != end; ++m)
      EXPECT_TRUE(allowed.count((*m)[1])) << "unexpected label in " << series;
}

TEST_F(Monitoring, HealthzSaysWhetherARecordCanBeMadeDurable) {
  const HttpAnswer ok = get("/healthz");
  ASSERT_EQ(ok.status, 200) << ok.body;
  const json body = json::parse(ok.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_GE(body["probe_ms"].get<double>(), 0);
  // The probe is a real commit, flushed: its row is in the store.
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.count("SELECT count(*) FROM store_meta WHERE key='health_probe_ms'"), 1);
}

class MonitoringOnAFullDisk : public Monitoring {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(dir_.sub("data"), std::vector<std::string>{});
    daemon_->set_env(disk_shim_env({daemon_->data_dir()}, "", dir_.sub("disk-is-full")));
    daemon_->start();
  }
  // /healthz's answer once it has the expected status, polled for up to 10 s (answers are
  // reused for a second).
  HttpAnswer healthz_until(int status) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    HttpAnswer a = get("/healthz");
    while (a.status != status && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      a = get("/healthz");
    }
    return a;
  }
};

TEST_F(MonitoringOnAFullDisk, HealthzIsUnavailableWhileTheDiskIsFullAndRecovers) {
  ASSERT_EQ(healthz_until(200).status, 200);
  std::ofstream(dir_.sub("disk-is-full")) << "full\n";
  const HttpAnswer full = healthz_until(503);
  ASSERT_EQ(full.status, 503) << full.body;
  const json body = json::parse(full.body);
  EXPECT_EQ(body["status"], "unavailable");
  EXPECT_NE(body["reason"].get<std::string>().find("full"), std::string::npos) << full.body;
  // /metrics still answers: it reads memory only.
  EXPECT_EQ(get("/metrics").status, 200);

  fs::remove(dir_.sub("disk-is-full"));
  const HttpAnswer back = healthz_until(200);
  EXPECT_EQ(back.status, 200) << "healthy again once space returns, without a restart: " << back.body;
}

// The monitoring routes from another machine: only with the metrics token (or the owner's); and
// the metrics token opens nothing else.
class MonitoringFromTheNetwork : public Monitoring {
 protected:
  std::vector<std::string> daemon_args() override {
    return with_config(R"({"admin": {"address": "0.0.0.0"}})");
  }
};

TEST_F(MonitoringFromTheNetwork, OnlyTheMetricsTokenOpensTheMonitoringRoutesFromElsewhere) {
  const int port = admin_port();
  // From this machine: open without a token; the owner's routes are not.
  EXPECT_EQ(get("/metrics").status, 200);
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/v1/status").status, 401);
  EXPECT_EQ(get("/v1/status", metrics_token()).status, 401) << "the metrics token is not the owner's";

  const std::string address = non_loopback_ipv4();
  if (address.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address; AdminAccess.* covers the rule";
  const HttpAnswer refused = http_get(address, port, "/metrics");
  EXPECT_EQ(refused.status, 401) << "a peer at " << address << " read /metrics without a token";
  EXPECT_EQ(refused.body.find("regulars_"), std::string::npos);
  EXPECT_EQ(http_get(address, port, "/healthz").status, 401);
  EXPECT_EQ(http_get(address, port, "/metrics", "not-the-token-at-all").status, 401);
  const HttpAnswer with_token = http_get(address, port, "/metrics", metrics_token());
  EXPECT_EQ(with_token.status, 200);
  EXPECT_NE(with_token.body.find("regulars_records_total"), std::string::npos);
  EXPECT_EQ(http_get(address, port, "/healthz", metrics_token()).status, 200);
  EXPECT_EQ(http_get(address, port, "/v1/status", metrics_token()).status, 401);
  EXPECT_EQ(http_get(address, port, "/metrics", read_line(daemon_->data_dir() + "/admin.token")).status, 200);
}

}  // namespace
}  // namespace regulars::test
