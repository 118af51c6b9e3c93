#include "net/admin_http.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "owner/token_digest.hpp"
#include "base/log.hpp"
#include "wire/error.hpp"
#include "wire/hex.hpp"
#include "wire/json_text.hpp"

namespace regulars::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// What the read buffer may hold at once: the header, and beyond it a chunk's size line or the
// trailer, which the parser keeps whole until their line ends and the body limit does not
// bound. Body bytes pass through it as they are parsed.
constexpr std::size_t kReadBufferLimit = kHeaderLimit + 64 * 1024;
constexpr int kMaxDepth = 32;
// After answering a request whose body we did not read, we stop sending and read (and discard)
// what the client still sends for a moment before closing: closing a socket with unread data
// makes the kernel send a reset, and the client may then lose the answer explaining the refusal.
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr std::size_t kDrainLimit = 4 << 20;
constexpr std::size_t kLoggedChars = 128;  // methods and paths are logged, but not at any length
constexpr std::string_view kAllowedMethods = "GET, POST, PUT, DELETE";

using Digest = TokenDigest;

json error_body(std::string_view code, std::string message, std::string_view field = {}) {
  json e = {{"code", code}, {"message", std::move(message)}};
  if (!field.empty()) e["field"] = field;
  return json{{"error", std::move(e)}};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string clip(std::string_view s) { return std::string(s.substr(0, kLoggedChars)); }

// Boost 1.74's Beast has its own string_view.
beast::string_view bsv(std::string_view s) { return {s.data(), s.size()}; }

using Headers = std::initializer_list<std::pair<http::field, std::string_view>>;

bool is_loopback(const asio::ip::address& a) {
  return a.is_loopback() || (a.is_v6() && a.to_v6().is_v4_mapped() &&
                             asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback());
}

std::string describe(const tcp::endpoint& ep) {
  const std::string host = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

bool allowed_method(http::verb v) {
  return v == http::verb::get || v == http::verb::post || v == http::verb::put || v == http::verb::delete_;
}

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

// What is wrong with a response the handler produced, or empty when it can be sent.
std::string check_response(AdminResponse& r) {
  if (r.status < 200 || r.status > 599 || r.status == 204 || r.status == 304)
    return "status " + std::to_string(r.status) + " cannot carry a body";
  if (!r.content_type.empty()) return {};
  if (r.body.is_null()) r.body = json::object();
  if (!r.body.is_object()) return std::string("the body is a JSON ") + r.body.type_name() + ", not an object";
  return {};
}

}  // namespace

namespace detail {

class AdminSession;

// Shared by the server object and every connection, so a connection that outlives the server
// object (its close is asynchronous) still has its options and handler.
class AdminHttpState : public std::enable_shared_from_this<AdminHttpState> {
 public:
  AdminHttpState(asio::io_context& io, AdminHttpServer::Options options, AdminHandler handler, Digest token,
                 std::optional<Digest> metrics_token)
      : io_(io),
        options_(std::move(options)),
        handler_(std::move(handler)),
        token_(token),
        metrics_token_(metrics_token),
        acceptor_(asio::make_strand(io)),
        retry_timer_(acceptor_.get_executor()) {}

  const AdminHttpServer::Options& options() const noexcept { return options_; }
  bool stopped() const noexcept { return stopped_.load(); }
  unsigned short port() const noexcept { return port_.load(); }

  void call_handler(const AdminRequest& req, AdminRespond respond) const { handler_(req, std::move(respond)); }
  void call_web_handler(const WebRequest& req, WebRespond respond) const {
    options_.web_handler(req, std::move(respond));
  }

  // True for a path the web handler serves: the prefix itself or anything under it.
  bool serves_web(std::string_view path) const noexcept {
    const std::string& prefix = options_.web_prefix;
    if (!options_.web_handler || prefix.empty() || path.substr(0, prefix.size()) != prefix) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
  }

  // The SHA-256 of the presented token against the configured one, in constant time so the
  // comparison does not tell an attacker how many leading bytes were right.
  bool authorized(std::string_view token) const noexcept { return matches(token, token_); }
  bool metrics_authorized(std::string_view token) const noexcept {
    return metrics_token_ && matches(token, *metrics_token_);
  }

  void start();
  void stop();
  void forget(std::uint64_t id) {
    std::lock_guard lock(mu_);
    sessions_.erase(id);
  }

 private:
  void do_accept();  // with mu_ held
  void on_accept(beast::error_code ec, tcp::socket socket);
  static bool matches(std::string_view token, const Digest& expected) noexcept {
    if (token.empty()) return false;
    const auto presented = token_digest(token);
    if (!presented) return false;  // OpenSSL failed: fail closed rather than throw on an I/O thread
    return CRYPTO_memcmp(presented->data(), expected.data(), expected.size()) == 0;
  }

  asio::io_context& io_;
  const AdminHttpServer::Options options_;
  const AdminHandler handler_;
  const Digest token_;
  const std::optional<Digest> metrics_token_;
  // The acceptor and the retry timer are only touched with mu_ held, so stop() may close them
  // from any thread without waiting for the I/O threads.
  std::mutex mu_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::unordered_map<std::uint64_t, std::weak_ptr<AdminSession>> sessions_;
  std::uint64_t next_session_ = 1;
  bool started_ = false;
  bool accepting_ = false;
  std::atomic<bool> stopped_{false};
  std::atomic<unsigned short> port_{0};
};

class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(tcp::socket socket, std::shared_ptr<AdminHttpState> state, std::uint64_t id)
      : stream_(std::move(socket)), state_(std::move(state)), id_(id) {
    beast::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    loopback_peer_ = !ec && is_loopback(peer.address());
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  void close() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->shutdown(); });
  }

 private:
  std::chrono::seconds timeout() const { return std::chrono::seconds(state_->options().timeout_s); }

  void shutdown() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    state_->forget(id_);
  }

  void read_header() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // The body limit is applied once the request is authenticated (on_header), so a stranger
    // learns nothing but 401 however large a body they announce.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    method_.clear();
    path_.clear();
    query_.clear();
    web_ = false;
    // One deadline for the whole request, header and body; it also bounds idle keep-alive time.
    stream_.expires_after(timeout());
    http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_header(ec);
    });
  }

  void on_header(beast::error_code ec) {
    started_ = std::chrono::steady_clock::now();
    if (ec) {
      if (ec == http::error::header_limit)
        return refuse(431, "headers_too_large", "the request headers exceed 16 KiB; send fewer or shorter headers");
      if (ec != http::error::end_of_stream && ec != http::error::partial_message && is_http_error(ec))
        return refuse(400, "bad_request", "malformed HTTP request (" + ec.message() + "); send an HTTP/1.1 request");
      // The client closed between requests or went away mid-request, or the read timed out.
      if (ec != http::error::end_of_stream)
        REGULARS_LOG(debug, "admin connection dropped", ({{"session", id_}, {"reason", ec.message()}}));
      return shutdown();
    }

    const auto& req = parser_->get();
    method_ = std::string(req.method_string());
    const std::string_view target(req.target().data(), req.target().size());
    const auto question = target.find('?');
    path_ = std::string(target.substr(0, question));

    if (path_.empty() || path_.front() != '/')
      return refuse(400, "bad_request", "the request target must be a path starting with '/', e.g. /v1/status");
    if (!allowed_method(req.method()))
      return refuse(405, "method_not_allowed", "the admin API accepts GET, POST, PUT and DELETE",
                    {{http::field::allow, kAllowedMethods}});
    if (state_->serves_web(path_))
      return on_web_header(question == std::string_view::npos ? "" : target.substr(question));

    std::string_view auth(req[http::field::authorization].data(), req[http::field::authorization].size());
    auth = trim(auth);
    std::string_view token;
    if (auth.size() > 7 && beast::iequals(bsv(auth.substr(0, 7)), "bearer ")) token = trim(auth.substr(7));
    const bool monitoring = is_monitoring_route(method_, path_);
    const bool owner = state_->authorized(token);
    if (!admin_access_allowed(monitoring, loopback_peer_, owner, monitoring && state_->metrics_authorized(token))) {
      return refuse(401, "unauthorized",
                    monitoring ? "send Authorization: Bearer <metrics token> (DATA_DIR/metrics.token), or ask from this machine"
                               : "send Authorization: Bearer <owner token>; the token is the one whose SHA-256 is in regularsd's config",
                    {{http::field::www_authenticate, auth.empty() ? R"(Bearer realm="regularsd")"
                                                                  : R"(Bearer realm="regularsd", error="invalid_token")"}});
    }

    const auto content_type = req.find(http::field::content_type);
    if (content_type != req.end()) {
      const std::string_view value(content_type->value().data(), content_type->value().size());
      const std::string_view media = trim(value.substr(0, value.find(';')));
      if (!beast::iequals(bsv(media), "application/json"))
        return refuse(415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json");
    }

    const std::size_t limit = state_->options().max_body_bytes;
    if (const auto length = parser_->content_length(); length && *length > limit) return refuse_too_large();

    if (question != std::string_view::npos) {
      auto query = parse_query(target.substr(question + 1));
      if (!query)
        return refuse(400, "invalid_query", "the query string has a malformed %-escape; encode '%' as %25");
      query_ = std::move(*query);
    }

    if (parser_->is_done()) return on_request();
    parser_->body_limit(static_cast<std::uint64_t>(limit));  // for chunked bodies
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a large body.
      continue_ = {http::status::continue_, 11};
      return http::async_write(stream_, continue_, [self = shared_from_this()](beast::error_code e, std::size_t) {
        if (e) return self->shutdown();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec == http::error::body_limit) return self->refuse_too_large();
      if (ec == http::error::buffer_overflow)
        return self->refuse(400, "bad_request", "a chunk header or the trailer is over 64 KiB; send the body with Content-Length");
      if (ec) {
        REGULARS_LOG(debug, "admin connection dropped", ({{"session", self->id_}, {"reason", ec.message()}}));
        return self->shutdown();
      }
      self->on_request();
    });
  }

  void on_request() {
    if (web_) return on_web_request();
    const bool keep_alive = parser_->get().keep_alive();
    if (state_->stopped())
      return respond(503, error_body(wire::to_string(wire::ErrorCode::shutting_down), "regularsd is stopping; retry shortly"),
                     false);

    AdminRequest request;
    request.method = method_;
    request.path = path_;
    request.query = std::move(query_);
    const std::string& text = parser_->get().body();
    if (!text.empty()) {
      auto parsed = wire::parse_json(text, kMaxDepth);
      if (const auto* err = std::get_if<wire::Error>(&parsed))
        return respond(400, error_body(wire::to_string(err->code), err->message, "body"), keep_alive);
      request.body = std::move(std::get<json>(parsed));
    }

    // The handler answers later, from another thread: no deadline while it works (a dry run
    // may take a while), and only the first answer counts.
    stream_.expires_never();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    AdminRespond answer = [self = shared_from_this(), answered, keep_alive](AdminResponse response) {
      if (answered->exchange(true)) return;
      asio::post(self->stream_.get_executor(), [self, keep_alive, response = std::move(response)]() mutable {
        self->finish(std::move(response), keep_alive);
      });
    };
    try {
      state_->call_handler(request, answer);
    } catch (const std::exception& e) {
      // The exception's text goes to the log only: it may describe internals the client need not see.
      REGULARS_LOG_LIMITED(err, "admin handler failed", ({{"session", id_}, {"method", clip(method_)}, {"path", clip(path_)},
                                                  {"error", e.what()}}));
      if (!answered->exchange(true)) respond_internal(keep_alive);
    } catch (...) {
      REGULARS_LOG_LIMITED(err, "admin handler failed", ({{"session", id_}, {"method", clip(method_)}, {"path", clip(path_)},
                                                  {"error", "unknown exception"}}));
      if (!answered->exchange(true)) respond_internal(keep_alive);
    }
  }

  // The handler's answer, back on this connection's strand.
  void finish(AdminResponse response, bool keep_alive) {
    if (const std::string problem = check_response(response); !problem.empty()) {
      REGULARS_LOG_LIMITED(err, "admin handler returned an invalid response",
                   ({{"session", id_}, {"method", clip(method_)}, {"path", clip(path_)}, {"error", problem}}));
      return respond_internal(keep_alive);
    }
    if (!response.content_type.empty())
      return respond_text(response.status, response.content_type, std::move(response.text), keep_alive);
    respond(response.status, std::move(response.body), keep_alive);
  }

  void respond_internal(bool keep_alive) {
    respond(500, error_body(wire::to_string(wire::ErrorCode::internal), "regularsd could not handle the request; see its log"),
            keep_alive);
  }

  void refuse_too_large() {
    const std::size_t limit = web_ ? state_->options().max_web_body_bytes : state_->options().max_body_bytes;
    refuse(413, "payload_too_large", "the body exceeds " + std::to_string(limit) + " bytes; send less per request", {},
           "body");
  }

  // An answer before the body was read: the connection is only kept when there was no body.
  void refuse(int status, std::string_view code, std::string message, Headers headers = {}, std::string_view field = {}) {
    const bool keep_alive = parser_->is_done() && parser_->get().keep_alive();
    respond(status, error_body(code, std::move(message), field), keep_alive, headers);
  }

  void respond(int status, json body, bool keep_alive, Headers headers = {}) {
    respond_text(status, "application/json; charset=utf-8", wire::dump_json(body), keep_alive, headers);
  }

  void respond_text(int status, std::string_view content_type, std::string body, bool keep_alive, Headers headers = {}) {
    if (closed_) return;
    log_request(status);
    start_response(status, content_type, std::move(body), keep_alive);
    for (const auto& [field, value] : headers) res_.set(field, bsv(value));
    send_response();
  }
  // What every answer carries: its status and type, no caching, no sniffing, and the body.
  void start_response(int status, std::string_view content_type, std::string body, bool keep_alive) {
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(status));
    res_.set(http::field::content_type, bsv(content_type));
    res_.set(http::field::cache_control, "no-store");
    res_.set("X-Content-Type-Options", "nosniff");
    res_.keep_alive(keep_alive);
    res_.body() = std::move(body);
  }
  void send_response() {
    res_.prepare_payload();
    write_response();
  }


  // --- The web pages: their own authentication, raw bodies (see WebRequest) -------------------

  void on_web_header(std::string_view query_with_mark) {
    web_ = true;
    const std::size_t limit = state_->options().max_web_body_bytes;
    if (const auto length = parser_->content_length(); length && *length > limit) return refuse_too_large();
    if (!query_with_mark.empty()) {
      auto query = parse_query(query_with_mark.substr(1));
      if (!query) return refuse(400, "invalid_query", "the query string has a malformed %-escape; encode '%' as %25");
      query_ = std::move(*query);
    }
    if (parser_->is_done()) return on_web_request();
    parser_->body_limit(static_cast<std::uint64_t>(limit));
    read_body();
  }

  WebRequest web_request() {
    WebRequest request;
    request.method = method_;
    request.path = path_;
    request.query = std::move(query_);
    for (const auto& field : parser_->get()) {
      std::string name(field.name_string().data(), field.name_string().size());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace(std::move(name), std::string(field.value().data(), field.value().size()));
    }
    beast::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) request.peer = peer.address().to_string();
    request.body = std::move(parser_->get().body());
    return request;
  }

  void on_web_request() {
    const bool keep_alive = parser_->get().keep_alive();
    if (state_->stopped())
      return respond(
          503, error_body(wire::to_string(wire::ErrorCode::shutting_down), "regularsd is stopping; retry shortly"),
          false);
    stream_.expires_never();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    WebRespond answer = [self = shared_from_this(), answered, keep_alive](WebResponse response) {
      if (answered->exchange(true)) return;
      asio::post(self->stream_.get_executor(), [self, keep_alive, response = std::move(response)]() mutable {
        self->send_web(std::move(response), keep_alive);
      });
    };
    try {
      state_->call_web_handler(web_request(), answer);
    } catch (const std::exception& e) {
      REGULARS_LOG_LIMITED(err, "web handler failed", ({{"session", id_}, {"path", clip(path_)}, {"error", e.what()}}));
      if (!answered->exchange(true)) respond_internal(keep_alive);
    }
  }

  void send_web(WebResponse response, bool keep_alive) {
    if (closed_) return;
    if (response.status < 200 || response.status > 599) {
      REGULARS_LOG_LIMITED(err, "web handler returned an invalid status",
                           ({{"session", id_}, {"status", response.status}}));
      return respond_internal(keep_alive);
    }
    log_request(response.status);
    start_response(response.status, response.content_type, std::move(response.body), keep_alive);
    for (const auto& [name, value] : response.headers) res_.insert(bsv(name), bsv(value));
    send_response();
  }

  void log_request(int status) {
    REGULARS_LOG_LIMITED(info, "admin request",
                         ({{"session", id_},
                           {"method", clip(method_)},
                           {"path", clip(path_)},
                           {"status", status},
                           {"duration_us", std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::steady_clock::now() - started_)
                                               .count()}}));
  }

  void write_response() {
    stream_.expires_after(timeout());
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->shutdown();
      if (!self->res_.keep_alive()) return self->linger_close();
      self->read_header();
    });
  }

  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return shutdown();
    stream_.expires_after(kDrainTime);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kDrainLimit) return self->shutdown();
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<AdminHttpState> state_;
  const std::uint64_t id_;
  beast::flat_buffer buffer_{kReadBufferLimit};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_;
  http::response<http::string_body> res_;
  std::string method_;
  std::string path_;
  std::map<std::string, std::string> query_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::array<char, 4096> drain_buf_{};
  std::size_t drained_ = 0;
  bool closed_ = false;
  bool loopback_peer_ = false;  // the peer's address is a loopback one: it runs on this machine
  bool web_ = false;  // this request goes to the web handler
};

void AdminHttpState::start() {
  std::lock_guard lock(mu_);
  if (started_) throw std::logic_error("AdminHttpServer::start() called twice");
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options_.address, ec);
  if (ec)
    throw std::runtime_error("admin address '" + options_.address + "' is not an IP address; use e.g. 127.0.0.1 or ::1");
  const tcp::endpoint endpoint(address, options_.port);
  auto fail = [&](const char* what) {
    beast::error_code ignore;
    acceptor_.close(ignore);
    return std::runtime_error("cannot " + std::string(what) + " the admin HTTP port " + describe(endpoint) + ": " +
                              ec.message() + "; choose another admin address or port, or stop the process using it");
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) throw fail("open");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) throw fail("configure");
  acceptor_.bind(endpoint, ec);
  if (ec) throw fail("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw fail("listen on");
  const tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) throw fail("read back");
  port_ = bound.port();
  started_ = true;
  accepting_ = true;
  REGULARS_LOG(info, "admin http listening", ({{"address", bound.address().to_string()}, {"port", bound.port()}}));
  if (!is_loopback(address))
    REGULARS_LOG(warn, "admin http listens beyond localhost; the owner token crosses the network in clear text",
                 ({{"address", options_.address}}));
  do_accept();
}

void AdminHttpState::do_accept() {
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void AdminHttpState::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;
  if (ec) {
    REGULARS_LOG_LIMITED(warn, "admin accept failed", ({{"error", ec.message()}}));
    // Typically out of file descriptors: back off instead of spinning on the same error.
    std::lock_guard lock(mu_);
    if (!accepting_) return;
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (e) return;
      std::lock_guard relock(self->mu_);
      if (self->accepting_) self->do_accept();
    });
    return;
  }
  std::shared_ptr<AdminSession> session;
  bool refused = false;
  {
    std::lock_guard lock(mu_);
    if (!accepting_) return;  // stopped while this connection was being accepted: the socket closes here
    if (static_cast<int>(sessions_.size()) >= options_.max_connections) {
      refused = true;
    } else {
      const std::uint64_t id = next_session_++;
      session = std::make_shared<AdminSession>(std::move(socket), shared_from_this(), id);
      sessions_.emplace(id, session);
    }
  }
  if (refused) {
    REGULARS_LOG_LIMITED(warn, "admin connection refused: too many connections", ({{"limit", options_.max_connections}}));
    beast::error_code ignore;
    socket.close(ignore);
  }
  if (session) session->start();
  std::lock_guard lock(mu_);
  if (accepting_) do_accept();
}

void AdminHttpState::stop() {
  stopped_ = true;
  std::vector<std::shared_ptr<AdminSession>> open;
  {
    std::lock_guard lock(mu_);
    if (accepting_) {
      accepting_ = false;
      beast::error_code ignore;
      acceptor_.close(ignore);
      retry_timer_.cancel();
    }
    for (auto& [_, weak] : sessions_)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->close();
}

}  // namespace detail

AdminHttpServer::AdminHttpServer(asio::io_context& io, Options options, AdminHandler handler) {
  const auto token = wire::hex_decode_array<std::tuple_size_v<Digest>>(options.token_sha256_hex);
  if (!token)
    throw std::invalid_argument(
        "the admin token hash must be the SHA-256 of the owner token as 64 hex digits "
        "(e.g. printf %s \"$TOKEN\" | sha256sum)");
  std::optional<Digest> metrics_token;
  if (!options.metrics_token_sha256_hex.empty()) {
    metrics_token = wire::hex_decode_array<std::tuple_size_v<Digest>>(options.metrics_token_sha256_hex);
    if (!metrics_token)
      throw std::invalid_argument("the metrics token hash must be the SHA-256 of the metrics token as 64 hex digits");
  }
  if (options.timeout_s <= 0) throw std::invalid_argument("the admin timeout must be at least 1 second");
  if (options.max_connections <= 0) throw std::invalid_argument("the admin connection limit must be at least 1");
  if (!handler) throw std::invalid_argument("the admin server needs a handler");
  state_ = std::make_shared<detail::AdminHttpState>(io, std::move(options), std::move(handler), *token, metrics_token);
}

AdminHttpServer::~AdminHttpServer() { stop(); }

void AdminHttpServer::start() { state_->start(); }

void AdminHttpServer::stop() { state_->stop(); }

unsigned short AdminHttpServer::port() const { return state_->port(); }

bool is_monitoring_route(std::string_view method, std::string_view path) noexcept {
  return method == "GET" && (path == "/metrics" || path == "/healthz");
}

bool admin_access_allowed(bool monitoring_route, bool loopback_peer, bool owner_token, bool metrics_token) noexcept {
  if (owner_token) return true;
  return monitoring_route && (loopback_peer || metrics_token);
}

std::optional<std::string> decode_query_component(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits after it
      const int hi = hex(text[i + 1]);
      const int lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = decode_query_component(pair.substr(0, eq));
    auto value = decode_query_component(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    if (key->empty()) continue;
    out.emplace(std::move(*key), std::move(*value));
  }
  return out;
}

}  // namespace regulars::daemon
