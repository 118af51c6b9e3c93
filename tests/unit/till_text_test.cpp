// The till simulator's boxes with right-to-left text (sdk/examples/till/text.hpp, screen.hpp), and
// the panel's own words, counts and digits in Persian and Arabic (labels.hpp):
// Persian and Arabic hints, with the daemon's bidi isolates around names and items, ZWNJ inside
// Persian words and Arabic marks, mixed with Latin product names, wrapped or not. Widths are
// checked against glibc's wcwidth in the C.UTF-8 locale, which is what a terminal counts, not
// against the simulator's own display_width.
#include <gtest/gtest.h>
#include <locale.h>

#include <clocale>
#include <cwchar>
#include <string>
#include <vector>

#include "labels.hpp"
#include "screen.hpp"
#include "terminal_width.hpp"

namespace {

using regulars::test::terminal_width;
using till::Panel;
using till::Style;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

// Isolates opened minus closed, never below zero on the way; 0 for a line whose isolates are whole.
int isolate_balance(const std::string& line) {
  int depth = 0;
  for (std::size_t i = 0; i + 2 < line.size(); ++i) {
    if (line.compare(i, 2, "\xE2\x81") != 0) continue;
    const auto b = static_cast<unsigned char>(line[i + 2]);
    if (b >= 0xA6 && b <= 0xA8) ++depth;         // LRI, RLI, FSI
    if (b == 0xA9 && --depth < 0) return -1000;  // PDI with nothing open
  }
  return depth;
}

// The text between "│ " and " │" of a row, without the isolates around or inside it.
std::string row_text(const std::string& line) {
  std::string inner = line.substr(std::string("│ ").size(), line.size() - 2 * std::string("│ ").size());
  for (const char* mark : {"\u2066", "\u2067", "\u2068", "\u2069"})
    for (std::size_t at; (at = inner.find(mark)) != std::string::npos;) inner.erase(at, 3);
  return inner;
}

const std::string kFsi = "\u2068", kPdi = "\u2069", kZwnj = "\u200C", kAlm = "\u061C";

// Texts as the daemon sends them (daemon/locale/texts/fa.json, ar.json), names and items isolated.
std::vector<std::string> persian_hints() {
  return {
      kFsi + "Leila Ahmadi" + kPdi + " عزیز، خوش آمدید — مراجعهٔ ۷ (آخرین بار: ۲ روز پیش).",
      "معمولاً " + kFsi + "Oat milk 1 l" + kPdi + "، " + kFsi + "Salt & vinegar crisps" + kPdi + " می" + kZwnj +
          "خرد.",
      "یک بسته " + kFsi + "Salt & vinegar crisps" + kPdi + " رایگان برای " + kFsi + "son" + kPdi + "، مهمان ما!",
      "ثبت" + kZwnj + "شده توسط " + kFsi + "c-07" + kPdi + " در ۲۰۲۶-۱۱-۲۳.",
  };
}

std::vector<std::string> arabic_hints() {
  return {
      "أهلًا بعودتك يا " + kFsi + "ليلى" + kPdi + " — الزيارة " + kAlm + "٧ منذ يومين.",
      "يشتري عادةً " + kFsi + "Semi-skimmed milk 2 pt" + kPdi + " و" + kFsi + "Fusilli 500 g" + kPdi + ".",
      "قدِّم " + kFsi + "Salt & vinegar crisps" + kPdi + " مجانًا لـ" + kFsi + "الابن" + kPdi + "، على حسابنا!",
      "مُسْتَحْضَرَاتٌ" + kFsi + "Extra-long-product-name-without-spaces" + kPdi + "طَوِيلَةٌ جِدًّا",
  };
}

std::string box(const std::vector<std::string>& texts, int width) {
  static const Style plain(false);
  Panel p(plain, width);
  p.title("Regulars · card 4000456", "regulars_hints 412 µs");
  for (const auto& t : texts) p.text(t, till::tone::bold, "● ", till::tone::bold);
  p.separator("Likely today");
  p.row({{" 1 ", till::tone::dim}, {till::pad_right("Salt & vinegar crisps", 24), till::tone::plain},
         {"در ۵ مراجعه از ۷ مراجعه خریده", till::tone::dim}});
  for (const auto& t : texts) p.text(t, till::tone::dim, "", "", 4);
  return p.render();
}

void expect_aligned(const std::string& rendered, int width) {
  for (const auto& line : lines_of(rendered)) {
    EXPECT_EQ(terminal_width(line), width) << "a line of the box is not " << width << " columns: " << line;
    EXPECT_EQ(isolate_balance(line), 0) << "an isolate is not whole on the line: " << line;
  }
}

TEST(TillText, PersianBoxesHaveOneWidthOnEveryLine) {
  for (int width : {24, 32, 48, 72, 120}) expect_aligned(box(persian_hints(), width), width);
}

TEST(TillText, ArabicBoxesHaveOneWidthOnEveryLine) {
  for (int width : {24, 32, 48, 72, 120}) expect_aligned(box(arabic_hints(), width), width);
}

TEST(TillText, RightToLeftRowsAreFlushWithTheRightBorder) {
  static const Style plain(false);
  for (const auto& texts : {persian_hints(), arabic_hints()}) {
    for (int width : {32, 72}) {
      Panel p(plain, width);
      for (const auto& t : texts) p.text(t, till::tone::bold, "● ", till::tone::bold);
      const auto lines = lines_of(p.render());
      for (std::size_t k = 1; k + 1 < lines.size(); ++k)
        EXPECT_NE(row_text(lines[k]).back(), ' ') << "a right-to-left row is not flush right: " << lines[k];
    }
  }
}

TEST(TillText, TheDirectionIsThatOfTheFirstLetterOutsideIsolates) {
  EXPECT_EQ(till::base_direction("۴ بار خریده"), till::Direction::rtl);  // a Persian digit is weak
  EXPECT_EQ(till::base_direction(kFsi + "Oat milk" + kPdi + " می" + kZwnj + "خرد"), till::Direction::rtl);
  EXPECT_EQ(till::base_direction("4 visits · معمولاً"), till::Direction::ltr);
  EXPECT_EQ(till::base_direction("12 — ✓"), till::Direction::neutral);
}

TEST(TillText, ARightToLeftPieceOfALeftToRightRowKeepsItsPaddingOutside) {
  static const Style plain(false);
  Panel p(plain, 40);
  p.row({{" 3 ", till::tone::dim}, {till::pad_right("نان سنگک", 12), till::tone::plain}, {"0.74", till::tone::bold}});
  EXPECT_NE(p.render().find("\u2067نان سنگک\u2069    0.74"), std::string::npos) << p.render();
}

TEST(TillText, LeftToRightRowsStayLeftAligned) {
  static const Style plain(false);
  Panel p(plain, 40);
  p.text("Welcome back — visit 9 (last: 7 days ago).", till::tone::bold, "● ", till::tone::bold);
  const auto lines = lines_of(p.render());
  EXPECT_EQ(lines[1], "│ ● Welcome back — visit 9 (last: 7    │");
  EXPECT_EQ(lines[2], "│   days ago).                         │");
  expect_aligned(p.render(), 40);
}

TEST(TillText, WrappedLinesKeepCodePointsAndIsolatesWhole) {
  const std::string text = "یک " + kFsi + "Salt & vinegar crisps with a very long name" + kPdi + " می" + kZwnj + "خرد";
  for (int width = 4; width <= 30; ++width) {
    for (const auto& line : till::wrap(text, width)) {
      EXPECT_GE(terminal_width(line), 0) << "width " << width << ": a line is not whole UTF-8: " << line;
      EXPECT_LE(terminal_width(line), width) << "width " << width << ": " << line;
      EXPECT_EQ(isolate_balance(line), 0) << "width " << width << ": " << line;
    }
  }
}

TEST(TillText, MarksStayWithTheLetterBeforeThem) {
  const std::string word = "مُسْتَحْضَرَاتٌ";  // every letter but one carries a mark
  for (int width = 1; width <= 8; ++width)
    for (const auto& line : till::wrap(word, width)) {
      // U+064B..U+065F (the harakat) in UTF-8: D9 8B .. D9 9F.
      const bool mark_first = line.size() >= 2 && static_cast<unsigned char>(line[0]) == 0xD9 &&
                              static_cast<unsigned char>(line[1]) >= 0x8B && static_cast<unsigned char>(line[1]) <= 0x9F;
      EXPECT_FALSE(mark_first) << "width " << width << ": a line starts with a mark: " << line;
    }
}

TEST(TillText, WidthsDoNotDependOnTheProcessLocale) {
  std::setlocale(LC_ALL, "C");
  EXPECT_EQ(till::display_width("می" + kZwnj + "خرد"), 5);
  EXPECT_EQ(till::display_width(kFsi + "Oat milk" + kPdi), 8);
  EXPECT_EQ(till::display_width("مراجعهٔ ۷"), 8);
  EXPECT_EQ(till::display_width(kAlm + "٧"), 1);
  EXPECT_EQ(till::display_width("パン"), 4);
}

}  // namespace

namespace {

// Each byte that does not start a whole sequence counts as one U+FFFD; the ASCII after a cut
// sequence is not taken into it.
TEST(TillText, ACutSequenceTakesNothingAfterIt) {
  EXPECT_EQ(till::display_width("\xE2\x80" "ab"), 4);  // U+FFFD U+FFFD a b
  EXPECT_EQ(till::display_width("ab\xD9"), 3);
  EXPECT_EQ(till::pad_right("\xE2\x80" "ab", 6), "\xE2\x80" "ab  ");
}

}  // namespace

namespace {

using till::Lang;

// A right-to-left section title is laid out from the right, isolated, the frame around it whole.
TEST(TillLabels, ARightToLeftSeparatorIsFlushRightAndAligned) {
  static const Style plain(false);
  for (int width : {24, 40, 78}) {
    Panel p(plain, width);
    p.separator(till::label(Lang::fa, till::Label::likely_today));
    p.separator(till::label(Lang::ar, till::Label::offer_many));
    p.separator("Likely today");
    expect_aligned(p.render(), width);
    const auto lines = lines_of(p.render());
    EXPECT_NE(lines[1].find("\u2069 ─┤"), std::string::npos) << lines[1];
    EXPECT_EQ(lines[1].rfind("├──", 0), 0u) << lines[1];
    EXPECT_EQ(lines[3].rfind("├─ Likely today ─", 0), 0u) << lines[3];
  }
}

TEST(TillLabels, CountsTakeTheLocalesDigitsAndPlural) {
  using till::Noun;
  EXPECT_EQ(till::count(Lang::en, 1, Noun::visit), "1 visit");
  EXPECT_EQ(till::count(Lang::en, 9, Noun::visit), "9 visits");
  // Persian: the noun stays singular after a number.
  EXPECT_EQ(till::count(Lang::fa, 1, Noun::visit), "۱ مراجعه");
  EXPECT_EQ(till::count(Lang::fa, 9, Noun::visit), "۹ مراجعه");
  EXPECT_EQ(till::count(Lang::fa, 120, Noun::visit), "۱۲۰ مراجعه");
  // Arabic: 1 and 2 in the noun's own form, 3–10 plural, 11–99 singular, 100 and more singular;
  // past 100 by the last two digits, as CLDR's rules say.
  EXPECT_EQ(till::count(Lang::ar, 0, Noun::visit), "لا زيارات");
  EXPECT_EQ(till::count(Lang::ar, 1, Noun::visit), "زيارة واحدة");
  EXPECT_EQ(till::count(Lang::ar, 2, Noun::visit), "زيارتان");
  EXPECT_EQ(till::count(Lang::ar, 3, Noun::visit), "٣ زيارات");
  EXPECT_EQ(till::count(Lang::ar, 10, Noun::visit), "١٠ زيارات");
  EXPECT_EQ(till::count(Lang::ar, 11, Noun::visit), "١١ زيارة");
  EXPECT_EQ(till::count(Lang::ar, 99, Noun::visit), "٩٩ زيارة");
  EXPECT_EQ(till::count(Lang::ar, 100, Noun::visit), "١٠٠ زيارة");
  EXPECT_EQ(till::count(Lang::ar, 102, Noun::visit), "١٠٢ زيارة");
  EXPECT_EQ(till::count(Lang::ar, 103, Noun::visit), "١٠٣ زيارات");
  EXPECT_EQ(till::count(Lang::ar, 111, Noun::visit), "١١١ زيارة");
}

TEST(TillLabels, DatesAndScoresTakeTheLocalesDigits) {
  EXPECT_EQ(till::digits(Lang::fa, "2026-12-06"), "۲۰۲۶-۱۲-۰۶");
  EXPECT_EQ(till::digits(Lang::ar, "2026-12-06"), "٢٠٢٦-١٢-٠٦");
  EXPECT_EQ(till::digits(Lang::en, "2026-12-06"), "2026-12-06");
  EXPECT_EQ(till::decimal(Lang::en, 0.934, 2), "0.93");
  EXPECT_EQ(till::decimal(Lang::fa, 0.934, 2), "۰٫۹۳");
  EXPECT_EQ(till::decimal(Lang::ar, 1.0, 2), "١٫٠٠");
}

TEST(TillLabels, OtherLocalesAreEnglishAndRegionsDoNotMatter) {
  EXPECT_EQ(till::lang_of("fa-IR-u-nu-arabext"), Lang::fa);
  EXPECT_EQ(till::lang_of("ar_EG"), Lang::ar);
  EXPECT_EQ(till::lang_of("de"), Lang::en);
  EXPECT_EQ(till::lang_of("far"), Lang::en);
  EXPECT_EQ(till::label(Lang::en, till::Label::not_recognised, {"card"}), "Not recognised — no history for this card.");
  EXPECT_EQ(till::kind_name(Lang::fa, "card"), "کارت");
  EXPECT_EQ(till::kind_name(Lang::fa, "loyalty_id"), "\u2068loyalty_id\u2069");
  EXPECT_EQ(till::status_name(Lang::ar, "accepted"), "تم القبول");
  EXPECT_EQ(till::isolate(Lang::en, "son"), "son");
}

}  // namespace
