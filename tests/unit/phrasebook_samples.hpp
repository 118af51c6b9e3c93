// Sample values for every placeholder of the phrasebooks, as the daemon would fill them: shared
// by the test that renders every message and by the tool that prints the table of them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "locales/phrasebook.hpp"

namespace regulars::daemon::samples {

inline const Phrasebook& book() { return Phrasebook::builtin(); }

// How the daemon fills each placeholder. A new placeholder must be added here, so the test
// knows whether it is a count, outside text, or words from the phrasebook.
enum class Kind { count, outside, phrase };
inline const std::map<std::string, Kind>& placeholder_kinds() {
  static const std::map<std::string, Kind> kinds{
      {"visits", Kind::count}, {"days", Kind::count},      {"baskets", Kind::count}, {"cycle", Kind::count},
      {"percent", Kind::count}, {"points", Kind::count},   {"name", Kind::outside},  {"item", Kind::outside},
      {"member", Kind::outside}, {"cashier", Kind::outside}, {"text", Kind::outside}, {"value", Kind::outside},
      {"rule", Kind::outside},  {"since", Kind::phrase},    {"kind", Kind::phrase},   {"first_seen", Kind::phrase},
      {"items", Kind::phrase},  {"key", Kind::phrase},      {"said_by", Kind::phrase}, {"date", Kind::phrase},
      {"score", Kind::phrase},  {"reasons", Kind::phrase},  {"amount", Kind::phrase}};
  return kinds;
}

// A phrase as the daemon would make it, in the locale.
inline std::string phrase_for(const std::string& locale, const std::string& name, std::int64_t n) {
  const Phrasebook& b = book();
  if (name == "since") return b.text(locale, "since", {{"days", Number{n}}});
  if (name == "kind") return b.text(locale, "kind.phone");
  if (name == "first_seen" || name == "date") return b.date(locale, 1'764'000'000'000);
  if (name == "items") return b.list(locale, {"Oat milk", "Sangak bread"});
  if (name == "key") return b.text(locale, "pref.bag");
  if (name == "said_by") return b.text(locale, "someone.customer");
  if (name == "score") return b.text(locale, "score.nps", {{"points", Number{n % 11}}});
  if (name == "reasons") return b.list(locale, {b.text(locale, "reason.price"), b.text(locale, "reason.long_queue")});
  return b.money(locale, 250 * n);
}

// Text from outside the phrasebook, as a shop would have it.
inline std::string outside_sample(const std::string& name) {
  static const std::map<std::string, std::string> samples{{"name", "Leila"},         {"item", "Oat milk"},
                                                          {"member", "Sara"},        {"cashier", "Reza"},
                                                          {"text", "Window seat"},   {"value", "peanuts"},
                                                          {"rule", "Tenth visit"}};
  return samples.at(name);
}

// Every placeholder of a message filled, counts with `n`.
inline MessageArgs all_present(const std::string& locale, const std::vector<std::string>& names, std::int64_t n) {
  MessageArgs args;
  for (const auto& name : names) {
    if (name == "salutation" || name.find("_given") != std::string::npos) continue;
    switch (placeholder_kinds().at(name)) {
      case Kind::count: args.emplace_back(name, Number{n}); break;
      case Kind::outside: args.emplace_back(name, Outside{outside_sample(name)}); break;
      case Kind::phrase: args.emplace_back(name, phrase_for(locale, name, n)); break;
    }
  }
  return args;
}

}  // namespace regulars::daemon::samples
