// A chain of stores (daemon/chain/CHAIN.md): three real regularsd processes, each on its own SQLite store,
// linked through one real PostgreSQL hub that the test starts in its temporary directory, and
// tills on the real plugin.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "fixture.hpp"
#include "pg_cluster.hpp"
#include "wire/validate.hpp"

namespace regulars::test {
namespace {

constexpr const char* kStoreIds[] = {"A", "B", "C"};

std::string random_secret() {
  std::random_device rd;
  std::string s(32, '\0');
  for (auto& ch : s) ch = static_cast<char>(rd() & 0xff);
  return s;
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
}

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string bin = tools::PgCluster::find_bin_dir();
    ASSERT_FALSE(bin.empty()) << "PostgreSQL is not installed; packaging/setup.sh installs Debian's postgresql";
    const std::string hub_dir = dir_.sub("hub");
    ::mkdir(hub_dir.c_str(), 0700);
    const auto account = tools::PgCluster::server_account(dir_.path());
    hub_port_ = free_port();
    hub_ = std::make_unique<tools::PgCluster>(bin, hub_dir, account, "regulars", hub_tls_settings(account));
    hub_->exec("CREATE DATABASE chain");
    secret_ = random_secret();
    for (const char* id : kStoreIds) stores_.push_back(make_store(id, secret_));
    for (auto& s : stores_) s->start();
  }

  void TearDown() override {
    for (auto& [_, c] : clients_) plugin_.close(c);
    for (auto& s : stores_) {
      if (s->running()) s->stop();
      // A sanitized regularsd writes its reports to its log, where the test would not see them.
      const std::string report = s->sanitizer_report();
      if (!report.empty()) ADD_FAILURE() << s->data_dir() << ": regularsd's log holds a sanitizer report:\n" << report;
    }
  }

  // The hub also listens on TCP with TLS, its certificate from a CA of the chain's own
  // (packaging/make-tls.sh), as a hub on another machine would; the stores verify it.
  std::vector<std::string> hub_tls_settings(const std::optional<tools::Account>& account) {
    const std::string tls = dir_.sub("hub-tls");
    std::string out;
    EXPECT_EQ(run_command("bash " REGULARS_SOURCE_DIR "/packaging/make-tls.sh " + tls + " localhost 127.0.0.1", out), 0) << out;
    if (account) {
      for (const char* f : {"", "/server.crt", "/server.key", "/ca.crt"})
        EXPECT_EQ(::chown((tls + f).c_str(), account->uid, account->gid), 0) << f;
    }
    return {"listen_addresses=127.0.0.1", "port=" + std::to_string(hub_port_), "ssl=on", "ssl_cert_file=" + tls + "/server.crt",
            "ssl_key_file=" + tls + "/server.key"};
  }
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }
  std::string hub_conninfo() const { return "host=localhost port=" + std::to_string(hub_port_) + " dbname=chain user=regulars"; }
  std::string hub_ca() const { return dir_.sub("hub-tls/ca.crt"); }

  // A store's data directory with the given identity secret and a chain section naming the hub.
  std::unique_ptr<DaemonProcess> make_store(const std::string& id, const std::string& secret,
                                            const std::string& conninfo = "", const std::string& ca_file = "") {
    const std::string data = dir_.sub("store-" + id + "-" + std::to_string(stores_made_++));
    ::mkdir(data.c_str(), 0700);
    write_file(data + "/secret.key", secret, 0600);
    // Tills' own times count for gestures (the ROI test makes offers weeks ago).
    const json config = {{"chain", {{"hub", conninfo.empty() ? hub_conninfo() : conninfo}, {"store_id", id}, {"poll_ms", 50},
                                    {"roi_every_s", 1}, {"ca_file", ca_file.empty() ? hub_ca() : ca_file}}},
                         {"gestures", {{"max_clock_skew_minutes", 5'256'000}}}};
    write_file(data + ".conf", config.dump(), 0600);
    return std::make_unique<DaemonProcess>(data, std::vector<std::string>{"--config", data + ".conf", "--log-level", "debug"});
  }

  regulars_client* till(std::size_t store) {
    auto& c = clients_[store];
    if (c == nullptr) {
      const json o = {{"endpoint", stores_[store]->endpoint()}, {"budget_ms", 2000}, {"terminal", "lane-1"},
                      {"store", kStoreIds[store]}, {"spool_dir", dir_.sub(std::string("spool-") + kStoreIds[store])}};
      if (plugin_.open(o.dump().c_str(), &c) != REGULARS_OK) throw std::runtime_error(plugin_.last_error());
    }
    return c;
  }

  json hints_at(std::size_t store, const std::string& card_value) {
    regulars_status s;
    const std::string text = plugin_.hints_text(till(store), hints_request(card_value), s);
    return s == REGULARS_OK ? json::parse(text) : json::object();
  }

  long long visits_at(std::size_t store, const std::string& card_value) {
    const json h = hints_at(store, card_value);
    if (h.empty() || !h["customer"]["known"].get<bool>()) return -1;
    return h["customer"]["visits"].get<long long>();
  }

  // Waits until `check` holds, up to `timeout`; the time it took, or nullopt.
  template <typename Check>
  std::optional<double> wait_until(Check check, std::chrono::milliseconds timeout) {
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < timeout) {
      if (check()) return elapsed_ms(t0);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  json chain_status(const DaemonProcess& store) {
    std::string out;
    const int rc = run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + store.data_dir() + " chain status --json", out);
    EXPECT_EQ(rc, 0) << out;
    return json::parse(out, nullptr, false);
  }

  // GET `path` from a store's admin port (localhost: /metrics needs no token; with `owner`, the
  // owner's token from admin.token goes along); the body, or "".
  static std::string admin_get(const DaemonProcess& store, const std::string& path, bool owner = false) {
    std::string token;
    if (owner) std::getline(std::ifstream(store.data_dir() + "/admin.token"), token);
    std::string endpoint;
    std::getline(std::ifstream(store.data_dir() + "/admin.endpoint"), endpoint);
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) return "";
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(endpoint.c_str() + colon + 1)));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
                                  (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") + "\r\n";
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto body = response.find("\r\n\r\n");
    return body == std::string::npos ? "" : response.substr(body + 4);
  }
  // A metric's value in /metrics text, or -1.
  static double metric(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }

  // A customer of store `store` in the cap tests: "<prefix><store><100 + i>".
  static std::string customer_at(const std::string& prefix, std::size_t store, int i) {
    return prefix + std::to_string(store) + std::to_string(100 + i);
  }
  // `per_store` customers consent and buy at each store, and the hub has carried them all.
  void enrol_at_every_store(const std::string& prefix, int per_store) {
    for (std::size_t s = 0; s < 3; ++s)
      for (int i = 0; i < per_store; ++i) {
        const std::string who = customer_at(prefix, s, i);
        ASSERT_EQ(plugin_.record(till(s), consent(who).c_str()), REGULARS_OK);
        ASSERT_EQ(plugin_.record(till(s), purchase(who, {"tea"}).c_str()), REGULARS_OK);
      }
    ASSERT_TRUE(wait_until([&] { return hub_events() == 3 * per_store * 2; }, std::chrono::seconds(20)));
  }
  // A gesture rule given to every store, as the owner gives a chain's rules.
  void add_rule_everywhere(const json& rule) {
    const std::string file = dir_.sub(rule.at("id").get<std::string>() + ".json");
    std::ofstream(file) << rule.dump();
    for (auto& store : stores_) {
      std::string out;
      ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + store->data_dir() + " gestures add " + file, out), 0) << out;
    }
  }
  // Offers of `rule` made at every store.
  long long offered(const std::string& rule) {
    long long n = 0;
    for (auto& store : stores_)
      n += StoreFile(store->db_path()).count("SELECT count(*) FROM offers WHERE rule_id='" + rule + "' AND status='offered'");
    return n;
  }

  long long hub_events() { return std::stoll(hub_->scalar("SELECT count(*) FROM regulars_events", "chain")); }

  TempDir dir_;
  int hub_port_ = 0;
  std::unique_ptr<tools::PgCluster> hub_;
  std::string secret_;
  int stores_made_ = 0;
  std::vector<std::unique_ptr<DaemonProcess>> stores_;
  PluginLibrary plugin_;
  std::map<std::size_t, regulars_client*> clients_;
};

TEST_F(ChainTest, ACustomerWhoBuysAtOneStoreIsRecognisedAtAnotherWithin2s) {
  ASSERT_EQ(plugin_.record(till(0), consent("7001").c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(till(0), purchase("7001", {"oat-milk", "bread"}).c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7001", {"oat-milk", "eggs"}).c_str()), REGULARS_OK);

  const auto took = wait_until([&] { return visits_at(1, "7001") == 2; }, std::chrono::seconds(10));
  ASSERT_TRUE(took) << "store B never saw the customer's 2 visits at A; B's chain status: " << chain_status(*stores_[1]).dump();
  EXPECT_LT(*took, 2000.0) << "the acceptance asks for B to recognise the customer within 2 s";
  std::printf("store B recognised A's customer %.0f ms after A's last record was acknowledged\n", *took);
  const json h = hints_at(1, "7001");
  EXPECT_TRUE(h["customer"]["consent"]["personalize"].get<bool>()) << h.dump();
  ASSERT_FALSE(h["predictions"].empty()) << h.dump();
  EXPECT_EQ(h["predictions"][0]["sku"], "oat-milk") << "A's items reach B's predictions";
  // C too, and nothing travels back to A twice.
  EXPECT_TRUE(wait_until([&] { return visits_at(2, "7001") == 2; }, std::chrono::seconds(10)));
  EXPECT_EQ(visits_at(0, "7001"), 2);
  EXPECT_EQ(hub_events(), 3);
  const json a = chain_status(*stores_[0]);
  EXPECT_TRUE(a["connected"].get<bool>()) << a.dump();
  EXPECT_EQ(a["out"]["waiting"], 0) << a.dump();
  StoreFile b(stores_[1]->db_path());
  EXPECT_EQ(b.count("SELECT count(*) FROM events WHERE origin = 'A'"), 3);
  // The link's state in /metrics (refreshed once a second).
  std::string text;
  EXPECT_TRUE(wait_until([&] {
    text = admin_get(*stores_[1], "/metrics");
    return metric(text, "regulars_chain_connected") == 1 && metric(text, "regulars_chain_events_applied_total") == 3;
  }, std::chrono::seconds(5))) << text.substr(text.find("regulars_chain"), 1500);
  EXPECT_EQ(metric(text, "regulars_chain_events_waiting_out"), 0);
  EXPECT_EQ(metric(admin_get(*stores_[0], "/metrics"), "regulars_chain_events_published_total"), 3);
}

// Three stores sell to the same customers from several tills while the hub is down for 30 s;
// every record is acknowledged and hints keep working; once the hub is back every store holds
// exactly the visits the tills were told were stored, each counted once.
TEST_F(ChainTest, StoresKeepSellingThroughAHubOutageAndConvergeWithoutLossOrDoubles) {
  constexpr int kCustomers = 5;
  const auto card_of = [](int c) { return "88" + std::to_string(c); };
  std::atomic<long long> stored{0}, failed{0}, hints_ok{0}, hints_failed{0};
  std::atomic<bool> selling{true};
  const auto sell = [&](std::size_t store) {
    regulars_client* c = till(store);
    for (int n = 0; selling.load(); ++n) {
      const std::string who = card_of(n % kCustomers);
      (plugin_.record(c, purchase(who, {"sku-" + std::to_string(n % 7)}).c_str()) == REGULARS_OK ? stored : failed)++;
      regulars_status s;
      plugin_.hints_text(c, hints_request(who), s);
      (s == REGULARS_OK ? hints_ok : hints_failed)++;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  for (std::size_t s = 0; s < stores_.size(); ++s) till(s);  // opened on this thread
  std::vector<std::thread> tills;
  for (std::size_t s = 0; s < stores_.size(); ++s) tills.emplace_back(sell, s);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::string how = hub_->stop();
  const long long before_outage = stored.load();
  std::this_thread::sleep_for(std::chrono::seconds(30));
  const long long during_outage = stored.load() - before_outage;
  const json down = chain_status(*stores_[0]);
  hub_->start();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  selling = false;
  for (auto& t : tills) t.join();

  EXPECT_EQ(failed.load(), 0) << "every record is acknowledged, hub or no hub";
  EXPECT_EQ(hints_failed.load(), 0) << "hints are served from local memory";
  EXPECT_GT(during_outage, 300) << "the tills kept selling while the hub was down (" << how << ")";
  EXPECT_FALSE(down["connected"].get<bool>()) << down.dump();
  EXPECT_EQ(down["failure"]["kind"], "unreachable") << down.dump();
  EXPECT_GT(down["out"]["waiting"].get<long long>(), 0) << down.dump();

  const long long total = stored.load();
  const auto converged = [&] {
    for (std::size_t s = 0; s < stores_.size(); ++s) {
      long long sum = 0;
      for (int c = 0; c < kCustomers; ++c) sum += std::max(0LL, visits_at(s, card_of(c)));
      if (sum != total) return false;
    }
    return true;
  };
  ASSERT_TRUE(wait_until(converged, std::chrono::seconds(30))) << "the stores did not converge on " << total << " visits";
  // Per customer, every store agrees.
  for (int c = 0; c < kCustomers; ++c) {
    const long long at_a = visits_at(0, card_of(c));
    for (std::size_t s = 1; s < stores_.size(); ++s) EXPECT_EQ(visits_at(s, card_of(c)), at_a) << "customer " << c;
  }
  EXPECT_EQ(hub_events(), total) << "each event is on the hub once";
}

// A store killed with -9 while events flow both ways resumes from its watermarks: nothing it
// acknowledged is lost to the chain, and nothing it had applied is applied twice.
TEST_F(ChainTest, AStoreKilledMidSyncConvergesAfterItsRestart) {
  std::atomic<long long> stored{0};
  std::atomic<bool> selling{true};
  for (std::size_t s = 0; s < 2; ++s) till(s);
  std::vector<std::thread> tills;
  for (std::size_t s = 0; s < 2; ++s)
    tills.emplace_back([&, s] {
      for (int n = 0; selling.load(); ++n)
        if (plugin_.record(till(s), purchase("9100", {"sku-" + std::to_string(n % 5)}).c_str()) == REGULARS_OK) ++stored;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stores_[2]->kill9();  // C only applies: it is killed in the middle of applying what A and B publish
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  selling = false;
  for (auto& t : tills) t.join();
  stores_[1]->kill9();  // B is killed with events of its own still to publish, perhaps
  stores_[1]->start();
  stores_[2]->start();
  const long long total = stored.load();
  const auto all_have = [&] {
    for (std::size_t s = 0; s < 3; ++s)
      if (visits_at(s, "9100") != total) return false;
    return true;
  };
  ASSERT_TRUE(wait_until(all_have, std::chrono::seconds(30)))
      << "visits at A, B, C: " << visits_at(0, "9100") << ", " << visits_at(1, "9100") << ", " << visits_at(2, "9100")
      << "; acknowledged " << total;
  EXPECT_EQ(hub_events(), total);
}

// The right to erasure holds across the chain: an erasure made at B removes the customer from A,
// C and the hub, and C, offline at the time, carries it out when it comes back. The receipt says
// which stores have done it.
TEST_F(ChainTest, AnErasureAtOneStoreReachesEveryStoreAndTheHubEvenOneThatWasOffline) {
  ASSERT_EQ(plugin_.record(till(0), consent("7101").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7101", {"oat-milk"}).c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7101", {"bread"}).c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7102", {"tea"}).c_str()), REGULARS_OK);  // someone else, who stays
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7101") == 2 && visits_at(2, "7101") == 2; }, std::chrono::seconds(10)));
  ASSERT_EQ(hub_events(), 4);
  plugin_.close(clients_[2]);  // C's till goes with C
  clients_.erase(2);
  stores_[2]->stop();

  std::string out;
  ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[1]->data_dir() +
                            " erase --kind card --value 7101 --json", out), 0) << out;
  const std::string receipt = json::parse(out)["receipt_id"].get<std::string>();
  EXPECT_TRUE(wait_until([&] { return visits_at(0, "7101") == -1; }, std::chrono::seconds(10))) << "A forgot the customer";
  EXPECT_EQ(visits_at(1, "7101"), -1);
  EXPECT_TRUE(wait_until([&] { return hub_events() == 1; }, std::chrono::seconds(10))) << "the hub keeps only 7102's purchase";
  const auto receipt_at = [&](std::size_t store) {
    std::string text;
    EXPECT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[store]->data_dir() + " chain erasure " +
                              receipt + " --json", text), 0) << text;
    return json::parse(text, nullptr, false);
  };
  // A confirms on the hub just after it has erased: wait for that, not only for the erasure.
  json r;
  EXPECT_TRUE(wait_until([&] {
    r = receipt_at(1);
    return r.contains("confirmed") && r["confirmed"].size() == 2u;
  }, std::chrono::seconds(10))) << r.dump();
  ASSERT_TRUE(r.contains("confirmed")) << r.dump();
  EXPECT_EQ(r["made_at"], "B");
  EXPECT_EQ(r["waiting_for"], json::array({"C"})) << r.dump();
  ASSERT_EQ(r["confirmed"].size(), 2u) << r.dump();
  EXPECT_EQ(r["confirmed"][0]["store"], "A");
  EXPECT_EQ(r["confirmed"][0]["customers_erased"], 1);

  // A till at A that still has the card sells to it: the tombstone keeps it out, here and on the hub.
  EXPECT_EQ(plugin_.record(till(0), purchase("7101", {"jam"}).c_str()), REGULARS_OK);
  EXPECT_EQ(visits_at(0, "7101"), -1);

  stores_[2]->start();
  EXPECT_TRUE(wait_until([&] { return visits_at(2, "7101") == -1; }, std::chrono::seconds(10))) << "C carried it out on return";
  EXPECT_EQ(visits_at(2, "7102"), 1) << "and kept everyone else";
  EXPECT_TRUE(wait_until([&] { return receipt_at(0)["waiting_for"].empty(); }, std::chrono::seconds(10)));
  r = receipt_at(0);
  EXPECT_EQ(r["confirmed"].size(), 3u) << r.dump();
  EXPECT_EQ(hub_events(), 1);
  StoreFile c(stores_[2]->db_path());
  EXPECT_EQ(c.count("SELECT count(*) FROM customers"), 1) << "C holds only 7102";
}

// A customer erased in the chain who gives consent again at one store is remembered from then on
// at every store and on the hub: the hub's tombstone of their card is lifted by a consent dated
// after the erasure, and only for events from that consent on.
TEST_F(ChainTest, ACustomerErasedInTheChainWhoConsentsAgainIsRememberedEverywhereFromThen) {
  ASSERT_EQ(plugin_.record(till(0), consent("7301").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7301", {"oat-milk"}).c_str()), REGULARS_OK);
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7301") == 1 && visits_at(2, "7301") == 1; }, std::chrono::seconds(10)));
  std::string out;
  ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[1]->data_dir() +
                            " erase --kind card --value 7301 --json", out), 0) << out;
  ASSERT_TRUE(wait_until([&] { return visits_at(0, "7301") == -1 && visits_at(2, "7301") == -1; }, std::chrono::seconds(10)));
  ASSERT_TRUE(wait_until([&] { return hub_events() == 0; }, std::chrono::seconds(10)));

  // Weeks later the customer asks C to remember them again, and buys.
  ASSERT_EQ(plugin_.record(till(2), consent("7301").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(2), purchase("7301", {"honey"}).c_str()), REGULARS_OK);
  EXPECT_TRUE(wait_until([&] { return visits_at(0, "7301") == 1 && visits_at(1, "7301") == 1; }, std::chrono::seconds(10)))
      << "A and B learn of them again, with only the new visit: A " << visits_at(0, "7301") << ", B " << visits_at(1, "7301");
  EXPECT_EQ(visits_at(2, "7301"), 1);
  EXPECT_EQ(hub_events(), 2) << "the new consent and purchase are on the hub";

  // A purchase dated before the erasure, replayed late by a till's spool, stays off the hub.
  json stale = json::parse(purchase("7301", {"jam"}));
  stale["time"] = wire::format_time_ms(wire::now_ms() - 3'600'000);
  EXPECT_EQ(plugin_.record(till(1), stale.dump().c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), purchase("7302", {"tea"}).c_str()), REGULARS_OK);  // a marker published after it
  ASSERT_TRUE(wait_until([&] { return visits_at(0, "7302") == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(hub_events(), 3) << "the marker went to the hub, the stale purchase did not";
  EXPECT_EQ(visits_at(0, "7301"), 1);
}

// An erasure made at B while the hub is down, then a new consent and a sale there: the hub takes
// the erasure dated as B dated it, so the consent, which came after it, lifts the tombstone on
// the hub too, and every store learns of the customer again with only the new visit.
TEST_F(ChainTest, AnErasurePublishedLateIsDatedByItsStoreAndTheConsentAfterItStillTravels) {
  ASSERT_EQ(plugin_.record(till(1), consent("7401").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), purchase("7401", {"oat-milk"}).c_str()), REGULARS_OK);
  ASSERT_TRUE(wait_until([&] { return visits_at(0, "7401") == 1 && visits_at(2, "7401") == 1; }, std::chrono::seconds(10)));
  hub_->stop();
  std::string out;
  ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[1]->data_dir() +
                            " erase --kind card --value 7401 --json", out), 0) << out;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(plugin_.record(till(1), consent("7401").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), purchase("7401", {"honey"}).c_str()), REGULARS_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the hub comes back after the consent
  hub_->start();
  const auto on_hub = [&](const std::string& sql) { return std::stoll(hub_->scalar(sql, "chain")); };
  EXPECT_TRUE(wait_until([&] { return on_hub("SELECT count(*) FROM regulars_erasures") == 1; }, std::chrono::seconds(30)));
  EXPECT_TRUE(wait_until([&] {
    return on_hub("SELECT count(*) FROM regulars_events WHERE body::text LIKE '%honey%'") == 1 && hub_events() == 2;
  }, std::chrono::seconds(20))) << "the new consent and sale are on the hub, and nothing from before the erasure";
  const auto honey_at = [&](std::size_t store) {
    return StoreFile(stores_[store]->db_path()).count("SELECT count(*) FROM customer_items WHERE sku = 'honey'");
  };
  EXPECT_TRUE(wait_until([&] { return honey_at(0) == 1 && honey_at(2) == 1; }, std::chrono::seconds(20)));
  for (std::size_t store : {0, 1, 2}) EXPECT_EQ(visits_at(store, "7401"), 1) << "store " << store << ": only the new visit";
}

// The same for a customer B has never met (nor has any store): B's erasure still carries B's
// date to the hub, so B's consent after it, and the sale after that, travel and count everywhere.
TEST_F(ChainTest, AnErasureOfACustomerNobodyKnewIsDatedByItsStoreAndTheConsentAfterItStillTravels) {
  hub_->stop();
  std::string out;
  ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[1]->data_dir() +
                            " erase --kind card --value 7402 --json", out), 0) << out;
  ASSERT_NE(out.find("not_known_here"), std::string::npos) << out;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(plugin_.record(till(1), consent("7402").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), purchase("7402", {"honey"}).c_str()), REGULARS_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the hub comes back after the consent
  hub_->start();
  const auto on_hub = [&](const std::string& sql) { return std::stoll(hub_->scalar(sql, "chain")); };
  EXPECT_TRUE(wait_until([&] { return on_hub("SELECT count(*) FROM regulars_erasures") == 1; }, std::chrono::seconds(30)));
  EXPECT_TRUE(wait_until([&] { return hub_events() == 2; }, std::chrono::seconds(20)))
      << "the consent and the sale made after the erasure are on the hub";
  EXPECT_TRUE(wait_until([&] { return visits_at(0, "7402") == 1 && visits_at(2, "7402") == 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(visits_at(1, "7402"), 1);
}

// A store applies the hub's erasures and its events in separate fetches, a batch of each. Events
// published after an erasure it has not applied yet wait for it: were a consent and a sale made
// after the erasure applied first, the erasure would then take them away at that store alone.
// C comes back to 256 other erasures (one batch), then B's erasure of 7403, then 7403's new
// consent and sale made at A.
TEST_F(ChainTest, EventsPublishedAfterAnErasureWaitForItAtAStoreThatHasNotAppliedIt) {
  ASSERT_EQ(plugin_.record(till(0), consent("7403").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7403", {"oat-milk"}).c_str()), REGULARS_OK);
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7403") == 1 && visits_at(2, "7403") == 1; }, std::chrono::seconds(10)));
  plugin_.close(clients_[2]);
  clients_.erase(2);
  stores_[2]->stop();
  hub_->exec(
      "WITH c AS (UPDATE regulars_clock SET last_hub_id = last_hub_id + 256 WHERE id = 1 RETURNING last_hub_id) "
      "INSERT INTO regulars_erasures(erasure_id, hub_id, origin, identifiers, hub_events_deleted) "
      "SELECT 'erasure-filler-' || g, c.last_hub_id - 256 + g, 'A', '[]'::jsonb, 0 FROM c, generate_series(1, 256) g",
      "chain");
  std::string out;
  ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[1]->data_dir() +
                            " erase --kind card --value 7403 --json", out), 0) << out;
  ASSERT_TRUE(wait_until([&] { return visits_at(0, "7403") == -1; }, std::chrono::seconds(10))) << "A carried it out";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(plugin_.record(till(0), consent("7403").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7403", {"honey"}).c_str()), REGULARS_OK);
  ASSERT_TRUE(wait_until([&] { return hub_events() == 2; }, std::chrono::seconds(10))) << "the new consent and sale";
  stores_[2]->start();
  const auto at_c = [&](const std::string& sql) { return StoreFile(stores_[2]->db_path()).count(sql); };
  ASSERT_TRUE(wait_until([&] { return at_c("SELECT count(*) FROM erased_identifiers") == 1; }, std::chrono::seconds(20)))
      << "C carried out the erasure";
  EXPECT_TRUE(wait_until([&] { return at_c("SELECT count(*) FROM customer_items WHERE sku = 'honey'") == 1; },
                         std::chrono::seconds(10)))
      << "the consent and sale after the erasure reached C after it, so it kept them";
  EXPECT_EQ(at_c("SELECT count(*) FROM customer_items WHERE sku = 'oat-milk'"), 0) << "and nothing from before it";
  for (std::size_t store : {0, 1, 2}) EXPECT_EQ(visits_at(store, "7403"), 1) << "store " << store;
}

// Two erasures of one customer made at B while the hub is down, a consent and a sale between
// them, reach the hub in the order they were made, whatever their receipts' ids: the hub and
// every store keep the later one's date, so what was sold between the two stays out everywhere.
TEST_F(ChainTest, TwoErasuresOfOneCustomerKeepTheLaterDateOnTheHubAndAtEveryStore) {
  ASSERT_EQ(plugin_.record(till(1), consent("7404").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), purchase("7404", {"oat-milk"}).c_str()), REGULARS_OK);
  ASSERT_TRUE(wait_until([&] { return visits_at(0, "7404") == 1 && visits_at(2, "7404") == 1; }, std::chrono::seconds(10)));
  hub_->stop();
  const auto erase_at_b = [&] {
    std::string out;
    EXPECT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[1]->data_dir() +
                              " erase --kind card --value 7404 --json", out), 0) << out;
    return json::parse(out)["receipt_id"].get<std::string>();
  };
  erase_at_b();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(plugin_.record(till(1), consent("7404").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), purchase("7404", {"honey"}).c_str()), REGULARS_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string later = erase_at_b();
  // Receipt ids are random: the later one is given the smallest, as it has in half of all pairs.
  plugin_.close(clients_[1]);
  clients_.erase(1);
  stores_[1]->stop();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(stores_[1]->db_path().c_str(), &db), SQLITE_OK);
    const std::string sql = "UPDATE chain_erasure_outbox SET receipt_id='erasure-0000000000000000' WHERE receipt_id='" + later +
                            "'; UPDATE erasure_receipts SET receipt_id='erasure-0000000000000000' WHERE receipt_id='" + later + "';";
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  const long long later_ms = StoreFile(stores_[1]->db_path()).count("SELECT erased_ms FROM erasure_receipts WHERE receipt_id='erasure-0000000000000000'");
  stores_[1]->start();
  hub_->start();
  const auto on_hub = [&](const std::string& sql) { return std::stoll(hub_->scalar(sql, "chain")); };
  ASSERT_TRUE(wait_until([&] { return on_hub("SELECT count(*) FROM regulars_erasures") == 2; }, std::chrono::seconds(30)));
  EXPECT_EQ(on_hub("SELECT max(erased_ms) FROM regulars_erased_identifiers"), later_ms);
  EXPECT_EQ(on_hub("SELECT min(erased_ms) FROM regulars_erased_identifiers"), later_ms);
  const auto tombstone_at = [&](std::size_t store) {
    return StoreFile(stores_[store]->db_path()).count("SELECT coalesce(max(erased_ms), 0) FROM erased_identifiers");
  };
  for (std::size_t store : {0, 2})
    EXPECT_TRUE(wait_until([&] { return tombstone_at(store) == later_ms; }, std::chrono::seconds(10))) << "store " << store;
  EXPECT_EQ(hub_events(), 0);
}

// An identifier linked at A, and a merge of two customers made at B, hold at every store.
TEST_F(ChainTest, LinksAndMergesMadeAtOneStoreHoldAtEveryStore) {
  const auto card = [](const std::string& v) { return json{{"kind", "card"}, {"value", v}}; };
  const json phone = {{"kind", "phone"}, {"value", "+1 555 0123"}};
  const auto record_at = [&](std::size_t store, const json& event) {
    ASSERT_EQ(plugin_.record(till(store), event.dump().c_str()), REGULARS_OK) << plugin_.last_error() << " " << event.dump();
  };
  record_at(0, json::parse(purchase("7201", {"tea"})));
  record_at(0, {{"type", "link"}, {"customer", card("7201")}, {"identifier", phone}});
  record_at(1, json::parse(purchase("7202", {"jam"})));
  record_at(1, json::parse(purchase("7202", {"jam"})));
  record_at(1, json::parse(purchase("7203", {"bread"})));
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7201") == 1 && visits_at(0, "7203") == 1; }, std::chrono::seconds(10)));
  record_at(1, {{"type", "merge"}, {"customer", card("7202")}, {"other", card("7203")}});

  const auto phone_visits = [&](std::size_t store) {
    regulars_status st;
    const json req = {{"customer", phone}, {"locale", "en"}};
    const json h = json::parse(plugin_.hints_text(till(store), req.dump(), st), nullptr, false);
    return st == REGULARS_OK && h["customer"]["known"].get<bool>() ? h["customer"]["visits"].get<long long>() : -1;
  };
  for (std::size_t s = 0; s < 3; ++s) {
    SCOPED_TRACE(kStoreIds[s]);
    EXPECT_TRUE(wait_until([&] { return phone_visits(s) == 1; }, std::chrono::seconds(10))) << "the phone linked at A names the customer";
    EXPECT_TRUE(wait_until([&] { return visits_at(s, "7203") == 3 && visits_at(s, "7202") == 3; }, std::chrono::seconds(10)))
        << "7202 and 7203 are one customer with 3 visits; here: " << visits_at(s, "7202") << " and " << visits_at(s, "7203")
        << "; chain status: " << chain_status(*stores_[s]).dump();
  }
}

// The chain's report, from the hub, equals the sum of the stores' own reports: each store reports
// the feedback said there, though it holds the other stores' too.
TEST_F(ChainTest, TheChainsReportIsTheSumOfTheStoresOwnReports) {
  struct Said {
    std::size_t store;
    std::string card;  // "" for anonymous
    json scores;
  };
  const std::vector<Said> feedback = {
      {0, "7301", {{"nps", 10}, {"csat", 5}}}, {0, "7302", {{"nps", 3}}},  {0, "7303", {{"declined", true}}},
      {1, "7301", {{"nps", 8}, {"csat", 2}}},  {1, "7304", {{"csat", 4}}}, {2, "", {{"nps", 0}}},
      {2, "7305", {{"nps", 9}, {"csat", 1}}},
  };
  for (const Said& f : feedback) {
    json e = {{"type", "feedback"}, {"touchpoint", "till"}};
    e.update(f.scores);
    if (!f.card.empty()) e["customer"] = {{"kind", "card"}, {"value", f.card}};
    ASSERT_EQ(plugin_.record(till(f.store), e.dump().c_str()), REGULARS_OK) << plugin_.last_error() << e.dump();
  }
  const int purchases[] = {3, 2, 1};
  for (std::size_t s = 0; s < 3; ++s)
    for (int i = 0; i < purchases[s]; ++i)
      ASSERT_EQ(plugin_.record(till(s), purchase("7301", {"tea"}).c_str()), REGULARS_OK);
  const long long total_events = static_cast<long long>(feedback.size()) + 6;
  ASSERT_TRUE(wait_until([&] { return hub_events() == total_events; }, std::chrono::seconds(10)));
  ASSERT_TRUE(wait_until([&] { return visits_at(2, "7301") == 6; }, std::chrono::seconds(10))) << "every store holds every visit";

  const auto ctl_json = [&](std::size_t store, const std::string& args) {
    std::string out;
    EXPECT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[store]->data_dir() + " " + args, out), 0) << out;
    return json::parse(out, nullptr, false);
  };
  const json chain = ctl_json(1, "chain report --json");
  ASSERT_TRUE(chain.contains("stores")) << chain.dump();
  ASSERT_EQ(chain["stores"].size(), 3u) << chain.dump();
  long long nps_n = 0, promoters = 0, detractors = 0, csat_n = 0, satisfied = 0, visits = 0;
  for (std::size_t s = 0; s < 3; ++s) {
    SCOPED_TRACE(kStoreIds[s]);
    const json& row = chain["stores"][s];
    EXPECT_EQ(row["key"], kStoreIds[s]);
    const json own = ctl_json(s, "report --json")["total"];
    for (const char* k : {"nps_responses", "promoters", "detractors", "csat_responses", "csat_satisfied", "nps", "csat"})
      EXPECT_EQ(row[k], own[k]) << k << ": the chain says " << row.dump() << ", the store " << own.dump();
    EXPECT_EQ(row["visits"], purchases[s]);
    nps_n += own["nps_responses"].get<long long>(), promoters += own["promoters"].get<long long>();
    detractors += own["detractors"].get<long long>(), csat_n += own["csat_responses"].get<long long>();
    satisfied += own["csat_satisfied"].get<long long>(), visits += purchases[s];
  }
  EXPECT_EQ(nps_n, 5) << "declined feedback says nothing";
  const json& c = chain["chain"];
  EXPECT_EQ(c["nps_responses"], nps_n);
  EXPECT_EQ(c["promoters"], promoters);
  EXPECT_EQ(c["detractors"], detractors);
  EXPECT_EQ(c["csat_responses"], csat_n);
  EXPECT_EQ(c["csat_satisfied"], satisfied);
  EXPECT_EQ(c["visits"], visits);
  EXPECT_EQ(c["customers"], 1) << "one customer bought at all three stores";
  EXPECT_EQ(c["nps"], 0.0) << "2 promoters, 2 detractors of 5";
  // Each store follows up the complaints said there, and only those.
  EXPECT_EQ(ctl_json(0, "followups --json")["total"], 1);
  EXPECT_EQ(ctl_json(1, "followups --json")["total"], 1);
  EXPECT_EQ(ctl_json(2, "followups --json")["total"], 2);
}

// A rule capped at 30 offers a day across the chain: tills at all three stores ask as fast as they
// can for a minute, and exactly 30 are offered while the hub is up; across an outage, never more
// than 30.
TEST_F(ChainTest, AChainWideCapIsNeverExceededAndIsSpentWholeWhileTheHubIsUp) {
  constexpr int kCustomers = 40;  // per store; each is known at every store once the hub has carried them
  ASSERT_NO_FATAL_FAILURE(enrol_at_every_store("74", kCustomers));
  const auto daily_rule = [](const std::string& id) {
    return json{{"id", id}, {"when", {{"not", {{"tag", "never"}}}}},
                {"gesture", {{"kind", "message"}, {"message", {{"en", "Thank you for coming!"}}}}},
                {"limits", {{"chain_per_day", 30}}}};
  };
  // Every till asks for hints about every customer in turn, as fast as it can, until told to stop.
  std::atomic<bool> asking{true};
  const auto ask_everyone = [&](std::size_t store) {
    while (asking.load())
      for (std::size_t s = 0; s < 3 && asking.load(); ++s)
        for (int i = 0; i < kCustomers && asking.load(); ++i) hints_at(store, customer_at("74", s, i));
  };

  ASSERT_NO_FATAL_FAILURE(add_rule_everywhere(daily_rule("chain-thanks")));
  {
    std::vector<std::thread> tills;
    for (std::size_t s = 0; s < 3; ++s) tills.emplace_back(ask_everyone, s);
    std::this_thread::sleep_for(std::chrono::seconds(60));  // one minute, as fast as they can
    asking = false;
    for (auto& t : tills) t.join();
  }
  EXPECT_TRUE(wait_until([&] { return offered("chain-thanks") == 30; }, std::chrono::seconds(5)))
      << "offered " << offered("chain-thanks") << " of the chain's 30 with the hub up";
  EXPECT_EQ(std::stoll(hub_->scalar("SELECT coalesce(sum(granted), 0) FROM regulars_leases WHERE rule_id='chain-thanks'", "chain")), 30);

  // A second rule with the same cap, and the hub down for a while in the middle of it.
  ASSERT_NO_FATAL_FAILURE(add_rule_everywhere(daily_rule("chain-thanks-2")));
  asking = true;
  std::vector<std::thread> tills;
  for (std::size_t s = 0; s < 3; ++s) tills.emplace_back(ask_everyone, s);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  hub_->stop();
  const long long at_outage = offered("chain-thanks-2");
  std::this_thread::sleep_for(std::chrono::seconds(10));
  const long long during = offered("chain-thanks-2") - at_outage;
  hub_->start();
  std::this_thread::sleep_for(std::chrono::seconds(10));
  asking = false;
  for (auto& t : tills) t.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long long total = offered("chain-thanks-2");
  EXPECT_LE(total, 30) << "never more than the cap, hub or no hub";
  EXPECT_GT(total, 0);
  EXPECT_LE(during, 15) << "while the hub was down, the stores could spend only the leases they held";
  EXPECT_EQ(offered("chain-thanks"), 30) << "the first rule's cap stays spent";
}

// A weekly cap and a monthly budget across the chain are spent from leases like the daily cap:
// tills at all three stores offering as fast as they can make exactly the week's 20 offers, and
// exactly as many as the month's budget pays for (2,500 at 100 each: 25).
TEST_F(ChainTest, AChainWideWeeklyCapAndMonthlyBudgetAreSpentExactly) {
  constexpr int kCustomers = 30;
  ASSERT_NO_FATAL_FAILURE(enrol_at_every_store("75", kCustomers));
  const auto rule = [](const std::string& id, const json& limits, std::int64_t cost) {
    return json{{"id", id}, {"when", {{"not", {{"tag", "never"}}}}},
                {"gesture", {{"kind", "message"}, {"message", {{"en", "Thank you!"}}}, {"cost", cost}}}, {"limits", limits}};
  };
  ASSERT_NO_FATAL_FAILURE(add_rule_everywhere(rule("chain-week", {{"chain_per_week", 20}}, 0)));
  ASSERT_NO_FATAL_FAILURE(add_rule_everywhere(rule("chain-month", {{"chain_monthly_budget", 2500}}, 100)));
  std::atomic<bool> asking{true};
  std::vector<std::thread> tills;
  for (std::size_t store = 0; store < 3; ++store)
    tills.emplace_back([&, store] {
      while (asking.load())
        for (std::size_t s = 0; s < 3 && asking.load(); ++s)
          for (int i = 0; i < kCustomers && asking.load(); ++i) hints_at(store, customer_at("75", s, i));
    });
  std::this_thread::sleep_for(std::chrono::seconds(20));
  asking = false;
  for (auto& t : tills) t.join();
  EXPECT_TRUE(wait_until([&] { return offered("chain-week") == 20 && offered("chain-month") == 25; }, std::chrono::seconds(5)))
      << "offered " << offered("chain-week") << " of the week's 20 and " << offered("chain-month") << " of the month's 25";
  const auto granted = [&](const std::string& key) {
    return std::stoll(hub_->scalar("SELECT coalesce(sum(granted), 0) FROM regulars_leases WHERE rule_id='" + key + "'", "chain"));
  };
  EXPECT_EQ(granted("chain-week/week"), 20);
  EXPECT_EQ(granted("chain-month/month"), 2500);
}

// A chain-wide re-key, as CHAIN.md gives it: every store stopped, one store re-keys, the hub is
// re-hashed with its new key, the others adopt that key; every customer is still recognised at
// every store, and what one store sells afterwards still reaches the others' same customers.
TEST_F(ChainTest, AChainWideRekeyLeavesEveryCustomerRecognisedEverywhere) {
  const json phone = {{"kind", "phone"}, {"value", "+1 555 0177"}};
  ASSERT_EQ(plugin_.record(till(0), consent("7501").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7501", {"tea"}).c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), purchase("7501", {"jam"}).c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), purchase("7502", {"jam"}).c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(2), json({{"type", "link"}, {"customer", {{"kind", "card"}, {"value", "7501"}}}, {"identifier", phone}})
                                        .dump().c_str()), REGULARS_OK);
  const auto phone_visits = [&](std::size_t store) {
    regulars_status st;
    const json h = json::parse(plugin_.hints_text(till(store), json({{"customer", phone}}).dump(), st), nullptr, false);
    return st == REGULARS_OK && h["customer"]["known"].get<bool>() ? h["customer"]["visits"].get<long long>() : -1;
  };
  ASSERT_TRUE(wait_until([&] { return phone_visits(0) == 2 && phone_visits(1) == 2 && visits_at(2, "7502") == 1; },
                         std::chrono::seconds(10)));

  for (auto& [_, c] : clients_) plugin_.close(c);
  clients_.clear();
  for (auto& store : stores_) store->stop();
  const auto ctl = [&](const std::string& args) {
    std::string out;
    const int rc = run_command(std::string(REGULARSCTL_PATH) + " " + args, out);
    EXPECT_EQ(rc, 0) << args << ": " << out;
    return out;
  };
  const std::string& a = stores_[0]->data_dir();
  ctl("rekey --data-dir " + a);
  const std::string rekey_hub = "chain rekey-hub --data-dir " + a + " --hub '" + hub_conninfo() + "' --ca-file " + hub_ca();
  EXPECT_NE(ctl(rekey_hub).find("re-keyed the hub"), std::string::npos);
  EXPECT_NE(ctl(rekey_hub).find("re-keyed already"), std::string::npos) << "a second run changes nothing";
  for (std::size_t s = 1; s < 3; ++s) {
    std::filesystem::copy_file(a + "/secret.key", stores_[s]->data_dir() + "/secret.key",
                               std::filesystem::copy_options::overwrite_existing);
    ctl("rekey --adopt --data-dir " + stores_[s]->data_dir());
  }
  for (auto& store : stores_) store->start();

  for (std::size_t s = 0; s < 3; ++s) {
    SCOPED_TRACE(kStoreIds[s]);
    EXPECT_EQ(visits_at(s, "7501"), 2);
    EXPECT_EQ(visits_at(s, "7502"), 1);
    EXPECT_EQ(phone_visits(s), 2) << "the link made at C still names the customer";
    EXPECT_TRUE(wait_until([&] { return chain_status(*stores_[s]).value("connected", false); }, std::chrono::seconds(10)))
        << chain_status(*stores_[s]).dump();
  }
  ASSERT_EQ(plugin_.record(till(0), purchase("7501", {"bread"}).c_str()), REGULARS_OK);
  EXPECT_TRUE(wait_until([&] { return visits_at(1, "7501") == 3 && visits_at(2, "7501") == 3; }, std::chrono::seconds(10)))
      << "a purchase after the re-key reaches the same customer at the other stores";

  // A store that joins the re-keyed chain takes both key generations, and hashes as the others do.
  const std::string d = dir_.sub("store-D-after-rekey");
  ctl("chain join --data-dir " + d + " --store-id D --hub '" + hub_conninfo() + "' --ca-file " + hub_ca() + " --secret-from " + a +
      "/secret.key");
  std::ofstream(d + ".conf") << json{{"chain", {{"hub", hub_conninfo()}, {"store_id", "D"}, {"ca_file", hub_ca()}, {"poll_ms", 50}}}}.dump();
  DaemonProcess store_d(d, {"--config", d + ".conf"});
  store_d.start();
  regulars_client* t = nullptr;
  ASSERT_EQ(plugin_.open(json{{"endpoint", store_d.endpoint()}, {"budget_ms", 2000}}.dump().c_str(), &t), REGULARS_OK);
  const auto visits_at_d = [&] {
    regulars_status st;
    const json h = json::parse(plugin_.hints_text(t, hints_request("7501"), st), nullptr, false);
    return st == REGULARS_OK && h["customer"]["known"].get<bool>() ? h["customer"]["visits"].get<long long>() : -1;
  };
  EXPECT_TRUE(wait_until([&] { return visits_at_d() == 3; }, std::chrono::seconds(10))) << "D has " << visits_at_d();
  plugin_.close(t);
  store_d.stop();
}

// regularsctl chain join sets a new store up: the chain's secret, checked with the hub, and the
// store id enrolled; a store with customers of its own, or without the chain's secret, is refused.
TEST_F(ChainTest, ChainJoinGivesANewStoreTheChainsSecretAndChecksIt) {
  ASSERT_EQ(plugin_.record(till(0), purchase("7601", {"tea"}).c_str()), REGULARS_OK);
  const std::string d = dir_.sub("store-D"), e = dir_.sub("store-E");
  const std::string hub = " --hub '" + hub_conninfo() + "' --ca-file " + hub_ca();
  const auto join = [&](const std::string& dir, const std::string& id, const std::string& extra, std::string& out) {
    return run_command(std::string(REGULARSCTL_PATH) + " chain join --data-dir " + dir + " --store-id " + id + hub + extra, out);
  };
  std::string out;
  EXPECT_NE(join(d, "D", "", out), 0) << "its own new secret is not the chain's: " << out;
  EXPECT_NE(out.find("not the chain's"), std::string::npos) << out;
  ASSERT_EQ(join(d, "D", " --secret-from " + stores_[0]->data_dir() + "/secret.key", out), 0) << out;
  EXPECT_NE(out.find("took the chain's identity secret"), std::string::npos) << out;
  EXPECT_EQ(out.find("password"), std::string::npos);
  EXPECT_NE(join(d, "D-again", "", out), 0) << "one store, one id";
  EXPECT_NE(join(dir_.sub("store-D2"), "D", " --secret-from " + stores_[0]->data_dir() + "/secret.key", out), 0)
      << "another store cannot take D's id: " << out;
  EXPECT_NE(out.find("already publishes"), std::string::npos) << out;

  // D starts with the chain section and knows A's customer.
  std::ofstream(d + ".conf") << json{{"chain", {{"hub", hub_conninfo()}, {"store_id", "D"}, {"ca_file", hub_ca()}, {"poll_ms", 50}}}}.dump();
  DaemonProcess store_d(d, {"--config", d + ".conf"});
  store_d.start();
  regulars_client* t = nullptr;
  ASSERT_EQ(plugin_.open(json{{"endpoint", store_d.endpoint()}, {"budget_ms", 2000}}.dump().c_str(), &t), REGULARS_OK);
  regulars_status st;
  const auto known_at_d = [&] {
    const json h = json::parse(plugin_.hints_text(t, hints_request("7601"), st), nullptr, false);
    return st == REGULARS_OK && h["customer"]["known"].get<bool>();
  };
  EXPECT_TRUE(wait_until(known_at_d, std::chrono::seconds(10)));
  plugin_.close(t);
  store_d.stop();

  // A store that already has customers under a secret of its own cannot take the chain's.
  {
    DaemonProcess alone(e);
    alone.start();
    ASSERT_EQ(plugin_.open(json{{"endpoint", alone.endpoint()}, {"budget_ms", 2000}}.dump().c_str(), &t), REGULARS_OK);
    ASSERT_EQ(plugin_.record(t, purchase("7602", {"tea"}).c_str()), REGULARS_OK);
    plugin_.close(t);
    alone.stop();
  }
  EXPECT_NE(join(e, "E", " --secret-from " + stores_[0]->data_dir() + "/secret.key", out), 0);
  EXPECT_NE(out.find("keyed with a secret of its own"), std::string::npos) << out;
}

// An erasure deletes a store's newest events; the events recorded after it are new events with
// seqs of their own, and reach the chain like any other.
TEST_F(ChainTest, EventsRecordedAfterAnErasureOfTheNewestEventsStillTravel) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(plugin_.record(till(0), purchase("7701", {"tea"}).c_str()), REGULARS_OK);
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7701") == 3; }, std::chrono::seconds(10)));
  std::string out;
  ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[0]->data_dir() + " erase --kind card --value 7701",
                        out), 0) << out;
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7701") == -1; }, std::chrono::seconds(10)));
  for (int i = 0; i < 2; ++i) ASSERT_EQ(plugin_.record(till(0), purchase("7702", {"jam"}).c_str()), REGULARS_OK);
  EXPECT_TRUE(wait_until([&] { return visits_at(1, "7702") == 2; }, std::chrono::seconds(10)))
      << "B has " << visits_at(1, "7702") << " visits of A's new customer; A's status: " << chain_status(*stores_[0]).dump();
}

// An erasure covers the customer's identifiers that the store making it never heard of: here a
// phone linked at B while A was cut off from the hub.
TEST_F(ChainTest, AnErasureReachesIdentifiersLinkedAtAnotherStoreMeanwhile) {
  const json card = {{"kind", "card"}, {"value", "7801"}}, phone = {{"kind", "phone"}, {"value", "+1 555 0188"}};
  ASSERT_EQ(plugin_.record(till(0), consent("7801").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7801", {"tea"}).c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(2), purchase("7802", {"tea"}).c_str()), REGULARS_OK);  // someone else, who stays
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7801") == 1 && visits_at(0, "7802") == 1; }, std::chrono::seconds(10)));
  hub_->stop();
  ASSERT_EQ(plugin_.record(till(1), json({{"type", "link"}, {"customer", card}, {"identifier", phone}}).dump().c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(1), json({{"type", "purchase"}, {"customer", phone}, {"lines", {{{"sku", "jam"}, {"qty", 1}, {"unit_price", 100}}}}})
                                        .dump().c_str()), REGULARS_OK);
  std::string out;
  ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[0]->data_dir() + " erase --kind card --value 7801",
                        out), 0) << out;
  hub_->start();
  const auto known = [&](std::size_t store, const json& who) {
    regulars_status st;
    const json h = json::parse(plugin_.hints_text(till(store), json({{"customer", who}}).dump(), st), nullptr, false);
    return st == REGULARS_OK && h["customer"]["known"].get<bool>();
  };
  const auto forgotten_everywhere = [&] {
    for (std::size_t s = 0; s < 3; ++s)
      if (known(s, card) || known(s, phone)) return false;
    return hub_events() == 1;  // 7802's purchase only
  };
  EXPECT_TRUE(wait_until(forgotten_everywhere, std::chrono::seconds(20)))
      << "card known at A, B, C: " << known(0, card) << known(1, card) << known(2, card) << "; phone: " << known(0, phone)
      << known(1, phone) << known(2, phone) << "; hub events " << hub_events();
  EXPECT_EQ(visits_at(1, "7802"), 1);
}

// A customer who withdraws "remember" at one store is forgotten by the whole chain, the hub
// included, as an erasure would forget them, but for the consent records, links and merges,
// which stay as the proof of what was agreed. The history under an identifier linked to them
// goes too; other customers, and what the customer does after withdrawing, stay.
TEST_F(ChainTest, AWithdrawalOfRememberAtOneStoreTakesTheHistoryFromTheHubAndEveryStore) {
  const json card = {{"kind", "card"}, {"value", "7301"}};
  const json phone = {{"kind", "phone"}, {"value", "+1 555 0199"}};
  const auto record_at = [&](std::size_t store, const json& event) {
    ASSERT_EQ(plugin_.record(till(store), event.dump().c_str()), REGULARS_OK) << plugin_.last_error() << " " << event.dump();
  };
  record_at(0, json::parse(consent("7301")));
  record_at(0, json::parse(purchase("7301", {"oat-milk"})));
  record_at(0, {{"type", "link"}, {"customer", card}, {"identifier", phone}});
  record_at(0, {{"type", "purchase"}, {"customer", phone}, {"lines", {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 150}}}}});
  record_at(2, {{"type", "feedback"}, {"touchpoint", "till"}, {"customer", card}, {"nps", 3}});
  record_at(0, json::parse(purchase("7302", {"bread"})));  // someone else, who stays
  ASSERT_TRUE(wait_until([&] { return visits_at(0, "7301") == 2 && visits_at(1, "7301") == 2 && visits_at(2, "7301") == 2; },
                         std::chrono::seconds(10)));
  const auto hub_count = [&](const std::string& where) {
    return std::stoll(hub_->scalar("SELECT count(*) FROM regulars_events WHERE " + where, "chain"));
  };
  ASSERT_EQ(hub_count("type IN ('purchase', 'feedback')"), 4);

  record_at(1, {{"type", "consent"}, {"customer", card}, {"purposes", {{"remember", false}}}});
  EXPECT_TRUE(wait_until([&] { return hub_count("type IN ('purchase', 'feedback')") == 1; }, std::chrono::seconds(10)))
      << "the hub keeps only 7302's purchase; it holds " << hub_count("type IN ('purchase', 'feedback')");
  EXPECT_EQ(hub_count("type = 'consent'"), 2) << "the grant and the withdrawal stay, as proof";
  EXPECT_EQ(hub_count("type = 'link'"), 1);
  for (std::size_t s = 0; s < 3; ++s) {
    SCOPED_TRACE(kStoreIds[s]);
    EXPECT_TRUE(wait_until([&] { return visits_at(s, "7301") <= 0; }, std::chrono::seconds(10))) << visits_at(s, "7301");
    EXPECT_EQ(visits_at(s, "7302"), 1);
  }
  // What the customer buys after withdrawing is theirs to have remembered again, and travels.
  record_at(1, json::parse(consent("7301")));
  record_at(1, json::parse(purchase("7301", {"jam"})));
  EXPECT_TRUE(wait_until([&] { return visits_at(0, "7301") == 1 && visits_at(2, "7301") == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(hub_count("type = 'purchase'"), 2);
}

// A withdrawal and a grant of consent made at two stores while they cannot reach each other:
// once the hub carries both, every store settles on the same state, and the withdrawal, which
// is as recent as the grant, wins.
TEST_F(ChainTest, ConcurrentConsentChangesSettleAlikeEverywhereAndAWithdrawalWins) {
  ASSERT_EQ(plugin_.record(till(0), consent("7901").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7901", {"tea"}).c_str()), REGULARS_OK);
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7901") == 1 && visits_at(2, "7901") == 1; }, std::chrono::seconds(10)));
  hub_->stop();
  const std::string at = "2026-12-06T12:00:00Z";  // the same instant at both stores
  const auto consent_at = [&](bool personalize) {
    return json{{"type", "consent"}, {"time", at}, {"customer", {{"kind", "card"}, {"value", "7901"}}},
                {"purposes", {{"personalize", personalize}}}}.dump();
  };
  ASSERT_EQ(plugin_.record(till(1), consent_at(false).c_str()), REGULARS_OK);  // withdrawn at B
  ASSERT_EQ(plugin_.record(till(2), consent_at(true).c_str()), REGULARS_OK);   // granted at C
  hub_->start();
  const auto personalised = [&](std::size_t s) {
    const json h = hints_at(s, "7901");
    return h.empty() ? -1 : h["customer"]["consent"]["personalize"].get<bool>() ? 1 : 0;
  };
  EXPECT_TRUE(wait_until([&] { return personalised(0) == 0 && personalised(1) == 0 && personalised(2) == 0; },
                         std::chrono::seconds(20)))
      << "personalize at A, B, C: " << personalised(0) << personalised(1) << personalised(2);
}

// The same, with the clocks apart: the withdrawal at B at 12:00, the grant at C at 12:05, each made
// without knowing of the other. The grant came later by the clock, but it did not know of the
// withdrawal, so the withdrawal wins everywhere. A grant made afterwards, knowing both, stands.
TEST_F(ChainTest, AGrantThatDidNotKnowOfAWithdrawalLosesToItEverywhereWhateverTheClocksSay) {
  ASSERT_EQ(plugin_.record(till(0), consent("7902").c_str()), REGULARS_OK);
  ASSERT_EQ(plugin_.record(till(0), purchase("7902", {"tea"}).c_str()), REGULARS_OK);
  ASSERT_TRUE(wait_until([&] { return visits_at(1, "7902") == 1 && visits_at(2, "7902") == 1; }, std::chrono::seconds(10)));
  const auto consent_at = [&](const std::string& at, bool personalize) {
    return json{{"type", "consent"}, {"time", at}, {"customer", {{"kind", "card"}, {"value", "7902"}}},
                {"purposes", {{"personalize", personalize}}}}.dump();
  };
  const auto personalised = [&](std::size_t s) {
    const json h = hints_at(s, "7902");
    return h.empty() ? -1 : h["customer"]["consent"]["personalize"].get<bool>() ? 1 : 0;
  };
  hub_->stop();
  ASSERT_EQ(plugin_.record(till(1), consent_at("2026-12-06T12:00:00Z", false).c_str()), REGULARS_OK);  // withdrawn at B
  ASSERT_EQ(plugin_.record(till(2), consent_at("2026-12-06T12:05:00Z", true).c_str()), REGULARS_OK);   // granted at C
  hub_->start();
  EXPECT_TRUE(wait_until([&] { return personalised(0) == 0 && personalised(1) == 0 && personalised(2) == 0; },
                         std::chrono::seconds(20)))
      << "personalize at A, B, C: " << personalised(0) << personalised(1) << personalised(2);
  ASSERT_TRUE(wait_until([&] { return hub_events() == 4; }, std::chrono::seconds(10)));
  ASSERT_TRUE(wait_until([&] {
    const json st = chain_status(*stores_[0]);
    return st.contains("in") && st["in"].value("applied_hub_id", 0LL) >= 4;
  }, std::chrono::seconds(10))) << "A has applied B's and C's changes";
  ASSERT_EQ(plugin_.record(till(0), consent_at("2026-12-06T12:10:00Z", true).c_str()), REGULARS_OK);  // at A, knowing both
  EXPECT_TRUE(wait_until([&] { return personalised(0) == 1 && personalised(1) == 1 && personalised(2) == 1; },
                         std::chrono::seconds(20)))
      << "personalize at A, B, C: " << personalised(0) << personalised(1) << personalised(2);
}

// A store that cannot use the hub says why, and keeps serving its tills.
TEST_F(ChainTest, ABadChainConfigurationIsReportedAndTheStoreKeepsServing) {
  struct Case {
    std::string name, store_id, secret, conninfo, kind;
  };
  // A role that must give its password, over TLS only.
  hub_->exec("CREATE ROLE store_g LOGIN PASSWORD 'right-one'");
  {
    const std::string hba = dir_.sub("hub/cluster/pg_hba.conf");
    std::ifstream in(hba);
    const std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(hba, std::ios::trunc) << "hostssl chain store_g 127.0.0.1/32 scram-sha-256\n" << rest;
    hub_->exec("SELECT pg_reload_conf()");
  }
  std::string out;
  ASSERT_EQ(run_command("bash " REGULARS_SOURCE_DIR "/packaging/make-tls.sh " + dir_.sub("other-ca") + " localhost", out), 0) << out;
  const std::string tcp = "host=localhost port=" + std::to_string(hub_port_) + " dbname=chain ";
  const std::vector<Case> cases = {
      {"unreachable hub", "D", secret_, "host=localhost port=" + std::to_string(free_port()) + " dbname=chain user=regulars",
       "unreachable"},
      {"another chain's secret", "E", random_secret(), "", "secret_mismatch"},
      {"duplicate store id", "A", secret_, "", "duplicate_store"},
      {"wrong password", "G", secret_, tcp + "user=store_g password=wrong-one", "auth"},
      {"wrong CA", "H", secret_, "", "tls"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto store = make_store(c.store_id, c.secret, c.conninfo, c.kind == "tls" ? dir_.sub("other-ca/ca.crt") : "");
    store->start();
    const json o = {{"endpoint", store->endpoint()}, {"budget_ms", 2000}};
    regulars_client* t = nullptr;
    ASSERT_EQ(plugin_.open(o.dump().c_str(), &t), REGULARS_OK);
    EXPECT_EQ(plugin_.record(t, purchase("6100", {"tea"}).c_str()), REGULARS_OK);
    regulars_status s;
    const json h = json::parse(plugin_.hints_text(t, hints_request("6100"), s), nullptr, false);
    EXPECT_EQ(s, REGULARS_OK);
    EXPECT_EQ(h["customer"]["visits"], 1);
    plugin_.close(t);
    json status;
    const auto reported = wait_until(
        [&] {
          status = chain_status(*store);
          return status.contains("failure");
        },
        std::chrono::seconds(10));
    ASSERT_TRUE(reported) << status.dump();
    EXPECT_FALSE(status["connected"].get<bool>());
    EXPECT_EQ(status["failure"]["kind"], c.kind) << status.dump();
    EXPECT_EQ(status["failure"]["error"].get<std::string>().find("wrong-one"), std::string::npos) << "no password in messages";
    EXPECT_EQ(store->log().find("wrong-one"), std::string::npos) << "nor in the log";
    store->stop();
  }
  // The stores of the chain were not disturbed.
  ASSERT_EQ(plugin_.record(till(0), purchase("6200", {"tea"}).c_str()), REGULARS_OK);
  EXPECT_TRUE(wait_until([&] { return visits_at(1, "6200") == 1; }, std::chrono::seconds(10)));
}

// Gesture ROI across the chain: each store's own report, as it sent its sums to the hub, and the
// chain's, pooled. Offers made at A and B forty days ago; the customers come back at C, whose
// purchases reach A and B through the hub and count in their reports.
TEST_F(ChainTest, TheChainsGestureRoiIsEachStoresOwnReportAndTheirPooledSums) {
  ASSERT_NO_FATAL_FAILURE(add_rule_everywhere(json::parse(R"({"id": "chain-gift", "when": {"bought": {"sku": "bread"}},
      "gesture": {"kind": "discount", "amount": 100}, "limits": {"cooldown_days": 365}, "holdout": 0.5})")));
  const auto at = [](int days_ago, int minute = 0) { return wire::format_time_ms(wire::now_ms() - days_ago * 86'400'000LL + minute * 60'000LL); };
  const auto event = [&](json e, const std::string& who, const std::string& when) {
    e["customer"] = {{"kind", "card"}, {"value", who}};
    e["time"] = when;
    return e.dump();
  };
  const json bread = json::array({{{"sku", "bread"}, {"qty", 1}, {"unit_price", 250}}});
  constexpr int kPerStore = 6;
  int events = 0, back_at_c = 0;
  for (std::size_t s = 0; s < 2; ++s)
    for (int i = 0; i < kPerStore; ++i) {
      const std::string who = customer_at("81", s, i);
      ASSERT_EQ(plugin_.record(till(s), event(json::parse(consent(who)), who, at(45)).c_str()), REGULARS_OK);
      ASSERT_EQ(plugin_.record(till(s), event({{"type", "purchase"}, {"lines", bread}}, who, at(41)).c_str()), REGULARS_OK);
      const json ask = {{"customer", {{"kind", "card"}, {"value", who}}}, {"time", at(40)}};
      regulars_status st;
      const json answer = json::parse(plugin_.hints_text(till(s), ask.dump(), st), nullptr, false);
      ASSERT_EQ(st, REGULARS_OK);
      ASSERT_TRUE(answer.contains("offers")) << answer.dump();
      // Back at C within the month, 0, 1 or 2 times.
      for (int k = 0; k < i % 3; ++k, ++events, ++back_at_c)
        ASSERT_EQ(plugin_.record(till(2), event({{"type", "purchase"}, {"lines", bread}}, who, at(33 - k)).c_str()), REGULARS_OK);
      events += 2;
    }
  ASSERT_GT(offered("chain-gift"), 0) << "the rule offered nothing; the test needs offers on both sides";
  // A and B applied every purchase made at C, so their reports count the visits there.
  ASSERT_TRUE(wait_until([&] {
    for (std::size_t s = 0; s < 2; ++s)
      if (StoreFile(stores_[s]->db_path()).count("SELECT count(*) FROM events WHERE origin='C' AND type='purchase'") != back_at_c)
        return false;
    return true;
  }, std::chrono::seconds(60)));
  const auto local_report = [&](std::size_t s) {
    std::string out;
    EXPECT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[s]->data_dir() + " gestures roi chain-gift --json", out), 0) << out;
    json r = json::parse(out, nullptr, false);
    return r.is_object() && r["rules"].size() == 1 ? r["rules"][0] : json();
  };
  const auto chain_roi = [&] {
    std::string out;
    EXPECT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + stores_[2]->data_dir() + " chain roi --json", out), 0) << out;
    return json::parse(out, nullptr, false);
  };
  // A store's row in the chain's report is its own report, once its sums caught up (every second;
  // the waits are generous for sanitized builds, where each round runs three regularsctl).
  json chain, rule;
  const auto caught_up = wait_until([&] {
    chain = chain_roi();
    if (!chain.is_object() || chain["rules"].size() != 1) return false;
    rule = chain["rules"][0];
    if (rule["stores"].size() != 3) return false;  // C too: the rule is in force there, without offers
    for (std::size_t s = 0; s < 3; ++s) {
      json mine = rule["stores"][s];
      if (mine["store"] != kStoreIds[s]) return false;
      mine.erase("store");
      mine.erase("as_of");
      if (mine != local_report(s)) return false;
    }
    return true;
  }, std::chrono::seconds(60));
  ASSERT_TRUE(caught_up) << chain.dump(2) << "\nA: " << local_report(0).dump(2) << "\nB: " << local_report(1).dump(2)
                         << "\nC: " << local_report(2).dump(2);
  EXPECT_EQ(rule["stores"][2]["offers"], 0) << "C offered nothing";
  // The chain's row pools both: counts add up, means are weighted by the customers followed.
  const json& pooled = rule["chain"];
  const json &a = rule["stores"][0], &b = rule["stores"][1];
  for (const char* group : {"offered", "held_out"}) {
    for (const char* count : {"customers", "followed", "returned"})
      EXPECT_EQ(pooled[group][count], a[group][count].get<long long>() + b[group][count].get<long long>()) << group << "." << count;
    const double na = a[group]["followed"].get<double>(), nb = b[group]["followed"].get<double>();
    for (const char* mean : {"visits_per_customer", "spend_per_customer"})
      EXPECT_NEAR(pooled[group][mean].get<double>(),
                  (a[group][mean].get<double>() * na + b[group][mean].get<double>() * nb) / std::max(1.0, na + nb), 1e-3)
          << group << "." << mean;
  }
  EXPECT_EQ(pooled["offered"]["customers"].get<long long>() + pooled["held_out"]["customers"].get<long long>(), 2 * kPerStore);
  EXPECT_EQ(pooled["offers"], a["offers"].get<long long>() + b["offers"].get<long long>());
  EXPECT_GT(pooled["held_out"]["visits_per_customer"].get<double>() + pooled["offered"]["visits_per_customer"].get<double>(), 0)
      << "the visits at C count for the offers made at A and B";
  EXPECT_EQ(chain["refused"], json::array());
  // The hub holds sums only: no offer, no customer.
  EXPECT_EQ(std::stoll(hub_->scalar("SELECT count(*) FROM regulars_events WHERE type IN ('offer', 'offer_outcome')", "chain")), 0);
  // A row on the hub that is not valid sums (A's own, as the hub holds it, but for a negative
  // count) is left out of every figure, and named.
  json spoiled = json::parse(hub_->scalar("SELECT sums::text FROM regulars_roi WHERE store_id='A'", "chain"));
  spoiled["offered"]["customers"] = -5;
  hub_->exec("INSERT INTO regulars_stores(store_id, instance) VALUES ('Z', 1)", "chain");
  hub_->exec("INSERT INTO regulars_roi(store_id, rule_id, as_of_ms, sums) VALUES ('Z', 'chain-gift', 1796000000000, '" +
                 spoiled.dump() + "')", "chain");
  const json with_bad = chain_roi();
  ASSERT_EQ(with_bad["refused"].size(), 1u) << with_bad.dump(2);
  EXPECT_EQ(with_bad["refused"][0], "Z/chain-gift: offered.customers is negative, too large or not finite");
  EXPECT_EQ(with_bad["rules"][0]["chain"]["offered"]["customers"], pooled["offered"]["customers"]) << "the bad row counts nowhere";
  // The admin API serves the same report (each store's "as of" moves with every second's sums).
  json over_http = json::parse(admin_get(*stores_[2], "/v1/chain/roi", true), nullptr, false);
  ASSERT_TRUE(over_http.is_object()) << "GET /v1/chain/roi";
  json expected = with_bad;
  for (json* r : {&over_http, &expected})
    for (auto& store : (*r)["rules"][0]["stores"]) store.erase("as_of");
  EXPECT_EQ(over_http["rules"], expected["rules"]);
  EXPECT_EQ(over_http["refused"], expected["refused"]);
}

}  // namespace
}  // namespace regulars::test
