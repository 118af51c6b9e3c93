// The customer's rights and the owner's accountability: a customer's whole record as JSON (the
// right of access) and the audit trail of owner actions. Erasure itself is EventStore::erase_customer.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "db/db.hpp"

namespace regulars::daemon {

// Everything the store holds about one customer, as JSON: profile and counters, consents with
// their purposes, time and place, identifiers (kinds and dates; only keyed hashes are stored,
// so no values), every event in the log (as logged: no raw identifiers), preferences, notes,
// household, item memory, feedback with comments, follow-ups and gesture offers.
nlohmann::json export_customer(Db& db, std::int64_t customer_id);

// The owner's audit trail, newest first.
nlohmann::json audit_log(Db& db, int limit);

}  // namespace regulars::daemon
