// The kinds of hint a cashier may see, and the order they are shown in: one table instead of
// priorities written where each hint is made. A hints answer keeps the highest-priority hints
// (hints.max_hints); on a tie, the one made first.
#pragma once

#include <string_view>

namespace regulars::daemon {

enum class HintKind {
  greeting,
  recovery,
  allergy,
  offer,
  birthday,
  anniversary,
  preference,
  missing_usual,
  household,
  due,
  usual_items,
  note,
  ask_feedback,
};

struct HintKindInfo {
  HintKind kind;
  std::string_view name;  // the hint's "kind" in the answer (sdk/PROTOCOL.md), and a do-not-mention topic
  int priority;
};

// Why this order: who is at the till first; an unhappy customer before anything to sell; what
// could harm them before what could please them; the owner's gesture while the customer is
// still there; then what they buy, most actionable first; asking for feedback last.
inline constexpr HintKindInfo kHintKinds[] = {
    {HintKind::greeting, "greeting", 100},
    {HintKind::recovery, "recovery", 98},
    {HintKind::allergy, "allergy", 95},
    {HintKind::offer, "offer", 90},
    {HintKind::birthday, "birthday", 85},
    {HintKind::anniversary, "anniversary", 85},
    {HintKind::preference, "preference", 80},
    {HintKind::missing_usual, "missing_usual", 75},
    {HintKind::household, "household", 70},
    {HintKind::due, "due", 65},
    {HintKind::usual_items, "usual_items", 60},
    {HintKind::note, "note", 55},
    {HintKind::ask_feedback, "ask_feedback", 40},
};

constexpr const HintKindInfo& hint_kind_info(HintKind kind) {
  for (const auto& info : kHintKinds)
    if (info.kind == kind) return info;
  return kHintKinds[0];
}

}  // namespace regulars::daemon
