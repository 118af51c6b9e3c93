// Strict validation of everything a till sends: events and requests. The daemon and the plugin
// run the same checks, so a bad event is refused at the till and never reaches the spool.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "error.hpp"

namespace regulars::wire {

// Identifier kinds a till may name a customer by.
bool is_identifier_kind(std::string_view kind) noexcept;

// Canonical form of an identifier value before it is hashed: phones keep digits (and a leading
// '+'), e-mails are trimmed and lower-cased, everything else is trimmed. Call after validation.
std::string normalize_identifier(std::string_view kind, std::string_view value);

// How hard contains_card_number looks. Digits are those of any script (Unicode Nd), and a run
// of digits goes on across any spaces, dots, slashes, dashes and invisible characters.
enum class CardScan {
  // Free text: any whole groups in a row holding 13-19 digits that pass Luhn, so digits before
  // or after a card do not hide it ("ref 7 4111 1111 1111 1111"). Digits glued to a card with no
  // separator at all ("74111111111111111") are judged with it, as one number.
  any_window,
  // Identifiers: a whole run of 13-19 digits passing Luhn. A loyalty number written in groups is
  // not refused because some of its groups happen to pass the check.
  whole_runs,
};

// True when `text` holds something that may be a payment card number.
bool contains_card_number(std::string_view text, CardScan scan = CardScan::any_window);

// {"kind": ..., "value": ...}; `path` names the field in errors.
std::optional<Error> validate_customer(const nlohmann::json& customer, const std::string& path);

// A complete event as stored (after the plugin filled its defaults). Checks type, ids, time,
// and the type's own fields; unknown fields are refused.
std::optional<Error> validate_event(const nlohmann::json& event, const std::string& path = "event");

// One line of a purchase or return (`path` names it, e.g. "event.lines[0]"): the rule
// validate_event applies to each. The import checks the further lines of a sale with it, once
// the first line's whole event has passed.
std::optional<Error> validate_sale_line(const nlohmann::json& line, const std::string& path);

// The body of a hints request: customer, optional basket, locale, caps.
std::optional<Error> validate_hints_request(const nlohmann::json& request, const std::string& path = "request");

// Building blocks for validators of other inputs (gesture rules, admin requests); each returns
// an error naming `path.key` (or `field`) with `code`.
// Identifiers of staff, lanes, stores, events and rules: [A-Za-z0-9._:@-], 1..max bytes.
std::optional<Error> check_token(const nlohmann::json& obj, std::string_view key, const std::string& path,
                                 std::size_t max, bool required, ErrorCode code);
// Whether `s` is well-formed UTF-8. Text from a JSON parser always is; text from a file (an
// import) or built in memory may not be, and must not reach the store.
bool valid_utf8(std::string_view s) noexcept;

// Free text shown to people: UTF-8, no control characters, 1..max bytes, never a card number.
// SKUs skip the card check (guard_card=false): a 13-digit EAN barcode passes Luhn one time in ten.
std::optional<Error> check_text(const nlohmann::json& value, const std::string& field, std::size_t max, ErrorCode code,
                                bool guard_card = true);
// Any key of `obj` not in `known` is refused.
std::optional<Error> refuse_unknown_keys(const nlohmann::json& obj, const std::string& path,
                                         std::initializer_list<std::string_view> known, ErrorCode code);

// RFC 3339 timestamps ("2026-11-23T10:15:00Z", "2026-11-23T13:45:00.250+03:30").
std::optional<std::int64_t> parse_time_ms(std::string_view text) noexcept;
std::string format_time_ms(std::int64_t unix_ms);

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;

// Milliseconds since the Unix epoch, from the system clock.
std::int64_t now_ms() noexcept;

}  // namespace regulars::wire
