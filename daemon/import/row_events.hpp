// From rows to events: each row's values checked and turned into what the protocol's events
// carry (sdk/PROTOCOL.md), and the adjacent lines of one sale grouped into one purchase.
// Event ids are not given here: they are keyed hashes of the content (importer.cpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "import/csv_reader.hpp"
#include "import/mapping.hpp"

namespace regulars::daemon::import {

// A row that cannot be imported, and why; the rest of the file goes on.
struct RowError {
  std::int64_t line = 0;
  int column = 0;           // 1-based; 0 when the row as a whole is wrong
  std::string column_name;  // the header's name for it
  std::string message;
};

// An event built from rows, without its event_id yet.
struct RowEvent {
  nlohmann::json event;
  std::int64_t line = 0;  // the first row it came from
  std::string receipt;    // a sale's receipt: not stored, but two sales of the same content on two receipts are two
};

// One line of a sale, checked, with what tells which sale it belongs to.
struct SaleLine {
  std::string sale_key;   // lines with the same key, one after the other, are one sale
  nlohmann::json head;    // type, time, customer, store, terminal, cashier
  nlohmann::json line;    // sku, name, qty, unit_price, category, for
  std::int64_t row_line = 0;
  std::string receipt;
};

// The head of the last row whose whole event passed the checks. Every column a head is made of
// is part of the sale key, so a following row with the same key has the same head: only its own
// line is built and checked (the rule validate_event applies to each line).
struct SaleHeadMemo {
  std::string sale_key;
  nlohmann::json head;
};

// With `memo` (the caller's, for one file), rows of a sale after its first skip the head's checks.
std::variant<SaleLine, RowError> read_sale_row(const BoundColumns& columns, const Mapping& mapping, const CsvRow& row,
                                               std::int64_t now_ms, SaleHeadMemo* memo = nullptr);

// Lines one after the other with the same sale key become one purchase (or return) event, of at
// most the protocol's 1000 lines (a longer sale continues in a second event).
// A sale with a refused line is held back whole: importing part of it, and then the whole once the
// line is fixed, would count the visit twice (the two have different contents, so different ids).
class SaleGrouper {
 public:
  // The sale `line` completes, if it starts a new one.
  std::optional<RowEvent> add(SaleLine line);
  // A line of the sale `sale_key` was refused: that sale is held back. Returns the sale it completes.
  std::optional<RowEvent> refuse(std::string sale_key);
  std::optional<RowEvent> finish();
  // Sales held back so far, and their good lines.
  std::int64_t held_sales() const { return held_sales_; }
  std::int64_t held_lines() const { return held_lines_; }

 private:
  std::optional<RowEvent> take();
  std::string key_;
  RowEvent building_;
  bool held_ = false;
  std::int64_t held_sales_ = 0, held_lines_ = 0;
};

// What groups a row into its sale (customer, time, place, receipt), read from the raw columns, so
// that a refused row still names its sale.
std::string sale_key_of(const BoundColumns& columns, const CsvRow& row);

// A customers row: a profile (name, birthday, language) under the first identifier present, and
// a link for each further identifier. Empty when the row names only an identifier.
std::variant<std::vector<RowEvent>, RowError> read_customer_row(const BoundColumns& columns, const CsvRow& row,
                                                                 std::int64_t now_ms);

// "2026-11-23T10:15:00Z" from RFC 3339, "YYYY-MM-DD HH:MM[:SS]" (UTC) or "YYYY-MM-DD" (noon UTC).
std::optional<std::string> import_time(std::string_view text);
// 199 from "1.99" with 2 decimals; nullopt for anything but digits with at most `decimals` after a point.
std::optional<std::int64_t> minor_units(std::string_view text, int decimals);
// "MM-DD" or "YYYY-MM-DD" from MM-DD, YYYY-MM-DD, MM-DD-YYYY or 0000-MM-DD (a year not given).
std::optional<std::string> import_birthday(std::string_view text);

}  // namespace regulars::daemon::import
