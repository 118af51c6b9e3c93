// The phrasebook check (the build runs it on daemon/locales/texts): each kind of fault is named
// with its file, its key and the reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "locales/catalogue.hpp"

namespace regulars::daemon {
namespace {

const char* const kEnglish = R"({"dir": "ltr", "locale": "en",
  "greeting": "{name_given, select, yes {Hello, {name}!} other {Hello!}}",
  "soon": "{days, plural, one {Tomorrow.} other {In # days.}}"})";

std::vector<std::string> problems_with(const std::string& arabic) {
  std::vector<CatalogueProblem> problems;
  load_catalogues({{"en", kEnglish}, {"ar", arabic}}, problems);
  std::vector<std::string> out;
  for (const auto& p : problems) out.push_back(p.describe());
  return out;
}

const char* const kGoodGreeting = R"("greeting": "{name_given, select, yes {مرحبًا يا {name}!} other {مرحبًا!}}")";
const char* const kGoodSoon =
    R"("soon": "{days, plural, zero {اليوم} one {غدًا} two {بعد يومين} few {بعد # أيام} many {بعد # يومًا} other {بعد # يوم}}")";

std::string arabic(const std::string& greeting, const std::string& soon) {
  return std::string(R"({"dir": "rtl", "locale": "ar-u-nu-arab", )") + greeting + ", " + soon + "}";
}

TEST(CatalogueCheck, AGoodSetLoads) {
  std::vector<CatalogueProblem> problems;
  const auto loaded = load_catalogues({{"en", kEnglish}, {"ar", arabic(kGoodGreeting, kGoodSoon)}}, problems);
  EXPECT_TRUE(problems.empty()) << problems.front().describe();
  EXPECT_EQ(loaded.size(), 2u);
}

TEST(CatalogueCheck, ASyntaxErrorNamesFileKeyAndWhere) {
  const auto p = problems_with(arabic(R"("greeting": "{name_given, select, yes {مرحبًا {name}!} other {مرحبًا!}")", kGoodSoon));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("ar.json: greeting: not valid MessageFormat (U_", 0), 0u) << p[0];
}

TEST(CatalogueCheck, AMissingPluralCategoryIsRefused) {
  const auto p = problems_with(arabic(kGoodGreeting, R"("soon": "{days, plural, one {غدًا} other {بعد # يوم}}")"));
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], "ar.json: soon: {days, plural} lacks the plural category 'few'");
}

TEST(CatalogueCheck, APlaceholderNotUsedOrUnknownIsRefused) {
  const auto unused = problems_with(arabic(kGoodGreeting, R"("soon": "{days, plural, zero {a} one {b} two {c} few {d} many {e} other {f}}")"));
  EXPECT_TRUE(unused.empty()) << "a count used only to choose the form is used";
  const auto p = problems_with(arabic(R"("greeting": "{name_given, select, yes {مرحبًا!} other {مرحبًا!}}")", kGoodSoon));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "ar.json: greeting: placeholder {name} is not used");
  const auto unknown = problems_with(arabic(R"("greeting": "{name_given, select, yes {مرحبًا يا {name} {nick}} other {مرحبًا!}}")", kGoodSoon));
  ASSERT_FALSE(unknown.empty());
  EXPECT_EQ(unknown.back(), "ar.json: greeting: unknown placeholder {nick} (English has no such value)");
}

TEST(CatalogueCheck, ANameWithoutAFormForWhenItIsMissingIsRefused) {
  const auto p = problems_with(arabic(R"("greeting": "{name_given, select, yes {مرحبًا} other {مرحبًا}} يا {name}")", kGoodSoon));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("ar.json: greeting: {name} may be missing: use it only in the yes branch", 0), 0u) << p[0];
  std::vector<CatalogueProblem> problems;
  load_catalogues({{"en", R"({"dir": "ltr", "locale": "en", "hello": "Hello {name}"})"}}, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].describe(), "en.json: hello: {name} needs a form for when it is missing: {name_given, select, yes {…} other {…}}");
}

TEST(CatalogueCheck, AMissingKeyABadLocaleAndBadJsonAreRefused) {
  const auto missing = problems_with(arabic(kGoodGreeting, R"("later": "x")"));
  EXPECT_NE(std::find(missing.begin(), missing.end(), "ar.json: soon: missing (the English text would show)"), missing.end());
  EXPECT_NE(std::find(missing.begin(), missing.end(), "ar.json: later: not in en.json"), missing.end());
  const auto locale = problems_with(R"({"dir": "rtl", "locale": "", "greeting": "x"})");
  ASSERT_FALSE(locale.empty());
  EXPECT_EQ(locale[0].rfind("ar.json: locale: must be a BCP 47 tag", 0), 0u) << locale[0];
  const auto json = problems_with(R"({"dir": "rtl", )");
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0], "ar.json: not a JSON object (a syntax error, or not an object at the top)");
}

}  // namespace
}  // namespace regulars::daemon
