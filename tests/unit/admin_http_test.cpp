// The admin HTTP server end to end: a real AdminHttpServer on 127.0.0.1 (ephemeral port), a real
// io_context on background threads, and a real Beast client over TCP. Plus the query decoder.
#include "net/admin_http.hpp"

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "wire/hex.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using regulars::daemon::AdminHttpServer;
using regulars::daemon::AdminRequest;
using regulars::daemon::AdminRespond;
using regulars::daemon::AdminResponse;
using regulars::daemon::decode_query_component;
using regulars::daemon::parse_query;
using namespace std::chrono_literals;

constexpr std::string_view kToken = "owner-token-7d3f9a1c";

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, 32> d{};
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), d.data(), &len, EVP_sha256(), nullptr) != 1) throw std::runtime_error("sha256");
  return regulars::wire::hex_encode(d);
}

struct Reply {
  beast::error_code ec;  // set when no response arrived (closed, reset, timed out)
  http::response<http::string_body> res;
  json body;  // the response body parsed; null when it is not JSON

  int status() const { return static_cast<int>(res.result_int()); }
  std::string header(http::field f) const { return std::string(res[f]); }
  std::string error_code() const { return body.is_object() ? body["error"].value("code", "") : ""; }
};

// A blocking HTTP client on its own io_context; every operation gives up after 5 seconds so a
// misbehaving server fails the test instead of hanging it.
class Client {
 public:
  explicit Client(unsigned short port) {
    stream_.expires_after(5s);
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [this](beast::error_code ec) { connect_ec_ = ec; });
    run();
  }

  beast::error_code connect_error() const { return connect_ec_; }

  beast::error_code write_raw(std::string bytes) {
    beast::error_code result;
    stream_.expires_after(5s);
    asio::async_write(stream_, asio::buffer(bytes), [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    return result;
  }

  Reply read_reply() {
    Reply r;
    stream_.expires_after(5s);
    http::async_read(stream_, buffer_, r.res, [&](beast::error_code ec, std::size_t) { r.ec = ec; });
    run();
    if (!r.ec) r.body = json::parse(r.res.body(), nullptr, false);
    if (r.body.is_discarded()) r.body = nullptr;
    return r;
  }

  Reply send(http::request<http::string_body> req) {
    beast::error_code werr;
    stream_.expires_after(5s);
    http::async_write(stream_, req, [&](beast::error_code ec, std::size_t) { werr = ec; });
    run();
    Reply r = read_reply();
    if (werr && !r.ec) r.ec = werr;
    return r;
  }

  // Waits for the server to close the connection: the error a read ends with (eof or a reset;
  // beast::error::timeout means the server kept it open for 5 seconds).
  beast::error_code read_until_closed() {
    beast::error_code result;
    stream_.expires_after(5s);
    std::function<void()> next;
    next = [&] {
      stream_.async_read_some(asio::buffer(scratch_), [&](beast::error_code ec, std::size_t) {
        if (ec) result = ec;
        else next();
      });
    };
    next();
    run();
    return result;
  }

 private:
  void run() {
    io_.restart();
    io_.run();
  }

  asio::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buffer_;
  std::array<char, 4096> scratch_{};
  beast::error_code connect_ec_;
};

bool closed_by_server(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset;
}

http::request<http::string_body> request(http::verb verb, std::string target, std::string body = "") {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + std::string(kToken));
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

class AdminHttpServerTest : public ::testing::Test {
 protected:
  static AdminHttpServer::Options default_options() {
    AdminHttpServer::Options o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.token_sha256_hex = sha256_hex(kToken);
    o.max_body_bytes = 1024;
    o.timeout_s = 5;
    o.max_connections = 8;
    return o;
  }

  void start(AdminHttpServer::Options options = default_options()) {
    server_ = std::make_unique<AdminHttpServer>(io_, std::move(options), [this](const AdminRequest& r, AdminRespond respond) {
      {
        std::lock_guard lock(mu_);
        seen_.push_back(r);
      }
      respond(behaviour_(r));
    });
    server_->start();
    ASSERT_NE(server_->port(), 0);
    // Two I/O threads, as in the daemon, so connections really run concurrently on their strands.
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    server_.reset();
  }

  std::vector<AdminRequest> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  unsigned short port() const { return server_->port(); }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::function<AdminResponse(const AdminRequest&)> behaviour_ = [](const AdminRequest& r) {
    return AdminResponse{200, json{{"ok", true}, {"path", r.path}}};
  };
  std::unique_ptr<AdminHttpServer> server_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<AdminRequest> seen_;
};

TEST_F(AdminHttpServerTest, GoodTokenGetsTheHandlersJson) {
  behaviour_ = [](const AdminRequest&) {
    return AdminResponse{200, json{{"answer", 42}, {"items", json::array({1, 2})}}};
  };
  start();
  Client c(port());
  ASSERT_FALSE(c.connect_error()) << c.connect_error().message();
  const Reply r = c.send(request(http::verb::get, "/v1/status"));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body, (json{{"answer", 42}, {"items", json::array({1, 2})}}));
  EXPECT_EQ(r.header(http::field::content_type), "application/json; charset=utf-8");
  EXPECT_EQ(r.header(http::field::cache_control), "no-store");
  EXPECT_EQ(seen().size(), 1u);
}

TEST_F(AdminHttpServerTest, HandlerSeesMethodPathDecodedQueryAndBody) {
  start();
  Client c(port());
  const Reply r = c.send(request(http::verb::post, "/v1/reports/nps?from=2024-01-01&name=J%C3%BCrgen+Smith&flag",
                                 R"({"window_days": 30, "stores": ["a", "b"]})"));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body, (json{{"ok", true}, {"path", "/v1/reports/nps"}}));
  const auto all = seen();
  ASSERT_EQ(all.size(), 1u);
  const AdminRequest& got = all[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/v1/reports/nps");
  const std::map<std::string, std::string> want_query{{"from", "2024-01-01"}, {"name", "J\xC3\xBCrgen Smith"}, {"flag", ""}};
  EXPECT_EQ(got.query, want_query);
  EXPECT_EQ(got.body, (json{{"window_days", 30}, {"stores", json::array({"a", "b"})}}));
}

TEST_F(AdminHttpServerTest, HandlerSeesEveryAllowedMethodAndNullForAnEmptyBody) {
  start();
  Client c(port());
  for (const auto verb : {http::verb::get, http::verb::put, http::verb::delete_}) {
    const Reply r = c.send(request(verb, "/v1/things/7"));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.status(), 200);
  }
  const auto all = seen();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].method, "GET");
  EXPECT_EQ(all[1].method, "PUT");
  EXPECT_EQ(all[2].method, "DELETE");
  for (const auto& r : all) {
    EXPECT_EQ(r.path, "/v1/things/7");
    EXPECT_TRUE(r.query.empty());
    EXPECT_TRUE(r.body.is_null());
  }
}

TEST_F(AdminHttpServerTest, MissingTokenIs401AndTheHandlerIsNotCalled) {
  start();
  Client c(port());
  auto req = request(http::verb::get, "/v1/status");
  req.erase(http::field::authorization);
  const Reply r = c.send(req);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 401);
  EXPECT_EQ(r.error_code(), "unauthorized");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("Authorization: Bearer"), std::string::npos);
  EXPECT_EQ(r.header(http::field::www_authenticate).rfind("Bearer", 0), 0u);
  EXPECT_EQ(r.header(http::field::content_type), "application/json; charset=utf-8");
  EXPECT_TRUE(seen().empty());
}

TEST_F(AdminHttpServerTest, WrongTokenIs401AndTheHandlerIsNotCalled) {
  start();
  const std::vector<std::string> wrong{
      "Bearer not-the-token",
      "Bearer " + sha256_hex(kToken),    // the stored hash is not the token
      "Bearer " + std::string(kToken) + "x",
      "Basic " + std::string(kToken),    // right secret, wrong scheme
      "Bearer ",
  };
  for (const auto& value : wrong) {
    Client c(port());
    auto req = request(http::verb::get, "/v1/status");
    req.set(http::field::authorization, value);
    const Reply r = c.send(req);
    ASSERT_FALSE(r.ec) << value << ": " << r.ec.message();
    EXPECT_EQ(r.status(), 401) << value;
    EXPECT_EQ(r.error_code(), "unauthorized") << value;
    EXPECT_FALSE(r.header(http::field::www_authenticate).empty()) << value;
  }
  EXPECT_TRUE(seen().empty());
}

TEST_F(AdminHttpServerTest, BearerSchemeIsCaseInsensitive) {
  start();
  Client c(port());
  auto req = request(http::verb::get, "/v1/status");
  req.set(http::field::authorization, "bearer " + std::string(kToken));
  const Reply r = c.send(req);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(seen().size(), 1u);
}

TEST_F(AdminHttpServerTest, BodyOverTheLimitIs413) {
  start();  // max_body_bytes = 1024
  const std::string big = json{{"note", std::string(4000, 'x')}}.dump();
  {
    Client c(port());
    const Reply r = c.send(request(http::verb::post, "/v1/import", big));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.status(), 413);
    EXPECT_EQ(r.error_code(), "payload_too_large");
    EXPECT_FALSE(r.res.keep_alive());  // the unread body makes the connection unusable
  }
  {
    // Without Content-Length the limit is enforced while the chunks arrive.
    Client c(port());
    auto req = request(http::verb::post, "/v1/import", big);
    req.chunked(true);
    const Reply r = c.send(req);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.status(), 413);
    EXPECT_EQ(r.error_code(), "payload_too_large");
  }
  EXPECT_TRUE(seen().empty());
}

// A chunk's size line is no part of the body, so the body limit does not bound it: the server
// must not keep a line that never ends (here 100 KiB, past what any chunk header needs).
TEST_F(AdminHttpServerTest, AChunkHeaderThatNeverEndsIs400NotHeldInMemory) {
  start();
  Client c(port());
  const std::string head =
      "POST /v1/import HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + std::string(kToken) +
      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1";
  c.write_raw(head + std::string(100 * 1024, 'a'));  // may be cut short when the server answers
  const Reply r = c.read_reply();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.error_code(), "bad_request");
  EXPECT_TRUE(seen().empty());
}

TEST_F(AdminHttpServerTest, BodyExactlyAtTheLimitIsAccepted) {
  start();  // max_body_bytes = 1024
  const std::string body = "{\"note\":\"" + std::string(1024 - 11, 'y') + "\"}";
  ASSERT_EQ(body.size(), 1024u);
  Client c(port());
  const Reply r = c.send(request(http::verb::post, "/v1/import", body));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 200);
  const auto all = seen();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].body["note"].get<std::string>().size(), 1013u);
}

TEST_F(AdminHttpServerTest, InvalidJsonIs400) {
  start();
  Client c(port());
  const Reply r = c.send(request(http::verb::post, "/v1/import", "{\"a\": nope"));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.error_code(), "invalid_json");
  EXPECT_TRUE(seen().empty());
  // The body was read in full, so the connection stays usable.
  const Reply next = c.send(request(http::verb::get, "/v1/status"));
  ASSERT_FALSE(next.ec) << next.ec.message();
  EXPECT_EQ(next.status(), 200);
}

TEST_F(AdminHttpServerTest, HundredDeepNestingIs400ButThirtyTwoIsAccepted) {
  start();
  Client c(port());
  const Reply deep = c.send(request(http::verb::post, "/v1/import", std::string(100, '[') + std::string(100, ']')));
  ASSERT_FALSE(deep.ec) << deep.ec.message();
  EXPECT_EQ(deep.status(), 400);
  EXPECT_EQ(deep.error_code(), "too_deep");
  EXPECT_TRUE(seen().empty());

  const Reply ok = c.send(request(http::verb::post, "/v1/import", std::string(32, '[') + std::string(32, ']')));
  ASSERT_FALSE(ok.ec) << ok.ec.message();
  EXPECT_EQ(ok.status(), 200);
  EXPECT_EQ(seen().size(), 1u);
}

TEST_F(AdminHttpServerTest, TextPlainIs415) {
  start();
  Client c(port());
  auto req = request(http::verb::post, "/v1/import", "hello");
  req.set(http::field::content_type, "text/plain");
  const Reply r = c.send(req);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 415);
  EXPECT_EQ(r.error_code(), "unsupported_media_type");
  EXPECT_TRUE(seen().empty());
}

TEST_F(AdminHttpServerTest, JsonWithCharsetOrWithoutContentTypeIsAccepted) {
  start();
  Client c(port());
  auto with_charset = request(http::verb::post, "/v1/a", R"({"n":1})");
  with_charset.set(http::field::content_type, "Application/JSON; charset=utf-8");
  auto without = request(http::verb::post, "/v1/b", R"({"n":2})");
  without.erase(http::field::content_type);
  EXPECT_EQ(c.send(with_charset).status(), 200);
  EXPECT_EQ(c.send(without).status(), 200);
  const auto all = seen();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].body, (json{{"n", 1}}));
  EXPECT_EQ(all[1].body, (json{{"n", 2}}));
}

TEST_F(AdminHttpServerTest, ThrowingHandlerGives500AndTheServerKeepsServing) {
  behaviour_ = [](const AdminRequest& r) -> AdminResponse {
    if (r.path == "/v1/throw") throw std::runtime_error("boom: internal detail");
    return AdminResponse{200, json{{"ok", true}}};
  };
  start();
  Client c(port());
  const Reply failed = c.send(request(http::verb::get, "/v1/throw"));
  ASSERT_FALSE(failed.ec) << failed.ec.message();
  EXPECT_EQ(failed.status(), 500);
  EXPECT_EQ(failed.error_code(), "internal");
  EXPECT_EQ(failed.res.body().find("boom"), std::string::npos);  // internals stay in the log

  const Reply same_connection = c.send(request(http::verb::get, "/v1/status"));
  ASSERT_FALSE(same_connection.ec) << same_connection.ec.message();
  EXPECT_EQ(same_connection.status(), 200);

  Client other(port());
  const Reply new_connection = other.send(request(http::verb::get, "/v1/status"));
  ASSERT_FALSE(new_connection.ec) << new_connection.ec.message();
  EXPECT_EQ(new_connection.status(), 200);
  EXPECT_EQ(seen().size(), 3u);
}

// Owner work (a dry run, an erasure) answers later from another thread; meanwhile the I/O
// threads serve other connections.
TEST_F(AdminHttpServerTest, AHandlerAnsweringLaterDoesNotHoldTheIoThreads) {
  std::mutex held_mu;
  std::vector<AdminRespond> held;
  server_ = std::make_unique<AdminHttpServer>(io_, default_options(), [&](const AdminRequest& r, AdminRespond respond) {
    if (r.path != "/slow") return respond(AdminResponse{200, json{{"fast", true}}});
    std::lock_guard lock(held_mu);
    held.push_back(std::move(respond));
  });
  server_->start();
  for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  // More slow requests than there are I/O threads, all waiting at once.
  std::vector<std::thread> slow_clients;
  std::vector<Reply> slow_replies(3);
  for (std::size_t i = 0; i < slow_replies.size(); ++i)
    slow_clients.emplace_back([&, i] {
      Client c(port());
      slow_replies[i] = c.send(request(http::verb::get, "/slow"));
    });
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(held_mu);
      if (held.size() == slow_replies.size()) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  Client fast(port());
  const Reply quick = fast.send(request(http::verb::get, "/fast"));
  EXPECT_EQ(quick.status(), 200);
  EXPECT_EQ(quick.body, (json{{"fast", true}}));
  // The slow ones are answered from a thread that is not an I/O thread; a second answer is ignored.
  std::thread answerer([&] {
    std::lock_guard lock(held_mu);
    for (auto& respond : held) {
      respond(AdminResponse{200, json{{"late", true}}});
      respond(AdminResponse{500, json{{"again", true}}});
    }
  });
  answerer.join();
  for (auto& t : slow_clients) t.join();
  for (const auto& r : slow_replies) {
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.body, (json{{"late", true}}));
  }
}

TEST_F(AdminHttpServerTest, HandlerReturningANonObjectGives500) {
  behaviour_ = [](const AdminRequest&) { return AdminResponse{200, json::array({1, 2})}; };
  start();
  Client c(port());
  const Reply r = c.send(request(http::verb::get, "/v1/status"));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 500);
  EXPECT_EQ(r.error_code(), "internal");
}

TEST_F(AdminHttpServerTest, HandlerStatusAndNullBodyArePassedThrough) {
  behaviour_ = [](const AdminRequest&) { return AdminResponse{404, nullptr}; };
  start();
  Client c(port());
  const Reply r = c.send(request(http::verb::get, "/v1/nowhere"));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 404);
  EXPECT_EQ(r.body, json::object());
}

TEST_F(AdminHttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  Client c(port());
  const Reply first = c.send(request(http::verb::get, "/v1/one"));
  ASSERT_FALSE(first.ec) << first.ec.message();
  EXPECT_EQ(first.status(), 200);
  EXPECT_TRUE(first.res.keep_alive());
  const Reply second = c.send(request(http::verb::post, "/v1/two", R"({"k": "v"})"));
  ASSERT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(second.status(), 200);
  EXPECT_EQ(second.body["path"], "/v1/two");
  const auto all = seen();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].path, "/v1/one");
  EXPECT_EQ(all[1].path, "/v1/two");
}

TEST_F(AdminHttpServerTest, ConnectionCloseIsHonoured) {
  start();
  Client c(port());
  auto req = request(http::verb::get, "/v1/status");
  req.keep_alive(false);
  const Reply r = c.send(req);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 200);
  EXPECT_FALSE(r.res.keep_alive());
  const auto ec = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
}

TEST_F(AdminHttpServerTest, MalformedRequestLineIs400AndCloses) {
  start();
  Client c(port());
  ASSERT_FALSE(c.write_raw("GET\r\n\r\n"));
  const Reply r = c.read_reply();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.error_code(), "bad_request");
  const auto ec = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_TRUE(seen().empty());
}

TEST_F(AdminHttpServerTest, BadTargetOrVersionIs400) {
  start();
  for (const std::string raw : {"GET http://example.com/v1/status HTTP/1.1\r\nHost: x\r\n\r\n",
                                "GET /v1/status HTTP/9.x\r\nHost: x\r\n\r\n"}) {
    Client c(port());
    ASSERT_FALSE(c.write_raw(raw));
    const Reply r = c.read_reply();
    ASSERT_FALSE(r.ec) << raw << ": " << r.ec.message();
    EXPECT_EQ(r.status(), 400) << raw;
  }
  EXPECT_TRUE(seen().empty());
}

TEST_F(AdminHttpServerTest, OtherMethodsAre405WithAllow) {
  start();
  Client c(port());
  const Reply r = c.send(request(http::verb::patch, "/v1/status"));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 405);
  EXPECT_EQ(r.header(http::field::allow), "GET, POST, PUT, DELETE");
  EXPECT_TRUE(seen().empty());
}

TEST_F(AdminHttpServerTest, MalformedQueryEscapeIs400) {
  start();
  Client c(port());
  const Reply r = c.send(request(http::verb::get, "/v1/status?x=%zz"));
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 400);
  EXPECT_EQ(r.error_code(), "invalid_query");
  EXPECT_TRUE(seen().empty());
}

TEST_F(AdminHttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  start();
  Client c(port());
  const std::string body = R"({"big": true})";
  ASSERT_FALSE(c.write_raw("POST /v1/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kToken) +
                           "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n"));
  const Reply interim = c.read_reply();
  ASSERT_FALSE(interim.ec) << interim.ec.message();
  EXPECT_EQ(interim.status(), 100);
  ASSERT_FALSE(c.write_raw(body));
  const Reply r = c.read_reply();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status(), 200);
  const auto all = seen();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].body, (json{{"big", true}}));
}

TEST_F(AdminHttpServerTest, ConnectionsOverTheLimitAreClosed) {
  auto options = default_options();
  options.max_connections = 2;
  start(options);
  auto first = std::make_unique<Client>(port());
  Client second(port());
  // A served request proves each connection has been accepted and counted.
  ASSERT_EQ(first->send(request(http::verb::get, "/v1/status")).status(), 200);
  ASSERT_EQ(second.send(request(http::verb::get, "/v1/status")).status(), 200);

  Client third(port());
  const Reply refused = third.send(request(http::verb::get, "/v1/status"));
  EXPECT_TRUE(refused.ec) << "a third connection was served: " << refused.status();
  EXPECT_NE(refused.ec, beast::error::timeout) << "the third connection was left open";
  EXPECT_EQ(seen().size(), 2u);

  // Closing one frees its slot (the server notices the close asynchronously).
  first.reset();
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    Client again(port());
    status = again.send(request(http::verb::get, "/v1/status")).status();
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
}

TEST_F(AdminHttpServerTest, IdleConnectionTimesOut) {
  auto options = default_options();
  options.timeout_s = 1;
  start(options);
  Client c(port());
  const auto began = std::chrono::steady_clock::now();
  const auto ec = c.read_until_closed();
  const auto waited = std::chrono::steady_clock::now() - began;
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 4s);
}

TEST_F(AdminHttpServerTest, StopClosesConnectionsAndRefusesNewOnes) {
  start();
  Client c(port());
  ASSERT_EQ(c.send(request(http::verb::get, "/v1/status")).status(), 200);
  const unsigned short was = port();
  server_->stop();
  const auto ec = c.read_until_closed();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  Client late(was);
  EXPECT_EQ(late.connect_error(), asio::error::connection_refused) << late.connect_error().message();
}

TEST_F(AdminHttpServerTest, StartFailsClearlyWhenThePortIsTaken) {
  start();
  auto options = default_options();
  options.port = port();
  AdminHttpServer second(io_, options, [](const AdminRequest&, AdminRespond respond) { respond(AdminResponse{}); });
  try {
    second.start();
    FAIL() << "a second server bound the same port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port())), std::string::npos) << e.what();
  }
  // The first server is unaffected.
  Client c(port());
  EXPECT_EQ(c.send(request(http::verb::get, "/v1/status")).status(), 200);
}

TEST_F(AdminHttpServerTest, StartFailsClearlyForABadAddress) {
  auto options = default_options();
  options.address = "localhost:80";
  AdminHttpServer server(io_, options, [](const AdminRequest&, AdminRespond respond) { respond(AdminResponse{}); });
  try {
    server.start();
    FAIL() << "started on a bad address";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("localhost:80"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server.port(), 0);
}

TEST_F(AdminHttpServerTest, ConstructorRefusesABadTokenHash) {
  auto options = default_options();
  for (const std::string& bad : std::vector<std::string>{"", "abc", std::string(64, 'g'), sha256_hex(kToken) + "00"}) {
    options.token_sha256_hex = bad;
    EXPECT_THROW(AdminHttpServer(io_, options, [](const AdminRequest&, AdminRespond respond) { respond(AdminResponse{}); }), std::invalid_argument)
        << bad;
  }
  options.token_sha256_hex = sha256_hex(kToken);
  for (char& c : options.token_sha256_hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_NO_THROW(AdminHttpServer(io_, options, [](const AdminRequest&, AdminRespond respond) { respond(AdminResponse{}); }));
}

TEST_F(AdminHttpServerTest, LogsEachRequestWithoutTokenQueryValuesOrBody) {
  std::ostringstream out;
  const auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("admin-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);

  start();
  {
    Client c(port());
    EXPECT_EQ(c.send(request(http::verb::post, "/v1/customers?phone=5550100123", R"({"email":"who@example.com"})")).status(),
              200);
    auto bad = request(http::verb::get, "/v1/status");
    bad.set(http::field::authorization, "Bearer wrong-secret-55");
    EXPECT_EQ(c.send(bad).status(), 401);
  }
  spdlog::set_default_logger(previous);

  const std::string text = out.str();
  std::vector<json> requests;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("msg", "") == "admin request") requests.push_back(j);
  }
  ASSERT_EQ(requests.size(), 2u) << text;
  EXPECT_EQ(requests[0]["method"], "POST");
  EXPECT_EQ(requests[0]["path"], "/v1/customers");
  EXPECT_EQ(requests[0]["status"], 200);
  EXPECT_TRUE(requests[0]["duration_us"].is_number_integer());
  EXPECT_EQ(requests[0]["level"], "info");
  EXPECT_EQ(requests[1]["status"], 401);
  EXPECT_EQ(text.find(kToken), std::string::npos);
  EXPECT_EQ(text.find("wrong-secret-55"), std::string::npos);
  EXPECT_EQ(text.find("5550100123"), std::string::npos);
  EXPECT_EQ(text.find("who@example.com"), std::string::npos);
}

// The web pages beside the API (the dashboard) carry their own authentication: paths under the
// web prefix reach the web handler without a bearer token, raw; everything else is the API's.
TEST_F(AdminHttpServerTest, WebPrefixGoesRawToTheWebHandlerAndNothingElseDoes) {
  auto web_seen = std::make_shared<std::vector<regulars::daemon::WebRequest>>();
  auto web_mu = std::make_shared<std::mutex>();
  AdminHttpServer::Options o = default_options();
  o.max_web_body_bytes = 64;
  o.web_handler = [web_seen, web_mu](const regulars::daemon::WebRequest& r, regulars::daemon::WebRespond respond) {
    {
      std::lock_guard lock(*web_mu);
      web_seen->push_back(r);
    }
    respond({200, "text/html; charset=utf-8", {{"Set-Cookie", "s=1; HttpOnly"}}, "<p>page</p>"});
  };
  start(std::move(o));

  Client c(port());
  http::request<http::string_body> get{http::verb::get, "/dashboard/today?x=a%20b", 11};
  get.set(http::field::host, "127.0.0.1");
  get.set(http::field::cookie, "s=1");
  const Reply page = c.send(get);
  ASSERT_FALSE(page.ec) << page.ec.message();
  EXPECT_EQ(page.status(), 200);
  EXPECT_EQ(page.res.body(), "<p>page</p>");
  EXPECT_EQ(page.header(http::field::content_type), "text/html; charset=utf-8");
  EXPECT_EQ(page.header(http::field::set_cookie), "s=1; HttpOnly");

  http::request<http::string_body> post{http::verb::post, "/dashboard", 11};
  post.set(http::field::host, "127.0.0.1");
  post.set(http::field::content_type, "application/x-www-form-urlencoded");
  post.body() = "token=a+b";
  post.prepare_payload();
  EXPECT_EQ(c.send(post).status(), 200) << "a form body is not JSON, and needs no bearer token here";
  {
    std::lock_guard lock(*web_mu);
    ASSERT_EQ(web_seen->size(), 2u);
    EXPECT_EQ((*web_seen)[0].path, "/dashboard/today");
    EXPECT_EQ((*web_seen)[0].query.at("x"), "a b");
    EXPECT_EQ((*web_seen)[0].headers.at("cookie"), "s=1");
    EXPECT_EQ((*web_seen)[0].peer, "127.0.0.1");
    EXPECT_EQ((*web_seen)[1].body, "token=a+b");
  }

  post.body() = std::string(65, 'x');
  post.prepare_payload();
  EXPECT_EQ(Client(port()).send(post).status(), 413);
  http::request<http::string_body> lookalike{http::verb::get, "/dashboardish", 11};
  lookalike.set(http::field::host, "127.0.0.1");
  EXPECT_EQ(Client(port()).send(lookalike).status(), 401) << "only the prefix and paths under it are the web handler's";
  EXPECT_TRUE(seen().empty()) << "the API's handler saw none of these";
}

TEST(AdminQueryDecode, PlusIsSpaceAndEscapesDecode) {
  EXPECT_EQ(decode_query_component(""), "");
  EXPECT_EQ(decode_query_component("plain-text_1.2~"), "plain-text_1.2~");
  EXPECT_EQ(decode_query_component("a+b"), "a b");
  EXPECT_EQ(decode_query_component("%41%62"), "Ab");
  EXPECT_EQ(decode_query_component("J%c3%BCrgen"), "J\xC3\xBCrgen");
  EXPECT_EQ(decode_query_component("100%25"), "100%");
  EXPECT_EQ(decode_query_component("1%2B1"), "1+1");  // an escaped plus stays a plus
  EXPECT_EQ(decode_query_component("%00"), std::string(1, '\0'));
}

TEST(AdminQueryDecode, MalformedEscapesAreRefused) {
  for (const char* bad : {"%", "%4", "abc%", "%zz", "%g1", "%1g", "x%-1"})
    EXPECT_EQ(decode_query_component(bad), std::nullopt) << bad;
}

TEST(AdminQueryParse, SplitsAndDecodesPairs) {
  using Map = std::map<std::string, std::string>;
  EXPECT_EQ(parse_query(""), Map{});
  EXPECT_EQ(parse_query("a=1&b=x%20y"), (Map{{"a", "1"}, {"b", "x y"}}));
  EXPECT_EQ(parse_query("flag"), (Map{{"flag", ""}}));
  EXPECT_EQ(parse_query("a=1&&b=2&"), (Map{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(parse_query("=orphan&k=v"), (Map{{"k", "v"}}));
  EXPECT_EQ(parse_query("a=1&a=2"), (Map{{"a", "1"}}));  // the first value wins
  EXPECT_EQ(parse_query("eq=b=c"), (Map{{"eq", "b=c"}}));
  EXPECT_EQ(parse_query("na%6De=J%C3%BCrgen+Smith"), (Map{{"name", "J\xC3\xBCrgen Smith"}}));
  EXPECT_EQ(parse_query("a%26b=c%3Dd"), (Map{{"a&b", "c=d"}}));
}

TEST(AdminQueryParse, AnyMalformedEscapeRefusesTheWholeQuery) {
  EXPECT_EQ(parse_query("a=1&b=%zz"), std::nullopt);
  EXPECT_EQ(parse_query("%=1"), std::nullopt);
}

}  // namespace
