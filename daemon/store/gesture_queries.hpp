// The store's queries for the gesture engine (daemon/gestures/): what a rule may ask about one
// customer. Each takes the connection to use (the calling thread's read connection) and returns
// plain values, with nothing of SQLite in them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"

namespace regulars::daemon::gesture_queries {

// --- What a rule asks about one customer -----------------------------------------------------

struct Visits {
  std::int64_t baskets = 0;  // visits with it
  std::int64_t last_ms = 0;
};

// Visits with `sku` (customer_items), or with any item of `category` (customer_categories).
std::optional<Visits> item_visits(Db& db, std::int64_t customer_id, const std::string& sku);
std::optional<Visits> category_visits(Db& db, std::int64_t customer_id, const std::string& category);

// One item bought for one household member, with the item's category as the customer's items
// know it (empty if none).
struct MemberItem {
  std::string member, sku;
  std::int64_t baskets = 0, last_ms = 0;
  std::string category;
};
std::vector<MemberItem> member_items(Db& db, std::int64_t customer_id);

// What the customer's purchases and returns came to since `since_ms` (inclusive).
std::int64_t spend_since(Db& db, std::int64_t customer_id, std::int64_t since_ms);

// The customer's own item bought on most visits (ties: the latest, then the first SKU), in
// `category` (empty: any); nullopt when they bought none.
std::optional<std::string> favourite_sku(Db& db, std::int64_t customer_id, const std::string& category);

}  // namespace regulars::daemon::gesture_queries
