// The texts hints and gestures are phrased in, one phrasebook per locale. The phrasebooks are data
// files (daemon/locales/texts/*.json) of ICU MessageFormat patterns, checked when the daemon is
// built (check_catalogues) and compiled into it. (The products a shop sells are its catalogue;
// these are only messages.)
//
// What a message is given:
// - Number: a count. Plural forms are chosen by it, and it is written in the locale's digits.
// - Outside: text from outside the phrasebook (a name, a product, a note). It is bidi-isolated in
//   right-to-left locales.
// - a phrase: words already in the locale (another message, a date), used as they are.
// Text of either kind may be missing (empty): with every text value x a message also gets
// x_given = "yes" or "no", to choose the form that does without it.
// Every message also gets `salutation` ("female", "male" or "other"): the customer's form of
// address when they gave one, for languages whose verbs and adjectives agree with it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regulars::daemon {

struct Number {
  std::int64_t value = 0;
};
struct Outside {
  std::string text;
};

class MessageArg {
 public:
  enum class Kind { number, outside, phrase };
  MessageArg(Number n) : kind_(Kind::number), number_(n.value) {}            // NOLINT: implicit on purpose
  MessageArg(Outside t) : kind_(Kind::outside), text_(std::move(t.text)) {}  // NOLINT
  MessageArg(std::string phrase) : kind_(Kind::phrase), text_(std::move(phrase)) {}  // NOLINT
  MessageArg(const char* phrase) : kind_(Kind::phrase), text_(phrase) {}     // NOLINT
  Kind kind() const noexcept { return kind_; }
  std::int64_t number() const noexcept { return number_; }
  const std::string& text() const noexcept { return text_; }

 private:
  Kind kind_;
  std::int64_t number_ = 0;
  std::string text_;
};
using MessageArgs = std::vector<std::pair<std::string, MessageArg>>;

// The customer's form of address, for messages that agree with it.
enum class Salutation { unknown, female, male };
Salutation salutation_from(std::string_view preference);  // "female"/"f"/"male"/"m"/... else unknown

struct Catalogue;  // one locale's compiled messages (phrasebook.cpp)

class Phrasebook {
 public:
  // Loads the built-in phrasebooks. Throws if one of them is malformed (a build defect: the
  // build's own check refuses such a file first).
  static const Phrasebook& builtin();
  ~Phrasebook();
  Phrasebook(Phrasebook&&) noexcept;

  // The locale actually served for a requested tag ("fa-IR" -> "fa"; unknown -> "en").
  std::string resolve(std::string_view requested) const;
  // The message `key` in `locale` (English when the locale lacks it), with its placeholders
  // filled from `args`. An unknown key comes back as the key itself.
  std::string text(const std::string& locale, const std::string& key, const MessageArgs& args = {},
                   Salutation salutation = Salutation::unknown) const;
  std::string direction(const std::string& locale) const;

  // A number in the locale's digits and grouping (Persian ۰–۹, Arabic-Indic ٠–٩, or Latin).
  std::string number(const std::string& locale, std::int64_t n) const;
  // An amount of money in minor units (cents), in the locale's digits: with the currency's symbol
  // and decimals when `currency` (ISO 4217) is given, else with two decimals.
  std::string money(const std::string& locale, std::int64_t minor, const std::string& currency = {}) const;
  // Text from outside the phrasebook as a bidi-isolated run in right-to-left locales
  // (U+2068 … U+2069), so Latin product names cannot scramble the sentence around them.
  std::string isolate(const std::string& locale, const std::string& text) const;
  // A day in the daemon's time zone, in the locale's calendar (Persian: Solar Hijri) and digits.
  std::string date(const std::string& locale, std::int64_t unix_ms) const;
  // "a, b and c" in the locale's words, each part isolated.
  std::string list(const std::string& locale, const std::vector<std::string>& parts) const;

  // The locales served, and every message key with the placeholders its English text uses (for
  // the tests that render them all).
  std::vector<std::string> locales() const;
  std::map<std::string, std::vector<std::string>> keys() const;

 private:
  Phrasebook() = default;
  const Catalogue& catalogue(const std::string& locale) const;
  std::string format_message(const std::string& locale, const std::string& key, const MessageArgs& args, Salutation salutation) const;
  std::map<std::string, std::unique_ptr<Catalogue>> catalogues_;
};

}  // namespace regulars::daemon
