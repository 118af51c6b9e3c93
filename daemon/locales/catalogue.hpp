// One locale's message file (texts/<tag>.json), parsed and checked. The same checks run when the
// daemon is built (check_catalogues.cpp: a bad file fails the build with its file, key and
// reason) and when the built-in files are loaded.
//
// A file is a JSON object: "dir" ("ltr" or "rtl"), "locale" (the BCP 47 tag ICU formats with,
// e.g. "fa-IR-u-ca-persian-nu-arabext"), keys starting with "_" (comments), and every other key a
// message in ICU MessageFormat.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <unicode/locid.h>
#include <unicode/msgfmt.h>

namespace regulars::daemon {

struct CatalogueProblem {
  std::string file;
  std::string key;  // empty: the file as a whole
  std::string reason;
  std::string describe() const;  // "fa.json: birthday.soon: ..."
};

struct Catalogue {
  std::string tag;  // "fa"
  std::string dir;  // "ltr" or "rtl"
  icu::Locale locale;
  std::map<std::string, std::unique_ptr<icu::MessageFormat>> messages;
  // Per message, what it uses: the placeholders and, of those, the ones that may be missing
  // (used only under an x_given select).
  std::map<std::string, std::vector<std::string>> placeholders;
};

// ICU's UTF-16 text as UTF-8.
std::string utf8(const icu::UnicodeString& s);

struct CatalogueSource {
  std::string tag;   // the file's name without .json
  std::string text;  // its contents
};

// Parses every file and checks each against the rules and against English (the reference: a
// message in English must be in every locale, with the same placeholders). `problems` gets one
// line per fault; the catalogues returned are only those without any.
std::vector<std::unique_ptr<Catalogue>> load_catalogues(const std::vector<CatalogueSource>& sources,
                                                        std::vector<CatalogueProblem>& problems);

}  // namespace regulars::daemon
