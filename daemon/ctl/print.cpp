#include "ctl/print.hpp"

#include <cstdio>

namespace regulars::ctl {

using nlohmann::json;

namespace {

std::string pad(const std::string& v, std::size_t w) { return v.size() >= w ? v + " " : v + std::string(w - v.size(), ' '); }

std::string num_or_dash(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v.get<double>());
    return buf;
  }
  return v.dump();
}

// An amount in minor units, as 12.34.
std::string money(const json& v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", v.get<double>() / 100.0);
  return buf;
}

std::string text_or(const json& v, const char* fallback) { return v.is_string() ? v.get<std::string>() : fallback; }

}  // namespace

void print_status(std::ostream& out, const json& st) {
  out << "regularsd " << st["version"].get<std::string>() << " is running\n"
      << "  events     " << st["events"] << "\n"
      << "  customers  " << st["customers"] << "\n"
      << "  items      " << st["items"] << "\n";
  const auto p = st.find("pipeline");
  if (p == st.end() || !p->is_object()) return;
  // Since start-up: a slow disk shows as long flushes, a saturated writer as busy time close to
  // the time the daemon has been taking records.
  const auto n = [&](const char* k) { return p->value(k, std::int64_t{0}); };
  const std::int64_t syncs = n("syncs");
  out << "  commits    " << st.value("commits", std::int64_t{0}) << " (" << syncs << " flushes, mean "
      << (syncs > 0 ? n("sync_us") / syncs : 0) << " us, slowest " << n("sync_max_us") / 1000 << " ms; writer busy "
      << n("writer_busy_us") / 1000000 << " s)\n";
  print_blend(out, st.value("prediction_blend", json::object()));
}

namespace {
// A number with `decimals` digits after the point (0 when it is not a number).
std::string fixed(const json& v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v.is_number() ? v.get<double>() : 0.0);
  return buf;
}
}  // namespace

void print_blend(std::ostream& out, const json& b) {
  if (!b.contains("segments")) return;
  // What each source would have scored on the store's own purchases, and what the hints use.
  out << "prediction blend (" << b.value("holdouts", std::int64_t{0}) << " purchases measured as hold-outs; "
      << fixed(b.value("store_repeat_share", 0.0), 3) << " of basket lines repeat; household factor "
      << fixed(b.value("household_factor", 1.0), 2) << ")\n"
      << "  " << pad("visits", 8) << pad("scored", 11) << pad("repeat", 8) << "recall@10: " << pad("store", 7)
      << pad("freq", 7) << pad("recent", 7) << pad("nbrs", 7) << pad("house", 7) << pad("blend", 7) << pad("b", 6)
      << pad("lambda", 7) << "serves\n";
  for (const auto& s : b["segments"]) {
    const json& r = s["recall_at_10"];
    out << "  " << pad(s["visits"].get<std::string>(), 8) << pad(s["holdouts"].dump(), 11)
        << pad(fixed(s["repeat_rate"], 3), 8) << std::string(11, ' ') << pad(fixed(r["store"], 4), 7)
        << pad(fixed(r["frequency"], 4), 7) << pad(fixed(r["recency"], 4), 7) << pad(fixed(r.value("neighbours", json()), 4), 7)
        << pad(fixed(r.value("household", json()), 4), 7) << pad(fixed(r["blend"], 4), 7) << pad(fixed(s["store_scale"], 2), 6)
        << pad(fixed(s.value("neighbours_weight", json()), 2), 7) << s["serves"].get<std::string>() << "\n";
  }
}

void print_report(std::ostream& out, const std::string& by, const json& r) {
  out << pad(by, 22) << pad("NPS", 8) << pad("n", 6) << pad("prom", 6) << pad("pass", 6) << pad("detr", 6) << pad("CSAT%", 8)
      << "n\n";
  auto line = [&](const json& row) {
    out << pad(row["key"].get<std::string>(), 22) << pad(num_or_dash(row["nps"]), 8) << pad(row["nps_responses"].dump(), 6)
        << pad(row["promoters"].dump(), 6) << pad(row["passives"].dump(), 6) << pad(row["detractors"].dump(), 6)
        << pad(num_or_dash(row["csat"]), 8) << row["csat_responses"].dump() << "\n";
  };
  for (const auto& row : r["rows"]) line(row);
  line(r["total"]);
  const json& rc = r["returning_customers"];
  out << "returning customers: " << num_or_dash(rc["rate"]) << "% (" << rc["returning"] << " of " << rc["buyers"]
      << " buyers)\n";
}

void print_followups(std::ostream& out, const std::string& state, const json& r) {
  out << pad("feedback", 26) << pad("state", 11) << pad("age", 6) << pad("score", 10) << pad("cashier", 12)
      << "reasons / comment\n";
  for (const auto& it : r["items"]) {
    std::string score = it["nps"].is_null() ? "" : "NPS " + it["nps"].dump();
    if (!it["csat"].is_null()) score += (score.empty() ? "" : " ") + std::string("CSAT ") + it["csat"].dump();
    std::string why;
    for (const auto& t : it["reasons"]) why += (why.empty() ? "" : ",") + t.get<std::string>();
    if (!it["comment"].is_null()) why += (why.empty() ? "" : " — ") + it["comment"].get<std::string>();
    out << pad(it["feedback"].get<std::string>(), 26) << pad(it["state"].get<std::string>(), 11)
        << pad(it["age_days"].dump() + "d", 6) << pad(score, 10) << pad(text_or(it["cashier"], "-"), 12) << why << "\n";
  }
  if (r["items"].empty()) out << "(no " << state << " items)\n";
}

void print_comments(std::ostream& out, const json& r) {
  for (const auto& it : r["items"]) {
    std::string score = it["nps"].is_null() ? "" : "NPS " + it["nps"].dump();
    if (!it["csat"].is_null()) score += (score.empty() ? "" : " ") + std::string("CSAT ") + it["csat"].dump();
    std::string tags;
    for (const auto& t : it["reasons"]) tags += (tags.empty() ? "" : ",") + t.get<std::string>();
    out << it["time"].get<std::string>().substr(0, 10) << "  " << pad(score, 14) << pad(tags.empty() ? "-" : tags, 20)
        << it["comment"].get<std::string>() << "\n";
  }
  if (r["items"].empty()) out << "(no comments" << (r["reason"].is_null() ? "" : " tagged " + r["reason"].get<std::string>()) << ")\n";
}

void print_ideas(std::ostream& out, const json& r) {
  for (const auto& it : r["items"])
    out << it["idea"].get<std::string>() << "  " << it["time"].get<std::string>() << "  " << pad(it["state"].get<std::string>(), 6)
        << pad(it["kind"].get<std::string>(), 8) << pad(it["cashier"].get<std::string>(), 12) << it["text"].get<std::string>()
        << "\n";
  if (r["items"].empty()) out << (r.value("state", "all") == "all" ? "(no ideas yet)\n" : "(no " + r.value("state", "") + " ideas)\n");
}

namespace {

// What one step of a journey was: "3 lines", "NPS 9, CSAT 4", "declined".
std::string journey_detail(const json& step) {
  if (step.contains("lines")) {
    const auto n = step["lines"].get<long long>();
    return std::to_string(n) + (n == 1 ? " line" : " lines");
  }
  if (step.value("declined", false)) return "declined";
  std::string scores;
  for (const char* k : {"nps", "csat"})
    if (step.contains(k)) scores += (scores.empty() ? "" : ", ") + std::string(k == std::string("nps") ? "NPS " : "CSAT ") + step[k].dump();
  return scores.empty() ? "-" : scores;
}

}  // namespace

void print_journey(std::ostream& out, const json& r) {
  const auto& steps = r["steps"];
  out << "customer " << r["customer"] << ": " << steps.size() << (steps.size() == 1 ? " step" : " steps") << ", oldest first\n";
  out << pad("time", 26) << pad("type", 14) << pad("what", 16) << pad("touchpoint", 12) << pad("store", 12) << pad("cashier", 12)
      << "event\n";
  for (const auto& step : steps) {
    out << pad(step["time"].get<std::string>(), 26) << pad(step["type"].get<std::string>(), 14) << pad(journey_detail(step), 16);
    for (const char* k : {"touchpoint", "store", "cashier"}) out << pad(step.value(k, std::string("-")), 12);
    out << step["event_id"].get<std::string>() << "\n";
  }
}

void print_rules(std::ostream& out, const json& r) {
  out << pad("id", 28) << pad("enabled", 9) << pad("prio", 6) << pad("holdout", 9) << "gesture\n";
  for (const auto& rule : r["rules"])
    out << pad(rule["id"].get<std::string>(), 28) << pad(rule.value("enabled", true) ? "yes" : "no", 9)
        << pad(std::to_string(rule.value("priority", 50)), 6) << pad(num_or_dash(rule.value("holdout", json(0.0))), 9)
        << rule["gesture"]["kind"].get<std::string>() << (rule.contains("name") ? "  " + rule["name"].get<std::string>() : "")
        << "\n";
  if (r["rules"].empty()) out << "(no rules yet: regularsctl gestures add FILE)\n";
}

void print_dry_run(std::ostream& out, const json& r) {
  out << "dry run of '" << r["rule"].get<std::string>() << "' from " << r["from"].get<std::string>() << " to "
      << r["to"].get<std::string>() << "\n"
      << "  purchases in the period   " << r["purchases"] << "\n"
      << "  visits the rule matched   " << r["eligible_visits"] << "\n"
      << "  offers                    " << r["offers"] << " to " << r["customers"] << " customers\n"
      << "  held out (control group)  " << r["held_out"] << "\n"
      << "  refused by the limits     " << r["capped"] << "\n"
      << "  cost at most              " << money(r["cost"]) << "\n";
  for (const auto& [n, customers] : r["offers_per_customer"].items())
    out << "  " << customers << " customers would have had " << n << " offer(s)\n";
}

namespace {

// " (95% CI -0.010 to +0.120)" for a difference, or why there is none.
std::string interval(const json& x) {
  if (x["ci95"].is_null()) return " (too few customers for an interval)";
  char buf[96];
  std::snprintf(buf, sizeof buf, " (95%% CI %+.3f to %+.3f)", x["ci95"][0].get<double>(), x["ci95"][1].get<double>());
  return buf;
}

void print_roi_rule(std::ostream& out, const json& row) {
  const json& o = row["offered"];
  const json& h = row["held_out"];
  const json& d = row["difference"];
  char line[160];
  out << row["rule"].get<std::string>() << ": " << row["offers"] << " offers (" << row["outcomes"]["accepted"]
      << " accepted, " << row["outcomes"]["declined"] << " declined, " << row["outcomes"]["redeemed"] << " redeemed), cost "
      << money(row["cost"]) << "\n";
  std::snprintf(line, sizeof line, "  %-22s%-12s%-12s%s\n", "", "offered", "held out", "difference");
  out << line;
  std::snprintf(line, sizeof line, "  %-22s%-12lld%-12lld\n", "customers followed", o["followed"].get<long long>(),
                h["followed"].get<long long>());
  out << line;
  std::snprintf(line, sizeof line, "  %-22s%-12.3f%-12.3f%+.3f", "return rate", o["return_rate"].get<double>(),
                h["return_rate"].get<double>(), d["return_rate"]["difference"].get<double>());
  out << line << interval(d["return_rate"]) << "\n";
  std::snprintf(line, sizeof line, "  %-22s%-12.3f%-12.3f%+.3f", "visits per customer", o["visits_per_customer"].get<double>(),
                h["visits_per_customer"].get<double>(), d["visits_per_customer"]["difference"].get<double>());
  out << line << interval(d["visits_per_customer"]) << "\n";
  std::snprintf(line, sizeof line, "  %-22s%-12.2f%-12.2f%+.2f", "spend per customer",
                o["spend_per_customer"].get<double>() / 100, h["spend_per_customer"].get<double>() / 100,
                d["spend_per_customer"]["difference"].get<double>() / 100);
  out << line << "\n";
  out << "  net spend per offered customer after cost: " << money(row["net_spend_per_offered_customer"]) << "\n";
}

}  // namespace

void print_roi(std::ostream& out, const json& r) {
  out << "as of " << r["as_of"].get<std::string>() << "\n";
  for (const auto& row : r["rules"]) print_roi_rule(out, row);
  if (r["rules"].empty()) out << "(no gesture rules or offers yet)\n";
}

void print_erasure(std::ostream& out, const json& r) {
  out << "erased: receipt " << r["receipt_id"].get<std::string>() << " at " << r["erased_at"].get<std::string>()
      << (r.value("wal_truncated", false) ? " (write-ahead log emptied)"
                                         : " (the write-ahead log was busy and still holds old pages: run regularsctl erase "
                                           "again later to empty it)")
      << "\n";
  for (const auto& [what, n] : r["erased"].items()) {
    if (!n.is_object()) {
      out << "  " << pad(what, 24) << n << "\n";
      continue;
    }
    for (const auto& [type, k] : n.items()) out << "  " << pad("events." + type, 24) << k << "\n";
  }
}

void print_chain_status(std::ostream& out, const json& r) {
  if (!r.value("configured", false)) {
    out << "not in a chain: " << r.value("hint", "") << "\n";
    return;
  }
  out << "store " << r["store_id"].get<std::string>() << ": hub "
      << (r.value("connected", false) ? "connected" : "NOT connected (tills are served from this store meanwhile)") << "\n";
  if (r.contains("failure"))
    out << "  last failure  " << r["failure"]["kind"].get<std::string>() << ": " << r["failure"]["error"].get<std::string>()
        << "\n";
  const json& o = r["out"];
  const json& i = r["in"];
  out << "  out           " << o["waiting"] << " events waiting; published up to local event " << o["published_seq"] << " ("
      << o["published_events"] << " since start-up)\n";
  out << "  in            " << i["behind"] << " hub events behind; applied up to hub event " << i["applied_hub_id"] << " ("
      << i["applied_events"] << " since start-up, " << i["refused_rows"] << " refused)";
  if (i.contains("last_lag_ms")) out << "; last lag " << i["last_lag_ms"] << " ms";
  out << "\n";
  out << "  erasures      " << r["erasures"]["waiting_out"] << " made here waiting to go out; " << r["erasures"]["applied"]
      << " from other stores carried out since start-up\n";
}

void print_chain_erasure(std::ostream& out, const json& r) {
  out << "erasure " << r["erasure"].get<std::string>() << ", made at store " << r["made_at"].get<std::string>() << " at "
      << r["requested_at"].get<std::string>() << "; " << r["hub_events_deleted"] << " events deleted from the hub\n";
  for (const auto& c : r["confirmed"])
    out << "  " << pad(c["store"].get<std::string>(), 16) << "carried out at " << c["at"].get<std::string>()
        << (c["customers_erased"].get<long long>() > 0 ? "" : " (the store did not know the customer)") << "\n";
  for (const auto& w : r["waiting_for"])
    out << "  " << pad(w.get<std::string>(), 16) << "not yet: the store applies it when it is next connected\n";
}

void print_chain_report(std::ostream& out, const json& r) {
  out << pad("store", 22) << pad("NPS", 8) << pad("n", 6) << pad("prom", 6) << pad("detr", 6) << pad("CSAT%", 8) << pad("n", 6)
      << pad("visits", 8) << "customers\n";
  auto line = [&](const json& row) {
    out << pad(row["key"].get<std::string>(), 22) << pad(num_or_dash(row["nps"]), 8) << pad(row["nps_responses"].dump(), 6)
        << pad(row["promoters"].dump(), 6) << pad(row["detractors"].dump(), 6) << pad(num_or_dash(row["csat"]), 8)
        << pad(row["csat_responses"].dump(), 6) << pad(row["visits"].dump(), 8) << row["customers"].dump() << "\n";
  };
  for (const auto& row : r["stores"]) line(row);
  line(r["chain"]);
  out << "(a customer who bought at two stores counts once in the chain's customers)\n";
}

void print_chain_roi(std::ostream& out, const json& r) {
  out << "gesture ROI across the chain, customers followed " << r["window_days"] << " days after their first offer\n";
  for (const auto& rule : r["rules"]) {
    out << "\n== the chain: ";
    print_roi_rule(out, rule["chain"]);
    for (const auto& store : rule["stores"]) {
      out << "-- store " << store["store"].get<std::string>() << " (as of " << store["as_of"].get<std::string>() << "): ";
      print_roi_rule(out, store);
    }
  }
  if (r["rules"].empty()) out << "(no store has sent its figures yet)\n";
  for (const auto& why : r["refused"]) out << "left out, not valid figures: " << why.get<std::string>() << "\n";
}

void print_prune(std::ostream& out, const json& r) {
  out << "pruned " << r["pruned"] << " events older than " << r["cutoff"].get<std::string>() << "\n";
  for (const auto& [type, n] : r["by_type"].items()) out << "  " << pad(type, 16) << n << "\n";
}

void print_issued_token(std::ostream& out, const json& r) {
  out << "token " << r["token_id"].get<std::string>() << " for " << r["terminal"].get<std::string>() << ":\n  "
      << r["token"].get<std::string>() << "\n"
      << "Put it in the lane's plugin options (\"token\"). It is not shown again: regularsd keeps only its hash.\n";
}

void print_tokens(std::ostream& out, const json& r) {
  for (const auto& t : r["tokens"])
    out << pad(t["token_id"].get<std::string>(), 14) << pad(t["terminal"].get<std::string>(), 16) << "issued "
        << t["created"].get<std::string>() << (t["revoked"].is_null() ? std::string() : "  revoked " + t["revoked"].get<std::string>())
        << "\n";
  if (r["tokens"].empty()) out << "(no lane tokens yet)\n";
}

void print_audit(std::ostream& out, const json& r) {
  for (const auto& it : r["items"])
    out << it["time"].get<std::string>() << "  " << pad(it["actor"].get<std::string>(), 14)
        << pad(it["action"].get<std::string>(), 18) << it["target"].get<std::string>() << "\n";
  if (r["items"].empty()) out << "(no owner actions yet)\n";
}

bool print_rebuild(std::ostream& out, const json& r) {
  out << "replayed " << r["events"] << " events into " << r["customers"] << " customers\n";
  for (const auto& [table, n] : r["differences"].items()) {
    const long long rows = n.get<long long>();
    out << "  " << table << std::string(table.size() < 22 ? 22 - table.size() : 1, ' ')
        << (rows == 0                 ? "identical"
            : table == "item_sources" ? std::to_string(rows) + " rows recounted (statistics, approximate after a crash)"
                                      : std::to_string(rows) + " rows differed (rebuilt)")
        << "\n";
  }
  const bool identical = r["identical"].get<bool>();
  out << (identical ? "projections match the event log\n" : "projections differed from the event log and were rebuilt\n");
  return identical;
}

}  // namespace regulars::ctl
