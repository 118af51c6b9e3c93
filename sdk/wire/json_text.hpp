// Bounded JSON parsing: nesting depth is checked before the parser sees the text, and invalid
// UTF-8 is refused, so hostile input cannot exhaust the stack or sneak bad text into the store.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>
#include <variant>

#include "error.hpp"

namespace regulars::wire {

inline constexpr int kDefaultMaxDepth = 32;

// Maximum nesting depth of arrays/objects in `text`, ignoring brackets inside strings.
// Stops counting (and returns a value > max_depth) as soon as max_depth is exceeded.
int json_nesting_depth(std::string_view text, int max_depth) noexcept;

// Parses `text` as one JSON value within the depth limit. Returns the value or a typed error
// (too_deep or invalid_json, whose message carries the parser's position).
std::variant<nlohmann::json, Error> parse_json(std::string_view text, int max_depth = kDefaultMaxDepth);

// Serialises without throwing on invalid UTF-8 (replaces it), for responses and logs.
std::string dump_json(const nlohmann::json& j);

}  // namespace regulars::wire
