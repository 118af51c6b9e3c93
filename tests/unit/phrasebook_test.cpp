// Every message, in every locale, rendered with every value present and absent, for each form of
// address and for counts that take different plural forms: no doubled space, no leftover brace,
// no space before punctuation, and in Persian and Arabic no Latin letter or digit outside the
// isolated names and products.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "locales/phrasebook.hpp"
#include "phrasebook_samples.hpp"

namespace regulars::daemon {
namespace {

using samples::book;
using samples::Kind;
using samples::phrase_for;
using samples::placeholder_kinds;

struct Case {
  std::string locale, key;
  MessageArgs args;
  Salutation salutation;
  std::string describe;
};

// Every combination of present and absent values among those the message can do without (it
// selects on x_given: a name, an item, a member, a cashier, a list of reasons), for one count.
std::vector<Case> cases_for(const std::string& locale, const std::string& key, const std::vector<std::string>& names, std::int64_t n) {
  std::vector<std::string> texts;
  for (const auto& name : names)
    if (std::find(names.begin(), names.end(), name + "_given") != names.end()) texts.push_back(name);
  std::vector<Case> out;
  for (unsigned mask = 0; mask < (1u << texts.size()); ++mask)
    for (Salutation s : {Salutation::unknown, Salutation::female, Salutation::male}) {
      Case c{locale, key, {}, s, locale + " " + key + " n=" + std::to_string(n) + " salutation=" + std::to_string(static_cast<int>(s))};
      for (const auto& name : names) {
        if (name == "salutation" || name.find("_given") != std::string::npos) continue;
        const auto at = std::find(texts.begin(), texts.end(), name);
        const bool present = at == texts.end() || (mask >> (at - texts.begin()) & 1u);
        c.describe += present ? " +" + name : " -" + name;
        switch (placeholder_kinds().at(name)) {
          case Kind::count: c.args.emplace_back(name, Number{n}); break;
          case Kind::outside: c.args.emplace_back(name, Outside{present ? "Leila Ahmadi" : ""}); break;
          case Kind::phrase: c.args.emplace_back(name, present ? phrase_for(locale, name, n) : std::string()); break;
        }
      }
      out.push_back(std::move(c));
    }
  return out;
}

// Text outside the bidi-isolated runs (U+2068 ... U+2069): the phrasebook's own words.
std::string own_words(const std::string& s) {
  static const std::regex isolated("\u2068[^\u2069]*\u2069");
  return std::regex_replace(s, isolated, "");
}

void expect_clean(const Case& c, const std::string& out) {
  EXPECT_NE(out, c.key) << c.describe << ": not rendered";
  EXPECT_EQ(out.find_first_of("{}"), std::string::npos) << c.describe << ": " << out;
  EXPECT_EQ(out.find("  "), std::string::npos) << c.describe << ": doubled space in " << out;
  for (const char* gap : {" .", " ,", " !", " ?", " :", " ؛", " ،", " ؟", "( ", " )"})
    EXPECT_EQ(out.find(gap), std::string::npos) << c.describe << ": '" << gap << "' in " << out;
  EXPECT_TRUE(!out.empty() && out.front() != ' ' && out.back() != ' ') << c.describe << ": " << out;
  if (c.locale == "en") return;
  static const std::regex latin("[A-Za-z0-9]");
  EXPECT_FALSE(std::regex_search(own_words(out), latin)) << c.describe << ": Latin letters or digits in " << out;
}

TEST(Phrasebook, EveryMessageInEveryLocaleWithEveryValuePresentAndAbsent) {
  int rendered = 0;
  for (const auto& locale : book().locales())
    for (const auto& [key, names] : book().keys())
      for (std::int64_t n : {1, 2, 3, 11, 100})
        for (const auto& c : cases_for(locale, key, names, n)) {
          expect_clean(c, book().text(c.locale, c.key, c.args, c.salutation));
          ++rendered;
        }
  EXPECT_GT(rendered, 3 * 50 * 5 * 3);  // every locale and key was reached
}

TEST(Phrasebook, CountsTakeTheirPluralForms) {
  EXPECT_EQ(book().text("en", "birthday.soon", {{"days", Number{1}}}), "Birthday tomorrow.");
  EXPECT_EQ(book().text("en", "birthday.soon", {{"days", Number{3}}}), "Birthday in 3 days.");
  // Arabic: two is a form of its own, 3-10 a plural, 11-99 a singular, 100 another form.
  EXPECT_EQ(book().text("ar", "since", {{"days", Number{2}}}), "منذ يومين");
  EXPECT_EQ(book().text("ar", "since", {{"days", Number{3}}}), "منذ ٣ أيام");
  EXPECT_EQ(book().text("ar", "since", {{"days", Number{11}}}), "منذ ١١ يومًا");
  EXPECT_EQ(book().text("ar", "since", {{"days", Number{100}}}), "منذ ١٠٠ يوم");
  EXPECT_EQ(book().text("fa", "since", {{"days", Number{11}}}), "۱۱ روز پیش");
}

// Texts are kept once formatted (most answers repeat the same few): asked again, in any order,
// each comes back as it was first written, never as another's.
TEST(Phrasebook, ATextAskedAgainIsTheSameAndNeverAnothersWhateverTheOrder) {
  const auto personal = [](std::int64_t baskets, std::int64_t visits, const char* locale = "en") {
    return book().text(locale, "prediction.reason.personal", {{"baskets", Number{baskets}}, {"visits", Number{visits}}});
  };
  EXPECT_EQ(personal(3, 5), "bought on 3 of 5 visits");
  EXPECT_EQ(personal(5, 3), "bought on 5 of 3 visits");
  EXPECT_EQ(personal(3, 5), "bought on 3 of 5 visits");
  EXPECT_EQ(personal(1, 1), "bought on 1 of 1 visit");
  EXPECT_NE(personal(3, 5, "fa"), personal(3, 5));
  EXPECT_EQ(personal(3, 5, "fa"), personal(3, 5, "fa"));
  // A name is formatted each time, and the same sentence with another name says that name.
  const auto greeting = [](const char* name) {
    return book().text("en", "greeting.returning", {{"name", Outside{name}}, {"visits", Number{4}}, {"since", "2 days ago"}});
  };
  EXPECT_NE(greeting("Ana").find("Ana"), std::string::npos);
  EXPECT_NE(greeting("Bo").find("Bo"), std::string::npos);
  EXPECT_EQ(greeting("Bo").find("Ana"), std::string::npos);
  // Far more texts than are kept: the early ones are still right after the memo empties.
  for (std::int64_t i = 1; i <= 5000; ++i) ASSERT_EQ(personal(i, i + 1), "bought on " + book().number("en", i) + " of " + book().number("en", i + 1) + " visits");
  EXPECT_EQ(personal(3, 5), "bought on 3 of 5 visits");
}

TEST(Phrasebook, DatesAreInTheLocalesCalendarAndDigits) {
  // Noon UTC: the same day in any time zone the test runs in. The last day of the Persian year
  // 1404; Nowruz is the next day.
  const std::int64_t eve_of_nowruz = 1'774'008'000'000;  // 2026-03-20T12:00:00Z
  EXPECT_EQ(book().date("en", eve_of_nowruz), "Mar 20, 2026");
  EXPECT_EQ(book().date("fa", eve_of_nowruz), "۲۹ اسفند ۱۴۰۴");
  EXPECT_EQ(book().date("ar", eve_of_nowruz), "٢٠ مارس ٢٠٢٦");
}

TEST(Phrasebook, MoneyInTheLocalesDigitsWithTheShopsCurrency) {
  EXPECT_EQ(book().money("en", 250), "2.50");
  EXPECT_EQ(book().money("fa", 250), "۲٫۵۰");
  EXPECT_EQ(book().money("en", 250, "EUR"), "€2.50");
  EXPECT_EQ(book().money("en", 250, "JPY"), "¥250");  // yen have no minor unit
  EXPECT_NE(book().money("ar", 250, "EUR").find("٢٫٥٠"), std::string::npos) << book().money("ar", 250, "EUR");
}

TEST(Phrasebook, NamesAndItemsAreIsolatedInRightToLeftText) {
  EXPECT_EQ(book().text("fa", "note.text", {{"text", Outside{"Paper bag"}}}), "یادداشت: \u2068Paper bag\u2069");
  EXPECT_EQ(book().text("en", "note.text", {{"text", Outside{"Paper bag"}}}), "Note: Paper bag");
}

}  // namespace
}  // namespace regulars::daemon
