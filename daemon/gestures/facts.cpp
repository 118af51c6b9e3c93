#include "gestures/facts.hpp"

#include <algorithm>

namespace regulars::daemon {

namespace queries = gesture_queries;

StoreFacts::StoreFacts(EventStore& store, const CustomerView& c, const StringSet& basket)
    : store_(store), db_(store.read_connection()), basket_(basket) {
  customer_id = c.id;
  visits = c.visits;
  first_seen_ms = c.first_seen_ms;
  last_seen_ms = c.last_seen_ms;
  birthday = c.birthday;
  last_complaint_ms = c.last_complaint_ms;
  tags = c.tags;
  name = c.name;
  member_visits_ = c.member_visits;
}

const std::vector<StoreFacts::MemberItem>& StoreFacts::member_items() {
  if (members_) return *members_;
  members_.emplace();
  if (member_visits_ == 0) return *members_;  // never bought for anyone: nothing to read
  *members_ = queries::member_items(db_, customer_id);
  return *members_;
}

Facts::Bought StoreFacts::bought(const std::string& sku, const std::string& category, const std::string& member) {
  for (const auto& a : bought_)
    if (a.sku == sku && a.category == category && a.member == member) return a.answer;
  Bought out;
  if (member.empty()) {
    const auto v = sku.empty() ? queries::category_visits(db_, customer_id, category) : queries::item_visits(db_, customer_id, sku);
    if (v) out = Bought{v->baskets, v->last_ms};
  } else {
    out = bought_for_member(sku, category, member);
  }
  bought_.push_back(Asked{sku, category, member, out});
  return out;
}

Facts::Bought StoreFacts::bought_for_member(const std::string& sku, const std::string& category, const std::string& member) {
  Bought out;
  for (const auto& m : member_items())
    if ((member == "any" || m.member == member) && (sku.empty() ? m.category == category : m.sku == sku)) {
      out.baskets += m.baskets;
      out.last_ms = std::max(out.last_ms, m.last_ms);
    }
  return out;
}

bool StoreFacts::in_basket(const std::string& sku, const std::string& category) {
  if (!sku.empty()) return basket_.count(sku) != 0;
  if (!basket_categories_) {  // once per call, however many rules ask
    basket_categories_.emplace();
    for (const auto& b : basket_)
      if (const auto info = store_.item_info(b); info && !info->category.empty()) basket_categories_->insert(info->category);
  }
  return basket_categories_->count(category) != 0;
}

std::int64_t StoreFacts::spend_since(std::int64_t since_ms) {
  for (const auto& [since, sum] : spends_)
    if (since == since_ms) return sum;
  const std::int64_t v = queries::spend_since(db_, customer_id, since_ms);
  spends_.emplace_back(since_ms, v);
  return v;
}

bool StoreFacts::open_followup() {
  if (!open_) open_ = store_.open_followup(customer_id).has_value();
  return *open_;
}

std::optional<Facts::Favourite> StoreFacts::favourite(const std::string& category, const std::string& member) {
  for (const auto& f : favourites_)
    if (f.category == category && f.member == member) return f.answer;
  auto found = find_favourite(category, member);
  favourites_.push_back(Fav{category, member, found});
  return found;
}

std::optional<Facts::Favourite> StoreFacts::find_favourite(const std::string& category, const std::string& member) {
  if (member.empty()) {
    if (auto sku = queries::favourite_sku(db_, customer_id, category)) return Favourite{std::move(*sku), {}, {}};
    return std::nullopt;
  }
  const MemberItem* best = nullptr;
  for (const auto& m : member_items())
    if ((member == "any" || m.member == member) && (category.empty() || m.category == category) &&
        (!best || m.baskets > best->baskets || (m.baskets == best->baskets && m.last_ms > best->last_ms)))
      best = &m;
  if (!best) return std::nullopt;
  return Favourite{best->sku, {}, best->member};
}

std::string StoreFacts::item_name(const std::string& sku) {
  const auto info = store_.item_info(sku);
  return info && !info->name.empty() ? info->name : sku;
}

std::string StoreFacts::item_category(const std::string& sku) {
  const auto info = store_.item_info(sku);
  return info ? info->category : std::string();
}

}  // namespace regulars::daemon
