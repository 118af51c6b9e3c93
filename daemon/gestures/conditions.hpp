// A rule's condition asked about one customer at one moment, the customer's segment, and the
// control group a rule holds out. The live engine and the dry run ask the same way; only the
// facts behind the answers differ (facts.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "base/clock.hpp"
#include "gestures/facts.hpp"
#include "gestures/rules.hpp"

namespace regulars::daemon {

// "new", "occasional", "regular" or "lapsed" (sdk/GESTURES.md has the definitions).
std::string segment_of(const Facts& f, std::int64_t now_ms);

// True when `rule`'s condition holds. "random" conditions draw from the rule id, the customer
// and the visit, so the same visit always draws the same answer.
bool rule_applies(const rules::Rule& rule, Facts& facts, const Moment& now);

// Deterministic control-group membership: the same rule and customer always answer the same.
bool held_out(const rules::Rule& rule, std::int64_t customer_id);

// Puts the cheap conditions of every all/any first (what the basket shows before what the store
// must be asked), so they short-circuit before anything reads the store. Same answers, sooner.
void order_by_cost(rules::Condition& c);

}  // namespace regulars::daemon
