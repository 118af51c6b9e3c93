// An offer as the till shows it to the cashier: the words in the lane's language, why it is
// made, and what exactly is given.
#include <cstdio>
#include <cstdlib>

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

// Replaces every {key} in `text` with its value.
std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& args) {
  for (const auto& [key, value] : args) {
    const std::string mark = "{" + key + "}";
    for (std::size_t at = text.find(mark); at != std::string::npos; at = text.find(mark, at + value.size()))
      text.replace(at, mark.size(), value);
  }
  return text;
}

std::string money(std::int64_t minor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(minor / 100), static_cast<long long>(std::llabs(minor % 100)));
  return buf;
}

}  // namespace

json GestureEngine::describe(const Rule& rule, const Last& offer, Facts& facts, const OfferContext& ctx) const {
  const std::string& locale = ctx.locale;
  const rules::Gesture& g = rule.gesture;
  const std::string item = offer.sku.empty() ? std::string() : facts.item_name(offer.sku);
  const std::vector<std::pair<std::string, std::string>> args{
      {"item", phrasebook_.isolate(locale, item)},
      {"member", phrasebook_.isolate(locale, offer.member)},
      {"name", phrasebook_.isolate(locale, facts.name)},
      {"percent", phrasebook_.number(locale, g.percent)},
      {"amount", money(g.amount)}};
  static const char* kKinds[] = {"free_item", "discount", "message", "task"};
  json o = {{"offer_id", offer.offer_id}, {"rule", rule.id}, {"kind", kKinds[static_cast<int>(g.kind)]}, {"cost", g.cost}};
  if (!rule.name.empty()) o["rule_name"] = rule.name;
  std::string text = fill(text_for(g.message, locale), args);
  if (text.empty()) {
    switch (g.kind) {
      case rules::Gesture::Kind::free_item:
        text = phrasebook_.text(locale, offer.member.empty() ? "offer.free_item" : "offer.free_item_member", args);
        break;
      case rules::Gesture::Kind::discount:
        text = phrasebook_.text(locale, g.percent > 0 ? "offer.discount_percent" : "offer.discount_amount", args);
        break;
      default:
        text = fill(text_for(g.task, locale), args);
    }
  }
  o["text"] = text;
  o["why"] = phrasebook_.text(locale, "offer.why", {{"rule", phrasebook_.isolate(locale, rule.name.empty() ? rule.id : rule.name)}});
  if (!offer.sku.empty()) {
    o["sku"] = offer.sku;
    o["item"] = item;
  }
  if (!offer.member.empty()) o["member"] = offer.member;
  if (g.kind == rules::Gesture::Kind::discount) {
    if (g.percent > 0) o["percent"] = g.percent;
    else o["amount"] = g.amount;
  }
  if (g.kind == rules::Gesture::Kind::task) o["task"] = fill(text_for(g.task, locale), args);
  o["status"] = offer.status;
  return o;
}

}  // namespace regulars::daemon
