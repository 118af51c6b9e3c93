#include "catalogue.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "locales_embedded.hpp"

namespace regulars::daemon {

const Catalogue& Catalogue::builtin() {
  static const Catalogue instance = [] {
    Catalogue c;
    for (const auto& [tag, text] : embedded_locales()) {
      const auto j = nlohmann::json::parse(text, nullptr, true, true);
      auto& m = c.locales_[std::string(tag)];
      for (const auto& [k, v] : j.items())
        if (v.is_string() && k.front() != '_') m[k] = v.get<std::string>();
    }
    if (!c.locales_.count("en")) throw std::logic_error("the English catalogue is missing");
    return c;
  }();
  return instance;
}

std::string Catalogue::resolve(std::string_view requested) const {
  std::string tag(requested.substr(0, requested.find_first_of("-_")));
  for (auto& ch : tag) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return locales_.count(tag) ? tag : "en";
}

std::string Catalogue::text(const std::string& locale, const std::string& key,
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

std::string Catalogue::direction(const std::string& locale) const { return text(locale, "dir"); }

}  // namespace regulars::daemon
