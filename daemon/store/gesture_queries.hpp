// The store's queries for the gesture engine (daemon/gestures/): the owner's rules, the offers
// that set the rules' limits, what a rule may ask about one customer, the events a dry run
// replays, and the figures of the ROI report. Each takes the connection to use (the writer's in
// write_now for the rule writes; the calling thread's read connection otherwise) and returns
// plain values, with nothing of SQLite in them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"

namespace regulars::daemon::gesture_queries {

// --- The owner's rules (gesture_rules) --------------------------------------------------------

struct StoredRule {
  std::string id;
  std::string body;  // the rule as JSON text, as it was saved
  bool enabled = true;
};

// Every stored rule, by id.
std::vector<StoredRule> stored_rules(Db& db);
// Saves a rule, replacing the one with the same id (its creation time stays).
void save_rule(Db& db, const std::string& id, const std::string& body, bool enabled, std::int64_t now_ms);
// Turns a stored rule on or off; `body` is the rule's JSON with the new "enabled" in it.
void set_rule_enabled(Db& db, const std::string& id, bool enabled, const std::string& body, std::int64_t now_ms);

// --- Offers (the offers projection) ----------------------------------------------------------

struct StoredOffer {
  std::string offer_id, rule_id;
  std::int64_t customer_id = 0;
  std::int64_t made_ms = 0;
  std::string status;  // offered, accepted, declined, redeemed or held_out
  std::int64_t cost = 0;
  std::int64_t visit = 0;
  std::string cashier, sku;  // empty when the offer had none
};

// Calls `each` for every offer, oldest first, while the query runs (there may be many).
void for_each_offer(Db& db, const std::function<void(const StoredOffer&)>& each);

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

// --- The dry run's replay of the log ---------------------------------------------------------

// An event a dry run replays: a purchase, return, feedback, profile or consent.
struct ReplayedEvent {
  std::int64_t seq = 0;
  std::string type;
  std::int64_t customer_id = 0;  // 0: no customer
  std::int64_t time_ms = 0;
  std::string body;     // the event's JSON text
  std::string cashier;  // empty when none
  std::int64_t value = 0;
};

// Calls `each` for every such event logged at or before `until_ms`, in log order. The log is
// read in pages of a few thousand events, each its own query, so a long replay does not hold
// one read snapshot (and the WAL behind it) from start to end.
void for_each_replayed_event(Db& db, std::int64_t until_ms, const std::function<void(const ReplayedEvent&)>& each);

// --- The ROI report --------------------------------------------------------------------------

// The rules that have offers (or hold-outs) in the log, by id.
std::vector<std::string> rules_with_offers(Db& db);

// One rule's offers made at or before `until_ms` with one status, and what they may cost.
struct StatusTotal {
  std::string status;
  std::int64_t offers = 0;
  std::int64_t cost = 0;
};
std::vector<StatusTotal> offer_totals(Db& db, const std::string& rule_id, std::int64_t until_ms);

// A customer's first exposure to a rule: the first offer or hold-out decision.
struct FirstExposure {
  std::int64_t customer_id = 0;
  std::int64_t made_ms = 0;
  bool held_out = false;
};
// Calls `each` for every customer first exposed to `rule_id` at or before `until_ms`, in one read
// snapshot with the queries `each` makes (purchases_between).
void for_each_first_exposure(Db& db, const std::string& rule_id, std::int64_t until_ms,
                             const std::function<void(const FirstExposure&)>& each);

struct Purchase {
  std::int64_t time_ms = 0;
  std::int64_t value = 0;
};
// The customer's purchases after `after_ms` up to `until_ms` (inclusive), oldest first.
std::vector<Purchase> purchases_between(Db& db, std::int64_t customer_id, std::int64_t after_ms, std::int64_t until_ms);

}  // namespace regulars::daemon::gesture_queries
