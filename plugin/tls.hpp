// TLS for lanes on other machines. OpenSSL's libssl is loaded with dlopen the first time a
// tls: endpoint is opened, so a till that talks to a local daemon over the Unix socket needs
// nothing beyond libc and libstdc++ (and ldd shows no OpenSSL).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "deadline.hpp"
#include "platform/socket.hpp"

namespace regulars::plugin::tls {

struct Api;

// The store's CA, and the rules every connection is checked by: TLS 1.2 at least, the
// server's certificate must chain to that CA and name the server.
class Context {
 public:
  // nullptr with `why` filled when libssl cannot be loaded or the CA file cannot be used.
  static std::shared_ptr<Context> create(const std::string& ca_file, std::string& why);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

 private:
  friend class Channel;
  Context(const Api* api, void* ctx) : api_(api), ctx_(ctx) {}
  const Api* api_;
  void* ctx_;  // SSL_CTX*
};

// One TLS connection over a connected, non-blocking socket. read() and write() may be called
// from different threads (the caller reading for the connection, and the callers writing):
// OpenSSL allows one call at a time on a connection, so each takes a lock, never held while
// waiting for the socket.
class Channel {
 public:
  enum class Io { ok, want_read, want_write, closed, failed };

  // Runs the handshake until `deadline` and checks the server's certificate against
  // `server_name` (a DNS name or an IP address). nullptr with `why` filled on failure.
  static std::unique_ptr<Channel> connect(std::shared_ptr<Context> context, net::Socket fd, const std::string& server_name,
                                          Deadline deadline, std::string& why);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Up to `cap` bytes of plaintext into `buf` (`n` set on ok).
  Io read(char* buf, std::size_t cap, std::size_t& n);
  // Some of `len` bytes (`n` set on ok; the rest is written by the next call).
  Io write(const char* buf, std::size_t len, std::size_t& n);
  // What went wrong in the last failed call.
  std::string last_error();

 private:
  Channel(std::shared_ptr<Context> context, void* ssl) : context_(std::move(context)), ssl_(ssl) {}
  Io classify(int ret);
  std::shared_ptr<Context> context_;
  void* ssl_;  // SSL*
  std::mutex mu_;
  std::string error_;
};

}  // namespace regulars::plugin::tls
