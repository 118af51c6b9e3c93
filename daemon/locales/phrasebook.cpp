#include "locales/phrasebook.hpp"

#include <cmath>
#include <stdexcept>
#include <unordered_map>

#include <unicode/datefmt.h>
#include <unicode/listformatter.h>
#include <unicode/numberformatter.h>
#include <unicode/ucurr.h>

#include "locales/catalogue.hpp"
#include "locales/embedded_texts.hpp"

namespace regulars::daemon {

namespace {

const char* salutation_keyword(Salutation s) {
  switch (s) {
    case Salutation::female: return "female";
    case Salutation::male: return "male";
    default: return "other";
  }
}

// ICU's formatters keep per-call state behind const methods (a lazily made number format, a
// calendar), so each thread formats with its own copies, made once, found by the address of
// what they copy (a message's master; a catalogue for its date and list formats: one map per
// kind of formatter).
template <class T, class Make>
T& per_thread(const void* original, Make make) {
  thread_local std::unordered_map<const void*, std::unique_ptr<T>> copies;
  auto& slot = copies[original];
  if (!slot) slot = make();
  return *slot;
}

// Texts this thread formatted before, for messages filled from numbers, dates and other messages
// only: the same few sentences come up answer after answer ("bought 3 times in 5 visits"), and
// ICU takes microseconds to format each. A text with anything from outside the phrasebook (a
// name, a note, a product) is never kept, so no customer's words outlive the answer they were
// written for. Bounded: emptied when full.
class TextMemo {
 public:
  static constexpr std::size_t kMaxTexts = 4096;
  const std::string* find(const std::string& key) const {
    const auto it = texts_.find(key);
    return it == texts_.end() ? nullptr : &it->second;
  }
  void keep(std::string key, const std::string& text) {
    if (texts_.size() >= kMaxTexts) texts_.clear();
    texts_.emplace(std::move(key), text);
  }

 private:
  std::unordered_map<std::string, std::string> texts_;
};

// What a text is made from, as the memo's key; empty when an argument comes from outside.
std::string memo_key(const std::string& locale, const std::string& key, const MessageArgs& args, const char* salutation) {
  std::string out = locale;
  out += '\x1f';
  out += key;
  for (const auto& [name, arg] : args) {
    if (arg.kind() == MessageArg::Kind::outside) return {};
    out += '\x1f';
    out += name;
    out += arg.kind() == MessageArg::Kind::number ? '#' : '=';
    out += arg.kind() == MessageArg::Kind::number ? std::to_string(arg.number()) : arg.text();
  }
  out += '\x1f';
  out += salutation;
  return out;
}

// Placeholder names are ASCII: no UTF-8 decoding needed.
icu::UnicodeString ascii(std::string_view s) { return icu::UnicodeString(s.data(), static_cast<int32_t>(s.size()), US_INV); }

}  // namespace

Salutation salutation_from(std::string_view p) {
  if (p == "female" || p == "f" || p == "woman" || p == "ms" || p == "mrs") return Salutation::female;
  if (p == "male" || p == "m" || p == "man" || p == "mr") return Salutation::male;
  return Salutation::unknown;
}

Phrasebook::~Phrasebook() = default;
Phrasebook::Phrasebook(Phrasebook&&) noexcept = default;

const Phrasebook& Phrasebook::builtin() {
  static const Phrasebook instance = [] {
    std::vector<CatalogueSource> sources;
    for (const auto& [tag, text] : embedded_locales()) sources.push_back({std::string(tag), std::string(text)});
    std::vector<CatalogueProblem> problems;
    auto loaded = load_catalogues(sources, problems);
    if (!problems.empty()) throw std::logic_error("a built-in phrasebook is malformed: " + problems.front().describe());
    Phrasebook book;
    for (auto& c : loaded) book.catalogues_[c->tag] = std::move(c);
    return book;
  }();
  return instance;
}

const Catalogue& Phrasebook::catalogue(const std::string& locale) const {
  const auto it = catalogues_.find(locale);
  return it != catalogues_.end() ? *it->second : *catalogues_.at("en");
}

std::string Phrasebook::resolve(std::string_view requested) const {
  std::string tag(requested.substr(0, requested.find_first_of("-_")));
  for (auto& ch : tag) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return catalogues_.count(tag) ? tag : "en";
}

std::string Phrasebook::direction(const std::string& locale) const { return catalogue(locale).dir; }

std::string Phrasebook::text(const std::string& locale, const std::string& key, const MessageArgs& args, Salutation salutation) const {
  auto& memo = per_thread<TextMemo>(this, [] { return std::make_unique<TextMemo>(); });
  std::string memo_as = memo_key(locale, key, args, salutation_keyword(salutation));
  if (!memo_as.empty())
    if (const std::string* known = memo.find(memo_as)) return *known;
  std::string out = format_message(locale, key, args, salutation);
  if (!memo_as.empty()) memo.keep(std::move(memo_as), out);
  return out;
}

std::string Phrasebook::format_message(const std::string& locale, const std::string& key, const MessageArgs& args, Salutation salutation) const {
  const Catalogue* c = &catalogue(locale);
  auto master = c->messages.find(key);
  if (master == c->messages.end()) {
    c = &catalogue("en");
    master = c->messages.find(key);
    if (master == c->messages.end()) return key;
  }
  const auto& format = per_thread<icu::MessageFormat>(master->second.get(), [&] {
    return std::unique_ptr<icu::MessageFormat>(master->second->clone());
  });
  std::vector<icu::UnicodeString> names;
  std::vector<icu::Formattable> values;
  names.reserve(2 * args.size() + 1);
  values.reserve(2 * args.size() + 1);
  for (const auto& [name, arg] : args) {
    names.push_back(ascii(name));
    if (arg.kind() == MessageArg::Kind::number) {
      values.emplace_back(static_cast<int64_t>(arg.number()));
      continue;
    }
    const bool outside = arg.kind() == MessageArg::Kind::outside;
    values.emplace_back(icu::UnicodeString::fromUTF8(outside && !arg.text().empty() ? isolate(locale, arg.text()) : arg.text()));
    names.push_back(ascii(name).append(icu::UnicodeString("_given", -1, US_INV)));
    values.emplace_back(icu::UnicodeString(arg.text().empty() ? "no" : "yes"));
  }
  names.emplace_back("salutation");
  values.emplace_back(icu::UnicodeString(salutation_keyword(salutation)));
  icu::UnicodeString out;
  UErrorCode status = U_ZERO_ERROR;
  format.format(names.data(), values.data(), static_cast<int32_t>(names.size()), out, status);
  if (U_FAILURE(status)) return key;
  return utf8(out);
}

std::string Phrasebook::number(const std::string& locale, std::int64_t n) const {
  UErrorCode status = U_ZERO_ERROR;
  // LocalizedNumberFormatter is immutable and thread-safe.
  const auto formatted = icu::number::NumberFormatter::withLocale(catalogue(locale).locale).formatInt(n, status);
  return U_SUCCESS(status) ? utf8(formatted.toString(status)) : std::to_string(n);
}

std::string Phrasebook::money(const std::string& locale, std::int64_t minor, const std::string& currency) const {
  UErrorCode status = U_ZERO_ERROR;
  auto format = icu::number::NumberFormatter::withLocale(catalogue(locale).locale).precision(icu::number::Precision::fixedFraction(2));
  double major = static_cast<double>(minor) / 100.0;
  if (!currency.empty()) {
    icu::UnicodeString code = ascii(currency);
    // Minor units are the currency's own: cents for EUR, yen themselves for JPY.
    const int32_t digits = ucurr_getDefaultFractionDigits(code.getTerminatedBuffer(), &status);
    major = static_cast<double>(minor) / std::pow(10.0, U_SUCCESS(status) ? digits : 2);
    format = format.unit(icu::CurrencyUnit(code.getTerminatedBuffer(), status)).precision(icu::number::Precision::currency(UCURR_USAGE_STANDARD));
  }
  const auto formatted = format.formatDouble(major, status);
  return U_SUCCESS(status) ? utf8(formatted.toString(status)) : std::to_string(minor);
}

std::string Phrasebook::isolate(const std::string& locale, const std::string& s) const {
  if (direction(locale) != "rtl") return s;
  return "\u2068" + s + "\u2069";
}

std::string Phrasebook::date(const std::string& locale, std::int64_t unix_ms) const {
  const Catalogue& c = catalogue(locale);
  auto& format = per_thread<icu::DateFormat>(&c, [&] {
    // Day, month and year in the locale's calendar (the locale's -u-ca- key), in the daemon's
    // time zone (TZ), as the shop's day.
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::DateFormat> made(icu::DateFormat::createInstanceForSkeleton(icu::UnicodeString("yMMMd"), c.locale, status));
    if (U_FAILURE(status) || !made) throw std::runtime_error(std::string("ICU cannot format dates: ") + u_errorName(status));
    return made;
  });
  icu::UnicodeString out;
  format.format(static_cast<UDate>(unix_ms), out);
  return utf8(out);
}

std::vector<std::string> Phrasebook::locales() const {
  std::vector<std::string> out;
  for (const auto& [tag, _] : catalogues_) out.push_back(tag);
  return out;
}

std::map<std::string, std::vector<std::string>> Phrasebook::keys() const { return catalogue("en").placeholders; }

std::string Phrasebook::list(const std::string& locale, const std::vector<std::string>& parts) const {
  const Catalogue& c = catalogue(locale);
  auto& format = per_thread<icu::ListFormatter>(&c, [&] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::ListFormatter> made(icu::ListFormatter::createInstance(c.locale, status));
    if (U_FAILURE(status) || !made) throw std::runtime_error(std::string("ICU cannot format lists: ") + u_errorName(status));
    return made;
  });
  std::vector<icu::UnicodeString> items;
  for (const auto& p : parts) items.push_back(icu::UnicodeString::fromUTF8(isolate(locale, p)));
  icu::UnicodeString out;
  UErrorCode status = U_ZERO_ERROR;
  format.format(items.data(), static_cast<int32_t>(items.size()), out, status);
  return utf8(out);
}

}  // namespace regulars::daemon
