// The till simulator (sdk/examples/till) against a real regularsd, in Persian and Arabic: the
// hints panel of a known customer is a box whose every line takes the same number of columns on
// a terminal (counted by glibc's wcwidth in C.UTF-8, not by the simulator), whose right-to-left
// rows end at the right border, and whose isolates are whole on every line. The simulator runs
// under LANG=C, as nothing in it may depend on the user's locale.
#include <locale.h>

#include <cwchar>
#include <fstream>

#include "fixture.hpp"

namespace regulars::test {
namespace {

int terminal_width(const std::string& s) {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  const locale_t before = uselocale(utf8);
  std::mbstate_t state{};
  int width = 0;
  for (std::size_t i = 0; i < s.size();) {
    wchar_t wc = 0;
    const std::size_t n = std::mbrtowc(&wc, s.data() + i, s.size() - i, &state);
    const int w = (n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2)) ? -1 : ::wcwidth(wc);
    if (w < 0) {
      width = -1;
      break;
    }
    width += w;
    i += n;
  }
  uselocale(before);
  return width;
}

// The lines of the first box (from "╭" to "╰") in the till's output.
std::vector<std::string> first_box(const std::string& output) {
  std::vector<std::string> box;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (box.empty() && line.rfind("╭", 0) != 0) continue;
    box.push_back(line);
    if (line.rfind("╰", 0) == 0) break;
  }
  return box;
}

class TillRightToLeft : public DaemonTest {
 protected:
  void seed(const std::string& card_value) {
    regulars_client* c = open_client(2000);
    ASSERT_EQ(plugin_.record(c, consent(card_value).c_str()), REGULARS_OK) << plugin_.last_error();
    for (int visit = 0; visit < 4; ++visit) {
      json lines = {{{"sku", "oat-milk"}, {"name", "Oat milk 1 l"}, {"qty", 1}, {"unit_price", 195}},
                    {{"sku", "crisps-sv"}, {"name", "Salt & vinegar crisps"}, {"qty", 1}, {"unit_price", 125}}};
      const json e = {{"type", "purchase"}, {"customer", {{"kind", "card"}, {"value", card_value}}}, {"lines", lines}};
      ASSERT_EQ(plugin_.record(c, e.dump().c_str()), REGULARS_OK) << plugin_.last_error();
    }
  }

  // The till's output for one `customer` command, in `locale`.
  std::string till_output(const std::string& card_value, const std::string& locale) {
    const std::string script = dir_.sub("rtl.till");
    std::ofstream(script) << "customer card " << card_value << "\n";
    std::string out;
    const int rc = run_command("env LANG=C LC_ALL=C " + std::string(REGULARS_TILL_PATH) + " --endpoint " +
                                   daemon_->endpoint() + " --budget-ms 2000 --color never --locale " + locale +
                                   " --script " + script,
                               out);
    EXPECT_EQ(rc, 0) << out;
    return out;
  }

  void expect_aligned_box(const std::string& out, const std::string& rtl_word) {
    const auto box = first_box(out);
    ASSERT_GE(box.size(), 3u) << "no hints panel in the till's output:\n" << out;
    ASSERT_NE(out.find(rtl_word), std::string::npos) << "the panel holds no right-to-left hint:\n" << out;
    const int width = terminal_width(box.front());
    for (const auto& line : box) {
      EXPECT_EQ(terminal_width(line), width) << "a line of the box is not " << width << " columns:\n" << out;
      // A right-to-left row: "│", padding, then the row's RLI (an LTR row may isolate a piece later on).
      const std::size_t text_at = line.rfind("│", 0) == 0 ? line.find_first_not_of(' ', 3) : std::string::npos;
      const bool rtl_row = text_at != std::string::npos && line.compare(text_at, 3, "\u2067") == 0;
      // "…text⁩ │": the text of a right-to-left row ends at the right border.
      if (rtl_row) {
        EXPECT_NE(line.find("\u2069 │"), std::string::npos) << "not flush right: " << line << "\n" << out;
      }
      if (line.find(rtl_word) != std::string::npos) {
        EXPECT_TRUE(rtl_row) << "the right-to-left hint is not laid out from the right: " << line << "\n" << out;
      }
    }
  }
};

TEST_F(TillRightToLeft, APersianCustomersPanelIsABoxWithAlignedBorders) {
  seed("4000456");
  expect_aligned_box(till_output("4000456", "fa"), "می\u200Cخرد");  // "buys", with its ZWNJ
}

TEST_F(TillRightToLeft, AnArabicCustomersPanelIsABoxWithAlignedBorders) {
  seed("4000456");
  expect_aligned_box(till_output("4000456", "ar"), "المعتادة");  // "usual" (neutral: no salutation given)
}

}  // namespace
}  // namespace regulars::test
