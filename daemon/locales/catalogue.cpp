#include "locales/catalogue.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include <unicode/messagepattern.h>
#include <unicode/plurrule.h>
#include <unicode/strenum.h>

namespace regulars::daemon {

std::string utf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// What one message uses, found by walking its parsed pattern.
struct MessageUse {
  std::set<std::string> placeholders;  // every argument name, selectors included
  std::set<std::string> optional;      // x where the message selects on x_given
  std::vector<std::string> faults;
};

class PatternWalk {
 public:
  PatternWalk(const icu::MessagePattern& pattern, const std::set<std::string>& plural_keywords)
      : p_(pattern), plural_keywords_(plural_keywords) {}

  MessageUse run() {
    walk_message(0, {});
    // Names, items, household members and cashiers are not always known: a message that uses
    // one must say what to write without it.
    for (const char* name : {"name", "item", "member", "cashier"})
      if (use_.placeholders.count(name) && !use_.optional.count(name))
        use_.faults.push_back(std::string("{") + name + "} needs a form for when it is missing: {" + name + "_given, select, yes {…} other {…}}");
    for (const auto& name : use_.optional)
      if (unguarded_.count(name))
        use_.faults.push_back("{" + name + "} may be missing: use it only in the yes branch of {" + name + "_given, select, yes {…} other {…}}");
    return std::move(use_);
  }

 private:
  // Parts from the MSG_START at `start` to its MSG_LIMIT. `given`: the x whose x_given "yes"
  // branch we are in.
  void walk_message(int32_t start, const std::set<std::string>& given) {
    const int32_t limit = p_.getLimitPartIndex(start);
    for (int32_t i = start + 1; i < limit; ++i) {
      const auto& part = p_.getPart(i);
      if (part.getType() != UMSGPAT_PART_TYPE_ARG_START) continue;
      walk_argument(i, given);
      i = p_.getLimitPartIndex(i);
    }
  }

  void walk_argument(int32_t start, const std::set<std::string>& given) {
    const UMessagePatternArgType type = p_.getPart(start).getArgType();
    const std::string name = utf8(p_.getSubstring(p_.getPart(start + 1)));
    use_.placeholders.insert(name);
    if (type == UMSGPAT_ARG_TYPE_NONE || type == UMSGPAT_ARG_TYPE_SIMPLE) {
      if (!given.count(name)) unguarded_.insert(name);
      return;
    }
    if (type != UMSGPAT_ARG_TYPE_PLURAL && type != UMSGPAT_ARG_TYPE_SELECT) {
      use_.faults.push_back("{" + name + "}: only plural and select are used here");
      return;
    }
    const bool is_given = type == UMSGPAT_ARG_TYPE_SELECT && ends_with(name, "_given");
    const std::string base = is_given ? name.substr(0, name.size() - 6) : std::string();
    if (is_given) use_.optional.insert(base);
    if (type == UMSGPAT_ARG_TYPE_PLURAL && !given.count(name)) unguarded_.insert(name);
    std::set<std::string> selectors;
    const int32_t limit = p_.getLimitPartIndex(start);
    for (int32_t i = start + 2; i < limit; ++i) {
      const auto& part = p_.getPart(i);
      if (part.getType() == UMSGPAT_PART_TYPE_ARG_SELECTOR) {
        const std::string selector = utf8(p_.getSubstring(part));
        if (selector.empty() || selector[0] != '=') selectors.insert(selector);
        int32_t body = i + 1;
        while (p_.getPart(body).getType() != UMSGPAT_PART_TYPE_MSG_START) ++body;  // skip an =n value
        std::set<std::string> inner = given;
        if (is_given && selector == "yes") inner.insert(base);
        walk_message(body, inner);
        i = p_.getLimitPartIndex(body);
      }
    }
    check_branches(name, type, is_given, selectors);
  }

  void check_branches(const std::string& name, UMessagePatternArgType type, bool is_given, const std::set<std::string>& selectors) {
    if (type == UMSGPAT_ARG_TYPE_PLURAL) {
      for (const auto& k : plural_keywords_)
        if (!selectors.count(k)) use_.faults.push_back("{" + name + ", plural} lacks the plural category '" + k + "'");
      for (const auto& s : selectors)
        if (!plural_keywords_.count(s)) use_.faults.push_back("{" + name + ", plural} has '" + s + "', not a plural category of this locale");
    } else if (is_given && !selectors.count("yes")) {
      use_.faults.push_back("{" + name + ", select} has no 'yes' branch");
    } else if (!is_given && name != "salutation") {
      use_.faults.push_back("{" + name + ", select}: only x_given and salutation are selected on");
    }
  }

  const icu::MessagePattern& p_;
  const std::set<std::string>& plural_keywords_;
  MessageUse use_;
  std::set<std::string> unguarded_;  // used outside any x_given "yes" branch
};

std::set<std::string> plural_keywords(const icu::Locale& locale) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::PluralRules> rules(icu::PluralRules::forLocale(locale, status));
  std::set<std::string> out;
  if (U_FAILURE(status)) return out;
  std::unique_ptr<icu::StringEnumeration> keywords(rules->getKeywords(status));
  while (U_SUCCESS(status)) {
    const icu::UnicodeString* k = keywords->snext(status);
    if (k == nullptr) break;
    out.insert(utf8(*k));
  }
  return out;
}

struct Parsed {
  std::unique_ptr<Catalogue> catalogue;
  std::map<std::string, MessageUse> uses;
  std::set<std::string> broken;  // keys present but not valid: already reported
};

// The file's meta fields; false (with a problem) when they are unusable.
bool read_meta(const CatalogueSource& src, const nlohmann::json& j, Catalogue& c, std::vector<CatalogueProblem>& problems) {
  const std::string file = src.tag + ".json";
  c.dir = j.value("dir", "");
  if (c.dir != "ltr" && c.dir != "rtl") problems.push_back({file, "dir", "must be \"ltr\" or \"rtl\""});
  const std::string tag = j.value("locale", "");
  UErrorCode status = U_ZERO_ERROR;
  c.locale = icu::Locale::forLanguageTag(tag, status);
  if (tag.empty() || U_FAILURE(status) || c.locale.isBogus())
    problems.push_back({file, "locale", "must be a BCP 47 tag ICU knows, e.g. \"fa-IR-u-ca-persian-nu-arabext\""});
  return (c.dir == "ltr" || c.dir == "rtl") && U_SUCCESS(status) && !tag.empty();
}

void add_message(const std::string& file, const std::string& key, const std::string& text, const std::set<std::string>& keywords,
                 Parsed& out, std::vector<CatalogueProblem>& problems) {
  const icu::UnicodeString pattern = icu::UnicodeString::fromUTF8(text);
  UParseError where{};
  UErrorCode status = U_ZERO_ERROR;
  icu::MessagePattern parsed(pattern, &where, status);
  auto format = std::make_unique<icu::MessageFormat>(pattern, out.catalogue->locale, where, status);
  if (U_FAILURE(status)) {
    problems.push_back({file, key, std::string("not valid MessageFormat (") + u_errorName(status) + ") at character " +
                                       std::to_string(where.offset) + " of \"" + text + "\""});
    out.broken.insert(key);
    return;
  }
  MessageUse use = PatternWalk(parsed, keywords).run();
  for (const auto& fault : use.faults) problems.push_back({file, key, fault});
  out.catalogue->messages[key] = std::move(format);
  out.uses[key] = std::move(use);
}

Parsed parse(const CatalogueSource& src, std::vector<CatalogueProblem>& problems) {
  Parsed out;
  const std::string file = src.tag + ".json";
  const auto j = nlohmann::json::parse(src.text, nullptr, false, true);
  if (!j.is_object()) {
    problems.push_back({file, "", "not a JSON object (a syntax error, or not an object at the top)"});
    return out;
  }
  out.catalogue = std::make_unique<Catalogue>();
  out.catalogue->tag = src.tag;
  if (!read_meta(src, j, *out.catalogue, problems)) return out;
  const std::set<std::string> keywords = plural_keywords(out.catalogue->locale);
  for (const auto& [key, value] : j.items()) {
    if (key.empty() || key[0] == '_' || key == "dir" || key == "locale") continue;
    if (!value.is_string()) {
      out.broken.insert(key);
      problems.push_back({file, key, "must be a string"});
      continue;
    }
    add_message(file, key, value.get<std::string>(), keywords, out, problems);
  }
  return out;
}

// Each locale against English: the same keys, and each message with the same placeholders.
void compare_with_english(const Parsed& en, const Parsed& other, std::vector<CatalogueProblem>& problems) {
  const std::string file = other.catalogue->tag + ".json";
  for (const auto& [key, use] : en.uses) {
    const auto it = other.uses.find(key);
    if (it == other.uses.end()) {
      if (!other.broken.count(key)) problems.push_back({file, key, "missing (the English text would show)"});
      continue;
    }
    for (const auto& name : use.placeholders)
      if (!it->second.placeholders.count(name) && name != "salutation")
        problems.push_back({file, key, "placeholder {" + name + "} is not used"});
    for (const auto& name : it->second.placeholders)
      if (!use.placeholders.count(name) && name != "salutation")
        problems.push_back({file, key, "unknown placeholder {" + name + "} (English has no such value)"});
  }
  for (const auto& [key, use] : other.uses)
    if (!en.uses.count(key)) problems.push_back({file, key, "not in en.json"});
}

}  // namespace

std::string CatalogueProblem::describe() const { return file + (key.empty() ? "" : ": " + key) + ": " + reason; }

std::vector<std::unique_ptr<Catalogue>> load_catalogues(const std::vector<CatalogueSource>& sources,
                                                        std::vector<CatalogueProblem>& problems) {
  std::vector<Parsed> parsed;
  const Parsed* en = nullptr;
  for (const auto& src : sources) parsed.push_back(parse(src, problems));
  for (const auto& p : parsed)
    if (p.catalogue && p.catalogue->tag == "en") en = &p;
  if (en == nullptr) problems.push_back({"en.json", "", "missing: English is the reference every locale is checked against"});
  std::vector<std::unique_ptr<Catalogue>> out;
  for (auto& p : parsed) {
    if (!p.catalogue) continue;
    if (en != nullptr && &p != en) compare_with_english(*en, p, problems);
    for (const auto& [key, use] : p.uses) {
      auto& names = p.catalogue->placeholders[key];
      names.assign(use.placeholders.begin(), use.placeholders.end());
    }
  }
  if (!problems.empty()) return out;
  for (auto& p : parsed) out.push_back(std::move(p.catalogue));
  return out;
}

}  // namespace regulars::daemon
