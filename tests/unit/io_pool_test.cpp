// The I/O threads (net/io_pool.hpp), with and without polling before they sleep: what is posted
// runs, whether it comes while a thread polls or after it went to sleep, and stop() returns
// while a thread is still polling.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "net/io_pool.hpp"

namespace regulars::daemon {
namespace {

using namespace std::chrono_literals;

// Posts `n` handlers round robin and waits (generously) until all have run. What they share is
// theirs too: a handler may still be finishing when the last one has set the promise.
bool all_run(IoPool& pool, int n) {
  struct Shared {
    std::atomic<int> ran{0};
    std::promise<void> done;
  };
  auto shared = std::make_shared<Shared>();
  auto all_done = shared->done.get_future();
  for (int i = 0; i < n; ++i)
    boost::asio::post(pool.next(), [shared, n] {
      if (++shared->ran == n) shared->done.set_value();
    });
  return all_done.wait_for(10s) == std::future_status::ready;
}

TEST(IoPool, RunsWhatIsPostedWhilePollingOrAfterSleepingAndStopsWhilePolling) {
  for (const auto spin : {0us, 5000us}) {
    IoPool pool(2, spin);
    pool.start();
    EXPECT_TRUE(all_run(pool, 100)) << "spin " << spin.count() << " us";
    std::this_thread::sleep_for(spin + 20ms);  // past the polling: both threads sleep
    EXPECT_TRUE(all_run(pool, 100)) << "spin " << spin.count() << " us, after sleeping";
    boost::asio::post(pool.main(), [] {});
    pool.stop();  // just after a handler: the thread is polling
    EXPECT_EQ(pool.size(), 2u);
  }
}

}  // namespace
}  // namespace regulars::daemon
