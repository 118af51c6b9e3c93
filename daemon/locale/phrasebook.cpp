#include "locale/phrasebook.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "locale/embedded_texts.hpp"

namespace regulars::daemon {

const Phrasebook& Phrasebook::builtin() {
  static const Phrasebook instance = [] {
    Phrasebook c;
    for (const auto& [tag, text] : embedded_locales()) {
      const auto j = nlohmann::json::parse(text, nullptr, true, true);
      auto& m = c.locales_[std::string(tag)];
      for (const auto& [k, v] : j.items())
        if (v.is_string() && k.front() != '_') m[k] = v.get<std::string>();
    }
    if (!c.locales_.count("en")) throw std::logic_error("the English phrasebook is missing");
    return c;
  }();
  return instance;
}

std::string Phrasebook::resolve(std::string_view requested) const {
  std::string tag(requested.substr(0, requested.find_first_of("-_")));
  for (auto& ch : tag) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return locales_.count(tag) ? tag : "en";
}

std::string Phrasebook::text(const std::string& locale, const std::string& key,
                            const std::vector<std::pair<std::string, std::string>>& args) const {
  const std::string* tmpl = nullptr;
  if (auto l = locales_.find(locale); l != locales_.end())
    if (auto k = l->second.find(key); k != l->second.end()) tmpl = &k->second;
  if (tmpl == nullptr) {
    const auto& en = locales_.at("en");
    auto k = en.find(key);
    if (k == en.end()) return key;
    tmpl = &k->second;
  }
  std::string out;
  out.reserve(tmpl->size() + 32);
  for (std::size_t i = 0; i < tmpl->size();) {
    if ((*tmpl)[i] == '{') {
      const auto close = tmpl->find('}', i);
      if (close != std::string::npos) {
        const std::string_view name(tmpl->data() + i + 1, close - i - 1);
        bool replaced = false;
        for (const auto& [k, v] : args)
          if (k == name) {
            out += v;
            replaced = true;
            break;
          }
        if (replaced) {
          i = close + 1;
          continue;
        }
      }
    }
    out.push_back((*tmpl)[i++]);
  }
  return out;
}

std::string Phrasebook::direction(const std::string& locale) const { return text(locale, "dir"); }

std::string Phrasebook::number(const std::string& locale, std::int64_t n) const {
  const std::string latin = std::to_string(n);
  const std::string digits = text(locale, "digits");
  if (digits == "latin") return latin;
  // UTF-8 of U+06F0 (Persian zero) is DB B0; of U+0660 (Arabic-Indic zero) is D9 A0.
  const unsigned char lead = digits == "persian" ? 0xDB : 0xD9;
  const unsigned char base = digits == "persian" ? 0xB0 : 0xA0;
  std::string out;
  for (char c : latin) {
    if (c < '0' || c > '9') {
      out.push_back(c);
      continue;
    }
    out.push_back(static_cast<char>(lead));
    out.push_back(static_cast<char>(base + (c - '0')));
  }
  return out;
}

std::string Phrasebook::isolate(const std::string& locale, const std::string& s) const {
  if (direction(locale) != "rtl") return s;
  return "\u2068" + s + "\u2069";
}

std::string Phrasebook::date(const std::string& locale, std::int64_t unix_ms) const {
  const std::int64_t days = unix_ms / 86'400'000;
  // civil_from_days (Howard Hinnant)
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2);
  auto two = [&](std::int64_t v) { return (v < 10 ? number(locale, 0) : std::string()) + number(locale, v); };
  return number(locale, y) + "-" + two(m) + "-" + two(d);
}

}  // namespace regulars::daemon
