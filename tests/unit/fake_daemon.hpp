// A stand-in for regularsd in the plugin's in-process tests: a Unix socket in a temporary
// directory, served by one thread that speaks the real frame protocol (sdk/wire/frame.hpp).
// It answers hello by itself; every other request goes to the test's handler, whose Reply says
// what to send back (an answer, nothing, raw bytes) and whether to hang up.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace regulars::test {

using nlohmann::json;

struct Reply {
  std::string bytes;     // written back as they are: frames, or anything a broken daemon sends
  bool hang_up = false;  // then the connection is closed
};

// {"id": <the request's>, "ok": true, "result": result}, framed.
Reply answer(const json& request, json result = json::object());
// {"id", "ok": false, "error": {"code", "field", "message"}}, framed.
Reply refuse(const json& request, const std::string& code, const std::string& field, const std::string& message);
Reply silence();
Reply hang_up();
Reply raw(std::string bytes);

// A hints answer as small as the protocol allows.
json unknown_customer_answer();

class FakeDaemon {
 public:
  using Handler = std::function<Reply(const json& request)>;

  // Listens at socket_path until destroyed; `hello_result` is what hello answers with.
  FakeDaemon(std::string socket_path, Handler handler, json hello_result = default_hello());
  ~FakeDaemon();  // closes every connection and removes the socket: the daemon has gone
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  static json default_hello();

  void set_handler(Handler handler);
  // Every request but hello, in the order received.
  std::vector<json> requests() const;
  std::vector<json> requests_with_op(const std::string& op) const;
  // Waits until `done(requests())` holds; false if it still does not after `timeout`.
  bool wait_for(const std::function<bool(const std::vector<json>&)>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  struct Peer;
  void serve();
  bool serve_readable(Peer& peer);  // false once the peer is closed
  Reply reply_to(const json& request);

  std::string socket_path_;
  json hello_result_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Handler handler_;             // guarded by mu_
  std::vector<json> requests_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace regulars::test
