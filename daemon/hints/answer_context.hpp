// What every part of one hints answer is written from: the customer as the store knows them, the
// locale's phrasebook, what they asked not to be mentioned, the basket on the belt. Internal to
// hints/.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/string_hash.hpp"
#include "hints/hint_kinds.hpp"
#include "locales/phrasebook.hpp"
#include "store/customer_view.hpp"

namespace regulars::daemon {

// The phrasebook in the answer's locale, for this customer's form of address.
struct Phrasing {
  const Phrasebook& book;
  std::string locale;
  Salutation salutation = Salutation::unknown;

  std::string text(const std::string& key, const MessageArgs& args = {}) const { return book.text(locale, key, args, salutation); }
  // The message `key` if the book has it, else `otherwise` as outside text (a till's own word).
  std::string text_or(const std::string& key, const std::string& otherwise) const {
    const std::string t = text(key);
    return t == key ? book.isolate(locale, otherwise) : t;
  }
  static Number num(std::int64_t n) { return Number{n}; }
  static Outside iso(std::string s) { return Outside{std::move(s)}; }
  std::string date(std::int64_t unix_ms) const { return book.date(locale, unix_ms); }
  std::string list(const std::vector<std::string>& parts) const { return book.list(locale, parts); }
};

// "Do not mention": topics a customer asked cashiers to leave alone (lower-cased). Any hint or
// prediction about one of them is dropped.
class DoNotMention {
 public:
  explicit DoNotMention(const std::vector<std::string>& topics);
  bool allows(std::initializer_list<std::string_view> topics) const;
  bool allows(const ItemStat& item) const { return topics_.empty() || allows({item.sku, item.name, item.category}); }
  const std::unordered_set<std::string>& topics() const noexcept { return topics_; }

 private:
  std::unordered_set<std::string> topics_;
};

struct AnswerContext {
  const CustomerView& customer;
  const Phrasing& say;
  const DoNotMention& dnm;
  const StringSet& basket;  // SKUs on the belt
  const std::string& id_kind;                     // how the till named the customer (card, phone, ...)
  std::int64_t now_ms = 0;                        // the request's time
  bool discreet = false;                          // a customer-facing screen: nothing private
};

// The hints of one answer, kept in the order they were made until take() ranks them.
class HintList {
 public:
  explicit HintList(const DoNotMention& dnm) : dnm_(dnm) {}
  void add(HintKind kind, std::string text, std::string why);
  // The `max_hints` highest-priority hints, as the answer's "hints" array.
  nlohmann::json take(int max_hints);

 private:
  const DoNotMention& dnm_;
  nlohmann::json hints_ = nlohmann::json::array();
};

std::string display_name(const ItemStat& item);

}  // namespace regulars::daemon
