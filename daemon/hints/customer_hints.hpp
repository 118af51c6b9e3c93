// One function per kind of hint. Each reads what the store already gave the answer (nothing here
// queries it) and adds its hints, if any, to the list. Internal to hints/.
#pragma once

#include <optional>
#include <vector>

#include "hints/answer_context.hpp"

namespace regulars::daemon {

// Who is at the till: first visit, or the how-manyth and since when (discreet: a neutral word).
void greet(const AnswerContext& ctx, HintList& hints);
// The customer left unhappy and the owner has not closed the follow-up yet.
void recall_complaint(const AnswerContext& ctx, const std::optional<OpenFollowup>& open, HintList& hints);
// This visit is one to ask for a rating on.
void ask_for_feedback(const AnswerContext& ctx, bool ask, HintList& hints);
// Explicit preferences, allergies among them.
void recall_preferences(const AnswerContext& ctx, const std::vector<Preference>& preferences, HintList& hints);
// A birthday or anniversary within three days either side.
void mark_annual_dates(const AnswerContext& ctx, HintList& hints);
// The customer's usual items: those not yet in the basket, or (no basket yet) what they are.
void point_out_usual_items(const AnswerContext& ctx, const std::vector<ItemStat>& personal, HintList& hints);
// One item bought at a steady cycle whose cycle is up.
void point_out_item_due(const AnswerContext& ctx, const std::vector<ItemStat>& personal, HintList& hints);
// What household members like ("her son loves the salt & vinegar chips"), two members at most.
void share_household_tastes(const AnswerContext& ctx, const std::vector<MemberTaste>& tastes, HintList& hints);
// The latest cashier note.
void recall_note(const AnswerContext& ctx, const std::vector<Note>& notes, HintList& hints);

}  // namespace regulars::daemon
