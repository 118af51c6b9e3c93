// An offer as the till shows it to the cashier: the words in the lane's language, why it is
// made, and what exactly is given.
#include <algorithm>
#include <optional>
#include <string_view>

#include "gestures/engine.hpp"

namespace regulars::daemon {

using nlohmann::json;
using rules::Rule;

namespace {

// The text for `locale`, else the English one, else any.
std::string text_for(const rules::Localised& texts, const std::string& locale) {
  if (texts.empty()) return {};
  if (auto it = texts.find(locale); it != texts.end()) return it->second;
  if (auto it = texts.find("en"); it != texts.end()) return it->second;
  return texts.begin()->second;
}

using Values = std::vector<std::pair<std::string, std::string>>;

bool is_word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

// A value left out: the space before it goes too, and a comma left hanging before the end of the
// sentence ("Hello, {name}!" -> "Hello!").
void drop_gap(std::string& out, const std::string& text, std::size_t next) {
  while (!out.empty() && out.back() == ' ') out.pop_back();
  const bool sentence_goes_on = next < text.size() && text[next] == ' ';
  if (!sentence_goes_on && !out.empty() && out.back() == ',') out.pop_back();
}

// {word} or {word|fallback} at text[at], as the rule format writes a placeholder.
struct Placeholder {
  std::string_view word;
  std::optional<std::string_view> fallback;
  std::size_t end = 0;  // just past the closing brace
};
std::optional<Placeholder> placeholder_at(std::string_view text, std::size_t at) {
  if (text[at] != '{') return std::nullopt;
  std::size_t j = at + 1;
  while (j < text.size() && is_word_char(text[j])) ++j;
  if (j == at + 1 || j >= text.size() || (text[j] != '}' && text[j] != '|')) return std::nullopt;
  const std::size_t close = text.find('}', j);
  if (close == std::string_view::npos) return std::nullopt;
  Placeholder p{text.substr(at + 1, j - at - 1), std::nullopt, close + 1};
  if (text[j] == '|') p.fallback = text.substr(j + 1, close - j - 1);
  return p;
}

// An owner's text with {word} replaced by its value and {word|fallback} by the fallback when the
// value is missing. Rule validation makes every value that can be missing carry a fallback; a
// rule stored before fallbacks existed may lack one, and then the placeholder is left out.
std::string fill(const std::string& text, const Values& values) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto p = placeholder_at(text, i);
    const auto value = !p ? values.end() : std::find_if(values.begin(), values.end(), [&](const auto& v) { return v.first == p->word; });
    if (value == values.end()) {
      out.push_back(text[i++]);
      continue;
    }
    if (!value->second.empty()) out += value->second;
    else if (p->fallback) out += *p->fallback;
    else drop_gap(out, text, p->end);
    i = p->end;
  }
  return out;
}

}  // namespace

json GestureEngine::describe(const Rule& rule, const Last& offer, Facts& facts, const OfferContext& ctx) const {
  const std::string& locale = ctx.locale;
  const rules::Gesture& g = rule.gesture;
  const std::string item = offer.sku.empty() ? std::string() : facts.item_name(offer.sku);
  const MessageArgs args{{"item", Outside{item}},
                         {"member", Outside{offer.member}},
                         {"name", Outside{facts.name}},
                         {"percent", Number{g.percent}},
                         {"amount", phrasebook_.money(locale, g.amount, currency_)}};
  auto isolated = [&](const std::string& s) { return s.empty() ? s : phrasebook_.isolate(locale, s); };
  const Values values{{"item", isolated(item)},
                      {"member", isolated(offer.member)},
                      {"name", isolated(facts.name)},
                      {"percent", phrasebook_.number(locale, g.percent)},
                      {"amount", phrasebook_.money(locale, g.amount, currency_)}};
  static const char* kKinds[] = {"free_item", "discount", "message", "task"};
  json o = {{"offer_id", offer.offer_id}, {"rule", rule.id}, {"kind", kKinds[static_cast<int>(g.kind)]}, {"cost", g.cost}};
  if (!rule.name.empty()) o["rule_name"] = rule.name;
  std::string text = fill(text_for(g.message, locale), values);
  if (text.empty()) {
    switch (g.kind) {
      case rules::Gesture::Kind::free_item:
        text = phrasebook_.text(locale, "offer.free_item", args);
        break;
      case rules::Gesture::Kind::discount:
        text = phrasebook_.text(locale, g.percent > 0 ? "offer.discount_percent" : "offer.discount_amount", args);
        break;
      default:
        text = fill(text_for(g.task, locale), values);
    }
  }
  o["text"] = text;
  o["why"] = phrasebook_.text(locale, "offer.why", {{"rule", Outside{rule.name.empty() ? rule.id : rule.name}}});
  if (!offer.sku.empty()) {
    o["sku"] = offer.sku;
    o["item"] = item;
  }
  if (!offer.member.empty()) o["member"] = offer.member;
  if (g.kind == rules::Gesture::Kind::discount) {
    if (g.percent > 0) o["percent"] = g.percent;
    else o["amount"] = g.amount;
  }
  if (g.kind == rules::Gesture::Kind::task) o["task"] = fill(text_for(g.task, locale), values);
  o["status"] = offer.status;
  return o;
}

}  // namespace regulars::daemon
