// The texts hints and gestures are phrased in, one phrasebook per locale. The phrasebooks are data
// files (daemon/locale/texts/*.json) compiled into the daemon; a key missing from a locale falls
// back to English. (The products a shop sells are its catalogue; these are only messages.)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regulars::daemon {

class Phrasebook {
 public:
  // Loads the built-in phrasebooks. Throws if one of them is malformed (a build defect).
  static const Phrasebook& builtin();

  // The locale actually served for a requested tag ("fa-IR" -> "fa"; unknown -> "en").
  std::string resolve(std::string_view requested) const;
  // Template for `key` in `locale`, with {name} placeholders replaced from `args`.
  std::string text(const std::string& locale, const std::string& key,
                   const std::vector<std::pair<std::string, std::string>>& args = {}) const;
  std::string direction(const std::string& locale) const;

  // A number in the locale's digits (Persian ۰–۹, Arabic-Indic ٠–٩, or Latin).
  std::string number(const std::string& locale, std::int64_t n) const;
  // Text from outside the phrasebook (a product, a name) as a bidi-isolated run in right-to-left
  // locales (U+2068 … U+2069), so Latin product names cannot scramble the sentence around them.
  std::string isolate(const std::string& locale, const std::string& text) const;
  // A date (YYYY-MM-DD) in the locale's digits.
  std::string date(const std::string& locale, std::int64_t unix_ms) const;

 private:
  std::map<std::string, std::map<std::string, std::string>> locales_;
};

}  // namespace regulars::daemon
