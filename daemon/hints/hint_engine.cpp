#include "hints/hint_engine.hpp"

#include <chrono>
#include <deque>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <unordered_set>

#include "base/clock.hpp"
#include "memory/projector.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

std::string display_name(const ItemStat& item) { return item.name.empty() ? item.sku : item.name; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

namespace {
thread_local std::int64_t g_last_gestures_ns = 0;
}

std::int64_t HintEngine::last_gestures_ns() noexcept { return g_last_gestures_ns; }

json HintEngine::answer(const json& request, std::int64_t now_ms) {
  g_last_gestures_ns = 0;
  if (auto t = request.find("time"); t != request.end()) now_ms = wire::parse_time_ms(t->get<std::string>()).value_or(now_ms);
  const int max_hints = request.contains("max_hints") ? request["max_hints"].get<int>() : settings_.max_hints;
  const int max_predictions =
      request.contains("max_predictions") ? request["max_predictions"].get<int>() : settings_.max_predictions;

  EventStore::ReadScope snapshot(store_);  // one read transaction for every query of this answer
  const auto& customer = request.at("customer");
  const std::string kind = customer.at("kind").get<std::string>();
  const auto hash = key_.hash(kind, wire::normalize_identifier(kind, customer.at("value").get<std::string>()));
  const auto found = store_.find_customer(kind, hash);

  // The locale: the request's, else the customer's language, else the store's default.
  std::string requested = settings_.default_locale;
  if (request.contains("locale")) requested = request["locale"].get<std::string>();
  else if (found && !found->language.empty()) requested = found->language;
  const std::string locale = phrasebook_.resolve(requested);
  const Phrasebook& cat = phrasebook_;
  auto num = [&](std::int64_t n) { return cat.number(locale, n); };
  auto iso = [&](const std::string& s) { return cat.isolate(locale, s); };

  json out = {{"customer", {{"known", false}}}, {"hints", json::array()}, {"predictions", json::array()},
              {"offers", json::array()},        {"ask_feedback", false},  {"locale", locale},
              {"dir", cat.direction(locale)}};
  // "Ask for feedback now": a deterministic sample (the same answer however often the till
  // asks during one visit), at most once per customer per window, never soon after a complaint.
  auto sampled = [&](std::uint64_t salt) {
    salt ^= salt >> 33;
    salt *= 0xff51afd7ed558ccdULL;
    salt ^= salt >> 33;
    return static_cast<int>(salt % 100) < settings_.feedback_sample_percent;
  };
  if (!found) {
    std::uint64_t h = 0;
    for (int i = 0; i < 8; ++i) h = h << 8 | hash[static_cast<std::size_t>(i)];
    out["ask_feedback"] = sampled(h ^ static_cast<std::uint64_t>(now_ms / kDayMs));
    return out;
  }
  const CustomerView& c = *found;
  bool ask = sampled(static_cast<std::uint64_t>(c.id) * 1000003ULL + static_cast<std::uint64_t>(c.visits));
  if (c.last_feedback_ms > 0 && now_ms - c.last_feedback_ms < settings_.feedback_ask_every_days * kDayMs) ask = false;
  if (c.last_complaint_ms > 0 && now_ms - c.last_complaint_ms < settings_.feedback_quiet_days_after_complaint * kDayMs)
    ask = false;
  out["ask_feedback"] = ask;

  const bool personalize = c.consent_personalize.value_or(!settings_.personalize_requires_consent) &&
                           c.consent_remember.value_or(true);
  const bool discreet = c.discreet || request.value("discreet", false);
  json& cj = out["customer"];
  cj["known"] = true;
  cj["visits"] = c.visits;
  const std::int64_t days_since = c.visits > 0 ? std::max<std::int64_t>(0, (now_ms - c.last_seen_ms) / kDayMs) : 0;
  if (c.visits > 0) {
    cj["first_seen"] = wire::format_time_ms(c.first_seen_ms);
    cj["last_seen"] = wire::format_time_ms(c.last_seen_ms);
    cj["days_since_last"] = days_since;
  }
  cj["consent"] = {{"remember", c.consent_remember ? json(*c.consent_remember) : json(nullptr)},
                   {"personalize", c.consent_personalize ? json(*c.consent_personalize) : json(nullptr)}};
  cj["personalized"] = personalize;
  cj["discreet"] = discreet;
  if (!personalize) return out;

  if (c.visits > 0) {
    cj["average_basket"] = c.spend / c.visits;
    cj["returns"] = c.returns;
    auto mode = [](const std::vector<std::int64_t>& hist) -> json {
      if (hist.empty()) return nullptr;
      return static_cast<int>(std::max_element(hist.begin(), hist.end()) - hist.begin());
    };
    cj["usual_weekday"] = mode(c.weekday_hist);  // 0 = Monday
    cj["usual_hour"] = mode(c.hour_hist);
  }

  // "Do not mention": any hint or prediction about these topics is dropped.
  std::unordered_set<std::string> dnm;
  for (const auto& topic : c.do_not_mention) dnm.insert(lower(topic));
  auto mentionable = [&](std::initializer_list<std::string> topics) {
    if (dnm.empty()) return true;  // the usual case: nothing to lower-case and look up
    for (const auto& t : topics)
      if (!t.empty() && dnm.count(lower(t))) return false;
    return true;
  };
  auto item_ok = [&](const ItemStat& item) { return dnm.empty() || mentionable({item.sku, item.name, item.category}); };

  std::unordered_set<std::string> in_basket;
  if (auto b = request.find("basket"); b != request.end())
    for (const auto& item : *b) in_basket.insert(item.at("sku").get<std::string>());

  json hints = json::array();
  auto add = [&](const std::string& hint_kind, int priority, std::string text, std::string why) {
    if (!mentionable({hint_kind})) return;
    hints.push_back({{"kind", hint_kind}, {"priority", priority}, {"text", std::move(text)}, {"why", std::move(why)}});
  };

  // The owner's gestures that apply now, each reserved against its rule's limits. Never on a
  // customer-facing screen: the cashier offers them.
  const int max_offers = request.contains("max_offers") ? request["max_offers"].get<int>() : settings_.max_offers;
  if (gestures_ != nullptr && !discreet && max_offers > 0) {
    const auto gestures_t0 = std::chrono::steady_clock::now();
    StoreFacts facts(store_, c, in_basket);
    OfferContext ctx{kind, hash, request.value("cashier", ""), request.value("terminal", ""), request.value("store", ""), locale,
                     &dnm};
    // Limits count days, weeks and months by the daemon's clock: a till's own `time` is used
    // only within the configured skew, so a wrong clock cannot reopen a day's cap.
    const std::int64_t daemon_now = wire::now_ms();
    const std::int64_t skew = static_cast<std::int64_t>(settings_.gestures_max_clock_skew_minutes) * 60'000;
    const std::int64_t offer_now = std::llabs(now_ms - daemon_now) <= skew ? now_ms : daemon_now;
    json offers = gestures_->offers(facts, ctx, moment_at(offer_now), max_offers);
    for (const auto& o : offers) add("offer", 90, o["text"].get<std::string>(), o["why"].get<std::string>());
    out["offers"] = std::move(offers);
    g_last_gestures_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - gestures_t0).count();
  }

  // Greeting: the visit about to happen is visit number visits + 1.
  if (discreet) {
    add("greeting", 100, cat.text(locale, "greeting.discreet"), "");
  } else if (c.visits == 0) {
    add("greeting", 100, cat.text(locale, "greeting.first"),
        cat.text(locale, "greeting.why", {{"kind", kind}, {"visits", num(0)}, {"first_seen", "-"}}));
  } else {
    const std::string since = days_since == 0   ? cat.text(locale, "since.today")
                              : days_since == 1 ? cat.text(locale, "since.yesterday")
                                                : cat.text(locale, "since.days", {{"days", num(days_since)}});
    const bool named = !c.name.empty() && mentionable({"name"});
    add("greeting", 100,
        cat.text(locale, named ? "greeting.returning_named" : "greeting.returning",
                 {{"name", iso(c.name)}, {"visits", num(c.visits + 1)}, {"since", since}}),
        cat.text(locale, "greeting.why",
                 {{"kind", kind}, {"visits", num(c.visits)}, {"first_seen", cat.date(locale, c.first_seen_ms)}}));
  }

  // Service recovery: the customer left unhappy and the owner has not closed the follow-up.
  if (const auto f = store_.open_followup(c.id); f && mentionable({"recovery"})) {
    if (discreet) {
      add("recovery", 98, cat.text(locale, "recovery.discreet"), "");
    } else {
      std::string score;
      if (f->nps) score = cat.text(locale, "score.nps", {{"value", num(*f->nps)}});
      else if (f->csat) score = cat.text(locale, "score.csat", {{"value", num(*f->csat)}});
      std::string reasons;
      for (const auto& r : f->reasons) {
        std::string words = r;
        std::replace(words.begin(), words.end(), '_', ' ');
        reasons += (reasons.empty() ? ": " : cat.text(locale, "list.separator")) + iso(words);
      }
      add("recovery", 98, cat.text(locale, "recovery.text", {{"score", score}, {"reasons", reasons}}),
          cat.text(locale, "recovery.why", {{"date", cat.date(locale, f->opened_ms)}}));
    }
  }
  if (ask && !discreet)
    add("ask_feedback", 40, cat.text(locale, "ask_feedback.text"),
        c.last_feedback_ms > 0 ? cat.text(locale, "ask_feedback.why", {{"date", cat.date(locale, c.last_feedback_ms)}})
                               : cat.text(locale, "ask_feedback.why_never"));

  // Explicit preferences; allergies first, as they matter most.
  for (const auto& p : store_.preferences(c.id)) {
    if (!mentionable({p.key, p.member, p.value})) continue;
    const bool allergy = p.key == "allergy";
    if (discreet && (allergy || !p.member.empty())) continue;
    const std::string key_name = cat.text(locale, "pref." + p.key) == "pref." + p.key ? p.key : cat.text(locale, "pref." + p.key);
    const std::string who = p.said_by.empty() ? cat.text(locale, "someone.cashier") : cat.text(locale, "someone." + p.said_by);
    const std::string why = cat.text(locale, "preference.why", {{"said_by", who}, {"date", cat.date(locale, p.time_ms)}});
    if (allergy)
      add("allergy", 95,
          cat.text(locale, p.member.empty() ? "allergy.text" : "allergy.member_text",
                   {{"member", iso(p.member)}, {"value", iso(p.value)}}),
          why);
    else
      add("preference", 80,
          cat.text(locale, p.member.empty() ? "preference.text" : "preference.member_text",
                   {{"member", iso(p.member)}, {"key", key_name}, {"value", iso(p.value)}}),
          why);
  }

  // Birthday and anniversary, within three days either side (not on customer-facing screens).
  if (!discreet && mentionable({"birthday"})) {
    const Moment today = moment_at(now_ms);  // the shop's day, as the birthday rules count it
    for (const auto& [date, prefix] : {std::pair{c.birthday, std::string("birthday")}, std::pair{c.anniversary, std::string("anniversary")}}) {
      const auto days = days_to_annual(date, today, 3, 3);
      if (!days) continue;
      std::string text;
      if (*days == 0) text = cat.text(locale, prefix + ".today");
      else if (*days > 0) text = cat.text(locale, prefix + ".soon", {{"days", num(*days)}});
      else if (prefix == "birthday") text = cat.text(locale, "birthday.recent", {{"days", num(-*days)}});
      if (!text.empty()) add(prefix, 85, text, cat.text(locale, "birthday.why"));
    }
  }

  // The customer's own repeat items, from incrementally kept counts (read top rows only).
  const auto personal = store_.top_items(c.id, max_predictions + static_cast<int>(in_basket.size()) + 10);
  std::vector<const ItemStat*> usual;
  for (const auto& item : personal)
    if (item.baskets >= 2 && item.baskets * 2 >= c.visits && usual.size() < 3 && item_ok(item)) usual.push_back(&item);

  if (!in_basket.empty()) {
    // With a basket on the belt: the usual items not in it yet.
    int shown = 0;
    for (const auto* item : usual) {
      if (in_basket.count(item->sku) || shown >= 2) continue;
      ++shown;
      add("missing_usual", 75, cat.text(locale, "missing.text", {{"item", iso(display_name(*item))}}),
          cat.text(locale, "missing.why", {{"baskets", num(item->baskets)}, {"visits", num(c.visits)}}));
    }
  } else if (!usual.empty()) {
    std::string names;
    for (std::size_t i = 0; i < usual.size(); ++i)
      names += (i ? cat.text(locale, "list.separator") : "") + iso(display_name(*usual[i]));
    add("usual_items", 60, cat.text(locale, "usual.text", {{"items", names}}),
        cat.text(locale, "usual.why", {{"baskets", num(usual.front()->baskets)}, {"visits", num(c.visits)}}));
  }

  // Due for repurchase: bought at least three times, at a steady cycle, and the cycle is up.
  for (const auto& item : personal) {
    if (item.baskets < 3 || in_basket.count(item.sku) || !item_ok(item)) continue;
    const std::int64_t cycle = (item.last_ms - item.first_ms) / (item.baskets - 1) / kDayMs;
    const std::int64_t since = (now_ms - item.last_ms) / kDayMs;
    if (cycle < 2 || since < cycle) continue;
    add("due", 65,
        cat.text(locale, "due.text", {{"item", iso(display_name(item))}, {"cycle", num(cycle)}, {"days", num(since)}}),
        cat.text(locale, "due.why", {{"baskets", num(item.baskets)}, {"cycle", num(cycle)}}));
    break;  // one is enough for a cashier
  }

  // What household members like ("her son loves the salt & vinegar chips").
  if (!discreet) {
    std::vector<std::string> members_done;
    for (const auto& taste : c.member_visits > 0 ? store_.member_tastes(c.id, 12) : std::vector<MemberTaste>{}) {
      if (std::find(members_done.begin(), members_done.end(), taste.member) != members_done.end()) continue;
      if (!mentionable({taste.member, taste.sku, taste.name})) continue;
      members_done.push_back(taste.member);
      add("household", 70, cat.text(locale, "household.text", {{"member", iso(taste.member)}, {"items", iso(taste.name)}}),
          cat.text(locale, "household.why", {{"member", iso(taste.member)}, {"baskets", num(taste.baskets)}}));
      if (members_done.size() >= 2) break;
    }
    // The latest cashier note.
    for (const auto& note : store_.recent_notes(c.id, 1))
      if (mentionable({note.text}))
        add("note", 55, cat.text(locale, "note.text", {{"text", iso(note.text)}}),
            cat.text(locale, "note.why", {{"cashier", note.cashier.empty() ? cat.text(locale, "someone.cashier") : iso(note.cashier)},
                                          {"date", cat.date(locale, note.time_ms)}}));
  }

  // Predictions. P(item in the next basket) is modelled as a mixture: with weight r the customer
  // repeats their own habits (recency-weighted share of visits with the item), with weight 1-r
  // they explore. r is how often this customer's basket items were already known to them,
  // shrunk towards the store's rate, so a store where people rarely repeat leans on exploring
  // without any per-store tuning. Exploring follows what sells in the store (g, the share of
  // baskets with the item) and what customers with the same top items went on to buy (E):
  // X = (g + kLambda * E) / (1 + kLambda), with E for item j the mean over the customer's top
  // items i of (tr_ij + kSmooth * g_j) / (trc_i + kSmooth), which is g_j when i tells nothing.
  const StoreTotals totals = store_.totals();
  const double store_repeat = totals.repeat_total > 0 ? static_cast<double>(totals.repeat_hits) / static_cast<double>(totals.repeat_total) : 0.5;
  constexpr double kShrink = 10.0;  // baskets' worth of evidence before a customer's own rate counts fully
  const double r = (static_cast<double>(c.repeat_hits) + kShrink * store_repeat) / (static_cast<double>(c.repeat_total) + kShrink);
  const double visits = static_cast<double>(std::max<std::int64_t>(1, c.visits));
  const double norm = (1.0 - std::pow(kItemDecay, visits)) / (1.0 - kItemDecay);  // decayed weight of all visits
  const double all_baskets = static_cast<double>(std::max<std::int64_t>(1, totals.baskets));

  // kLambda 0.15: on Ta-Feng it keeps recall@10 level and lifts the low-repeat store's by 5%
  // (0.15 to 0.5 tried; tests/eval/research/results.md has the method behind E).
  constexpr double kLambda = 0.15, kSmooth = 30.0;
  constexpr std::size_t kSeeds = 5;
  std::vector<std::string> seeds;
  for (std::size_t i = 0; i < personal.size() && i < kSeeds; ++i) seeds.push_back(personal[i].sku);
  const auto sources = store_.successors(seeds, kMaxNeighbours);  // most frequent first
  auto share = [&](std::int64_t store_baskets) { return std::min(1.0, static_cast<double>(store_baskets) / all_baskets); };
  // sum over the seeds of tr_ij / (trc_i + kSmooth), per successor j, computed once.
  std::unordered_map<std::string, double> followed_mass;
  double smooth_mass = static_cast<double>(seeds.size() - sources.size());  // seeds nobody followed yet: E = g
  for (const auto& src : sources) {
    const double denom = static_cast<double>(src.transitions) + kSmooth;
    smooth_mass += kSmooth / denom;
    for (const auto& n : src.neighbours) followed_mass[n.sku] += static_cast<double>(n.count) / denom;
  }
  auto similar = [&](const std::string& sku, double g) {  // E_j
    if (seeds.empty()) return g;
    const auto it = followed_mass.find(sku);
    return ((it == followed_mass.end() ? 0.0 : it->second) + smooth_mass * g) / static_cast<double>(seeds.size());
  };

  struct Candidate {
    const ItemStat* item;
    double personal, popular, similar, score;
  };
  std::vector<Candidate> candidates;
  std::unordered_set<std::string> seen;
  auto explore = [&](double g, double e) { return (g + kLambda * e) / (1.0 + kLambda); };
  for (const auto& item : personal) {
    if (in_basket.count(item.sku) || !item_ok(item)) continue;
    const double p = item.dsum * std::pow(kItemDecay, visits - static_cast<double>(item.dvis)) / norm;
    const double g = share(item.store_baskets), e = similar(item.sku, g);
    candidates.push_back({&item, p, g, e, r * p + (1.0 - r) * explore(g, e)});
    seen.insert(item.sku);
  }
  const auto popular = store_.popular_items(max_predictions * 3 + static_cast<int>(in_basket.size()) + 20);
  for (const auto& item : popular) {
    if (in_basket.count(item.sku) || seen.count(item.sku) || !item_ok(item)) continue;
    const double g = share(item.store_baskets), e = similar(item.sku, g);
    candidates.push_back({&item, 0.0, g, e, (1.0 - r) * explore(g, e)});
    seen.insert(item.sku);
  }
  std::deque<ItemStat> followed;  // candidates found only as successors of the customer's items
  constexpr std::size_t kPerSource = 10;  // new candidates: each seed's strongest successors
  for (const auto& src : sources) {
    for (std::size_t k = 0; k < src.neighbours.size() && k < kPerSource; ++k) {
      const Neighbour& n = src.neighbours[k];
      if (in_basket.count(n.sku) || seen.count(n.sku)) continue;
      const auto info = store_.item_info(n.sku);
      if (!info) continue;
      ItemStat& item = followed.emplace_back();
      item.sku = n.sku;
      item.name = info->name;
      item.category = info->category;
      item.store_baskets = info->baskets;
      seen.insert(n.sku);
      if (!item_ok(item)) continue;
      const double g = share(item.store_baskets), e = similar(item.sku, g);
      candidates.push_back({&item, 0.0, g, e, (1.0 - r) * explore(g, e)});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.popular > b.popular;
  });
  json predictions = json::array();
  for (const auto& cand : candidates) {
    if (static_cast<int>(predictions.size()) >= max_predictions) break;
    const bool mine = cand.personal > 0 && r * cand.personal >= (1.0 - r) * explore(cand.popular, cand.similar);
    const bool followed_on = cand.similar > cand.popular;  // the customer's items point to it
    predictions.push_back({{"sku", cand.item->sku},
                           {"name", display_name(*cand.item)},
                           {"score", std::round(cand.score * 10000.0) / 10000.0},
                           {"reason", mine ? cat.text(locale, "prediction.reason.personal",
                                                      {{"baskets", num(cand.item->baskets)}, {"visits", num(c.visits)}})
                                      : followed_on ? cat.text(locale, "prediction.reason.similar")
                                                    : cat.text(locale, "prediction.reason.popular")}});
  }

  std::stable_sort(hints.begin(), hints.end(),
                   [](const json& a, const json& b) { return a["priority"].get<int>() > b["priority"].get<int>(); });
  if (static_cast<int>(hints.size()) > max_hints) hints.erase(hints.begin() + max_hints, hints.end());
  out["hints"] = std::move(hints);
  out["predictions"] = std::move(predictions);
  return out;
}

}  // namespace regulars::daemon
