// A successful response as it travels: {"id":<id>,"ok":true,"result":<value>} (sdk/PROTOCOL.md).
// The daemon writes exactly this text, key order included, serialising the result once; the
// plugin recognises it without building the result, so a hints answer reaches the till as the
// daemon's bytes. Anything else (an error, an older daemon's spacing) takes the full parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regulars::wire {

// `id_json` and `result_json` are JSON texts (the request's id as sent, and the result).
std::string ok_response_text(std::string_view id_json, std::string_view result_json);

struct OkResponse {
  std::uint64_t id = 0;
  std::string_view result;  // unchecked JSON text: the caller validates it before use
};

// The id and result of a payload written by ok_response_text with an unsigned integer id;
// nullopt for any other payload.
std::optional<OkResponse> split_ok_response(std::string_view payload) noexcept;

}  // namespace regulars::wire
