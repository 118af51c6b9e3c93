#include "base/clock.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "wire/validate.hpp"

namespace regulars::daemon {
namespace {

constexpr std::int64_t kDaySeconds = 86'400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Year and month (1..12) of a day since 1970-01-01: the inverse of wire::days_from_civil
// (Howard Hinnant's algorithm).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m) {
  z += 719468;
  const std::int64_t era = floor_div(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

}  // namespace

Moment moment_at_offset(std::int64_t unix_ms, std::int64_t utc_offset_s) {
  Moment m;
  m.ms = unix_ms;
  const std::int64_t local_s = floor_div(unix_ms, 1000) + utc_offset_s;
  m.day = floor_div(local_s, kDaySeconds);
  m.minute = static_cast<int>((local_s - m.day * kDaySeconds) / 60);
  m.weekday = static_cast<int>(((m.day + 3) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  m.week = floor_div(m.day + 3, 7);
  std::int64_t year = 0;
  unsigned month = 0;
  civil_from_days(m.day, year, month);
  m.month = static_cast<int>(year * 12 + month - 1);
  return m;
}

Moment moment_at(std::int64_t unix_ms) {
  const auto t = static_cast<std::time_t>(floor_div(unix_ms, 1000));
  std::tm tm{};
  localtime_r(&t, &tm);
  return moment_at_offset(unix_ms, tm.tm_gmtoff);
}

std::optional<std::int64_t> days_to_annual(std::string_view date, const Moment& now, int days_before, int days_after) {
  if (date.size() == 10) {
    if (!digits(date.substr(0, 4)) || date[4] != '-') return std::nullopt;
    date.remove_prefix(5);
  }
  if (date.size() != 5 || date[2] != '-' || !digits(date.substr(0, 2)) || !digits(date.substr(3, 2))) return std::nullopt;
  const auto m = static_cast<unsigned>((date[0] - '0') * 10 + (date[1] - '0'));
  const auto d = static_cast<unsigned>((date[3] - '0') * 10 + (date[4] - '0'));
  static constexpr unsigned kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kMonthDays[m - 1]) return std::nullopt;
  const std::int64_t year = floor_div(now.month, 12);
  std::optional<std::int64_t> nearest;
  for (const std::int64_t y : {year - 1, year, year + 1}) {
    const unsigned day = (m == 2 && d == 29 && !leap(y)) ? 28 : d;
    const std::int64_t delta = wire::days_from_civil(y, m, day) - now.day;
    if (!nearest || std::llabs(delta) < std::llabs(*nearest)) nearest = delta;
  }
  if (*nearest > days_before || *nearest < -static_cast<std::int64_t>(days_after)) return std::nullopt;
  return nearest;
}

}  // namespace regulars::daemon
