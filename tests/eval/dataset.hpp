// Next-basket datasets in the format of "A Next Basket Recommendation Reality Check" (Li et al.,
// 2023), as in /work/shared/data/tafeng:
//   {"customer_id": [[-1], basket, basket, ..., [-1]], ...}
// baskets oldest first, each a list of integer item ids; [-1] baskets are sentinels.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace regulars::eval {

struct CustomerBaskets {
  std::string id;
  // Oldest first; each basket holds distinct item ids (as decimal text, the SKU sent to the
  // daemon) in the order of their first occurrence in the file.
  std::vector<std::vector<std::string>> baskets;
};

struct Dataset {
  std::vector<CustomerBaskets> customers;  // in natural_less order of their ids
  std::size_t baskets = 0;
  std::size_t items = 0;            // item occurrences after de-duplication within a basket
  std::size_t duplicates = 0;       // repeated items within a basket, dropped
};

// Checks and converts one parsed document. `what` names it in errors (e.g. the file name).
// Every error is a std::runtime_error whose message names the customer and the position:
//   history.json: customer "17", element 3 of its list, item 2: item ids must be non-negative integers, got "x"
// Element numbers count from 0 over the list as written in the file, sentinels included.
// Rules: the top level is a non-empty object; each customer's value is a list of baskets; a [-1]
// basket may appear only as the first or last element and is dropped; every other basket is a
// non-empty list of integer item ids in 0..2^63-1 with at most 1000 distinct items (the protocol's
// limit on lines per purchase); a customer has at least one basket. With exactly_one_basket, each
// customer must have exactly one (the held-out basket of future.json).
Dataset parse_dataset(const nlohmann::json& doc, const std::string& what, bool exactly_one_basket);

// Reads and parses a file, then parse_dataset; JSON syntax errors name the file and the byte.
Dataset load_dataset(const std::string& path, bool exactly_one_basket);

// Natural order of customer ids: all-digit ids first, by numeric value (compared as text of
// equal length), then the others in byte order. Deterministic and independent of the file's
// key order.
bool natural_less(const std::string& a, const std::string& b);

}  // namespace regulars::eval
