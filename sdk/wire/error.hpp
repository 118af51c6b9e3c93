// Typed errors shared by the daemon and the plugin: one code set on the wire, one mapping to
// the C ABI's regulars_status.
#pragma once

#include <string>
#include <string_view>

namespace regulars::wire {

enum class ErrorCode {
  invalid_frame,        // the frame header or length is unacceptable
  frame_too_large,      // declared length over the negotiated maximum
  invalid_json,         // not JSON, or not valid UTF-8
  too_deep,             // nesting deeper than the limit
  invalid_request,      // a request that breaks the schema (missing id, wrong type, ...)
  invalid_event,        // an event that breaks the schema
  card_number_refused,  // text that looks like a payment card number
  invalid_rule,         // a gesture rule that breaks the rule format
  unknown_op,           // op not known to this server
  handshake_required,   // first frame was not "hello"
  unsupported_version,  // protocol version not supported
  not_found,
  denied,
  overloaded,           // too many requests in flight; retry later
  shutting_down,        // the daemon is stopping
  internal,
  conflict,             // the request contradicts what is stored (e.g. a follow-up for unknown feedback)
};

std::string_view to_string(ErrorCode code) noexcept;
// Unknown strings map to ErrorCode::internal so a newer daemon cannot confuse an older client.
ErrorCode error_code_from_string(std::string_view s) noexcept;

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string field;    // JSON path of the offending field, e.g. "event.lines[0].qty"; may be empty
  std::string message;  // one line, English, says what to do

  // "field: message", or just the message when there is no field.
  std::string describe() const;
};

}  // namespace regulars::wire
