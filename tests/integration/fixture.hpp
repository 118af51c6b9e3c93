// Shared set-up for integration tests: a real regularsd in a temporary directory and the real
// plugin loaded with dlopen.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "daemon_process.hpp"
#include "plugin_library.hpp"

namespace regulars::test {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

inline double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// A sanitizer makes every call several times slower. A test that measures time multiplies its
// margin (never the plugin's budget) by this, and says so where it does; 1 in a normal build.
#ifdef REGULARS_UNDER_SANITIZER
inline constexpr double kSanitizerMarginScale = 4.0;
#else
inline constexpr double kSanitizerMarginScale = 1.0;
#endif

inline std::string card(const std::string& value) {
  return json{{"kind", "card"}, {"value", value}}.dump();
}

inline std::string purchase(const std::string& card_value, const std::vector<std::string>& skus,
                            const std::string& event_id = "") {
  json lines = json::array();
  for (const auto& s : skus) lines.push_back({{"sku", s}, {"name", s}, {"qty", 1}, {"unit_price", 150}});
  json e = {{"type", "purchase"}, {"customer", {{"kind", "card"}, {"value", card_value}}}, {"lines", lines}};
  if (!event_id.empty()) e["event_id"] = event_id;
  return e.dump();
}

inline std::string consent(const std::string& card_value, bool personalize = true) {
  return json{{"type", "consent"},
              {"customer", {{"kind", "card"}, {"value", card_value}}},
              {"purposes", {{"remember", true}, {"personalize", personalize}}}}
      .dump();
}

inline std::string hints_request(const std::string& card_value) {
  return json{{"customer", {{"kind", "card"}, {"value", card_value}}}, {"locale", "en"}}.dump();
}

// Read-only look into the daemon's SQLite file.
class StoreFile {
 public:
  explicit StoreFile(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~StoreFile() { sqlite3_close(db_); }
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("bad sql: ") + sqlite3_errmsg(db_));
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }
  long long count(const std::string& sql) { return std::stoll(scalar(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

// "ok", the error code of a socket answer, or "(no answer)" when the daemon sent nothing.
inline std::string error_code(const std::string& response) {
  if (response.empty()) return "(no answer)";
  const json j = json::parse(response);
  if (j.value("ok", true)) return "ok";
  return j["error"]["code"].get<std::string>();
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(dir_.sub("data"), daemon_args());
    before_start(*daemon_);
    daemon_->start();
  }
  void TearDown() override {
    for (auto* c : clients_) plugin_.close(c);
    clients_.clear();
    if (daemon_) {
      daemon_->stop();
      const std::string report = daemon_->sanitizer_report();
      if (!report.empty()) ADD_FAILURE() << "regularsd's log holds a sanitizer report:\n" << report;
    }
  }
  virtual std::vector<std::string> daemon_args() { return {"--log-level", "debug"}; }
  // For a test that starts the daemon differently (its descriptor limit, say).
  virtual void before_start(DaemonProcess&) {}
  // Daemon arguments with a config file holding `config_json` (for daemon_args overrides).
  std::vector<std::string> with_config(const std::string& config_json) {
    const std::string conf = dir_.sub("regularsd.conf");
    std::ofstream(conf) << config_json;
    return {"--log-level", "debug", "--config", conf};
  }

  std::string options(int budget_ms = 50, bool with_spool = true) const {
    json o = {{"endpoint", daemon_->endpoint()}, {"budget_ms", budget_ms}, {"terminal", "lane-1"}, {"store", "main"}};
    if (with_spool) o["spool_dir"] = dir_.sub("spool");
    return o.dump();
  }

  regulars_client* open_client(int budget_ms = 50, bool with_spool = true) {
    regulars_client* c = nullptr;
    const regulars_status s = plugin_.open(options(budget_ms, with_spool).c_str(), &c);
    if (s != REGULARS_OK) throw std::runtime_error(std::string("regulars_open: ") + plugin_.last_error());
    std::lock_guard lock(clients_mu_);  // tests open clients from several threads at once
    clients_.push_back(c);
    return c;
  }

  void close_client(regulars_client* c) {
    std::lock_guard lock(clients_mu_);
    clients_.erase(std::remove(clients_.begin(), clients_.end(), c), clients_.end());
    plugin_.close(c);
  }

  // The hints answer, or an empty object when the call did not succeed.
  json hints(regulars_client* c, const std::string& card_value, regulars_status* status = nullptr) {
    regulars_status s;
    const std::string text = plugin_.hints_text(c, hints_request(card_value), s);
    if (status) *status = s;
    return s == REGULARS_OK ? json::parse(text) : json::object();
  }

  // The customer's visit count, -1 when unknown. These checks are about counts, not time: a call
  // that misses a 50 ms budget on a busy machine (TIMEOUT, then UNAVAILABLE until the plugin's
  // background ping) is asked again, for up to 5 s.
  long long visits(regulars_client* c, const std::string& card_value) {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    regulars_status s = REGULARS_OK;
    json h = hints(c, card_value, &s);
    while ((s == REGULARS_TIMEOUT || s == REGULARS_UNAVAILABLE) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      h = hints(c, card_value, &s);
    }
    if (h.empty() || !h["customer"]["known"].get<bool>()) return -1;
    return h["customer"]["visits"].get<long long>();
  }

  // Polls until the customer's visit count reaches `expected` (spool replays are asynchronous).
  long long wait_for_visits(regulars_client* c, const std::string& card_value, long long expected,
                            std::chrono::seconds timeout = std::chrono::seconds(15)) {
    const auto deadline = Clock::now() + timeout;
    long long v = -1;
    while (Clock::now() < deadline) {
      v = visits(c, card_value);
      if (v >= expected) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return v;
  }

  // One long-budget client per test, opened on first use.
  regulars_client* client() {
    if (!client_) client_ = open_client(2000);
    return client_;
  }

  // The hints answer for `who` (an identifier), with `extra` request fields.
  json ask(const json& who, json extra = json::object()) {
    json req = {{"customer", who}};
    req.update(extra);
    regulars_status s;
    const std::string text = plugin_.hints_text(client(), req.dump(), s);
    EXPECT_EQ(s, REGULARS_OK) << plugin_.last_error();
    return s == REGULARS_OK ? json::parse(text) : json::object();
  }

  static const json* find_hint(const json& answer, const std::string& kind) {
    for (const auto& h : answer["hints"])
      if (h["kind"] == kind) return &h;
    return nullptr;
  }

  // One request to the admin API over a real TCP connection; returns {status, parsed body}.
  // A connection to the admin port named in admin.endpoint, or -1. Right after a restart the
  // file may still name the previous daemon's port until the new one has written it: read it
  // again until the port answers (a few seconds at most).
  int connect_admin(std::string& endpoint) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(3000 * kSanitizerMarginScale));
    for (;;) {
      endpoint.clear();
      std::getline(std::ifstream(daemon_->data_dir() + "/admin.endpoint"), endpoint);
      const auto colon = endpoint.rfind(':');
      const int port = colon == std::string::npos ? 0 : std::atoi(endpoint.c_str() + colon + 1);
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<std::uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (port > 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
      ::close(fd);
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::pair<int, json> admin(const std::string& method, const std::string& target, const json& body = nullptr,
                             bool with_token = true) {
    // The port first: once it answers, the daemon has written admin.token too.
    std::string endpoint, token;
    const int fd = connect_admin(endpoint);
    std::getline(std::ifstream(daemon_->data_dir() + "/admin.token"), token);
    if (fd < 0) {
      ADD_FAILURE() << "cannot connect to the admin API at " << endpoint;
      return {0, nullptr};
    }
    const std::string payload = body.is_null() ? "" : body.dump();
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    if (with_token) request += "Authorization: Bearer " + token + "\r\n";
    if (!payload.empty()) request += "Content-Type: application/json\r\n";
    request += "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n" + payload;
    // A body the server refuses by its declared length may be cut off: the answer comes first.
    const ssize_t sent = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (request.size() < (1u << 20)) {
      EXPECT_EQ(sent, static_cast<ssize_t>(request.size()));
    }
    std::string response;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto head_end = response.find("\r\n\r\n");
    if (response.size() < 12 || head_end == std::string::npos) {
      ADD_FAILURE() << "no HTTP answer: " << response;
      return {0, nullptr};
    }
    return {std::stoi(response.substr(9, 3)), json::parse(response.substr(head_end + 4))};
  }

  // Runs the real regularsctl against this test's daemon.
  int ctl(const std::string& args, std::string& out) {
    return run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + daemon_->data_dir() + " " + args, out);
  }

  TempDir dir_;
  PluginLibrary plugin_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::mutex clients_mu_;
  std::vector<regulars_client*> clients_;  // guarded by clients_mu_
  regulars_client* client_ = nullptr;
};

}  // namespace regulars::test
