// Hash containers keyed by std::string that can be searched with a std::string_view (C++20
// heterogeneous lookup), so a lookup by a view into someone else's string allocates nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace regulars::daemon {

struct StringHash {
  using is_transparent = void;
  // Deliberately not noexcept: libstdc++ keeps each node's hash code only for a hash that is not
  // both nothrow and "fast" (a user-defined hash counts as fast). Without the kept code, every
  // lookup hashes again the key of each node it passes in the bucket's chain, and reads that key
  // from another cache line: a third of ranking the predictions went there.
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

}  // namespace regulars::daemon
