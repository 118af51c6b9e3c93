// The payment-card guard: finds a number that may be a payment card in text as people and
// keyboards write it. Digits of any script count (a Persian keyboard types U+06F0..U+06F9, a
// Japanese IME full-width ones), and so does any run of spaces, dots, slashes, dashes or
// invisible characters between the groups.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "validate.hpp"

namespace regulars::wire {
namespace {

// The zero of every block of decimal digits (Unicode category Nd) in Unicode 15.0. Each block
// holds the ten digits 0..9 in order.
constexpr std::array<char32_t, 68> kDigitZeros{
    0x30,    0x660,   0x6F0,   0x7C0,   0x966,   0x9E6,   0xA66,   0xAE6,   0xB66,   0xBE6,   0xC66,   0xCE6,
    0xD66,   0xDE6,   0xE50,   0xED0,   0xF20,   0x1040,  0x1090,  0x17E0,  0x1810,  0x1946,  0x19D0,  0x1A80,
    0x1A90,  0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0xA620,  0xA8D0,  0xA900,  0xA9D0,  0xA9F0,  0xAA50,  0xABF0,
    0xFF10,  0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0,
    0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8,
    0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950, 0x1FBF0};

// 0..9, or -1 when `cp` is not a decimal digit.
int digit_value(char32_t cp) noexcept {
  const auto it = std::upper_bound(kDigitZeros.begin(), kDigitZeros.end(), cp);
  if (it == kDigitZeros.begin()) return -1;
  const char32_t zero = *(it - 1);
  return cp - zero < 10 ? static_cast<int>(cp - zero) : -1;
}

// What may stand between the groups of a card number: spaces of every width (Zs), dashes (Pd and
// the minus sign), dots, slashes, and characters that show nothing or only decorate the digit
// before them (soft hyphen, zero-width and direction marks, variation selectors, the keycap).
bool is_number_separator(char32_t cp) noexcept {
  switch (cp) {
    case ' ': case '-': case '.': case '/': case '\\': case 0xA0: case 0xAD: case 0xB7: case 0x1680: case 0x058A:
    case 0x05BE: case 0x061C: case 0x066B: case 0x066C: case 0x06D4: case 0x180E: case 0x202F: case 0x205F:
    case 0x2044: case 0x2212: case 0x2215: case 0x2E3A: case 0x2E3B: case 0x3000: case 0x3002: case 0x301C:
    case 0x30FB: case 0xFE52: case 0xFE58: case 0xFE63: case 0xFEFF: case 0xFF0D: case 0xFF0E: case 0xFF0F:
    case 0xFF3C: case 0xFF61: case 0xFF65:
      return true;
    default:
      break;
  }
  return (cp >= 0x2000 && cp <= 0x2015) ||  // spaces of every width, zero-width marks, hyphens, dashes
         (cp >= 0x2024 && cp <= 0x2027) ||  // one-dot leader .. hyphenation point
         (cp >= 0x2028 && cp <= 0x202E) ||  // separators and direction embeddings
         (cp >= 0x2060 && cp <= 0x206F) ||  // word joiner, invisible operators, direction isolates
         (cp >= 0x0300 && cp <= 0x036F) ||  // combining diacritics
         (cp >= 0x20D0 && cp <= 0x20FF) ||  // combining marks for symbols, e.g. the keycap U+20E3
         (cp >= 0xFE00 && cp <= 0xFE0F) ||  // variation selectors
         (cp >= 0xE0100 && cp <= 0xE01EF);
}

// The next code point of UTF-8 `s` at `i`, advancing `i`. The parser has checked the UTF-8; a
// stray byte still advances and reads as U+FFFD, which ends a number.
char32_t next_code_point(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  const int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC0 ? 1 : 0;
  if (extra == 0) return 0xFFFD;
  char32_t cp = b0 & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return cp;
}

bool luhn_valid(const std::uint8_t* digits, std::size_t n) noexcept {
  int sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    int d = digits[n - 1 - i];
    if (i % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 == 0;
}

constexpr std::size_t kMinCard = 13, kMaxCard = 19;

// Digits joined by separators, and where each group of them ends.
struct DigitRun {
  std::vector<std::uint8_t> digits;
  std::vector<std::size_t> group_ends;  // one past each group's last digit
};

bool run_holds_card(const DigitRun& run, CardScan scan) noexcept {
  const auto& d = run.digits;
  if (scan == CardScan::whole_runs) return d.size() >= kMinCard && d.size() <= kMaxCard && luhn_valid(d.data(), d.size());
  // Whole groups in a row: "ref 7 4111 1111 1111 1111" holds the card from its second group.
  // Digits glued to a card with no separator are judged with it: inside one long group, some 13
  // to 19 digits pass Luhn in most numbers of 16 digits or more, and refusing those would refuse
  // most long reference numbers.
  std::size_t start = 0;
  for (std::size_t g = 0; g < run.group_ends.size(); start = run.group_ends[g++]) {
    for (std::size_t h = g; h < run.group_ends.size() && run.group_ends[h] - start <= kMaxCard; ++h)
      if (run.group_ends[h] - start >= kMinCard && luhn_valid(d.data() + start, run.group_ends[h] - start)) return true;
  }
  return false;
}

}  // namespace

bool contains_card_number(std::string_view text, CardScan scan) {
  DigitRun run;
  bool separated = false;  // a separator since the last digit
  auto finish_run = [&] {
    if (!run.digits.empty()) run.group_ends.push_back(run.digits.size());
    const bool found = run_holds_card(run, scan);
    run.digits.clear();
    run.group_ends.clear();
    separated = false;
    return found;
  };
  for (std::size_t i = 0; i < text.size();) {
    const char32_t cp = next_code_point(text, i);
    if (const int v = digit_value(cp); v >= 0) {
      if (separated) run.group_ends.push_back(run.digits.size());
      separated = false;
      run.digits.push_back(static_cast<std::uint8_t>(v));
    } else if (is_number_separator(cp)) {
      separated = !run.digits.empty();
    } else if (finish_run()) {
      return true;
    }
  }
  return finish_run();
}

}  // namespace regulars::wire
