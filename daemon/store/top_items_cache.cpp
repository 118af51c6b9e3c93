#include "store/top_items_cache.hpp"

#include <algorithm>

namespace regulars::daemon {

TopItemsCache::TopItemsCache(std::size_t capacity) : per_shard_(std::max<std::size_t>(1, capacity / kShards)) {}

std::optional<std::vector<ItemStat>> TopItemsCache::find(std::int64_t customer_id, int limit) const {
  if (limit > kRows) return std::nullopt;  // more than is kept: only the store knows
  std::shared_ptr<const std::vector<Row>> rows;
  {
    Shard& s = shard_of(customer_id);
    std::lock_guard lock(s.mu);
    const auto it = s.rows.find(customer_id);
    if (it == s.rows.end()) return std::nullopt;
    rows = it->second;
  }
  // Copied outside the lock: the answer adds the store's figures to its own copy.
  const auto n = std::min(rows->size(), static_cast<std::size_t>(std::max(0, limit)));
  std::vector<ItemStat> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Row& r = (*rows)[i];
    out.push_back(ItemStat{r.sku, "", r.baskets, r.last_ms, r.first_ms, r.category, r.returned, r.dsum, r.dvis, 0});
  }
  return out;
}

void TopItemsCache::offer(std::int64_t customer_id, std::uint64_t since, const std::vector<ItemStat>& rows) {
  if (rows.size() < static_cast<std::size_t>(kRows)) return;  // a short history: cheap to read
  auto compact = std::make_shared<std::vector<Row>>();
  compact->reserve(kRows);
  for (int i = 0; i < kRows; ++i) {
    const ItemStat& r = rows[static_cast<std::size_t>(i)];
    compact->push_back(Row{r.sku, r.category, r.baskets, r.last_ms, r.first_ms, r.dvis, r.returned, r.dsum});
  }
  std::shared_ptr<const std::vector<Row>> kept = std::move(compact);
  Shard& s = shard_of(customer_id);
  std::lock_guard lock(s.mu);
  if (s.last_forget > since) return;  // the snapshot may predate a change to this customer
  if (s.rows.size() >= per_shard_ && !s.rows.count(customer_id)) s.rows.erase(s.rows.begin());  // any one makes room
  s.rows[customer_id] = std::move(kept);
}

void TopItemsCache::forget(std::int64_t customer_id) {
  const std::uint64_t e = forgets_.fetch_add(1, std::memory_order_acq_rel) + 1;
  Shard& s = shard_of(customer_id);
  std::lock_guard lock(s.mu);
  s.last_forget = e;
  s.rows.erase(customer_id);
}

void TopItemsCache::clear() {
  const std::uint64_t e = forgets_.fetch_add(1, std::memory_order_acq_rel) + 1;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    s.last_forget = e;
    s.rows.clear();
  }
}

bool TopItemsCache::contains(std::int64_t customer_id) const {
  Shard& s = shard_of(customer_id);
  std::lock_guard lock(s.mu);
  return s.rows.count(customer_id) > 0;
}

std::size_t TopItemsCache::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.rows.size();
  }
  return n;
}

}  // namespace regulars::daemon
