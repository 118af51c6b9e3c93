#include "import/csv_reader.hpp"

#include <csv.h>

#include <cstring>
#include <exception>
#include <utility>

namespace regulars::daemon::import {

namespace {

void field_callback(void* text, std::size_t size, void* reader) {
  static_cast<CsvReader*>(reader)->on_field(static_cast<const char*>(text), size);
}
void row_callback(int /*terminator*/, void* reader) { static_cast<CsvReader*>(reader)->on_row_end(); }

constexpr std::size_t kReadSize = 1 << 16;
// libcsv's state between rows (ROW_NOT_BEGUN in libcsv.c; csv.h shows the state, not its names).
constexpr int kRowNotBegun = 0;

}  // namespace

CsvReader::CsvReader(std::istream& in, std::string file_name, char delimiter)
    : in_(in), file_(std::move(file_name)), parser_(std::make_unique<csv_parser>()), buffer_(kReadSize) {
  // Strict: a quote inside an unquoted field, or text after a closing quote, is an error rather
  // than a guess; STRICT_FINI: so is a quote still open at the end of the file.
  if (csv_init(parser_.get(), CSV_STRICT | CSV_STRICT_FINI) != 0) throw CsvError("cannot start the CSV parser");
  csv_set_delim(parser_.get(), static_cast<unsigned char>(delimiter));
}

CsvReader::~CsvReader() { csv_free(parser_.get()); }

// Called from inside libcsv's C code, which an exception must not cross: a row with too many
// columns is only noted here, and feed() fails once csv_parse has returned.
void CsvReader::on_field(const char* text, std::size_t size) {
  // A field is complete only at its end, which for a quoted line break is a later line.
  if (row_start_ == 0) row_start_ = next_row_line_;
  if (building_.fields.size() >= kMaxFields) {
    if (too_wide_at_ == 0) too_wide_at_ = row_start_;
    return;
  }
  building_.fields.emplace_back(text != nullptr ? text : "", size);
}

void CsvReader::on_row_end() {
  building_.line = row_start_ != 0 ? row_start_ : line_;
  ready_.push_back(std::move(building_));
  building_ = {};
  row_start_ = 0;
  row_bytes_ = 0;
}

void CsvReader::fail(std::int64_t line, const std::string& why) const {
  throw CsvError(file_ + ":" + std::to_string(line) + ": " + why);
}

// Fed one line at a time, so each row knows the line it starts on.
void CsvReader::feed(const char* data, std::size_t size) {
  while (size > 0) {
    const auto* newline = static_cast<const char*>(std::memchr(data, '\n', size));
    const std::size_t part = newline != nullptr ? static_cast<std::size_t>(newline - data) + 1 : size;
    if (parser_->pstate == kRowNotBegun) next_row_line_ = line_;  // a row begun in this part begins on this line
    row_bytes_ += part;
    if (row_bytes_ > kMaxRowBytes)
      fail(row_start_ != 0 ? row_start_ : next_row_line_,
           "a row is longer than " + std::to_string(kMaxRowBytes >> 20) + " MiB (a quote that is never closed?)");
    if (csv_parse(parser_.get(), data, part, field_callback, row_callback, this) != part)
      fail(line_, std::string("not valid CSV: ") + csv_strerror(csv_error(parser_.get())) +
                      " (a quote inside an unquoted field, or text after a closing quote?)");
    if (too_wide_at_ != 0) fail(too_wide_at_, "a row has more than " + std::to_string(kMaxFields) + " columns");
    if (newline != nullptr) ++line_;
    data += part;
    size -= part;
  }
}

bool CsvReader::fill() {
  while (ready_.empty() && !at_end_) {
    try {
      feed_next_chunk();
    } catch (const CsvError&) {
      // The rows completed before the damage are good: hand them out first, then the error.
      pending_error_ = std::current_exception();
      at_end_ = true;
    }
  }
  if (ready_.empty() && pending_error_) std::rethrow_exception(std::exchange(pending_error_, nullptr));
  return !ready_.empty();
}

void CsvReader::feed_next_chunk() {
  in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  auto got = static_cast<std::size_t>(in_.gcount());
  if (in_.bad()) throw CsvError(file_ + ": read error");
  bytes_read_ += got;
  const char* data = buffer_.data();
  if (at_start_ && got >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0) data += 3, got -= 3;
  at_start_ = false;
  feed(data, got);
  if (in_.eof()) {
    at_end_ = true;
    if (csv_fini(parser_.get(), field_callback, row_callback, this) != 0)
      fail(row_start_ != 0 ? row_start_ : line_, "the file ends inside a quoted field (a quote that is never closed)");
    if (too_wide_at_ != 0) fail(too_wide_at_, "a row has more than " + std::to_string(kMaxFields) + " columns");
  }
}

bool CsvReader::next(CsvRow& row) {
  if (!fill()) return false;
  row = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

}  // namespace regulars::daemon::import
