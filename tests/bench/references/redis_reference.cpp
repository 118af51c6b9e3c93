#include "redis_reference.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "daemon_child.hpp"

namespace regulars::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::runtime_error redis_error(const std::string& what) { return std::runtime_error("redis: " + what); }

std::string encode_command(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out.append(a);
    out += "\r\n";
  }
  return out;
}

// The length in a "$N" or "*N" header; -1 is nil.
long long parse_length(const std::string& digits) {
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || errno != 0 || n < -1 || n > (512LL << 20))
    throw redis_error("malformed length in reply: " + digits);
  return n;
}

// Printable, so a wrong reply shows in an error message; the same every run.
std::string make_value() {
  std::string v(RedisReference::kValueBytes, ' ');
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return v;
}

std::vector<std::string> server_argv(const std::string& exe, const std::string& dir, const std::string& socket) {
  // Port 0: no TCP listener. No RDB snapshots and no append-only file: a cache, as a team would
  // run one for hints it can recompute.
  // clang-format off: flag and value side by side
  return {exe, "--port",       "0",  "--unixsocket", socket, "--unixsocketperm", "700", "--dir", dir, "--save",
          "",  "--appendonly", "no", "--daemonize",  "no",   "--logfile",        ""};  // "": to stdout, that is the log
                                                                                       // file
  // clang-format on
}

}  // namespace

RespConnection::RespConnection(const std::string& socket_path) : fd_(tools::connect_unix(socket_path)) {
  if (fd_ < 0) throw redis_error("connect " + socket_path + ": " + std::strerror(errno));
}

RespConnection::~RespConnection() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RespConnection::call(std::initializer_list<std::string_view> args) {
  send_all(encode_command(args));
  const std::string head = read_line();
  if (head.empty()) throw redis_error("empty reply line");
  const std::string rest = head.substr(1);
  switch (head[0]) {
    case '+':
    case ':': return rest;
    case '-': throw redis_error("error reply: " + rest);
    case '$': {
      const long long n = parse_length(rest);
      if (n < 0) throw redis_error("nil reply");
      return read_bulk(static_cast<std::size_t>(n));
    }
    default: throw redis_error("unexpected reply type '" + std::string(1, head[0]) + "'");
  }
}

void RespConnection::send_all(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw redis_error(std::string("send: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
}

void RespConnection::fill() {
  if (pos_ > 0 && pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  }
  char buf[16384];
  const auto spin_until = std::chrono::steady_clock::now() + spin_;
  for (;;) {
    const bool polling = spin_.count() > 0 && std::chrono::steady_clock::now() < spin_until;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, polling ? MSG_DONTWAIT : 0);
    if (n < 0 && polling && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      std::this_thread::yield();  // as the plugin polls
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) throw redis_error("connection closed by the server");
    if (n < 0) throw redis_error(std::string("recv: ") + std::strerror(errno));
    in_.append(buf, static_cast<std::size_t>(n));
    return;
  }
}

std::string RespConnection::read_line() {
  for (;;) {
    const auto crlf = in_.find("\r\n", pos_);
    if (crlf != std::string::npos) {
      std::string line = in_.substr(pos_, crlf - pos_);
      pos_ = crlf + 2;
      return line;
    }
    fill();
  }
}

std::string RespConnection::read_bulk(std::size_t n) {
  while (in_.size() - pos_ < n + 2) fill();
  if (in_.compare(pos_ + n, 2, "\r\n") != 0) throw redis_error("bulk reply not followed by CRLF");
  std::string bulk = in_.substr(pos_, n);
  pos_ += n + 2;
  return bulk;
}

RedisReference::RedisReference(const std::string& exe, const std::string& dir)
    : server_(server_argv(exe, dir, dir + "/redis.sock"), dir + "/redis.log"),
      socket_(dir + "/redis.sock"),
      value_(make_value()) {
  const auto t0 = Clock::now();
  while (!conn_) {
    if (const auto status = server_.exited())
      throw redis_error(exe + " exited (" + tools::describe_wait_status(*status) + "); its log:\n" +
                        server_.log_tail());
    if (Clock::now() - t0 > std::chrono::seconds(10))
      throw redis_error(exe + " did not answer on " + socket_ + " within 10 s; its log:\n" + server_.log_tail());
    try {
      conn_.emplace(socket_);
      if (conn_->call({"PING"}) != "PONG") throw redis_error("PING did not answer PONG");
    } catch (const std::runtime_error&) {
      conn_.reset();  // not listening yet (or still loading)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (conn_->call({"SET", "bench:hints", value_}) != "OK") throw redis_error("SET did not answer OK");
}

void RedisReference::time_gets(std::size_t n, std::vector<std::int64_t>& ns, std::chrono::microseconds spin) {
  conn_->set_wait_spin(spin);
  for (std::size_t i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    const std::string got = conn_->call({"GET", "bench:hints"});
    const auto t1 = Clock::now();
    if (got != value_) throw redis_error("GET returned " + std::to_string(got.size()) + " bytes, not the value SET");
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  }
}

std::string RedisReference::stop() {
  conn_.reset();
  return server_.stop(SIGTERM, std::chrono::seconds(10));
}

}  // namespace regulars::bench
