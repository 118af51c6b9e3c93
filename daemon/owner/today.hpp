// The owner's day at a glance, for the dashboard's Today page and GET /v1/today: visits today and
// the share by returning customers, offers made and accepted today, the latest NPS and CSAT,
// open follow-ups and new staff ideas. "Today" is the shop's local day (base/clock.hpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "db/db.hpp"

namespace regulars::daemon {

// How far back "latest" satisfaction reaches, in local days including today.
inline constexpr int kTodaySatisfactionDays = 30;

struct LocalDay {
  std::int64_t start_ms = 0;  // local midnight
  std::int64_t end_ms = 0;    // the next local midnight (23 or 25 hours on when the clocks change)
  std::string date;           // "YYYY-MM-DD", local
};

// The shop's local day holding `now_ms`, in the daemon's time zone (TZ).
LocalDay local_day(std::int64_t now_ms);

// The figures of the local day holding `now_ms`, read on a read-only connection.
nlohmann::json today_summary(Db& db, std::int64_t now_ms);

}  // namespace regulars::daemon
