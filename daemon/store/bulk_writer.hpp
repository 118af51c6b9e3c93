// Loading many events at once (regularsctl import, the benchmark's store generation): the events
// go to EventStore::apply_now a chunk at a time, one transaction per chunk, on a thread of
// its own, so the caller reads and prepares the next chunk while the store writes this one.
// Runs on the caller's thread plus one std::async thread per chunk in flight (at most one).
#pragma once

#include <cstdint>
#include <functional>
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
  // Waits for the chunk in flight, then sends the queued one.
  void flush();
  // Sends what is queued and waits until the store has applied everything.
  void finish();

  const Outcome& outcome() const { return outcome_; }
  std::int64_t queued() const { return queued_; }
  double wait_s() const { return wait_s_; }  // time the caller spent waiting for the store

 private:
  void collect();

  EventStore& store_;
  const std::size_t chunk_;
  OnFailure on_failure_;
  std::vector<PreparedEvent> batch_;
  std::vector<std::int64_t> batch_tags_;
  std::future<std::vector<WriteResult>> pending_;
  std::vector<std::int64_t> pending_tags_;
  Outcome outcome_;
  std::int64_t queued_ = 0;
  double wait_s_ = 0;
};

}  // namespace regulars::daemon
