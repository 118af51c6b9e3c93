#include "validate.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <initializer_list>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

namespace regulars::wire {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 5> kIdentifierKinds{"card", "phone", "email", "app", "payment_token"};
constexpr std::array<std::string_view, 13> kEventTypes{"purchase", "return",   "consent",    "preference",
                                                      "note",     "profile",  "link",       "merge",
                                                      "feedback", "followup", "staff_idea", "idea_review",
                                                      "offer_outcome"};
constexpr std::string_view kEventTypeList =
    "purchase, return, consent, preference, note, profile, link, merge, feedback, followup, staff_idea, idea_review, "
    "offer_outcome";
constexpr std::size_t kMaxComment = 2000;  // bytes of a feedback comment or a staff idea

constexpr std::size_t kMaxIdentifierBytes = 256;
constexpr std::size_t kMaxLines = 1000;
constexpr std::size_t kMaxBasket = 1000;
constexpr std::int64_t kMaxUnitPrice = 1'000'000'000'000;  // minor units
constexpr double kMaxQty = 100000;

Error invalid(ErrorCode code, std::string field, std::string message) {
  return Error{code, std::move(field), std::move(message)};
}

// Valid UTF-8 is guaranteed by the parser; here we refuse control characters in short texts.
// C0 controls and DEL, and the C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F), which terminals
// obey as they do ESC sequences: regularsctl prints names, notes and comments as stored.
bool has_control_chars(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F &&
        static_cast<unsigned char>(s[i + 1]) >= 0x80)
      return true;
  }
  return false;
}

bool is_token_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-' || c == '@';
}

}  // namespace

std::optional<Error> check_token(const json& obj, std::string_view key, const std::string& path, std::size_t max,
                                 bool required, ErrorCode code) {
  const auto it = obj.find(key);
  const std::string field = path + "." + std::string(key);
  if (it == obj.end()) {
    if (required) return invalid(code, field, "is required");
    return std::nullopt;
  }
  if (!it->is_string()) return invalid(code, field, "must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > max)
    return invalid(code, field, "must be 1 to " + std::to_string(max) + " characters");
  if (!std::all_of(s.begin(), s.end(), is_token_char))
    return invalid(code, field, "may contain only letters, digits and . _ : @ -");
  return std::nullopt;
}

std::optional<Error> check_text(const json& value, const std::string& field, std::size_t max, ErrorCode code,
                                bool guard_card) {
  if (!value.is_string()) return invalid(code, field, "must be a string");
  const auto& s = value.get_ref<const std::string&>();
  if (s.empty() || s.size() > max) return invalid(code, field, "must be 1 to " + std::to_string(max) + " bytes");
  if (has_control_chars(s)) return invalid(code, field, "must not contain control characters");
  if (guard_card && contains_card_number(s))
    return invalid(ErrorCode::card_number_refused, field,
                   "looks like a payment card number; card numbers are never stored");
  return std::nullopt;
}

std::optional<Error> refuse_unknown_keys(const json& obj, const std::string& path,
                                         std::initializer_list<std::string_view> known, ErrorCode code) {
  for (const auto& [key, _] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      return invalid(code, path + "." + key, "is not a known field");
  }
  return std::nullopt;
}

std::optional<Error> validate_sale_line(const json& line, const std::string& lp) {
  constexpr auto code = ErrorCode::invalid_event;
  if (!line.is_object()) return invalid(code, lp, "must be an object");
  if (auto e = refuse_unknown_keys(line, lp, {"sku", "name", "qty", "unit_price", "for", "category"}, code)) return e;
  const auto sku = line.find("sku");
  if (sku == line.end()) return invalid(code, lp + ".sku", "is required");
  if (auto e = check_text(*sku, lp + ".sku", 64, code, /*guard_card=*/false)) return e;
  if (const auto n = line.find("name"); n != line.end())
    if (auto e = check_text(*n, lp + ".name", 200, code)) return e;
  if (const auto c = line.find("category"); c != line.end())
    if (auto e = check_text(*c, lp + ".category", 64, code)) return e;
  if (const auto f = line.find("for"); f != line.end())
    if (auto e = check_text(*f, lp + ".for", 64, code)) return e;
  const auto qty = line.find("qty");
  if (qty != line.end()) {
    if (!qty->is_number() || !(qty->get<double>() > 0) || qty->get<double>() > kMaxQty)
      return invalid(code, lp + ".qty", "must be a number greater than 0 and at most 100000");
  }
  const auto price = line.find("unit_price");
  if (price != line.end()) {
    if (!price->is_number_integer() || price->get<std::int64_t>() < 0 || price->get<std::int64_t>() > kMaxUnitPrice)
      return invalid(code, lp + ".unit_price", "must be a whole number of minor units (cents), 0 or more");
  }
  return std::nullopt;
}

namespace {

std::optional<Error> validate_purchase(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  const auto it = event.find("lines");
  if (it == event.end()) return invalid(code, path + ".lines", "is required");
  if (!it->is_array() || it->empty() || it->size() > kMaxLines)
    return invalid(code, path + ".lines", "must be an array of 1 to " + std::to_string(kMaxLines) + " lines");
  for (std::size_t i = 0; i < it->size(); ++i)
    if (auto e = validate_sale_line((*it)[i], path + ".lines[" + std::to_string(i) + "]")) return e;
  return std::nullopt;
}

// feedback: an NPS score (0-10), a CSAT score (1-5) or both, optional reason tags and a
// comment; or {"declined": true} when the customer was asked and said no.
std::optional<Error> validate_feedback(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  const auto nps = event.find("nps"), csat = event.find("csat"), declined = event.find("declined");
  if (nps != event.end() && !(nps->is_number_integer() && nps->get<std::int64_t>() >= 0 && nps->get<std::int64_t>() <= 10))
    return invalid(code, path + ".nps", "must be a whole number from 0 to 10");
  if (csat != event.end() && !(csat->is_number_integer() && csat->get<std::int64_t>() >= 1 && csat->get<std::int64_t>() <= 5))
    return invalid(code, path + ".csat", "must be a whole number from 1 to 5");
  if (declined != event.end()) {
    if (!declined->is_boolean() || !declined->get<bool>()) return invalid(code, path + ".declined", "must be true when present");
    if (nps != event.end() || csat != event.end() || event.contains("comment") || event.contains("reasons"))
      return invalid(code, path + ".declined", "a declined request carries no scores, reasons or comment");
    return std::nullopt;
  }
  if (nps == event.end() && csat == event.end())
    return invalid(code, path + ".nps", "feedback needs nps (0-10), csat (1-5) or both; send \"declined\": true if the customer did not answer");
  if (const auto r = event.find("reasons"); r != event.end()) {
    if (!r->is_array() || r->size() > 10) return invalid(code, path + ".reasons", "must be an array of at most 10 tags");
    for (std::size_t i = 0; i < r->size(); ++i) {
      const json& tag = (*r)[i];
      const std::string tp = path + ".reasons[" + std::to_string(i) + "]";
      if (!tag.is_string() || tag.get_ref<const std::string&>().empty() || tag.get_ref<const std::string&>().size() > 32 ||
          !std::all_of(tag.get_ref<const std::string&>().begin(), tag.get_ref<const std::string&>().end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }))
        return invalid(code, tp, "reason tags are 1 to 32 characters of a-z, 0-9, _ and -, e.g. \"slow_service\"");
      if (contains_card_number(tag.get_ref<const std::string&>()))
        return invalid(ErrorCode::card_number_refused, tp, "looks like a payment card number; card numbers are never stored");
    }
  }
  if (const auto c = event.find("comment"); c != event.end())
    if (auto e = check_text(*c, path + ".comment", kMaxComment, code)) return e;
  if (auto e = check_token(event, "lane", path, 64, false, code)) return e;
  if (auto e = check_token(event, "visit", path, 128, false, code)) return e;
  return std::nullopt;
}

// `key`: required, and one of `choices`; the error lists them ("a, b or c").
std::optional<Error> check_choice(const json& obj, std::string_view key, const std::string& path,
                                  std::initializer_list<std::string_view> choices, ErrorCode code) {
  std::string listed;
  std::size_t i = 0;
  for (const std::string_view c : choices) {
    if (i > 0) listed += i + 1 == choices.size() ? " or " : ", ";
    listed += c;
    ++i;
  }
  const std::string field = path + "." + std::string(key);
  const auto it = obj.find(key);
  if (it == obj.end()) return invalid(code, field, "is required: " + listed);
  if (!it->is_string() || std::find(choices.begin(), choices.end(), it->get_ref<const std::string&>()) == choices.end())
    return invalid(code, field, "must be " + listed);
  return std::nullopt;
}

// followup: the owner moves a follow-up item (opened by unhappy feedback) along.
std::optional<Error> validate_followup(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  if (auto e = check_token(event, "feedback", path, 128, true, code)) return e;
  if (auto e = check_choice(event, "state", path, {"open", "contacted", "resolved"}, code)) return e;
  if (const auto n = event.find("note"); n != event.end())
    if (auto e = check_text(*n, path + ".note", 500, code)) return e;
  if (auto e = check_token(event, "by", path, 64, false, code)) return e;
  return std::nullopt;
}

// offer_outcome: what became of a gesture offered at the till.
std::optional<Error> validate_offer_outcome(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  if (auto e = check_token(event, "offer_id", path, 128, true, code)) return e;
  return check_choice(event, "outcome", path, {"accepted", "declined", "redeemed"}, code);
}

// staff_idea: a cashier's improvement idea or a problem flagged from the till.
std::optional<Error> validate_staff_idea(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  if (!event.contains("cashier")) return invalid(code, path + ".cashier", "is required: who had the idea");
  const auto kind = event.find("kind");
  if (kind != event.end() && (!kind->is_string() || (*kind != "idea" && *kind != "problem")))
    return invalid(code, path + ".kind", "must be idea or problem");
  const auto text = event.find("text");
  if (text == event.end()) return invalid(code, path + ".text", "is required");
  if (auto e = check_text(*text, path + ".text", kMaxComment, code)) return e;
  return check_token(event, "lane", path, 64, false, code);
}

// idea_review: the owner marks a staff idea seen or done (or new again).
std::optional<Error> validate_idea_review(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  if (auto e = check_token(event, "idea", path, 128, true, code)) return e;
  if (auto e = check_choice(event, "state", path, {"new", "seen", "done"}, code)) return e;
  return check_token(event, "by", path, 64, false, code);
}

std::optional<Error> validate_consent(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  const auto it = event.find("purposes");
  const std::string field = path + ".purposes";
  if (it == event.end()) return invalid(code, field, "is required");
  if (!it->is_object() || it->empty() || it->size() > 16)
    return invalid(code, field, "must be an object of 1 to 16 purposes, e.g. {\"remember\": true}");
  for (const auto& [key, value] : it->items()) {
    const bool good_key = !key.empty() && key.size() <= 32 &&
                          std::all_of(key.begin(), key.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
    if (!good_key) return invalid(code, field + "." + key, "purpose names are lower-case letters and _");
    if (!value.is_boolean()) return invalid(code, field + "." + key, "must be true or false");
  }
  return std::nullopt;
}

int parse_digits(std::string_view s, std::size_t pos, std::size_t n, bool& ok) noexcept {
  int v = 0;
  if (pos + n > s.size()) {
    ok = false;
    return 0;
  }
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      ok = false;
      return 0;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_identifier_kind(std::string_view kind) noexcept {
  return std::find(kIdentifierKinds.begin(), kIdentifierKinds.end(), kind) != kIdentifierKinds.end();
}

std::string normalize_identifier(std::string_view kind, std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  std::string out;
  if (kind == "phone") {
    for (std::size_t i = 0; i < value.size(); ++i) {
      const char c = value[i];
      if ((c >= '0' && c <= '9') || (c == '+' && out.empty())) out.push_back(c);
    }
    return out;
  }
  out.assign(value);
  if (kind == "email")
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

std::optional<Error> validate_customer(const json& customer, const std::string& path) {
  const auto code = ErrorCode::invalid_event;
  if (!customer.is_object()) return invalid(code, path, "must be an object {\"kind\": ..., \"value\": ...}");
  if (auto e = refuse_unknown_keys(customer, path, {"kind", "value"}, code)) return e;
  const auto kind = customer.find("kind");
  if (kind == customer.end() || !kind->is_string() || !is_identifier_kind(kind->get_ref<const std::string&>()))
    return invalid(code, path + ".kind", "must be one of card, phone, email, app, payment_token");
  const auto value = customer.find("value");
  if (value == customer.end() || !value->is_string()) return invalid(code, path + ".value", "must be a string");
  const auto& v = value->get_ref<const std::string&>();
  const auto& k = kind->get_ref<const std::string&>();
  if (v.empty() || v.size() > kMaxIdentifierBytes)
    return invalid(code, path + ".value", "must be 1 to 256 bytes");
  if (has_control_chars(v)) return invalid(code, path + ".value", "must not contain control characters");
  if (normalize_identifier(k, v).empty()) return invalid(code, path + ".value", "is empty once normalised");
  if (k == "payment_token") {
    // A token is opaque; a bare card number passed off as a token is still a card number.
    if (contains_card_number(v, CardScan::whole_runs))
      return invalid(ErrorCode::card_number_refused, path + ".value",
                     "a payment_token must be the processor's opaque token, not the card number");
  } else if (contains_card_number(v, CardScan::whole_runs)) {
    return invalid(ErrorCode::card_number_refused, path + ".value",
                   "looks like a payment card number; identify the customer by loyalty card, phone, "
                   "e-mail, app or a payment_token instead");
  }
  return std::nullopt;
}

namespace {

// "MM-DD" or "YYYY-MM-DD": birthdays and anniversaries, with or without the year.
bool is_month_day(const std::string& s) {
  const std::string md = s.size() == 10 && s[4] == '-' ? s.substr(5) : s;
  if (s.size() == 10 && !std::all_of(s.begin(), s.begin() + 4, [](char c) { return c >= '0' && c <= '9'; })) return false;
  if (md.size() != 5 || md[2] != '-') return false;
  bool ok = true;
  const int m = parse_digits(md, 0, 2, ok);
  const int d = parse_digits(md, 3, 2, ok);
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return ok && m >= 1 && m <= 12 && d >= 1 && d <= kDays[m - 1];
}

std::optional<Error> check_key(const json& value, const std::string& field, ErrorCode code) {
  const bool ok = value.is_string() && !value.get_ref<const std::string&>().empty() &&
                  value.get_ref<const std::string&>().size() <= 32 &&
                  std::all_of(value.get_ref<const std::string&>().begin(), value.get_ref<const std::string&>().end(),
                              [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
  if (!ok) return invalid(code, field, "must be 1 to 32 of a-z, 0-9 and _ (for example bag, milk, allergy)");
  return std::nullopt;
}

std::optional<Error> validate_preference(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  const auto key = event.find("key");
  if (key == event.end()) return invalid(code, path + ".key", "is required");
  if (auto e = check_key(*key, path + ".key", code)) return e;
  const auto value = event.find("value");
  if (value == event.end()) return invalid(code, path + ".value", "is required (null removes the preference)");
  if (!value->is_null())
    if (auto e = check_text(*value, path + ".value", 200, code)) return e;
  if (const auto f = event.find("for"); f != event.end())
    if (auto e = check_text(*f, path + ".for", 64, code)) return e;
  if (const auto by = event.find("said_by"); by != event.end()) {
    const bool ok = by->is_string() && (*by == "customer" || *by == "cashier" || *by == "family");
    if (!ok) return invalid(code, path + ".said_by", "must be customer, cashier or family");
  }
  return std::nullopt;
}

std::optional<Error> validate_profile(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  bool any = false;
  if (const auto n = event.find("name"); n != event.end()) {
    any = true;
    if (!n->is_null())
      if (auto e = check_text(*n, path + ".name", 64, code)) return e;
  }
  for (const char* key : {"birthday", "anniversary"}) {
    const auto it = event.find(key);
    if (it == event.end()) continue;
    any = true;
    if (!it->is_null() && !(it->is_string() && is_month_day(it->get<std::string>())))
      return invalid(code, path + "." + key, "must be MM-DD or YYYY-MM-DD (or null to remove)");
  }
  if (const auto l = event.find("language"); l != event.end()) {
    any = true;
    const bool ok = l->is_null() || (l->is_string() && l->get_ref<const std::string&>().size() >= 2 &&
                                     l->get_ref<const std::string&>().size() <= 8 &&
                                     std::all_of(l->get_ref<const std::string&>().begin(),
                                                 l->get_ref<const std::string&>().end(),
                                                 [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '-'; }));
    if (!ok) return invalid(code, path + ".language", "must be a language tag such as en, fa or ar");
  }
  if (const auto d = event.find("discreet"); d != event.end()) {
    any = true;
    if (!d->is_boolean()) return invalid(code, path + ".discreet", "must be true or false");
  }
  if (const auto dnm = event.find("do_not_mention"); dnm != event.end()) {
    any = true;
    if (!dnm->is_array() || dnm->size() > 32)
      return invalid(code, path + ".do_not_mention", "must be an array of at most 32 topics (SKUs, categories, preference keys, household members or hint kinds)");
    for (std::size_t i = 0; i < dnm->size(); ++i)
      if (auto e = check_text((*dnm)[i], path + ".do_not_mention[" + std::to_string(i) + "]", 64, code)) return e;
  }
  if (const auto hh = event.find("household"); hh != event.end()) {
    any = true;
    if (!hh->is_array() || hh->size() > 16) return invalid(code, path + ".household", "must be an array of at most 16 members");
    for (std::size_t i = 0; i < hh->size(); ++i) {
      const json& m = (*hh)[i];
      const std::string mp = path + ".household[" + std::to_string(i) + "]";
      if (!m.is_object()) return invalid(code, mp, "must be an object {\"member\": \"son\", ...}");
      if (auto e = refuse_unknown_keys(m, mp, {"member", "name", "birthday"}, code)) return e;
      const auto member = m.find("member");
      if (member == m.end()) return invalid(code, mp + ".member", "is required");
      if (auto e = check_text(*member, mp + ".member", 64, code)) return e;
      if (const auto n = m.find("name"); n != m.end())
        if (auto e = check_text(*n, mp + ".name", 64, code)) return e;
      if (const auto b = m.find("birthday"); b != m.end())
        if (!(b->is_string() && is_month_day(b->get<std::string>())))
          return invalid(code, mp + ".birthday", "must be MM-DD or YYYY-MM-DD");
    }
  }
  if (const auto tags = event.find("tags"); tags != event.end()) {
    any = true;
    if (!tags->is_array() || tags->size() > 32) return invalid(code, path + ".tags", "must be an array of at most 32 tags such as \"vip\"");
    for (std::size_t i = 0; i < tags->size(); ++i) {
      const json wrapped = {{"tag", (*tags)[i]}};
      if (auto e = check_token(wrapped, "tag", path + ".tags[" + std::to_string(i) + "]", 64, true, code)) {
        e->field = path + ".tags[" + std::to_string(i) + "]";
        return e;
      }
      if (contains_card_number((*tags)[i].get<std::string>()))
        return invalid(ErrorCode::card_number_refused, path + ".tags[" + std::to_string(i) + "]",
                       "looks like a payment card number; card numbers are never stored");
    }
  }
  if (!any)
    return invalid(code, path, "a profile event needs at least one of name, birthday, anniversary, language, discreet, do_not_mention, household, tags");
  return std::nullopt;
}

}  // namespace

std::optional<Error> validate_event(const json& event, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_event;
  if (!event.is_object()) return invalid(code, path, "must be a JSON object");
  const auto type = event.find("type");
  if (type == event.end() || !type->is_string())
    return invalid(code, path + ".type", "is required: one of " + std::string(kEventTypeList));
  const auto& t = type->get_ref<const std::string&>();
  if (std::find(kEventTypes.begin(), kEventTypes.end(), t) == kEventTypes.end())
    return invalid(code, path + ".type", "unknown event type '" + t.substr(0, 32) + "'; known: " + std::string(kEventTypeList));

  // Fields every event may carry, then each type's own.
  static const std::vector<std::string_view> kCommon{"type", "event_id", "time", "store", "terminal", "cashier", "touchpoint", "customer"};
  std::vector<std::string_view> own;
  if (t == "purchase" || t == "return") own = {"lines", "currency"};
  else if (t == "consent") own = {"purposes"};
  else if (t == "preference") own = {"key", "value", "for", "said_by"};
  else if (t == "note") own = {"text"};
  else if (t == "profile") own = {"name", "birthday", "anniversary", "language", "discreet", "do_not_mention", "household", "tags"};
  else if (t == "offer_outcome") own = {"offer_id", "outcome"};
  else if (t == "link") own = {"identifier"};
  else if (t == "merge") own = {"other"};
  else if (t == "feedback") own = {"nps", "csat", "reasons", "comment", "lane", "visit", "declined"};
  else if (t == "followup") own = {"feedback", "state", "note", "by"};
  else if (t == "staff_idea") own = {"kind", "text", "lane"};
  else if (t == "idea_review") own = {"idea", "state", "by"};
  for (const auto& [key, _] : event.items()) {
    if (std::find(kCommon.begin(), kCommon.end(), key) == kCommon.end() && std::find(own.begin(), own.end(), key) == own.end())
      return invalid(code, path + "." + key, "is not a known field of a " + t + " event");
  }
  if (auto e = check_token(event, "event_id", path, 128, true, code)) return e;
  if (auto e = check_token(event, "store", path, 64, false, code)) return e;
  if (auto e = check_token(event, "terminal", path, 64, false, code)) return e;
  if (auto e = check_token(event, "cashier", path, 64, false, code)) return e;
  if (auto e = check_token(event, "touchpoint", path, 64, false, code)) return e;
  if (const auto time = event.find("time"); time != event.end()) {
    if (!time->is_string() || !parse_time_ms(time->get_ref<const std::string&>()))
      return invalid(code, path + ".time", "must be an RFC 3339 time such as 2026-11-23T10:15:00Z");
  }
  if (const auto cur = event.find("currency"); cur != event.end()) {
    const bool ok = cur->is_string() && cur->get_ref<const std::string&>().size() == 3 &&
                    std::all_of(cur->get_ref<const std::string&>().begin(), cur->get_ref<const std::string&>().end(),
                                [](char c) { return c >= 'A' && c <= 'Z'; });
    if (!ok) return invalid(code, path + ".currency", "must be an ISO 4217 code such as EUR");
  }
  // Feedback may be anonymous; follow-ups and staff ideas are about no customer at all.
  const auto customer = event.find("customer");
  if (t == "followup" || t == "staff_idea" || t == "idea_review" || t == "offer_outcome") {
    if (customer != event.end()) return invalid(code, path + ".customer", "a " + t + " event names no customer");
  } else if (customer != event.end()) {
    if (auto e = validate_customer(*customer, path + ".customer")) return e;
  } else if (t != "feedback") {
    return invalid(code, path + ".customer", "is required");
  }

  if (t == "feedback") return validate_feedback(event, path);
  if (t == "followup") return validate_followup(event, path);
  if (t == "offer_outcome") return validate_offer_outcome(event, path);
  if (t == "staff_idea") return validate_staff_idea(event, path);
  if (t == "idea_review") return validate_idea_review(event, path);
  if (t == "purchase" || t == "return") return validate_purchase(event, path);
  if (t == "consent") return validate_consent(event, path);
  if (t == "preference") return validate_preference(event, path);
  if (t == "profile") return validate_profile(event, path);
  if (t == "note") {
    const auto text = event.find("text");
    if (text == event.end()) return invalid(code, path + ".text", "is required");
    return check_text(*text, path + ".text", 500, code);
  }
  const char* other_key = t == "link" ? "identifier" : "other";
  const auto other = event.find(other_key);
  if (other == event.end()) return invalid(code, path + "." + other_key, "is required");
  if (auto e = validate_customer(*other, path + "." + other_key)) return e;
  if ((*other)["kind"] == (*customer)["kind"] &&
      normalize_identifier((*other)["kind"].get<std::string>(), (*other)["value"].get<std::string>()) ==
          normalize_identifier((*customer)["kind"].get<std::string>(), (*customer)["value"].get<std::string>()))
    return invalid(code, path + "." + other_key, "names the same identifier as customer");
  return std::nullopt;
}

std::optional<Error> validate_hints_request(const json& request, const std::string& path) {
  constexpr auto code = ErrorCode::invalid_request;
  if (!request.is_object()) return invalid(code, path, "must be a JSON object");
  if (auto e = refuse_unknown_keys(request, path, {"customer", "basket", "locale", "max_hints", "max_predictions", "discreet", "time",
                                                   "cashier", "terminal", "store", "max_offers"},
                                   code))
    return e;
  for (const char* who : {"cashier", "terminal", "store"})
    if (auto e = check_token(request, who, path, 64, false, code)) return e;
  if (const auto m = request.find("max_offers"); m != request.end())
    if (!m->is_number_integer() || m->get<std::int64_t>() < 0 || m->get<std::int64_t>() > 10)
      return invalid(code, path + ".max_offers", "must be a whole number from 0 to 10");
  const auto customer = request.find("customer");
  if (customer == request.end()) return invalid(code, path + ".customer", "is required");
  if (auto e = validate_customer(*customer, path + ".customer")) {
    if (e->code == ErrorCode::invalid_event) e->code = code;
    return e;
  }
  if (const auto basket = request.find("basket"); basket != request.end()) {
    if (!basket->is_array() || basket->size() > kMaxBasket)
      return invalid(code, path + ".basket", "must be an array of at most 1000 items");
    for (std::size_t i = 0; i < basket->size(); ++i) {
      const json& item = (*basket)[i];
      const std::string ip = path + ".basket[" + std::to_string(i) + "]";
      if (!item.is_object()) return invalid(code, ip, "must be an object {\"sku\": ...}");
      if (auto e = refuse_unknown_keys(item, ip, {"sku", "name", "qty"}, code)) return e;
      const auto sku = item.find("sku");
      if (sku == item.end()) return invalid(code, ip + ".sku", "is required");
      if (auto e = check_text(*sku, ip + ".sku", 64, code, /*guard_card=*/false)) return e;
    }
  }
  if (const auto locale = request.find("locale"); locale != request.end()) {
    const bool ok = locale->is_string() && !locale->get_ref<const std::string&>().empty() &&
                    locale->get_ref<const std::string&>().size() <= 35 &&
                    std::all_of(locale->get_ref<const std::string&>().begin(),
                                locale->get_ref<const std::string&>().end(),
                                [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
    if (!ok) return invalid(code, path + ".locale", "must be a language tag such as en, fa or ar");
  }
  if (const auto d = request.find("discreet"); d != request.end() && !d->is_boolean())
    return invalid(code, path + ".discreet", "must be true or false");
  if (const auto t = request.find("time"); t != request.end())
    if (!t->is_string() || !parse_time_ms(t->get_ref<const std::string&>()))
      return invalid(code, path + ".time", "must be an RFC 3339 time such as 2026-11-23T10:15:00Z");
  for (const auto& [key, max] : {std::pair{"max_hints", 20}, std::pair{"max_predictions", 50}}) {
    const auto it = request.find(key);
    if (it == request.end()) continue;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > max)
      return invalid(code, path + "." + key, "must be a whole number from 0 to " + std::to_string(max));
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_time_ms(std::string_view s) noexcept {
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)
  bool ok = true;
  const int year = parse_digits(s, 0, 4, ok);
  const int month = parse_digits(s, 5, 2, ok);
  const int day = parse_digits(s, 8, 2, ok);
  const int hour = parse_digits(s, 11, 2, ok);
  const int minute = parse_digits(s, 14, 2, ok);
  const int second = parse_digits(s, 17, 2, ok);
  if (!ok || s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || hour > 23 || minute > 59 ||
      second > 60)
    return std::nullopt;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return std::nullopt;
  std::size_t pos = 19;
  int millis = 0;
  if (s[pos] == '.') {
    ++pos;
    int scale = 100;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    if (pos + 1 != s.size()) return std::nullopt;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int oh = parse_digits(s, pos + 1, 2, ok);
    const int om = parse_digits(s, pos + 4, 2, ok);
    if (!ok || pos + 6 != s.size() || s[pos + 3] != ':' || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + std::min(second, 59) - offset_minutes * 60;
  return secs * 1000 + millis;
}

namespace {

// The inverse of days_from_civil, in arithmetic alone (no gmtime_r, which Windows lacks).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

}  // namespace

std::string format_time_ms(std::int64_t unix_ms) {
  const std::int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  const int millis = static_cast<int>(unix_ms - secs * 1000);
  const std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const std::int64_t in_day = secs - days * 86400;
  std::int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(year), month, day,
                static_cast<int>(in_day / 3600), static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60), millis);
  return buf;
}

std::int64_t now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += len;
  }
  return true;
}

}  // namespace regulars::wire
