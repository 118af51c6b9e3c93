#include "owner/today.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "base/clock.hpp"
#include "owner/reports.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

// Local midnight before `ms`. The clock's minutes since midnight are not the minutes elapsed on
// a day the clocks change, so the guess is corrected by what the clock showed at it.
std::int64_t local_midnight(std::int64_t ms) {
  const Moment now = moment_at(ms);
  std::int64_t start = ms - std::int64_t{now.minute} * 60'000 - ((ms % 60'000) + 60'000) % 60'000;
  for (int i = 0; i < 2; ++i) {
    const Moment guess = moment_at(start);
    if (guess.day < now.day) start += std::int64_t{24 * 60 - guess.minute} * 60'000;
    else if (guess.minute > 0) start -= std::int64_t{guess.minute} * 60'000;
    else break;
  }
  return start;
}

}  // namespace

LocalDay local_day(std::int64_t now_ms) {
  LocalDay d;
  d.start_ms = local_midnight(now_ms);
  // A day the clocks change lasts 23 or 25 hours: 26 hours on is always within the next day.
  d.end_ms = local_midnight(d.start_ms + 26 * 3'600'000);
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{moment_at(now_ms).day}}};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  d.date = text;
  return d;
}

namespace {

json percent(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return nullptr;
  return std::round(1000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 10.0;
}

// A visit is a purchase; it is a returning customer's when they had bought before today (their
// first purchase, customers.first_seen_ms, is earlier: one row looked up, not their history).
json visits(Db& db, const LocalDay& day) {
  Stmt s(db.raw(),
         "SELECT count(*), coalesce(sum(c.first_seen_ms < ?1), 0) FROM events e LEFT JOIN customers c ON c.id=e.customer_id "
         "WHERE e.type='purchase' AND e.origin IS NULL AND e.time_ms>=?1 AND e.time_ms<?2");
  s.bind(1, day.start_ms).bind(2, day.end_ms);
  s.step();
  const std::int64_t total = s.i64(0), returning = s.i64(1);
  return {{"total", total}, {"returning", returning}, {"returning_share", percent(returning, total)}};
}

// Held-out customers were not offered anything: they are the control group, not offers made.
json offers(Db& db, const LocalDay& day) {
  Stmt s(db.raw(),
         "SELECT coalesce(sum(status<>'held_out'), 0), coalesce(sum(status IN ('accepted', 'redeemed')), 0) "
         "FROM offers WHERE made_ms>=? AND made_ms<?");
  s.bind(1, day.start_ms).bind(2, day.end_ms);
  s.step();
  return {{"made", s.i64(0)}, {"accepted", s.i64(1)}};
}

// NPS and CSAT over the last kTodaySatisfactionDays local days, as the satisfaction report
// computes them (owner/reports.hpp).
json satisfaction(Db& db, const LocalDay& day) {
  Stmt s(db.raw(),
         "SELECT count(nps), coalesce(sum(nps >= 9), 0), coalesce(sum(nps <= 6), 0), count(csat), coalesce(sum(csat >= "
         "4), 0) "
         "FROM feedback WHERE declined=0 AND time_ms>=? AND time_ms<? AND " + feedback_said_here());
  s.bind(1, day.start_ms - (kTodaySatisfactionDays - 1) * kDayMs).bind(2, day.end_ms);
  s.step();
  const std::int64_t nps_n = s.i64(0), csat_n = s.i64(3);
  return {{"days", kTodaySatisfactionDays},
          {"nps", nps_n > 0 ? percent(s.i64(1) - s.i64(2), nps_n) : json(nullptr)},
          {"nps_responses", nps_n},
          {"csat", percent(s.i64(4), csat_n)},
          {"csat_responses", csat_n}};
}

json open_followups(Db& db, std::int64_t now_ms) {
  Stmt s(db.raw(), "SELECT count(*), min(opened_ms) FROM followups WHERE state='open'");
  s.step();
  return {{"open", s.i64(0)}, {"oldest_days", s.is_null(1) ? json(nullptr) : json((now_ms - s.i64(1)) / kDayMs)}};
}

// New: flagged by staff and not yet marked seen or done by the owner, however old.
json new_ideas(Db& db) {
  Stmt s(db.raw(), "SELECT count(*) FROM staff_ideas WHERE state='new'");
  s.step();
  return {{"new", s.i64(0)}};
}

}  // namespace

json today_summary(Db& db, std::int64_t now_ms) {
  const LocalDay day = local_day(now_ms);
  return {{"day", day.date},
          {"from", wire::format_time_ms(day.start_ms)},
          {"to", wire::format_time_ms(day.end_ms)},
          {"visits", visits(db, day)},
          {"offers", offers(db, day)},
          {"satisfaction", satisfaction(db, day)},
          {"followups", open_followups(db, now_ms)},
          {"ideas", new_ideas(db)}};
}

}  // namespace regulars::daemon
