// What sells in the store: for each item the number of baskets that held it, its name and
// category as the tills last sent them, and the store's basket and repeat totals.
//
// Every purchase touches several items, and the items table is small and hot: upserting it per
// purchase dirtied about five random pages of every commit, the largest single cost of a
// durable record. So the writer keeps popularity in memory, where the hints read it, and writes
// the changed items to the items table in the background (Store::flush_popularity). The
// table's watermark (store_meta.items_seq) names the last event it includes; at start-up the
// purchases logged after it are counted again, so a crash loses nothing. The store totals
// change one row per commit and are written with each commit.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "db.hpp"

namespace regulars::daemon {

struct StoreTotals {
  std::int64_t baskets = 0;
  std::int64_t repeat_hits = 0;
  std::int64_t repeat_total = 0;
};

struct ItemInfo {
  std::string name;
  std::string category;
  std::int64_t baskets = 0;
  double qty = 0;
  std::int64_t last_ms = 0;
};

// The popularity effects of some events, not yet visible to readers.
struct PopularityDelta {
  std::unordered_map<std::string, ItemInfo> items;  // name/category empty: unchanged
  StoreTotals totals;
  std::int64_t last_seq = 0;  // the latest event counted

  void item_bought(const std::string& sku, const std::string& name, const std::string& category, double qty,
                   std::int64_t time_ms);
  void add(const PopularityDelta& other);
  bool empty() const { return items.empty() && totals.baskets == 0 && totals.repeat_total == 0 && last_seq == 0; }
  void clear() { *this = PopularityDelta{}; }
};

class Popularity {
 public:
  // Replaces the contents with the items table, the store totals and the watermark.
  void load(Db& db);
  // Makes a committed delta visible (writer thread).
  void merge(const PopularityDelta& delta);

  // Read side (any thread).
  std::optional<ItemInfo> item(const std::string& sku) const;
  // The best sellers: most baskets first, then by SKU.
  std::vector<std::pair<std::string, ItemInfo>> top(std::size_t n) const;
  StoreTotals totals() const;
  std::size_t size() const;

  // Writes the items changed since the last flush and the watermark, inside the caller's
  // transaction (writer thread). Returns the SKUs written; hand them to flush_failed() if that
  // transaction does not commit.
  std::vector<std::string> flush(Db& db);
  void flush_failed(std::vector<std::string> skus);
  std::size_t dirty() const;
  std::int64_t watermark() const;  // the last event counted (merged)

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, ItemInfo> items_;
  StoreTotals totals_;
  std::int64_t merged_seq_ = 0;
  std::unordered_set<std::string> dirty_;  // changed since the last flush (writer thread only)
};

}  // namespace regulars::daemon
