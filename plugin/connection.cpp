#include "connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "wire/frame.hpp"
#include "wire/json_text.hpp"
#include "wire/response.hpp"

namespace regulars::plugin {

using nlohmann::json;

regulars_status status_for(wire::ErrorCode code) noexcept {
  using wire::ErrorCode;
  switch (code) {
    case ErrorCode::invalid_json:
    case ErrorCode::too_deep:
    case ErrorCode::invalid_request:
    case ErrorCode::invalid_event:
    case ErrorCode::card_number_refused:
    case ErrorCode::invalid_rule:
    case ErrorCode::frame_too_large:
    case ErrorCode::conflict: return REGULARS_INVALID_INPUT;
    case ErrorCode::not_found: return REGULARS_NOT_FOUND;
    case ErrorCode::denied: return REGULARS_DENIED;
    case ErrorCode::overloaded:
    case ErrorCode::shutting_down: return REGULARS_UNAVAILABLE;
    case ErrorCode::invalid_frame:
    case ErrorCode::unknown_op:
    case ErrorCode::handshake_required:
    case ErrorCode::unsupported_version: return REGULARS_PROTOCOL;
    case ErrorCode::internal: return REGULARS_INTERNAL;
  }
  return REGULARS_INTERNAL;
}

Connection::Connection(int fd, std::unique_ptr<tls::Channel> channel) : fd_(fd), channel_(std::move(channel)) {
  reader_ = std::thread([this] { read_loop(); });
}

Connection::~Connection() {
  shut_down();
  if (reader_.joinable()) reader_.join();
  channel_.reset();
  ::close(fd_);
}

namespace {

int connect_unix(const std::string& socket_path, CallResult& failure) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    failure.message = std::string("cannot create a socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), std::min(socket_path.size(), sizeof addr.sun_path - 1));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    failure.message = "regularsd is not reachable at " + socket_path + ": " + std::strerror(err) +
                      " (is regularsd running?)";
    return -1;
  }
  return fd;
}

// One asynchronous lookup (getaddrinfo_a) and what it writes into: these must outlive a lookup
// given up at its deadline, since the resolver's own thread may still be at work on it.
struct Lookup {
  std::string host;
  std::string service;
  addrinfo hints{};
  gaicb request{};
};

// Lookups given up before they finished, freed once they have (by a later resolve).
std::mutex g_abandoned_mu;
std::vector<Lookup*> g_abandoned;

void reap_abandoned() {
  std::lock_guard lock(g_abandoned_mu);
  std::erase_if(g_abandoned, [](Lookup* l) {
    if (::gai_error(&l->request) == EAI_INPROGRESS) return false;
    if (l->request.ar_result != nullptr) ::freeaddrinfo(l->request.ar_result);
    delete l;
    return true;
  });
}

// HOST:PORT's addresses, or nullptr (and `failure`) when the lookup fails or does not finish
// within the deadline. getaddrinfo has no time bound of its own (a DNS server that does not
// answer holds it for resolv.conf's timeout times its attempts, 10 s by default), so the lookup
// runs on the resolver's thread and is given up at the deadline.
addrinfo* resolve(const std::string& host, const std::string& service, Deadline deadline, CallResult& failure) {
  reap_abandoned();
  // An address (what lanes are advised to use) needs no lookup, and so no resolver thread.
  addrinfo numeric_hints{};
  numeric_hints.ai_family = AF_UNSPEC;
  numeric_hints.ai_socktype = SOCK_STREAM;
  numeric_hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* numeric = nullptr;
  if (::getaddrinfo(host.c_str(), service.c_str(), &numeric_hints, &numeric) == 0) return numeric;
  auto* l = new Lookup{host, service};
  l->hints.ai_family = AF_UNSPEC;
  l->hints.ai_socktype = SOCK_STREAM;
  l->request.ar_name = l->host.c_str();
  l->request.ar_service = l->service.c_str();
  l->request.ar_request = &l->hints;
  gaicb* list[] = {&l->request};
  int rc = ::getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr);
  if (rc == 0) {
    while ((rc = ::gai_error(&l->request)) == EAI_INPROGRESS) {
      const int ms = millis_left(deadline);
      if (ms <= 0) break;
      const timespec wait{ms / 1000, static_cast<long>(ms % 1000) * 1'000'000};
      ::gai_suspend(list, 1, &wait);
    }
  }
  if (rc == EAI_INPROGRESS && ::gai_cancel(&l->request) != EAI_CANCELED) {
    std::lock_guard lock(g_abandoned_mu);
    g_abandoned.push_back(l);  // still running: freed by a later resolve once it is done
  } else if (rc != 0) {
    if (rc == EAI_INPROGRESS && l->request.ar_result != nullptr) ::freeaddrinfo(l->request.ar_result);  // done meanwhile
    delete l;
  }
  if (rc == EAI_INPROGRESS) {
    failure.message = "cannot resolve " + host + " within the budget (a slow DNS server?); use an address, or a name in /etc/hosts";
    return nullptr;
  }
  if (rc != 0) {
    failure.message = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return nullptr;
  }
  addrinfo* found = l->request.ar_result;
  delete l;
  return found;
}

// A non-blocking TCP connection to HOST:PORT within the deadline, name lookup included.
int connect_tcp(const std::string& host, std::uint16_t port, Deadline deadline, CallResult& failure) {
  const std::string service = std::to_string(port);
  addrinfo* found = resolve(host, service, deadline, failure);
  if (found == nullptr) return -1;
  std::string last = "no address";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int err = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int pr = ::poll(&p, 1, millis_left(deadline));
      socklen_t len = sizeof err;
      if (pr <= 0) err = ETIMEDOUT;
      else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    if (err != 0) {
      last = std::strerror(err);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    failure.message = "regularsd is not reachable at " + host + ":" + service + ": " + last + " (is regularsd running with listen.tls?)";
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // small frames, answered at once
  return fd;
}

}  // namespace

std::shared_ptr<Connection> Connection::connect(const Options& options, const std::shared_ptr<tls::Context>& tls,
                                                Deadline deadline, CallResult& failure) {
  failure.status = REGULARS_UNAVAILABLE;
  if (!options.tls) {
    const int fd = connect_unix(options.socket_path, failure);
    return fd < 0 ? nullptr : std::shared_ptr<Connection>(new Connection(fd, nullptr));
  }
  const int fd = connect_tcp(options.host, options.port, deadline, failure);
  if (fd < 0) return nullptr;
  std::string why;
  auto channel = tls::Channel::connect(tls, fd, options.server_name, deadline, why);
  if (!channel) {
    ::close(fd);
    failure.message = "TLS with regularsd at " + options.host + ":" + std::to_string(options.port) + " failed: " + why;
    return nullptr;
  }
  return std::shared_ptr<Connection>(new Connection(fd, std::move(channel)));
}

CallResult Connection::handshake(const Options& options, Deadline deadline) {
  json hello = {{"op", "hello"}, {"protocol", wire::kProtocolVersion}, {"client", "libregulars/" REGULARS_VERSION_STRING}};
  if (!options.terminal.empty()) hello["terminal"] = options.terminal;
  if (options.tls) hello["token"] = options.token;  // only ever sent inside TLS
  CallResult r = call(std::move(hello), deadline);
  if (r.status != REGULARS_OK) {
    if (r.status == REGULARS_TIMEOUT) r.status = REGULARS_UNAVAILABLE;
    r.message = "handshake with regularsd failed: " + r.message;
    return r;
  }
  if (const auto f = r.result.find("features"); f != r.result.end() && f->is_array())
    for (const auto& feature : *f)
      if (feature == "hints.who") hints_take_who_ = true;
  if (const auto m = r.result.find("max_frame_bytes"); m != r.result.end() && m->is_number_unsigned())
    max_frame_bytes_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(m->get<std::uint64_t>(), 1u << 30));
  if (const auto k = r.result.find("spool_key"); k != r.result.end() && k->is_string())
    spool_key_ = seal::parse_public_key(k->get<std::string>());
  return r;
}

std::shared_ptr<Connection> Connection::open(const Options& options, const std::shared_ptr<tls::Context>& tls,
                                             Deadline deadline, CallResult& failure) {
  auto conn = connect(options, tls, deadline, failure);
  if (!conn) return nullptr;
  CallResult r = conn->handshake(options, deadline);
  if (r.status != REGULARS_OK) {
    failure = std::move(r);
    return nullptr;
  }
  return conn;
}

bool Connection::write_some(const char* data, std::size_t len, std::size_t& n, short& wait, std::string& why) {
  wait = 0;
  n = 0;
  if (channel_) {
    switch (channel_->write(data, len, n)) {
      case tls::Channel::Io::ok: return true;
      case tls::Channel::Io::want_read: wait = POLLIN; return true;
      case tls::Channel::Io::want_write: wait = POLLOUT; return true;
      case tls::Channel::Io::closed: why = "regularsd closed the connection"; return false;
      case tls::Channel::Io::failed: why = channel_->last_error(); return false;
    }
  }
  const ssize_t r = ::send(fd_, data, len, MSG_NOSIGNAL);
  if (r >= 0) {
    n = static_cast<std::size_t>(r);
    return true;
  }
  if (errno == EINTR) return true;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    wait = POLLOUT;
    return true;
  }
  why = std::string("write to regularsd failed: ") + std::strerror(errno);
  return false;
}

bool Connection::read_some(char* buf, std::size_t cap, std::size_t& n, short& wait, std::string& why) {
  wait = 0;
  n = 0;
  if (channel_) {
    switch (channel_->read(buf, cap, n)) {
      case tls::Channel::Io::ok: return true;
      case tls::Channel::Io::want_read: wait = POLLIN; return true;
      case tls::Channel::Io::want_write: wait = POLLOUT; return true;
      case tls::Channel::Io::closed: why = "regularsd closed the connection"; return false;
      case tls::Channel::Io::failed: why = channel_->last_error(); return false;
    }
  }
  const ssize_t r = ::recv(fd_, buf, cap, 0);
  if (r > 0) {
    n = static_cast<std::size_t>(r);
    wait = POLLIN;  // the kernel holds nothing more for us unless poll says so
    return true;
  }
  if (r == 0) {
    why = "regularsd closed the connection";
    return false;
  }
  if (errno == EINTR) return true;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    wait = POLLIN;
    return true;
  }
  why = std::string("read from regularsd failed: ") + std::strerror(errno);
  return false;
}

void Connection::shut_down() noexcept {
  if (!dead_.exchange(true)) ::shutdown(fd_, SHUT_RDWR);
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

void Connection::fail_all(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (death_reason_.empty()) death_reason_ = why;
  }
  shut_down();
}

std::uint64_t Connection::send(json request, Deadline deadline, CallResult& failure) {
  if (dead_.load()) {
    failure.status = REGULARS_UNAVAILABLE;
    failure.message = "connection to regularsd is closed";
    return 0;
  }
  const std::uint64_t id = next_id_.fetch_add(1);
  request["id"] = id;
  const std::string frame = wire::encode_frame(wire::dump_json(request));
  {
    std::lock_guard lock(mu_);
    pending_.emplace(id, std::nullopt);
  }
  auto forget = [&](regulars_status status, std::string message) {
    std::lock_guard lock(mu_);
    pending_.erase(id);
    failure.status = status;
    failure.message = std::move(message);
    return std::uint64_t{0};
  };
  {
    std::unique_lock gate(write_mu_);
    if (!write_cv_.wait_until(gate, deadline, [&] { return !writing_; }))
      return forget(REGULARS_TIMEOUT, "another call is still writing to regularsd");
    writing_ = true;
  }
  struct Release {
    Connection* c;
    ~Release() {
      {
        std::lock_guard gate(c->write_mu_);
        c->writing_ = false;
      }
      c->write_cv_.notify_one();
    }
  } release{this};
  std::size_t off = 0;
  while (off < frame.size()) {
    std::size_t n = 0;
    short wait = 0;
    std::string why;
    if (!write_some(frame.data() + off, frame.size() - off, n, wait, why)) {
      fail_all(why);
      return forget(REGULARS_UNAVAILABLE, "connection to regularsd was lost");
    }
    off += n;
    if (wait == 0) continue;
    pollfd p{fd_, wait, 0};
    if (::poll(&p, 1, millis_left(deadline)) > 0) continue;
    // A frame half-written cannot be taken back: the stream is unusable from here on.
    if (off > 0 || channel_) fail_all("a request could not be written within the time budget");
    return forget(REGULARS_TIMEOUT, "regularsd is not reading requests (time budget spent)");
  }
  return id;
}

CallResult Connection::await(std::uint64_t id, Deadline deadline, bool raw) {
  CallResult r;
  std::unique_lock lock(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    r.status = REGULARS_INTERNAL;
    r.message = "unknown request id";
    return r;
  }
  cv_.wait_until(lock, deadline, [&] { return it->second.has_value() || dead_.load(); });
  if (!it->second.has_value()) {
    pending_.erase(it);
    if (dead_.load()) {
      r.status = REGULARS_UNAVAILABLE;
      r.message = "connection to regularsd was lost" + (death_reason_.empty() ? "" : ": " + death_reason_);
    } else {
      r.status = REGULARS_TIMEOUT;
      r.message = "regularsd did not answer within the time budget";
    }
    return r;
  }
  const std::string text = std::move(*it->second);
  pending_.erase(it);
  lock.unlock();
  if (const auto ok = wire::split_ok_response(text)) return ok_result(ok->result, raw);
  return from_response(text, raw);
}

namespace {

CallResult malformed(std::string why) {
  CallResult r;
  r.status = REGULARS_INTERNAL;
  r.message = "regularsd sent a malformed answer: " + why;
  return r;
}

}  // namespace

// A result in the daemon's own envelope: checked as text for call_raw, parsed for call.
CallResult Connection::ok_result(std::string_view result, bool raw) {
  CallResult r;
  if (raw) {
    if (wire::json_nesting_depth(result, kMaxAnswerDepth) > kMaxAnswerDepth) return malformed("it nests too deep");
    if (result.front() != '{' || !json::accept(result.begin(), result.end())) return malformed("its result is not a JSON object");
    r.raw_result.assign(result);
  } else {
    auto parsed = wire::parse_json(result, kMaxAnswerDepth);
    if (auto* err = std::get_if<wire::Error>(&parsed)) return malformed(err->describe());
    r.result = std::move(std::get<json>(parsed));
  }
  r.status = REGULARS_OK;
  return r;
}

// Any other response: an error, or an answer spaced differently (parsed whole).
CallResult Connection::from_response(std::string_view text, bool raw) {
  CallResult r;
  auto parsed = wire::parse_json(text, kMaxAnswerDepth);
  auto* response = std::get_if<json>(&parsed);
  if (response == nullptr || !response->is_object()) return malformed("it is not a JSON object");
  const auto ok = response->find("ok");
  if (ok != response->end() && ok->is_boolean() && ok->get<bool>()) {
    r.status = REGULARS_OK;
    if (auto res = response->find("result"); res != response->end()) {
      if (raw && !res->is_object()) return malformed("its result is not a JSON object");
      if (raw) r.raw_result = wire::dump_json(*res);
      else r.result = std::move(*res);
    }
    return r;
  }
  wire::Error err{wire::ErrorCode::internal, "", "regularsd sent an error without details"};
  if (auto e = response->find("error"); e != response->end() && e->is_object()) {
    if (auto c = e->find("code"); c != e->end() && c->is_string()) err.code = wire::error_code_from_string(c->get<std::string>());
    if (auto f = e->find("field"); f != e->end() && f->is_string()) err.field = f->get<std::string>();
    if (auto m = e->find("message"); m != e->end() && m->is_string()) err.message = m->get<std::string>();
  }
  r.status = status_for(err.code);
  r.message = err.describe();
  r.error = std::move(err);
  return r;
}

CallResult Connection::call(json request, Deadline deadline) {
  CallResult failure;
  const std::uint64_t id = send(std::move(request), deadline, failure);
  if (id == 0) return failure;
  return await(id, deadline);
}

CallResult Connection::call_raw(json request, Deadline deadline) {
  CallResult failure;
  const std::uint64_t id = send(std::move(request), deadline, failure);
  if (id == 0) return failure;
  return await(id, deadline, true);
}

// The request id of a response other than a plain answer; false (and the connection failed)
// for text that is no response, or an error about the stream itself.
bool Connection::response_id(const std::string& payload, std::uint64_t& id) {
  auto parsed = wire::parse_json(payload, kMaxAnswerDepth);
  auto* j = std::get_if<json>(&parsed);
  if (j == nullptr || !j->is_object()) {
    fail_all("regularsd sent a response that is not a JSON object");
    return false;
  }
  const auto id_it = j->find("id");
  if (id_it == j->end() || !id_it->is_number_unsigned()) {
    // An error about the stream itself (no request id): the daemon closes after it.
    std::string refused = "regularsd refused the stream";
    if (auto e = j->find("error"); e != j->end() && e->is_object() && e->contains("message") && (*e)["message"].is_string())
      refused += ": " + (*e)["message"].get<std::string>();
    fail_all(refused);
    return false;
  }
  id = id_it->get<std::uint64_t>();
  return true;
}

void Connection::read_loop() {
  wire::FrameDecoder decoder(64u << 20);  // answers may be larger than requests
  char buf[64 * 1024];
  short wait = POLLIN;
  while (!dead_.load()) {
    if (wait != 0) {
      pollfd p{fd_, wait, 0};
      const int pr = ::poll(&p, 1, -1);
      if (pr < 0 && errno == EINTR) continue;
      if (pr < 0) return fail_all("poll failed");
      if (dead_.load()) return;
    }
    std::size_t n = 0;
    std::string why;
    if (!read_some(buf, sizeof buf, n, wait, why)) return fail_all(why);
    if (n == 0) continue;  // nothing yet: wait as told (TLS may have read a record that held no data)
    decoder.feed(buf, n);
    while (auto payload = decoder.next()) {
      std::uint64_t id = 0;
      if (const auto ok = wire::split_ok_response(*payload)) id = ok->id;
      else if (!response_id(*payload, id)) return;  // the connection has failed
      std::lock_guard lock(mu_);
      if (auto it = pending_.find(id); it != pending_.end()) {
        it->second = std::move(*payload);  // the caller reads it: this thread only routes
        cv_.notify_all();
      }  // else: the caller gave up (time budget); the late answer is dropped.
    }
    if (decoder.failed()) return fail_all("regularsd sent a malformed frame");
  }
}

}  // namespace regulars::plugin
