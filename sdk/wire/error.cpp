#include "error.hpp"

#include <array>
#include <utility>

namespace regulars::wire {
namespace {
constexpr std::array<std::pair<ErrorCode, std::string_view>, 17> kNames{{
    {ErrorCode::invalid_frame, "invalid_frame"},
    {ErrorCode::frame_too_large, "frame_too_large"},
    {ErrorCode::invalid_json, "invalid_json"},
    {ErrorCode::too_deep, "too_deep"},
    {ErrorCode::invalid_request, "invalid_request"},
    {ErrorCode::invalid_event, "invalid_event"},
    {ErrorCode::card_number_refused, "card_number_refused"},
    {ErrorCode::invalid_rule, "invalid_rule"},
    {ErrorCode::unknown_op, "unknown_op"},
    {ErrorCode::handshake_required, "handshake_required"},
    {ErrorCode::unsupported_version, "unsupported_version"},
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::denied, "denied"},
    {ErrorCode::overloaded, "overloaded"},
    {ErrorCode::shutting_down, "shutting_down"},
    {ErrorCode::internal, "internal"},
    {ErrorCode::conflict, "conflict"},
}};
}  // namespace

std::string_view to_string(ErrorCode code) noexcept {
  for (const auto& [c, name] : kNames)
    if (c == code) return name;
  return "internal";
}

ErrorCode error_code_from_string(std::string_view s) noexcept {
  for (const auto& [c, name] : kNames)
    if (name == s) return c;
  return ErrorCode::internal;
}

std::string Error::describe() const {
  if (field.empty()) return message;
  return field + ": " + message;
}

}  // namespace regulars::wire
