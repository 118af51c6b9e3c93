// What the customer is likely to buy next: the ranked item predictions of a hints answer.
// Internal to hints/.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "hints/answer_context.hpp"

namespace regulars::daemon {

class EventStore;

// The `max_predictions` likeliest items not in the basket, each with its sku, name, score and a
// reason the cashier can read. `personal` is the customer's own top items (EventStore::top_items).
nlohmann::json predict_items(const AnswerContext& ctx, EventStore& store, const std::vector<ItemStat>& personal,
                             int max_predictions);

}  // namespace regulars::daemon
