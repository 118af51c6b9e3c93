// The popularity's own small number for an item (memory/popularity.hpp): what the hints and the
// blend key their per-item work by, so that ranking compares and hashes integers, not SKUs.
// Given in the order items are first met, kept until a rebuild or a restart, never stored.
#pragma once

#include <cstdint>
#include <limits>

namespace regulars::daemon {

using ItemId = std::uint32_t;
inline constexpr ItemId kNoItem = std::numeric_limits<ItemId>::max();  // an item the popularity does not count

}  // namespace regulars::daemon
