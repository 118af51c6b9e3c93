#include "store/bulk_writer.hpp"

#include <chrono>
#include <utility>

namespace regulars::daemon {

BulkWriter::BulkWriter(EventStore& store, std::size_t chunk, OnFailure on_failure)
    : store_(store), chunk_(chunk == 0 ? 1 : chunk), on_failure_(std::move(on_failure)) {
  batch_.reserve(chunk_);
  batch_tags_.reserve(chunk_);
}

BulkWriter::~BulkWriter() {
  if (pending_.valid()) pending_.wait();
}

void BulkWriter::add(PreparedEvent event, std::int64_t tag) {
  batch_.push_back(std::move(event));
  batch_tags_.push_back(tag);
  ++queued_;
}

void BulkWriter::flush() {
  collect();
  if (batch_.empty()) return;
  pending_ = std::async(std::launch::async,
                        [&store = store_, b = std::move(batch_)]() mutable { return store.apply_now(std::move(b)); });
  pending_tags_ = std::move(batch_tags_);
  batch_ = {};
  batch_tags_ = {};
  batch_.reserve(chunk_);
  batch_tags_.reserve(chunk_);
}

void BulkWriter::finish() {
  flush();
  collect();
}

void BulkWriter::collect() {
  if (!pending_.valid()) return;
  const auto w0 = std::chrono::steady_clock::now();
  const std::vector<WriteResult> results = pending_.get();
  wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const WriteResult& r = results[i];
    if (r.ok && r.duplicate) {
      ++outcome_.duplicates;
    } else if (r.ok) {
      ++outcome_.stored;
    } else {
      ++outcome_.failed;
      if (on_failure_) on_failure_(i < pending_tags_.size() ? pending_tags_[i] : 0, r);
    }
  }
  pending_tags_.clear();
}

}  // namespace regulars::daemon
