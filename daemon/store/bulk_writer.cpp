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
  for (auto& sent : in_flight_)
    if (sent.results.valid()) sent.results.wait();
}

void BulkWriter::add(PreparedEvent event, std::int64_t tag) {
  batch_.push_back(std::move(event));
  batch_tags_.push_back(tag);
  ++queued_;
}

void BulkWriter::flush() {
  while (in_flight_.size() >= kInFlight) collect_oldest();
  if (batch_.empty()) return;
  in_flight_.push_back(Sent{store_.apply_later(std::move(batch_)), std::move(batch_tags_)});
  batch_ = {};
  batch_tags_ = {};
  batch_.reserve(chunk_);
  batch_tags_.reserve(chunk_);
}

void BulkWriter::finish() {
  flush();
  while (!in_flight_.empty()) collect_oldest();
}

void BulkWriter::collect_oldest() {
  Sent sent = std::move(in_flight_.front());
  in_flight_.pop_front();
  const auto w0 = std::chrono::steady_clock::now();
  const std::vector<WriteResult> results = sent.results.get();
  wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const WriteResult& r = results[i];
    if (r.ok && r.duplicate) {
      ++outcome_.duplicates;
    } else if (r.ok) {
      ++outcome_.stored;
    } else {
      ++outcome_.failed;
      if (on_failure_) on_failure_(i < sent.tags.size() ? sent.tags[i] : 0, r);
    }
  }
}

}  // namespace regulars::daemon
