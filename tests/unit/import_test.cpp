// The import's parts in process: CSV rows with the lines they start on, mappings and headers,
// and each row's values turned into the protocol's events, with errors naming the column.
#include <gtest/gtest.h>

#include <sstream>

#include "import/csv_reader.hpp"
#include "import/mapping.hpp"
#include "import/row_events.hpp"

namespace regulars::daemon::import {
namespace {

std::vector<CsvRow> rows_of(const std::string& text, char delimiter = ',') {
  std::istringstream in(text);
  CsvReader reader(in, "f.csv", delimiter);
  std::vector<CsvRow> out;
  for (CsvRow r; reader.next(r);) out.push_back(r);
  return out;
}

std::string csv_error_of(const std::string& text) {
  try {
    rows_of(text);
  } catch (const CsvError& e) {
    return e.what();
  }
  return "";
}

TEST(CsvReader, QuotedFieldsAndTheLineEachRowStartsOn) {
  const auto rows = rows_of("\xEF\xBB\xBF" "a,b\n\n\"x, \"\"y\"\"\",\"two\nlines\"\nlast,row");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"a", "b"}));  // the byte order mark is gone
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"x, \"y\"", "two\nlines"}));
  EXPECT_EQ(rows[1].line, 3);  // the blank line 2 is skipped
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"last", "row"}));
  EXPECT_EQ(rows[2].line, 5);  // a quoted line break moves the lines on
}

TEST(CsvReader, OtherDelimitersAndWindowsLineEnds) {
  const auto rows = rows_of("a;b\r\n1;2\r\n", ';');
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(rows[1].line, 2);
}

TEST(CsvReader, BrokenQuotingIsAnErrorNamingFileAndLine) {
  EXPECT_NE(csv_error_of("a,b\n1,\"never closed\n2,3\n").find("f.csv:2: the file ends inside a quoted field"), std::string::npos)
      << csv_error_of("a,b\n1,\"never closed\n2,3\n");
  EXPECT_NE(csv_error_of("a,b\n1,\"x\"y\n").find("f.csv:2: not valid CSV"), std::string::npos) << csv_error_of("a,b\n1,\"x\"y\n");
}

TEST(CsvReader, ARowLongerThanTheLimitIsRefusedBeforeItTakesTheMemory) {
  const std::string text = "a\n\"" + std::string(CsvReader::kMaxRowBytes + 10, 'x');
  EXPECT_NE(csv_error_of(text).find("f.csv:2: a row is longer than 1 MiB"), std::string::npos) << csv_error_of(text).substr(0, 200);
}

// A row's line is the line its first field starts on, even when that field holds a line break.
TEST(CsvReader, ARowWhoseFirstFieldSpansLinesIsNamedByTheLineItStartsOn) {
  const auto rows = rows_of("name,qty\n\"two\nlines\",1\n\"one\",2\n\n\"x\",\"a\nb\"\r\n\"y\",3");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[2].line, 4);
  EXPECT_EQ(rows[3].line, 6);
  EXPECT_EQ(rows[4].line, 8);
}

TEST(CsvReader, ARowWithTooManyColumnsIsAnErrorNamingItsLine) {
  const std::string text = "a,b\n1,2\n" + std::string(CsvReader::kMaxFields + 5, ',') + "\n";
  EXPECT_NE(csv_error_of(text).find("f.csv:3: a row has more than 512 columns"), std::string::npos) << csv_error_of(text);
}

TEST(CsvReader, RowsBeforeDamageAreHandedOutBeforeTheError) {
  std::istringstream in("a,b\n1,2\n3,4\n5,\"never closed\n");
  CsvReader reader(in, "f.csv");
  CsvRow row;
  int rows = 0;
  try {
    while (reader.next(row)) ++rows;
    ADD_FAILURE() << "no error at the unclosed quote";
  } catch (const CsvError& e) {
    EXPECT_NE(std::string(e.what()).find("f.csv:4:"), std::string::npos) << e.what();
  }
  EXPECT_EQ(rows, 3);  // the header and the two good rows
}

TEST(ImportValues, TimesPricesAndBirthdays) {
  EXPECT_EQ(import_time("2026-11-23T10:15:00Z"), "2026-11-23T10:15:00Z");
  EXPECT_EQ(import_time("2026-11-23 10:15"), "2026-11-23T10:15:00Z");
  EXPECT_EQ(import_time("2026-11-23 10:15:30"), "2026-11-23T10:15:30Z");
  EXPECT_EQ(import_time("2026-11-23"), "2026-11-23T12:00:00Z");
  EXPECT_FALSE(import_time("23/11/2026"));
  EXPECT_FALSE(import_time("2026-13-01"));
  EXPECT_EQ(minor_units("1.99", 2), 199);
  EXPECT_EQ(minor_units("2.5", 2), 250);
  EXPECT_EQ(minor_units("3", 2), 300);
  EXPECT_EQ(minor_units("199", 0), 199);
  EXPECT_FALSE(minor_units("1.999", 2));
  EXPECT_FALSE(minor_units("$1.99", 2));
  EXPECT_FALSE(minor_units("-1.00", 2));
  EXPECT_FALSE(minor_units("1,99", 2));
  EXPECT_FALSE(minor_units("1.", 2));
  EXPECT_EQ(import_birthday("03-14"), "03-14");
  EXPECT_EQ(import_birthday("1990-03-14"), "1990-03-14");
  EXPECT_EQ(import_birthday("03-14-1990"), "1990-03-14");
  EXPECT_EQ(import_birthday("0000-03-14"), "03-14");
  EXPECT_FALSE(import_birthday("14/03/1990"));
}

std::string mapping_error_of(const std::string& text) {
  try {
    Mapping::parse(text, "m.json");
  } catch (const MappingError& e) {
    return e.what();
  }
  return "";
}

TEST(Mapping, ErrorsNameTheSetting) {
  EXPECT_NE(mapping_error_of("{\"columns\": {\"sku\": \"Item\"}}").find("m.json: columns: must name a column for \"customer\""),
            std::string::npos);
  EXPECT_NE(mapping_error_of("{\"columns\": {\"customer\": \"C\", \"time\": \"T\", \"sku\": \"S\", \"colour\": \"X\"}}")
                .find("columns.colour: is not a field of the sales format"),
            std::string::npos);
  EXPECT_NE(mapping_error_of("{\"format\": \"customers\", \"columns\": {\"name\": \"N\"}}").find("at least one identifier"),
            std::string::npos);
  EXPECT_NE(mapping_error_of("{\"columns\": {}, \"price\": 2}").find("price: is not a mapping setting"), std::string::npos);
  EXPECT_NE(mapping_error_of("not json").find("m.json: not a JSON mapping"), std::string::npos);
  EXPECT_EQ(mapping_error_of("{\"delimiter\": \";\", \"price_decimals\": 0, \"columns\": {\"customer\": \"C\", \"time\": \"T\", "
                             "\"sku\": \"S\", \"name\": [\"A\", \"B\"]}}"),
            "");
}

TEST(Mapping, AHeaderWithoutARequiredColumnIsRefusedNamingIt) {
  try {
    BoundColumns(Mapping::generic_format(Format::sales), {"customer", "sku"}, "f.csv");
    FAIL() << "a header without \"time\" was accepted";
  } catch (const MappingError& e) {
    EXPECT_NE(std::string(e.what()).find("f.csv:1: the header has no column \"time\""), std::string::npos) << e.what();
  }
}

// Two columns of the same name, one of them read: which one is meant cannot be guessed.
TEST(Mapping, AColumnReadUnderANameTheHeaderHasTwiceIsRefused) {
  try {
    BoundColumns(Mapping::generic_format(Format::sales), {"customer", "time", "sku", "Customer"}, "f.csv");
    FAIL() << "a header with two \"customer\" columns was accepted";
  } catch (const MappingError& e) {
    EXPECT_NE(std::string(e.what()).find("f.csv:1: the header has 2 columns named \"customer\" (1, 4)"), std::string::npos) << e.what();
  }
  // Columns the import does not read may share a name.
  const BoundColumns columns(Mapping::generic_format(Format::sales), {"customer", "time", "sku", "notes", "notes"}, "f.csv");
  EXPECT_EQ(columns.unused_columns(), (std::vector<std::string>{"notes", "notes"}));
}

TEST(Mapping, ColumnsAreFoundWhateverTheirCaseAndSeveralAreJoined) {
  Mapping m = Mapping::parse("{\"format\": \"customers\", \"columns\": {\"phone\": \"Phone\", \"name\": [\"First\", \"Last\"]}}", "m.json");
  const BoundColumns columns(m, {"last", " FIRST ", "phone", "extra"}, "f.csv");
  EXPECT_EQ(columns.value("name", {"Ahmadi", " Sara ", "+98", "x"}), "Sara Ahmadi");
  EXPECT_EQ(columns.value("name", {"", "Sara", "+98", "x"}), "Sara");
  EXPECT_EQ(columns.column_number("phone"), 3);
  EXPECT_EQ(columns.unused_columns(), (std::vector<std::string>{"extra"}));
}

class SaleRows : public ::testing::Test {
 protected:
  const Mapping mapping_ = Mapping::generic_format(Format::sales);
  const BoundColumns columns_{mapping_, {"customer", "time", "sku", "name", "qty", "price", "receipt"}, "f.csv"};
  std::variant<SaleLine, RowError> read(std::vector<std::string> fields, std::int64_t line = 2) {
    return read_sale_row(columns_, mapping_, CsvRow{line, std::move(fields)}, 1'900'000'000'000);
  }
  RowError error_of(std::vector<std::string> fields) {
    auto r = read(std::move(fields));
    EXPECT_TRUE(std::holds_alternative<RowError>(r));
    return std::holds_alternative<RowError>(r) ? std::get<RowError>(r) : RowError{};
  }
};

TEST_F(SaleRows, ALineOfASale) {
  auto r = read({"4000123", "2026-10-01 10:00", "oat-milk", "Oat milk", "2", "1.99", "R1"});
  ASSERT_TRUE(std::holds_alternative<SaleLine>(r));
  const SaleLine& line = std::get<SaleLine>(r);
  EXPECT_EQ(line.head["type"], "purchase");
  EXPECT_EQ(line.head["customer"], (nlohmann::json{{"kind", "card"}, {"value", "4000123"}}));
  EXPECT_EQ(line.line, (nlohmann::json{{"sku", "oat-milk"}, {"name", "Oat milk"}, {"qty", 2.0}, {"unit_price", 199}}));
}

TEST_F(SaleRows, EachBadValueNamesItsColumn) {
  EXPECT_EQ(error_of({"4000123", "2026-10-01", "", "n", "1", "1", "R"}).column_name, "sku");
  EXPECT_EQ(error_of({"4000123", "2026-10-01", "s", "n", "0", "1", "R"}).column_name, "qty");
  EXPECT_EQ(error_of({"4000123", "soon", "s", "n", "1", "1", "R"}).column_name, "time");
  EXPECT_EQ(error_of({"", "2026-10-01", "s", "n", "1", "1", "R"}).column_name, "customer");
  EXPECT_EQ(error_of({"4000123", "2026-10-01", "s", "card 4111 1111 1111 1111", "1", "1", "R"}).column_name, "name");
  EXPECT_EQ(error_of({"4000123", "2026-10-01", "s", "bad \xff text", "1", "1", "R"}).column_name, "name");
  EXPECT_EQ(error_of({"4000123", "2030-10-01", "s", "n", "1", "1", "R"}).message, "is in the future");
  const RowError e = error_of({"4000123", "2026-10-01", "s", "n", "1", "1.999", "R"});
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 6);
}

// The rows of a sale after its first reuse the first row's checked head: each still gets its own
// line's checks, with errors on the right column, and comes out as it would alone.
TEST_F(SaleRows, FollowingRowsOfASaleAreCheckedAsFully) {
  SaleHeadMemo memo;
  const auto read_with = [&](std::vector<std::string> fields, std::int64_t line) {
    return read_sale_row(columns_, mapping_, CsvRow{line, std::move(fields)}, 1'900'000'000'000, &memo);
  };
  const std::vector<std::string> first = {"4000123", "2026-10-01 10:00", "oat-milk", "Oat milk", "2", "1.99", "R1"};
  ASSERT_TRUE(std::holds_alternative<SaleLine>(read_with(first, 2)));
  EXPECT_FALSE(memo.sale_key.empty()) << "the first row's head is kept";
  const std::vector<std::vector<std::string>> bad_lines = {
      {"4000123", "2026-10-01 10:00", "", "n", "1", "1", "R1"},
      {"4000123", "2026-10-01 10:00", "s", "n", "0", "1", "R1"},
      {"4000123", "2026-10-01 10:00", "s", "card 4111 1111 1111 1111", "1", "1", "R1"},
      {"4000123", "2026-10-01 10:00", "s", std::string(201, 'n'), "1", "1", "R1"},
      {"4000123", "2026-10-01 10:00", "s", "n", "1", "1.999", "R1"}};
  for (const auto& fields : bad_lines) {
    auto with = read_with(fields, 3);
    auto alone = read(fields, 3);
    ASSERT_TRUE(std::holds_alternative<RowError>(with)) << fields[2] << " " << fields[3] << " " << fields[4] << " " << fields[5];
    ASSERT_TRUE(std::holds_alternative<RowError>(alone));
    EXPECT_EQ(std::get<RowError>(with).column, std::get<RowError>(alone).column);
    EXPECT_EQ(std::get<RowError>(with).message, std::get<RowError>(alone).message);
  }
  const std::vector<std::string> good = {"4000123", "2026-10-01 10:00", "bread", "Bread", "1", "2.50", "R1"};
  auto with = read_with(good, 4);
  auto alone = read(good, 4);
  ASSERT_TRUE(std::holds_alternative<SaleLine>(with) && std::holds_alternative<SaleLine>(alone));
  EXPECT_EQ(std::get<SaleLine>(with).head, std::get<SaleLine>(alone).head);
  EXPECT_EQ(std::get<SaleLine>(with).line, std::get<SaleLine>(alone).line);
  EXPECT_EQ(std::get<SaleLine>(with).sale_key, std::get<SaleLine>(alone).sale_key);
  // Another sale's row (another receipt) has its head built and checked again.
  EXPECT_TRUE(std::holds_alternative<RowError>(read_with({"", "2026-10-01 10:00", "s", "n", "1", "1", "R2"}, 5)));
}

// Where a sale was made and by whom are stored too: a card number there refuses the row.
TEST(SaleRowsWhere, ACardNumberInStoreTerminalOrCashierIsRefused) {
  const Mapping m = Mapping::generic_format(Format::sales);
  const BoundColumns columns(m, {"customer", "time", "sku", "store", "terminal", "cashier"}, "f.csv");
  const auto read = [&](std::vector<std::string> fields) { return read_sale_row(columns, m, CsvRow{2, std::move(fields)}, 1'900'000'000'000); };
  EXPECT_TRUE(std::holds_alternative<SaleLine>(read({"4000123", "2026-10-01", "s", "shop-1", "lane-2", "ana"})));
  for (std::size_t at = 3; at < 6; ++at) {
    std::vector<std::string> fields = {"4000123", "2026-10-01", "s", "shop-1", "lane-2", "ana"};
    fields[at] = "4111111111111111";
    auto r = read(fields);
    ASSERT_TRUE(std::holds_alternative<RowError>(r)) << "column " << at + 1;
    EXPECT_EQ(std::get<RowError>(r).column, static_cast<int>(at) + 1);
    EXPECT_NE(std::get<RowError>(r).message.find("payment card number"), std::string::npos) << std::get<RowError>(r).message;
  }
}

// An error says which value is wrong by its line and column; it does not print a card number
// (a file whose columns slipped puts one wherever it likes).
TEST_F(SaleRows, AnErrorDoesNotPrintACardNumberFoundInTheWrongColumn) {
  for (const auto& fields : std::vector<std::vector<std::string>>{
           {"4000123", "4111111111111111", "s", "n", "1", "1", "R"},
           {"4000123", "2026-10-01", "s", "n", "1", "4111 1111 1111 1111", "R"}}) {
    const RowError e = error_of(fields);
    EXPECT_NE(e.column, 0);
    EXPECT_EQ(e.message.find("1111"), std::string::npos) << e.message;
  }
  EXPECT_NE(error_of({"4000123", "soon", "s", "n", "1", "1", "R"}).message.find("\"soon\""), std::string::npos);
  const Mapping m = Mapping::generic_format(Format::customers);
  const BoundColumns columns(m, {"phone", "birthday", "time"}, "f.csv");
  for (const auto& fields : std::vector<std::vector<std::string>>{{"+98 912", "4111111111111111", ""}, {"+98 912", "", "4111111111111111"}}) {
    auto r = read_customer_row(columns, CsvRow{2, fields}, 1'900'000'000'000);
    ASSERT_TRUE(std::holds_alternative<RowError>(r));
    EXPECT_EQ(std::get<RowError>(r).message.find("1111"), std::string::npos) << std::get<RowError>(r).message;
  }
}

TEST_F(SaleRows, AdjacentLinesOfOneReceiptAreOneSale) {
  SaleGrouper grouper;
  std::vector<RowEvent> sales;
  const auto add = [&](std::vector<std::string> fields, std::int64_t line) {
    if (auto done = grouper.add(std::get<SaleLine>(read(std::move(fields), line)))) sales.push_back(*done);
  };
  add({"1", "2026-10-01 10:00", "a", "", "1", "1", "R1"}, 2);
  add({"1", "2026-10-01 10:00", "b", "", "1", "1", "R1"}, 3);
  add({"1", "2026-10-01 10:00", "a", "", "1", "1", "R2"}, 4);  // a second receipt at the same minute
  add({"2", "2026-10-01 10:00", "a", "", "1", "1", "R2"}, 5);  // another customer
  if (auto done = grouper.finish()) sales.push_back(*done);
  ASSERT_EQ(sales.size(), 3u);
  EXPECT_EQ(sales[0].event["lines"].size(), 2u);
  EXPECT_EQ(sales[0].line, 2);
  EXPECT_EQ(sales[1].line, 4);
  EXPECT_EQ(sales[2].event["customer"]["value"], "2");
}

TEST_F(SaleRows, ASaleWithARefusedLineIsHeldBackWhole) {
  SaleGrouper grouper;
  std::vector<RowEvent> sales;
  const auto keep = [&](std::optional<RowEvent> done) {
    if (done) sales.push_back(*done);
  };
  const auto good = [&](std::vector<std::string> fields, std::int64_t line) {
    keep(grouper.add(std::get<SaleLine>(read(std::move(fields), line))));
  };
  good({"1", "2026-10-01 10:00", "a", "", "1", "1", "R1"}, 2);
  good({"1", "2026-10-01 10:00", "b", "", "1", "1", "R2"}, 3);
  keep(grouper.refuse(sale_key_of(columns_, CsvRow{4, {"1", "2026-10-01 10:00", "c", "", "x", "1", "R2"}})));
  good({"1", "2026-10-01 10:00", "d", "", "1", "1", "R2"}, 5);  // after the bad line: still held
  keep(grouper.refuse(sale_key_of(columns_, CsvRow{6, {"1", "2026-10-01 10:00", "e", "", "x", "1", "R3"}})));
  good({"1", "2026-10-01 10:00", "f", "", "1", "1", "R4"}, 7);
  keep(grouper.finish());
  ASSERT_EQ(sales.size(), 2u);
  EXPECT_EQ(sales[0].line, 2);
  EXPECT_EQ(sales[1].line, 7);
  EXPECT_EQ(grouper.held_sales(), 2);
  EXPECT_EQ(grouper.held_lines(), 2);  // b and d; R3 had no good line
}

TEST(CustomerRows, AProfileUnderTheFirstIdentifierAndALinkForEachOther) {
  const Mapping m = Mapping::generic_format(Format::customers);
  const BoundColumns columns(m, {"phone", "email", "name", "birthday"}, "f.csv");
  auto r = read_customer_row(columns, CsvRow{2, {"+98 912", "a@b.org", "Sara", "03-14"}}, 1'900'000'000'000);
  ASSERT_TRUE(std::holds_alternative<std::vector<RowEvent>>(r));
  const auto& events = std::get<std::vector<RowEvent>>(r);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event["type"], "profile");
  EXPECT_EQ(events[0].event["customer"]["kind"], "phone");
  EXPECT_EQ(events[0].event["name"], "Sara");
  EXPECT_EQ(events[1].event["type"], "link");
  EXPECT_EQ(events[1].event["identifier"]["kind"], "email");
  auto bad = read_customer_row(columns, CsvRow{3, {"4111 1111 1111 1111", "", "", ""}}, 1'900'000'000'000);
  ASSERT_TRUE(std::holds_alternative<RowError>(bad));
  EXPECT_EQ(std::get<RowError>(bad).column_name, "phone");
}

}  // namespace
}  // namespace regulars::daemon::import
