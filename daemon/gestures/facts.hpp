// What a rule may ask about one customer at one moment. At a hints call StoreFacts reads the
// store lazily (only what the rules ask for, once each); the dry run keeps its own facts in
// memory while it replays the log (dry_run.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/string_hash.hpp"
#include "store/event_store.hpp"
#include "store/gesture_queries.hpp"

namespace regulars::daemon {

class Facts {
 public:
  virtual ~Facts() = default;
  std::int64_t customer_id = 0;
  std::int64_t visits = 0;  // completed visits; the visit under way is visits + 1
  std::int64_t first_seen_ms = 0, last_seen_ms = 0;
  std::string birthday;     // MM-DD or YYYY-MM-DD, or empty
  std::int64_t last_complaint_ms = 0;
  std::vector<std::string> tags;
  std::string name;

  struct Bought {
    std::int64_t baskets = 0;  // visits with it
    std::int64_t last_ms = 0;
  };
  // sku or category bought by the customer (member ""), for a household member ("any": any).
  virtual Bought bought(const std::string& sku, const std::string& category, const std::string& member) = 0;
  virtual bool in_basket(const std::string& sku, const std::string& category) = 0;
  virtual std::int64_t spend_since(std::int64_t since_ms) = 0;
  virtual bool open_followup() = 0;
  struct Favourite {
    std::string sku, name, member;
  };
  // The item bought on most visits in `category` (empty: any) by/for `member` ("", "any", a name).
  virtual std::optional<Favourite> favourite(const std::string& category, const std::string& member) = 0;
  // An item's display name (for messages) and category, as the store knows them.
  virtual std::string item_name(const std::string& sku) = 0;
  virtual std::string item_category(const std::string& sku) = 0;
};

// Facts for one hints call, read from the store only when a rule asks, once each, on the
// calling thread's read connection.
class StoreFacts final : public Facts {
 public:
  StoreFacts(EventStore& store, const CustomerView& customer, const StringSet& basket);
  Bought bought(const std::string& sku, const std::string& category, const std::string& member) override;
  bool in_basket(const std::string& sku, const std::string& category) override;
  std::int64_t spend_since(std::int64_t since_ms) override;
  bool open_followup() override;
  std::optional<Favourite> favourite(const std::string& category, const std::string& member) override;
  std::string item_name(const std::string& sku) override;
  std::string item_category(const std::string& sku) override;

 private:
  using MemberItem = gesture_queries::MemberItem;
  const std::vector<MemberItem>& member_items();
  Bought bought_for_member(const std::string& sku, const std::string& category, const std::string& member);
  std::optional<Favourite> find_favourite(const std::string& category, const std::string& member);

  EventStore& store_;
  Db& db_;
  const StringSet& basket_;
  struct Asked {  // bought() answers so far: rules often ask the same thing
    std::string sku, category, member;
    Bought answer;
  };
  std::vector<Asked> bought_;
  std::optional<std::vector<MemberItem>> members_;
  std::int64_t member_visits_ = 0;
  std::optional<bool> open_;
  std::optional<std::unordered_set<std::string>> basket_categories_;
  std::vector<std::pair<std::int64_t, std::int64_t>> spends_;  // (since, sum) asked so far
  struct Fav {
    std::string category, member;
    std::optional<Favourite> answer;
  };
  std::vector<Fav> favourites_;
};

}  // namespace regulars::daemon
