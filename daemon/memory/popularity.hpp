// What sells in the store: for each item the number of baskets that held it, its name and
// category as the tills last sent them, and the store's basket and repeat totals.
//
// Every purchase touches several items, and the items table is small and hot: upserting it per
// purchase dirtied about five random pages of every commit, the largest single cost of a
// durable record. So the writer keeps popularity in memory, where the hints read it, and writes
// the changed items to the items table in the background (EventStore::flush_popularity). The
// table's watermark (store_meta.items_seq) names the last event it includes; at start-up the
// purchases logged after it are counted again, so a crash loses nothing. The store totals
// change one row per commit and are written with each commit.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/string_hash.hpp"
#include "db/db.hpp"
#include "memory/blend.hpp"
#include "memory/followed_on.hpp"
#include "memory/item_id.hpp"

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
  std::int64_t buyers = 0;  // distinct customers; in memory only, counted from customer_items at load
};

// One purchase seen as "customers who had these items (seeds) went on to buy these".
struct Transition {
  std::vector<std::string> seeds;   // the customer's top items before the purchase
  std::vector<std::string> basket;  // the purchase's distinct SKUs
};

// An item's most frequent successors, as counted by Space-Saving: at most kMaxNeighbours kept
// (in SKU order); a newcomer to a full list replaces the smallest count (ties: the smallest SKU)
// and inherits that count plus one, so frequent successors are never lost.
struct Neighbour {
  ItemId item = kNoItem;
  std::int64_t count = 0;
};
struct ItemSource {
  std::int64_t transitions = 0;  // purchases with this item among the seeds
  std::vector<Neighbour> neighbours;
};
inline constexpr std::size_t kMaxNeighbours = 32;

// The popularity effects of some events, not yet visible to readers.
struct PopularityDelta {
  std::unordered_map<std::string, ItemInfo> items;  // name/category empty: unchanged
  StoreTotals totals;
  std::vector<Transition> transitions;
  std::vector<HoldOut> holdouts;  // measured against the store as it stands when merged
  std::int64_t last_seq = 0;  // the latest event counted

  // new_buyer: the customer had never bought the item before.
  void item_bought(const std::string& sku, const std::string& name, const std::string& category, double qty,
                   std::int64_t time_ms, bool new_buyer = false);
  bool empty() const {
    return items.empty() && transitions.empty() && holdouts.empty() && totals.baskets == 0 && totals.repeat_total == 0 &&
           last_seq == 0;
  }
  void clear() { *this = PopularityDelta{}; }
};

// What one customer added to an item's counts (their customer_items row).
struct BuyerShare {
  std::string sku;
  std::int64_t baskets = 0;
  double qty = 0;
};

class Popularity {
 public:
  // Replaces the contents with the items and transitions tables, the store totals and the
  // watermark.
  void load(Db& db);
  // Empties everything (a rebuild counts again from the log; merge() marks all it adds dirty).
  void clear();
  // Makes a committed delta visible (writer thread).
  void merge(const PopularityDelta& delta);

  // Read side (any thread).
  class Reading;
  // Everything one answer reads, under one shared lock and without copies (see Reading).
  Reading read() const;
  std::optional<ItemInfo> item(const std::string& sku) const;
  // The best sellers: most baskets first, then by SKU.
  struct Ranked {
    std::string sku;
    ItemId id;
    ItemInfo info;
  };
  std::vector<Ranked> top(std::size_t n) const;
  StoreTotals totals() const;
  // Share of basket lines that repeated an item the customer had bought before.
  double repeat_share() const;
  // The blend's weights and measurements (memory/blend.hpp).
  BlendWeights blend_weights() const;
  nlohmann::json describe_blend() const;
  std::size_t size() const;

  // Writes the items changed since the last flush and the watermark, inside the caller's
  // transaction (writer thread). Returns the SKUs written; hand them to flush_failed() if that
  // transaction does not commit.
  // with_sources: also the successors, and their own watermark (store_meta.sources_seq); they
  // change on every purchase for ten items at once, so the writer writes them less often.
  std::vector<std::string> flush(Db& db, bool with_sources);
  void flush_failed(std::vector<std::string> skus);
  // An erased customer's purchases leave the counts: each item loses their baskets and quantity,
  // and an item nobody else bought goes whole (its name, its last purchase time, its successors
  // and its place among other items' successors), from memory and from `db` (the erasure's
  // transaction, writer thread), as do their `totals` from the store's; each share is one buyer
  // fewer. Returns the SKUs that
  // went. A shared item keeps its last purchase time: one time among several buyers' says
  // nothing of whose it was.
  std::vector<std::string> forget_buyer(Db& db, const std::vector<BuyerShare>& shares, const StoreTotals& totals);
  std::size_t dirty() const;
  std::int64_t watermark() const;  // the last event counted (merged)
  // The last event included in the items table, and in item_sources (as loaded).
  std::int64_t items_watermark() const { return loaded_items_seq_; }
  std::int64_t sources_watermark() const { return loaded_sources_seq_; }

 private:
  // Every item met, by its ItemId: counted (bought, and not since forgotten by an erasure) or only
  // named in a successor list or as a seed.
  struct Slot {
    std::string sku;
    ItemInfo info;
    bool counted = false;
    bool followed = false;  // `source` holds what followed it
    ItemSource source;
  };

  ItemId intern(std::string_view sku);  // under the exclusive lock
  std::vector<Ranked> top_locked(std::size_t n) const;
  const Slot* find(std::string_view sku) const;
  std::vector<SeedSource> sources_of(const std::vector<std::string_view>& seeds) const;
  void count_successor(ItemSource& src, ItemId item);
  std::string encode_successors(const ItemSource& src) const;
  void decode_successors(const std::string& text, ItemSource& into);
  void forget_items(const std::vector<ItemId>& gone);

  mutable std::shared_mutex mu_;
  std::vector<Slot> slots_;
  StringMap<ItemId> ids_;
  std::size_t counted_ = 0;
  StoreTotals totals_;
  std::int64_t merged_seq_ = 0;
  std::int64_t loaded_items_seq_ = 0, loaded_sources_seq_ = 0;
  std::unordered_set<ItemId> dirty_;  // changed since the last flush (writer thread only)
  std::unordered_set<ItemId> dirty_sources_;
  double line_total_ = 0, buyer_total_ = 0;  // sums of baskets and buyers over the items
  Blend blend_;
  StoreView best_;  // what hold-outs are measured against; listed again every few hundred
  std::int64_t best_age_ = 0;
  std::array<std::uint64_t, kSegments> holdouts_scored_{};  // per segment since start-up (writer thread), for Blend::wants_lists

  // Scores a hold-out against the popularity as it stands (writer thread, under at least a shared
  // lock; best_ is the writer's own).
  Blend::HoldOutScore score(const HoldOut& h);
  std::vector<Followed> neighbours_new_to(const std::vector<SeedSource>& sources, const std::vector<ItemId>& known, const FollowedOn& on) const;
  double repeat_share_locked() const;
};

// A read of the popularity that holds its shared lock until it goes: pointers and views it hands
// out stay valid while it lives. For one answer's many lookups; keep it short (the writer's
// merge waits for it), and take no other lock of Popularity's while holding it.
class Popularity::Reading {
 public:
  explicit Reading(const Popularity& p) : p_(p), lock_(p.mu_) {}
  ItemId id(std::string_view sku) const {
    const auto it = p_.ids_.find(sku);
    return it == p_.ids_.end() ? kNoItem : it->second;
  }
  // Null for an item the store does not count (never bought, or forgotten).
  const ItemInfo* item(ItemId id) const {
    return id < p_.slots_.size() && p_.slots_[id].counted ? &p_.slots_[id].info : nullptr;
  }
  const ItemInfo* item(std::string_view sku) const { return item(id(sku)); }
  std::string_view sku(ItemId id) const { return p_.slots_.at(id).sku; }
  // Each seed's successors, most frequent first (ties by SKU); seeds nobody has followed yet are left out.
  std::vector<SeedSource> sources_of(const std::vector<std::string_view>& seeds) const { return p_.sources_of(seeds); }
  const StoreTotals& totals() const { return p_.totals_; }
  double repeat_share() const { return p_.repeat_share_locked(); }
  const BlendWeights& blend_weights() const { return p_.blend_.weights(); }

 private:
  const Popularity& p_;
  std::shared_lock<std::shared_mutex> lock_;
};

inline Popularity::Reading Popularity::read() const { return Reading(*this); }

}  // namespace regulars::daemon
