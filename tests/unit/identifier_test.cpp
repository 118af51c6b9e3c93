// Identifiers: the card-number detector (Luhn over 13-19 digit runs) and normalisation.
#include <gtest/gtest.h>

#include <string>

#include "wire/validate.hpp"

namespace {

using regulars::wire::contains_card_number;
using regulars::wire::is_identifier_kind;
using regulars::wire::normalize_identifier;

// Appends the Luhn check digit to `body`, so every run the tests build passes the checksum and
// only its length decides the outcome.
std::string with_luhn_digit(const std::string& body) {
  int sum = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    int d = body[body.size() - 1 - i] - '0';
    if (i % 2 == 0) {  // doubled once the check digit is appended
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + static_cast<char>('0' + (10 - sum % 10) % 10);
}

TEST(LuhnHelper, MatchesAKnownCardNumber) { EXPECT_EQ(with_luhn_digit("411111111111111"), "4111111111111111"); }

TEST(ContainsCardNumber, TestCardNumbersInCommonShapes) {
  EXPECT_TRUE(contains_card_number("4111111111111111"));
  EXPECT_TRUE(contains_card_number("4111 1111 1111 1111"));
  EXPECT_TRUE(contains_card_number("4111-1111-1111-1111"));
  EXPECT_TRUE(contains_card_number("paid with 4111 1111 1111 1111 today"));
  EXPECT_TRUE(contains_card_number("card:5500005555555559."));  // Mastercard test number
  EXPECT_TRUE(contains_card_number("378282246310005"));         // Amex, 15 digits
}

TEST(ContainsCardNumber, FailingLuhnIsNotACard) {
  EXPECT_FALSE(contains_card_number("4111111111111112"));
  EXPECT_FALSE(contains_card_number("4111 1111 1111 1112"));
}

TEST(ContainsCardNumber, OnlyThirteenToNineteenDigitsCount) {
  const std::string d12 = with_luhn_digit("41111111111");         // 12 digits
  const std::string d13 = with_luhn_digit("411111111111");        // 13
  const std::string d19 = with_luhn_digit("411111111111111111");  // 19
  ASSERT_EQ(d12.size(), 12u);
  EXPECT_FALSE(contains_card_number(d12));
  EXPECT_TRUE(contains_card_number(d13));
  EXPECT_TRUE(contains_card_number(d19));
}

// Issue 19, item 8: each of these forms of 4111 1111 1111 1111 was stored raw.
TEST(ContainsCardNumber, ADigitBeforeTheNumberDoesNotHideIt) {
  EXPECT_TRUE(contains_card_number("ref 7 4111 1111 1111 1111"));
  EXPECT_TRUE(contains_card_number("ref 7-4111-1111-1111-1111"));
  EXPECT_TRUE(contains_card_number("ref 74 4111.1111.1111.1111"));
  EXPECT_TRUE(contains_card_number("4111 1111 1111 1111 2"));
  EXPECT_TRUE(contains_card_number("table 12 4111 1111 1111 1111 thanks"));
}

TEST(ContainsCardNumber, DigitsOfOtherScriptsAreDigits) {
  EXPECT_TRUE(contains_card_number("\u06F4\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1 "
                                   "\u06F1\u06F1\u06F1\u06F1"));  // Persian
  EXPECT_TRUE(contains_card_number("\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661"
                                   "\u0661\u0661\u0661\u0661"));  // Arabic-Indic
  EXPECT_TRUE(contains_card_number("\uFF14\uFF11\uFF11\uFF11\u3000\uFF11\uFF11\uFF11\uFF11\u3000\uFF11\uFF11\uFF11"
                                   "\uFF11\u3000\uFF11\uFF11\uFF11\uFF11"));  // full-width, ideographic spaces
  EXPECT_TRUE(contains_card_number("\u0967\u0966 \u096A111 1111 1111 1111"));   // Devanagari prefix, ASCII card
  EXPECT_TRUE(contains_card_number("4111 \u06F1\u06F1\u06F1\u06F1 \uFF11\uFF11\uFF11\uFF11 1111"));  // mixed
  EXPECT_TRUE(contains_card_number("\U0001D7D2\U0001D7CF\U0001D7CF\U0001D7CF\U0001D7CF\U0001D7CF\U0001D7CF"
                                   "\U0001D7CF\U0001D7CF\U0001D7CF\U0001D7CF\U0001D7CF\U0001D7CF\U0001D7CF"
                                   "\U0001D7CF\U0001D7CF"));  // mathematical bold digits, outside the BMP
  EXPECT_FALSE(contains_card_number("\u06F4\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1 "
                                    "\u06F1\u06F1\u06F1\u06F2"));  // fails Luhn
}

TEST(ContainsCardNumber, AnyRunOfSeparatorsKeepsTheNumberTogether) {
  EXPECT_TRUE(contains_card_number("4111.1111.1111.1111"));
  EXPECT_TRUE(contains_card_number("4111/1111/1111/1111"));
  EXPECT_TRUE(contains_card_number("4111  1111   1111 1111"));
  EXPECT_TRUE(contains_card_number("4111 - 1111 - 1111 - 1111"));
  EXPECT_TRUE(contains_card_number("4111\u00A01111\u00A01111\u00A01111"));          // no-break spaces
  EXPECT_TRUE(contains_card_number("4111\u202F1111\u20091111\u20131111"));          // narrow, thin space, en dash
  EXPECT_TRUE(contains_card_number("4111\u200B1111\u00AD1111\uFEFF1111"));          // invisible characters
  EXPECT_TRUE(contains_card_number("4\uFE0F\u20E3111111111111111"));                  // a keycap 4
  EXPECT_TRUE(contains_card_number("4111\uFF0E1111\uFF0F1111\uFF0D1111"));  // full-width dot, slash, hyphen
  // A letter still ends the run: the pieces are too short to be a card.
  EXPECT_FALSE(contains_card_number("4111111x111111111"));
  // A trailing separator does not hide a card that ends the text.
  EXPECT_TRUE(contains_card_number("4111-1111-1111-1111-"));
}

// Free text is scanned harder than identifiers, but ordinary numbers in a note stay allowed.
TEST(ContainsCardNumber, DatesPhonesAndAmountsAreNotCards) {
  EXPECT_FALSE(contains_card_number("away 12.05.2026 - 19.05.2026"));
  EXPECT_FALSE(contains_card_number("call 0912 345 6789 after 5"));
  EXPECT_FALSE(contains_card_number("owes 1.250,00 since 03/11/2026"));
  EXPECT_FALSE(contains_card_number("\u06F0\u06F9\u06F1\u06F2 \u06F3\u06F4\u06F5 \u06F6\u06F7\u06F8\u06F9"));  // a Persian phone
}

// Digits glued to a card with no separator make one number, judged whole: in most numbers of
// 16 digits or more some 13 to 19 of them pass Luhn, and long reference numbers are common.
TEST(ContainsCardNumber, GluedDigitsMakeOneNumber) {
  const std::string d20 = with_luhn_digit("4111111111111111111");  // 20 digits, 4111111111111111 inside
  ASSERT_EQ(d20.size(), 20u);
  EXPECT_FALSE(contains_card_number(d20));
  EXPECT_FALSE(contains_card_number("id " + d20 + " end"));
}

// An identifier is judged as a whole run: a loyalty number written in groups is not refused
// because some of its groups pass Luhn.
TEST(ContainsCardNumber, IdentifiersAreJudgedByTheWholeRun) {
  using regulars::wire::CardScan;
  EXPECT_FALSE(contains_card_number("7 4111 1111 1111 1111", CardScan::whole_runs));
  EXPECT_TRUE(contains_card_number("7 4111 1111 1111 1111"));
  EXPECT_TRUE(contains_card_number("4111 1111 1111 1111", CardScan::whole_runs));
  EXPECT_TRUE(contains_card_number("\uFF14\uFF11\uFF11\uFF11.1111.1111.1111", CardScan::whole_runs));
  EXPECT_FALSE(contains_card_number("6280231400098877", CardScan::whole_runs));
}

TEST(ContainsCardNumber, NothingToFind) {
  EXPECT_FALSE(contains_card_number(""));
  EXPECT_FALSE(contains_card_number("Oat milk"));
  EXPECT_FALSE(contains_card_number("4000123"));
  EXPECT_FALSE(contains_card_number("0000"));
}

TEST(NormalizeIdentifier, PhoneKeepsDigitsAndALeadingPlus) {
  EXPECT_EQ(normalize_identifier("phone", "+98 912 123-4567"), "+989121234567");
  EXPECT_EQ(normalize_identifier("phone", " 0912 (123) 45 67 "), "09121234567");
  EXPECT_EQ(normalize_identifier("phone", "98+912"), "98912");
  EXPECT_EQ(normalize_identifier("phone", "call me"), "");
}

TEST(NormalizeIdentifier, EmailIsTrimmedAndLowerCased) {
  EXPECT_EQ(normalize_identifier("email", "  Sara.K@Example.COM \t"), "sara.k@example.com");
  EXPECT_EQ(normalize_identifier("email", "sara@example.com"), "sara@example.com");
}

TEST(NormalizeIdentifier, OtherKindsAreOnlyTrimmed) {
  EXPECT_EQ(normalize_identifier("card", "\t ABC-123 x "), "ABC-123 x");
  EXPECT_EQ(normalize_identifier("app", "QR:Abc"), "QR:Abc");
  EXPECT_EQ(normalize_identifier("payment_token", " tok_AbC "), "tok_AbC");
}

TEST(IdentifierKind, KnownKinds) {
  for (const char* k : {"card", "phone", "email", "app", "payment_token"}) EXPECT_TRUE(is_identifier_kind(k)) << k;
  for (const char* k : {"", "Card", "name", "pan"}) EXPECT_FALSE(is_identifier_kind(k)) << k;
}

}  // namespace
