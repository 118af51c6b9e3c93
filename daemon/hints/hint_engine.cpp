#include "hints/hint_engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "base/clock.hpp"
#include "hints/customer_hints.hpp"
#include "hints/predictions.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;
thread_local std::int64_t g_last_gestures_ns = 0;

int int_or(const json& request, const char* key, int fallback) {
  const auto it = request.find(key);
  return it == request.end() ? fallback : it->get<int>();
}

// "Ask for feedback now": a deterministic sample (the same answer however often the till asks
// during one visit).
bool sampled(std::uint64_t salt, int percent) {
  salt ^= salt >> 33;
  salt *= 0xff51afd7ed558ccdULL;
  salt ^= salt >> 33;
  return static_cast<int>(salt % 100) < percent;
}

// The answer for a customer the store does not know: nothing but whether to ask for feedback.
json stranger_answer(const IdentifierHash& hash, std::int64_t now_ms, int sample_percent) {
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = h << 8 | hash[static_cast<std::size_t>(i)];
  return sampled(h ^ static_cast<std::uint64_t>(now_ms / kDayMs), sample_percent);
}

json consent_json(const CustomerView& c) {
  return {{"remember", c.consent_remember ? json(*c.consent_remember) : json(nullptr)},
          {"personalize", c.consent_personalize ? json(*c.consent_personalize) : json(nullptr)}};
}

// The answer's "customer": how the store knows them, and (personalised) their habits.
json describe_customer(const CustomerView& c, std::int64_t now_ms, bool personalize, bool discreet) {
  json cj = {{"known", true}, {"visits", c.visits}};
  if (c.visits > 0) {
    cj["first_seen"] = wire::format_time_ms(c.first_seen_ms);
    cj["last_seen"] = wire::format_time_ms(c.last_seen_ms);
    cj["days_since_last"] = std::max<std::int64_t>(0, (now_ms - c.last_seen_ms) / kDayMs);
  }
  cj["consent"] = consent_json(c);
  cj["personalized"] = personalize;
  cj["discreet"] = discreet;
  if (!personalize || c.visits == 0) return cj;
  cj["average_basket"] = c.spend / c.visits;
  cj["returns"] = c.returns;
  auto mode = [](const std::vector<std::int64_t>& hist) -> json {
    if (hist.empty()) return nullptr;
    return static_cast<int>(std::max_element(hist.begin(), hist.end()) - hist.begin());
  };
  cj["usual_weekday"] = mode(c.weekday_hist);  // 0 = Monday
  cj["usual_hour"] = mode(c.hour_hist);
  return cj;
}

StringSet basket_of(const json& request) {
  StringSet basket;
  if (auto b = request.find("basket"); b != request.end())
    for (const auto& item : *b) basket.insert(item.at("sku").get<std::string>());
  return basket;
}

// The customer's own form of address (their "salutation" preference), for the languages whose
// words agree with it; without one, the texts use neutral wording.
Salutation salutation_of(const std::vector<Preference>& preferences) {
  for (const auto& p : preferences)
    if (p.key == "salutation" && p.member.empty()) return salutation_from(p.value);
  return Salutation::unknown;
}

}  // namespace

std::int64_t HintEngine::last_gestures_ns() noexcept { return g_last_gestures_ns; }

// At most once per customer per window, on a sample of visits, never soon after a complaint.
bool HintEngine::should_ask_feedback(const CustomerView& c, std::int64_t now_ms) const {
  if (c.last_feedback_ms > 0 && now_ms - c.last_feedback_ms < settings_.feedback_ask_every_days * kDayMs) return false;
  if (c.last_complaint_ms > 0 && now_ms - c.last_complaint_ms < settings_.feedback_quiet_days_after_complaint * kDayMs)
    return false;
  return sampled(static_cast<std::uint64_t>(c.id) * 1000003ULL + static_cast<std::uint64_t>(c.visits),
                 settings_.feedback_sample_percent);
}

json HintEngine::answer(const json& request, std::int64_t now_ms) {
  g_last_gestures_ns = 0;
  if (auto t = request.find("time"); t != request.end()) now_ms = wire::parse_time_ms(t->get<std::string>()).value_or(now_ms);
  EventStore::ReadScope snapshot(store_);  // one read transaction for every query of this answer
  const auto& customer = request.at("customer");
  const std::string kind = customer.at("kind").get<std::string>();
  const auto hash = key_.hash(kind, wire::normalize_identifier(kind, customer.at("value").get<std::string>()));
  const auto found = store_.find_customer(kind, hash);

  // The locale: the request's, else the customer's language, else the store's default.
  std::string requested = settings_.default_locale;
  if (request.contains("locale")) requested = request["locale"].get<std::string>();
  else if (found && !found->language.empty()) requested = found->language;
  const Phrasing say{phrasebook_, phrasebook_.resolve(requested)};

  json out = {{"customer", {{"known", false}}}, {"hints", json::array()}, {"predictions", json::array()},
              {"offers", json::array()},        {"ask_feedback", false},  {"locale", say.locale},
              {"dir", phrasebook_.direction(say.locale)}};
  if (!found) {
    out["ask_feedback"] = stranger_answer(hash, now_ms, settings_.feedback_sample_percent);
    return out;
  }
  const CustomerView& c = *found;
  const bool ask = should_ask_feedback(c, now_ms);
  out["ask_feedback"] = ask;
  const bool personalize = c.consent_personalize.value_or(!settings_.personalize_requires_consent) &&
                           c.consent_remember.value_or(true);
  const bool discreet = c.discreet || request.value("discreet", false);
  out["customer"] = describe_customer(c, now_ms, personalize, discreet);
  if (!personalize) return out;

  const DoNotMention dnm(c.do_not_mention);
  const StringSet basket = basket_of(request);
  const auto preferences = store_.preferences(c.id);
  const Phrasing for_them{phrasebook_, say.locale, salutation_of(preferences)};
  const AnswerContext ctx{c, for_them, dnm, basket, kind, now_ms, discreet};
  HintList hints(dnm);
  out["offers"] = offers(ctx, request, hash, hints);
  // The customer's own repeat items, from incrementally kept counts (top rows only): for the
  // hints about usual items and for the predictions.
  const int max_predictions = int_or(request, "max_predictions", settings_.max_predictions);
  // At least kPersonalRows: an item low in the decayed order may still be a likely repeat by the
  // measured blend (bought often, long ago).
  constexpr int kPersonalRows = 50;
  auto personal = store_.top_items(c.id, std::max(kPersonalRows, max_predictions + static_cast<int>(basket.size()) + 10));
  if (c.member_visits > 0) store_.mark_bought_for_members(c.id, personal);
  add_customer_hints(ctx, ask, personal, preferences, hints);
  out["hints"] = hints.take(int_or(request, "max_hints", settings_.max_hints));
  out["predictions"] = predict_items(ctx, store_, personal, max_predictions);
  return out;
}

// The owner's gestures that apply now, each reserved against its rule's limits. Never on a
// customer-facing screen: the cashier offers them.
json HintEngine::offers(const AnswerContext& ctx, const json& request, const IdentifierHash& hash, HintList& hints) {
  const int max_offers = int_or(request, "max_offers", settings_.max_offers);
  if (gestures_ == nullptr || ctx.discreet || max_offers <= 0) return json::array();
  // A customer who asked never to hear of offers gets none, rather than one made and counted
  // but not shown as a hint.
  if (!ctx.dnm.allows({hint_kind_info(HintKind::offer).name})) return json::array();
  const auto t0 = std::chrono::steady_clock::now();
  StoreFacts facts(store_, ctx.customer, ctx.basket);
  OfferContext offer_ctx{ctx.id_kind,
                         hash,
                         request.value("cashier", ""),
                         request.value("terminal", ""),
                         request.value("store", ""),
                         ctx.say.locale,
                         &ctx.dnm.topics()};
  // Limits count days, weeks and months by the daemon's clock: a till's own `time` is used
  // only within the configured skew, so a wrong clock cannot reopen a day's cap.
  const std::int64_t daemon_now = wire::now_ms();
  const std::int64_t skew = static_cast<std::int64_t>(settings_.gestures_max_clock_skew_minutes) * 60'000;
  const std::int64_t offer_now = std::llabs(ctx.now_ms - daemon_now) <= skew ? ctx.now_ms : daemon_now;
  json offers = gestures_->offers(facts, offer_ctx, moment_at(offer_now), max_offers);
  for (const auto& o : offers) hints.add(HintKind::offer, o["text"].get<std::string>(), o["why"].get<std::string>());
  g_last_gestures_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  return offers;
}

// Every other kind of hint, in the order they are made (a tie in priority keeps this order).
// The store is asked only for what the answer can use.
void HintEngine::add_customer_hints(const AnswerContext& ctx, bool ask, const std::vector<ItemStat>& personal,
                                    const std::vector<Preference>& preferences, HintList& hints) {
  const CustomerView& c = ctx.customer;
  greet(ctx, hints);
  recall_complaint(ctx, store_.open_followup(c.id), hints);
  ask_for_feedback(ctx, ask, hints);
  recall_preferences(ctx, preferences, hints);
  mark_annual_dates(ctx, hints);
  point_out_usual_items(ctx, personal, hints);
  point_out_item_due(ctx, personal, hints);
  if (ctx.discreet) return;
  if (c.member_visits > 0) share_household_tastes(ctx, store_.member_tastes(c.id, 12), hints);
  recall_note(ctx, store_.recent_notes(c.id, 1), hints);
}

}  // namespace regulars::daemon
