#include "owner/privacy.hpp"

#include <set>
#include <string>

#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

// Every row of `sql` (one ? for the customer) as JSON objects named by their columns.
json rows(Db& db, const std::string& sql, std::int64_t customer_id) {
  Stmt s(db.raw(), sql);
  s.bind(1, customer_id);
  json out = json::array();
  sqlite3_stmt* raw = s.raw();
  while (s.step()) {
    json row = json::object();
    for (int i = 0; i < sqlite3_column_count(raw); ++i) {
      const std::string name = sqlite3_column_name(raw, i);
      switch (sqlite3_column_type(raw, i)) {
        case SQLITE_NULL: row[name] = nullptr; break;
        case SQLITE_INTEGER: row[name] = s.i64(i); break;
        case SQLITE_FLOAT: row[name] = sqlite3_column_double(raw, i); break;
        default: {
          const std::string text = s.text(i);
          // Columns holding JSON (histograms, lists, notes of follow-ups) come out as JSON; free
          // text stays text whatever it looks like.
          static const std::set<std::string> kJson{"do_not_mention", "tags", "weekday_hist", "hour_hist", "reasons", "notes", "body"};
          if (kJson.count(name) && !text.empty() && (text.front() == '[' || text.front() == '{')) {
            json parsed = json::parse(text, nullptr, false);
            row[name] = parsed.is_discarded() ? json(text) : std::move(parsed);
          } else {
            row[name] = text;
          }
        }
      }
    }
    out.push_back(std::move(row));
  }
  return out;
}

json times(json list, std::initializer_list<const char*> ms_columns) {
  for (auto& row : list)
    for (const char* col : ms_columns)
      if (row.contains(col) && row[col].is_number_integer())
        row[std::string(col).substr(0, std::string(col).size() - 3)] = wire::format_time_ms(row[col].get<std::int64_t>());
  return list;
}

}  // namespace

json export_customer(Db& db, std::int64_t id) {
  json out;
  out["exported_at"] = wire::format_time_ms(wire::now_ms());
  json customer = rows(db,
                       "SELECT created_ms, first_seen_ms, last_seen_ms, visits, spend, consent_remember, consent_personalize, "
                       "consent_ms, name, birthday, anniversary, language, discreet, do_not_mention, tags, returns, "
                       "returned_value, weekday_hist, hour_hist, last_feedback_ms, last_complaint_ms FROM customers WHERE id=?",
                       id);
  out["customer"] = customer.empty() ? json(nullptr) : times(customer, {"created_ms", "first_seen_ms", "last_seen_ms", "consent_ms",
                                                                        "last_feedback_ms", "last_complaint_ms"})[0];
  out["identifiers"] = times(rows(db, "SELECT kind, created_ms FROM identifiers WHERE customer_id=? ORDER BY created_ms", id),
                             {"created_ms"});
  // Consents with their purposes, time and place (every one, as the proof of consent).
  json consents = json::array();
  for (const auto& e : rows(db, "SELECT time_ms, store, terminal, cashier, body FROM events WHERE customer_id=? AND type='consent' ORDER BY time_ms", id))
    consents.push_back({{"time", wire::format_time_ms(e["time_ms"].get<std::int64_t>())},
                        {"purposes", e["body"].value("purposes", json::object())},
                        {"store", e["store"]},
                        {"terminal", e["terminal"]},
                        {"cashier", e["cashier"]}});
  out["consents"] = std::move(consents);
  json events = json::array();
  for (auto& e : rows(db, "SELECT event_id, type, time_ms, store, terminal, cashier, touchpoint, body FROM events "
                          "WHERE customer_id=? ORDER BY seq", id)) {
    e["time"] = wire::format_time_ms(e["time_ms"].get<std::int64_t>());
    e.erase("time_ms");
    events.push_back(std::move(e));
  }
  out["events"] = std::move(events);
  out["preferences"] = times(rows(db, "SELECT member, key, value, said_by, cashier, time_ms FROM preferences WHERE customer_id=?", id),
                             {"time_ms"});
  out["notes"] = times(rows(db, "SELECT text, cashier, time_ms FROM notes WHERE customer_id=? ORDER BY time_ms", id), {"time_ms"});
  out["household"] = rows(db, "SELECT member, name, birthday FROM household WHERE customer_id=?", id);
  out["items"] = times(rows(db, "SELECT sku, category, baskets, qty, returned, first_ms, last_ms FROM customer_items "
                                "WHERE customer_id=? ORDER BY baskets DESC, sku", id),
                       {"first_ms", "last_ms"});
  out["bought_for"] = times(rows(db, "SELECT member, sku, baskets, last_ms FROM member_items WHERE customer_id=?", id), {"last_ms"});
  out["feedback"] = times(rows(db, "SELECT time_ms, nps, csat, declined, reasons, comment, cashier, lane, store, touchpoint "
                                   "FROM feedback WHERE customer_id=? ORDER BY time_ms", id),
                          {"time_ms"});
  out["followups"] = times(rows(db, "SELECT opened_ms, state, updated_ms, notes FROM followups WHERE customer_id=?", id),
                           {"opened_ms", "updated_ms"});
  out["offers"] = times(rows(db, "SELECT offer_id, rule_id, status, made_ms, cost, sku, cashier, lane FROM offers "
                                 "WHERE customer_id=? ORDER BY made_ms", id),
                        {"made_ms"});
  return out;
}

json audit_log(Db& db, int limit) {
  Stmt s(db.raw(), "SELECT time_ms, actor, action, target, detail FROM audit ORDER BY seq DESC LIMIT ?");
  s.bind(1, std::int64_t{limit});
  json items = json::array();
  while (s.step()) {
    json detail = json::parse(s.text(4), nullptr, false);
    items.push_back({{"time", wire::format_time_ms(s.i64(0))},
                     {"actor", s.text(1)},
                     {"action", s.text(2)},
                     {"target", s.text(3)},
                     {"detail", detail.is_discarded() ? json(nullptr) : detail}});
  }
  return {{"items", std::move(items)}};
}

}  // namespace regulars::daemon
