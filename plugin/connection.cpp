#include "connection.hpp"

#include <mutex>
#include <thread>

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

Connection::Connection(net::Socket fd, std::unique_ptr<tls::Channel> channel) : fd_(fd), channel_(std::move(channel)) {}

Connection::~Connection() {
  shut_down();
  channel_.reset();
  net::close_socket(fd_);
}

std::shared_ptr<Connection> Connection::connect(const Options& options, const std::shared_ptr<tls::Context>& tls,
                                                Deadline deadline, CallResult& failure) {
  std::shared_ptr<Connection> conn = connect_stream(options, tls, deadline, failure);
  // Here, not in open(): the client's background thread reconnects through connect() too.
  if (conn) conn->spin_ = std::chrono::microseconds(options.wait_spin_us);
  return conn;
}

std::shared_ptr<Connection> Connection::connect_stream(const Options& options, const std::shared_ptr<tls::Context>& tls,
                                                       Deadline deadline, CallResult& failure) {
  failure.status = REGULARS_UNAVAILABLE;
  if (!options.tls) {
    const net::Socket fd = net::connect_unix(options.socket_path, failure.message);
    return fd == net::kNoSocket ? nullptr : std::shared_ptr<Connection>(new Connection(fd, nullptr));
  }
  const net::Socket fd = net::connect_tcp(options.host, options.port, deadline, failure.message);
  if (fd == net::kNoSocket) return nullptr;
  std::string why;
  auto channel = tls::Channel::connect(tls, fd, options.server_name, deadline, why);
  if (!channel) {
    net::close_socket(fd);
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
  if (const auto k = r.result.find(seal::kHelloKeyField); k != r.result.end() && k->is_string())
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

namespace {

// What a TLS channel's answer means for the connection: go on (waiting for `wait` first), or
// fail with `why`.
bool after_tls(tls::Channel::Io io, tls::Channel& channel, net::Want& wait, std::string& why) {
  switch (io) {
    case tls::Channel::Io::ok: return true;
    case tls::Channel::Io::want_read: wait = net::Want::read; return true;
    case tls::Channel::Io::want_write: wait = net::Want::write; return true;
    case tls::Channel::Io::closed: why = "regularsd closed the connection"; return false;
    case tls::Channel::Io::failed: why = channel.last_error(); return false;
  }
  return false;
}

}  // namespace

bool Connection::write_some(const char* data, std::size_t len, std::size_t& n, net::Want& wait, std::string& why) {
  wait = net::Want::nothing;
  n = 0;
  if (channel_) return after_tls(channel_->write(data, len, n), *channel_, wait, why);
  switch (net::send_some(fd_, data, len, n, why)) {
    case net::Io::ok: return true;
    case net::Io::would_block: wait = net::Want::write; return true;
    case net::Io::closed: why = "regularsd closed the connection"; return false;
    case net::Io::failed: return false;
  }
  return false;
}

bool Connection::read_some(char* buf, std::size_t cap, std::size_t& n, net::Want& wait, std::string& why) {
  wait = net::Want::nothing;
  n = 0;
  if (channel_) return after_tls(channel_->read(buf, cap, n), *channel_, wait, why);
  switch (net::recv_some(fd_, buf, cap, n, why)) {
    case net::Io::ok:
      // The kernel holds nothing more for us unless the wait says so.
      if (n > 0) wait = net::Want::read;
      return true;
    case net::Io::would_block: wait = net::Want::read; return true;
    case net::Io::closed: why = "regularsd closed the connection"; return false;
    case net::Io::failed: return false;
  }
  return false;
}

void Connection::shut_down() noexcept {
  if (!dead_.exchange(true)) net::shut_down(fd_);
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
    net::Want wait = net::Want::nothing;
    std::string why;
    if (!write_some(frame.data() + off, frame.size() - off, n, wait, why)) {
      fail_all(why);
      return forget(REGULARS_UNAVAILABLE, "connection to regularsd was lost");
    }
    off += n;
    if (wait == net::Want::nothing) continue;
    if (net::wait_until_ready(fd_, wait, millis_left(deadline)) > 0) continue;
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
  // The element stays put while other calls add theirs (an iterator would not survive a rehash).
  std::optional<std::string>& answer = it->second;
  while (!answer.has_value() && !dead_.load() && Clock::now() < deadline) {
    if (!reading_) {  // nobody is reading: this caller reads, for everyone
      read_in_turn(lock, id, deadline);
      continue;
    }
    cv_.wait_until(lock, deadline, [&] { return answer.has_value() || dead_.load() || !reading_; });
  }
  if (!answer.has_value()) {
    pending_.erase(id);
    if (dead_.load()) {
      r.status = REGULARS_UNAVAILABLE;
      r.message = "connection to regularsd was lost" + (death_reason_.empty() ? "" : ": " + death_reason_);
    } else {
      r.status = REGULARS_TIMEOUT;
      r.message = "regularsd did not answer within the time budget";
    }
    return r;
  }
  const std::string text = std::move(*answer);
  pending_.erase(id);
  lock.unlock();
  if (const auto ok = wire::split_ok_response(text)) return ok_result(ok->result, raw);
  return from_response(text, raw);
}

std::size_t Connection::calls_in_flight() {
  std::lock_guard lock(mu_);
  return pending_.size();
}

bool Connection::alive() noexcept {
  if (dead_.load()) return false;
  std::unique_lock lock(mu_);
  if (reading_) return true;  // a call is reading: it sees any failure first
  read_in_turn(lock, 0, Clock::now());
  return !dead_.load();
}

void Connection::read_in_turn(std::unique_lock<std::mutex>& lock, std::uint64_t id, Deadline deadline) noexcept {
  reading_ = true;
  lock.unlock();
  read_guarded(id, deadline);
  lock.lock();
  reading_ = false;
  cv_.notify_all();  // a caller still waiting takes the role over
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

void Connection::read_guarded(std::uint64_t id, Deadline deadline) noexcept {
  try {
    read_until(id, deadline);
  } catch (...) {
    // Out of memory taking an answer apart: what was read is lost, so the stream cannot go on.
    // The role is still given back by the caller, and every waiter hears the connection died.
    try {
      std::lock_guard lock(mu_);
      if (death_reason_.empty()) death_reason_ = "could not take regularsd's answers apart";
    } catch (...) {
    }
    shut_down();
  }
}

// Polls without sleeping for up to the wait_spin_us option (and never past the deadline): an
// answer that comes within it is read by a thread whose core never went idle, which on a
// virtual machine saves the wake-up of both ends. 0 when nothing came.
int Connection::poll_briefly(net::Want wait, Deadline deadline) {
  if (spin_.count() == 0) return 0;
  const Deadline until = std::min(deadline, Clock::now() + spin_);
  int ready = net::wait_until_ready(fd_, wait, 0);
  while (ready == 0 && Clock::now() < until) {
    std::this_thread::yield();  // the daemon may be waiting for this core
    ready = net::wait_until_ready(fd_, wait, 0);
  }
  return ready;
}

void Connection::read_until(std::uint64_t id, Deadline deadline) {
  net::Want wait = net::Want::nothing;  // read first: the answer may be in already
  while (!dead_.load()) {
    if (wait != net::Want::nothing) {
      int ready = poll_briefly(wait, deadline);
      if (ready == 0) ready = net::wait_until_ready(fd_, wait, millis_left(deadline));
      if (ready < 0) return fail_all("waiting for regularsd's answers failed");
      if (ready == 0 || dead_.load()) return;  // the caller's deadline, or shut down meanwhile
    }
    std::size_t n = 0;
    std::string why;
    if (!read_some(read_buf_.data(), read_buf_.size(), n, wait, why)) return fail_all(why);
    if (n > 0) {  // else nothing yet: wait as told (TLS may have read a record that held no data)
      decoder_.feed(read_buf_.data(), n);
      bool answered = false;
      if (!route_answers(id, answered) || answered) return;
    }
    // Past the caller's deadline, whatever else keeps arriving: the next reader takes it.
    if (Clock::now() >= deadline) return;
  }
}

bool Connection::route_answers(std::uint64_t id, bool& answered) {
  while (auto payload = decoder_.next()) {
    std::uint64_t answer_id = 0;
    if (const auto ok = wire::split_ok_response(*payload)) answer_id = ok->id;
    else if (!response_id(*payload, answer_id)) return false;  // the connection has failed
    std::lock_guard lock(mu_);
    if (auto it = pending_.find(answer_id); it != pending_.end()) {
      it->second = std::move(*payload);  // its caller reads it: the reader only routes
      answered = answered || answer_id == id;
      cv_.notify_all();
    }  // else: the caller gave up (time budget); the late answer is dropped.
  }
  if (decoder_.failed()) {
    fail_all("regularsd sent a malformed frame");
    return false;
  }
  return true;
}

}  // namespace regulars::plugin
