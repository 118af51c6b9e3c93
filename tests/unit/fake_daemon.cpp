#include "fake_daemon.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <variant>

#include "wire/frame.hpp"
#include "wire/json_text.hpp"

namespace regulars::test {

Reply answer(const json& request, json result) {
  const json response = {{"id", request.at("id")}, {"ok", true}, {"result", std::move(result)}};
  return Reply{wire::encode_frame(response.dump()), false};
}

Reply refuse(const json& request, const std::string& code, const std::string& field, const std::string& message) {
  const json response = {{"id", request.at("id")},
                         {"ok", false},
                         {"error", {{"code", code}, {"field", field}, {"message", message}}}};
  return Reply{wire::encode_frame(response.dump()), false};
}

Reply silence() { return Reply{}; }
Reply hang_up() { return Reply{"", true}; }
Reply raw(std::string bytes) { return Reply{std::move(bytes), false}; }

json unknown_customer_answer() {
  return {{"customer", {{"known", false}}}, {"hints", json::array()}, {"predictions", json::array()},
          {"offers", json::array()},        {"ask_feedback", false},  {"locale", "en"},
          {"dir", "ltr"}};
}

json FakeDaemon::default_hello() {
  return {{"protocol", wire::kProtocolVersion}, {"server", "fake-regularsd/0"},
          {"max_frame_bytes", wire::kDefaultMaxFrameBytes}, {"features", json::array()}};
}

struct FakeDaemon::Peer {
  explicit Peer(int f) : fd(f) {}
  ~Peer() { ::close(fd); }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  int fd;
  wire::FrameDecoder decoder;
};

FakeDaemon::FakeDaemon(std::string socket_path, Handler handler, json hello_result)
    : socket_path_(std::move(socket_path)), hello_result_(std::move(hello_result)), handler_(std::move(handler)) {
  sockaddr_un addr{};
  if (socket_path_.size() >= sizeof addr.sun_path) throw std::invalid_argument("socket path too long");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ::unlink(socket_path_.c_str());
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("fake daemon cannot listen: ") + std::strerror(errno));
  thread_ = std::thread([this] { serve(); });
}

FakeDaemon::~FakeDaemon() {
  const char stop = 'x';
  if (::write(stop_pipe_[1], &stop, 1) != 1) std::abort();  // the thread would never end
  thread_.join();
  ::close(listen_fd_);
  ::unlink(socket_path_.c_str());
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void FakeDaemon::set_handler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

std::vector<json> FakeDaemon::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<json> FakeDaemon::requests_with_op(const std::string& op) const {
  std::vector<json> out;
  for (auto& r : requests())
    if (r.value("op", "") == op) out.push_back(std::move(r));
  return out;
}

bool FakeDaemon::wait_for(const std::function<bool(const std::vector<json>&)>& done,
                          std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return done(requests_); });
}

void FakeDaemon::serve() {
  std::vector<std::unique_ptr<Peer>> peers;
  for (;;) {
    std::vector<pollfd> fds = {{stop_pipe_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const auto& p : peers) fds.push_back({p->fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents != 0) return;  // stopping: peers close as `peers` goes
    std::vector<std::unique_ptr<Peer>> kept;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      if (fds[i + 2].revents == 0 || serve_readable(*peers[i])) kept.push_back(std::move(peers[i]));
    }
    peers = std::move(kept);
    if ((fds[1].revents & POLLIN) != 0) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) peers.push_back(std::make_unique<Peer>(fd));
    }
  }
}

bool FakeDaemon::serve_readable(Peer& peer) {
  char buf[64 * 1024];
  const ssize_t n = ::recv(peer.fd, buf, sizeof buf, 0);
  if (n <= 0) return n < 0 && errno == EINTR;
  peer.decoder.feed(buf, static_cast<std::size_t>(n));
  while (auto payload = peer.decoder.next()) {
    auto parsed = wire::parse_json(*payload);
    const auto* request = std::get_if<json>(&parsed);
    if (request == nullptr || !request->is_object()) return false;  // the plugin sent garbage: hang up
    const Reply reply = reply_to(*request);
    for (std::size_t off = 0; off < reply.bytes.size();) {
      const ssize_t w = ::send(peer.fd, reply.bytes.data() + off, reply.bytes.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += static_cast<std::size_t>(w);
    }
    if (reply.hang_up) return false;
  }
  return !peer.decoder.failed();
}

Reply FakeDaemon::reply_to(const json& request) {
  if (request.value("op", "") == "hello") return answer(request, hello_result_);
  Handler handler;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    handler = handler_;
  }
  cv_.notify_all();
  return handler(request);
}

}  // namespace regulars::test
