#include "json_text.hpp"

#include <nlohmann/json.hpp>

namespace regulars::wire {

int json_nesting_depth(std::string_view text, int max_depth) noexcept {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > max_depth) return deepest;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return deepest;
}

std::variant<nlohmann::json, Error> parse_json(std::string_view text, int max_depth) {
  if (json_nesting_depth(text, max_depth) > max_depth)
    return Error{ErrorCode::too_deep, "", "JSON nests deeper than " + std::to_string(max_depth) + " levels"};
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for "1e400"
    return Error{ErrorCode::invalid_json, "", std::string("not valid JSON: ") + e.what()};
  }
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace regulars::wire
