// Shared checks for the fuzz targets. Each target is an LLVMFuzzerTestOneInput that libFuzzer
// drives (clang, REGULARS_FUZZ=ON) and that fuzz_regression_main.cpp replays over the corpus and
// the kept crashes with any compiler.
//
// Besides "does not crash, leak or hit undefined behaviour", the targets assert properties the
// daemon relies on: typed errors with the right code and field prefix, error answers that always
// serialise to valid JSON, the depth pre-scan agreeing with the parser, and accepted events that
// survive a serialise/parse round trip unchanged in verdict.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "wire/error.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace regulars::fuzz {

using nlohmann::json;
using wire::Error;
using wire::ErrorCode;

inline bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// Nesting depth of a parsed value, counted no further than `limit` + 1 (so recursion is bounded).
inline int depth_of(const json& j, int limit) {
  if (!j.is_structured()) return 0;
  if (limit < 0) return 1;
  int deepest = 0;
  for (const auto& child : j) {
    const int d = depth_of(child, limit - 1);
    if (d > deepest) deepest = d;
    if (deepest > limit) break;
  }
  return deepest + 1;
}

// What the daemon sends for an error (daemon/net/till_server.cpp error_response): it must always be
// serialisable and parse back, whatever bytes the message or field picked up from the input.
inline void check_error_answer(const Error& e) {
  FUZZ_CHECK(!e.message.empty());
  json err = {{"code", wire::to_string(e.code)}, {"message", e.message}};
  if (!e.field.empty()) err["field"] = e.field;
  const std::string text = wire::dump_json(json{{"id", nullptr}, {"ok", false}, {"error", std::move(err)}});
  const auto back = wire::parse_json(text, wire::kDefaultMaxDepth);
  FUZZ_CHECK(std::holds_alternative<json>(back));
  FUZZ_CHECK(wire::error_code_from_string(std::get<json>(back).at("error").at("code").get<std::string>()) == e.code);
}

inline void check_customer_accepted(const json& customer) {
  const auto& kind = customer.at("kind").get_ref<const std::string&>();
  const auto& value = customer.at("value").get_ref<const std::string&>();
  FUZZ_CHECK(wire::is_identifier_kind(kind));
  FUZZ_CHECK(!wire::normalize_identifier(kind, value).empty());
  FUZZ_CHECK(!wire::contains_card_number(value, wire::CardScan::whole_runs));
}

inline void check_event(const json& event) {
  const auto err = wire::validate_event(event);
  if (err) {
    FUZZ_CHECK(err->code == ErrorCode::invalid_event || err->code == ErrorCode::card_number_refused);
    FUZZ_CHECK(starts_with(err->field, "event"));
    check_error_answer(*err);
    return;
  }
  FUZZ_CHECK(event.is_object());
  FUZZ_CHECK(event.at("type") == "purchase" || event.at("type") == "consent");
  check_customer_accepted(event.at("customer"));
  if (const auto t = event.find("time"); t != event.end())
    FUZZ_CHECK(wire::parse_time_ms(t->get_ref<const std::string&>()).has_value());
  // What the plugin spools and the daemon stores is the re-serialised event: same verdict.
  const auto back = wire::parse_json(wire::dump_json(event), wire::kDefaultMaxDepth);
  FUZZ_CHECK(std::holds_alternative<json>(back));
  FUZZ_CHECK(std::get<json>(back) == event);
  FUZZ_CHECK(!wire::validate_event(std::get<json>(back)).has_value());
}

inline void check_hints_request(const json& request) {
  const auto err = wire::validate_hints_request(request);
  if (err) {
    FUZZ_CHECK(err->code == ErrorCode::invalid_request || err->code == ErrorCode::card_number_refused);
    FUZZ_CHECK(starts_with(err->field, "request"));
    check_error_answer(*err);
    return;
  }
  FUZZ_CHECK(request.is_object());
  check_customer_accepted(request.at("customer"));
}

// One request payload as the daemon sees it: bounded parse, then validation of the op's body
// ("event" for record, "request" for hints), or of the whole value as an event and a request.
inline void check_payload(std::string_view text, bool whole_value_too) {
  const auto parsed = wire::parse_json(text, wire::kDefaultMaxDepth);
  if (const auto* err = std::get_if<Error>(&parsed)) {
    FUZZ_CHECK(err->code == ErrorCode::invalid_json || err->code == ErrorCode::too_deep);
    if (err->code == ErrorCode::too_deep) FUZZ_CHECK(wire::json_nesting_depth(text, wire::kDefaultMaxDepth) > wire::kDefaultMaxDepth);
    check_error_answer(*err);
    return;
  }
  const json& j = std::get<json>(parsed);
  // The pre-scan and the parser agree: nothing deeper than the limit gets through.
  FUZZ_CHECK(depth_of(j, wire::kDefaultMaxDepth) <= wire::kDefaultMaxDepth);
  if (whole_value_too) {
    check_event(j);
    check_hints_request(j);
  }
  if (j.is_object()) {
    if (const auto ev = j.find("event"); ev != j.end()) check_event(*ev);
    if (const auto req = j.find("request"); req != j.end()) check_hints_request(*req);
  }
}

}  // namespace regulars::fuzz
