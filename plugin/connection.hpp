// One connection to regularsd: its Unix socket, or TCP with TLS for a lane on another machine.
// Any number of threads may have calls in flight. There is no reader thread: one waiting caller
// at a time reads the socket for everyone (leader/follower), hands other callers their answers
// by request id, and passes the role on when its own answer is in. A single call in flight thus
// reads its own answer, with no wake-up of a second thread in between. Nothing here waits past
// the caller's deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "deadline.hpp"
#include "options.hpp"
#include "platform/socket.hpp"
#include "seal.hpp"
#include "tls.hpp"
#include "regulars/regulars.h"
#include "wire/error.hpp"
#include "wire/frame.hpp"

namespace regulars::plugin {

struct CallResult {
  regulars_status status = REGULARS_INTERNAL;
  nlohmann::json result;               // the response's "result" on OK
  std::string raw_result;              // instead, on OK from call_raw: the result as the daemon wrote it
  std::optional<wire::Error> error;    // the daemon's typed error, if it sent one
  std::string message;                 // what went wrong, for regulars_last_error
};

class Connection {
 public:
  // Connects (and, for a tls: endpoint, runs the TLS handshake with `tls`) until `deadline`;
  // no hello yet. nullptr with `failure` filled when the daemon cannot be reached.
  static std::shared_ptr<Connection> connect(const Options& options, const std::shared_ptr<tls::Context>& tls,
                                             Deadline deadline, CallResult& failure);
  // The hello exchange that opens every connection (with the lane's token over TLS);
  // REGULARS_OK when the daemon accepted us.
  CallResult handshake(const Options& options, Deadline deadline);
  // connect() followed by handshake().
  static std::shared_ptr<Connection> open(const Options& options, const std::shared_ptr<tls::Context>& tls,
                                          Deadline deadline, CallResult& failure);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one request (an object without "id") and waits for its response.
  CallResult call(nlohmann::json request, Deadline deadline);
  // The same, for a result that goes to the caller as text: the daemon's bytes, checked to be
  // one JSON object (within the depth limit, valid UTF-8) but never parsed into values.
  CallResult call_raw(nlohmann::json request, Deadline deadline);

  // Sends a request and returns its id without waiting; 0 if it could not be sent.
  std::uint64_t send(nlohmann::json request, Deadline deadline, CallResult& failure);
  // Waits for the response to a request sent with send().
  CallResult await(std::uint64_t id, Deadline deadline, bool raw = false);

  // False once the stream has failed. When no call is reading, first reads what is already
  // there: a late answer is dropped, and a daemon that closed the connection is noticed now.
  bool alive() noexcept;
  // Requests sent and not yet awaited (or given up on): what the connection still holds for them.
  std::size_t calls_in_flight();
  // The daemon said at hello that hints requests may carry cashier, terminal and store (an
  // older one refuses unknown fields).
  bool hints_take_who() const noexcept { return hints_take_who_.load(); }
  // The daemon's spool key, from hello (set before the connection is handed out).
  const std::optional<seal::PublicKey>& spool_key() const noexcept { return spool_key_; }
  // The largest frame the daemon takes (from hello; 1 MiB, the default, until then).
  std::uint32_t max_frame_bytes() const noexcept { return max_frame_bytes_; }
  // Marks the connection dead and wakes every waiter, the one reading included.
  void shut_down() noexcept;
  // How long a caller polls for its answer before it sleeps (Options::wait_spin_us).
  std::chrono::microseconds wait_spin() const noexcept { return spin_; }

 private:
  Connection(net::Socket fd, std::unique_ptr<tls::Channel> channel);
  // The socket, and TLS over it when the options ask for it: connect() without the options it applies.
  static std::shared_ptr<Connection> connect_stream(const Options& options, const std::shared_ptr<tls::Context>& tls,
                                                    Deadline deadline, CallResult& failure);
  // Before sleeping for the socket: polls for up to wait_spin_us (read_until).
  int poll_briefly(net::Want wait, Deadline deadline);
  // For the caller holding the reading role: reads until `id`'s answer is in, the deadline passes
  // or the stream fails. With id 0 and a deadline of now: one read of what is there.
  void read_until(std::uint64_t id, Deadline deadline);
  // read_until, for the role's holder to call: an exception (out of memory) ends the connection
  // instead of leaving the role taken.
  void read_guarded(std::uint64_t id, Deadline deadline) noexcept;
  // Takes the reading role (free, `lock` held on mu_), reads, and gives the role back.
  void read_in_turn(std::unique_lock<std::mutex>& lock, std::uint64_t id, Deadline deadline) noexcept;
  // Hands each whole answer in `decoder_` to its waiting caller; false if the stream failed.
  bool route_answers(std::uint64_t id, bool& answered);
  bool response_id(const std::string& payload, std::uint64_t& id);
  static CallResult ok_result(std::string_view result, bool raw);
  static CallResult from_response(std::string_view text, bool raw);
  static constexpr int kMaxAnswerDepth = 64;
  // One write or read on the socket, through TLS when there is a channel; `wait` is set to what
  // to wait for when nothing could be done now. False on a closed or failed stream,
  // with `why` filled.
  bool write_some(const char* data, std::size_t len, std::size_t& n, net::Want& wait, std::string& why);
  bool read_some(char* buf, std::size_t cap, std::size_t& n, net::Want& wait, std::string& why);
  void fail_all(const std::string& why);

  net::Socket fd_;
  std::unique_ptr<tls::Channel> channel_;  // null over the Unix socket
  // One writer at a time, waited for no longer than the caller's deadline. (A flag under a
  // condition variable rather than std::timed_mutex, which ThreadSanitizer cannot follow.)
  std::mutex write_mu_;
  std::condition_variable write_cv_;
  bool writing_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::uint64_t, std::optional<std::string>> pending_;  // id -> the response's text once arrived
  bool reading_ = false;  // under mu_: a caller holds the reading role
  // Used only by the caller holding the reading role (handed over under mu_).
  wire::FrameDecoder decoder_{64u << 20};  // answers may be larger than requests
  std::vector<char> read_buf_ = std::vector<char>(64 * 1024);
  std::chrono::microseconds spin_{0};  // Options::wait_spin_us
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<bool> dead_{false};
  std::atomic<bool> hints_take_who_{false};
  std::optional<seal::PublicKey> spool_key_;
  std::uint32_t max_frame_bytes_ = 1u << 20;
  std::string death_reason_;
};

// Maps a daemon error code to the C status an integrator sees.
regulars_status status_for(wire::ErrorCode code) noexcept;

}  // namespace regulars::plugin
