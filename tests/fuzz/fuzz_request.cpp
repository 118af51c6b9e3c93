// fuzz_request: the bytes are one JSON payload. They go through parse_json with the daemon's
// depth limit, then validate_event and validate_hints_request (on the whole value, and on its
// "event"/"request" member when it is a framed request). The raw text also goes through the
// small text helpers that see customer input: card-number detection, identifier normalisation
// and RFC 3339 parsing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace regulars;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  fuzz::check_payload(text, /*whole_value_too=*/true);

  (void)wire::contains_card_number(text);

  const std::string phone = wire::normalize_identifier("phone", text);
  for (std::size_t i = 0; i < phone.size(); ++i)
    FUZZ_CHECK((phone[i] >= '0' && phone[i] <= '9') || (i == 0 && phone[i] == '+'));

  const std::string email = wire::normalize_identifier("email", text);
  FUZZ_CHECK(email.size() <= text.size());
  FUZZ_CHECK(std::none_of(email.begin(), email.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  if (!email.empty()) {
    FUZZ_CHECK(email.front() != ' ' && email.front() != '\t');
    FUZZ_CHECK(email.back() != ' ' && email.back() != '\t');
  }

  if (const auto t = wire::parse_time_ms(text)) {
    FUZZ_CHECK(text.size() >= 20);
    // Any time at or after the epoch formats to a string that parses back to the same instant.
    if (*t >= 0) FUZZ_CHECK(wire::parse_time_ms(wire::format_time_ms(*t)) == t);
  }
  return 0;
}
