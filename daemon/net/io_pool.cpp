#include "net/io_pool.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

#include "base/log.hpp"

namespace regulars::daemon {

namespace asio = boost::asio;

struct IoPool::Context {
  // A hint of one thread: the context may skip locking what only its own thread touches.
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{asio::make_work_guard(io)};
};

IoPool::IoPool(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) contexts_.push_back(std::make_unique<Context>());
}

IoPool::~IoPool() { stop(); }

asio::io_context& IoPool::main() noexcept { return contexts_.front()->io; }

asio::io_context& IoPool::next() noexcept {
  return contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()]->io;
}

void IoPool::start() {
  for (auto& c : contexts_)
    threads_.emplace_back([&io = c->io] {
      log::name_thread("rg-io");
      io.run();
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
