// The simulator's own words in a hints panel (the box), in the answer's language: English, Persian
// and Arabic from one table (labels.cpp), English for any other locale. Counts, dates and scores
// in the locale's digits, and the noun after a count in agreement with it. No ICU: the daemon
// formats its hints with ICU; the few words around them are simple enough for a table.
//
// Only the panel is translated. The till's command-line messages, prompts, the lines after a
// scan and the session summary are for the operator and stay English; so do the command words a
// label mentions (`consent`, `accept`), which the cashier types as they are: in Persian and
// Arabic they are isolated (U+2068 … U+2069) like the names and products around the hints.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace till {

enum class Lang { en, fa, ar };

// The language of a locale tag ("fa", "fa-IR", "ar_EG", "fa-IR-u-nu-arabext"); en for any other.
Lang lang_of(std::string_view locale);
// True for Persian and Arabic.
bool right_to_left(Lang lang);

enum class Label {
  known,              // known
  last_seen,          // last {0}
  consent,            // consent
  consent_not_asked,  // consent not asked yet
  remember,           // the consent purposes
  personalize,
  not_recognised,     // Not recognised — no history for this {0: kind}.
  first_visit,        // A first visit, or a new {0: kind}: offer to remember them (consent).
  no_consent,         // Known customer, no hints: no consent to personalise.
  ask_consent,        // Ask once if they would like personal service (consent personalize).
  not_in_basket,      // Not in today's basket yet: {0: names}
  likely_today,       // the predictions' section
  offer_one,          // Offer · accept, decline or redeem
  offer_many,         // Offers · accept, decline or redeem N
  item,               // item: {0}
  for_member,         // for {0}
  ask_feedback,       // Ask for feedback now: one tap on the customer display.
  count_              // (the number of labels)
};

// The label in `lang`, with {0}, {1}, ... replaced by `args` in order.
std::string label(Lang lang, Label which, std::initializer_list<std::string_view> args = {});

// How a customer was identified: "card", "کارت", "البطاقة"; a kind not in the table as it is
// (isolated in Persian and Arabic).
std::string kind_name(Lang lang, std::string_view kind);
// What became of an offer: "accepted", "پذیرفته شد", "تم القبول"; others as they are (isolated).
std::string status_name(Lang lang, std::string_view status);

// Nouns that follow a count.
enum class Noun { visit };
// "9 visits", "۹ مراجعه" (Persian keeps the noun singular after a number), "٩ زيارات" (Arabic:
// CLDR's categories, by n % 100 for 3–10 and 11–99; the number left out for one and two, which
// the noun's own form says: "زيارة واحدة", "زيارتان").
std::string count(Lang lang, long long n, Noun noun);

// ASCII digits in the locale's: ۰–۹ for Persian, ٠–٩ for Arabic; anything else unchanged.
std::string digits(Lang lang, std::string_view ascii);
// A whole number in the locale's digits.
std::string number(Lang lang, long long n);
// `value` with `places` decimals: "0.93", "۰٫۹۳", "٠٫٩٣" (U+066B ARABIC DECIMAL SEPARATOR).
std::string decimal(Lang lang, double value, int places);

// Outside text (a product, a household member) isolated (U+2068 … U+2069) in a right-to-left
// language, as the daemon does with the names in its hints; as it is in English.
std::string isolate(Lang lang, std::string_view text);
// Between the items of a list: ", " or the Arabic comma "، ".
std::string_view list_separator(Lang lang);

}  // namespace till
