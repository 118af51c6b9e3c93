#include "hints/customer_hints.hpp"

#include <algorithm>
#include <cctype>

#include "base/clock.hpp"

namespace regulars::daemon {

namespace {
constexpr std::int64_t kDayMs = 86'400'000;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

DoNotMention::DoNotMention(const std::vector<std::string>& topics) {
  for (const auto& topic : topics) topics_.insert(lower(topic));
}

bool DoNotMention::allows(std::initializer_list<std::string_view> topics) const {
  if (topics_.empty()) return true;  // the usual case: nothing to lower-case and look up
  for (const auto t : topics)
    if (!t.empty() && topics_.count(lower(t))) return false;
  return true;
}

void HintList::add(HintKind kind, std::string text, std::string why) {
  const HintKindInfo& info = hint_kind_info(kind);
  if (!dnm_.allows({info.name})) return;
  hints_.push_back({{"kind", info.name}, {"priority", info.priority}, {"text", std::move(text)}, {"why", std::move(why)}});
}

nlohmann::json HintList::take(int max_hints) {
  std::stable_sort(hints_.begin(), hints_.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["priority"].get<int>() > b["priority"].get<int>();
  });
  if (static_cast<int>(hints_.size()) > max_hints) hints_.erase(hints_.begin() + max_hints, hints_.end());
  return std::move(hints_);
}

std::string display_name(const ItemStat& item) { return item.name.empty() ? item.sku : item.name; }

void greet(const AnswerContext& ctx, HintList& hints) {
  const Phrasing& say = ctx.say;
  const CustomerView& c = ctx.customer;
  if (ctx.discreet) return hints.add(HintKind::greeting, say.text("greeting.discreet"), "");
  const std::string kind = say.text_or("kind." + ctx.id_kind, ctx.id_kind);
  if (c.visits == 0) return hints.add(HintKind::greeting, say.text("greeting.first"), say.text("greeting.why_first", {{"kind", kind}}));
  // The visit about to happen is visit number visits + 1.
  const std::int64_t days_since = std::max<std::int64_t>(0, (ctx.now_ms - c.last_seen_ms) / kDayMs);
  const bool named = !c.name.empty() && ctx.dnm.allows({"name"});
  hints.add(HintKind::greeting,
            say.text("greeting.returning", {{"name", say.iso(named ? c.name : "")},
                                            {"visits", say.num(c.visits + 1)},
                                            {"since", say.text("since", {{"days", say.num(days_since)}})}}),
            say.text("greeting.why", {{"kind", kind}, {"visits", say.num(c.visits)}, {"first_seen", say.date(c.first_seen_ms)}}));
}

void recall_complaint(const AnswerContext& ctx, const std::optional<OpenFollowup>& open, HintList& hints) {
  if (!open || !ctx.dnm.allows({"recovery"})) return;
  const Phrasing& say = ctx.say;
  if (ctx.discreet) return hints.add(HintKind::recovery, say.text("recovery.discreet"), "");
  std::string score;
  if (open->nps) score = say.text("score.nps", {{"points", say.num(*open->nps)}});
  else if (open->csat) score = say.text("score.csat", {{"points", say.num(*open->csat)}});
  // A reason the phrasebook knows is said in the locale; another is the till's own word.
  std::vector<std::string> reasons;
  for (const auto& r : open->reasons) {
    std::string words = r;
    std::replace(words.begin(), words.end(), '_', ' ');
    const std::string known = say.text("reason." + r);
    reasons.push_back(known == "reason." + r ? words : known);
  }
  const std::string listed = reasons.empty() ? std::string() : say.list(reasons);
  hints.add(HintKind::recovery,
            score.empty() ? say.text("recovery.unrated", {{"reasons", listed}})
                          : say.text("recovery.text", {{"score", score}, {"reasons", listed}}),
            say.text("recovery.why", {{"date", say.date(open->opened_ms)}}));
}

void ask_for_feedback(const AnswerContext& ctx, bool ask, HintList& hints) {
  if (!ask || ctx.discreet) return;
  const Phrasing& say = ctx.say;
  const std::int64_t last = ctx.customer.last_feedback_ms;
  hints.add(HintKind::ask_feedback, say.text("ask_feedback.text"),
            last > 0 ? say.text("ask_feedback.why", {{"date", say.date(last)}}) : say.text("ask_feedback.why_never"));
}

void recall_preferences(const AnswerContext& ctx, const std::vector<Preference>& preferences, HintList& hints) {
  const Phrasing& say = ctx.say;
  for (const auto& p : preferences) {
    if (p.key == "salutation" || !ctx.dnm.allows({p.key, p.member, p.value})) continue;  // the form of address is used, not shown
    const bool allergy = p.key == "allergy";
    if (ctx.discreet && (allergy || !p.member.empty())) continue;
    const std::string key_name = say.text_or("pref." + p.key, p.key);
    const std::string who = p.said_by.empty() ? say.text("someone.cashier") : say.text_or("someone." + p.said_by, p.said_by);
    std::string why = say.text("preference.why", {{"said_by", who}, {"date", say.date(p.time_ms)}});
    if (allergy)
      hints.add(HintKind::allergy, say.text("allergy.text", {{"member", say.iso(p.member)}, {"value", say.iso(p.value)}}),
                std::move(why));
    else
      hints.add(HintKind::preference,
                say.text("preference.text", {{"member", say.iso(p.member)}, {"key", key_name}, {"value", say.iso(p.value)}}),
                std::move(why));
  }
}

void mark_annual_dates(const AnswerContext& ctx, HintList& hints) {
  if (ctx.discreet || !ctx.dnm.allows({"birthday"})) return;  // never on a customer-facing screen
  const Phrasing& say = ctx.say;
  const Moment today = moment_at(ctx.now_ms);  // the shop's day, as the birthday rules count it
  const std::pair<const std::string&, HintKind> dates[] = {{ctx.customer.birthday, HintKind::birthday},
                                                           {ctx.customer.anniversary, HintKind::anniversary}};
  for (const auto& [date, kind] : dates) {
    const auto days = days_to_annual(date, today, 3, 3);
    if (!days) continue;
    const std::string prefix(hint_kind_info(kind).name);
    std::string text;
    if (*days == 0) text = say.text(prefix + ".today");
    else if (*days > 0) text = say.text(prefix + ".soon", {{"days", say.num(*days)}});
    else if (kind == HintKind::birthday) text = say.text("birthday.recent", {{"days", say.num(-*days)}});
    if (!text.empty()) hints.add(kind, text, say.text("birthday.why"));
  }
}

void point_out_usual_items(const AnswerContext& ctx, const std::vector<ItemStat>& personal, HintList& hints) {
  const Phrasing& say = ctx.say;
  const CustomerView& c = ctx.customer;
  // Usual: bought on at least half the visits, and more than once; three at most.
  std::vector<const ItemStat*> usual;
  for (const auto& item : personal)
    if (item.baskets >= 2 && item.baskets * 2 >= c.visits && usual.size() < 3 && ctx.dnm.allows(item)) usual.push_back(&item);
  if (!ctx.basket.empty()) {  // with a basket on the belt: the usual items not in it yet
    int shown = 0;
    for (const auto* item : usual) {
      if (ctx.basket.count(item->sku) || shown >= 2) continue;
      ++shown;
      hints.add(HintKind::missing_usual, say.text("missing.text", {{"item", say.iso(display_name(*item))}}),
                say.text("missing.why", {{"baskets", say.num(item->baskets)}, {"visits", say.num(c.visits)}}));
    }
    return;
  }
  if (usual.empty()) return;
  std::vector<std::string> names;
  for (const auto* item : usual) names.push_back(display_name(*item));
  hints.add(HintKind::usual_items, say.text("usual.text", {{"items", say.list(names)}}),
            say.text("usual.why", {{"baskets", say.num(usual.front()->baskets)}, {"visits", say.num(c.visits)}}));
}

void point_out_item_due(const AnswerContext& ctx, const std::vector<ItemStat>& personal, HintList& hints) {
  const Phrasing& say = ctx.say;
  // Bought at least three times, at a steady cycle, and the cycle is up. One is enough.
  for (const auto& item : personal) {
    if (item.baskets < 3 || ctx.basket.count(item.sku) || !ctx.dnm.allows(item)) continue;
    const std::int64_t cycle = (item.last_ms - item.first_ms) / (item.baskets - 1) / kDayMs;
    const std::int64_t since = (ctx.now_ms - item.last_ms) / kDayMs;
    if (cycle < 2 || since < cycle) continue;
    return hints.add(HintKind::due,
                     say.text("due.text", {{"item", say.iso(display_name(item))}, {"cycle", say.num(cycle)}, {"days", say.num(since)}}),
                     say.text("due.why", {{"baskets", say.num(item.baskets)}, {"cycle", say.num(cycle)}}));
  }
}

void share_household_tastes(const AnswerContext& ctx, const std::vector<MemberTaste>& tastes, HintList& hints) {
  const Phrasing& say = ctx.say;
  std::vector<std::string> members_done;
  for (const auto& taste : tastes) {
    if (std::find(members_done.begin(), members_done.end(), taste.member) != members_done.end()) continue;
    if (!ctx.dnm.allows({taste.member, taste.sku, taste.name})) continue;
    members_done.push_back(taste.member);
    hints.add(HintKind::household, say.text("household.text", {{"member", say.iso(taste.member)}, {"items", say.list({taste.name})}}),
              say.text("household.why", {{"member", say.iso(taste.member)}, {"baskets", say.num(taste.baskets)}}));
    if (members_done.size() >= 2) return;
  }
}

void recall_note(const AnswerContext& ctx, const std::vector<Note>& notes, HintList& hints) {
  const Phrasing& say = ctx.say;
  for (const auto& note : notes) {
    if (!ctx.dnm.allows({note.text})) continue;
    hints.add(HintKind::note, say.text("note.text", {{"text", say.iso(note.text)}}),
              say.text("note.why", {{"cashier", say.iso(note.cashier)}, {"date", say.date(note.time_ms)}}));
  }
}

}  // namespace regulars::daemon
