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

#include "hints/hint_kinds.hpp"
#include "locale/phrasebook.hpp"
#include "store/customer_view.hpp"

namespace regulars::daemon {

// The phrasebook in the answer's locale.
struct Phrasing {
  const Phrasebook& book;
  std::string locale;

  std::string text(const std::string& key, const std::vector<std::pair<std::string, std::string>>& args = {}) const {
    return book.text(locale, key, args);
  }
  std::string num(std::int64_t n) const { return book.number(locale, n); }
  std::string iso(const std::string& s) const { return book.isolate(locale, s); }
  std::string date(std::int64_t unix_ms) const { return book.date(locale, unix_ms); }
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
  const std::unordered_set<std::string>& basket;  // SKUs on the belt
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
