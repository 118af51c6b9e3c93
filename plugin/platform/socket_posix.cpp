#include "platform/socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

namespace regulars::plugin::net {

int wait_until_ready(Socket s, Want want, int timeout_ms) {
  pollfd p{s, static_cast<short>(want == Want::write ? POLLOUT : POLLIN), 0};
  const int pr = ::poll(&p, 1, timeout_ms);
  if (pr < 0) return errno == EINTR ? 1 : -1;
  return pr > 0 ? 1 : 0;
}

Socket connect_unix(const std::string& socket_path, std::string& why) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    why = std::string("cannot create a socket: ") + std::strerror(errno);
    return kNoSocket;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), std::min(socket_path.size(), sizeof addr.sun_path - 1));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    why = "regularsd is not reachable at " + socket_path + ": " + std::strerror(err) + " (is regularsd running?)";
    return kNoSocket;
  }
  return fd;
}

namespace {

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

// HOST:PORT's addresses, or nullptr (and `why`) when the lookup fails or does not finish
// within the deadline. getaddrinfo has no time bound of its own (a DNS server that does not
// answer holds it for resolv.conf's timeout times its attempts, 10 s by default), so the lookup
// runs on the resolver's thread and is given up at the deadline.
addrinfo* resolve(const std::string& host, const std::string& service, Deadline deadline, std::string& why) {
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
    why = "cannot resolve " + host + " within the budget (a slow DNS server?); use an address, or a name in /etc/hosts";
    return nullptr;
  }
  if (rc != 0) {
    why = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return nullptr;
  }
  addrinfo* found = l->request.ar_result;
  delete l;
  return found;
}

}  // namespace

// A non-blocking TCP connection to HOST:PORT within the deadline, name lookup included.
Socket connect_tcp(const std::string& host, std::uint16_t port, Deadline deadline, std::string& why) {
  const std::string service = std::to_string(port);
  addrinfo* found = resolve(host, service, deadline, why);
  if (found == nullptr) return kNoSocket;
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
    why = "regularsd is not reachable at " + host + ":" + service + ": " + last + " (is regularsd running with listen.tls?)";
    return kNoSocket;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // small frames, answered at once
  return fd;
}

Io send_some(Socket s, const char* data, std::size_t len, std::size_t& n, std::string& why) {
  n = 0;
  const ssize_t r = ::send(s, data, len, MSG_NOSIGNAL);
  if (r >= 0) {
    n = static_cast<std::size_t>(r);
    return Io::ok;
  }
  if (errno == EINTR) return Io::ok;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::would_block;
  why = std::string("write to regularsd failed: ") + std::strerror(errno);
  return Io::failed;
}

Io recv_some(Socket s, char* buf, std::size_t cap, std::size_t& n, std::string& why) {
  n = 0;
  const ssize_t r = ::recv(s, buf, cap, 0);
  if (r > 0) {
    n = static_cast<std::size_t>(r);
    return Io::ok;
  }
  if (r == 0) return Io::closed;
  if (errno == EINTR) return Io::ok;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::would_block;
  why = std::string("read from regularsd failed: ") + std::strerror(errno);
  return Io::failed;
}

void shut_down(Socket s) noexcept { ::shutdown(s, SHUT_RDWR); }

void close_socket(Socket s) noexcept { ::close(s); }

}  // namespace regulars::plugin::net
