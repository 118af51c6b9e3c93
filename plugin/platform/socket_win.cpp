// Winsock. A waiting reader is woken by a short poll rather than by shutdown(): Winsock does not
// promise that shutting a socket down wakes a select() on it in another thread.
#include "platform/socket.hpp"

// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
// clang-format on

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace regulars::plugin::net {

namespace {

constexpr int kLongestWaitMs = 100;  // a wait "without limit" comes back this often

std::string winsock_error(int code) {
  char text[256] = {};
  const DWORD n = ::FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, static_cast<DWORD>(code), 0,
                                   text, sizeof text, nullptr);
  std::string out(text, n);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '.')) out.pop_back();
  return (out.empty() ? "Winsock error" : out) + " (" + std::to_string(code) + ")";
}

bool winsock_ready(std::string& why) {
  static std::once_flag once;
  static int started = -1;
  std::call_once(once, [] {
    WSADATA data;
    started = ::WSAStartup(MAKEWORD(2, 2), &data);  // never cleaned up: the library may be in use until exit
  });
  if (started != 0) why = "Winsock is not available: " + winsock_error(started);
  return started == 0;
}

// A name lookup given its own thread, which may outlive the caller's deadline; whoever leaves
// last frees the state.
struct Lookup {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  addrinfo* result = nullptr;
  bool abandoned = false;
};

addrinfo* resolve(const std::string& host, const std::string& service, Deadline deadline, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) == 0) return found;  // an address: no lookup
  auto lookup = std::make_shared<Lookup>();
  std::thread([lookup, host, service] {
    addrinfo h{};
    h.ai_family = AF_UNSPEC;
    h.ai_socktype = SOCK_STREAM;
    addrinfo* r = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &h, &r);
    std::lock_guard lock(lookup->mu);
    if (lookup->abandoned) {
      if (r != nullptr) ::freeaddrinfo(r);
      return;
    }
    lookup->rc = rc;
    lookup->result = r;
    lookup->done = true;
    lookup->cv.notify_all();
  }).detach();
  std::unique_lock lock(lookup->mu);
  if (!lookup->cv.wait_until(lock, deadline, [&] { return lookup->done; })) {
    lookup->abandoned = true;
    why = "cannot resolve " + host + " within the budget (a slow DNS server?); use an address";
    return nullptr;
  }
  if (lookup->rc != 0) {
    why = "cannot resolve " + host + ": " + winsock_error(lookup->rc);
    return nullptr;
  }
  return lookup->result;
}

// Connects `s` within the deadline; 0 or the Winsock error.
int connect_within(SOCKET s, const addrinfo& a, Deadline deadline) {
  if (::connect(s, a.ai_addr, static_cast<int>(a.ai_addrlen)) == 0) return 0;
  const int err = ::WSAGetLastError();
  if (err != WSAEWOULDBLOCK) return err;
  fd_set writable, failed;
  FD_ZERO(&writable);
  FD_ZERO(&failed);
  FD_SET(s, &writable);
  FD_SET(s, &failed);
  const int ms = millis_left(deadline);
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  const int n = ::select(0, nullptr, &writable, &failed, &tv);
  if (n == 0) return WSAETIMEDOUT;
  if (n < 0) return ::WSAGetLastError();
  int so_error = 0;
  int len = sizeof so_error;
  if (::getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&so_error), &len) != 0) return ::WSAGetLastError();
  return FD_ISSET(s, &failed) && so_error == 0 ? WSAECONNREFUSED : so_error;
}

}  // namespace

int wait_until_ready(Socket s, Want want, int timeout_ms) {
  if (timeout_ms < 0 || timeout_ms > kLongestWaitMs) timeout_ms = timeout_ms < 0 ? kLongestWaitMs : timeout_ms;
  fd_set set, failed;
  FD_ZERO(&set);
  FD_ZERO(&failed);
  FD_SET(static_cast<SOCKET>(s), &set);
  FD_SET(static_cast<SOCKET>(s), &failed);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  const int n = want == Want::write ? ::select(0, nullptr, &set, &failed, &tv) : ::select(0, &set, nullptr, &failed, &tv);
  if (n == SOCKET_ERROR) return -1;
  return n > 0 ? 1 : 0;  // a failed socket counts as ready: the next call says what failed
}

Socket connect_unix(const std::string& socket_path, std::string& why) {
  why = "regularsd's Unix socket (" + socket_path +
        ") is for tills on the daemon's own machine; a Windows till reaches regularsd over tls:HOST:PORT with a lane token";
  return kNoSocket;
}

Socket connect_tcp(const std::string& host, std::uint16_t port, Deadline deadline, std::string& why) {
  if (!winsock_ready(why)) return kNoSocket;
  const std::string service = std::to_string(port);
  addrinfo* found = resolve(host, service, deadline, why);
  if (found == nullptr) return kNoSocket;
  std::string last = "no address";
  SOCKET s = INVALID_SOCKET;
  for (addrinfo* a = found; a != nullptr && s == INVALID_SOCKET; a = a->ai_next) {
    s = ::WSASocketW(a->ai_family, a->ai_socktype, a->ai_protocol, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) {
      last = winsock_error(::WSAGetLastError());
      continue;
    }
    u_long non_blocking = 1;
    int err = ::ioctlsocket(s, FIONBIO, &non_blocking) == 0 ? connect_within(s, *a, deadline) : ::WSAGetLastError();
    if (err != 0) {
      last = winsock_error(err);
      ::closesocket(s);
      s = INVALID_SOCKET;
    }
  }
  ::freeaddrinfo(found);
  if (s == INVALID_SOCKET) {
    why = "regularsd is not reachable at " + host + ":" + service + ": " + last + " (is regularsd running with listen.tls?)";
    return kNoSocket;
  }
  const BOOL one = TRUE;
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);  // small frames, answered at once
  return static_cast<Socket>(s);
}

Io send_some(Socket s, const char* data, std::size_t len, std::size_t& n, std::string& why) {
  n = 0;
  const int r = ::send(static_cast<SOCKET>(s), data, static_cast<int>(std::min<std::size_t>(len, 1u << 30)), 0);
  if (r != SOCKET_ERROR) {
    n = static_cast<std::size_t>(r);
    return Io::ok;
  }
  const int err = ::WSAGetLastError();
  if (err == WSAEWOULDBLOCK || err == WSAEINTR) return Io::would_block;
  if (err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAESHUTDOWN) return Io::closed;
  why = "write to regularsd failed: " + winsock_error(err);
  return Io::failed;
}

Io recv_some(Socket s, char* buf, std::size_t cap, std::size_t& n, std::string& why) {
  n = 0;
  const int r = ::recv(static_cast<SOCKET>(s), buf, static_cast<int>(std::min<std::size_t>(cap, 1u << 30)), 0);
  if (r > 0) {
    n = static_cast<std::size_t>(r);
    return Io::ok;
  }
  if (r == 0) return Io::closed;
  const int err = ::WSAGetLastError();
  if (err == WSAEWOULDBLOCK || err == WSAEINTR) return Io::would_block;
  if (err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAESHUTDOWN) return Io::closed;
  why = "read from regularsd failed: " + winsock_error(err);
  return Io::failed;
}

void shut_down(Socket s) noexcept { ::shutdown(static_cast<SOCKET>(s), SD_BOTH); }

void close_socket(Socket s) noexcept { ::closesocket(static_cast<SOCKET>(s)); }

}  // namespace regulars::plugin::net
