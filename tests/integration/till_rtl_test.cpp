// The till simulator (sdk/examples/till) against a real regularsd, in Persian and Arabic: the
// hints panel of a known customer is a box whose every line takes the same number of columns on
// a terminal (counted by glibc's wcwidth in C.UTF-8, not by the simulator), whose right-to-left
// rows end at the right border, and whose isolates are whole on every line. The simulator runs
// under LANG=C, as nothing in it may depend on the user's locale.
#include <locale.h>

#include <cwchar>
#include <fstream>
#include <sstream>

#include "fixture.hpp"
#include "terminal_width.hpp"

namespace regulars::test {
namespace {

// The lines of every box (from "╭" to "╰") in the till's output, one after the other.
std::vector<std::string> all_boxes(const std::string& output) {
  std::vector<std::string> lines;
  bool in_box = false;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("╭", 0) == 0) in_box = true;
    if (in_box) lines.push_back(line);
    if (line.rfind("╰", 0) == 0) in_box = false;
  }
  return lines;
}

// What of a panel's line the cashier reads, in the panel's language: the line without
//  - the runs in FIRST-STRONG ISOLATEs (U+2068 … U+2069, nested isolates with them): text from
//    outside that no translation touches — names, products and household members (the daemon's
//    and the simulator's alike) and the command words a label mentions (⁨accept⁩), which the
//    cashier types as they are;
//  - on the top border, the operator's frame title, exactly: "Regulars · card ••••NNNN" (the lane's
//    customer as the operator's `customer` command gave it) and "regulars_hints N µs" (the
//    plugin call's latency). Nothing else of the frame is excepted.
// The right-to-left isolates of rows and labels (U+2067 … U+2069) stay: their text is checked.
std::string cashiers_text(std::string line) {
  if (line.rfind("╭", 0) == 0) {
    const std::string title = "╭─ Regulars · card ••••";
    const std::string timing = " regulars_hints ";
    const std::size_t end_of_title = title.size() + 4;  // the card's last four digits
    const std::size_t at = line.find(timing);
    const std::size_t micros = line.find(" µs ─╮");
    if (line.rfind(title, 0) != 0 || line.size() <= end_of_title ||
        line.find_first_not_of("0123456789", title.size()) != end_of_title || line[end_of_title] != ' ' ||
        at == std::string::npos || micros == std::string::npos ||
        line.find_first_not_of("0123456789", at + timing.size()) != micros) {
      ADD_FAILURE() << "not the frame's top border: " << line;
      return line;
    }
    line = "╭─" + line.substr(end_of_title, at - end_of_title) + line.substr(micros + std::string(" µs").size());
  }
  std::string out;
  int depth = 0;  // isolates open inside a first-strong isolate
  for (std::size_t i = 0; i < line.size();) {
    const bool fsi = line.compare(i, 3, "\u2068") == 0;
    const bool initiator = fsi || line.compare(i, 3, "\u2066") == 0 || line.compare(i, 3, "\u2067") == 0;
    const bool pdi = line.compare(i, 3, "\u2069") == 0;
    if (depth > 0) {
      depth += initiator ? 1 : pdi ? -1 : 0;
    } else if (fsi) {
      depth = 1;
    } else {
      out += line[i];
      i += 1;
      continue;
    }
    i += initiator || pdi ? 3 : 1;
  }
  return out;
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
  // Consent and `visits` purchases of oat milk and crisps (the crisps for the son, in the
  // category "chips" that the gesture rule of the labels test looks for).
  void seed(const std::string& card_value, int visits = 4, bool personalize = true, bool chips_for_son = false) {
    regulars_client* c = open_client(2000);
    ASSERT_EQ(plugin_.record(c, consent(card_value, personalize).c_str()), REGULARS_OK) << plugin_.last_error();
    for (int visit = 0; visit < visits; ++visit) {
      json lines = {{{"sku", "oat-milk"}, {"name", "Oat milk 1 l"}, {"qty", 1}, {"unit_price", 195}},
                    {{"sku", "crisps-sv"}, {"name", "Salt & vinegar crisps"}, {"qty", 1}, {"unit_price", 125}}};
      if (chips_for_son) lines[1].update({{"category", "chips"}, {"for", "son"}});
      const json e = {{"type", "purchase"}, {"customer", {{"kind", "card"}, {"value", card_value}}}, {"lines", lines}};
      ASSERT_EQ(plugin_.record(c, e.dump().c_str()), REGULARS_OK) << plugin_.last_error();
    }
  }

  // The till's output for one `customer` command, in `locale`.
  std::string till_output(const std::string& card_value, const std::string& locale) {
    return till_script("customer card " + card_value + "\n", locale);
  }

  // The till's output for a script, in `locale`.
  std::string till_script(const std::string& commands, const std::string& locale) {
    const std::string script = dir_.sub("rtl.till");
    std::ofstream(script) << commands;
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

// The simulator's own words in a Persian or an Arabic panel: every panel the cashier sees in a
// visit (known, with hints, predictions and an offer; with the basket filling; the offer
// accepted), a customer not recognised and one who gave no consent to personalise. No ASCII
// letter or digit outside the isolated names and the operator's frame title (cashiers_text),
// and the words, counts and plurals of the table (sdk/examples/till/labels.cpp) are there.
class TillLabels : public TillRightToLeft {
 protected:
  void run(const std::string& locale, const std::vector<std::string>& expected) {
    std::string out;
    ASSERT_EQ(ctl("gestures add " + rule_file(), out), 0) << out;
    seed("4000456", 4, true, true);
    seed("4000789", 3, false);
    const std::string output = till_script(
        "customer card 4000456\n"          // known: facts, hints, predictions, the offer
        "scan bread 1 250 Bread\n"         // the usual items not in the basket yet
        "hints\n"
        "accept 1\n"                       // the offer's new status
        "hints\n"
        "cancel\n"
        "customer card 4000123\n"          // not recognised
        "cancel\n"
        "customer card 4000789\n",         // known, no consent to personalise
        locale);
    const auto lines = all_boxes(output);
    ASSERT_GE(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("╰", 0) == 0; }), 5)
        << "five panels expected:\n" << output;
    std::string panels;
    for (const auto& line : lines) {
      const std::string text = cashiers_text(line);
      const auto latin = std::find_if(text.begin(), text.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
      });
      EXPECT_EQ(latin, text.end()) << "an ASCII letter or digit outside the isolates and the frame title: " << line
                                   << "\n" << output;
      panels += line + "\n";
    }
    for (const auto& words : expected)
      EXPECT_NE(panels.find(words), std::string::npos) << "no \"" << words << "\" in the panels:\n" << output;
  }

  std::string rule_file() {
    const std::string file = dir_.sub("rule-chips.json");
    std::ofstream(file) << R"({"id": "chips-for-the-kids", "name": "Free chips for the child",
      "when": {"all": [{"bought": {"category": "chips", "member": "any"}}, {"not": {"in_basket": {"category": "chips"}}}]},
      "gesture": {"kind": "free_item", "favourite": {"category": "chips", "member": "any"}, "value": 150}})";
    return file;
  }
};

TEST_F(TillLabels, APersianPanelIsInPersianOutsideNamesAndTheFrameTitle) {
  run("fa", {"مشتری آشنا · ۴ مراجعه · آخرین بار ۲", "رضایت به\u200Cخاطرسپاری ✓", "شخصی\u200Cسازی ✓",
             "احتمالاً امروز", "۱٫۰۰", "کالا: \u2068Salt & vinegar crisps\u2069 · برای \u2068son\u2069",
             "هنوز در سبد امروز نیست: ", "پذیرفته شد", "ناشناس — سابقه\u200Cای با این کارت نیست.",
             "مشتری آشنا · ۳ مراجعه", "رضایتی برای شخصی\u200Cسازی نیست."});
}

TEST_F(TillLabels, AnArabicPanelIsInArabicOutsideNamesAndTheFrameTitle) {
  // Four visits take the form for 3–10, three as well.
  run("ar", {"عميل معروف · ٤ زيارات · آخر زيارة ٢", "الموافقة الحفظ ✓ التخصيص ✓", "المرجّح اليوم", "١٫٠٠",
             "الصنف: \u2068Salt & vinegar crisps\u2069 · لصالح \u2068son\u2069", "خارج سلة اليوم حتى الآن: ",
             "تم القبول", "غير معروف — لا سجل لهذا المعرّف (البطاقة).", "عميل معروف · ٣ زيارات",
             "لا موافقة على التخصيص."});
}

}  // namespace
}  // namespace regulars::test
