#include "import/mapping.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <variant>

#include "wire/json_text.hpp"

namespace regulars::daemon::import {

using nlohmann::json;

namespace {

const std::vector<std::string> kSalesFields = {"customer", "customer_kind", "time",     "sku",   "name",    "qty",
                                               "price",    "category",      "receipt",  "type",  "for",     "store",
                                               "terminal", "cashier"};
const std::vector<std::string> kCustomerFields = {"card", "phone", "email", "app", "name", "birthday", "language", "time", "store"};
const std::vector<std::string> kIdentifierKinds = {"card", "phone", "email", "app"};

std::vector<std::string> required_fields(Format format) {
  if (format == Format::sales) return {"customer", "time", "sku"};
  return {};  // customers: at least one identifier column, checked apart
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string folded(std::string_view s) {
  std::string out = trimmed(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

[[noreturn]] void bad(const std::string& file, const std::string& where, const std::string& why) {
  throw MappingError(file + ": " + where + ": " + why);
}

std::vector<std::string> column_list(const json& v, const std::string& file, const std::string& where) {
  std::vector<std::string> out;
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array()) {
    for (const auto& c : v) {
      if (!c.is_string()) bad(file, where, "each column must be a string");
      out.push_back(c.get<std::string>());
    }
  }
  if (out.empty() || out.size() > 8) bad(file, where, "must be a column name, or a list of 1 to 8 column names");
  for (const auto& c : out)
    if (trimmed(c).empty() || c.size() > 200) bad(file, where, "a column name must have 1 to 200 characters");
  return out;
}

void read_columns(Mapping& m, const json& columns, const std::string& file) {
  if (!columns.is_object() || columns.empty()) bad(file, "columns", "must be an object of field: column");
  const auto& allowed = fields_of(m.format);
  for (const auto& [field, v] : columns.items()) {
    if (std::find(allowed.begin(), allowed.end(), field) == allowed.end())
      bad(file, "columns." + field, "is not a field of the " + std::string(format_name(m.format)) + " format");
    m.columns[field] = column_list(v, file, "columns." + field);
  }
}

void read_options(Mapping& m, const json& doc, const std::string& file) {
  if (const auto d = doc.find("delimiter"); d != doc.end()) {
    if (!d->is_string() || d->get<std::string>().size() != 1 || d->get<std::string>() == "\"" || d->get<std::string>() == "\n")
      bad(file, "delimiter", "must be one character, such as \",\" or \";\" or \"\\t\"");
    m.delimiter = d->get<std::string>()[0];
  }
  if (const auto k = doc.find("customer_kind"); k != doc.end()) {
    if (!k->is_string() || std::find(kIdentifierKinds.begin(), kIdentifierKinds.end(), k->get<std::string>()) == kIdentifierKinds.end())
      bad(file, "customer_kind", "must be one of card, phone, email, app");
    m.customer_kind = k->get<std::string>();
  }
  if (const auto p = doc.find("price_decimals"); p != doc.end()) {
    if (!p->is_number_integer() || p->get<int>() < 0 || p->get<int>() > 4)
      bad(file, "price_decimals", "must be an integer from 0 (prices in minor units, cents) to 4");
    m.price_decimals = p->get<int>();
  }
}

void check_required(const Mapping& m, const std::string& file) {
  for (const auto& f : required_fields(m.format))
    if (!m.columns.count(f)) bad(file, "columns", "must name a column for \"" + f + "\"");
  if (m.format == Format::customers &&
      std::none_of(kIdentifierKinds.begin(), kIdentifierKinds.end(), [&](const auto& k) { return m.columns.count(k) > 0; }))
    bad(file, "columns", "must name a column for at least one identifier: card, phone, email or app");
}

}  // namespace

const std::vector<std::string>& fields_of(Format format) { return format == Format::sales ? kSalesFields : kCustomerFields; }

std::string_view format_name(Format format) { return format == Format::sales ? "sales" : "customers"; }

Mapping Mapping::generic_format(Format format) {
  Mapping m;
  m.format = format;
  for (const auto& f : fields_of(format)) m.columns[f] = {f};
  return m;
}

Mapping Mapping::parse(std::string_view text, const std::string& file) {
  auto parsed = wire::parse_json(text);
  if (const auto* err = std::get_if<wire::Error>(&parsed)) throw MappingError(file + ": not a JSON mapping: " + err->describe());
  const json doc = std::get<json>(std::move(parsed));
  if (!doc.is_object()) throw MappingError(file + ": a mapping is a JSON object");
  static const std::set<std::string> kKeys = {"format", "delimiter", "columns", "customer_kind", "price_decimals", "about"};
  for (const auto& [key, _] : doc.items())
    if (!kKeys.count(key)) bad(file, key, "is not a mapping setting (format, delimiter, columns, customer_kind, price_decimals, about)");
  Mapping m;
  m.generic = false;
  const std::string format = doc.value("format", std::string("sales"));
  if (format != "sales" && format != "customers") bad(file, "format", "must be \"sales\" or \"customers\"");
  m.format = format == "sales" ? Format::sales : Format::customers;
  read_options(m, doc, file);
  if (!doc.contains("columns")) bad(file, "columns", "is missing: name the file's column for each field");
  read_columns(m, doc.at("columns"), file);
  check_required(m, file);
  return m;
}

BoundColumns::BoundColumns(const Mapping& mapping, const std::vector<std::string>& header, const std::string& file)
    : header_(header) {
  std::map<std::string, std::vector<std::size_t>> by_name;
  for (std::size_t i = 0; i < header.size(); ++i) by_name[folded(header[i])].push_back(i);
  std::vector<bool> used(header.size(), false);
  std::vector<std::string> missing;
  for (const auto& [field, names] : mapping.columns) {
    std::vector<std::size_t> at;
    for (const auto& name : names) {
      const auto it = by_name.find(folded(name));
      if (it == by_name.end()) {
        if (!mapping.generic) missing.push_back("\"" + name + "\" (for " + field + ")");
        continue;
      }
      // Two columns of one name: taking either could import, say, a product's name as the customer's.
      if (it->second.size() > 1) {
        std::string numbers;
        for (const std::size_t i : it->second) numbers += (numbers.empty() ? "" : ", ") + std::to_string(i + 1);
        throw MappingError(file + ":1: the header has " + std::to_string(it->second.size()) + " columns named \"" + it->first +
                           "\" (" + numbers + "), and the import reads it for " + field + ": rename the others");
      }
      at.push_back(it->second.front());
      used[it->second.front()] = true;
    }
    if (!at.empty()) positions_.emplace(field, std::move(at));
  }
  if (mapping.generic)
    for (const auto& f : required_fields(mapping.format))
      if (!has(f)) missing.push_back("\"" + f + "\"");
  if (mapping.generic && mapping.format == Format::customers &&
      std::none_of(kIdentifierKinds.begin(), kIdentifierKinds.end(), [&](const auto& k) { return has(k); }))
    missing.push_back("one of \"card\", \"phone\", \"email\", \"app\"");
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw MappingError(file + ":1: the header has no column " + list + (mapping.generic ? " (see the generic " + std::string(format_name(mapping.format)) + " format in the README, or give a --mapping)" : ""));
  }
  for (std::size_t i = 0; i < header.size(); ++i)
    if (!used[i]) unused_.push_back(header[i]);
}

std::string BoundColumns::value(std::string_view field, const std::vector<std::string>& row) const {
  const auto it = positions_.find(field);
  if (it == positions_.end()) return {};
  std::string out;
  for (const std::size_t i : it->second) {
    if (i >= row.size()) continue;
    std::string part = trimmed(row[i]);
    if (part.empty()) continue;
    if (!out.empty()) out += ' ';
    out += part;
  }
  return out;
}

int BoundColumns::column_number(std::string_view field) const {
  const auto it = positions_.find(field);
  return it == positions_.end() ? 0 : static_cast<int>(it->second.front()) + 1;
}

std::string BoundColumns::column_name(std::string_view field) const {
  const auto it = positions_.find(field);
  return it == positions_.end() ? std::string(field) : header_[it->second.front()];
}

}  // namespace regulars::daemon::import
