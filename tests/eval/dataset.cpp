#include "dataset.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

namespace regulars::eval {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxItemsPerBasket = 1000;  // "lines: 1–1000 lines" (sdk/PROTOCOL.md)

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string shown(const json& v) {
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

bool is_sentinel(const json& basket) {
  return basket.is_array() && basket.size() == 1 && basket[0].is_number_integer() && basket[0].get<std::int64_t>() == -1;
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  const bool da = all_digits(a), db = all_digits(b);
  if (da != db) return da;
  if (da) {
    const auto strip = [](const std::string& s) {
      const auto p = s.find_first_not_of('0');
      return p == std::string::npos ? std::string_view("0") : std::string_view(s).substr(p);
    };
    const auto sa = strip(a), sb = strip(b);
    if (sa.size() != sb.size()) return sa.size() < sb.size();
    if (sa != sb) return sa < sb;
  }
  return a < b;
}

Dataset parse_dataset(const json& doc, const std::string& what, bool exactly_one_basket) {
  if (!doc.is_object())
    throw std::runtime_error(what + ": the top level must be an object {\"customer_id\": [[-1], basket, ..., [-1]]}, got " +
                             std::string(doc.type_name()));
  if (doc.empty()) throw std::runtime_error(what + ": no customers");
  Dataset ds;
  ds.customers.reserve(doc.size());
  for (const auto& [id, list] : doc.items()) {
    const std::string who = what + ": customer \"" + (id.size() > 40 ? id.substr(0, 40) + "..." : id) + "\"";
    if (id.empty()) throw std::runtime_error(what + ": a customer id is empty");
    if (id.size() > 200) throw std::runtime_error(who + ": id longer than 200 bytes");
    if (!list.is_array())
      throw std::runtime_error(who + ": expected a list of baskets [[-1], basket, ..., [-1]], got " + shown(list));
    CustomerBaskets c;
    c.id = id;
    for (std::size_t e = 0; e < list.size(); ++e) {
      const json& basket = list[e];
      const std::string at = who + ", element " + std::to_string(e) + " of its list";
      if (is_sentinel(basket)) {
        if (e == 0 || e + 1 == list.size()) continue;
        throw std::runtime_error(at + ": the [-1] sentinel may only be the first or the last element");
      }
      if (!basket.is_array()) throw std::runtime_error(at + ": a basket must be a list of item ids, got " + shown(basket));
      if (basket.empty()) throw std::runtime_error(at + ": empty basket");
      std::vector<std::string> items;
      std::unordered_set<std::int64_t> seen;
      for (std::size_t i = 0; i < basket.size(); ++i) {
        const json& item = basket[i];
        bool ok = false;
        if (item.is_number_unsigned()) ok = item.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX);
        else if (item.is_number_integer()) ok = item.get<std::int64_t>() >= 0;
        if (!ok)
          throw std::runtime_error(at + ", item " + std::to_string(i) +
                                   ": item ids must be non-negative integers, got " + shown(item));
        const auto v = item.get<std::int64_t>();
        if (!seen.insert(v).second) {
          ++ds.duplicates;
          continue;
        }
        items.push_back(std::to_string(v));
      }
      if (items.size() > kMaxItemsPerBasket)
        throw std::runtime_error(at + ": " + std::to_string(items.size()) + " distinct items; a purchase holds at most " +
                                 std::to_string(kMaxItemsPerBasket) + " lines");
      ds.items += items.size();
      c.baskets.push_back(std::move(items));
    }
    if (c.baskets.empty()) throw std::runtime_error(who + ": no baskets besides the [-1] sentinels");
    if (exactly_one_basket && c.baskets.size() != 1)
      throw std::runtime_error(who + ": expected exactly one basket (the held-out next basket), found " +
                               std::to_string(c.baskets.size()));
    ds.baskets += c.baskets.size();
    ds.customers.push_back(std::move(c));
  }
  std::sort(ds.customers.begin(), ds.customers.end(),
            [](const CustomerBaskets& a, const CustomerBaskets& b) { return natural_less(a.id, b.id); });
  return ds;
}

Dataset load_dataset(const std::string& path, bool exactly_one_basket) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  json doc;
  try {
    doc = json::parse(text.str());
  } catch (const json::parse_error& e) {
    throw std::runtime_error(path + ": not valid JSON (" + e.what() + ")");
  }
  return parse_dataset(doc, path, exactly_one_basket);
}

}  // namespace regulars::eval
