#include "text.hpp"

#include <algorithm>
#include <iterator>

namespace till {
namespace {

struct CodePointRange {
  char32_t first, last;
};
#include "width_tables.inc"

template <std::size_t N>
bool in_table(const CodePointRange (&table)[N], char32_t c) {
  const auto* it = std::upper_bound(std::begin(table), std::end(table), c,
                                    [](char32_t v, const CodePointRange& r) { return v < r.first; });
  return it != std::begin(table) && c <= std::prev(it)->last;
}

bool is_continuation(unsigned char b) { return (b & 0xC0u) == 0x80u; }

// Length of the sequence a lead byte starts (0: not a lead byte) and its payload bits.
int sequence_length(unsigned char b0, char32_t& bits) {
  const int len = b0 < 0x80 ? 1 : b0 < 0xC2 ? 0 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : b0 < 0xF5 ? 4 : 0;
  static constexpr unsigned char kPayload[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  bits = b0 & kPayload[len];
  return len;
}

bool is_isolate_initiator(char32_t c) { return c >= 0x2066 && c <= 0x2068; }
constexpr char32_t kPdiCodePoint = 0x2069;

// The initiators of the isolates still open at the end of `text`, as views into it.
std::vector<std::string_view> isolate_stack(std::string_view text) {
  std::vector<std::string_view> open;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const char32_t c = next_code_point(text, i);
    if (is_isolate_initiator(c)) open.push_back(text.substr(start, i - start));
    if (c == kPdiCodePoint && !open.empty()) open.pop_back();  // a PDI with nothing open does nothing
  }
  return open;
}

// A letter that gives a paragraph the left-to-right direction: ASCII letters, and from U+00C0
// anything drawn outside the right-to-left scripts' blocks (whose digits, such as the Persian
// ۴, are weak), punctuation and symbol blocks.
bool is_ltr_letter(char32_t c) {
  if (c < 0xC0) return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  if (c == 0xD7 || c == 0xF7 || (c >= 0x0590 && c <= 0x08FF) || (c >= 0x2000 && c <= 0x2BFF) ||
      (c >= 0x3000 && c <= 0x303F) || (c >= 0xFB1D && c <= 0xFDFF) || (c >= 0xFE10 && c <= 0xFEFF) ||
      (c >= 0xFF00 && c <= 0xFF20) || (c >= 0x10800 && c <= 0x10FFF) || (c >= 0x1E800 && c <= 0x1EFFF) ||
      c >= 0x1F000)
    return false;
  return code_point_width(c) > 0 && !in_table(kRightToLeft, c);
}

}  // namespace

char32_t next_code_point(std::string_view s, std::size_t& i) {
  char32_t cp = 0;
  const int len = sequence_length(static_cast<unsigned char>(s[i]), cp);
  bool whole = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
  for (int k = 1; whole && k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    whole = is_continuation(b);
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (!whole) {
    ++i;
    return 0xFFFD;
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

int code_point_width(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c < 0xA0)) return 0;
  if (c < 0x300) return 1;
  if (in_table(kZeroWidth, c)) return 0;
  return in_table(kDoubleWidth, c) ? 2 : 1;
}

int display_width(std::string_view text) {
  int w = 0;
  for (std::size_t i = 0; i < text.size();) w += code_point_width(next_code_point(text, i));
  return w;
}

Direction base_direction(std::string_view text) {
  int depth = 0;  // inside an isolate: skipped, as the bidi algorithm does
  for (std::size_t i = 0; i < text.size();) {
    const char32_t c = next_code_point(text, i);
    if (is_isolate_initiator(c)) ++depth;
    else if (c == kPdiCodePoint && depth > 0) --depth;
    else if (depth == 0 && in_table(kRightToLeft, c)) return Direction::rtl;
    else if (depth == 0 && is_ltr_letter(c)) return Direction::ltr;
  }
  return Direction::neutral;
}

std::string open_isolates(std::string_view text) {
  std::string out;
  for (const auto initiator : isolate_stack(text)) out += initiator;
  return out;
}

std::string close_isolates(std::string_view text) {
  std::string out(text);
  for (std::size_t n = isolate_stack(text).size(); n > 0; --n) out += kPdi;
  return out;
}

std::size_t fit(std::string_view text, int width) {
  std::size_t end = 0;
  int w = 0;
  for (std::size_t i = 0; i < text.size();) {
    const int cw = code_point_width(next_code_point(text, i));
    if (w + cw > width) break;
    w += cw;
    end = i;
  }
  return end;
}

std::string truncate(std::string_view text, int width) {
  if (display_width(text) <= width) return std::string(text);
  if (width <= 0) return {};
  return close_isolates(text.substr(0, fit(text, width - 1))) + "…";
}

std::string pad_right(std::string_view text, int width) {
  std::string out = truncate(text, width);
  return out + std::string(static_cast<std::size_t>(std::max(0, width - display_width(out))), ' ');
}

std::string pad_left(std::string_view text, int width) {
  std::string out = truncate(text, width);
  return std::string(static_cast<std::size_t>(std::max(0, width - display_width(out))), ' ') + out;
}

namespace {

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = text.find_first_not_of(' ', i);
    if (start == std::string_view::npos) break;
    i = std::min(text.size(), text.find(' ', start));
    words.push_back(text.substr(start, i - start));
  }
  return words;
}

// Adds `word` to the last of `lines` (which is `line_w` columns wide), on a new line when it does
// not fit; a word wider than a line is cut at code point boundaries.
void place_word(std::vector<std::string>& lines, int& line_w, std::string_view word, int width) {
  int word_w = display_width(word);
  if (line_w > 0 && line_w + 1 + word_w > width) {
    lines.emplace_back();
    line_w = 0;
  }
  while (word_w > width) {
    std::size_t n = fit(word, width);
    if (n == 0) next_code_point(word, n);  // a character wider than the line: alone on it
    lines.back() += word.substr(0, n);
    lines.emplace_back();
    word.remove_prefix(n);
    word_w = display_width(word);
  }
  if (word.empty()) return;
  if (line_w > 0) {
    lines.back() += ' ';
    ++line_w;
  }
  lines.back() += word;
  line_w += word_w;
}

}  // namespace

std::vector<std::string> wrap(std::string_view text, int width) {
  std::vector<std::string> lines(1);
  int line_w = 0;
  for (const auto word : split_words(text)) place_word(lines, line_w, word, width);
  if (lines.size() > 1 && lines.back().empty()) lines.pop_back();
  std::string carried;  // isolates open at the end of the line before
  for (auto& line : lines) {
    line = carried + line;
    carried = open_isolates(line);
    line = close_isolates(line);
  }
  return lines;
}

}  // namespace till
