// The client behind a regulars_client (plugin/client.hpp), in process, against the fake daemon:
// records acknowledged, spooled and replayed; hints within the time budget; broken answers.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client.hpp"
#include "fake_daemon.hpp"
#include "seal.hpp"
#include "spool.hpp"
#include "temp_dir.hpp"
#include "wire/frame.hpp"
#include "wire/sealed.hpp"

namespace {

namespace fs = std::filesystem;
namespace t = regulars::test;
using namespace std::chrono_literals;
using nlohmann::json;
using regulars::plugin::Client;
using regulars::plugin::Options;
using regulars::test::FakeDaemon;
using regulars::test::Reply;
using regulars::test::TempDir;

// Scheduling slack allowed on top of a call's budget. Wide on purpose: two shared cores, and
// sanitizer builds (ASan, TSan) slow the code down, though not the deadlines it waits for. A call
// that ignored its budget would wait for the silent daemon forever, so the margin costs nothing.
constexpr auto kSlack = 900ms;
constexpr int kBudgetMs = 100;

constexpr const char* kHintsRequest = R"({"customer": {"kind": "card", "value": "4000123"}})";

json purchase_event(const std::string& event_id = "") {
  json e = {{"type", "purchase"},
            {"customer", {{"kind", "card"}, {"value", "4000123"}}},
            {"lines", {{{"sku", "oat-milk"}, {"qty", 1}, {"unit_price", 199}}}}};
  if (!event_id.empty()) e["event_id"] = event_id;
  return e;
}
std::string purchase(const std::string& event_id = "") { return purchase_event(event_id).dump(); }

// What a healthy daemon says: hints for a stranger, every record committed.
Reply serve_normally(const json& request) {
  const std::string op = request.value("op", "");
  if (op == "hints") return t::answer(request, t::unknown_customer_answer());
  if (op == "record") return t::answer(request, {{"seq", 1}, {"duplicate", false}});
  if (op == "ping") return t::answer(request);
  return t::refuse(request, "unknown_op", "op", "not known to the fake daemon");
}

// Serves `op` with `reply`, everything else normally.
FakeDaemon::Handler on(const std::string& op, std::function<Reply(const json&)> reply) {
  return [op, reply](const json& r) { return r.value("op", "") == op ? reply(r) : serve_normally(r); };
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Polls `done` every 10 ms for up to 10 s.
bool eventually(const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

template <class F>
std::chrono::milliseconds time_of(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string hex(const regulars::plugin::seal::PublicKey& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : key) out += {kHex[b >> 4], kHex[b & 0xf]};
  return out;
}

// The event ids of every record the fake daemon got, sealed ones opened with `key`.
// The event a record request carries: as it is, or sealed and opened here with `key`.
json event_of(const json& request, const regulars::plugin::seal::LocalKey& key) {
  if (request.contains("event")) return request["event"];
  std::string why;
  const auto sealed = regulars::wire::base64_decode(request.value("sealed", ""));
  const auto opened = sealed ? regulars::plugin::seal::open(key, *sealed, why) : std::nullopt;
  return opened ? json::parse(*opened) : json{{"event_id", "<unopenable>"}};
}

std::vector<std::string> opened_event_ids(const std::vector<json>& records, const regulars::plugin::seal::LocalKey& key) {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(event_of(r, key).value("event_id", ""));
  return ids;
}

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() {
    std::string why;
    daemon_key_ = regulars::plugin::seal::local_key(key_dir_.path(), why);  // any X25519 pair
    if (!daemon_key_) throw std::runtime_error(why);
  }

  // Options of a till that has met its daemon before (its spool key is kept in the spool
  // directory), unless `knows_daemon_key` is false.
  Options options(int budget_ms = 1000, bool knows_daemon_key = true) const {
    if (knows_daemon_key) {
      fs::create_directories(spool_dir());
      std::ofstream(spool_dir() + "/regularsd.pub") << hex(daemon_key_->public_key) << "\n";
    }
    Options o;
    o.socket_path = dir_.sub("regularsd.sock");
    o.spool_dir = spool_dir();
    o.budget_ms = budget_ms;
    o.terminal = "lane-1";
    return o;
  }
  std::string spool_dir() const { return dir_.sub("spool"); }

  json hello_with_key() const {
    json hello = FakeDaemon::default_hello();
    hello["spool_key"] = hex(daemon_key_->public_key);
    return hello;
  }
  void start_daemon(FakeDaemon::Handler handler = serve_normally) { start_daemon(std::move(handler), hello_with_key()); }
  void start_daemon(FakeDaemon::Handler handler, json hello) {
    daemon_ = std::make_unique<FakeDaemon>(dir_.sub("regularsd.sock"), std::move(handler), std::move(hello));
  }
  std::vector<std::string> event_ids(const std::vector<json>& records) const {
    return opened_event_ids(records, *daemon_key_);
  }
  void stop_daemon() { daemon_.reset(); }

  // Hints asked until the daemon answers one: the client is connected and trusts the daemon.
  bool wait_until_served() {
    return eventually([&] {
      std::string response, why;
      return client_->hints(kHintsRequest, response, why) == REGULARS_OK;
    });
  }

  regulars_status record(const std::string& event_json) {
    std::string why;
    const regulars_status s = client_->record(event_json.c_str(), why);
    last_why_ = why;
    return s;
  }

  std::vector<std::string> spool_files() const {
    std::vector<std::string> out;
    if (!fs::exists(spool_dir())) return out;
    for (const auto& e : fs::directory_iterator(spool_dir()))
      if (e.path().extension() == ".rsp") out.push_back(e.path().string());
    return out;
  }
  std::uintmax_t spooled_bytes() const {
    std::uintmax_t n = 0;
    for (const auto& f : spool_files()) n += fs::file_size(f);
    return n;
  }

  bool daemon_got_records(std::size_t n) {
    return daemon_->wait_for([n](const std::vector<json>& rs) {
      std::size_t records = 0;
      for (const auto& r : rs) records += r.value("op", "") == "record";
      return records >= n;
    });
  }

  TempDir dir_;
  TempDir key_dir_;
  std::optional<regulars::plugin::seal::LocalKey> daemon_key_;  // the fake daemon's spool key
  std::unique_ptr<FakeDaemon> daemon_;
  std::unique_ptr<Client> client_;  // declared last: it goes before the daemon and the directory
  std::string last_why_;
};

// ---------------------------------------------------------------------------------------------
// A daemon that answers

TEST_F(ClientTest, RecordAcknowledgedByTheDaemonIsOkAndNotSpooled) {
  start_daemon();
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  EXPECT_EQ(record(purchase()), REGULARS_OK) << last_why_;
  const auto records = daemon_->requests_with_op("record");
  ASSERT_EQ(records.size(), 1u);
  const json& event = records[0]["event"];
  EXPECT_EQ(event["event_id"].get<std::string>().rfind("ev-", 0), 0u) << event;  // made by the library
  EXPECT_TRUE(event.contains("time")) << event;
  EXPECT_EQ(event.value("terminal", ""), "lane-1");
  EXPECT_EQ(spooled_bytes(), 0u);
}

TEST_F(ClientTest, HintsAnswerOfTheDaemonIsReturnedAsItCame) {
  start_daemon();
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  std::string response, why;
  ASSERT_EQ(client_->hints(kHintsRequest, response, why), REGULARS_OK) << why;
  EXPECT_EQ(json::parse(response), t::unknown_customer_answer());
  // This daemon did not list "hints.who" at hello: the request goes as the till wrote it.
  EXPECT_FALSE(daemon_->requests_with_op("hints").back()["request"].contains("terminal"));
}

TEST_F(ClientTest, HintsSayWhichLaneAsksToADaemonThatTakesIt) {
  json hello = FakeDaemon::default_hello();
  hello["features"] = {"hints.who"};
  start_daemon(serve_normally, hello);
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  EXPECT_EQ(daemon_->requests_with_op("hints").back()["request"].value("terminal", ""), "lane-1");
}

TEST_F(ClientTest, HintsTheDaemonRefusesGiveItsTypedError) {
  start_daemon(on("hints", [](const json& r) { return t::refuse(r, "invalid_request", "request.basket", "too long"); }));
  client_ = std::make_unique<Client>(options());
  std::string response, why;
  ASSERT_TRUE(eventually([&] { return client_->hints(kHintsRequest, response, why) != REGULARS_UNAVAILABLE; }));
  EXPECT_EQ(client_->hints(kHintsRequest, response, why), REGULARS_INVALID_INPUT);
  EXPECT_TRUE(contains(why, "request.basket")) << why;
  EXPECT_TRUE(response.empty());
}

TEST_F(ClientTest, RecordTheDaemonRefusesIsNeitherOkNorSpooled) {
  start_daemon(on("record", [](const json& r) { return t::refuse(r, "invalid_event", "event.lines[0].sku", "unknown"); }));
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  EXPECT_EQ(record(purchase()), REGULARS_INVALID_INPUT);
  EXPECT_TRUE(contains(last_why_, "event.lines[0].sku")) << last_why_;
  EXPECT_EQ(spooled_bytes(), 0u);
}

TEST_F(ClientTest, RecordADaemonStoppingCannotTakeIsSpooled) {
  start_daemon(on("record", [](const json& r) { return t::refuse(r, "shutting_down", "", "stopping"); }));
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  EXPECT_EQ(record(purchase()), REGULARS_OK) << last_why_;
  EXPECT_GT(spooled_bytes(), 0u);
}

// ---------------------------------------------------------------------------------------------
// The time budget: the till never waits longer, whatever the daemon does

TEST_F(ClientTest, SilentDaemonMakesHintsReturnWithinTheBudget) {
  start_daemon();
  client_ = std::make_unique<Client>(options(kBudgetMs));
  ASSERT_TRUE(wait_until_served());
  daemon_->set_handler([](const json&) { return t::silence(); });
  std::string response, why;
  regulars_status s = REGULARS_OK;
  const auto took = time_of([&] { s = client_->hints(kHintsRequest, response, why); });
  EXPECT_EQ(s, REGULARS_TIMEOUT) << why;
  EXPECT_LT(took, std::chrono::milliseconds(kBudgetMs) + kSlack);
}

TEST_F(ClientTest, AfterATimeoutHintsFailFastUntilTheDaemonAnswersAPing) {
  start_daemon();
  client_ = std::make_unique<Client>(options(kBudgetMs));
  ASSERT_TRUE(wait_until_served());
  daemon_->set_handler([](const json&) { return t::silence(); });
  std::string response, why;
  ASSERT_EQ(client_->hints(kHintsRequest, response, why), REGULARS_TIMEOUT);
  // Suspect now: the next call does not spend its budget on the same silent daemon.
  EXPECT_EQ(client_->hints(kHintsRequest, response, why), REGULARS_UNAVAILABLE);
  daemon_->set_handler(serve_normally);
  EXPECT_TRUE(wait_until_served()) << "a ping answered should make the daemon trusted again";
  EXPECT_FALSE(daemon_->requests_with_op("ping").empty());
}

TEST_F(ClientTest, RecordToASilentDaemonIsSpooledWithinTheBudget) {
  client_ = std::make_unique<Client>(options(kBudgetMs));
  // Spooled once with no daemon, then delivered: the spool and its sealing are set up, so the
  // timed record below leaves its 20 ms spool reserve to the write itself.
  ASSERT_EQ(record(purchase("warm-1")), REGULARS_OK) << last_why_;
  start_daemon();
  ASSERT_TRUE(wait_until_served());
  ASSERT_TRUE(eventually([&] { return spooled_bytes() == 0; }));
  daemon_->set_handler([](const json&) { return t::silence(); });
  regulars_status s = REGULARS_INTERNAL;
  const auto took = time_of([&] { s = record(purchase()); });
  EXPECT_EQ(s, REGULARS_OK) << last_why_;
  EXPECT_LT(took, std::chrono::milliseconds(kBudgetMs) + kSlack);
  EXPECT_GT(spooled_bytes(), 0u);
}

TEST_F(ClientTest, AbsentDaemonMakesHintsUnavailableWithinTheBudget) {
  client_ = std::make_unique<Client>(options(kBudgetMs));
  std::string response, why;
  regulars_status s = REGULARS_OK;
  const auto took = time_of([&] { s = client_->hints(kHintsRequest, response, why); });
  EXPECT_EQ(s, REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(why, "not reachable")) << why;
  EXPECT_LT(took, std::chrono::milliseconds(kBudgetMs) + kSlack);
}

TEST_F(ClientTest, AbsentDaemonAndNoSpoolMeansRecordIsNotOk) {
  Options o = options();
  o.spool_dir.clear();
  client_ = std::make_unique<Client>(o);
  EXPECT_EQ(record(purchase()), REGULARS_UNAVAILABLE);
}

// ---------------------------------------------------------------------------------------------
// The spool: nothing acknowledged is lost, nothing is counted twice

TEST_F(ClientTest, DaemonGoneMidRecordSpoolsAndTheReplayDeliversItOnceWithTheSameId) {
  start_daemon(on("record", [](const json&) { return t::hang_up(); }));  // read, then gone unanswered
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  ASSERT_EQ(record(purchase()), REGULARS_OK) << last_why_;
  const auto attempts = daemon_->requests_with_op("record");
  ASSERT_FALSE(attempts.empty());
  const json sent = attempts[0]["event"];
  stop_daemon();
  EXPECT_GT(spooled_bytes(), 0u) << "acknowledged, so it must be on disk";

  start_daemon();
  ASSERT_TRUE(daemon_got_records(1));
  ASSERT_TRUE(eventually([&] { return spooled_bytes() == 0; })) << "the replay was not acknowledged";
  client_.reset();  // no replay can still be under way
  const auto replayed = daemon_->requests_with_op("record");
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(event_of(replayed[0], *daemon_key_), sent) << "the replay must carry the first attempt's event_id";
}

TEST_F(ClientTest, RecordsSpooledWhileTheDaemonIsAwayArriveInOrder) {
  client_ = std::make_unique<Client>(options());
  for (const char* id : {"lane1-1", "lane1-2", "lane1-3"}) ASSERT_EQ(record(purchase(id)), REGULARS_OK) << last_why_;
  start_daemon();
  ASSERT_TRUE(daemon_got_records(3));
  ASSERT_TRUE(eventually([&] { return spooled_bytes() == 0; }));
  client_.reset();  // every replay is over
  EXPECT_EQ(event_ids(daemon_->requests_with_op("record")), (std::vector<std::string>{"lane1-1", "lane1-2", "lane1-3"}));
}

// A replay whose first record the daemon cannot take now is tried again later; the other records
// of its window, already sent, must not stay behind in the connection with their answers.
TEST_F(ClientTest, AReplayCutShortLeavesNoCallBehind) {
  client_ = std::make_unique<Client>(options());
  for (int i = 1; i <= 10; ++i) ASSERT_EQ(record(purchase("lane1-" + std::to_string(i))), REGULARS_OK) << last_why_;
  auto refused_once = std::make_shared<std::atomic<bool>>(false);
  start_daemon(on("record", [refused_once](const json& r) {
    if (!refused_once->exchange(true)) return t::refuse(r, "overloaded", "", "busy; retry later");
    return serve_normally(r);
  }));
  ASSERT_TRUE(daemon_got_records(10 + 10));  // the cut-short replay, then the one that delivers all
  ASSERT_TRUE(eventually([&] { return spooled_bytes() == 0; }));
  ASSERT_TRUE(wait_until_served());  // any answers still in the socket are read and routed by now
  EXPECT_EQ(client_->calls_in_flight(), 0u);
}

TEST_F(ClientTest, SpoolSealedToTheDaemonsKeyHoldsNoRawIdentifier) {
  TempDir daemon_dir;
  std::string why;
  const auto daemon_key = regulars::plugin::seal::local_key(daemon_dir.path(), why);  // any X25519 pair
  ASSERT_TRUE(daemon_key.has_value()) << why;
  json hello = FakeDaemon::default_hello();
  hello["features"] = {"record.sealed"};
  hello["spool_key"] = hex(daemon_key->public_key);
  start_daemon(serve_normally, hello);
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  stop_daemon();

  ASSERT_EQ(record(purchase("sealed-1")), REGULARS_OK) << last_why_;
  ASSERT_EQ(spool_files().size(), 1u);
  const auto on_disk = regulars::plugin::parse_spool_records(read_file(spool_files()[0]), 0, SIZE_MAX).payloads;
  ASSERT_EQ(on_disk.size(), 1u);
  EXPECT_EQ(static_cast<unsigned char>(on_disk[0][0]), regulars::wire::sealed::kVersion);
  EXPECT_FALSE(contains(on_disk[0], "4000123"));

  start_daemon(serve_normally, hello);
  ASSERT_TRUE(daemon_got_records(1));
  const json request = daemon_->requests_with_op("record")[0];
  ASSERT_FALSE(request.contains("event")) << "a sealed record travels sealed";
  const auto sealed = regulars::wire::base64_decode(request.at("sealed").get<std::string>());
  ASSERT_TRUE(sealed.has_value());
  const auto opened = regulars::plugin::seal::open(*daemon_key, *sealed, why);
  ASSERT_TRUE(opened.has_value()) << why;
  const json event = json::parse(*opened);
  EXPECT_EQ(event["event_id"], "sealed-1");
  EXPECT_EQ(event["customer"]["value"], "4000123");
}

TEST_F(ClientTest, SpoolFileOfAPluginFromBeforeSealingIsReplayedAndRemoved) {
  fs::create_directories(spool_dir());
  const std::string left = spool_dir() + "/spool-4242-0000000000000001.rsp";
  std::ofstream(left, std::ios::binary) << regulars::plugin::encode_spool_record(purchase("from-an-old-plugin"));
  start_daemon();
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(daemon_got_records(1));
  EXPECT_EQ(event_ids(daemon_->requests_with_op("record")), std::vector<std::string>{"from-an-old-plugin"});
  EXPECT_TRUE(eventually([&] { return !fs::exists(left); }));
}

TEST_F(ClientTest, RecordsSealedToTheSpoolsOwnKeyByAnOlderPluginAreStillReplayed) {
  fs::create_directories(spool_dir());
  std::string why;
  const auto local = regulars::plugin::seal::local_key(spool_dir(), why);  // as a plugin before issue 19 made it
  ASSERT_TRUE(local.has_value()) << why;
  const auto sealed = regulars::plugin::seal::seal(local->public_key, purchase("from-local-key"),
                                                   regulars::wire::sealed::kLocalVersion, why);
  ASSERT_TRUE(sealed.has_value()) << why;
  const std::string left = spool_dir() + "/spool-4243-0000000000000001.rsp";
  std::ofstream(left, std::ios::binary) << regulars::plugin::encode_spool_record(*sealed);
  start_daemon();
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(daemon_got_records(1));
  EXPECT_EQ(event_ids(daemon_->requests_with_op("record")), std::vector<std::string>{"from-local-key"});
  EXPECT_TRUE(eventually([&] { return !fs::exists(left); }));
}

// Issue 19, item 1: a record the replay finds too big for the daemon's frames (spooled before the
// till knew the limit) is kept in the quarantine with a line saying how big, never dropped.
TEST_F(ClientTest, ASpooledRecordTooBigForTheDaemonsFramesIsQuarantinedNotDropped) {
  json big = purchase_event("too-big");
  for (int i = 0; i < 80; ++i) big["lines"].push_back({{"sku", "sku-" + std::to_string(i)}, {"qty", 1}, {"unit_price", 199}});
  std::string why;
  const auto sealed_big = regulars::plugin::seal::seal(daemon_key_->public_key, big.dump(), regulars::wire::sealed::kVersion, why);
  const auto sealed_small = regulars::plugin::seal::seal(daemon_key_->public_key, purchase("after-it"),
                                                         regulars::wire::sealed::kVersion, why);
  ASSERT_TRUE(sealed_big && sealed_small) << why;
  fs::create_directories(spool_dir());
  const std::string left = spool_dir() + "/spool-4244-0000000000000001.rsp";
  std::ofstream(left, std::ios::binary) << regulars::plugin::encode_spool_record(*sealed_big)
                                        << regulars::plugin::encode_spool_record(*sealed_small);
  json hello = hello_with_key();
  hello["max_frame_bytes"] = 4096;
  start_daemon(serve_normally, hello);
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(daemon_got_records(1));
  ASSERT_TRUE(eventually([&] { return !fs::exists(left); }));
  client_.reset();
  EXPECT_EQ(event_ids(daemon_->requests_with_op("record")), std::vector<std::string>{"after-it"});
  std::vector<std::string> kept;
  if (fs::exists(spool_dir() + "/quarantine"))
    for (const auto& e : fs::directory_iterator(spool_dir() + "/quarantine"))
      if (e.path().extension() == ".bad") kept.push_back(read_file(e.path().string()));
  EXPECT_EQ(kept, std::vector<std::string>{regulars::plugin::encode_spool_record(*sealed_big)});
  const std::string log = read_file(spool_dir() + "/quarantine/quarantine.log");
  EXPECT_TRUE(contains(log, std::to_string(sealed_big->size()) + " bytes")) << log;
  EXPECT_TRUE(contains(log, "max_frame_bytes")) << log;
}

TEST_F(ClientTest, FailedSpoolFlushMeansRecordIsNotOk) {
  client_ = std::make_unique<Client>(options(), [](int) {
    errno = EIO;
    return -1;
  });
  EXPECT_EQ(record(purchase()), REGULARS_IO);
  EXPECT_TRUE(contains(last_why_, "fsync")) << last_why_;
  EXPECT_EQ(spooled_bytes(), 0u);
}

// ---------------------------------------------------------------------------------------------
// A slow disk (issue 19, item 3): the spool write is bounded by the budget too. TIMEOUT then means
// "durable or not recorded", and the write, once it finishes, is replayed exactly once.

TEST_F(ClientTest, ASlowSpoolFlushAnswersTimeoutWithinTheBudgetAndTheEventIsLaterDurableOnce) {
  std::atomic<bool> slow{false};
  constexpr int kShortBudgetMs = 30;
  client_ = std::make_unique<Client>(options(kShortBudgetMs), [&](int fd) {
    if (slow.load()) std::this_thread::sleep_for(100ms);  // the disk takes 100 ms to flush
    return ::fdatasync(fd);
  });
  ASSERT_EQ(record(purchase("fast-1")), REGULARS_OK) << last_why_;  // loads libcrypto, makes the file

  slow = true;
  regulars_status s = REGULARS_INTERNAL;
  const auto took = time_of([&] { s = record(purchase("slow-1")); });
  EXPECT_EQ(s, REGULARS_TIMEOUT) << last_why_;
  EXPECT_LT(took, std::chrono::milliseconds(kShortBudgetMs) + 50ms) << "the till waited for the disk";
  EXPECT_TRUE(contains(last_why_, "slow-1")) << "the message names the event to retry: " << last_why_;

  // The write goes on without the till: the event becomes durable, and is delivered once.
  start_daemon();
  ASSERT_TRUE(daemon_got_records(2));
  ASSERT_TRUE(eventually([&] { return spooled_bytes() == 0; }));
  client_.reset();
  EXPECT_EQ(event_ids(daemon_->requests_with_op("record")), (std::vector<std::string>{"fast-1", "slow-1"}));
}

// ---------------------------------------------------------------------------------------------
// No daemon key, no spool (issue 19, item 9): nothing is written that the till could open itself.

TEST_F(ClientTest, BeforeTheDaemonsKeyIsKnownNothingIsSpooledAndNoKeyIsMade) {
  client_ = std::make_unique<Client>(options(1000, /*knows_daemon_key=*/false));  // never met a daemon; no spool.pub
  EXPECT_EQ(record(purchase("no-key-1")), REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(last_why_, "spool key")) << last_why_;
  EXPECT_EQ(spooled_bytes(), 0u);
  EXPECT_FALSE(fs::exists(spool_dir() + "/local.key")) << "a key beside the data opens the data";
}

// ---------------------------------------------------------------------------------------------
// Broken answers: a typed error, never a crash, and the client reconnects afterwards

TEST_F(ClientTest, OversizedHintsAnswerIsATypedErrorAndTheClientRecovers) {
  start_daemon();
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  const std::uint32_t over = (64u << 20) + 1;  // over the 64 MiB the plugin reads
  daemon_->set_handler(on("hints", [over](const json&) {
    return t::raw({static_cast<char>(over >> 24), static_cast<char>(over >> 16), static_cast<char>(over >> 8),
                   static_cast<char>(over)});
  }));
  std::string response, why;
  EXPECT_EQ(client_->hints(kHintsRequest, response, why), REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(why, "malformed frame")) << why;
  daemon_->set_handler(serve_normally);
  EXPECT_TRUE(wait_until_served());
}

TEST_F(ClientTest, MalformedHintsAnswerIsATypedError) {
  start_daemon();
  client_ = std::make_unique<Client>(options());
  ASSERT_TRUE(wait_until_served());
  daemon_->set_handler(on("hints", [](const json&) { return t::raw(regulars::wire::encode_frame("<html>")); }));
  std::string response, why;
  EXPECT_EQ(client_->hints(kHintsRequest, response, why), REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(why, "not a JSON object")) << why;
  EXPECT_TRUE(response.empty());
}

}  // namespace
