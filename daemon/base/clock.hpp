// The shop's calendar. Days, weeks and months that people count (a rule's daily cap, "birthday
// in 2 days", a birthday rule) are local days in the daemon's time zone (TZ), never UTC days:
// near midnight in a shop away from UTC the two differ, and a hint and a gesture that counted
// differently would disagree about what day it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace regulars::daemon {

// The local calendar at one instant.
struct Moment {
  std::int64_t ms = 0;
  std::int64_t day = 0;   // local days since 1970-01-01
  int weekday = 0;        // 0 = Monday
  int minute = 0;         // minutes after local midnight
  std::int64_t week = 0;  // weeks since 1970, Monday first
  int month = 0;          // year * 12 + month - 1
};

// The calendar at `unix_ms` in the daemon's time zone (TZ, read by localtime_r), with the
// offset in force at that instant (summer time included).
Moment moment_at(std::int64_t unix_ms);

// The calendar at `unix_ms` on a clock `utc_offset_s` seconds ahead of UTC: what a till that
// wrote "+03:30" into an event's time showed, whatever the daemon's own zone.
Moment moment_at_offset(std::int64_t unix_ms, std::int64_t utc_offset_s);

// Signed days from the local day of `now` to the nearest occurrence of a yearly date: a birthday
// or an anniversary, "MM-DD" or "YYYY-MM-DD" (the year is ignored). 0 is that day, 2 is in two
// days, -1 was yesterday. Feb 29 falls on Feb 28 in years without one. nullopt when the date is
// more than `days_before` days ahead or `days_after` days back (each at most 180), or when
// `date` is not a date of that form.
std::optional<std::int64_t> days_to_annual(std::string_view date, const Moment& now, int days_before, int days_after);

}  // namespace regulars::daemon
