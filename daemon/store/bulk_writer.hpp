// Loading many events at once (regularsctl import, the benchmark's generation): the events
// go to the store a chunk at a time, one transaction per chunk, queued in order on the caller's
// thread (EventStore::apply_later). Two chunks may be in flight, so the writer applies the next
// while the syncer flushes the one before, and the caller reads and prepares a third meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <deque>
#include <future>
#include <vector>

#include "store/event_store.hpp"

namespace regulars::daemon {

class BulkWriter {
 public:
  // The writer cache of a store opened for a bulk load (EventStore::Options::writer_cache_mib).
  // Its commits are a chunk apart, so a large cache costs them little and saves a read(2) of
  // most of the pages each chunk touches again.
  static constexpr int kCacheMib = 256;

  // What became of the events sent so far, once the store has answered for them.
  struct Outcome {
    std::int64_t stored = 0;
    std::int64_t duplicates = 0;  // already in the log (an import run twice): nothing changed
    std::int64_t failed = 0;      // refused by the store; `on_failure` was told which
  };
  // Called on the caller's thread with the tag given to `add` and the store's answer.
  using OnFailure = std::function<void(std::int64_t tag, const WriteResult& result)>;

  BulkWriter(EventStore& store, std::size_t chunk, OnFailure on_failure = {});
  ~BulkWriter();  // waits for the chunk in flight; call finish() to see its outcome
  BulkWriter(const BulkWriter&) = delete;
  BulkWriter& operator=(const BulkWriter&) = delete;

  // Queues one prepared event; `tag` comes back with a failure (a line number, say).
  void add(PreparedEvent event, std::int64_t tag = 0);
  bool full() const { return batch_.size() >= chunk_; }
  // Sends the queued chunk, once fewer than kInFlight are waiting for the store's answers.
  void flush();
  // Sends what is queued and waits until the store has applied everything.
  void finish();

  const Outcome& outcome() const { return outcome_; }
  std::int64_t queued() const { return queued_; }
  double wait_s() const { return wait_s_; }  // time the caller spent waiting for the store

 private:
  static constexpr std::size_t kInFlight = 2;
  struct Sent {
    std::future<std::vector<WriteResult>> results;
    std::vector<std::int64_t> tags;
  };
  // Waits for the oldest chunk in flight and counts its answers.
  void collect_oldest();

  EventStore& store_;
  const std::size_t chunk_;
  OnFailure on_failure_;
  std::vector<PreparedEvent> batch_;
  std::vector<std::int64_t> batch_tags_;
  std::deque<Sent> in_flight_;
  Outcome outcome_;
  std::int64_t queued_ = 0;
  double wait_s_ = 0;
};

}  // namespace regulars::daemon
