// The Redis arm of regulars-bench: a redis-server of the bench's own (a Unix socket in a private
// directory, no TCP port, no persistence) holding one 1 KB value, and one blocking client that
// GETs it, as a team would keep a customer's hints in a cache.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.hpp"

namespace regulars::bench {

// A blocking RESP2 connection over a Unix socket: enough for SET, GET and PING.
class RespConnection {
 public:
  // Throws with the socket error.
  explicit RespConnection(const std::string& socket_path);
  ~RespConnection();
  RespConnection(const RespConnection&) = delete;
  RespConnection& operator=(const RespConnection&) = delete;

  // Sends one command and reads its whole reply: the text of a simple or bulk string, or the
  // digits of an integer. Throws on an error reply, a nil, a malformed reply or a closed socket.
  std::string call(std::initializer_list<std::string_view> args);
  // How long a read polls the socket before it blocks (0: blocks at once), as the hints client
  // of the same run waits for its answers (the plugin's wait_spin_us).
  void set_wait_spin(std::chrono::microseconds spin) { spin_ = spin; }

 private:
  void send_all(const std::string& bytes);
  void fill();                           // reads what the socket has into in_, at least one byte
  std::string read_line();               // up to "\r\n", which it consumes
  std::string read_bulk(std::size_t n);  // n bytes and the "\r\n" after them

  int fd_ = -1;
  std::chrono::microseconds spin_{0};
  std::string in_;
  std::size_t pos_ = 0;  // what of in_ is consumed
};

class RedisReference {
 public:
  static constexpr std::size_t kValueBytes = 1024;

  // Starts `exe` with its socket, working directory and log in `dir` (private, made by the caller),
  // waits up to 10 s for it to answer PING, and SETs the value. Throws with the server's log.
  RedisReference(const std::string& exe, const std::string& dir);

  // `n` GETs of the value back to back, each read waiting as `spin` says (RespConnection::
  // set_wait_spin); the round trip of each, reply read and checked, is appended to `ns`. Throws
  // when a reply is not the value.
  void time_gets(std::size_t n, std::vector<std::int64_t>& ns, std::chrono::microseconds spin);

  // SIGTERM, then wait; a description of how it ended.
  std::string stop();

 private:
  tools::ChildProcess server_;
  std::string socket_;
  std::string value_;
  std::optional<RespConnection> conn_;
};

}  // namespace regulars::bench
