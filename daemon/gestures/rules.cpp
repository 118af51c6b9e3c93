// Gesture rules: validation of the JSON rule format (sdk/GESTURES.md) into the typed Rule.
//
// Every check names the JSON path of the fault, starting at the caller's `path`, and says in one
// line what is expected. Errors are invalid_rule, except: texts that look like a card number
// (card_number_refused, from wire::check_text), and in parse_rule_text, text that is not JSON
// (invalid_json) or nests deeper than kMaxJsonDepth (too_deep); both of those name `path`.
#include "gestures/rules.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::rules {
namespace {

using nlohmann::json;
using wire::Error;
using wire::ErrorCode;
using Fault = std::optional<Error>;

constexpr ErrorCode kCode = ErrorCode::invalid_rule;

// A rule is at most ~18 levels of JSON deep (8 levels of conditions, two JSON levels each, plus
// the time condition's arrays); the text pre-scan allows more so that a too-deep condition tree
// is still refused by the condition check, which names the condition's path.
constexpr int kMaxJsonDepth = 64;
constexpr std::size_t kMaxChildren = 32;        // all / any
constexpr std::size_t kMaxLocales = 16;         // entries of a message or task
constexpr std::size_t kMaxTokenBytes = 64;      // id, member, tag
constexpr std::size_t kMaxSkuBytes = 64;        // as in purchase lines
constexpr std::size_t kMaxCategoryBytes = 64;   // as in purchase lines
constexpr std::size_t kMaxNameBytes = 100;      // the rule's name
constexpr std::int64_t kMaxCount = 1'000'000;   // visit nth/every, per_day, per_week, per_cashier_per_day
constexpr std::int64_t kMaxMinTimes = 10'000;
constexpr std::int64_t kMaxPercent = 100;
constexpr std::int64_t kMaxBirthdayDays = 31;
constexpr std::int64_t kMaxPriority = 100;
constexpr int kDefaultPriority = 50;
constexpr double kMaxHoldout = 0.9;

constexpr std::array<std::string_view, 14> kConditionNames{"all",   "any",      "not",      "visit",     "bought",
                                                           "in_basket", "absent", "birthday", "spend",   "complaint",
                                                           "time",  "tag",      "segment",  "random"};
constexpr std::array<Condition::Kind, 14> kConditionKinds{
    Condition::Kind::all,      Condition::Kind::any,   Condition::Kind::not_,      Condition::Kind::visit,
    Condition::Kind::bought,   Condition::Kind::in_basket, Condition::Kind::absent, Condition::Kind::birthday,
    Condition::Kind::spend,    Condition::Kind::complaint, Condition::Kind::time,   Condition::Kind::tag,
    Condition::Kind::segment,  Condition::Kind::random};
constexpr std::array<std::string_view, 7> kWeekdays{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr std::array<std::string_view, 4> kSegments{"new", "occasional", "regular", "lapsed"};
constexpr std::array<std::string_view, 5> kPlaceholders{"item", "member", "name", "percent", "amount"};

Error bad(std::string field, std::string message) { return Error{kCode, std::move(field), std::move(message)}; }

template <typename Names>
std::string join(const Names& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Input text quoted in a message: at most 40 bytes, cut on a UTF-8 boundary, control characters
// shown as '?', so the message stays one short line.
std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out;
  std::size_t n = s.size();
  if (n > kMax) {
    n = kMax;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // do not split a character
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : s[i];
  }
  if (n < s.size()) out += "...";
  return out;
}


// True when `j` nests deeper than `limit` levels (recursion bounded by `limit`).
bool deeper_than(const json& j, int limit) {
  if (!j.is_structured()) return false;
  if (limit <= 0) return true;
  return std::any_of(j.begin(), j.end(), [&](const json& child) { return deeper_than(child, limit - 1); });
}

// ---- building blocks --------------------------------------------------------------------------

std::string range_text(std::int64_t lo, std::int64_t hi) { return std::to_string(lo) + " to " + std::to_string(hi); }

Fault only_keys(const json& obj, const std::string& path, std::initializer_list<std::string_view> known) {
  if (auto e = wire::refuse_unknown_keys(obj, path, known, kCode)) {
    e->message += "; known here: " + join(known);
    return e;
  }
  return std::nullopt;
}

Fault expect_object(const json& v, const std::string& field, std::string_view example) {
  if (v.is_object()) return std::nullopt;
  return bad(field, "must be an object, e.g. " + std::string(example));
}

// A JSON integer (not 1.5, not "10", not true) within lo..hi.
Fault read_int(const json& v, const std::string& field, std::int64_t lo, std::int64_t hi, std::int64_t& out,
               std::string_view unit = "") {
  const std::string expected =
      "must be an integer " + std::string(unit) + (unit.empty() ? "" : " ") + "from " + range_text(lo, hi);
  if (!v.is_number_integer()) return bad(field, expected);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return bad(field, expected);
    out = static_cast<std::int64_t>(u);
  } else {
    out = v.get<std::int64_t>();
  }
  if (out < lo || out > hi) return bad(field, expected);
  return std::nullopt;
}

template <typename T>
Fault field_int(const json& obj, std::string_view key, const std::string& path, std::int64_t lo, std::int64_t hi,
                bool required, T& out, std::string_view unit = "") {
  const std::string field = path + "." + std::string(key);
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return bad(field, "is required: an integer " + std::string(unit) + (unit.empty() ? "" : " ") +
                                        "from " + range_text(lo, hi));
    return std::nullopt;
  }
  std::int64_t v = 0;
  if (auto e = read_int(*it, field, lo, hi, v, unit)) return e;
  out = static_cast<T>(v);
  return std::nullopt;
}

Fault field_money(const json& obj, std::string_view key, const std::string& path, std::int64_t lo, bool required,
                  std::int64_t& out) {
  return field_int(obj, key, path, lo, kMaxMoney, required, out, "amount in minor units");
}

Fault field_bool(const json& obj, std::string_view key, const std::string& path, bool& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_boolean()) return bad(path + "." + std::string(key), "must be true or false");
  out = it->get<bool>();
  return std::nullopt;
}

// Text for people (or a SKU, guard_card=false): UTF-8, no control characters, 1..max bytes.
Fault read_text(const json& v, const std::string& field, std::size_t max, bool guard_card, std::string& out) {
  if (auto e = wire::check_text(v, field, max, kCode, guard_card)) return e;
  const auto& s = v.get_ref<const std::string&>();
  if (!wire::valid_utf8(s)) return bad(field, "must be valid UTF-8");
  out = s;
  return std::nullopt;
}

Fault field_text(const json& obj, std::string_view key, const std::string& path, std::size_t max, bool guard_card,
                 std::string& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  return read_text(*it, path + "." + std::string(key), max, guard_card, out);
}

Fault field_token(const json& obj, std::string_view key, const std::string& path, bool required, std::string& out) {
  if (required && !obj.contains(key))
    return bad(path + "." + std::string(key), "is required: 1 to 64 characters of letters, digits and . _ : @ -");
  if (auto e = wire::check_token(obj, key, path, kMaxTokenBytes, required, kCode)) return e;
  if (const auto it = obj.find(key); it != obj.end()) out = it->get<std::string>();
  return std::nullopt;
}

// Exactly one of keys a and b. Both: names b. Neither: names the object.
Fault exactly_one(const json& obj, const std::string& path, std::string_view a, std::string_view b) {
  const bool has_a = obj.contains(a), has_b = obj.contains(b);
  if (has_a && has_b)
    return bad(path + "." + std::string(b), "give either " + std::string(a) + " or " + std::string(b) + ", not both");
  if (!has_a && !has_b) return bad(path, "needs one of " + std::string(a) + " and " + std::string(b));
  return std::nullopt;
}

// sku (not card-checked: a 13-digit EAN passes Luhn one time in ten) or category.
Fault item_ref(const json& obj, const std::string& path, std::string& sku, std::string& category) {
  if (auto e = exactly_one(obj, path, "sku", "category")) return e;
  if (auto e = field_text(obj, "sku", path, kMaxSkuBytes, /*guard_card=*/false, sku)) return e;
  return field_text(obj, "category", path, kMaxCategoryBytes, /*guard_card=*/true, category);
}

// ---- time windows ---------------------------------------------------------------------------

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "HH:MM" as minutes after midnight; "24:00" (1440) only when allow_end_of_day.
std::optional<int> parse_hhmm(const json& v, bool allow_end_of_day) {
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  int h = 0, m = 0;
  if (s.size() != 5 || s[2] != ':' || !digits(s, 0, 2, h) || !digits(s, 3, 2, m) || m > 59) return std::nullopt;
  if (h < 24) return h * 60 + m;
  if (h == 24 && m == 0 && allow_end_of_day) return 24 * 60;
  return std::nullopt;
}

// "YYYY-MM-DD", a real date from 1970-01-01 to 9999-12-31, as days since 1970-01-01.
std::optional<std::int64_t> parse_date(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 0, 4, y) || !digits(s, 5, 2, m) ||
      !digits(s, 8, 2, d))
    return std::nullopt;
  if (y < 1970 || m < 1 || m > 12 || d < 1) return std::nullopt;
  static constexpr std::array<int, 12> kMonthDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int month_days = kMonthDays[static_cast<std::size_t>(m - 1)] + (m == 2 && leap ? 1 : 0);
  if (d > month_days) return std::nullopt;
  return wire::days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

Fault parse_time(const json& v, const std::string& path, Condition& c) {
  if (auto e = expect_object(v, path, R"({"weekdays": ["sat", "sun"]})")) return e;
  if (auto e = only_keys(v, path, {"weekdays", "hours", "dates"})) return e;
  if (v.empty()) return bad(path, "needs at least one of weekdays, hours and dates");

  if (const auto it = v.find("weekdays"); it != v.end()) {
    const std::string field = path + ".weekdays";
    if (!it->is_array() || it->empty() || it->size() > kWeekdays.size())
      return bad(field, R"(must be an array of 1 to 7 day names from mon, tue, wed, thu, fri, sat, sun, e.g. ["sat", "sun"])");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& day = (*it)[i];
      const std::string df = field + "[" + std::to_string(i) + "]";
      const auto found = day.is_string() ? std::find(kWeekdays.begin(), kWeekdays.end(), day.get_ref<const std::string&>())
                                         : kWeekdays.end();
      if (found == kWeekdays.end())
        return bad(df, "unknown day" + (day.is_string() ? " '" + shown(day.get_ref<const std::string&>()) + "'" : "") +
                           "; use mon, tue, wed, thu, fri, sat, sun");
      const auto bit = static_cast<std::uint8_t>(1u << (found - kWeekdays.begin()));
      if (c.weekdays & bit) return bad(df, "'" + std::string(*found) + "' is listed twice");
      c.weekdays = static_cast<std::uint8_t>(c.weekdays | bit);
    }
  }

  if (const auto it = v.find("hours"); it != v.end()) {
    const std::string field = path + ".hours";
    if (auto e = expect_object(*it, field, R"({"from": "09:00", "to": "12:00"})")) return e;
    if (auto e = only_keys(*it, field, {"from", "to"})) return e;
    const auto from_it = it->find("from"), to_it = it->find("to");
    if (from_it == it->end()) return bad(field + ".from", R"(is required: a time "HH:MM" from 00:00 to 23:59)");
    if (to_it == it->end()) return bad(field + ".to", R"(is required: a time "HH:MM" from 00:01 to 24:00)");
    const auto from = parse_hhmm(*from_it, false);
    if (!from) return bad(field + ".from", R"(must be a time "HH:MM" from 00:00 to 23:59)");
    const auto to = parse_hhmm(*to_it, true);
    if (!to) return bad(field + ".to", R"(must be a time "HH:MM" from 00:00 to 24:00 (24:00 is the end of the day))");
    if (*from == *to)
      return bad(field + ".to", "must differ from hours.from; the window would be empty (leave hours out for all day)");
    c.minutes = std::make_pair(*from, *to);
  }

  if (const auto it = v.find("dates"); it != v.end()) {
    const std::string field = path + ".dates";
    if (auto e = expect_object(*it, field, R"({"from": "2026-12-01", "to": "2026-12-24"})")) return e;
    if (auto e = only_keys(*it, field, {"from", "to"})) return e;
    const auto from_it = it->find("from"), to_it = it->find("to");
    if (from_it == it->end()) return bad(field + ".from", "is required: a date YYYY-MM-DD");
    if (to_it == it->end()) return bad(field + ".to", "is required: a date YYYY-MM-DD");
    const auto from = parse_date(*from_it);
    if (!from) return bad(field + ".from", "must be a real date YYYY-MM-DD from 1970-01-01 to 9999-12-31");
    const auto to = parse_date(*to_it);
    if (!to) return bad(field + ".to", "must be a real date YYYY-MM-DD from 1970-01-01 to 9999-12-31");
    if (*from > *to) return bad(field + ".to", "must not be before dates.from (both days are included)");
    c.dates = std::make_pair(*from, *to);
  }
  return std::nullopt;
}

// ---- conditions ------------------------------------------------------------------------------
// One function per kind of condition that has fields of its own; `field` is the condition's
// path ("rule.when.all[1].visit").

Fault parse_visit(const json& v, const std::string& field, Condition& c) {
  if (auto e = expect_object(v, field, R"({"nth": 3} or {"every": 5})")) return e;
  if (auto e = only_keys(v, field, {"nth", "every"})) return e;
  if (auto e = exactly_one(v, field, "nth", "every")) return e;
  if (auto e = field_int(v, "nth", field, 1, kMaxCount, false, c.nth)) return e;
  return field_int(v, "every", field, 2, kMaxCount, false, c.every);
}

Fault parse_bought(const json& v, const std::string& field, Condition& c) {
  if (auto e = expect_object(v, field, R"({"category": "chips", "within_days": 60})")) return e;
  if (auto e = only_keys(v, field, {"sku", "category", "within_days", "min_times", "member"})) return e;
  if (auto e = item_ref(v, field, c.sku, c.category)) return e;
  if (auto e = field_int(v, "within_days", field, 1, kMaxDays, false, c.within_days)) return e;
  if (auto e = field_int(v, "min_times", field, 1, kMaxMinTimes, false, c.min_times)) return e;
  return field_token(v, "member", field, false, c.member);
}

Fault parse_in_basket(const json& v, const std::string& field, Condition& c) {
  if (auto e = expect_object(v, field, R"({"category": "chips"})")) return e;
  if (auto e = only_keys(v, field, {"sku", "category"})) return e;
  return item_ref(v, field, c.sku, c.category);
}

Fault parse_absent(const json& v, const std::string& field, Condition& c) {
  if (auto e = expect_object(v, field, R"({"days": 30})")) return e;
  if (auto e = only_keys(v, field, {"days"})) return e;
  return field_int(v, "days", field, 1, kMaxDays, true, c.days);
}

Fault parse_birthday(const json& v, const std::string& field, Condition& c) {
  if (auto e = expect_object(v, field, R"({"days_before": 3, "days_after": 3})")) return e;
  if (auto e = only_keys(v, field, {"days_before", "days_after"})) return e;
  if (auto e = field_int(v, "days_before", field, 0, kMaxBirthdayDays, false, c.days_before)) return e;
  return field_int(v, "days_after", field, 0, kMaxBirthdayDays, false, c.days_after);
}

Fault parse_spend(const json& v, const std::string& field, Condition& c) {
  if (auto e = expect_object(v, field, R"({"over": 10000, "days": 30})")) return e;
  if (auto e = only_keys(v, field, {"over", "days"})) return e;
  if (auto e = field_money(v, "over", field, 0, true, c.over)) return e;
  return field_int(v, "days", field, 1, kMaxDays, true, c.days);
}

Fault parse_complaint(const json& v, const std::string& field, Condition& c) {
  if (auto e = expect_object(v, field, R"({"within_days": 30, "open": true})")) return e;
  if (auto e = only_keys(v, field, {"within_days", "open"})) return e;
  if (auto e = field_int(v, "within_days", field, 1, kMaxDays, true, c.within_days)) return e;
  return field_bool(v, "open", field, c.open_followup);
}

Fault parse_segment(const json& v, const std::string& field, Condition& c) {
  const auto found = v.is_string() ? std::find(kSegments.begin(), kSegments.end(), v.get_ref<const std::string&>())
                                   : kSegments.end();
  if (found == kSegments.end()) return bad(field, "must be one of " + join(kSegments));
  c.name = std::string(*found);
  return std::nullopt;
}

Fault parse_random(const json& v, const std::string& field, Condition& c) {
  if (auto e = expect_object(v, field, R"({"probability": 0.05})")) return e;
  if (auto e = only_keys(v, field, {"probability"})) return e;
  const auto p = v.find("probability");
  const std::string pf = field + ".probability";
  if (p == v.end()) return bad(pf, "is required: a number greater than 0 and at most 1");
  if (!p->is_number() || !(p->get<double>() > 0 && p->get<double>() <= 1))
    return bad(pf, "must be a number greater than 0 and at most 1, e.g. 0.05");
  c.probability = p->get<double>();
  return std::nullopt;
}

class ConditionParser {
 public:
  // `level`: `when` is level 1, its children level 2, and so on.
  Fault parse(const json& j, const std::string& path, int level, Condition& c) {
    if (!j.is_object() || j.size() != 1) {
      const std::string got = j.is_object() ? "; this one has " + std::to_string(j.size()) + " keys" : "";
      return bad(path, R"(a condition must be an object with exactly one key, e.g. {"visit": {"nth": 3}})" + got);
    }
    if (level > kMaxConditionDepth)
      return bad(path, "conditions nest deeper than " + std::to_string(kMaxConditionDepth) +
                           " levels (when is level 1; each all, any or not adds one)");
    if (++count_ > kMaxConditions)
      return bad(path, "the rule has more than " + std::to_string(kMaxConditions) + " conditions (all levels)");

    const auto entry = j.begin();
    const std::string& key = entry.key();
    const std::string field = path + "." + key;
    const auto name = std::find(kConditionNames.begin(), kConditionNames.end(), key);
    if (name == kConditionNames.end())
      return bad(field, "unknown condition '" + shown(key) + "'; known: " + join(kConditionNames));
    c.kind = kConditionKinds[static_cast<std::size_t>(name - kConditionNames.begin())];
    return parse_kind(j, entry.value(), path, field, level, c);
  }

 private:
  // The condition's value `v` (`j` is the whole condition), once its kind is known.
  Fault parse_kind(const json& j, const json& v, const std::string& path, const std::string& field, int level, Condition& c) {
    switch (c.kind) {
      case Condition::Kind::all:
      case Condition::Kind::any: {
        if (!v.is_array() || v.empty() || v.size() > kMaxChildren)
          return bad(field, "must be an array of 1 to " + std::to_string(kMaxChildren) + " conditions");
        c.children.resize(v.size());
        for (std::size_t i = 0; i < v.size(); ++i)
          if (auto e = parse(v[i], field + "[" + std::to_string(i) + "]", level + 1, c.children[i])) return e;
        return std::nullopt;
      }
      case Condition::Kind::not_:
        c.children.resize(1);
        return parse(v, field, level + 1, c.children[0]);
      case Condition::Kind::visit: return parse_visit(v, field, c);
      case Condition::Kind::bought: return parse_bought(v, field, c);
      case Condition::Kind::in_basket: return parse_in_basket(v, field, c);
      case Condition::Kind::absent: return parse_absent(v, field, c);
      case Condition::Kind::birthday: return parse_birthday(v, field, c);
      case Condition::Kind::spend: return parse_spend(v, field, c);
      case Condition::Kind::complaint: return parse_complaint(v, field, c);
      case Condition::Kind::time: return parse_time(v, field, c);
      case Condition::Kind::tag: return field_token(j, "tag", path, true, c.name);
      case Condition::Kind::segment: return parse_segment(v, field, c);
      case Condition::Kind::random: return parse_random(v, field, c);
    }
    return bad(field, "unhandled condition");  // not reached: every kind is handled above
  }

 private:
  int count_ = 0;
};

// ---- gestures --------------------------------------------------------------------------------

// Why a placeholder's value can be missing, and a fallback to suggest, for the fault that asks
// for one.
std::string missing_fault(std::string_view word) {
  if (word == "name") return "{name} can be missing (a customer with no recorded name); give the words to use then, e.g. {name|friend}";
  if (word == "member")
    return "{member} can be missing (an offer for no household member); give the words to use then, e.g. {member|the family}";
  return "{item} can be missing (a gesture with no item); give the words to use then, e.g. {item|a small gift}";
}

// {word} with an unknown word, or one that can be missing (`may_be_missing`) without a fallback
// ({name|friend}); a lone brace or "{ }" is plain text.
Fault check_placeholders(const std::string& s, const std::string& field, const std::vector<std::string_view>& may_be_missing) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '{') continue;
    std::size_t j = i + 1;
    while (j < s.size() && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                            (s[j] >= '0' && s[j] <= '9') || s[j] == '_'))
      ++j;
    if (j == i + 1 || j >= s.size() || (s[j] != '}' && s[j] != '|')) continue;
    const std::string_view word(s.data() + i + 1, j - i - 1);
    if (std::find(kPlaceholders.begin(), kPlaceholders.end(), word) == kPlaceholders.end())
      return bad(field, "unknown placeholder {" + shown(word) + "}; allowed: {item} {member} {name} {percent} {amount}");
    const std::size_t close = s.find('}', j);
    if (close == std::string::npos) return bad(field, "{" + shown(word) + "| is not closed: write {" + shown(word) + "|fallback}");
    const std::string_view fallback(s.data() + j + 1, s[j] == '|' ? close - j - 1 : 0);
    const bool missing_possible = std::find(may_be_missing.begin(), may_be_missing.end(), word) != may_be_missing.end();
    if (s[j] == '|' && fallback.find_first_not_of(' ') == std::string_view::npos)
      return bad(field, "the fallback of {" + shown(word) + "|...} is empty; write the words to use instead, e.g. {" + shown(word) + "|friend}");
    if (s[j] == '}' && missing_possible) return bad(field, missing_fault(word));
    i = close;
  }
  return std::nullopt;
}

bool is_locale(const std::string& key) noexcept {
  return key.size() >= 2 && key.size() <= 35 && std::all_of(key.begin(), key.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

// {"en": "...", "fa": "..."}: 1..16 locales, each text 1..kMaxMessageBytes.
Fault parse_localised(const json& v, const std::string& field, const std::vector<std::string_view>& may_be_missing, Localised& out) {
  if (!v.is_object() || v.empty() || v.size() > kMaxLocales)
    return bad(field, "must be an object of 1 to " + std::to_string(kMaxLocales) +
                          R"( locale: text entries, e.g. {"en": "Welcome back!"})");
  for (const auto& [locale, text] : v.items()) {
    const std::string lf = field + "." + locale;
    if (!is_locale(locale))
      return bad(lf, "locale keys are 2 to 35 characters of A-Z, a-z, 0-9, _ and -, e.g. en or fa_IR");
    std::string s;
    if (auto e = read_text(text, lf, kMaxMessageBytes, /*guard_card=*/true, s)) return e;
    if (auto e = check_placeholders(s, lf, may_be_missing)) return e;
    out.emplace(locale, std::move(s));
  }
  return std::nullopt;
}

// The placeholders a gesture of this kind may have no value for: the customer's name and the
// household member always; the item unless the gesture gives one.
std::vector<std::string_view> may_be_missing(const Gesture& g) {
  if (g.kind == Gesture::Kind::free_item) return {"name", "member"};
  return {"name", "member", "item"};
}

Fault parse_gesture(const json& g, const std::string& path, Origin origin, Gesture& out) {
  const auto missing = [&] { return origin == Origin::stored ? std::vector<std::string_view>{} : may_be_missing(out); };
  if (auto e = expect_object(g, path, R"({"kind": "free_item", "sku": "sv-chips", "value": 150})")) return e;
  const auto kind = g.find("kind");
  if (kind == g.end()) return bad(path + ".kind", "is required: free_item, discount, message or task");
  const std::string kind_name = kind->is_string() ? kind->get<std::string>() : "";
  if (kind_name == "free_item") {
    out.kind = Gesture::Kind::free_item;
    if (auto e = only_keys(g, path, {"kind", "sku", "favourite", "value", "message"})) return e;
    if (auto e = exactly_one(g, path, "sku", "favourite")) return e;
    if (auto e = field_text(g, "sku", path, kMaxSkuBytes, /*guard_card=*/false, out.sku)) return e;
    if (const auto f = g.find("favourite"); f != g.end()) {
      const std::string ff = path + ".favourite";
      if (auto e = expect_object(*f, ff, R"({"category": "chips", "member": "any"})")) return e;
      if (auto e = only_keys(*f, ff, {"category", "member"})) return e;
      if (auto e = field_text(*f, "category", ff, kMaxCategoryBytes, true, out.favourite_category)) return e;
      if (auto e = field_token(*f, "member", ff, false, out.favourite_member)) return e;
      out.favourite = true;
    }
    if (auto e = field_money(g, "value", path, 1, true, out.cost)) return e;
  } else if (kind_name == "discount") {
    out.kind = Gesture::Kind::discount;
    if (auto e = only_keys(g, path, {"kind", "percent", "max_value", "amount", "message"})) return e;
    if (auto e = exactly_one(g, path, "percent", "amount")) return e;
    if (g.contains("percent")) {
      if (auto e = field_int(g, "percent", path, 1, kMaxPercent, true, out.percent)) return e;
      if (!g.contains("max_value"))
        return bad(path + ".max_value", "is required with percent: the most one discount may take off, in minor units");
      if (auto e = field_money(g, "max_value", path, 1, true, out.cost)) return e;
    } else {
      if (g.contains("max_value"))
        return bad(path + ".max_value", "goes only with percent; an amount discount costs its amount");
      if (auto e = field_money(g, "amount", path, 1, true, out.amount)) return e;
      out.cost = out.amount;
    }
  } else if (kind_name == "message") {
    out.kind = Gesture::Kind::message;
    if (auto e = only_keys(g, path, {"kind", "message", "cost"})) return e;
    if (!g.contains("message")) return bad(path + ".message", R"(is required for a message gesture, e.g. {"en": "..."})");
    if (auto e = field_money(g, "cost", path, 0, false, out.cost)) return e;
  } else if (kind_name == "task") {
    out.kind = Gesture::Kind::task;
    if (auto e = only_keys(g, path, {"kind", "task", "message", "cost"})) return e;
    const auto t = g.find("task");
    if (t == g.end()) return bad(path + ".task", R"(is required for a task gesture, e.g. {"en": "Offer a tasting"})");
    if (auto e = parse_localised(*t, path + ".task", missing(), out.task)) return e;
    if (auto e = field_money(g, "cost", path, 0, false, out.cost)) return e;
  } else {
    return bad(path + ".kind", (kind->is_string() ? "unknown gesture kind '" + shown(kind_name) + "'; " : std::string()) +
                                   "must be one of free_item, discount, message, task");
  }
  if (const auto m = g.find("message"); m != g.end())
    if (auto e = parse_localised(*m, path + ".message", missing(), out.message)) return e;
  return std::nullopt;
}

Fault parse_limits(const json& l, const std::string& path, Limits& out) {
  if (auto e = expect_object(l, path, R"({"cooldown_days": 30, "per_day": 10})")) return e;
  if (auto e = only_keys(l, path, {"cooldown_days", "per_day", "per_week", "monthly_budget", "per_cashier_per_day", "chain_per_day",
                                   "chain_per_week", "chain_monthly_budget"}))
    return e;
  if (auto e = field_int(l, "chain_per_day", path, 0, kMaxCount, false, out.chain_per_day)) return e;
  if (auto e = field_int(l, "chain_per_week", path, 0, kMaxCount, false, out.chain_per_week)) return e;
  if (auto e = field_int(l, "chain_monthly_budget", path, 0, Limits::kMaxChainBudget, false, out.chain_monthly_budget,
                         "amount in minor units"))
    return e;
  if (auto e = field_int(l, "cooldown_days", path, 0, kMaxDays, false, out.cooldown_days)) return e;
  if (auto e = field_int(l, "per_day", path, 0, kMaxCount, false, out.per_day)) return e;
  if (auto e = field_int(l, "per_week", path, 0, kMaxCount, false, out.per_week)) return e;
  if (auto e = field_money(l, "monthly_budget", path, 0, false, out.monthly_budget)) return e;
  return field_int(l, "per_cashier_per_day", path, 0, kMaxCount, false, out.per_cashier_per_day);
}

Error too_big(const std::string& path, std::size_t bytes, std::string_view what) {
  return bad(path, std::string(what) + " is " + std::to_string(bytes) + " bytes; at most " +
                       std::to_string(kMaxRuleBytes) + " bytes are allowed");
}

}  // namespace

std::variant<Rule, wire::Error> parse_rule(const json& rule, const std::string& path, std::size_t text_bytes, Origin origin) {
  if (text_bytes == 0) {
    // The size of a value built in memory: serialise it, after making sure that cannot recurse deeply.
    if (deeper_than(rule, kMaxJsonDepth))
      return Error{ErrorCode::too_deep, path, "the rule nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
    text_bytes = wire::dump_json(rule).size();
  }
  if (text_bytes > kMaxRuleBytes) return too_big(path, text_bytes, "the rule");
  if (!rule.is_object()) return bad(path, R"(a rule must be a JSON object: {"id": ..., "when": ..., "gesture": ...})");
  if (auto e = only_keys(rule, path, {"id", "name", "enabled", "priority", "when", "gesture", "limits", "holdout"}))
    return *e;

  Rule r;
  if (auto e = field_token(rule, "id", path, true, r.id)) return *e;
  if (auto e = field_text(rule, "name", path, kMaxNameBytes, true, r.name)) return *e;
  if (auto e = field_bool(rule, "enabled", path, r.enabled)) return *e;
  if (auto e = field_int(rule, "priority", path, 0, kMaxPriority, false, r.priority)) return *e;

  const auto when = rule.find("when");
  if (when == rule.end()) return bad(path + ".when", R"(is required: a condition, e.g. {"visit": {"nth": 3}})");
  ConditionParser conditions;
  if (auto e = conditions.parse(*when, path + ".when", 1, r.when)) return *e;

  const auto gesture = rule.find("gesture");
  if (gesture == rule.end())
    return bad(path + ".gesture", R"(is required, e.g. {"kind": "message", "message": {"en": "..."}})");
  if (auto e = parse_gesture(*gesture, path + ".gesture", origin, r.gesture)) return *e;

  if (const auto limits = rule.find("limits"); limits != rule.end())
    if (auto e = parse_limits(*limits, path + ".limits", r.limits)) return *e;

  if (const auto h = rule.find("holdout"); h != rule.end()) {
    if (!h->is_number() || !(h->get<double>() >= 0 && h->get<double>() <= kMaxHoldout))
      return bad(path + ".holdout", "must be a number from 0 to 0.9: the share of customers kept as a control group");
    r.holdout = h->get<double>();
  }

  // Stored and listed form: the rule as given, with the defaults written out.
  r.source = rule;
  if (!rule.contains("enabled")) r.source["enabled"] = true;
  if (!rule.contains("priority")) r.source["priority"] = kDefaultPriority;
  if (!rule.contains("holdout")) r.source["holdout"] = 0.0;
  // The stored form must itself parse again: the defaults add a few bytes.
  if (const std::size_t stored = wire::dump_json(r.source).size(); stored > kMaxRuleBytes)
    return too_big(path, stored, "with its defaults written out, the rule");
  return r;
}

std::variant<Rule, wire::Error> parse_rule_text(std::string_view text, const std::string& path) {
  if (text.size() > kMaxRuleBytes) return too_big(path, text.size(), "the rule text");
  auto parsed = wire::parse_json(text, kMaxJsonDepth);  // depth pre-scan, then nlohmann
  if (auto* err = std::get_if<Error>(&parsed)) {
    err->field = path;  // invalid_json or too_deep; the message carries the parser's position
    return std::move(*err);
  }
  return parse_rule(std::get<nlohmann::json>(parsed), path, text.empty() ? 1 : text.size());
}

}  // namespace regulars::daemon::rules
