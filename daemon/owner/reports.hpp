// The owner's reports on satisfaction and service: NPS and CSAT by week, cashier, lane,
// store or touchpoint; the follow-up queue; staff ideas; a customer's journey. Computed on a
// read-only connection from the projections (feedback, followups, staff_ideas) and the log.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "db/db.hpp"
#include "wire/error.hpp"

namespace regulars::daemon {

// A store's reports are about its own customers' words and visits: in a chain of stores, the
// feedback and purchases applied from the other stores count in the chain's report (chain/), not
// in a store's. The SQL condition on a feedback row (`row`: the table's name or alias in the
// query) that keeps those said at this store.
inline std::string feedback_said_here(const std::string& row = "feedback") {
  return "NOT EXISTS (SELECT 1 FROM events o WHERE o.seq = " + row + ".seq AND o.origin IS NOT NULL)";
}

// Validates a report request ({"by": ..., "from": RFC 3339, "to": RFC 3339}); the error names
// the field at fault.
std::optional<wire::Error> validate_report_request(const nlohmann::json& request);

// One row of a satisfaction report: NPS and CSAT with their response counts and 95% intervals.
nlohmann::json satisfaction_row(const std::string& key, std::int64_t nps_n, std::int64_t promoters, std::int64_t detractors,
                                std::int64_t csat_n, std::int64_t satisfied);

// NPS (% promoters − % detractors, of responses with an NPS score) and CSAT (% of CSAT
// responses at 4 or 5), with response counts, grouped by request["by"] (week, cashier, lane,
// store, touchpoint or all), plus the store's returning-customer rate over the same period.
nlohmann::json satisfaction_report(Db& db, const nlohmann::json& request, std::int64_t now_ms);

// The follow-up queue, oldest first, at most `limit` items, and how many are in `state` (open,
// contacted, resolved or all).
nlohmann::json followup_queue(Db& db, const std::string& state, std::int64_t now_ms, int limit);

// Feedback comments in [from, to), newest first, with only those tagged `reason` unless it is
// empty; and the period's tags with how many comments carry each.
nlohmann::json feedback_comments(Db& db, const std::string& reason, std::int64_t from, std::int64_t to, int limit);

// Staff ideas and problems flagged from the tills, newest first; `state` is new, seen, done or all.
nlohmann::json staff_ideas(Db& db, const std::string& state, int limit);

// One customer's events across touchpoints, oldest first (no raw identifiers).
nlohmann::json customer_journey(Db& db, std::int64_t customer_id, int limit);

}  // namespace regulars::daemon
