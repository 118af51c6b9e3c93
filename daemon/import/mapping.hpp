// What the columns of an import file mean. The generic formats need no mapping: their columns
// carry the field names themselves (README.md). Any other layout is described by a mapping file,
// a JSON object naming, for each field, the file's column (or columns, joined with a space).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace regulars::daemon::import {

// A mapping or a header that cannot be used; nothing has been imported. Says which and why.
struct MappingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Format { sales, customers };

struct Mapping {
  Format format = Format::sales;
  char delimiter = ',';
  // field -> the file's columns holding it (a list is joined with a space, e.g. first and last name)
  std::map<std::string, std::vector<std::string>, std::less<>> columns;
  std::string customer_kind = "card";  // sales: the kind of identifier in `customer`, unless a column says
  int price_decimals = 2;               // sales: digits after the point in `price`; 0: prices are minor units
  bool generic = true;                  // the columns are the field names (absent optional ones are fine)

  static Mapping generic_format(Format format);
  // Parses a mapping file's text; `file` names it in errors.
  static Mapping parse(std::string_view text, const std::string& file);
};

// Fields of each format: every field a mapping may name.
const std::vector<std::string>& fields_of(Format format);
std::string_view format_name(Format format);

// The mapping applied to one file's header: where each field's columns are.
class BoundColumns {
 public:
  // Throws MappingError naming the columns the header lacks.
  BoundColumns(const Mapping& mapping, const std::vector<std::string>& header, const std::string& file);

  bool has(std::string_view field) const { return positions_.find(field) != positions_.end(); }
  // The field's text in `row`: its columns trimmed and joined with a space ("" when not mapped).
  std::string value(std::string_view field, const std::vector<std::string>& row) const;
  // For errors: 1-based number and header name of the field's first column.
  int column_number(std::string_view field) const;
  std::string column_name(std::string_view field) const;
  std::vector<std::string> unused_columns() const { return unused_; }
  // Each bound field's column positions (0-based), for checks that run over every column read.
  const std::map<std::string, std::vector<std::size_t>, std::less<>>& positions() const { return positions_; }

 private:
  std::map<std::string, std::vector<std::size_t>, std::less<>> positions_;
  std::vector<std::string> header_;
  std::vector<std::string> unused_;
};

}  // namespace regulars::daemon::import
