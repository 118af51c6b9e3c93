// Rows of a CSV file (RFC 4180: quoted fields may hold delimiters, quotes and line breaks), read
// as a stream with libcsv, each with the line it starts on, so that an error can name it.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <istream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct csv_parser;

namespace regulars::daemon::import {

// A file that cannot be read as CSV at all (an unclosed quote, a row longer than the limit):
// what names the file and line. Bad values in good rows are not this; they are RowErrors.
struct CsvError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CsvRow {
  std::int64_t line = 0;  // 1-based line of the file the row starts on
  std::vector<std::string> fields;
};

class CsvReader {
 public:
  // Bounds on what one row may hold, so a hostile file cannot take all the memory.
  static constexpr std::size_t kMaxRowBytes = 1 << 20;
  static constexpr std::size_t kMaxFields = 512;

  CsvReader(std::istream& in, std::string file_name, char delimiter = ',');
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The next row, or false at the end of the file. Blank lines are skipped; a UTF-8 byte order
  // mark at the start is dropped. Throws CsvError.
  bool next(CsvRow& row);
  std::uint64_t bytes_read() const { return bytes_read_; }

  // Called by libcsv's callbacks (csv_reader.cpp).
  void on_field(const char* text, std::size_t size);
  void on_row_end();

 private:
  bool fill();  // feeds the parser until a row is complete or the input ends
  void feed_next_chunk();
  void feed(const char* data, std::size_t size);
  [[noreturn]] void fail(std::int64_t line, const std::string& why) const;

  std::istream& in_;
  std::string file_;
  std::unique_ptr<csv_parser> parser_;
  std::deque<CsvRow> ready_;
  CsvRow building_;
  std::vector<char> buffer_;
  std::int64_t line_ = 1;           // the line being fed
  std::int64_t row_start_ = 0;      // 0: no field of the next row seen yet
  std::int64_t next_row_line_ = 1;  // the line the row being parsed began on
  std::size_t row_bytes_ = 0;       // fed since the last row ended
  std::int64_t too_wide_at_ = 0;    // the line of a row with more than kMaxFields columns
  std::uint64_t bytes_read_ = 0;
  bool at_start_ = true, at_end_ = false;
  std::exception_ptr pending_error_;  // thrown once the rows read before it are handed out
};

}  // namespace regulars::daemon::import
