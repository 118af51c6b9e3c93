#include "import/row_events.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "wire/validate.hpp"

namespace regulars::daemon::import {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxLinesPerEvent = 1000;   // sdk/PROTOCOL.md, purchase
constexpr std::int64_t kMaxFutureMs = 300'000;    // as the daemon's limits.max_future_seconds default
constexpr const char* kCardRefused = "holds what looks like a payment card number, which Regulars never stores; remove it from the file";

// A bad value, quoted for the error that names it, unless it holds what looks like a card number:
// an error is printed, and a file whose columns slipped puts one in any column.
std::string shown(std::string_view value) {
  return wire::contains_card_number(value) ? std::string() : "\"" + std::string(value) + "\" ";
}

RowError error_at(const BoundColumns& columns, const CsvRow& row, std::string_view field, std::string message) {
  return RowError{row.line, columns.column_number(field), columns.column_name(field), std::move(message)};
}

// The protocol's field path ("event.lines[0].qty") back to the import field ("qty").
std::string field_of_path(const std::string& path) {
  static const std::pair<const char*, const char*> kPaths[] = {
      {"event.customer.kind", "customer_kind"}, {"event.customer", "customer"}, {"event.lines[0].unit_price", "price"},
      {"event.lines[0].", ""},                  {"event.", ""}};
  for (const auto& [prefix, field] : kPaths) {
    if (path.rfind(prefix, 0) != 0) continue;
    if (*field != '\0') return field;
    std::string rest = path.substr(std::string_view(prefix).size());
    return rest.substr(0, rest.find_first_of(".["));
  }
  return {};
}

// Every text must be UTF-8 before it goes into JSON; then the protocol's own validation. Only
// the columns the import reads are checked: another column may hold anything.
std::optional<RowError> check_utf8(const BoundColumns& columns, const CsvRow& row) {
  for (const auto& [field, positions] : columns.positions())
    for (const std::size_t i : positions)
      if (i < row.fields.size() && !wire::valid_utf8(row.fields[i]))
        return error_at(columns, row, field, "is not valid UTF-8 text (save the file as UTF-8)");
  return std::nullopt;
}

// A validator's error, on the column it names.
std::optional<RowError> row_error_of(const BoundColumns& columns, const CsvRow& row, const std::optional<wire::Error>& err) {
  if (!err) return std::nullopt;
  const std::string field = field_of_path(err->field);
  const std::string message = err->code == wire::ErrorCode::card_number_refused ? kCardRefused : err->message;
  if (!columns.has(field)) return RowError{row.line, 0, "", err->describe()};
  return error_at(columns, row, field, message);
}

std::optional<RowError> check_event(const BoundColumns& columns, const CsvRow& row, const json& event) {
  return row_error_of(columns, row, wire::validate_event(event));
}

std::optional<double> quantity(std::string_view text) {
  if (text.empty()) return 1.0;
  double q = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), q);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return q;
}

std::optional<std::string> sale_type(std::string_view text) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t.empty() || t == "purchase" || t == "sale") return "purchase";
  if (t == "return" || t == "refund") return "return";
  return std::nullopt;
}

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The common fields of a sales row: who, when, where, which kind of sale.
std::variant<json, RowError> sale_head(const BoundColumns& columns, const Mapping& mapping, const CsvRow& row, std::int64_t now_ms) {
  const std::string customer = columns.value("customer", row.fields);
  if (customer.empty()) return error_at(columns, row, "customer", "is empty: every sale line needs the customer's identifier");
  const std::string when = columns.value("time", row.fields);
  const auto time = import_time(when);
  if (!time) return error_at(columns, row, "time", shown(when) + "is not a time such as 2026-11-23T10:15:00Z or 2026-11-23 10:15");
  if (wire::parse_time_ms(*time).value_or(0) > now_ms + kMaxFutureMs)
    return error_at(columns, row, "time", "is in the future");
  const auto type = sale_type(columns.value("type", row.fields));
  if (!type) return error_at(columns, row, "type", "must be purchase (or sale) or return (or refund)");
  std::string kind = columns.has("customer_kind") ? columns.value("customer_kind", row.fields) : mapping.customer_kind;
  if (kind.empty()) kind = mapping.customer_kind;
  json head = {{"type", *type}, {"time", *time}, {"customer", {{"kind", kind}, {"value", customer}}}};
  // These are stored with the sale, and the protocol checks only their shape: a card number
  // that slipped into one of them would pass it.
  for (const char* f : {"store", "terminal", "cashier"}) {
    const std::string v = columns.value(f, row.fields);
    if (v.empty()) continue;
    if (wire::contains_card_number(v)) return error_at(columns, row, f, kCardRefused);
    head[f] = v;
  }
  return head;
}

std::variant<json, RowError> sale_line(const BoundColumns& columns, const Mapping& mapping, const CsvRow& row) {
  json line = {{"sku", columns.value("sku", row.fields)}};
  const auto qty = quantity(columns.value("qty", row.fields));
  if (!qty) return error_at(columns, row, "qty", "must be a number such as 1 or 0.5");
  line["qty"] = *qty;
  if (const std::string price = columns.value("price", row.fields); !price.empty()) {
    const auto minor = minor_units(price, mapping.price_decimals);
    if (!minor)
      return error_at(columns, row, "price",
                      shown(price) + "is not a price with at most " + std::to_string(mapping.price_decimals) +
                          " decimals, such as 1.99 (no currency sign, no thousands separator)");
    line["unit_price"] = *minor;
  }
  for (const char* f : {"name", "category", "for"})
    if (const std::string v = columns.value(f, row.fields); !v.empty()) line[f] = v;
  return line;
}

}  // namespace

std::optional<std::string> import_time(std::string_view text) {
  if (wire::parse_time_ms(text)) return std::string(text);
  if (text.size() == 10) return import_time(std::string(text) + "T12:00:00Z");
  if (text.size() == 16 || text.size() == 19) {
    std::string t(text);
    if (t[10] == ' ') t[10] = 'T';
    if (t.size() == 16) t += ":00";
    t += 'Z';
    if (wire::parse_time_ms(t)) return t;
  }
  return std::nullopt;
}

std::optional<std::int64_t> minor_units(std::string_view text, int decimals) {
  const auto point = text.find('.');
  const std::string_view whole = text.substr(0, point);
  const std::string_view frac = point == std::string_view::npos ? std::string_view{} : text.substr(point + 1);
  if (!digits(whole) || whole.size() > 12) return std::nullopt;
  if (point != std::string_view::npos && (frac.empty() || !digits(frac) || frac.size() > static_cast<std::size_t>(decimals)))
    return std::nullopt;
  std::int64_t v = 0;
  for (const char c : whole) v = v * 10 + (c - '0');
  for (int i = 0; i < decimals; ++i) v = v * 10 + (static_cast<std::size_t>(i) < frac.size() ? frac[static_cast<std::size_t>(i)] - '0' : 0);
  return v;
}

std::optional<std::string> import_birthday(std::string_view text) {
  const auto two = [](std::string_view s) { return s.size() == 2 && digits(s); };
  if (text.size() == 5 && two(text.substr(0, 2)) && text[2] == '-' && two(text.substr(3))) return std::string(text);
  if (text.size() == 10 && text[2] == '-' && text[5] == '-' && digits(text.substr(6)))  // MM-DD-YYYY
    return import_birthday(std::string(text.substr(6)) + "-" + std::string(text.substr(0, 5)));
  if (text.size() == 10 && text[4] == '-' && text[7] == '-' && digits(text.substr(0, 4)) && two(text.substr(5, 2)) && two(text.substr(8)))
    return text.substr(0, 4) == "0000" ? std::string(text.substr(5)) : std::string(text);
  return std::nullopt;
}

std::variant<SaleLine, RowError> read_sale_row(const BoundColumns& columns, const Mapping& mapping, const CsvRow& row,
                                               std::int64_t now_ms, SaleHeadMemo* memo) {
  if (auto bad = check_utf8(columns, row)) return *bad;
  std::string key = sale_key_of(columns, row);
  const bool head_known = memo != nullptr && !memo->sale_key.empty() && memo->sale_key == key;
  json head;
  if (head_known) {
    head = memo->head;
  } else {
    auto built = sale_head(columns, mapping, row, now_ms);
    if (auto* err = std::get_if<RowError>(&built)) return *err;
    head = std::move(std::get<json>(built));
  }
  auto line = sale_line(columns, mapping, row);
  if (auto* err = std::get_if<RowError>(&line)) return *err;
  SaleLine out{std::move(key), std::move(head), std::move(std::get<json>(line)), row.line, columns.value("receipt", row.fields)};
  if (head_known) {
    if (auto bad = row_error_of(columns, row, wire::validate_sale_line(out.line, "event.lines[0]"))) return *bad;
    return out;
  }
  json one = out.head;
  one["event_id"] = "import-check";
  one["lines"] = json::array({out.line});
  if (auto bad = check_event(columns, row, one)) return *bad;
  if (memo != nullptr) *memo = SaleHeadMemo{out.sale_key, out.head};
  return out;
}

std::string sale_key_of(const BoundColumns& columns, const CsvRow& row) {
  std::string key;
  for (const char* f : {"customer", "customer_kind", "time", "type", "store", "terminal", "cashier", "receipt"})
    key.append(columns.value(f, row.fields)).push_back('\x1f');
  return key;
}

std::optional<RowEvent> SaleGrouper::take() {
  if (key_.empty()) return std::nullopt;
  key_.clear();
  if (std::exchange(held_, false)) {
    ++held_sales_;
    held_lines_ += static_cast<std::int64_t>(building_.event.contains("lines") ? building_.event["lines"].size() : 0);
    building_ = RowEvent{};
    return std::nullopt;
  }
  return std::exchange(building_, RowEvent{});
}

std::optional<RowEvent> SaleGrouper::add(SaleLine line) {
  std::optional<RowEvent> done;
  const bool same_sale = line.sale_key == key_;
  if (!same_sale || (!held_ && building_.event["lines"].size() >= kMaxLinesPerEvent)) done = take();
  if (key_.empty()) {
    key_ = std::move(line.sale_key);
    building_.event = std::move(line.head);
    building_.event["lines"] = json::array();
    building_.line = line.row_line;
    building_.receipt = std::move(line.receipt);
  }
  building_.event["lines"].push_back(std::move(line.line));
  return done;
}

std::optional<RowEvent> SaleGrouper::refuse(std::string sale_key) {
  std::optional<RowEvent> done;
  if (sale_key != key_) {
    done = take();
    key_ = std::move(sale_key);
    building_.event = json::object({{"lines", json::array()}});
  }
  held_ = true;
  return done;
}

std::optional<RowEvent> SaleGrouper::finish() { return take(); }

std::variant<std::vector<RowEvent>, RowError> read_customer_row(const BoundColumns& columns, const CsvRow& row,
                                                                 std::int64_t now_ms) {
  if (auto bad = check_utf8(columns, row)) return *bad;
  std::vector<std::pair<std::string, std::string>> ids;  // (kind, value), in the format's order
  for (const char* kind : {"card", "phone", "email", "app"})
    if (const std::string v = columns.value(kind, row.fields); !v.empty()) ids.emplace_back(kind, v);
  if (ids.empty()) return RowError{row.line, 0, "", "names no customer: every identifier column is empty"};
  std::string time = wire::format_time_ms(now_ms);
  if (const std::string t = columns.value("time", row.fields); !t.empty()) {
    const auto parsed = import_time(t);
    if (!parsed) return error_at(columns, row, "time", shown(t) + "is not a time such as 2026-11-23T10:15:00Z or 2026-11-23");
    time = *parsed;
  }
  for (const auto& [kind, value] : ids)
    if (auto err = wire::validate_customer(json{{"kind", kind}, {"value", value}}, kind))
      return error_at(columns, row, kind, err->code == wire::ErrorCode::card_number_refused ? kCardRefused : err->message);
  const json customer = {{"kind", ids[0].first}, {"value", ids[0].second}};
  std::vector<RowEvent> out;
  json profile = {{"type", "profile"}, {"event_id", "import-check"}, {"time", time}, {"customer", customer}};
  if (const std::string name = columns.value("name", row.fields); !name.empty()) profile["name"] = name;
  if (const std::string b = columns.value("birthday", row.fields); !b.empty()) {
    const auto birthday = import_birthday(b);
    if (!birthday) return error_at(columns, row, "birthday", shown(b) + "is not a date such as 03-14, 1990-03-14 or 03-14-1990");
    profile["birthday"] = *birthday;
  }
  if (const std::string l = columns.value("language", row.fields); !l.empty()) profile["language"] = l;
  if (profile.size() > 4) {  // a profile needs at least one field of its own
    if (const std::string s = columns.value("store", row.fields); !s.empty()) {
      // Stored with the profile, and the protocol checks only its shape (as a sale's head).
      if (wire::contains_card_number(s)) return error_at(columns, row, "store", kCardRefused);
      profile["store"] = s;
    }
    if (auto bad = check_event(columns, row, profile)) return *bad;
    out.push_back({profile, row.line, {}});
  }
  for (std::size_t i = 1; i < ids.size(); ++i)
    out.push_back({json{{"type", "link"}, {"event_id", "import-check"}, {"time", time}, {"customer", customer},
                        {"identifier", {{"kind", ids[i].first}, {"value", ids[i].second}}}},
                   row.line, {}});
  for (auto& e : out) e.event.erase("event_id");
  return out;
}

}  // namespace regulars::daemon::import
