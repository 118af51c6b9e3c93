// Lanes on other machines: the real plugin over TCP with TLS to a real regularsd, each lane with
// its own token issued and revoked by the real regularsctl. The certificates are made with the
// shipped packaging/make-tls.sh. Refusals are checked with a raw TLS client (OpenSSL) and a
// plain TCP client, so the daemon's side is tested without the plugin's own checks.
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <iterator>

#include "tls_fixture.hpp"
#include "wire/frame.hpp"

namespace regulars::test {
namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int tcp_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// A blocking TLS client that speaks the frame protocol, checking the server against `ca`. Its
// constructor throws when the daemon refuses it, so each resource is owned by a member from the
// moment it exists: a destructor never runs for a half-built object.
class RawTls {
 public:
  RawTls(int port, const std::string& ca) : ctx_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr) != 1) throw std::runtime_error("bad CA " + ca);
    fd_.reset(tcp_connect(port));
    if (!fd_) throw std::runtime_error("cannot connect to the TLS port");
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_.get());
    SSL_set1_host(ssl_.get(), "localhost");
    BlockSigpipe guard;  // a daemon that refuses the connection closes it under the handshake
    if (SSL_connect(ssl_.get()) != 1) throw std::runtime_error("TLS handshake failed");
  }
  // SIGPIPE stays fatal in this process, so a plugin that raised it would fail these tests: the
  // raw client blocks it while OpenSSL works, and takes back one a closed connection raised.
  struct BlockSigpipe {
    sigset_t pipe{}, old{};
    BlockSigpipe() {
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, &old);
    }
    ~BlockSigpipe() {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        sigtimedwait(&pipe, nullptr, &zero);
      }
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
  };
  // False when the daemon has closed the connection.
  bool send(const json& request) {
    const std::string frame = wire::encode_frame(request.dump());
    BlockSigpipe guard;
    return SSL_write(ssl_.get(), frame.data(), static_cast<int>(frame.size())) == static_cast<int>(frame.size());
  }
  // The next answer, or null when the daemon closed the connection (or said nothing for 3 s).
  json receive() {
    unsigned char header[4];
    if (!read_exact(header, 4)) return nullptr;
    const std::uint32_t n = wire::decode_length(header);
    std::string body(n, '\0');
    if (!read_exact(reinterpret_cast<unsigned char*>(body.data()), n)) return nullptr;
    return json::parse(body);
  }
  json call(const json& request) { return send(request) ? receive() : json(nullptr); }

 private:
  bool read_exact(unsigned char* out, std::size_t n) {
    BlockSigpipe guard;
    std::size_t got = 0;
    while (got < n) {
      const int r = SSL_read(ssl_.get(), out + got, static_cast<int>(n - got));
      if (r <= 0) return false;
      got += static_cast<std::size_t>(r);
    }
    return true;
  }
  struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  class Fd {
   public:
    Fd() = default;
    ~Fd() { reset(-1); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    void reset(int fd) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = fd;
    }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

   private:
    int fd_ = -1;
  };
  // Destroyed in reverse: the connection, its socket, then the context.
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  Fd fd_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

class TlsLanes : public TlsDaemonTest {
 protected:
  json lane_options(const std::string& token, json extra = json::object()) {
    json o = {{"endpoint", "tls:127.0.0.1:" + std::to_string(port())}, {"ca_file", ca()}, {"token", token},
              {"terminal", "lane-9"}, {"budget_ms", 2000}};
    o.update(extra);
    return o;
  }
  regulars_client* open_lane(const json& options) {
    regulars_client* c = nullptr;
    const regulars_status s = plugin_.open(options.dump().c_str(), &c);
    if (s != REGULARS_OK) throw std::runtime_error(std::string("regulars_open: ") + plugin_.last_error());
    clients_.push_back(c);
    return c;
  }
  json lane_hints(regulars_client* lane, const std::string& card_value, regulars_status& s) {
    const std::string text = plugin_.hints_text(lane, hints_request(card_value), s);
    return s == REGULARS_OK ? json::parse(text) : json::object();
  }
};

TEST_F(TlsLanes, ALaneWithItsTokenRecordsAndGetsHintsOverTls) {
  const auto [token_id, token] = issue("lane-9");
  ASSERT_EQ(token.rfind("rgt_", 0), 0u) << token;
  regulars_client* lane = open_lane(lane_options(token));
  ASSERT_EQ(plugin_.record(lane, consent("4000123").c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(lane, purchase("4000123", {"oat-milk", "bread"}).c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(lane, purchase("4000123", {"oat-milk"}).c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(lane, purchase("4000123", {"apples"}).c_str()), REGULARS_OK) << plugin_.last_error();
  regulars_status s;
  const json h = lane_hints(lane, "4000123", s);
  ASSERT_EQ(s, REGULARS_OK) << plugin_.last_error();
  EXPECT_EQ(h["customer"]["visits"], 3);
  EXPECT_EQ(h["predictions"][0]["sku"], "oat-milk");
  // The same store as the lanes on the Unix socket, and they were recorded over the network.
  EXPECT_EQ(visits(client(), "4000123"), 3);
  EXPECT_EQ(StoreFile(daemon_->db_path()).count("SELECT count(*) FROM events WHERE terminal='lane-9'"), 4);
  EXPECT_NE(daemon_->log().find("\"token_id\":\"" + token_id + "\""), std::string::npos) << "the log names the lane's token id";

  // The certificate is checked by name too: "localhost" is in it. Under ThreadSanitizer the name
  // is given as server_name beside an address: looking a name up needs getaddrinfo_a's resolver
  // thread, which TSan cannot see (it crashes there).
#ifdef REGULARS_UNDER_TSAN
  const json by_name_options = {{"endpoint", "tls:127.0.0.1:" + std::to_string(port())}, {"server_name", "localhost"}};
#else
  const json by_name_options = {{"endpoint", "tls:localhost:" + std::to_string(port())}};
#endif
  regulars_client* by_name = open_lane(lane_options(token, by_name_options));
  EXPECT_EQ(lane_hints(by_name, "4000123", s)["customer"]["visits"], 3) << plugin_.last_error();

  // Only the token's SHA-256 is kept: not the token, anywhere in the data directory or the log.
  daemon_->stop();
  for (const char* f : {"/regulars.db", "/regulars.db-wal"})
    EXPECT_EQ(file_bytes(daemon_->data_dir() + f).find(token.substr(4)), std::string::npos) << f;
  EXPECT_EQ(daemon_->log().find(token.substr(4)), std::string::npos);
  unsigned char digest[32];
  EVP_Digest(token.data(), token.size(), digest, nullptr, EVP_sha256(), nullptr);
  const std::string hex = StoreFile(daemon_->db_path()).scalar("SELECT hex(hash) FROM lane_tokens WHERE token_id='" + token_id + "'");
  char expected[65];
  for (int i = 0; i < 32; ++i) std::snprintf(expected + 2 * i, 3, "%02X", digest[i]);
  EXPECT_EQ(hex, std::string(expected, 64));
}

TEST_F(TlsLanes, WrongMissingAndPlainClientsAreRefused) {
  const auto [token_id, token] = issue("lane-9");
  // A wrong token of the right shape: refused at hello, and the plugin says why.
  std::string wrong = token;
  wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
  regulars_client* impostor = open_lane(lane_options(wrong));
  regulars_status s;
  lane_hints(impostor, "4000123", s);
  EXPECT_EQ(s, REGULARS_UNAVAILABLE);
  EXPECT_NE(std::string(plugin_.last_error()).find("token is not valid"), std::string::npos) << plugin_.last_error();
  {
    RawTls raw(port(), ca());
    const json r = raw.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}, {"token", wrong}});
    EXPECT_EQ(r["error"]["code"], "denied") << r;
    EXPECT_TRUE(raw.receive().is_null()) << "and the connection is closed";
  }
  // No token: the plugin will not even try; the daemon refuses a client that does.
  regulars_client* c = nullptr;
  json no_token = lane_options(token);
  no_token.erase("token");
  EXPECT_EQ(plugin_.open(no_token.dump().c_str(), &c), REGULARS_INVALID_INPUT);
  EXPECT_NE(std::string(plugin_.last_error()).find("options.token"), std::string::npos) << plugin_.last_error();
  {
    RawTls raw(port(), ca());
    const json r = raw.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}});
    EXPECT_EQ(r["error"]["code"], "denied") << r;
    EXPECT_EQ(r["error"]["field"], "token") << r;
  }
  {
    // Requests before hello are refused as on the Unix socket.
    RawTls raw(port(), ca());
    const json r = raw.call({{"id", 1}, {"op", "hints"}, {"request", json::parse(hints_request("4000123"))}});
    EXPECT_EQ(r["error"]["code"], "handshake_required") << r;
  }
  // A plain-TCP client gets no answer: the daemon waits for a TLS ClientHello and closes.
  {
    const int fd = tcp_connect(port());
    ASSERT_GE(fd, 0);
    const std::string frame = wire::encode_frame(json{{"id", 1}, {"op", "hello"}, {"protocol", 1}, {"token", token}}.dump());
    ASSERT_EQ(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL), static_cast<ssize_t>(frame.size()));
    std::string got;
    char buf[512];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    EXPECT_EQ(got.find("\"ok\""), std::string::npos) << "no frame answers a plain client";
    EXPECT_LT(got.size(), 64u) << "at most a TLS alert";
  }
  // A lane that trusts another CA does not talk to this daemon (nor send it its token).
  make_certs(dir_.sub("other-ca"));
  regulars_client* misled = open_lane(lane_options(token, {{"ca_file", dir_.sub("other-ca") + "/ca.crt"}}));
  lane_hints(misled, "4000123", s);
  EXPECT_EQ(s, REGULARS_UNAVAILABLE);
  EXPECT_NE(std::string(plugin_.last_error()).find("certificate"), std::string::npos) << plugin_.last_error();
  // A CA file that is not one is refused at open, naming the option.
  EXPECT_EQ(plugin_.open(lane_options(token, {{"ca_file", dir_.sub("tls") + "/nothing.pem"}}).dump().c_str(), &c),
            REGULARS_INVALID_INPUT);
  EXPECT_NE(std::string(plugin_.last_error()).find("options.ca_file"), std::string::npos) << plugin_.last_error();

  // A till over TLS is a till: the owner's views of a customer's history are not for it.
  ASSERT_EQ(plugin_.record(client(), consent("4000123").c_str()), REGULARS_OK);
  RawTls raw(port(), ca());
  ASSERT_EQ(raw.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}, {"token", token}})["ok"], true);
  for (const char* op : {"export", "journey"}) {
    const json r = raw.call({{"id", 2}, {"op", op}, {"customer", {{"kind", "card"}, {"value", "4000123"}}}});
    EXPECT_EQ(r["error"]["code"], "denied") << op << ": " << r;
  }
  for (const json& req : {json{{"id", 3}, {"op", "tokens"}, {"request", {{"action", "list"}}}}, json{{"id", 4}, {"op", "rebuild"}},
                          json{{"id", 5}, {"op", "audit"}}}) {
    const json r = raw.call(req);
    EXPECT_EQ(r["error"]["code"], "denied") << req << ": " << r;
  }
  EXPECT_EQ(raw.call({{"id", 6}, {"op", "hints"}, {"request", json::parse(hints_request("4000123"))}})["ok"], true);
}

TEST_F(TlsLanes, ARevokedTokenStopsWorkingAtOnce) {
  const auto [token_id, token] = issue("lane-9");
  const auto [other_id, other_token] = issue("lane-10");
  regulars_client* lane = open_lane(lane_options(token));
  regulars_client* neighbour = open_lane(lane_options(other_token, {{"terminal", "lane-10"}}));
  ASSERT_EQ(plugin_.record(lane, consent("4000123").c_str()), REGULARS_OK) << plugin_.last_error();
  regulars_status s;
  ASSERT_TRUE(lane_hints(lane, "4000123", s)["customer"]["known"].get<bool>()) << plugin_.last_error();
  RawTls idle(port(), ca());  // connected and greeted before the revocation
  ASSERT_EQ(idle.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}, {"token", token}})["ok"], true);

  std::string out;
  ASSERT_EQ(ctl("tokens revoke " + token_id, out), 0) << out;
  // The very next call fails: the open connection was cut and a new one is refused.
  lane_hints(lane, "4000123", s);
  EXPECT_NE(s, REGULARS_OK);
  const json r = idle.call({{"id", 2}, {"op", "hints"}, {"request", json::parse(hints_request("4000123"))}});
  EXPECT_TRUE(r.is_null() || r["error"]["code"] == "denied") << r;
  {
    RawTls fresh(port(), ca());
    EXPECT_EQ(fresh.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}, {"token", token}})["error"]["code"], "denied");
  }
  // Other lanes are not affected.
  EXPECT_TRUE(lane_hints(neighbour, "4000123", s)["customer"]["known"].get<bool>()) << plugin_.last_error();
  // Revoking again, or an unknown id, is refused; the list shows the revocation.
  EXPECT_NE(ctl("tokens revoke " + token_id, out), 0);
  EXPECT_NE(out.find("no token"), std::string::npos) << out;
  ASSERT_EQ(ctl("tokens list --json", out), 0) << out;
  const json list = json::parse(out);
  ASSERT_EQ(list["tokens"].size(), 2u);
  for (const auto& t : list["tokens"]) {
    EXPECT_FALSE(t.contains("token")) << "secrets are never listed";
    EXPECT_EQ(t["revoked"].is_null(), t["token_id"] != token_id) << t;
  }
  // Token changes are in the owner's audit trail, with who and when.
  ASSERT_EQ(ctl("audit --json", out), 0) << out;
  const json audit = json::parse(out);
  int issued = 0, revoked = 0;
  for (const auto& a : audit["items"]) {
    if (a["action"] == "token_issue") ++issued;
    if (a["action"] == "token_revoke" && a["target"] == token_id) ++revoked;
    if (a["action"].get<std::string>().rfind("token_", 0) == 0) {
      EXPECT_EQ(a["actor"].get<std::string>().rfind("uid:", 0), 0u) << a;
      EXPECT_FALSE(a["time"].get<std::string>().empty()) << a;
    }
  }
  EXPECT_EQ(issued, 2);
  EXPECT_EQ(revoked, 1);
  // A revocation survives a restart.
  daemon_->stop();
  daemon_->start();
  RawTls after(port(), ca());
  EXPECT_EQ(after.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}, {"token", token}})["error"]["code"], "denied");
  RawTls still(port(), ca());
  EXPECT_EQ(still.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}, {"token", other_token}})["ok"], true);
}

// Peers that never authenticate cannot hold the daemon: before hello they get 1 s (here), a
// small frame, and one error at most; TLS connections have their own limit, so the Unix socket's
// tills and owner always get in.
class TlsStrangers : public TlsLanes {
 protected:
  std::vector<std::string> daemon_args() override {
    make_certs(dir_.sub("tls"));
    const std::string tls = dir_.sub("tls");
    return with_config(json{{"listen", {{"tls", {{"address", "127.0.0.1"}, {"port", 0}, {"cert", tls + "/server.crt"},
                                                  {"key", tls + "/server.key"}, {"handshake_timeout_s", 1},
                                                  {"max_connections", 3}}}}}}.dump());
  }
};

TEST_F(TlsStrangers, AreClosedQuicklyAndCannotCrowdOutLocalTills) {
  {
    RawTls silent(port(), ca());
    const auto t0 = Clock::now();
    EXPECT_TRUE(silent.receive().is_null()) << "closed without a word";
    EXPECT_LT(elapsed_ms(t0), 2900) << "by the 1 s pre-hello timeout, not the idle one";
  }
  {
    RawTls noisy(port(), ca());
    EXPECT_EQ(noisy.call({{"no", "id"}})["error"]["code"], "invalid_request");
    EXPECT_TRUE(noisy.receive().is_null()) << "an error before hello ends the connection";
  }
  {
    RawTls big(port(), ca());
    const json r = big.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}, {"padding", std::string(20000, 'x')}});
    EXPECT_EQ(r["error"]["code"], "frame_too_large") << r;
  }
  // Three TLS connections fill the TLS limit; a fourth is turned away, the Unix socket is not.
  std::vector<std::unique_ptr<RawTls>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<RawTls>(port(), ca()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_THROW(
      {
        RawTls fourth(port(), ca());
        if (fourth.call({{"id", 1}, {"op", "hello"}, {"protocol", 1}}).is_null()) throw std::runtime_error("closed");
      },
      std::runtime_error);
  EXPECT_TRUE(ask(json{{"kind", "card"}, {"value", "1"}})["customer"].is_object()) << "a local till still gets in";
  std::string out;
  EXPECT_EQ(ctl("status", out), 0) << out;
}

}  // namespace
}  // namespace regulars::test
