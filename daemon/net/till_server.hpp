// The till-facing server: framed JSON over a Unix socket and, for lanes on other machines, over
// TCP with TLS and a token per lane (sdk/PROTOCOL.md). One Session per connection, each owned by
// one I/O thread (net/io_pool.hpp) for its whole life; every read has a timeout, every frame a size limit, and a
// connection with too many requests in flight stops being read until answers drain.
#pragma once

#include <memory>
#include <string>

namespace regulars::daemon {

struct Config;
class IoPool;
class LaneTokens;
class Metrics;
namespace owner {
class CommandRunner;
}
namespace till {
struct Services;
}

class TillServer {
 public:
  // `tokens`: the lane tokens TLS lanes authenticate with (needed with listen.tls). `metrics`:
  // where hints times, record outcomes, error answers and connected lanes are counted (null: not).
  // The listeners run on `io`'s main context; each new connection goes to its next one.
  TillServer(IoPool& io, const Config& config, till::Services& till, owner::CommandRunner& owner_commands,
             LaneTokens* tokens, Metrics* metrics = nullptr);
  ~TillServer();  // closes every session
  TillServer(const TillServer&) = delete;
  TillServer& operator=(const TillServer&) = delete;

  // Removes a stale socket file (refusing if another daemon answers on it), binds and listens;
  // with listen.tls, also listens on TCP (and writes DATA_DIR/tls.endpoint).
  void start();
  // The TLS port actually bound (listen.tls.port 0 picks one), or 0 without TLS.
  unsigned short tls_port() const noexcept;
  // Closes every session that came in with this (just revoked) lane token.
  void revoke_sessions(const std::string& token_id);
  // Stops accepting connections; existing sessions keep being served.
  void stop_accepting();
  // Closes every session.
  void close_all();

  class Impl;  // till_server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace regulars::daemon
