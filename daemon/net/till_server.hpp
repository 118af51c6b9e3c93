// The till-facing server: framed JSON over a Unix socket and, for lanes on other machines, over
// TCP with TLS and a token per lane (sdk/PROTOCOL.md). One Session per connection, each on its
// own strand; every read has a timeout, every frame a size limit, and a
// connection with too many requests in flight stops being read until answers drain.
#pragma once

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/asio/ssl/context.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "base/config.hpp"
#include "hints/hint_engine.hpp"
#include "memory/identity.hpp"
#include "till/spool_key.hpp"
#include "store/event_store.hpp"
#include "owner/commands.hpp"
#include "owner/lane_tokens.hpp"

namespace regulars::daemon {

// What the server needs of a connection, whatever it runs over.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
  // Ends the session if it came in with this lane token.
  virtual void revoke(const std::string& token_id) = 0;
};

class Server {
 public:
  Server(boost::asio::io_context& io, const Config& config, EventStore& store, HintEngine& hints, const IdentityKey& key,
         owner::CommandRunner& owner_commands, GestureEngine* gestures = nullptr, LaneTokens* tokens = nullptr,
         const SpoolKey* spool_key = nullptr);
  ~Server();

  // Removes a stale socket file (refusing if another daemon answers on it), binds and listens;
  // with listen.tls, also listens on TCP (and writes DATA_DIR/tls.endpoint).
  void start();
  // The TLS port actually bound (listen.tls.port 0 picks one), or 0 without TLS.
  unsigned short tls_port() const noexcept { return tls_port_; }
  // Closes every session that came in with this (just revoked) lane token.
  void revoke_sessions(const std::string& token_id);
  // Stops accepting connections; existing sessions keep being served.
  void stop_accepting();
  // Closes every session.
  void close_all();

  const Config& config() const noexcept { return config_; }
  EventStore& store() noexcept { return store_; }
  HintEngine& hints() noexcept { return hints_; }
  const IdentityKey& key() const noexcept { return key_; }
  GestureEngine* gestures() noexcept { return gestures_; }
  LaneTokens* tokens() noexcept { return tokens_; }
  const SpoolKey* spool_key() const noexcept { return spool_key_; }
  owner::CommandRunner& owner_commands() noexcept { return owner_commands_; }
  // The tills' group id (listen.group), or -1 when any peer that can open the socket may talk.
  long long socket_gid() const noexcept { return socket_gid_; }
  void forget(std::uint64_t session_id, bool tls);

 private:
  void do_accept();
  void do_accept_tls();
  void start_tls();

  boost::asio::io_context& io_;
  const Config& config_;
  EventStore& store_;
  HintEngine& hints_;
  const IdentityKey& key_;
  owner::CommandRunner& owner_commands_;
  GestureEngine* gestures_;
  LaneTokens* tokens_;
  const SpoolKey* spool_key_;
  long long socket_gid_ = -1;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> tls_acceptor_;
  unsigned short tls_port_ = 0;
  std::mutex mu_;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;
  int tls_sessions_ = 0;  // of sessions_, those over TLS (guarded by mu_)
  std::uint64_t next_session_ = 1;
  bool accepting_ = false;
};

}  // namespace regulars::daemon
