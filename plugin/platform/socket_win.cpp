// Winsock. Winsock does not promise that shutting a socket down wakes a select() on it in another
// thread, so each connected socket has a waker: a UDP socket on 127.0.0.1 that every wait also
// watches, and to which shut_down() sends one datagram. The datagram is never read, so every
// later wait returns at once too. Without a waker (it could not be made) a wait comes back at
// least every 100 ms.
#include "platform/socket.hpp"

// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
// clang-format on

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace regulars::plugin::net {

namespace {

constexpr int kLongestWaitMs = 100;  // without a waker, a wait "without limit" comes back this often

struct Waker {
  SOCKET udp = INVALID_SOCKET;
  sockaddr_in address{};  // its own, where shut_down() sends
  bool shut = false;      // shut_down() has sent its datagram
};
std::mutex g_wakers_mu;
std::unordered_map<SOCKET, Waker> g_wakers;  // guarded by g_wakers_mu

void add_waker(SOCKET s) {
  Waker w;
  w.udp = ::socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  if (w.udp == INVALID_SOCKET) return;
  w.address.sin_family = AF_INET;
  w.address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int len = sizeof w.address;
  // Connected to itself: a datagram from any other socket on the machine is dropped.
  const BOOL exclusive = TRUE;
  if (::setsockopt(w.udp, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&exclusive), sizeof exclusive) != 0 ||
      ::bind(w.udp, reinterpret_cast<sockaddr*>(&w.address), sizeof w.address) != 0 ||
      ::getsockname(w.udp, reinterpret_cast<sockaddr*>(&w.address), &len) != 0 ||
      ::connect(w.udp, reinterpret_cast<sockaddr*>(&w.address), sizeof w.address) != 0) {
    ::closesocket(w.udp);
    return;
  }
  std::lock_guard lock(g_wakers_mu);
  g_wakers[s] = w;
}

SOCKET waker_of(SOCKET s) {
  std::lock_guard lock(g_wakers_mu);
  const auto it = g_wakers.find(s);
  return it == g_wakers.end() ? INVALID_SOCKET : it->second.udp;
}

// The waker was woken, but not by shut_down(): reads the stray datagram off, so the next wait
// waits again. False when the wake was shut_down()'s (it stays, for every later wait).
bool drain_stray_wake(SOCKET s, SOCKET waker) {
  {
    std::lock_guard lock(g_wakers_mu);
    const auto it = g_wakers.find(s);
    if (it == g_wakers.end() || it->second.shut) return false;
  }
  char byte = 0;
  ::recv(waker, &byte, 1, 0);
  return true;
}

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
  std::string host, service;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  addrinfo* result = nullptr;
  bool abandoned = false;
  HMODULE module = nullptr;  // this DLL, held loaded until the lookup's thread has left it
};

// The lookup's thread: a plain Win32 thread that leaves through FreeLibraryAndExitThread, so a
// host that unloads regulars.dll while a lookup is still running does not pull the code from
// under it.
DWORD WINAPI run_lookup(void* arg) {
  auto* held = static_cast<std::shared_ptr<Lookup>*>(arg);
  const HMODULE module = (*held)->module;
  {
    const std::shared_ptr<Lookup> lookup = std::move(*held);
    delete held;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* r = nullptr;
    const int rc = ::getaddrinfo(lookup->host.c_str(), lookup->service.c_str(), &hints, &r);
    std::lock_guard lock(lookup->mu);
    if (lookup->abandoned) {
      if (r != nullptr) ::freeaddrinfo(r);
    } else {
      lookup->rc = rc;
      lookup->result = r;
      lookup->done = true;
      lookup->cv.notify_all();
    }
  }
  ::FreeLibraryAndExitThread(module, 0);
}

addrinfo* resolve(const std::string& host, const std::string& service, Deadline deadline, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) == 0) return found;  // an address: no lookup
  auto lookup = std::make_shared<Lookup>();
  lookup->host = host;
  lookup->service = service;
  if (!::GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, reinterpret_cast<LPCWSTR>(&run_lookup), &lookup->module)) {
    why = "cannot resolve " + host + ": no thread for the lookup; use an address";
    return nullptr;
  }
  auto* held = new std::shared_ptr<Lookup>(lookup);
  const HANDLE thread = ::CreateThread(nullptr, 0, run_lookup, held, 0, nullptr);
  if (thread == nullptr) {
    ::FreeLibrary(lookup->module);
    delete held;
    why = "cannot resolve " + host + ": no thread for the lookup; use an address";
    return nullptr;
  }
  ::CloseHandle(thread);
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

// The socket and its waker are closed only after every thread waiting on them has left (the
// Connection closes them in its destructor, and every caller, the one reading included, holds a
// shared_ptr to it while it waits), so a wait never selects a closed one.
int wait_until_ready(Socket s, Want want, int timeout_ms) {
  const SOCKET sock = static_cast<SOCKET>(s);
  const SOCKET waker = waker_of(sock);
  if (waker == INVALID_SOCKET && (timeout_ms < 0 || timeout_ms > kLongestWaitMs)) timeout_ms = kLongestWaitMs;
  const Deadline end = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  for (;;) {
    fd_set readable, writable, failed;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    FD_ZERO(&failed);
    FD_SET(sock, want == Want::write ? &writable : &readable);
    FD_SET(sock, &failed);
    if (waker != INVALID_SOCKET) FD_SET(waker, &readable);
    const int ms = timeout_ms < 0 ? -1 : millis_left(end);
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    const int n = ::select(0, &readable, &writable, &failed, ms < 0 ? nullptr : &tv);
    if (n == SOCKET_ERROR) return -1;
    // A wake that was not shut_down()'s is read off, and the wait goes on.
    if (n == 1 && waker != INVALID_SOCKET && FD_ISSET(waker, &readable) && drain_stray_wake(sock, waker)) continue;
    return n > 0 ? 1 : 0;  // woken, or a failed socket: the next call says what happened
  }
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
  add_waker(s);
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

void shut_down(Socket s) noexcept {
  ::shutdown(static_cast<SOCKET>(s), SD_BOTH);
  std::lock_guard lock(g_wakers_mu);
  if (const auto it = g_wakers.find(static_cast<SOCKET>(s)); it != g_wakers.end()) {
    it->second.shut = true;
    ::send(it->second.udp, "!", 1, 0);
  }
}

void close_socket(Socket s) noexcept {
  SOCKET waker = INVALID_SOCKET;
  {
    // Out of the table before the socket closes: Winsock may hand its number to the next socket.
    std::lock_guard lock(g_wakers_mu);
    if (const auto it = g_wakers.find(static_cast<SOCKET>(s)); it != g_wakers.end()) {
      waker = it->second.udp;
      g_wakers.erase(it);
    }
  }
  ::closesocket(static_cast<SOCKET>(s));
  if (waker != INVALID_SOCKET) ::closesocket(waker);
}

}  // namespace regulars::plugin::net
