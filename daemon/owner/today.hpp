// The owner's day at a glance, for the dashboard's Today page and GET /v1/today: visits today and
// the share by returning customers, offers made and accepted today, the latest NPS and CSAT,
// open follow-ups and new staff ideas. "Today" is the shop's local day (base/clock.hpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "db/db.hpp"

namespace regulars::daemon {

// How far back "latest" satisfaction and "new" ideas reach, in local days including today.
inline constexpr int kTodaySatisfactionDays = 30;
inline constexpr int kTodayIdeasDays = 7;

// The figures of the local day holding `now_ms`, read on a read-only connection.
nlohmann::json today_summary(Db& db, std::int64_t now_ms);

}  // namespace regulars::daemon
