// The top items of customers with a long history, kept in memory between hints answers.
//
// A customer's items are not indexed by rank (schema v13: that index cost every purchase line a
// random write), so `EventStore::top_items` reads and sorts every item the customer ever bought:
// a customer with hundreds of items paid for each of them on every hints call. Their first
// kRows rows by rank are kept here instead, so the answer's cost stops growing with the history.
// Customers with fewer items are not kept: reading them is as cheap as a lookup here.
//
// Freshness: the writer forgets a customer after each commit that changed them (and clears
// everything after a rebuild or a prune), before anything about that commit is acknowledged. A
// reader offers rows it read in a snapshot that began after `epoch()` returned e0; the offer is
// refused when anything in the same shard was forgotten after e0, since that change may be
// missing from the snapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/customer_view.hpp"

namespace regulars::daemon {

class TopItemsCache {
 public:
  // Rows kept per customer: above what a hints answer asks for with a usual basket (50 + a few).
  static constexpr int kRows = 64;

  explicit TopItemsCache(std::size_t capacity);

  // The first `limit` rows by rank, when they are known here.
  std::optional<std::vector<ItemStat>> find(std::int64_t customer_id, int limit) const;
  // For readers: take this before the read transaction whose rows will be offered.
  std::uint64_t epoch() const noexcept { return forgets_.load(std::memory_order_acquire); }
  // `rows`: the customer's first kRows rows by rank, read in a snapshot begun after `since`.
  // Kept only for a customer with at least kRows items, and only if still current.
  void offer(std::int64_t customer_id, std::uint64_t since, const std::vector<ItemStat>& rows);

  // Writer side, after the commit that changed the customer.
  void forget(std::int64_t customer_id);
  void clear();

  bool contains(std::int64_t customer_id) const;
  std::size_t size() const;
  std::size_t capacity() const noexcept { return per_shard_ * kShards; }

 private:
  // An ItemStat without what the answer adds from the store's popularity (name, store figures):
  // about 110 bytes a row, 7 KiB a customer.
  struct Row {
    std::string sku, category;
    std::int64_t baskets, last_ms, first_ms, dvis;
    double returned, dsum;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::int64_t, std::shared_ptr<const std::vector<Row>>> rows;
    std::uint64_t last_forget = 0;  // the epoch of the last forget here
  };
  static constexpr std::size_t kShards = 64;
  Shard& shard_of(std::int64_t customer_id) const { return shards_[static_cast<std::uint64_t>(customer_id) % kShards]; }

  std::size_t per_shard_;
  std::atomic<std::uint64_t> forgets_{0};
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace regulars::daemon
