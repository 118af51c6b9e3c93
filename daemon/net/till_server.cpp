#include "net/till_server.hpp"

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/asio/ssl/context.hpp>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <optional>

#include "base/config.hpp"
#include "net/io_pool.hpp"
#include "memory/identity.hpp"
#include "owner/lane_tokens.hpp"
#include "till/spool_key.hpp"

#include <boost/asio/ssl.hpp>

#include "owner/commands.hpp"
#include "till/till_ops.hpp"

#include <sys/socket.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <span>
#include <cstring>
#include <sstream>
#include <fstream>
#include <chrono>
#include <deque>
#include <future>
#include <thread>
#include <variant>
#include <functional>
#include <limits>

#include "base/log.hpp"
#include "metrics/metrics.hpp"
#include "wire/frame.hpp"
#include "wire/json_text.hpp"
#include "wire/response.hpp"
#include "wire/sealed.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;
using nlohmann::json;

namespace {

// How long the acceptors wait after a failed accept (see retry_accept_later).
constexpr std::chrono::milliseconds kAcceptRetry{100};
// The per-user count for socket peers whose credentials could not be read.
constexpr long long kUnknownUid = std::numeric_limits<long long>::max();

json error_response(const json& id, wire::ErrorCode code, const std::string& field, const std::string& message) {
  json err = {{"code", wire::to_string(code)}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return json{{"id", id}, {"ok", false}, {"error", std::move(err)}};
}

json error_response(const json& id, const wire::Error& e) { return error_response(id, e.code, e.field, e.message); }

json ok_response(const json& id, json result) { return json{{"id", id}, {"ok", true}, {"result", std::move(result)}}; }

// The till's own operations; the owner's are in the owner command table (owner/commands.hpp).
constexpr std::string_view kHelloFields[] = {"protocol", "client", "terminal", "token"};
constexpr std::string_view kRecordFields[] = {"event", "sealed"};
constexpr std::string_view kHintsFields[] = {"request"};
constexpr std::pair<std::string_view, std::span<const std::string_view>> kTillOps[] = {
    {"hello", kHelloFields},
    {"ping", {}},
    {"record", kRecordFields},
    {"hints", kHintsFields},
};

// "hello, ping, record, hints, status, report, ...": every op this daemon knows.
std::string known_ops() {
  std::string names;
  for (const auto& [op, _] : kTillOps) names += std::string(op) + ", ";
  return names + owner::command_names();
}

// Fields each till op accepts besides "id" and "op".
std::optional<wire::Error> check_request_keys(const json& req, const std::string& op) {
  const auto* entry = std::find_if(std::begin(kTillOps), std::end(kTillOps), [&](const auto& e) { return e.first == op; });
  if (entry == std::end(kTillOps)) return std::nullopt;
  for (const auto& [k, _] : req.items()) {
    if (k == "id" || k == "op") continue;
    if (std::find(entry->second.begin(), entry->second.end(), k) == entry->second.end())
      return wire::Error{wire::ErrorCode::invalid_request, k, "is not a field of the " + op + " request"};
  }
  return std::nullopt;
}

}  // namespace

// What the server needs of a connection, whatever it runs over.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
  // Ends the session if it came in with this lane token.
  virtual void revoke(const std::string& token_id) = 0;
};

// A session's place in the server's counts: what it holds, so that forget() gives back exactly that.
struct Slot {
  std::weak_ptr<SessionBase> session;
  bool tls = false;
  bool authenticated = false;  // over TLS: its hello carried a valid token
  long long uid = -1;          // on the socket: the peer's user; -1 for the owner (no per-user limit)
  std::string address;         // over TLS: the peer's address
};

class TillServer::Impl {
 public:
  // `tokens`: the lane tokens TLS lanes authenticate with (needed with listen.tls).
  Impl(IoPool& io, const Config& config, till::Services& till, owner::CommandRunner& owner_commands,
         LaneTokens* tokens, Metrics* metrics);
  ~Impl();

  // Removes a stale socket file (refusing if another daemon answers on it), binds and listens;
  // with listen.tls, also listens on TCP (and writes DATA_DIR/tls.endpoint).
  void start();
  // The TLS port actually bound (listen.tls.port 0 picks one), or 0 without TLS.
  unsigned short tls_port() const noexcept { return tls_port_; }
  // Closes every session that came in with this (just revoked) lane token.
  void revoke_sessions(const std::string& token_id);
  // Stops accepting connections; existing sessions keep being served.
  void stop_accepting();
  // Closes every session.
  void close_all();

  const Config& config() const noexcept { return config_; }
  till::Services& till() noexcept { return till_; }
  LaneTokens* tokens() noexcept { return tokens_; }
  Metrics* metrics() noexcept { return metrics_; }
  owner::CommandRunner& owner_commands() noexcept { return owner_commands_; }
  // The tills' group id (listen.group), or -1 when any peer that can open the socket may talk.
  long long socket_gid() const noexcept { return socket_gid_; }
  // A TLS session's hello carried a valid token: it leaves the unauthenticated count.
  void authenticated(std::uint64_t session_id);
  void forget(std::uint64_t session_id);

 private:
  void do_accept();
  void do_accept_tls();
  void start_tls();
  // After a failed accept (most often: out of file descriptors, and the connection that could
  // not be taken still queued), try again a little later instead of at once: retrying at once
  // spins a core and floods the log until a descriptor comes back.
  void retry_accept_later(boost::asio::steady_timer& timer, void (Impl::*again)());
  // With mu_ held: why a new connection gets no slot, or nullptr when it does.
  const char* refusal_unix(long long uid) const;
  const char* refusal_tls(const std::string& address) const;

  IoPool& io_;
  const Config& config_;
  till::Services& till_;
  owner::CommandRunner& owner_commands_;
  LaneTokens* tokens_;
  Metrics* metrics_;
  long long socket_gid_ = -1;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;  // on acceptor_'s strand
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> tls_acceptor_;
  std::unique_ptr<boost::asio::steady_timer> tls_accept_retry_;  // on tls_acceptor_'s strand
  unsigned short tls_port_ = 0;
  std::mutex mu_;
  // Every open session and what it counts against (guarded by mu_, as are the counts).
  std::unordered_map<std::uint64_t, Slot> sessions_;
  int unix_sessions_ = 0;
  int tls_sessions_ = 0;
  int tls_unauthenticated_ = 0;                          // TLS sessions without a valid token yet
  std::unordered_map<long long, int> per_uid_;           // socket sessions of each user but the owner
  std::unordered_map<std::string, int> unauthenticated_per_address_;
  std::uint64_t next_session_ = 1;
  bool accepting_ = false;
};


// Whether process `pid` has `gid` among its supplementary groups (/proc/PID/status "Groups:").
static bool in_group(pid_t pid, long long gid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream groups(line.substr(7));
    for (long long g; groups >> g;)
      if (g == gid) return true;
    return false;
  }
  return false;
}

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  static constexpr LaneTransport kTransport = kTls ? LaneTransport::tls : LaneTransport::socket;
  using Clock = std::chrono::steady_clock;
 public:
  // A Unix-socket session: the peer's credentials decide what it may do.
  Session(local::socket socket, TillServer::Impl& server, std::uint64_t id)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server), id_(id) {
    // The owner's queries (satisfaction by cashier, follow-ups with comments) are for the owner:
    // a peer running as regularsd's own user (regularsctl on the store's server). Tills reach
    // the socket through its group and get record and hints only.
    ucred cred{};
    socklen_t len = sizeof cred;
    const bool known = ::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
    owner_ = known && (cred.uid == ::geteuid() || cred.uid == 0);
    peer_uid_ = cred.uid;
    // With listen.group set, only the owner and members of the tills' group may talk at all,
    // whatever the socket file's mode lets through.
    const long long gid = server_.socket_gid();
    allowed_ = owner_ || gid < 0 || (known && (static_cast<long long>(cred.gid) == gid || in_group(cred.pid, gid)));
  }

  // A TLS session from another machine: a till at most, and only once its hello carries a
  // valid lane token.
  Session(asio::ip::tcp::socket socket, asio::ssl::context& tls, TillServer::Impl& server, std::uint64_t id)
      : socket_(std::move(socket), tls), timer_(socket_.get_executor()), server_(server), id_(id) {}

  void start() {
    asio::dispatch(socket_.get_executor(), [self = this->shared_from_this()] {
      // One deadline from accept to an accepted hello, TLS handshake included: a peer that never
      // says who it is cannot hold a connection slot for long.
      self->hello_deadline_ = Clock::now() + std::chrono::seconds(self->server_.config().tls_handshake_timeout_s);
      if constexpr (kTls) {
        // A plain-TCP client, or one that never finishes the handshake, is closed here.
        self->set_deadline(self->hello_deadline_);
        self->socket_.async_handshake(asio::ssl::stream_base::server, [self](boost::system::error_code ec) {
          if (ec) {
            REGULARS_LOG_LIMITED(info, "TLS handshake refused", ({{"session", self->id_}, {"error", ec.message()}}));
            return self->shutdown();
          }
          self->do_read();
        });
      } else {
        self->do_read();
      }
    });
  }

  void close() override {
    asio::dispatch(socket_.get_executor(), [self = this->shared_from_this()] { self->shutdown(); });
  }

  // A lane token was revoked: a session that came in with it ends now.
  void revoke(const std::string& token_id) override {
    asio::dispatch(socket_.get_executor(), [self = this->shared_from_this(), token_id] {
      if (!self->token_id_.empty() && self->token_id_ == token_id) {
        REGULARS_LOG_LIMITED(info, "closing a lane whose token was revoked", ({{"session", self->id_}, {"token_id", token_id}}));
        self->shutdown();
      }
    });
  }

 private:
  void shutdown() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    timer_.cancel();
    auto& sock = lowest();
    sock.shutdown(asio::socket_base::shutdown_both, ec);
    sock.close(ec);
    server_.forget(id_);
    if (greeted_ && server_.metrics() != nullptr) server_.metrics()->lane_closed(kTransport);
  }

  auto& lowest() {
    if constexpr (kTls) return socket_.lowest_layer();
    else return socket_;
  }

  // One timer per session, re-armed only when a deadline comes sooner than it is set for: the
  // request path just moves deadline_ (the idle limit moves later with every request but a
  // ping), so a request costs no timer operation. When it fires early, it waits again for the
  // later deadline.
  void set_deadline(Clock::time_point at) {
    deadline_ = at;
    if (watchdog_armed_ && watchdog_at_ <= at) return;
    const std::uint64_t generation = ++timer_generation_;
    watchdog_armed_ = true;
    watchdog_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait([self = this->shared_from_this(), generation](boost::system::error_code ec) {
      if (ec || generation != self->timer_generation_ || self->closed_) return;
      self->watchdog_armed_ = false;
      if (Clock::now() < self->deadline_) return self->set_deadline(self->deadline_);
      // Answers still owed: the session waits on the daemon, not the peer. Reading resumes with
      // a fresh deadline once they are sent (resume_reading).
      if (self->reading_paused_ || self->in_flight_ > 0)
        return self->set_deadline(Clock::now() + std::chrono::seconds(self->server_.config().idle_timeout_s));
      REGULARS_LOG(debug, "connection timed out", ({{"session", self->id_}}));
      self->shutdown();
    });
  }

  // Until hello is accepted, the hello deadline (see start). After, the idle limit counts from
  // the last request that was not a ping: pings alone do not keep a connection slot for ever
  // (the plugin reconnects by itself when it needs the daemon again). A frame, once begun, must
  // arrive whole promptly.
  Clock::time_point read_deadline() const {
    const bool partial_frame = inbox_.size() > inbox_start_;
    const Clock::time_point waiting = greeted_ ? last_work_ + std::chrono::seconds(server_.config().idle_timeout_s) : hello_deadline_;
    return partial_frame ? std::min(waiting, frame_started_ + std::chrono::seconds(30)) : waiting;
  }

  // Requests are read in chunks into inbox_, and every whole frame there is handled before the
  // next read: one read per request, or fewer when a till sends several at once.
  void do_read() {
    if (closed_ || close_after_write_ || reading_) return;
    for (;;) {
      // Back-pressure: too many requests in flight, or answers the peer is not reading.
      if (in_flight_ >= server_.config().max_in_flight || queued_bytes_ > kMaxQueuedBytes) {
        reading_paused_ = true;  // resumed once answers drain (resume_reading)
        return;
      }
      std::optional<std::string> frame = next_frame();
      if (!frame) break;
      handle_frame(std::move(*frame));
      if (closed_ || close_after_write_) return;
    }
    if (closed_ || close_after_write_) return;
    // What was handled goes before the next read: a till that pipelines its requests may never
    // leave the buffer on a frame boundary.
    inbox_.erase(0, inbox_start_);
    inbox_start_ = 0;
    set_deadline(read_deadline());
    reading_ = true;
    socket_.async_read_some(asio::buffer(chunk_), [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
      self->reading_ = false;
      if (ec) return self->shutdown();  // peer closed, or a frame cut short
      if (self->inbox_.size() == self->inbox_start_) self->frame_started_ = Clock::now();
      self->inbox_.append(self->chunk_.data(), n);
      self->do_read();
    });
  }

  // The next whole frame's payload in inbox_, if there is one. A bad length is answered, and the
  // connection closes after the answer: the stream cannot be resynchronised.
  std::optional<std::string> next_frame() {
    const std::size_t available = inbox_.size() - inbox_start_;
    if (available < wire::kFrameHeaderBytes) return std::nullopt;
    const auto* header = reinterpret_cast<const unsigned char*>(inbox_.data() + inbox_start_);
    const std::uint32_t length = wire::decode_length(header);
    // Before hello, only a hello-sized frame: nobody unauthenticated gets a megabyte parsed.
    const std::uint32_t limit = greeted_ ? server_.config().max_frame_bytes : std::min<std::uint32_t>(server_.config().max_frame_bytes, kMaxHelloBytes);
    if (auto err = wire::check_frame_length(length, limit)) {
      REGULARS_LOG_LIMITED(warn, "refused frame", ({{"session", id_}, {"reason", wire::to_string(err->code)}, {"length", length}}));
      close_after_write_ = true;
      send(error_response(nullptr, *err));
      return std::nullopt;
    }
    if (available < wire::kFrameHeaderBytes + length) return std::nullopt;
    std::string payload = inbox_.substr(inbox_start_ + wire::kFrameHeaderBytes, length);
    inbox_start_ += wire::kFrameHeaderBytes + length;
    if (inbox_start_ == inbox_.size()) {
      inbox_.clear();
      inbox_start_ = 0;
    } else {
      frame_started_ = Clock::now();  // the next frame has begun
    }
    return payload;
  }

  void handle_frame(std::string payload) {
    try {
      handle(std::move(payload));
    } catch (const std::exception& e) {
      // Nothing a client sends may take the daemon down; the request gets a typed error.
      REGULARS_LOG_LIMITED(err, "request failed", ({{"session", id_}, {"error", e.what()}}));
      send(error_response(nullptr, wire::ErrorCode::internal, "", "regularsd could not handle the request; see its log"));
    }
  }

  void handle(std::string payload) {
    const auto started = std::chrono::steady_clock::now();
    // Before hello, any error ends the connection (below, each refusal of a greeted peer keeps it).
    if (!greeted_) close_after_write_ = true;
    auto parsed = wire::parse_json(payload, server_.config().max_depth);
    if (auto* err = std::get_if<wire::Error>(&parsed)) return send(error_response(nullptr, *err));
    json& req = std::get<json>(parsed);
    if (!req.is_object()) return send(error_response(nullptr, wire::ErrorCode::invalid_request, "", "a request must be a JSON object"));
    const auto id_it = req.find("id");
    if (id_it == req.end() || !(id_it->is_number_unsigned() || id_it->is_string()))
      return send(error_response(nullptr, wire::ErrorCode::invalid_request, "id",
                                 "every request needs an \"id\" (a non-negative integer or a string)"));
    const json id = *id_it;
    const auto op_it = req.find("op");
    if (op_it == req.end() || !op_it->is_string())
      return send(error_response(id, wire::ErrorCode::invalid_request, "op", "is required: one of " + known_ops()));
    const std::string op = op_it->get<std::string>();
    if (!admitted(id, op)) return;
    if (op != "ping") last_work_ = Clock::now();
    try {
      dispatch(id, op, req, started);
    } catch (const std::exception& e) {
      REGULARS_LOG_LIMITED(err, "request failed", ({{"session", id_}, {"op", op}, {"error", e.what()}}));
      send(error_response(id, wire::ErrorCode::internal, "", "regularsd could not complete the request; see its log"));
    }
  }

  // Whether this peer may send `op` now; if not, the refusal is sent and the connection ends.
  bool admitted(const json& id, const std::string& op) {
    auto refuse = [&](wire::ErrorCode code, const char* field, std::string message) {
      close_after_write_ = true;
      send(error_response(id, code, field, std::move(message)));
      return false;
    };
    if (!allowed_)
      return refuse(wire::ErrorCode::denied, "", "this user may not use regularsd: add it to the tills' group (listen.group)");
    if (!greeted_ && op != "hello")
      return refuse(wire::ErrorCode::handshake_required, "op", "the first request on a connection must be hello");
    // A revoked lane token stops working at once, also on connections opened before.
    if (!token_id_.empty() && !server_.tokens()->still_valid(token_id_))
      return refuse(wire::ErrorCode::denied, "token",
                    "this lane's token was revoked; ask the store owner for a new one (regularsctl tokens issue)");
    return true;
  }

  void dispatch(const json& id, const std::string& op, json& req, std::chrono::steady_clock::time_point started) {
    if (const auto* command = owner::find_command(op)) return on_owner_command(id, *command, req);
    if (auto err = check_request_keys(req, op)) return send(error_response(id, *err));
    if (op == "hello") return on_hello(id, req);
    if (op == "ping") return send(ok_response(id, json::object()));
    if (op == "record") return on_record(id, req);
    if (op == "hints") return on_hints(id, req, started);
    send(error_response(id, wire::ErrorCode::unknown_op, "op", "unknown op '" + op.substr(0, 32) + "'; known: " + known_ops()));
  }

  void on_hello(const json& id, const json& req) {
    const auto p = req.find("protocol");
    if (p == req.end() || !p->is_number_integer() || p->get<std::int64_t>() != wire::kProtocolVersion) {
      close_after_write_ = true;
      return send(error_response(id, wire::ErrorCode::unsupported_version, "protocol",
                                 "this regularsd speaks protocol " + std::to_string(wire::kProtocolVersion)));
    }
    if constexpr (kTls) {
      // Over the network, the lane's token is who it is.
      const auto t = req.find("token");
      const auto lane = t != req.end() && t->is_string() ? server_.tokens()->check(t->get<std::string>()) : std::nullopt;
      if (!lane) {
        close_after_write_ = true;
        REGULARS_LOG_LIMITED(warn, "lane refused: no valid token", ({{"session", id_}, {"token_given", t != req.end()}}));
        return send(error_response(id, wire::ErrorCode::denied, "token",
                                   t == req.end() ? "a lane connecting over TLS must present its token (plugin option \"token\")"
                                                  : "this token is not valid: it was mistyped or revoked; ask the store owner for "
                                                    "one (regularsctl tokens issue --terminal NAME)"));
      }
      token_id_ = lane->token_id;
      server_.authenticated(id_);
      REGULARS_LOG_LIMITED(info, "lane connected", ({{"session", id_}, {"token_id", token_id_}, {"terminal", lane->terminal}}));
    }
    if (!greeted_ && server_.metrics() != nullptr) server_.metrics()->lane_greeted(kTransport);
    greeted_ = true;
    last_work_ = Clock::now();
    close_after_write_ = false;  // set for every request before hello (see handle)
    send(ok_response(id, till::hello_answer(server_.till())));
  }

  // The owner's commands (owner/commands.hpp) run on the owner pool; the answer comes back to
  // this session's strand.
  void on_owner_command(const json& id, const owner::Command& command, const json& req) {
    json args = json::object();
    for (const auto& [k, v] : req.items())
      if (k != "id" && k != "op") args[k] = v;
    ++in_flight_;
    server_.owner_commands().run(command, caller(), std::move(args), [self = this->shared_from_this(), id](owner::Result r) {
      asio::post(self->socket_.get_executor(), [self, id, r = std::move(r)] {
        --self->in_flight_;
        self->send_result(id, r);
        self->resume_reading();
      });
    });
  }

  // Who is asking, for the owner commands: a lane over TLS is a till; on the socket, the peer's
  // user decides.
  owner::Caller caller() const {
    if (!token_id_.empty()) return {owner::Caller::Role::till, "token:" + token_id_};
    return {owner_ ? owner::Caller::Role::owner : owner::Caller::Role::till, "uid:" + std::to_string(peer_uid_)};
  }

  void on_record(const json& id, const json& req) {
    // Tills seal exactly the events they spooled, so a sealed record is a replay from a spool.
    const bool from_spool = req.contains("sealed");
    auto record = till::read_record(server_.till(), req, owner_);
    if (auto* err = std::get_if<wire::Error>(&record)) {
      count_record(RecordOutcome::invalid, from_spool);
      return send(error_response(id, *err));
    }
    ++in_flight_;
    till::store_record(server_.till(), std::get<till::Record>(std::move(record)), [self = this->shared_from_this(), id,
                                                                                    from_spool](till::Result r) {
      self->count_record(record_outcome(r), from_spool);
      // On the syncer thread, after the flush: hop back to the session's strand.
      asio::post(self->socket_.get_executor(), [self, id, r = std::move(r)] {
        --self->in_flight_;
        self->send_result(id, r);
        self->resume_reading();
      });
    });
  }

  // A stored record's answer: content the store refused is the till's to fix; anything else
  // (disk, flush, shutdown) is a failure it retries.
  static RecordOutcome record_outcome(const till::Result& r) {
    if (const auto* err = std::get_if<wire::Error>(&r))
      return err->code == wire::ErrorCode::invalid_event ? RecordOutcome::invalid : RecordOutcome::failed;
    return std::get<json>(r).value("duplicate", false) ? RecordOutcome::duplicate : RecordOutcome::stored;
  }

  void count_record(RecordOutcome outcome, bool from_spool) {
    if (server_.metrics() != nullptr) server_.metrics()->record_answered(outcome, from_spool);
  }

  void send_result(const json& id, const std::variant<json, wire::Error>& r) {
    if (const auto* err = std::get_if<wire::Error>(&r)) return send(error_response(id, *err));
    // The result serialised once, in the envelope the plugin passes through (wire/response.hpp).
    send_text(wire::ok_response_text(wire::dump_json(id), wire::dump_json(std::get<json>(r))));
  }

  void on_hints(const json& id, const json& req, std::chrono::steady_clock::time_point started) {
    const auto answer = till::answer_hints(server_.till(), req);
    const auto took = std::chrono::steady_clock::now() - started;
    if (server_.metrics() != nullptr) server_.metrics()->hints_answered(took);
    REGULARS_LOG(debug, "hints", ({{"session", id_},
                                   {"ok", std::holds_alternative<json>(answer)},
                                   {"us", std::chrono::duration_cast<std::chrono::microseconds>(took).count()}}));
    send_result(id, answer);
  }

  void send(const json& response) {
    if (closed_) return;
    if (const auto err = response.find("error"); err != response.end() && server_.metrics() != nullptr)
      server_.metrics()->error_answered(wire::error_code_from_string(err->at("code").get_ref<const std::string&>()));
    send_text(wire::dump_json(response));
  }

  void send_text(std::string_view payload) {
    if (closed_) return;
    std::string frame = wire::encode_frame(payload);
    queued_bytes_ += frame.size();
    write_queue_.push_back(std::move(frame));
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(write_queue_.front()),
                      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->queued_bytes_ -= self->write_queue_.front().size();
                        self->write_queue_.pop_front();
                        if (ec) return self->shutdown();
                        if (self->queued_bytes_ <= kMaxQueuedBytes / 2) self->resume_reading();
                        if (!self->write_queue_.empty()) return self->do_write();
                        self->writing_ = false;
                        if (self->close_after_write_) self->shutdown();
                      });
  }

  // Reading stopped for back-pressure starts again (do_read stops it again if need be).
  void resume_reading() {
    if (!reading_paused_) return;
    reading_paused_ = false;
    // A frame begun before the pause gets its time again: the daemon was not reading it.
    if (inbox_.size() > inbox_start_) frame_started_ = Clock::now();
    do_read();
  }

  // Answers queued for a peer that does not read them stop the reading of its requests.
  static constexpr std::size_t kMaxQueuedBytes = 8u << 20;
  static constexpr std::uint32_t kMaxHelloBytes = 16u << 10;

  Stream socket_;
  asio::steady_timer timer_;
  TillServer::Impl& server_;
  std::uint64_t id_;
  std::array<char, 16u << 10> chunk_{};  // one read
  std::string inbox_;                     // bytes read and not yet handled, from inbox_start_
  std::size_t inbox_start_ = 0;
  Clock::time_point frame_started_;       // when the frame at inbox_start_ began to arrive
  bool reading_ = false;                  // a read is outstanding
  std::deque<std::string> write_queue_;
  std::uint64_t timer_generation_ = 0;    // the watchdog's wait that counts (set_deadline)
  bool watchdog_armed_ = false;
  Clock::time_point watchdog_at_, deadline_;
  Clock::time_point hello_deadline_;  // see start
  Clock::time_point last_work_;       // hello, or the last request that was not a ping
  int in_flight_ = 0;
  bool writing_ = false;
  bool reading_paused_ = false;
  std::size_t queued_bytes_ = 0;  // bytes in write_queue_
  bool greeted_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
  bool owner_ = false;  // the peer runs as regularsd's user (or root)
  bool allowed_ = true;  // the peer passed the listen.group check
  uid_t peer_uid_ = 0;
  std::string token_id_;  // over TLS: the lane token the hello presented
};

TillServer::Impl::Impl(IoPool& io, const Config& config, till::Services& till, owner::CommandRunner& owner_commands,
               LaneTokens* tokens, Metrics* metrics)
    : io_(io), config_(config), till_(till), owner_commands_(owner_commands), tokens_(tokens), metrics_(metrics),
      acceptor_(asio::make_strand(io.main())), accept_retry_(acceptor_.get_executor()) {}

TillServer::Impl::~Impl() { close_all(); }

void TillServer::Impl::start() {
  // TLS first: once the Unix socket answers, everything is listening (tls.endpoint written).
  if (config_.tls_enabled) start_tls();
  const std::string& path = config_.socket_path;
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error(path + " exists and is not a socket; move it away or choose another listen.socket");
    local::socket probe(io_.main());
    boost::system::error_code ec;
    probe.connect(local::endpoint(path), ec);
    if (!ec) throw std::runtime_error("another regularsd is already listening on " + path);
    ::unlink(path.c_str());  // stale: left by a daemon that did not shut down cleanly
  }
  const mode_t old = ::umask(0777 & ~config_.socket_mode);
  acceptor_.open(local());
  acceptor_.bind(local::endpoint(path));
  ::umask(old);
  ::chmod(path.c_str(), config_.socket_mode);
  if (!config_.socket_group.empty()) {
    group buf{};
    group* found = nullptr;
    std::vector<char> scratch(16384);
    if (::getgrnam_r(config_.socket_group.c_str(), &buf, scratch.data(), scratch.size(), &found) != 0 || found == nullptr)
      throw std::runtime_error("listen.group: there is no group '" + config_.socket_group + "' on this machine; create it or fix the config");
    socket_gid_ = found->gr_gid;
    if (::chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0)
      throw std::runtime_error("cannot give " + path + " to group " + config_.socket_group + ": " + std::strerror(errno));
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
  {
    std::lock_guard lock(mu_);
    accepting_ = true;
  }
  do_accept();
  if (tls_acceptor_) do_accept_tls();
}

void TillServer::Impl::start_tls() {
  if (tokens_ == nullptr) throw std::logic_error("listen.tls needs the lane tokens");
  // TLS 1.2 at least, the server's certificate and key from the config; lanes authenticate with
  // their token in hello, not with client certificates.
  tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  tls_context_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                            asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                            asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  for (const auto& [setting, file] : {std::pair{"listen.tls.cert", config_.tls_cert}, std::pair{"listen.tls.key", config_.tls_key}})
    if (::access(file.c_str(), R_OK) != 0)
      throw std::runtime_error(std::string(setting) + ": cannot read " + file + " (" + std::strerror(errno) +
                               "); make the files with packaging/make-tls.sh and let regularsd's user read them");
  boost::system::error_code ec;
  tls_context_->use_certificate_chain_file(config_.tls_cert, ec);
  if (ec)
    throw std::runtime_error("listen.tls.cert: " + config_.tls_cert + " is not a PEM certificate (" + ec.message() + ")");
  tls_context_->use_private_key_file(config_.tls_key, asio::ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("listen.tls.key: " + config_.tls_key + " is not the PEM private key of listen.tls.cert (" +
                             ec.message() + ")");
  const auto address = asio::ip::make_address(config_.tls_address, ec);
  if (ec) throw std::runtime_error("listen.tls.address: '" + config_.tls_address + "' is not an IP address");
  tls_acceptor_ = std::make_unique<tcp::acceptor>(asio::make_strand(io_.main()));
  tls_accept_retry_ = std::make_unique<asio::steady_timer>(tls_acceptor_->get_executor());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(config_.tls_port));
  tls_acceptor_->open(endpoint.protocol());
  tls_acceptor_->set_option(asio::socket_base::reuse_address(true));
  tls_acceptor_->bind(endpoint, ec);
  if (ec)
    throw std::runtime_error("listen.tls: cannot listen on " + config_.tls_address + ":" + std::to_string(config_.tls_port) +
                             " (" + ec.message() + ")");
  tls_acceptor_->listen(asio::socket_base::max_listen_connections);
  tls_port_ = tls_acceptor_->local_endpoint().port();
  // Where lanes (and tests) find the port when the config says 0.
  const std::string file = config_.data_dir + "/tls.endpoint";
  {
    std::ofstream out(file + ".tmp");
    out << "tls:" << (address.is_v6() ? "[" + config_.tls_address + "]" : config_.tls_address) << ":" << tls_port_ << "\n";
    if (!out) throw std::runtime_error("cannot write " + file);
  }
  if (std::rename((file + ".tmp").c_str(), file.c_str()) != 0) throw std::runtime_error("cannot write " + file);
}

void TillServer::Impl::do_accept_tls() {
  tls_acceptor_->async_accept(asio::any_io_executor(io_.next().get_executor()), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      REGULARS_LOG_LIMITED(warn, "accept failed", ({{"error", ec.message()}, {"listener", "tls"}}));
      return retry_accept_later(*tls_accept_retry_, &Impl::do_accept_tls);
    }
    boost::system::error_code peer_ec;
    const std::string address = socket.remote_endpoint(peer_ec).address().to_string();
    std::shared_ptr<Session<TlsStream>> session;
    const char* refusal = nullptr;
    {
      std::lock_guard lock(mu_);
      refusal = peer_ec ? "the peer left" : refusal_tls(address);
      if (refusal == nullptr) {
        socket.set_option(tcp::no_delay(true), ec);
        const std::uint64_t id = next_session_++;
        session = std::make_shared<Session<TlsStream>>(std::move(socket), *tls_context_, *this, id);
        sessions_.emplace(id, Slot{session, true, false, -1, address});
        ++tls_sessions_;
        ++tls_unauthenticated_;
        ++unauthenticated_per_address_[address];
      }
    }
    if (refusal != nullptr) {
      REGULARS_LOG_LIMITED(warn, "TLS connection refused", ({{"reason", refusal}, {"address", address}}));
      boost::system::error_code ignore;
      socket.close(ignore);
    }
    if (session) session->start();
    std::lock_guard lock(mu_);
    if (accepting_) do_accept_tls();
  });
}

// Lanes over the network have their own limit, so however many connect, the tills and the owner
// on the socket keep theirs. Of it, connections without a valid token yet get only a part, and
// one address only a part of that: a peer that opens handshakes and never finishes them cannot
// keep a lane with its token out.
const char* TillServer::Impl::refusal_tls(const std::string& address) const {
  if (tls_sessions_ >= config_.tls_max_connections) return "too many TLS connections (listen.tls.max_connections)";
  if (tls_unauthenticated_ >= config_.tls_max_unauthenticated)
    return "too many TLS connections without a valid token yet (listen.tls.max_unauthenticated)";
  const auto it = unauthenticated_per_address_.find(address);
  if (it != unauthenticated_per_address_.end() && it->second >= config_.tls_max_unauthenticated_per_address)
    return "too many TLS connections without a valid token from this address (listen.tls.max_unauthenticated_per_address)";
  return nullptr;
}

// On the socket: one user (a till's account, or anyone in the tills' group) holds at most its
// share, and the last few slots are the owner's, so regularsctl works whatever the tills do.
const char* TillServer::Impl::refusal_unix(long long uid) const {
  if (unix_sessions_ >= config_.max_connections) return "too many connections (limits.max_connections)";
  if (uid < 0) return nullptr;  // the owner
  if (unix_sessions_ >= std::max(1, config_.max_connections - config_.reserved_for_owner))
    return "the remaining connections are kept for the owner (limits.reserved_for_owner)";
  const auto it = per_uid_.find(uid);
  if (it != per_uid_.end() && it->second >= config_.max_connections_per_uid)
    return "too many connections from this user (limits.max_connections_per_uid)";
  return nullptr;
}

void TillServer::Impl::retry_accept_later(asio::steady_timer& timer, void (Impl::*again)()) {
  timer.expires_after(kAcceptRetry);
  timer.async_wait([this, again](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the server stopped accepting
    std::lock_guard lock(mu_);
    if (accepting_) (this->*again)();
  });
}

void TillServer::Impl::revoke_sessions(const std::string& token_id) {
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [_, slot] : sessions_)
      if (auto s = slot.session.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->revoke(token_id);
}

void TillServer::Impl::do_accept() {
  acceptor_.async_accept(asio::any_io_executor(io_.next().get_executor()), [this](boost::system::error_code ec, local::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      REGULARS_LOG_LIMITED(warn, "accept failed", ({{"error", ec.message()}, {"listener", "unix"}}));
      return retry_accept_later(accept_retry_, &Impl::do_accept);
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    const bool known = ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
    // regularsd's user and root are the owner (-1); peers of unknown credentials share one count.
    const long long uid = !known ? kUnknownUid : cred.uid == ::geteuid() || cred.uid == 0 ? -1 : static_cast<long long>(cred.uid);
    std::shared_ptr<Session<local::socket>> session;
    const char* refusal = nullptr;
    {
      std::lock_guard lock(mu_);
      refusal = refusal_unix(uid);
      if (refusal == nullptr) {
        const std::uint64_t id = next_session_++;
        session = std::make_shared<Session<local::socket>>(std::move(socket), *this, id);
        sessions_.emplace(id, Slot{session, false, false, uid, {}});
        ++unix_sessions_;
        if (uid >= 0) ++per_uid_[uid];
      }
    }
    if (refusal != nullptr) {
      REGULARS_LOG_LIMITED(warn, "connection refused", ({{"reason", refusal}, {"uid", uid}}));
      boost::system::error_code ignore;
      socket.close(ignore);
    }
    if (session) session->start();
    std::lock_guard lock(mu_);
    if (accepting_) do_accept();
  });
}

void TillServer::Impl::stop_accepting() {
  // The acceptor belongs to its strand: close it there, and wait until that is done.
  std::promise<void> done;
  asio::post(acceptor_.get_executor(), [this, &done] {
    {
      std::lock_guard lock(mu_);
      if (accepting_) {
        accepting_ = false;
        boost::system::error_code ec;
        acceptor_.close(ec);
        accept_retry_.cancel();
        ::unlink(config_.socket_path.c_str());
      }
    }
    done.set_value();
  });
  done.get_future().wait();
  if (tls_acceptor_) {
    std::promise<void> tls_done;
    asio::post(tls_acceptor_->get_executor(), [this, &tls_done] {
      boost::system::error_code ec;
      tls_acceptor_->close(ec);
      tls_accept_retry_->cancel();
      tls_done.set_value();
    });
    tls_done.get_future().wait();
  }
}

void TillServer::Impl::close_all() {
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [_, slot] : sessions_)
      if (auto s = slot.session.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->close();
}

void TillServer::Impl::authenticated(std::uint64_t session_id) {
  std::lock_guard lock(mu_);
  const auto it = sessions_.find(session_id);
  if (it == sessions_.end() || !it->second.tls || it->second.authenticated) return;
  Slot& slot = it->second;
  --tls_unauthenticated_;
  if (--unauthenticated_per_address_[slot.address] == 0) unauthenticated_per_address_.erase(slot.address);
  slot.authenticated = true;
}

void TillServer::Impl::forget(std::uint64_t session_id) {
  std::lock_guard lock(mu_);
  const auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  const Slot& slot = it->second;
  if (slot.tls) {
    --tls_sessions_;
    if (!slot.authenticated) {
      --tls_unauthenticated_;
      if (--unauthenticated_per_address_[slot.address] == 0) unauthenticated_per_address_.erase(slot.address);
    }
  } else {
    --unix_sessions_;
    if (slot.uid >= 0 && --per_uid_[slot.uid] == 0) per_uid_.erase(slot.uid);
  }
  sessions_.erase(it);
}

TillServer::TillServer(IoPool& io, const Config& config, till::Services& till, owner::CommandRunner& owner_commands,
                       LaneTokens* tokens, Metrics* metrics)
    : impl_(std::make_unique<Impl>(io, config, till, owner_commands, tokens, metrics)) {}
TillServer::~TillServer() = default;
void TillServer::start() { impl_->start(); }
unsigned short TillServer::tls_port() const noexcept { return impl_->tls_port(); }
void TillServer::revoke_sessions(const std::string& token_id) { impl_->revoke_sessions(token_id); }
void TillServer::stop_accepting() { impl_->stop_accepting(); }
void TillServer::close_all() { impl_->close_all(); }

}  // namespace regulars::daemon
