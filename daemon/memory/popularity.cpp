#include "memory/popularity.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>

namespace regulars::daemon {

void PopularityDelta::item_bought(const std::string& sku, const std::string& name, const std::string& category,
                                  double qty, std::int64_t time_ms, bool new_buyer) {
  ItemInfo& i = items[sku];
  i.baskets += 1;
  if (new_buyer) i.buyers += 1;
  i.qty += qty;
  if (!name.empty()) i.name = name;
  if (!category.empty()) i.category = category;
  i.last_ms = std::max(i.last_ms, time_ms);
}

ItemId Popularity::intern(std::string_view sku) {
  if (const auto it = ids_.find(sku); it != ids_.end()) return it->second;
  const auto id = static_cast<ItemId>(slots_.size());
  slots_.push_back(Slot{std::string(sku), {}, false, false, {}});
  ids_.emplace(std::string(sku), id);
  return id;
}

const Popularity::Slot* Popularity::find(std::string_view sku) const {
  const auto it = ids_.find(sku);
  return it == ids_.end() ? nullptr : &slots_[it->second];
}

void Popularity::count_successor(ItemSource& src, ItemId item) {
  // The list is kept in SKU order: finding a successor is a binary search, and the first
  // smallest count in that order is the one the rule replaces.
  auto& list = src.neighbours;
  const std::string_view sku = slots_[item].sku;
  const auto by_sku = [this](const Neighbour& n, std::string_view s) { return std::string_view(slots_[n.item].sku) < s; };
  auto at = std::lower_bound(list.begin(), list.end(), sku, by_sku);
  if (at != list.end() && at->item == item) {
    ++at->count;
    return;
  }
  if (list.size() < kMaxNeighbours) {
    list.insert(at, Neighbour{item, 1});
    return;
  }
  auto smallest = list.begin();
  for (auto it = list.begin(); it != list.end(); ++it)
    if (it->count < smallest->count) smallest = it;
  const std::int64_t count = smallest->count + 1;
  // The newcomer takes the smallest one's slot, moved to its own place in SKU order: only the
  // entries between the two shift by one.
  if (smallest < at) {
    std::rotate(smallest, smallest + 1, at);
    *(at - 1) = Neighbour{item, count};
  } else {
    std::rotate(at, smallest, smallest + 1);
    *at = Neighbour{item, count};
  }
}

// How item_sources.successors stores a list (see schema v7), and back.
std::string Popularity::encode_successors(const ItemSource& src) const {
  std::string out;
  for (const auto& n : src.neighbours) {
    if (!out.empty()) out += '\x1e';
    out += slots_[n.item].sku;
    out += '\x1f';
    out += std::to_string(n.count);
  }
  return out;
}

void Popularity::decode_successors(const std::string& text, ItemSource& into) {
  into.neighbours.clear();
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\x1e', pos), text.size());
    const std::size_t sep = text.find('\x1f', pos);
    if (sep == std::string::npos || sep > end) break;  // not written by encode_successors: stop there
    const ItemId item = intern(std::string_view(text).substr(pos, sep - pos));
    into.neighbours.push_back({item, std::strtoll(text.c_str() + sep + 1, nullptr, 10)});
    pos = end + 1;
  }
  std::sort(into.neighbours.begin(), into.neighbours.end(), [this](const Neighbour& a, const Neighbour& b) {
    return slots_[a.item].sku < slots_[b.item].sku;  // as count_successor keeps them
  });
}

std::vector<SeedSource> Popularity::sources_of(const std::vector<std::string_view>& seeds) const {
  std::vector<SeedSource> out;
  for (const std::string_view seed : seeds) {
    const Slot* slot = find(seed);
    if (slot == nullptr || !slot->followed) continue;
    SeedSource& s = out.emplace_back();
    s.transitions = slot->source.transitions;
    s.by_count.reserve(slot->source.neighbours.size());
    for (const auto& n : slot->source.neighbours) s.by_count.push_back(&n);
    // Kept in SKU order, so a stable sort by count breaks ties by SKU without comparing one.
    std::stable_sort(s.by_count.begin(), s.by_count.end(), [](const Neighbour* a, const Neighbour* b) { return a->count > b->count; });
  }
  return out;
}

void Popularity::clear() {
  std::unique_lock lock(mu_);
  slots_.clear();
  ids_.clear();
  counted_ = 0;
  totals_ = StoreTotals{};
  merged_seq_ = 0;
  dirty_.clear();
  dirty_sources_.clear();
  line_total_ = buyer_total_ = 0;
  blend_.clear();
  best_ = StoreView{};
  best_age_ = 0;
}

void Popularity::load(Db& db) {
  // Read first, then number the items under the lock: the hints go on reading meanwhile.
  struct ItemRow {
    std::string sku;
    ItemInfo info;
  };
  struct SourceRow {
    std::string src, successors;
    std::int64_t transitions;
  };
  std::vector<ItemRow> items;
  {
    Stmt s(db.raw(), "SELECT sku, coalesce(name, ''), coalesce(category, ''), baskets, qty, last_ms FROM items");
    while (s.step()) items.push_back({s.text(0), ItemInfo{s.text(1), s.text(2), s.i64(3), s.f64(4), s.i64(5)}});
  }
  StoreTotals totals;
  {
    Stmt s(db.raw(), "SELECT baskets, repeat_hits, repeat_total FROM store_stats WHERE id=1");
    if (s.step()) totals = StoreTotals{s.i64(0), s.i64(1), s.i64(2)};
  }
  std::int64_t seq = 0, sources_seq = 0;
  {
    Stmt s(db.raw(), "SELECT value FROM store_meta WHERE key='items_seq'");
    if (s.step()) seq = s.i64(0);
  }
  {
    Stmt s(db.raw(), "SELECT value FROM store_meta WHERE key='sources_seq'");
    if (s.step()) sources_seq = s.i64(0);
  }
  std::vector<SourceRow> sources;
  {
    Stmt s(db.raw(), "SELECT src, transitions, successors FROM item_sources");
    while (s.step()) sources.push_back({s.text(0), s.text(2), s.i64(1)});
  }
  // Distinct buyers are not worth a column kept per purchase: customer_items holds them, one row
  // per customer and item. Counted here in one pass in key order: SQLite's GROUP BY sku would
  // sort every row of the table first (46 s and 630 MB, kept by the allocator, at 1M customers).
  StringMap<std::int64_t> buyers;
  {
    Stmt s(db.raw(), "SELECT sku FROM customer_items");
    while (s.step()) {
      const std::string_view sku = s.view(0);
      if (const auto it = buyers.find(sku); it != buyers.end()) ++it->second;
      else buyers.emplace(std::string(sku), 1);
    }
  }
  Blend blend;
  blend.load(db);
  std::unique_lock lock(mu_);
  slots_.clear();
  ids_.clear();
  line_total_ = buyer_total_ = 0;
  for (auto& row : items) {
    Slot& slot = slots_[intern(row.sku)];
    slot.info = std::move(row.info);
    slot.counted = true;
  }
  counted_ = items.size();
  for (const auto& [sku, n] : buyers)
    if (const auto it = ids_.find(sku); it != ids_.end()) slots_[it->second].info.buyers = n;
  for (const Slot& slot : slots_) {
    line_total_ += static_cast<double>(slot.info.baskets);
    buyer_total_ += static_cast<double>(slot.info.buyers);
  }
  for (const auto& row : sources) {
    const ItemId src = intern(row.src);
    ItemSource source{row.transitions, {}};
    decode_successors(row.successors, source);  // may number more items: slots_ grows
    slots_[src].source = std::move(source);
    slots_[src].followed = true;
  }
  blend_ = std::move(blend);
  best_ = StoreView{};
  totals_ = totals;
  merged_seq_ = std::max(seq, sources_seq);
  loaded_items_seq_ = seq;
  loaded_sources_seq_ = sources_seq;
  dirty_.clear();
  dirty_sources_.clear();
}

Blend::HoldOutScore Popularity::score(const HoldOut& h) {
  constexpr std::int64_t kBestEvery = 256;  // the best sellers barely move between two listings
  if (best_.best.empty() || ++best_age_ >= kBestEvery) {
    best_.best.clear();
    for (const Ranked& r : top_locked(kStoreProbe)) best_.best.push_back({r.sku, r.info.baskets, r.id});
    best_age_ = 0;
  }
  best_.baskets = static_cast<double>(std::max<std::int64_t>(1, totals_.baskets));
  best_.repeat_share = repeat_share_locked();
  HoldOut resolved = h;
  for (auto& k : resolved.known) {
    const auto it = ids_.find(k.sku);
    if (it == ids_.end()) continue;
    k.item = it->second;
    if (const Slot& slot = slots_[k.item]; slot.counted) {
      k.store_baskets = slot.info.baskets;
      k.store_buyers = slot.info.buyers;
    }
  }
  resolved.basket_items.clear();
  for (const auto& sku : resolved.basket) {
    const auto it = ids_.find(sku);
    resolved.basket_items.push_back(it == ids_.end() ? kNoItem : it->second);
  }
  if (!blend_.wants_lists(h.visits, ++holdouts_scored_[static_cast<std::size_t>(segment_of(h.visits))])) return blend_.score(resolved, best_, nullptr);
  std::vector<ItemId> known;  // the numbered ones: only those can be a successor
  known.reserve(resolved.known.size());
  for (const auto& k : resolved.known)
    if (k.item != kNoItem) known.push_back(k.item);
  std::sort(known.begin(), known.end());
  const std::vector<std::string_view> seeds(h.seeds.begin(), h.seeds.end());
  const auto sources = sources_of(seeds);
  const FollowedOn on(seeds.size(), sources);
  const Neighbours neighbours{on, neighbours_new_to(sources, known, on)};
  return blend_.score(resolved, best_, &neighbours);
}

// The strongest successors of the customer's seeds that the customer (`known`, sorted) has not
// bought, as the hints would add them (hints/predictions.cpp).
std::vector<Followed> Popularity::neighbours_new_to(const std::vector<SeedSource>& sources, const std::vector<ItemId>& known,
                                                    const FollowedOn& on) const {
  std::vector<Followed> out;
  const double baskets = static_cast<double>(std::max<std::int64_t>(1, totals_.baskets));
  for (const auto& src : sources)
    for (std::size_t k = 0; k < src.by_count.size() && k < kFollowedPerSeed; ++k) {
      const ItemId item = src.by_count[k]->item;
      const Slot& slot = slots_[item];
      if (!slot.counted || std::binary_search(known.begin(), known.end(), item)) continue;
      // A few dozen candidates at most: a linear search beats a hash set.
      if (std::any_of(out.begin(), out.end(), [item](const Followed& f) { return f.item == item; })) continue;
      const double g = std::min(1.0, static_cast<double>(slot.info.baskets) / baskets);
      out.push_back({slot.sku, g, on.similar(item, g), item});
    }
  return out;
}

double Popularity::repeat_share_locked() const {
  return line_total_ > 0 ? std::clamp(1.0 - buyer_total_ / line_total_, 0.01, 0.99) : 0.5;
}

double Popularity::repeat_share() const {
  std::shared_lock lock(mu_);
  return repeat_share_locked();
}

BlendWeights Popularity::blend_weights() const {
  std::shared_lock lock(mu_);
  return blend_.weights();
}

nlohmann::json Popularity::describe_blend() const {
  std::shared_lock lock(mu_);
  nlohmann::json out = blend_.describe();
  out["store_repeat_share"] = std::round(repeat_share_locked() * 10000) / 10000;
  return out;
}

void Popularity::merge(const PopularityDelta& delta) {
  // Each hold-out against the store as it was before the group's own purchases; scored while
  // hints answers go on reading (only this thread changes what scoring reads), counted below.
  std::vector<Blend::HoldOutScore> scores;
  if (!delta.holdouts.empty()) {
    std::shared_lock read(mu_);
    for (const auto& h : delta.holdouts) scores.push_back(score(h));
  }
  std::unique_lock lock(mu_);
  for (const auto& s : scores) blend_.count(s);
  for (const auto& [sku, d] : delta.items) {
    const ItemId id = intern(sku);
    Slot& slot = slots_[id];
    if (!slot.counted) ++counted_;
    slot.counted = true;
    ItemInfo& i = slot.info;
    i.baskets += d.baskets;
    i.buyers += d.buyers;
    line_total_ += static_cast<double>(d.baskets);
    buyer_total_ += static_cast<double>(d.buyers);
    i.qty += d.qty;
    if (!d.name.empty()) i.name = d.name;
    if (!d.category.empty()) i.category = d.category;
    i.last_ms = std::max(i.last_ms, d.last_ms);
    dirty_.insert(id);
  }
  std::vector<ItemId> basket;
  for (const auto& t : delta.transitions) {
    basket.clear();
    for (const auto& sku : t.basket) basket.push_back(intern(sku));
    for (const auto& seed : t.seeds) {
      const ItemId seed_id = intern(seed);  // before taking a reference: numbering may grow slots_
      Slot& slot = slots_[seed_id];
      slot.followed = true;
      ++slot.source.transitions;
      for (const ItemId item : basket)
        if (item != seed_id) count_successor(slot.source, item);
      dirty_sources_.insert(seed_id);
    }
  }
  totals_.baskets += delta.totals.baskets;
  totals_.repeat_hits += delta.totals.repeat_hits;
  totals_.repeat_total += delta.totals.repeat_total;
  merged_seq_ = std::max(merged_seq_, delta.last_seq);
}

std::optional<ItemInfo> Popularity::item(const std::string& sku) const {
  std::shared_lock lock(mu_);
  const Slot* slot = find(sku);
  if (slot == nullptr || !slot->counted) return std::nullopt;
  return slot->info;
}

std::vector<Popularity::Ranked> Popularity::top(std::size_t n) const {
  std::shared_lock lock(mu_);
  return top_locked(n);
}

std::vector<Popularity::Ranked> Popularity::top_locked(std::size_t n) const {
  // Pick the n best by number first, so only they are copied.
  std::vector<ItemId> all;
  all.reserve(counted_);
  for (ItemId id = 0; id < slots_.size(); ++id)
    if (slots_[id].counted) all.push_back(id);
  auto better = [this](ItemId a, ItemId b) {
    const Slot &x = slots_[a], &y = slots_[b];
    return x.info.baskets != y.info.baskets ? x.info.baskets > y.info.baskets : x.sku < y.sku;
  };
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
  std::vector<Ranked> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back({slots_[all[i]].sku, all[i], slots_[all[i]].info});
  return out;
}

StoreTotals Popularity::totals() const {
  std::shared_lock lock(mu_);
  return totals_;
}

std::size_t Popularity::size() const {
  std::shared_lock lock(mu_);
  return counted_;
}

std::size_t Popularity::dirty() const { return dirty_.size() + dirty_sources_.size(); }

std::int64_t Popularity::watermark() const {
  std::shared_lock lock(mu_);
  return merged_seq_;
}

std::vector<std::string> Popularity::flush(Db& db, bool with_sources) {
  // The dirty set is cleared only once every row is written: should a write throw, nothing is
  // forgotten (and the caller's transaction rolls back).
  std::vector<std::string> written;
  Stmt& up = db.cached(
      "INSERT INTO items(sku, name, baskets, qty, last_ms, category) VALUES(?1,?2,?3,?4,?5,?6) "
      "ON CONFLICT(sku) DO UPDATE SET name=excluded.name, baskets=excluded.baskets, qty=excluded.qty, "
      "last_ms=excluded.last_ms, category=excluded.category");
  std::int64_t seq = 0;
  {
    std::shared_lock lock(mu_);
    seq = merged_seq_;
    for (const ItemId id : dirty_) {
      const Slot& slot = slots_[id];
      const ItemInfo& i = slot.info;
      written.push_back(slot.sku);
      up.reset();
      up.bind(1, slot.sku);
      if (i.name.empty()) up.bind_null(2); else up.bind(2, i.name);
      up.bind(3, i.baskets).bind(4, i.qty).bind(5, i.last_ms);
      if (i.category.empty()) up.bind_null(6); else up.bind(6, i.category);
      up.run();
    }
  }
  if (with_sources) {
    Stmt& src = db.cached(
        "INSERT INTO item_sources(src, transitions, successors) VALUES(?,?,?) ON CONFLICT(src) DO UPDATE SET "
        "transitions=excluded.transitions, successors=excluded.successors");
    std::shared_lock lock(mu_);
    for (const ItemId id : dirty_sources_) {
      const Slot& slot = slots_[id];
      // Stored in SKU order (as kept), so the stored row does not depend on the order counts arrived in.
      src.reset();
      src.bind(1, slot.sku).bind(2, slot.source.transitions).bind(3, encode_successors(slot.source)).run();
    }
  }
  Stmt& meta = db.cached("INSERT INTO store_meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  meta.bind(1, "items_seq").bind(2, seq).run();
  if (with_sources) {
    meta.reset();
    meta.bind(1, "sources_seq").bind(2, seq).run();
    std::shared_lock lock(mu_);
    blend_.save(db);
    for (const ItemId id : dirty_sources_) written.push_back("\x01" + slots_[id].sku);  // flush_failed tells the two apart
    dirty_sources_.clear();
  }
  dirty_.clear();
  return written;
}

std::vector<std::string> Popularity::forget_buyer(Db& db, const std::vector<BuyerShare>& shares, const StoreTotals& totals) {
  std::vector<std::string> gone;
  std::vector<ItemId> gone_ids;
  std::unique_lock lock(mu_);
  totals_.baskets = std::max<std::int64_t>(0, totals_.baskets - totals.baskets);
  totals_.repeat_hits = std::max<std::int64_t>(0, totals_.repeat_hits - totals.repeat_hits);
  totals_.repeat_total = std::max<std::int64_t>(0, totals_.repeat_total - totals.repeat_total);
  db.cached("UPDATE store_stats SET baskets=max(0, baskets-?), repeat_hits=max(0, repeat_hits-?), "
            "repeat_total=max(0, repeat_total-?) WHERE id=1")
      .bind(1, totals.baskets)
      .bind(2, totals.repeat_hits)
      .bind(3, totals.repeat_total)
      .run();
  for (const auto& share : shares) {
    const auto it = ids_.find(share.sku);
    if (it == ids_.end() || !slots_[it->second].counted) continue;
    const ItemId id = it->second;
    ItemInfo& info = slots_[id].info;
    info.baskets -= share.baskets;
    info.buyers = std::max<std::int64_t>(0, info.buyers - 1);
    line_total_ = std::max(0.0, line_total_ - static_cast<double>(share.baskets));
    buyer_total_ = std::max(0.0, buyer_total_ - 1.0);
    info.qty = std::max(0.0, info.qty - share.qty);
    dirty_.insert(id);
    if (info.baskets > 0) continue;
    gone_ids.push_back(id);
    gone.push_back(share.sku);
  }
  if (gone.empty()) return gone;
  forget_items(gone_ids);
  for (const auto& sku : gone) {
    db.cached("DELETE FROM items WHERE sku=?").bind(1, sku).run();
    db.cached("DELETE FROM item_sources WHERE src=?").bind(1, sku).run();
  }
  return gone;
}

// Items nobody bought any more go whole: their counts, name, successors, and their place among
// other items' successors. Their numbers stay given, to their SKUs (under the exclusive lock).
void Popularity::forget_items(const std::vector<ItemId>& gone) {
  for (const ItemId id : gone) {
    Slot& slot = slots_[id];
    slot.counted = slot.followed = false;
    slot.info = ItemInfo{};
    slot.source = ItemSource{};
    --counted_;
    dirty_.erase(id);
    dirty_sources_.erase(id);
  }
  const std::unordered_set<ItemId> went(gone.begin(), gone.end());
  for (ItemId id = 0; id < slots_.size(); ++id) {
    Slot& slot = slots_[id];
    if (slot.followed && std::erase_if(slot.source.neighbours, [&](const Neighbour& n) { return went.contains(n.item); }) > 0)
      dirty_sources_.insert(id);
  }
}

void Popularity::flush_failed(std::vector<std::string> skus) {
  for (const auto& s : skus) {
    const bool source = !s.empty() && s[0] == '\x01';
    const auto it = ids_.find(source ? std::string_view(s).substr(1) : std::string_view(s));
    if (it == ids_.end()) continue;  // numbered afresh since (a rebuild): nothing of it is owed
    (source ? dirty_sources_ : dirty_).insert(it->second);
  }
}

}  // namespace regulars::daemon
