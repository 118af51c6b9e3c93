// One connection to the daemon (plugin/connection.hpp), against the fake daemon: what hello
// teaches it, answers matched by request id, the daemon's typed errors, and answers so broken
// that the stream must end.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "connection.hpp"
#include "fake_daemon.hpp"
#include "temp_dir.hpp"
#include "wire/frame.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using regulars::plugin::CallResult;
using regulars::plugin::Clock;
using regulars::plugin::Connection;
using regulars::plugin::Options;
using regulars::test::FakeDaemon;
using regulars::test::Reply;
using regulars::test::TempDir;
namespace t = regulars::test;

// Far enough away never to be reached when the fake answers; these tests are not about time.
regulars::plugin::Deadline soon() { return Clock::now() + 5s; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class ConnectionTest : public ::testing::Test {
 protected:
  std::string socket_path() const { return dir_.sub("regularsd.sock"); }

  std::shared_ptr<Connection> open(int wait_spin_us = 0) {
    Options options;
    options.socket_path = socket_path();
    options.wait_spin_us = wait_spin_us;
    CallResult failure;
    auto conn = Connection::open(options, nullptr, soon(), failure);
    EXPECT_NE(conn, nullptr) << failure.message;
    return conn;
  }

  // Starts a fake daemon that answers every request with `handler` (hello aside).
  void serve(FakeDaemon::Handler handler, json hello = FakeDaemon::default_hello()) {
    daemon_ = std::make_unique<FakeDaemon>(socket_path(), std::move(handler), std::move(hello));
  }

  // One ping answered with `reply`: what the connection makes of it.
  CallResult call_answered_with(Reply reply) {
    serve([reply](const json&) { return reply; });
    auto conn = open();
    if (!conn) return {};
    return conn->call(json{{"op", "ping"}}, soon());
  }

  TempDir dir_;
  std::unique_ptr<FakeDaemon> daemon_;
};

TEST_F(ConnectionTest, NoDaemonAtTheSocketIsUnavailable) {
  Options options;
  options.socket_path = socket_path();
  CallResult failure;
  EXPECT_EQ(Connection::open(options, nullptr, soon(), failure), nullptr);
  EXPECT_EQ(failure.status, REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(failure.message, "is regularsd running?")) << failure.message;
}

TEST_F(ConnectionTest, HelloWithoutExtrasKeepsTheDefaults) {
  serve([](const json& r) { return t::answer(r); });
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  EXPECT_FALSE(conn->hints_take_who());
  EXPECT_EQ(conn->max_frame_bytes(), 1u << 20);
  EXPECT_FALSE(conn->spool_key().has_value());
}

TEST_F(ConnectionTest, HelloTeachesFeaturesFrameLimitAndSpoolKey) {
  json hello = FakeDaemon::default_hello();
  hello["features"] = {"hints.who", "record.sealed"};
  hello["max_frame_bytes"] = 65536;
  hello["spool_key"] = std::string(62, '0') + "ff";
  serve([](const json& r) { return t::answer(r); }, hello);
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  EXPECT_TRUE(conn->hints_take_who());
  EXPECT_EQ(conn->max_frame_bytes(), 65536u);
  ASSERT_TRUE(conn->spool_key().has_value());
  EXPECT_EQ(conn->spool_key()->back(), 0xff);
}

TEST_F(ConnectionTest, AnswersInAnotherOrderReachTheirOwnCallers) {
  auto first = std::make_shared<json>();  // held back until the second request has come
  serve([first](const json& r) {
    if (first->is_null()) {
      *first = r;
      return t::silence();
    }
    return t::raw(t::answer(r, {{"for", "second"}}).bytes + t::answer(*first, {{"for", "first"}}).bytes);
  });
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  CallResult failure;
  const auto a = conn->send(json{{"op", "ping"}}, soon(), failure);
  ASSERT_TRUE(daemon_->wait_for([](const auto& rs) { return rs.size() == 1; }));  // `first` is set
  const auto b = conn->send(json{{"op", "ping"}}, soon(), failure);
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_EQ(conn->await(b, soon()).result, (json{{"for", "second"}}));
  EXPECT_EQ(conn->await(a, soon()).result, (json{{"for", "first"}}));
}

TEST_F(ConnectionTest, AnAnswerAfterTheDeadlineIsDroppedNotGivenToAnotherCall) {
  auto late = std::make_shared<json>();
  serve([late](const json& r) {
    if (r.value("call", "") == "times out") {
      *late = r;
      return t::silence();
    }
    if (r.value("call", "") == "gets only the late answer") return t::answer(*late, {{"for", "late"}});
    return t::answer(r, {{"for", "third"}});
  });
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(conn->call(json{{"op", "ping"}, {"call", "times out"}}, Clock::now() + 20ms).status, REGULARS_TIMEOUT);
  const CallResult second = conn->call(json{{"op", "ping"}, {"call", "gets only the late answer"}}, Clock::now() + 50ms);
  EXPECT_EQ(second.status, REGULARS_TIMEOUT) << "given another call's answer: " << second.result;
  const CallResult third = conn->call(json{{"op", "ping"}}, soon());
  EXPECT_EQ(third.status, REGULARS_OK) << third.message;
  EXPECT_EQ(third.result, (json{{"for", "third"}}));
}

// wait_spin_us: the caller polls before it sleeps. An answer that comes after the polling is
// still read (the caller then sleeps until it comes), and polling never outlasts the deadline.
TEST_F(ConnectionTest, ACallerThatPollsFirstStillGetsALateAnswerAndKeepsItsDeadline) {
  serve([](const json& r) {
    if (r.value("call", "") == "never") return t::silence();
    std::this_thread::sleep_for(r.value("call", "") == "late" ? 30ms : 0ms);
    return t::answer(r, {{"for", r.value("call", "")}});
  });
  auto conn = open(2000);
  ASSERT_NE(conn, nullptr);
  for (const char* call : {"at once", "late", "at once"}) {
    const CallResult r = conn->call(json{{"op", "ping"}, {"call", call}}, soon());
    EXPECT_EQ(r.status, REGULARS_OK) << call << ": " << r.message;
    EXPECT_EQ(r.result, (json{{"for", call}}));
  }
  // A deadline shorter than the polling (5 s here, past what the option allows, to tell the two
  // apart): the call ends at the deadline, not after the polling.
  auto polls_long = open(5'000'000);
  ASSERT_NE(polls_long, nullptr);
  const auto deadline = Clock::now() + 1ms;
  EXPECT_EQ(polls_long->call(json{{"op", "ping"}, {"call", "never"}}, deadline).status, REGULARS_TIMEOUT);
  EXPECT_LT(Clock::now(), deadline + 500ms) << "polled past the deadline";
}

// The client's background thread reconnects with connect() and handshake(), not open(): a
// connection made either way polls as the options say, or a till that reconnected after a
// daemon restart would quietly go back to sleeping at once.
TEST_F(ConnectionTest, EveryWayOfConnectingPollsAsTheOptionsSay) {
  serve([](const json& r) { return t::answer(r, json::object()); });
  Options options;
  options.socket_path = socket_path();
  options.wait_spin_us = 700;
  CallResult failure;
  auto opened = Connection::open(options, nullptr, soon(), failure);
  ASSERT_NE(opened, nullptr) << failure.message;
  EXPECT_EQ(opened->wait_spin(), 700us);
  auto reconnected = Connection::connect(options, nullptr, soon(), failure);
  ASSERT_NE(reconnected, nullptr) << failure.message;
  ASSERT_EQ(reconnected->handshake(options, soon()).status, REGULARS_OK);
  EXPECT_EQ(reconnected->wait_spin(), 700us) << "a reconnected client sleeps at once";
}

TEST(ConnectionOptions, WaitSpinIsAWholeNumberOfMicrosecondsUpTo5000) {
  const auto good = regulars::plugin::parse_options(R"({"wait_spin_us": 5000})");
  ASSERT_TRUE(std::holds_alternative<Options>(good));
  EXPECT_EQ(std::get<Options>(good).wait_spin_us, 5000);
  EXPECT_EQ(std::get<Options>(regulars::plugin::parse_options("{}")).wait_spin_us, 0) << "sleeps at once by default";
  for (const char* bad : {R"({"wait_spin_us": -1})", R"({"wait_spin_us": 5001})", R"({"wait_spin_us": 1.5})", R"({"wait_spin_us": "100"})"}) {
    const auto parsed = regulars::plugin::parse_options(bad);
    ASSERT_TRUE(std::holds_alternative<regulars::wire::Error>(parsed)) << bad;
    EXPECT_EQ(std::get<regulars::wire::Error>(parsed).field, "options.wait_spin_us") << bad;
  }
}

TEST_F(ConnectionTest, ShuttingDownWakesACallerAtOnce) {
  serve([](const json&) { return t::silence(); });
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  CallResult r;
  const auto deadline = Clock::now() + 30s;  // what the client's destructor must not wait for
  std::thread caller([&] { r = conn->call(json{{"op", "ping"}}, deadline); });
  ASSERT_TRUE(daemon_->wait_for([](const auto& rs) { return !rs.empty(); }));
  conn->shut_down();
  caller.join();
  EXPECT_EQ(r.status, REGULARS_UNAVAILABLE);
  EXPECT_LT(Clock::now(), deadline) << "the caller slept through the shutdown";
}

// The error codes of sdk/PROTOCOL.md ("Error codes") and the C status each must become.
TEST_F(ConnectionTest, DaemonErrorsBecomeTheDocumentedStatuses) {
  const std::vector<std::pair<std::string, regulars_status>> table = {
      {"invalid_frame", REGULARS_PROTOCOL},     {"frame_too_large", REGULARS_INVALID_INPUT},
      {"invalid_json", REGULARS_INVALID_INPUT}, {"too_deep", REGULARS_INVALID_INPUT},
      {"invalid_request", REGULARS_INVALID_INPUT}, {"invalid_event", REGULARS_INVALID_INPUT},
      {"card_number_refused", REGULARS_INVALID_INPUT}, {"invalid_rule", REGULARS_INVALID_INPUT},
      {"unknown_op", REGULARS_PROTOCOL},        {"handshake_required", REGULARS_PROTOCOL},
      {"unsupported_version", REGULARS_PROTOCOL}, {"not_found", REGULARS_NOT_FOUND},
      {"denied", REGULARS_DENIED},              {"overloaded", REGULARS_UNAVAILABLE},
      {"shutting_down", REGULARS_UNAVAILABLE},  {"internal", REGULARS_INTERNAL},
      {"conflict", REGULARS_INVALID_INPUT},     {"a_code_from_a_newer_daemon", REGULARS_INTERNAL}};
  serve([](const json& r) { return t::refuse(r, r.at("code").get<std::string>(), "request.some_field", "what to do"); });
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  for (const auto& [code, status] : table) {
    const CallResult r = conn->call(json{{"op", "ping"}, {"code", code}}, soon());
    EXPECT_EQ(r.status, status) << code;
    ASSERT_TRUE(r.error.has_value()) << code;
    EXPECT_EQ(r.error->field, "request.some_field") << code;
    EXPECT_TRUE(contains(r.message, "request.some_field")) << r.message;
  }
}

TEST_F(ConnectionTest, AnAnswerWithoutOkIsAnInternalErrorAndTheStreamGoesOn) {
  serve([](const json& r) { return t::raw(regulars::wire::encode_frame(json{{"id", r.at("id")}}.dump())); });
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(conn->call(json{{"op", "ping"}}, soon()).status, REGULARS_INTERNAL);
  EXPECT_TRUE(conn->alive());
}

// call_raw: a result in the daemon's envelope reaches the caller as the daemon wrote it, checked
// but never parsed and written again; a broken one fails that call only.

TEST_F(ConnectionTest, ARawCallGetsTheDaemonsBytesUnchanged) {
  const std::string result = "{\"b\": 1, \"a\": [1,  2], \"name\": \"caf\u00e9\"}";  // a re-dump would reorder and respace
  serve([result](const json& r) {
    return t::raw(regulars::wire::encode_frame("{\"id\":" + r.at("id").dump() + ",\"ok\":true,\"result\":" + result + "}"));
  });
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  const CallResult r = conn->call_raw(json{{"op", "hints"}}, soon());
  ASSERT_EQ(r.status, REGULARS_OK) << r.message;
  EXPECT_EQ(r.raw_result, result);
}

TEST_F(ConnectionTest, ARawCallRefusesABrokenResultAndTheStreamGoesOn) {
  const std::string broken[] = {"{\"a\":tru}", "[1]", std::string(100, '[') + std::string(100, ']'), "{\"a\":\"\xff\"}"};
  for (const std::string& result : broken) {
    serve([result](const json& r) {
      return t::raw(regulars::wire::encode_frame("{\"id\":" + r.at("id").dump() + ",\"ok\":true,\"result\":" + result + "}"));
    });
    auto conn = open();
    ASSERT_NE(conn, nullptr);
    const CallResult r = conn->call_raw(json{{"op", "hints"}}, soon());
    EXPECT_EQ(r.status, REGULARS_INTERNAL) << result;
    EXPECT_TRUE(contains(r.message, "malformed answer")) << r.message;
    EXPECT_TRUE(r.raw_result.empty());
    EXPECT_TRUE(conn->alive()) << result;
    daemon_.reset();
  }
}

TEST_F(ConnectionTest, ARawCallTakesAnAnswerSpacedDifferently) {
  serve([](const json& r) {
    return t::raw(regulars::wire::encode_frame("{\"ok\": true, \"result\": {\"x\": 1}, \"id\": " + r.at("id").dump() + "}"));
  });
  auto conn = open();
  ASSERT_NE(conn, nullptr);
  const CallResult r = conn->call_raw(json{{"op", "hints"}}, soon());
  ASSERT_EQ(r.status, REGULARS_OK) << r.message;
  EXPECT_EQ(json::parse(r.raw_result), json({{"x", 1}}));
}

// Answers that leave the stream unreadable: a typed failure for the caller, and a dead
// connection the client will replace, never a crash or a caller left waiting.

TEST_F(ConnectionTest, AFrameOverTheAnswerLimitEndsTheConnection) {
  const std::uint32_t over = (64u << 20) + 1;  // the reader takes answers up to 64 MiB
  const std::string header = {static_cast<char>(over >> 24), static_cast<char>(over >> 16),
                              static_cast<char>(over >> 8), static_cast<char>(over)};
  const CallResult r = call_answered_with(t::raw(header));
  EXPECT_EQ(r.status, REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(r.message, "malformed frame")) << r.message;
}

TEST_F(ConnectionTest, AZeroLengthFrameEndsTheConnection) {
  const CallResult r = call_answered_with(t::raw(std::string(4, '\0')));
  EXPECT_EQ(r.status, REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(r.message, "malformed frame")) << r.message;
}

TEST_F(ConnectionTest, AnAnswerThatIsNotJsonEndsTheConnection) {
  const CallResult r = call_answered_with(t::raw(regulars::wire::encode_frame("{\"id\": 1, \"ok\": tru")));
  EXPECT_EQ(r.status, REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(r.message, "not a JSON object")) << r.message;
}

TEST_F(ConnectionTest, AnAnswerNestedTooDeepEndsTheConnection) {
  const std::string deep = std::string(200, '[') + std::string(200, ']');
  const CallResult r = call_answered_with(t::raw(regulars::wire::encode_frame("{\"id\": 1, \"ok\": true, \"result\": " + deep + "}")));
  EXPECT_EQ(r.status, REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(r.message, "not a JSON object")) << r.message;
}

TEST_F(ConnectionTest, AnErrorAboutTheStreamEndsTheConnectionWithTheDaemonsWords) {
  const json stream_error = {{"id", nullptr}, {"ok", false},
                             {"error", {{"code", "invalid_frame"}, {"message", "bad length"}}}};
  const CallResult r = call_answered_with(t::raw(regulars::wire::encode_frame(stream_error.dump())));
  EXPECT_EQ(r.status, REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(r.message, "refused the stream: bad length")) << r.message;
}

TEST_F(ConnectionTest, ADaemonThatHangsUpMidCallIsUnavailable) {
  const CallResult r = call_answered_with(t::hang_up());
  EXPECT_EQ(r.status, REGULARS_UNAVAILABLE);
  EXPECT_TRUE(contains(r.message, "closed the connection")) << r.message;
}

// A peer that never stops sending answers for a call nobody waits for (a broken or hostile
// daemon): the caller reading them must still return at its own deadline.
TEST_F(ConnectionTest, AStreamOfOtherAnswersDoesNotKeepTheReaderPastItsDeadline) {
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path().c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  std::atomic<bool> stop{false};
  std::thread flood([&] {
    const int peer = ::accept(listener, nullptr, nullptr);
    if (peer < 0) return;
    // Small answers in large bursts: each costs the reader more than the sender, so the socket
    // does not run dry.
    std::string burst;
    for (int i = 0; i < 2048; ++i) burst += regulars::wire::encode_frame(R"({"id":999999,"ok":true,"result":{}})");
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!stop.load() && std::chrono::steady_clock::now() < give_up)
      if (::send(peer, burst.data(), burst.size(), MSG_NOSIGNAL) < 0) break;
    ::close(peer);
  });
  Options options;
  options.socket_path = socket_path();
  CallResult failure;
  auto conn = Connection::connect(options, nullptr, soon(), failure);
  ASSERT_NE(conn, nullptr) << failure.message;
  const auto start = Clock::now();
  const CallResult r = conn->call(json{{"op", "ping"}}, start + 50ms);
  const auto took = Clock::now() - start;
  stop.store(true);
  conn->shut_down();
  flood.join();
  ::close(listener);
  EXPECT_EQ(r.status, REGULARS_TIMEOUT) << r.message;
  // The budget is 50 ms; 1 s leaves room for sanitizers and a busy machine.
  EXPECT_LT(took, 1s) << "the reader kept reading other calls' answers past its deadline";
}

}  // namespace
