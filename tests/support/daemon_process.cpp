#include "daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "wire/frame.hpp"

namespace regulars::test {

DaemonProcess::DaemonProcess(std::string data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    wait_exit();
  }
}

void DaemonProcess::start() {
  if (pid_ > 0) throw std::runtime_error("regularsd already running");
  // REGULARS_TEST_REGULARSD runs the tests against another build's daemon, to show that a new
  // test fails on the code before a fix.
  const char* other = std::getenv("REGULARS_TEST_REGULARSD");
  std::vector<std::string> args = {other != nullptr && *other != '\0' ? other : REGULARSD_PATH, "--data-dir", data_dir_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  const std::string log = log_path();
  // The environment is built before fork: the child only execs.
  std::vector<std::string> env_strings = env_;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string var = *e;
    const std::string name = var.substr(0, var.find('=') + 1);
    if (std::none_of(env_.begin(), env_.end(), [&](const std::string& v) { return v.rfind(name, 0) == 0; }))
      env_strings.push_back(var);
  }
  std::vector<char*> envp;
  for (auto& v : env_strings) envp.push_back(v.data());
  envp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (fd_soft_ > 0) {
      const rlimit limit{fd_soft_, fd_hard_};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  // Ready when the socket accepts a connection.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("regularsd exited during start-up; log:\n" + this->log());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path().c_str(), sizeof addr.sun_path - 1);
    const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (up) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("regularsd did not open its socket within 10 s; log:\n" + this->log());
}

int DaemonProcess::wait_exit() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1000;
}

int DaemonProcess::stop() {
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  return wait_exit();
}

void DaemonProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit();
}

void DaemonProcess::suspend() {
  ::kill(pid_, SIGSTOP);
  // kill() only queues the signal: until every thread has stopped, regularsd may still answer a
  // request sent now (seen on a loaded machine). waitpid reports the stop once it is complete.
  int status = 0;
  while (::waitpid(pid_, &status, WUNTRACED) < 0 && errno == EINTR) {
  }
  if (!WIFSTOPPED(status)) pid_ = -1;  // it exited instead
}

void DaemonProcess::resume() { ::kill(pid_, SIGCONT); }

std::string DaemonProcess::log() const {
  std::ifstream in(log_path());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string DaemonProcess::sanitizer_report() const {
  const std::string text = log();
  std::size_t first = std::string::npos;
  for (const char* marker :
       {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer", "runtime error:"})
    first = std::min(first, text.find(marker));
  if (first == std::string::npos) return {};
  const std::size_t line = text.rfind('\n', first);
  return text.substr(line == std::string::npos ? 0 : line + 1, 16000);
}

RawConnection::RawConnection(const std::string& socket_path, bool send_hello) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to " + socket_path);
  if (send_hello) {
    send_frame(R"({"id":0,"op":"hello","protocol":1})");
    if (read_frame().find("\"ok\":true") == std::string::npos) throw std::runtime_error("hello refused");
  }
}

RawConnection::~RawConnection() { ::close(fd_); }

void RawConnection::send_bytes(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the daemon may close mid-way; the caller checks the outcome
    off += static_cast<std::size_t>(n);
  }
}

void RawConnection::send_frame(const std::string& payload) { send_bytes(wire::encode_frame(payload)); }

std::string RawConnection::read_frame(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (buffer_.size() >= 4) {
      const std::uint32_t len = wire::decode_length(reinterpret_cast<const unsigned char*>(buffer_.data()));
      if (buffer_.size() >= 4 + static_cast<std::size_t>(len)) {
        std::string payload = buffer_.substr(4, len);
        buffer_.erase(0, 4 + static_cast<std::size_t>(len));
        return payload;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return {};
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return {};
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return {};
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

bool RawConnection::closed_by_peer(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0) return false;
  }
}

int run_command(const std::string& command, std::string& output) {
  output.clear();
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) output.append(buf.data(), n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace regulars::test
