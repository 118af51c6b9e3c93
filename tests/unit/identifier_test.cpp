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

TEST(ContainsCardNumber, OnlyRunsOfThirteenToNineteenDigitsCount) {
  const std::string d12 = with_luhn_digit("41111111111");         // 12 digits
  const std::string d13 = with_luhn_digit("411111111111");        // 13
  const std::string d19 = with_luhn_digit("411111111111111111");  // 19
  const std::string d20 = with_luhn_digit("4111111111111111111"); // 20
  ASSERT_EQ(d12.size(), 12u);
  ASSERT_EQ(d20.size(), 20u);
  EXPECT_FALSE(contains_card_number(d12));
  EXPECT_TRUE(contains_card_number(d13));
  EXPECT_TRUE(contains_card_number(d19));
  EXPECT_FALSE(contains_card_number(d20));
  EXPECT_FALSE(contains_card_number("id " + d20 + " end"));
}

TEST(ContainsCardNumber, SeparatorsMustBeSingleAndBetweenDigits) {
  // Two spaces, or a letter, end the run: the pieces are too short to be a card.
  EXPECT_FALSE(contains_card_number("4111  1111 1111 1111"));
  EXPECT_FALSE(contains_card_number("4111111x111111111"));
  EXPECT_FALSE(contains_card_number("4111/1111/1111/1111"));
  // A trailing separator does not hide a card that ends the text.
  EXPECT_TRUE(contains_card_number("4111-1111-1111-1111-"));
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
