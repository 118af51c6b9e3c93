#include "net/io_pool.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "base/log.hpp"

namespace regulars::daemon {

namespace asio = boost::asio;

struct IoPool::Context {
  // A hint of one thread: the context may skip locking what only its own thread touches.
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{asio::make_work_guard(io)};
};

namespace {

// Runs the loop until it is stopped. After handlers have run it keeps polling for `spin` before it
// sleeps in the reactor again, yielding to any other thread that is ready: a request that follows
// soon after (the next call of the same till, another till's) then finds the thread awake and its
// core's caches warm, instead of paying for the wake-up of an idle core.
void run_spinning(asio::io_context& io, std::chrono::microseconds spin) {
  if (spin.count() == 0) {
    io.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  while (io.run_one() > 0) {
    auto until = clock::now() + spin;
    while (!io.stopped() && clock::now() < until) {
      if (io.poll() > 0) until = clock::now() + spin;
      else std::this_thread::yield();
    }
  }
}

}  // namespace

IoPool::IoPool(int threads, std::chrono::microseconds spin) : spin_(std::max(spin, std::chrono::microseconds(0))) {
  for (int i = 0; i < std::max(1, threads); ++i) contexts_.push_back(std::make_unique<Context>());
}

IoPool::~IoPool() { stop(); }

asio::io_context& IoPool::main() noexcept { return contexts_.front()->io; }

asio::io_context& IoPool::next() noexcept {
  return contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()]->io;
}

void IoPool::start() {
  for (auto& c : contexts_)
    threads_.emplace_back([&io = c->io, spin = spin_] {
      log::name_thread("rg-io");
      run_spinning(io, spin);
    });
}

void IoPool::stop() {
  for (auto& c : contexts_) {
    c->work.reset();
    c->io.stop();
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace regulars::daemon
