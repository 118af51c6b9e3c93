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

namespace {
void count_successor(ItemSource& src, const std::string& sku) {
  // The list is kept in SKU order: finding a successor is a binary search, and the first
  // smallest count in that order is the one the rule replaces, with no string compared.
  auto& list = src.neighbours;
  const auto by_sku = [](const Neighbour& n, const std::string& s) { return n.sku < s; };
  auto at = std::lower_bound(list.begin(), list.end(), sku, by_sku);
  if (at != list.end() && at->sku == sku) {
    ++at->count;
    return;
  }
  if (list.size() < kMaxNeighbours) {
    list.insert(at, Neighbour{sku, 1});
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
    *(at - 1) = Neighbour{sku, count};
  } else {
    std::rotate(at, smallest, smallest + 1);
    *at = Neighbour{sku, count};
  }
}
}  // namespace

std::string encode_successors(const std::vector<Neighbour>& list) {
  std::string out;
  for (const auto& n : list) {
    if (!out.empty()) out += '\x1e';
    out += n.sku;
    out += '\x1f';
    out += std::to_string(n.count);
  }
  return out;
}

std::vector<Neighbour> decode_successors(const std::string& text) {
  std::vector<Neighbour> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\x1e', pos), text.size());
    const std::size_t sep = text.find('\x1f', pos);
    if (sep == std::string::npos || sep > end) break;  // not written by encode_successors: stop there
    out.push_back({text.substr(pos, sep - pos), std::strtoll(text.c_str() + sep + 1, nullptr, 10)});
    pos = end + 1;
  }
  return out;
}

void Popularity::clear() {
  std::unique_lock lock(mu_);
  items_.clear();
  sources_.clear();
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
  StringMap<ItemInfo> items;
  {
    Stmt s(db.raw(), "SELECT sku, coalesce(name, ''), coalesce(category, ''), baskets, qty, last_ms FROM items");
    while (s.step()) items.emplace(s.text(0), ItemInfo{s.text(1), s.text(2), s.i64(3), s.f64(4), s.i64(5)});
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
  StringMap<ItemSource> sources;
  {
    Stmt s(db.raw(), "SELECT src, transitions, successors FROM item_sources");
    while (s.step()) {
      ItemSource& src = sources[s.text(0)];
      src.transitions = s.i64(1);
      src.neighbours = decode_successors(s.text(2));
      std::sort(src.neighbours.begin(), src.neighbours.end(),
                [](const Neighbour& a, const Neighbour& b) { return a.sku < b.sku; });  // as merge keeps them
    }
  }
  {
    // Distinct buyers are not worth a column kept per purchase: customer_items holds them.
    Stmt s(db.raw(), "SELECT sku, count(*) FROM customer_items GROUP BY sku");
    while (s.step())
      if (const auto it = items.find(s.text(0)); it != items.end()) it->second.buyers = s.i64(1);
  }
  Blend blend;
  blend.load(db);
  std::unique_lock lock(mu_);
  items_ = std::move(items);
  line_total_ = buyer_total_ = 0;
  for (const auto& [_, i] : items_) {
    line_total_ += static_cast<double>(i.baskets);
    buyer_total_ += static_cast<double>(i.buyers);
  }
  blend_ = std::move(blend);
  best_ = StoreView{};
  sources_ = std::move(sources);
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
    std::vector<const std::pair<const std::string, ItemInfo>*> all;
    for (const auto& kv : items_) all.push_back(&kv);
    const std::size_t n = std::min(kStoreProbe, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), [](const auto* a, const auto* b) {
      return a->second.baskets != b->second.baskets ? a->second.baskets > b->second.baskets : a->first < b->first;
    });
    for (std::size_t i = 0; i < n; ++i) best_.best.emplace_back(all[i]->first, all[i]->second.baskets);
    best_age_ = 0;
  }
  best_.baskets = static_cast<double>(std::max<std::int64_t>(1, totals_.baskets));
  best_.repeat_share = repeat_share_locked();
  HoldOut resolved = h;
  for (auto& k : resolved.known)
    if (const auto it = items_.find(k.sku); it != items_.end()) {
      k.store_baskets = it->second.baskets;
      k.store_buyers = it->second.buyers;
    }
  if (!blend_.wants_lists(h.visits, ++holdouts_scored_[static_cast<std::size_t>(segment_of(h.visits))])) return blend_.score(resolved, best_, nullptr);
  std::unordered_set<std::string_view> known;  // views into `resolved` and the items
  for (const auto& k : resolved.known) known.insert(k.sku);
  const std::vector<std::string_view> seeds(h.seeds.begin(), h.seeds.end());
  const auto sources = daemon::sources_of(seeds, sources_);
  const FollowedOn on(seeds.size(), sources);
  const Neighbours neighbours{on, neighbours_new_to(sources, known, on)};
  return blend_.score(resolved, best_, &neighbours);
}

// The strongest successors of the customer's seeds that the customer has not bought, as the
// hints would add them (hints/predictions.cpp).
std::vector<Followed> Popularity::neighbours_new_to(const std::vector<SeedSource>& sources, std::unordered_set<std::string_view>& known,
                                                    const FollowedOn& on) const {
  std::vector<Followed> out;
  const double baskets = static_cast<double>(std::max<std::int64_t>(1, totals_.baskets));
  for (const auto& src : sources)
    for (std::size_t k = 0; k < src.by_count.size() && k < kFollowedPerSeed; ++k) {
      const std::string_view sku = src.by_count[k]->sku;
      const auto item = items_.find(sku);
      if (item == items_.end() || !known.insert(sku).second) continue;
      const double g = std::min(1.0, static_cast<double>(item->second.baskets) / baskets);
      out.push_back({sku, g, on.similar(sku, g)});
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
    ItemInfo& i = items_[sku];
    i.baskets += d.baskets;
    i.buyers += d.buyers;
    line_total_ += static_cast<double>(d.baskets);
    buyer_total_ += static_cast<double>(d.buyers);
    i.qty += d.qty;
    if (!d.name.empty()) i.name = d.name;
    if (!d.category.empty()) i.category = d.category;
    i.last_ms = std::max(i.last_ms, d.last_ms);
    dirty_.insert(sku);
  }
  for (const auto& t : delta.transitions)
    for (const auto& seed : t.seeds) {
      ItemSource& src = sources_[seed];
      ++src.transitions;
      for (const auto& sku : t.basket)
        if (sku != seed) count_successor(src, sku);
      dirty_sources_.insert(seed);
    }
  totals_.baskets += delta.totals.baskets;
  totals_.repeat_hits += delta.totals.repeat_hits;
  totals_.repeat_total += delta.totals.repeat_total;
  merged_seq_ = std::max(merged_seq_, delta.last_seq);
}

std::optional<ItemInfo> Popularity::item(const std::string& sku) const {
  std::shared_lock lock(mu_);
  const auto it = items_.find(sku);
  if (it == items_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, ItemInfo>> Popularity::top(std::size_t n) const {
  std::vector<std::pair<std::string, ItemInfo>> out;
  {
    std::shared_lock lock(mu_);
    // Pick the n best by pointer first, so only they are copied.
    std::vector<const std::pair<const std::string, ItemInfo>*> all;
    all.reserve(items_.size());
    for (const auto& kv : items_) all.push_back(&kv);
    auto better = [](const auto* a, const auto* b) {
      return a->second.baskets != b->second.baskets ? a->second.baskets > b->second.baskets : a->first < b->first;
    };
    n = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.emplace_back(all[i]->first, all[i]->second);
  }
  return out;
}

StoreTotals Popularity::totals() const {
  std::shared_lock lock(mu_);
  return totals_;
}

std::size_t Popularity::size() const {
  std::shared_lock lock(mu_);
  return items_.size();
}

std::size_t Popularity::dirty() const { return dirty_.size() + dirty_sources_.size(); }

std::int64_t Popularity::watermark() const {
  std::shared_lock lock(mu_);
  return merged_seq_;
}

std::vector<std::string> Popularity::flush(Db& db, bool with_sources) {
  // The dirty set is cleared only once every row is written: should a write throw, nothing is
  // forgotten (and the caller's transaction rolls back).
  std::vector<std::string> written(dirty_.begin(), dirty_.end());
  Stmt& up = db.cached(
      "INSERT INTO items(sku, name, baskets, qty, last_ms, category) VALUES(?1,?2,?3,?4,?5,?6) "
      "ON CONFLICT(sku) DO UPDATE SET name=excluded.name, baskets=excluded.baskets, qty=excluded.qty, "
      "last_ms=excluded.last_ms, category=excluded.category");
  std::int64_t seq = 0;
  {
    std::shared_lock lock(mu_);
    seq = merged_seq_;
    for (const auto& sku : written) {
      const ItemInfo& i = items_.at(sku);
      up.reset();
      up.bind(1, sku);
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
    for (const auto& sku : dirty_sources_) {
      const ItemSource& s = sources_.at(sku);
      // Stored in SKU order (as kept), so the stored row does not depend on the order counts arrived in.
      src.reset();
      src.bind(1, sku).bind(2, s.transitions).bind(3, encode_successors(s.neighbours)).run();
    }
  }
  Stmt& meta = db.cached("INSERT INTO store_meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  meta.bind(1, "items_seq").bind(2, seq).run();
  if (with_sources) {
    meta.reset();
    meta.bind(1, "sources_seq").bind(2, seq).run();
    std::shared_lock lock(mu_);
    blend_.save(db);
    for (const auto& sku : dirty_sources_) written.push_back("\x01" + sku);  // flush_failed tells the two apart
    dirty_sources_.clear();
  }
  dirty_.clear();
  return written;
}

std::vector<std::string> Popularity::forget_buyer(Db& db, const std::vector<BuyerShare>& shares, const StoreTotals& totals) {
  std::vector<std::string> gone;
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
    const auto it = items_.find(share.sku);
    if (it == items_.end()) continue;
    it->second.baskets -= share.baskets;
    it->second.buyers = std::max<std::int64_t>(0, it->second.buyers - 1);
    line_total_ = std::max(0.0, line_total_ - static_cast<double>(share.baskets));
    buyer_total_ = std::max(0.0, buyer_total_ - 1.0);
    it->second.qty = std::max(0.0, it->second.qty - share.qty);
    dirty_.insert(share.sku);
    if (it->second.baskets > 0) continue;
    items_.erase(it);
    sources_.erase(share.sku);
    dirty_.erase(share.sku);
    dirty_sources_.erase(share.sku);
    gone.push_back(share.sku);
  }
  if (gone.empty()) return gone;
  const std::unordered_set<std::string> went(gone.begin(), gone.end());
  for (auto& [src, source] : sources_)
    if (std::erase_if(source.neighbours, [&](const Neighbour& n) { return went.contains(n.sku); }) > 0) dirty_sources_.insert(src);
  for (const auto& sku : gone) {
    db.cached("DELETE FROM items WHERE sku=?").bind(1, sku).run();
    db.cached("DELETE FROM item_sources WHERE src=?").bind(1, sku).run();
  }
  return gone;
}

void Popularity::flush_failed(std::vector<std::string> skus) {
  for (auto& s : skus) {
    if (!s.empty() && s[0] == '\x01') dirty_sources_.insert(s.substr(1));
    else dirty_.insert(std::move(s));
  }
}

}  // namespace regulars::daemon
