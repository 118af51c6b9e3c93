// The client behind a regulars_client handle: the calls the till makes, each bounded by the time
// budget, and a background thread that reconnects, checks a suspect daemon and replays the spool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "connection.hpp"
#include "options.hpp"
#include "spool.hpp"
#include "spool_writer.hpp"

namespace regulars::plugin {

class Client {
 public:
  // Throws std::system_error when the spool directory cannot be used. `spool_sync` flushes the
  // spool's file (tests make it fail).
  explicit Client(Options options, FileSync spool_sync = files::sync_data);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  regulars_status hints(const char* request_json, std::string& response, std::string& why);
  regulars_status record(const char* event_json, std::string& why);
  // Requests the current connection holds for answers nobody has taken yet (0 without one).
  std::size_t calls_in_flight();

 private:
  std::shared_ptr<Connection> usable_connection();
  void suspect(const std::shared_ptr<Connection>& conn);
  void wake_background();
  void background_loop();
  bool try_connect();
  bool replay_own(const std::shared_ptr<Connection>& conn);
  bool replay_orphans(const std::shared_ptr<Connection>& conn);
  // Sends spooled records; those that can never be delivered are quarantined, with `origin` in
  // their name. False when the replay must stop and be tried again later.
  bool deliver(const std::shared_ptr<Connection>& conn, const std::vector<std::string>& payloads,
               const std::string& origin);
  std::optional<nlohmann::json> replay_request(const std::string& payload, std::uint32_t max_frame, bool& retry,
                                               std::string& why);
  regulars_status spool_or_fail(std::string payload, const std::string& event_id, regulars_status daemon_status,
                                Deadline deadline, std::string& why);
  // The daemon's spool key: from the last hello, else as kept in the spool directory, else (a
  // local daemon) DATA_DIR/spool.pub beside its socket.
  std::optional<seal::PublicKey> spool_key();
  void learn_spool_key(const Connection& conn);
  // The daemon's frame limit as kept beside the spool at an earlier hello, for a till that opens
  // while the daemon is away.
  void recall_frame_limit();

  Options options_;
  std::shared_ptr<tls::Context> tls_;  // tls: endpoints only
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<SpoolWriter> writer_;  // appends to spool_ off the till's thread
  std::mutex key_mu_;
  std::optional<seal::PublicKey> spool_key_;  // guarded by key_mu_
  std::atomic<std::uint32_t> max_frame_bytes_{1u << 20};  // the daemon's, from its last hello

  std::mutex conn_mu_;
  std::shared_ptr<Connection> conn_;
  std::shared_ptr<Connection> connecting_;  // so the destructor can abort a handshake
  bool stopping_now_ = false;               // guarded by conn_mu_
  std::string last_failure_;                // why the last reconnection failed; guarded by conn_mu_
  std::atomic<bool> suspect_{false};        // a call timed out: fail fast until a ping succeeds

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stopping_ = false;
  bool wake_ = false;
  std::thread background_;
};

}  // namespace regulars::plugin
