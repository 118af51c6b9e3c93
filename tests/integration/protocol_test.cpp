// Acceptance 6: hostile frames and requests get a typed error or a closed connection, the
// daemon keeps serving others, and nothing stored changes.
#include <fstream>
#include <random>

#include "fixture.hpp"
#include "wire/frame.hpp"

namespace regulars::test {
namespace {

class Protocol : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    RawConnection setup(daemon_->socket_path());
    setup.send_frame(R"({"id":1,"op":"record","event":{"type":"purchase","event_id":"seed-1","customer":{"kind":"card","value":"4000123"},"lines":[{"sku":"milk"}]}})");
    ASSERT_EQ(error_code(setup.read_frame()), "ok");
    events_before_ = events();
  }

  long long events() {
    RawConnection c(daemon_->socket_path());
    c.send_frame(R"({"id":9,"op":"status"})");
    const std::string r = c.read_frame();
    return r.empty() ? -1 : json::parse(r)["result"]["events"].get<long long>();
  }

  // Another client is still served and the store is unchanged.
  void expect_daemon_unharmed() {
    RawConnection other(daemon_->socket_path());
    other.send_frame(R"({"id":2,"op":"ping"})");
    EXPECT_EQ(error_code(other.read_frame()), "ok");
    EXPECT_EQ(events(), events_before_);
  }

  long long events_before_ = 0;
};

TEST_F(Protocol, OversizedFrameIsRefusedAndTheConnectionClosed) {
  RawConnection c(daemon_->socket_path());
  c.send_frame(std::string(2u << 20, ' '));  // 2 MiB > the 1 MiB default limit
  EXPECT_EQ(error_code(c.read_frame()), "frame_too_large");
  EXPECT_TRUE(c.closed_by_peer());
  expect_daemon_unharmed();
}

TEST_F(Protocol, DeclaredFourGigabytesIsRefusedAtOnce) {
  RawConnection c(daemon_->socket_path());
  c.send_bytes(std::string("\xff\xff\xff\xff", 4) + "{}");
  EXPECT_EQ(error_code(c.read_frame()), "frame_too_large");
  EXPECT_TRUE(c.closed_by_peer());
  expect_daemon_unharmed();
}

TEST_F(Protocol, ZeroLengthFrameIsInvalid) {
  RawConnection c(daemon_->socket_path());
  c.send_bytes(std::string(4, '\0'));
  EXPECT_EQ(error_code(c.read_frame()), "invalid_frame");
  EXPECT_TRUE(c.closed_by_peer());
  expect_daemon_unharmed();
}

TEST_F(Protocol, TruncatedFrameDoesNotDisturbOthers) {
  {
    RawConnection c(daemon_->socket_path());
    const std::string frame = wire::encode_frame(R"({"id":3,"op":"record","event":{"type":"purchase"}})");
    c.send_bytes(frame.substr(0, frame.size() / 2));
    // While this connection waits for the rest of its frame, others are served.
    expect_daemon_unharmed();
  }  // closed mid-frame
  expect_daemon_unharmed();
}

// The daemon reads what has arrived in chunks: several frames in one write are each answered,
// in order, and a frame that comes in pieces is answered once whole.
TEST_F(Protocol, FramesArrivingTogetherOrInPiecesAreEachAnswered) {
  RawConnection c(daemon_->socket_path());
  c.send_bytes(wire::encode_frame(R"({"id":10,"op":"ping"})") + wire::encode_frame(R"({"id":11,"op":"ping"})") +
               wire::encode_frame(R"({"id":12,"op":"status"})"));
  for (int id : {10, 11, 12}) {
    const json answer = json::parse(c.read_frame());
    EXPECT_EQ(answer["id"], id) << answer.dump();
    EXPECT_TRUE(answer.contains("result")) << answer.dump();
  }
  const std::string frame = wire::encode_frame(R"({"id":13,"op":"ping"})");
  for (char byte : frame) c.send_bytes(std::string(1, byte));
  EXPECT_EQ(json::parse(c.read_frame())["id"], 13);
  // A good frame and a bad length in one write: the first is answered, then the refusal.
  c.send_bytes(wire::encode_frame(R"({"id":14,"op":"ping"})") + std::string(4, '\0'));
  EXPECT_EQ(json::parse(c.read_frame())["id"], 14);
  EXPECT_EQ(error_code(c.read_frame()), "invalid_frame");
  EXPECT_TRUE(c.closed_by_peer());
  expect_daemon_unharmed();
}

long resident_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A till that pipelines its requests may never leave the daemon's read buffer on a frame
// boundary: what was handled must still be dropped, or the buffer keeps every byte ever sent.
TEST_F(Protocol, PipelinedFramesThatNeverEndAReadOnABoundaryDoNotPileUp) {
#ifdef REGULARS_UNDER_SANITIZER
  GTEST_SKIP() << "a sanitizer's quarantine keeps freed memory resident";
#endif
  constexpr int kFrames = 10000;
  const std::string pad(4000, 'x');
  std::string stream;
  for (int i = 0; i < kFrames; ++i)  // ids of five digits: every frame has the same size
    stream += wire::encode_frame(R"({"id":)" + std::to_string(10000 + i) + R"(,"op":"ping","pad":")" + pad + "\"}");
  const std::size_t frame_size = stream.size() / kFrames;
  RawConnection c(daemon_->socket_path());
  const long before = resident_kb(daemon_->pid());
  int answered = 0;
  for (std::size_t from = 0; from < stream.size();) {
    // Pieces of 100 frames and a bit: each ends part-way into a frame.
    const std::size_t to = std::min(stream.size(), from + 100 * frame_size + 1234);
    c.send_bytes(stream.substr(from, to - from));
    from = to;
    for (const int whole = static_cast<int>(to / frame_size); answered < whole; ++answered)
      ASSERT_FALSE(c.read_frame().empty()) << "no answer to frame " << answered;
  }
  EXPECT_EQ(answered, kFrames);
  // 40 MB went through; the buffer should hold at most a few frames of it.
  EXPECT_LT(resident_kb(daemon_->pid()) - before, 16 * 1024);
}

TEST_F(Protocol, BinaryGarbageInAFrameIsInvalidJson) {
  RawConnection c(daemon_->socket_path());
  std::mt19937 rng(7);
  std::string garbage(512, '\0');
  for (auto& ch : garbage) ch = static_cast<char>(rng() & 0xff);
  garbage[0] = '\x01';  // surely not JSON
  c.send_frame(garbage);
  EXPECT_EQ(error_code(c.read_frame()), "invalid_json");
  // The frame boundary held: the same connection still works.
  c.send_frame(R"({"id":4,"op":"ping"})");
  EXPECT_EQ(error_code(c.read_frame()), "ok");
  expect_daemon_unharmed();
}

TEST_F(Protocol, RawGarbageStreamIsRefused) {
  RawConnection c(daemon_->socket_path());
  c.send_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // "GET " read as a length of ~1.2 GB
  EXPECT_EQ(error_code(c.read_frame()), "frame_too_large");
  EXPECT_TRUE(c.closed_by_peer());
  expect_daemon_unharmed();
}

TEST_F(Protocol, InvalidUtf8IsRefused) {
  RawConnection c(daemon_->socket_path());
  c.send_frame("{\"id\":5,\"op\":\"record\",\"event\":{\"type\":\"purchase\",\"event_id\":\"u1\","
               "\"customer\":{\"kind\":\"card\",\"value\":\"4000123\"},\"lines\":[{\"sku\":\"caf\xc3\x28\"}]}}");
  EXPECT_EQ(error_code(c.read_frame()), "invalid_json");
  expect_daemon_unharmed();
}

TEST_F(Protocol, HundredThousandLevelsDeepIsRefused) {
  RawConnection c(daemon_->socket_path());
  const std::string deep = R"({"id":6,"op":"hints","request":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  c.send_frame(deep);
  EXPECT_EQ(error_code(c.read_frame()), "too_deep");
  expect_daemon_unharmed();
}

TEST_F(Protocol, UnknownOpAndWrongTypesGetTypedErrors) {
  RawConnection c(daemon_->socket_path());
  c.send_frame(R"({"id":7,"op":"drop_tables"})");
  EXPECT_EQ(error_code(c.read_frame()), "unknown_op");
  c.send_frame(R"({"id":8,"op":"record","event":{"type":"purchase","event_id":"w1","customer":{"kind":"card","value":"4000123"},"lines":"milk"}})");
  const std::string r = c.read_frame();
  EXPECT_EQ(error_code(r), "invalid_event");
  EXPECT_EQ(json::parse(r)["error"]["field"], "event.lines");
  c.send_frame(R"({"id":"x","op":"hints","request":{"customer":{"kind":"card","value":4000123}}})");
  const std::string r2 = c.read_frame();
  EXPECT_EQ(error_code(r2), "invalid_request");
  EXPECT_EQ(json::parse(r2)["id"], "x");
  c.send_frame(R"({"op":"ping"})");
  EXPECT_EQ(error_code(c.read_frame()), "invalid_request");
  c.send_frame(R"({"id":10,"op":"record","event":{},"extra":1})");
  EXPECT_EQ(error_code(c.read_frame()), "invalid_request");
  expect_daemon_unharmed();
}

TEST_F(Protocol, HelloMustComeFirstAndVersionsAreChecked) {
  {
    RawConnection c(daemon_->socket_path(), /*send_hello=*/false);
    c.send_frame(R"({"id":1,"op":"ping"})");
    EXPECT_EQ(error_code(c.read_frame()), "handshake_required");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    RawConnection c(daemon_->socket_path(), /*send_hello=*/false);
    c.send_frame(R"({"id":1,"op":"hello","protocol":99})");
    EXPECT_EQ(error_code(c.read_frame()), "unsupported_version");
    EXPECT_TRUE(c.closed_by_peer());
  }
  expect_daemon_unharmed();
}

TEST_F(Protocol, SeveralRequestsInFlightOnOneConnection) {
  RawConnection c(daemon_->socket_path());
  std::string batch;
  for (int i = 0; i < 50; ++i)
    wire::append_frame(batch, json{{"id", 100 + i},
                                   {"op", "record"},
                                   {"event", {{"type", "purchase"},
                                              {"event_id", "pipe-" + std::to_string(i)},
                                              {"customer", {{"kind", "card"}, {"value", "4000123"}}},
                                              {"lines", {{{"sku", "milk"}}}}}}}
                                  .dump());
  c.send_bytes(batch);
  std::set<int> ids;
  for (int i = 0; i < 50; ++i) {
    const std::string r = c.read_frame(5000);
    ASSERT_EQ(error_code(r), "ok");
    ids.insert(json::parse(r)["id"].get<int>());
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(events(), events_before_ + 50);
}

}  // namespace
}  // namespace regulars::test
