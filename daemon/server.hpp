// The till-facing server: framed JSON over a Unix socket (sdk/PROTOCOL.md). One Session per
// connection, each on its own strand; every read has a timeout, every frame a size limit, and a
// connection with too many requests in flight stops being read until answers drain.
#pragma once

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "config.hpp"
#include "hints.hpp"
#include "identity.hpp"
#include "store.hpp"

namespace regulars::daemon {

class Session;

class Server {
 public:
  Server(boost::asio::io_context& io, const Config& config, Store& store, HintEngine& hints, const IdentityKey& key,
         GestureEngine* gestures = nullptr);
  ~Server();

  // Removes a stale socket file (refusing if another daemon answers on it), binds and listens.
  void start();
  // Stops accepting connections; existing sessions keep being served.
  void stop_accepting();
  // Closes every session.
  void close_all();

  const Config& config() const noexcept { return config_; }
  Store& store() noexcept { return store_; }
  HintEngine& hints() noexcept { return hints_; }
  const IdentityKey& key() const noexcept { return key_; }
  GestureEngine* gestures() noexcept { return gestures_; }
  // The tills' group id (listen.group), or -1 when any peer that can open the socket may talk.
  long long socket_gid() const noexcept { return socket_gid_; }
  void forget(std::uint64_t session_id);

 private:
  void do_accept();

  boost::asio::io_context& io_;
  const Config& config_;
  Store& store_;
  HintEngine& hints_;
  const IdentityKey& key_;
  GestureEngine* gestures_;
  long long socket_gid_ = -1;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::mutex mu_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::uint64_t next_session_ = 1;
  bool accepting_ = false;
};

}  // namespace regulars::daemon
