// The I/O threads: one io_context, and one thread running it, per I/O thread. A till's
// connection belongs to one of them for its whole life, so reading a request, answering it and
// writing the answer all happen on one thread, with no hand-off through a scheduler shared by
// every thread (on a 2-core machine that hand-off cost more CPU than building the answer).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace regulars::daemon {

class IoPool {
 public:
  // threads >= 1; none runs until start(). After handlers have run, each thread polls for `spin`
  // before it sleeps (0: sleeps at once).
  explicit IoPool(int threads, std::chrono::microseconds spin = std::chrono::microseconds(0));
  ~IoPool();                     // stops and joins
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // The first thread's context: the listeners, signals and the admin API live here.
  boost::asio::io_context& main() noexcept;
  // The context a new connection goes to, round robin (any thread may ask).
  boost::asio::io_context& next() noexcept;
  std::size_t size() const noexcept { return contexts_.size(); }

  // Starts one thread per context, named `rg-io`.
  void start();
  // Lets every context return once its work is done, stops them and joins the threads.
  void stop();

 private:
  struct Context;
  std::vector<std::unique_ptr<Context>> contexts_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
  std::chrono::microseconds spin_{0};
};

}  // namespace regulars::daemon
