#include "hints.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

std::string display_name(const ItemStat& item) { return item.name.empty() ? item.sku : item.name; }

json hint(std::string kind, int priority, std::string text, std::string why) {
  return json{{"kind", std::move(kind)}, {"priority", priority}, {"text", std::move(text)}, {"why", std::move(why)}};
}

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

json HintEngine::answer(const json& request, std::int64_t now_ms) {
  const std::string locale =
      catalogue_.resolve(request.contains("locale") ? request["locale"].get<std::string>() : settings_.default_locale);
  const int max_hints = request.contains("max_hints") ? request["max_hints"].get<int>() : settings_.max_hints;
  const int max_predictions =
      request.contains("max_predictions") ? request["max_predictions"].get<int>() : settings_.max_predictions;

  json out = {{"customer", {{"known", false}}}, {"hints", json::array()}, {"predictions", json::array()},
              {"offers", json::array()},        {"ask_feedback", false},  {"locale", locale},
              {"dir", catalogue_.direction(locale)}};

  const auto& customer = request.at("customer");
  const std::string kind = customer.at("kind").get<std::string>();
  const auto hash = key_.hash(kind, wire::normalize_identifier(kind, customer.at("value").get<std::string>()));
  const auto found = store_.find_customer(kind, hash);
  if (!found) return out;
  const CustomerView& c = *found;

  const bool personalize = c.consent_personalize.value_or(!settings_.personalize_requires_consent);
  json& cj = out["customer"];
  cj["known"] = true;
  cj["visits"] = c.visits;
  if (c.visits > 0) {
    cj["first_seen"] = wire::format_time_ms(c.first_seen_ms);
    cj["last_seen"] = wire::format_time_ms(c.last_seen_ms);
    cj["days_since_last"] = std::max<std::int64_t>(0, (now_ms - c.last_seen_ms) / 86'400'000);
  }
  cj["consent"] = {{"remember", c.consent_remember ? json(*c.consent_remember) : json(nullptr)},
                   {"personalize", c.consent_personalize ? json(*c.consent_personalize) : json(nullptr)}};
  cj["personalized"] = personalize;
  if (!personalize) return out;

  // Greeting: the visit about to happen is visit number visits + 1.
  json hints = json::array();
  if (c.visits == 0) {
    hints.push_back(hint("greeting", 100, catalogue_.text(locale, "greeting.first"),
                         catalogue_.text(locale, "greeting.why", {{"kind", kind}, {"visits", "0"}, {"first_seen", "-"}})));
  } else {
    const std::int64_t days = std::max<std::int64_t>(0, (now_ms - c.last_seen_ms) / 86'400'000);
    const std::string since = days == 0   ? catalogue_.text(locale, "since.today")
                              : days == 1 ? catalogue_.text(locale, "since.yesterday")
                                          : catalogue_.text(locale, "since.days", {{"days", std::to_string(days)}});
    hints.push_back(hint("greeting", 100,
                         catalogue_.text(locale, "greeting.returning",
                                         {{"visits", std::to_string(c.visits + 1)}, {"since", since}}),
                         catalogue_.text(locale, "greeting.why",
                                         {{"kind", kind},
                                          {"visits", std::to_string(c.visits)},
                                          {"first_seen", wire::format_time_ms(c.first_seen_ms).substr(0, 10)}})));
  }

  // Predictions: the customer's own repeat items first, then what sells in the store.
  std::unordered_set<std::string> in_basket;
  if (auto b = request.find("basket"); b != request.end())
    for (const auto& item : *b) in_basket.insert(item.at("sku").get<std::string>());

  json predictions = json::array();
  std::unordered_set<std::string> taken;
  const auto personal = store_.top_items(c.id, max_predictions + static_cast<int>(in_basket.size()));
  for (const auto& item : personal) {
    if (static_cast<int>(predictions.size()) >= max_predictions) break;
    if (in_basket.count(item.sku)) continue;
    const double score = c.visits > 0 ? static_cast<double>(item.baskets) / static_cast<double>(c.visits) : 0.0;
    predictions.push_back({{"sku", item.sku},
                           {"name", display_name(item)},
                           {"score", round3(score)},
                           {"reason", catalogue_.text(locale, "prediction.reason.personal",
                                                      {{"baskets", std::to_string(item.baskets)},
                                                       {"visits", std::to_string(c.visits)}})}});
    taken.insert(item.sku);
  }
  if (static_cast<int>(predictions.size()) < max_predictions) {
    const auto popular = store_.popular_items(max_predictions * 2 + static_cast<int>(in_basket.size()));
    const double floor = predictions.empty() ? 1.0 : predictions.back()["score"].get<double>();
    const double top = popular.empty() ? 1.0 : static_cast<double>(std::max<std::int64_t>(1, popular.front().baskets));
    for (const auto& item : popular) {
      if (static_cast<int>(predictions.size()) >= max_predictions) break;
      if (in_basket.count(item.sku) || taken.count(item.sku)) continue;
      // Always below the weakest personal prediction, in popularity order.
      const double score = round3(std::min(floor, 1.0) * 0.5 * static_cast<double>(item.baskets) / top);
      predictions.push_back({{"sku", item.sku},
                             {"name", display_name(item)},
                             {"score", score},
                             {"reason", catalogue_.text(locale, "prediction.reason.popular")}});
    }
  }

  // Usual items: bought on at least half of the visits (and at least twice).
  std::vector<const ItemStat*> usual;
  for (const auto& item : personal)
    if (item.baskets >= 2 && item.baskets * 2 >= c.visits && usual.size() < 3) usual.push_back(&item);
  if (!usual.empty()) {
    std::string names;
    for (std::size_t i = 0; i < usual.size(); ++i) names += (i ? ", " : "") + display_name(*usual[i]);
    hints.push_back(hint("usual_items", 60, catalogue_.text(locale, "usual.text", {{"items", names}}),
                         catalogue_.text(locale, "usual.why", {{"baskets", std::to_string(usual.front()->baskets)},
                                                               {"visits", std::to_string(c.visits)}})));
  }

  std::stable_sort(hints.begin(), hints.end(),
                   [](const json& a, const json& b) { return a["priority"].get<int>() > b["priority"].get<int>(); });
  if (static_cast<int>(hints.size()) > max_hints) hints.erase(hints.begin() + max_hints, hints.end());
  out["hints"] = std::move(hints);
  out["predictions"] = std::move(predictions);
  return out;
}

}  // namespace regulars::daemon
