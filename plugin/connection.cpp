#include "connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wire/frame.hpp"
#include "wire/json_text.hpp"

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
    case ErrorCode::frame_too_large: return REGULARS_INVALID_INPUT;
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

Connection::Connection(int fd) : fd_(fd) { reader_ = std::thread([this] { read_loop(); }); }

Connection::~Connection() {
  shut_down();
  if (reader_.joinable()) reader_.join();
  ::close(fd_);
}

std::shared_ptr<Connection> Connection::connect(const std::string& socket_path, CallResult& failure) {
  failure.status = REGULARS_UNAVAILABLE;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    failure.message = std::string("cannot create a socket: ") + std::strerror(errno);
    return nullptr;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), std::min(socket_path.size(), sizeof addr.sun_path - 1));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    failure.message = "regularsd is not reachable at " + socket_path + ": " + std::strerror(err) +
                      " (is regularsd running?)";
    return nullptr;
  }
  return std::shared_ptr<Connection>(new Connection(fd));
}

CallResult Connection::handshake(const std::string& terminal, Deadline deadline) {
  json hello = {{"op", "hello"}, {"protocol", wire::kProtocolVersion}, {"client", "libregulars/" REGULARS_VERSION_STRING}};
  if (!terminal.empty()) hello["terminal"] = terminal;
  CallResult r = call(std::move(hello), deadline);
  if (r.status != REGULARS_OK) {
    if (r.status == REGULARS_TIMEOUT) r.status = REGULARS_UNAVAILABLE;
    r.message = "handshake with regularsd failed: " + r.message;
    return r;
  }
  if (const auto f = r.result.find("features"); f != r.result.end() && f->is_array())
    for (const auto& feature : *f)
      if (feature == "hints.who") hints_take_who_ = true;
  return r;
}

std::shared_ptr<Connection> Connection::open(const std::string& socket_path, const std::string& terminal,
                                             Deadline deadline, CallResult& failure) {
  auto conn = connect(socket_path, failure);
  if (!conn) return nullptr;
  CallResult r = conn->handshake(terminal, deadline);
  if (r.status != REGULARS_OK) {
    failure = std::move(r);
    return nullptr;
  }
  return conn;
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
    const ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, millis_left(deadline)) > 0) continue;
      // A frame half-written cannot be taken back: the stream is unusable from here on.
      if (off > 0) fail_all("a request could not be written within the time budget");
      return forget(REGULARS_TIMEOUT, "regularsd is not reading requests (time budget spent)");
    }
    fail_all(std::string("write to regularsd failed: ") + std::strerror(errno));
    return forget(REGULARS_UNAVAILABLE, "connection to regularsd was lost");
  }
  return id;
}

CallResult Connection::await(std::uint64_t id, Deadline deadline) {
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
  json response = std::move(*it->second);
  pending_.erase(it);
  lock.unlock();

  const auto ok = response.find("ok");
  if (ok != response.end() && ok->is_boolean() && ok->get<bool>()) {
    r.status = REGULARS_OK;
    if (auto res = response.find("result"); res != response.end()) r.result = std::move(*res);
    return r;
  }
  wire::Error err{wire::ErrorCode::internal, "", "regularsd sent an error without details"};
  if (auto e = response.find("error"); e != response.end() && e->is_object()) {
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

void Connection::read_loop() {
  wire::FrameDecoder decoder(64u << 20);  // answers may be larger than requests
  char buf[64 * 1024];
  while (!dead_.load()) {
    pollfd p{fd_, POLLIN, 0};
    const int pr = ::poll(&p, 1, -1);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return fail_all("poll failed");
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return fail_all("regularsd closed the connection");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return fail_all(std::string("read from regularsd failed: ") + std::strerror(errno));
    }
    decoder.feed(buf, static_cast<std::size_t>(n));
    while (auto payload = decoder.next()) {
      auto parsed = wire::parse_json(*payload, 64);
      auto* j = std::get_if<json>(&parsed);
      if (j == nullptr || !j->is_object()) return fail_all("regularsd sent a response that is not a JSON object");
      const auto id_it = j->find("id");
      if (id_it == j->end() || !id_it->is_number_unsigned()) {
        // An error about the stream itself (no request id): the daemon closes after it.
        std::string why = "regularsd refused the stream";
        if (auto e = j->find("error"); e != j->end() && e->is_object() && e->contains("message") &&
                                       (*e)["message"].is_string())
          why += ": " + (*e)["message"].get<std::string>();
        return fail_all(why);
      }
      const auto id = id_it->get<std::uint64_t>();
      std::lock_guard lock(mu_);
      if (auto it = pending_.find(id); it != pending_.end()) {
        it->second = std::move(*j);
        cv_.notify_all();
      }  // else: the caller gave up (time budget); the late answer is dropped.
    }
    if (decoder.failed()) return fail_all("regularsd sent a malformed frame");
  }
}

}  // namespace regulars::plugin
