#include "owner/reports.hpp"

#include <cmath>

#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

double one_decimal(double v) { return std::round(v * 10.0) / 10.0; }

constexpr double kZ95 = 1.959964;  // a 95% interval

// NPS's 95% interval: NPS = 100 (p - d) for the shares of promoters and detractors, whose
// difference has variance (p + d - (p - d)^2) / n. With few answers it is wide, which is the point:
// an owner sees that 3 answers say little. Clamped to the scale.
std::pair<double, double> nps_interval(std::int64_t n, std::int64_t promoters, std::int64_t detractors) {
  const double nn = static_cast<double>(n), p = static_cast<double>(promoters) / nn, d = static_cast<double>(detractors) / nn;
  const double margin = 100.0 * kZ95 * std::sqrt(std::max(0.0, p + d - (p - d) * (p - d)) / nn);
  const double nps = 100.0 * (p - d);
  return {one_decimal(std::max(-100.0, nps - margin)), one_decimal(std::min(100.0, nps + margin))};
}

// CSAT's 95% interval: Wilson's, which stays inside 0-100% and is honest at small n.
std::pair<double, double> csat_interval(std::int64_t n, std::int64_t satisfied) {
  const double nn = static_cast<double>(n), p = static_cast<double>(satisfied) / nn, z2 = kZ95 * kZ95;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = kZ95 * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
  return {one_decimal(100.0 * std::max(0.0, centre - half)), one_decimal(100.0 * std::min(1.0, centre + half))};
}

// Of the customers who bought in [from, to), those who had bought before it (their first purchase,
// customers.first_seen_ms, is earlier) or came back within it.
json returning_customers(Db& db, std::int64_t from, std::int64_t to) {
  Stmt s(db.raw(),
         "SELECT count(*), coalesce(sum(p.n > 1 OR c.first_seen_ms < ?1), 0) FROM ("
         " SELECT customer_id, count(*) AS n FROM events WHERE type='purchase' AND customer_id IS NOT NULL AND origin IS NULL "
         " AND time_ms>=?1 AND time_ms<?2 GROUP BY customer_id) p JOIN customers c ON c.id=p.customer_id");
  s.bind(1, from).bind(2, to);
  s.step();
  const std::int64_t buyers = s.i64(0), returning = s.i64(1);
  return {{"buyers", buyers},
          {"returning", returning},
          {"rate", buyers > 0 ? json(one_decimal(100.0 * static_cast<double>(returning) / static_cast<double>(buyers))) : json(nullptr)}};
}

json interval_json(std::int64_t n, std::pair<double, double> interval) {
  return n > 0 ? json::array({interval.first, interval.second}) : json(nullptr);
}

// The SQL expression grouping feedback rows for each "by".
const char* group_expr(const std::string& by) {
  if (by == "week") return "date(time_ms / 1000, 'unixepoch', 'weekday 0', '-6 days')";  // the week's Monday
  if (by == "cashier") return "coalesce(cashier, '(none)')";
  if (by == "lane") return "coalesce(lane, '(none)')";
  if (by == "store") return "coalesce(store, '(none)')";
  if (by == "touchpoint") return "coalesce(touchpoint, '(none)')";
  return "'all'";
}

std::pair<std::int64_t, std::int64_t> period(const json& request, std::int64_t now_ms) {
  std::int64_t from = 0, to = now_ms + 1;
  if (request.contains("from")) from = *wire::parse_time_ms(request["from"].get<std::string>());
  if (request.contains("to")) to = *wire::parse_time_ms(request["to"].get<std::string>());
  return {from, to};
}

}  // namespace

std::optional<wire::Error> validate_report_request(const json& request) {
  constexpr auto code = wire::ErrorCode::invalid_request;
  if (!request.is_object()) return wire::Error{code, "request", "must be a JSON object"};
  for (const auto& [k, v] : request.items()) {
    if (k == "by") {
      static const std::vector<std::string> kBy{"week", "cashier", "lane", "store", "touchpoint", "all"};
      if (!v.is_string() || std::find(kBy.begin(), kBy.end(), v.get<std::string>()) == kBy.end())
        return wire::Error{code, "request.by", "must be one of week, cashier, lane, store, touchpoint, all"};
    } else if (k == "returning") {
      if (!v.is_boolean()) return wire::Error{code, "request.returning", "must be true or false"};
    } else if (k == "from" || k == "to") {
      if (!v.is_string() || !wire::parse_time_ms(v.get<std::string>()))
        return wire::Error{code, "request." + k, "must be an RFC 3339 time such as 2026-11-01T00:00:00Z"};
    } else {
      return wire::Error{code, "request." + k, "is not a field of a report request (by, from, to, returning)"};
    }
  }
  return std::nullopt;
}

json satisfaction_row(const std::string& key, std::int64_t nps_n, std::int64_t promoters, std::int64_t detractors,
                      std::int64_t csat_n, std::int64_t satisfied) {
  json r = {{"key", key},
            {"nps_responses", nps_n},
            {"promoters", promoters},
            {"passives", nps_n - promoters - detractors},
            {"detractors", detractors},
            {"nps", nps_n > 0 ? json(one_decimal(100.0 * static_cast<double>(promoters - detractors) / static_cast<double>(nps_n)))
                              : json(nullptr)},
            {"csat_responses", csat_n},
            {"csat_satisfied", satisfied},
            {"csat", csat_n > 0 ? json(one_decimal(100.0 * static_cast<double>(satisfied) / static_cast<double>(csat_n)))
                                : json(nullptr)}};
  r["nps_interval"] = interval_json(nps_n, nps_n > 0 ? nps_interval(nps_n, promoters, detractors) : std::pair{0.0, 0.0});
  r["csat_interval"] = interval_json(csat_n, csat_n > 0 ? csat_interval(csat_n, satisfied) : std::pair{0.0, 0.0});
  return r;
}

json satisfaction_report(Db& db, const json& request, std::int64_t now_ms) {
  const std::string by = request.value("by", std::string("all"));
  const auto [from, to] = period(request, now_ms);
  const std::string sql = std::string("SELECT ") + group_expr(by) +
                          " AS k, count(nps), sum(nps >= 9), sum(nps <= 6), count(csat), sum(csat >= 4) "
                          "FROM feedback WHERE declined=0 AND time_ms>=? AND time_ms<? AND " + feedback_said_here() +
                          " GROUP BY k ORDER BY k";
  json rows = json::array();
  std::int64_t t_nps = 0, t_pro = 0, t_det = 0, t_csat = 0, t_sat = 0;
  {
    Stmt s(db.raw(), sql);
    s.bind(1, from).bind(2, to);
    while (s.step()) {
      const std::int64_t n = s.i64(1), pro = s.is_null(2) ? 0 : s.i64(2), det = s.is_null(3) ? 0 : s.i64(3),
                         cn = s.i64(4), sat = s.is_null(5) ? 0 : s.i64(5);
      rows.push_back(satisfaction_row(s.text(0), n, pro, det, cn, sat));
      t_nps += n, t_pro += pro, t_det += det, t_csat += cn, t_sat += sat;
    }
  }
  json result = {{"by", by},
                 {"from", from > 0 ? json(wire::format_time_ms(from)) : json(nullptr)},
                 {"to", wire::format_time_ms(to)},
                 {"rows", rows},
                 {"total", satisfaction_row("total", t_nps, t_pro, t_det, t_csat, t_sat)}};
  if (request.value("returning", true)) result["returning_customers"] = returning_customers(db, from, to);
  return result;
}

json feedback_comments(Db& db, const std::string& reason, std::int64_t from, std::int64_t to, int limit) {
  // The tags in the period, most used first: what the owner can filter by.
  json tags = json::array();
  {
    Stmt s(db.raw(),
           "SELECT r.value, count(*) AS n FROM feedback f, json_each(coalesce(f.reasons, '[]')) r "
           "WHERE f.time_ms>=? AND f.time_ms<? AND f.comment IS NOT NULL AND " + feedback_said_here("f") +
               " GROUP BY r.value ORDER BY n DESC, r.value");
    s.bind(1, from).bind(2, to);
    while (s.step()) tags.push_back({{"tag", s.text(0)}, {"comments", s.i64(1)}});
  }
  Stmt s(db.raw(),
         "SELECT f.time_ms, f.nps, f.csat, coalesce(f.reasons, '[]'), f.comment, f.cashier, f.lane, f.store, f.touchpoint "
         "FROM feedback f WHERE f.comment IS NOT NULL AND f.time_ms>=?1 AND f.time_ms<?2 AND " + feedback_said_here("f") + " "
         "AND (?3='' OR EXISTS (SELECT 1 FROM json_each(coalesce(f.reasons, '[]')) r WHERE r.value=?3)) "
         "ORDER BY f.time_ms DESC, f.seq DESC LIMIT ?4");
  s.bind(1, from).bind(2, to).bind(3, reason).bind(4, std::int64_t{limit});
  const auto int_or_null = [&s](int idx) { return s.is_null(idx) ? json(nullptr) : json(s.i64(idx)); };
  const auto text_or_null = [&s](int idx) { return s.is_null(idx) ? json(nullptr) : json(s.text(idx)); };
  json items = json::array();
  while (s.step())
    items.push_back({{"time", wire::format_time_ms(s.i64(0))},
                     {"nps", int_or_null(1)},
                     {"csat", int_or_null(2)},
                     {"reasons", json::parse(s.text(3))},
                     {"comment", s.text(4)},
                     {"cashier", text_or_null(5)},
                     {"lane", text_or_null(6)},
                     {"store", text_or_null(7)},
                     {"touchpoint", text_or_null(8)}});
  return {{"reason", reason.empty() ? json(nullptr) : json(reason)}, {"tags", tags}, {"items", items}};
}

json followup_queue(Db& db, const std::string& state, std::int64_t now_ms, int limit) {
  std::int64_t total = 0;
  {
    Stmt n(db.raw(), "SELECT count(*) FROM followups WHERE (?1='all' OR state=?1)");
    n.bind(1, state);
    if (n.step()) total = n.i64(0);
  }
  Stmt s(db.raw(),
         "SELECT ev.event_id, f.customer_id, f.opened_ms, f.state, f.updated_ms, coalesce(f.notes, '[]'), fb.nps, fb.csat, "
         "coalesce(fb.reasons, '[]'), fb.comment, fb.cashier, fb.lane, fb.touchpoint "
         "FROM followups f JOIN feedback fb ON fb.seq=f.feedback_seq JOIN events ev ON ev.seq=f.feedback_seq "
         "WHERE (?1='all' OR f.state=?1) ORDER BY f.opened_ms, f.feedback_seq LIMIT ?2");
  s.bind(1, state).bind(2, std::int64_t{limit});
  json items = json::array();
  while (s.step()) {
    json item = {{"feedback", s.text(0)},
                 {"customer", s.is_null(1) ? json(nullptr) : json(s.i64(1))},
                 {"opened", wire::format_time_ms(s.i64(2))},
                 {"age_days", (now_ms - s.i64(2)) / kDayMs},
                 {"state", s.text(3)},
                 {"updated", wire::format_time_ms(s.i64(4))},
                 {"notes", json::parse(s.text(5))},
                 {"nps", s.is_null(6) ? json(nullptr) : json(s.i64(6))},
                 {"csat", s.is_null(7) ? json(nullptr) : json(s.i64(7))},
                 {"reasons", json::parse(s.text(8))}};
    for (const auto& [idx, key] : {std::pair{9, "comment"}, std::pair{10, "cashier"}, std::pair{11, "lane"}, std::pair{12, "touchpoint"}})
      item[key] = s.is_null(idx) ? json(nullptr) : json(s.text(idx));
    items.push_back(std::move(item));
  }
  return {{"state", state}, {"total", total}, {"items", items}};
}

json staff_ideas(Db& db, const std::string& state, int limit) {
  Stmt s(db.raw(),
         "SELECT i.time_ms, i.cashier, i.lane, i.store, i.kind, i.text, ev.event_id, i.state, i.updated_ms, i.reviewed_by "
         "FROM staff_ideas i JOIN events ev ON ev.seq=i.seq WHERE (?1='all' OR i.state=?1) ORDER BY i.time_ms DESC, i.seq DESC LIMIT ?2");
  s.bind(1, state).bind(2, std::int64_t{limit});
  const auto text_or_null = [&s](int idx) { return s.is_null(idx) ? json(nullptr) : json(s.text(idx)); };
  json items = json::array();
  while (s.step())
    items.push_back({{"idea", s.text(6)},
                     {"time", wire::format_time_ms(s.i64(0))},
                     {"cashier", s.text(1)},
                     {"lane", text_or_null(2)},
                     {"store", text_or_null(3)},
                     {"kind", s.text(4)},
                     {"text", s.text(5)},
                     {"state", s.text(7)},
                     {"updated", s.is_null(8) ? json(nullptr) : json(wire::format_time_ms(s.i64(8)))},
                     {"reviewed_by", text_or_null(9)}});
  return {{"state", state}, {"items", items}};
}

json customer_journey(Db& db, std::int64_t customer_id, int limit) {
  Stmt s(db.raw(),
         "SELECT event_id, type, time_ms, coalesce(touchpoint, ''), coalesce(store, ''), coalesce(cashier, ''), body "
         "FROM events WHERE customer_id=? ORDER BY time_ms, seq LIMIT ?");
  s.bind(1, customer_id).bind(2, std::int64_t{limit});
  json steps = json::array();
  while (s.step()) {
    json body = json::parse(s.text(6));
    json step = {{"event_id", s.text(0)}, {"type", s.text(1)}, {"time", wire::format_time_ms(s.i64(2))}};
    for (const auto& [idx, key] : {std::pair{3, "touchpoint"}, std::pair{4, "store"}, std::pair{5, "cashier"}})
      if (!s.text(idx).empty()) step[key] = s.text(idx);
    if (step["type"] == "purchase" || step["type"] == "return") step["lines"] = body.value("lines", json::array()).size();
    if (step["type"] == "feedback")
      for (const char* k : {"nps", "csat", "reasons", "declined"})
        if (body.contains(k)) step[k] = body[k];
    steps.push_back(std::move(step));
  }
  return {{"customer", customer_id}, {"steps", steps}};
}

}  // namespace regulars::daemon
