#include "daemon_child.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "wire/frame.hpp"

namespace regulars::tools {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> daemon_argv(const std::string& exe, const std::string& data_dir,
                                     const std::vector<std::string>& extra_args) {
  std::vector<std::string> args{exe, "--data-dir", data_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return args;
}

}  // namespace

int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

std::string find_regularsd(const std::string& flag, const std::string& build_path) {
  if (!flag.empty()) return flag;
  std::error_code ec;
  if (!build_path.empty() && fs::exists(build_path, ec)) return build_path;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(self.parent_path() / "regularsd", ec)) return (self.parent_path() / "regularsd").string();
  return "regularsd";  // from PATH
}

DaemonChild::DaemonChild(const std::string& exe, const std::string& data_dir, const std::vector<std::string>& extra_args,
                         const std::string& log_path)
    : socket_(data_dir + "/regularsd.sock"), child_(daemon_argv(exe, data_dir, extra_args), log_path) {}

void DaemonChild::wait_ready(std::chrono::seconds limit) {
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < limit) {
    if (const auto status = child_.exited())
      throw std::runtime_error("regularsd exited before listening (wait status " + std::to_string(*status) +
                               "); its log:\n" + log_tail());
    if (const int fd = connect_unix(socket_); fd >= 0) {
      ::close(fd);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("regularsd did not listen on " + socket_ + " within " + std::to_string(limit.count()) +
                           " s; its log:\n" + log_tail());
}

std::string DaemonChild::stop(std::chrono::seconds limit) { return child_.stop(SIGTERM, limit); }

std::map<std::string, std::string> DaemonChild::proc_status() const {
  std::map<std::string, std::string> m;
  if (pid() <= 0) return m;
  std::ifstream in("/proc/" + std::to_string(pid()) + "/status");
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    m[line.substr(0, colon)] = v;
  }
  return m;
}

std::string DaemonChild::memory_summary() const {
  const auto ps = proc_status();
  auto field = [&](const char* k) { return ps.count(k) ? ps.at(k) : std::string("?"); };
  return "VmRSS=" + field("VmRSS") + " VmHWM=" + field("VmHWM") + " threads=" + field("Threads");
}

std::optional<json> daemon_status(const std::string& socket_path, const std::string& client) {
  return daemon_call(socket_path, client, {{"op", "status"}});
}

std::optional<json> daemon_call(const std::string& socket_path, const std::string& client, json request) {
  const int fd = connect_unix(socket_path);
  if (fd < 0) return std::nullopt;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  regulars::wire::FrameDecoder decoder;
  auto call = [&](const json& req) -> std::optional<json> {
    const std::string frame = regulars::wire::encode_frame(req.dump());
    std::size_t sent = 0;
    while (sent < frame.size()) {
      const ssize_t n = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return std::nullopt;
      sent += static_cast<std::size_t>(n);
    }
    for (;;) {
      if (auto payload = decoder.next()) {
        auto parsed = json::parse(*payload, nullptr, false);
        if (parsed.is_discarded() || !parsed.value("ok", false)) return std::nullopt;
        return parsed["result"];
      }
      if (decoder.failed()) return std::nullopt;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      decoder.feed(buf, static_cast<std::size_t>(n));
    }
  };
  std::optional<json> result;
  request["id"] = 2;
  if (call({{"id", 1}, {"op", "hello"}, {"protocol", regulars::wire::kProtocolVersion}, {"client", client}}))
    result = call(request);
  ::close(fd);
  return result;
}

std::int64_t status_field(const std::optional<json>& st, const char* key) {
  if (!st || !st->contains(key) || !(*st)[key].is_number_integer()) return -1;
  return (*st)[key].get<std::int64_t>();
}

}  // namespace regulars::tools
