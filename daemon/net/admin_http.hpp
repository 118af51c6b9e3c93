// The owner's admin API: JSON over HTTP/1.1 on a TCP port (localhost by default), for reports
// and maintenance that do not belong on the till-facing Unix socket. Every request carries the
// owner token as a bearer token; the daemon keeps only its SHA-256, so a leaked config file does
// not leak the token. The monitoring routes (/metrics, /healthz) are the exception: see
// admin_access_allowed. Like the till server, each connection runs on its own strand, every read
// has a timeout and every body a size limit. Routing is the handler's job: this module only
// speaks HTTP, checks the token and turns bodies into JSON and back.
#pragma once

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace regulars::daemon {

struct AdminRequest {
  std::string method;                        // "GET", "POST", "PUT", "DELETE"
  std::string path;                          // without the query string, e.g. "/v1/reports/nps"; not percent-decoded
  std::map<std::string, std::string> query;  // decoded query parameters
  nlohmann::json body;                       // parsed JSON body (null when empty)
};

struct AdminResponse {
  AdminResponse(int answer_status = 200, nlohmann::json json_body = nullptr)
      : status(answer_status), body(std::move(json_body)) {}
  // An answer that is not JSON (the Prometheus text of /metrics).
  static AdminResponse text_answer(int answer_status, std::string_view answer_type, std::string answer_text) {
    AdminResponse r(answer_status);
    r.content_type = answer_type;
    r.text = std::move(answer_text);
    return r;
  }

  int status;           // 200..599, except 204 and 304 (they cannot carry the JSON body)
  nlohmann::json body;  // always a JSON object; null is sent as {}
  // Set for an answer that is not JSON: `text` is sent as it is, with this Content-Type, and
  // `body` is ignored.
  std::string content_type;
  std::string text;
};

// The monitoring routes: GET /metrics and GET /healthz. They carry no customer data, so a
// scraper may read them without the owner token.
bool is_monitoring_route(std::string_view method, std::string_view path) noexcept;

// Who may be served: the owner token opens every route; a monitoring route is also open to a
// peer on this machine (a loopback address) and to the metrics token from anywhere. Nothing else
// is open without the owner token.
bool admin_access_allowed(bool monitoring_route, bool loopback_peer, bool owner_token, bool metrics_token) noexcept;

// Called on the connection's strand, possibly on several I/O threads at once: it must be
// thread-safe and return at once, handing long work elsewhere. It calls `respond` exactly once,
// from any thread, when the answer is ready; the connection reads no further request until
// then. An exception thrown before `respond` is called becomes a 500 answer.
using AdminRespond = std::function<void(AdminResponse)>;
using AdminHandler = std::function<void(const AdminRequest&, AdminRespond)>;

// A request for the web pages served beside the API (the owner's dashboard, under
// Options::web_prefix). Such a page carries its own authentication (a session cookie), so the
// server checks no bearer token and parses no JSON: it passes the request on as it came, within
// the header and body limits, and sends the answer as it is.
struct WebRequest {
  std::string method;
  std::string path;                            // without the query string
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names; a repeated header keeps its first value
  std::string peer;                            // the client's IP address, for rate limits
  std::string body;                            // at most Options::max_web_body_bytes
};

struct WebResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // sent as they are (Set-Cookie, CSP, Location...)
  std::string body;
};

// Called like an AdminHandler (on the strand, answers once, from any thread).
using WebRespond = std::function<void(WebResponse)>;
using WebHandler = std::function<void(const WebRequest&, WebRespond)>;

namespace detail {
class AdminHttpState;
}

class AdminHttpServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";    // localhost by default
    unsigned short port = 0;               // 0: an ephemeral port (tests); port() tells which
    std::string token_sha256_hex;          // SHA-256 (hex) of the owner token; requests must send "Authorization: Bearer <token>"
    std::string metrics_token_sha256_hex;  // SHA-256 (hex) of the metrics token, or empty for none (see admin_access_allowed)
    std::size_t max_body_bytes = 1 << 20;  // larger bodies get 413 with a JSON error
    int timeout_s = 30;                    // per request read
    int max_connections = 64;
    // Paths equal to web_prefix or under "web_prefix/" go to web_handler, when there is one.
    std::string web_prefix = "/dashboard";
    WebHandler web_handler;
    // Form posts: larger bodies get 413. Room for a gesture rule (at most 64 KiB of JSON) sent
    // URL-encoded from the dashboard's rule form.
    std::size_t max_web_body_bytes = 256 * 1024;
  };

  // Throws std::invalid_argument when a token hash is not 64 hex digits (the metrics one may be
  // empty), or a limit is not positive.
  AdminHttpServer(boost::asio::io_context& io, Options options, AdminHandler handler);
  // Calls stop().
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // Binds and listens; throws std::runtime_error with a clear message if the address cannot be
  // bound (std::logic_error when called twice).
  void start();
  // Stops accepting and closes every connection. Returns at once, from any thread: connections
  // close on their strands. No handler call begins after stop() returns.
  void stop();
  // The bound port (the ephemeral one when Options::port was 0); 0 before start().
  unsigned short port() const;

 private:
  std::shared_ptr<detail::AdminHttpState> state_;
};

// Percent-decodes one query-string component; '+' is a space. nullopt for a malformed escape
// ("%", "%4", "%zz").
std::optional<std::string> decode_query_component(std::string_view text);

// Decodes "a=1&b=x%20y" into {a: "1", b: "x y"}. A key without '=' gets "", empty pairs and empty
// keys are skipped, and when a key repeats the first value wins. nullopt when any escape is malformed.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

}  // namespace regulars::daemon
