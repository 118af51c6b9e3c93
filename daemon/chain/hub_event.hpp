// The hub's rows to and from the store's events. What the chain carries: the events that make a
// customer's memory (purchases, returns, consent, preferences, notes, profile, links, merges and
// feedback). The store's own work (offers and their outcomes, follow-ups, staff ideas and their
// review) stays with the store.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "chain/hub.hpp"
#include "store/prepared_event.hpp"

namespace regulars::daemon::chain {

// The SQL list of the event types the chain carries, for the publisher's query.
extern const char* const kCarriedTypesSql;
bool is_carried_type(std::string_view type) noexcept;

// A row from the hub checked as any input from outside is: every field, and the body as the
// validator checks an event from a till (with its hashed identifiers standing in for the raw
// ones). Returns the event ready for the writer, its origin set, or why the row was refused.
std::variant<PreparedEvent, std::string> prepared_from_hub(const HubEvent& row);

// An erasure's identifiers, to the hub as JSON [{"kind", "hash"}] and back, checked: 1 to 10,000 of
// them, each a known kind and a 64-digit hex hash.
using ErasedIdentifiers = std::vector<std::pair<std::string, IdentifierHash>>;
std::string identifiers_to_hub(const ErasedIdentifiers& identifiers);
std::variant<ErasedIdentifiers, std::string> identifiers_from_hub(const HubErasure& row);

}  // namespace regulars::daemon::chain
