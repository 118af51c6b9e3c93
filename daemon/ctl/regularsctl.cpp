// regularsctl: the owner's command line. Talks to a running regularsd over its socket.
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>

#include "owner/rekey.hpp"
#include "gestures/rules.hpp"
#include "wire/frame.hpp"
#include "wire/json_text.hpp"

namespace {

using nlohmann::json;

// A blocking request/response client; enough for one-shot commands.
class CtlClient {
 public:
  explicit CtlClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot reach regularsd at " + path + ": " + std::strerror(errno) +
                               " (is it running? is --data-dir or --socket right?)");
    timeval tv{600, 0};  // a rebuild of a large store takes a while
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    call({{"op", "hello"}, {"protocol", regulars::wire::kProtocolVersion}, {"client", "regularsctl"}});
  }
  ~CtlClient() {
    if (fd_ >= 0) ::close(fd_);
  }

  json call(json request) {
    request["id"] = ++next_id_;
    const std::string frame = regulars::wire::encode_frame(regulars::wire::dump_json(request));
    if (::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size()))
      throw std::runtime_error("lost the connection to regularsd");
    regulars::wire::FrameDecoder decoder(64u << 20);
    char buf[65536];
    for (;;) {
      if (auto payload = decoder.next()) {
        auto parsed = regulars::wire::parse_json(*payload, 256);
        if (auto* e = std::get_if<regulars::wire::Error>(&parsed)) throw std::runtime_error(e->describe());
        json response = std::get<json>(parsed);
        if (!response.value("ok", false)) {
          const auto& err = response["error"];
          throw std::runtime_error(err.value("code", "error") + ": " +
                                   (err.contains("field") ? err["field"].get<std::string>() + ": " : "") +
                                   err.value("message", ""));
        }
        return response["result"];
      }
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) throw std::runtime_error("regularsd closed the connection or did not answer in time");
      decoder.feed(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::uint64_t next_id_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regularsctl — manage a Regulars daemon"};
  std::string data_dir = "/var/lib/regulars", socket;
  app.add_option("--data-dir", data_dir, "The daemon's data directory (to find its socket)");
  app.add_option("--socket", socket, "The daemon's socket (default DATA_DIR/regularsd.sock)");
  app.set_version_flag("--version", "regularsctl " REGULARS_VERSION_STRING);
  app.require_subcommand(1);
  auto* status = app.add_subcommand("status", "Show whether regularsd answers, and what its store holds");
  bool as_json = false;
  status->add_flag("--json", as_json, "Print the answer as JSON");
  auto* rebuild = app.add_subcommand("rebuild",
                                     "Recompute every projection from the event log and compare with what was stored");

  auto* report = app.add_subcommand("report", "NPS and CSAT with response counts, by week, cashier, lane, store or touchpoint");
  std::string by = "all", from, to;
  report->add_option("--by", by, "Group by week, cashier, lane, store, touchpoint or all")
      ->check(CLI::IsMember({"week", "cashier", "lane", "store", "touchpoint", "all"}));
  report->add_option("--from", from, "Start of the period (RFC 3339, e.g. 2026-11-01T00:00:00Z)");
  report->add_option("--to", to, "End of the period, exclusive (RFC 3339)");
  report->add_flag("--json", as_json, "Print the answer as JSON");

  auto* followups = app.add_subcommand("followups", "The follow-up queue of unhappy customers, oldest first");
  std::string state = "open";
  followups->add_option("--state", state, "open, contacted, resolved or all")
      ->check(CLI::IsMember({"open", "contacted", "resolved", "all"}));
  followups->add_flag("--json", as_json, "Print the answer as JSON");

  auto* followup = app.add_subcommand("followup", "Move a follow-up item along: contacted or resolved, with a note");
  std::string feedback_id, note, by_whom;
  followup->add_option("feedback", feedback_id, "The event_id of the feedback that opened the item")->required();
  followup->add_option("--state", state, "contacted, resolved or open")
      ->check(CLI::IsMember({"open", "contacted", "resolved"}))
      ->required();
  followup->add_option("--note", note, "What was done (kept with the item)");
  followup->add_option("--by", by_whom, "Who did it (a staff id)");

  auto* ideas = app.add_subcommand("ideas", "Improvement ideas and problems flagged by staff from the tills");
  ideas->add_flag("--json", as_json, "Print the answer as JSON");

  auto* gestures = app.add_subcommand("gestures", "Loyalty gesture rules: list, add, validate, enable, disable, dry-run, roi");
  gestures->require_subcommand(1);
  std::string rule_file, rule_id;
  int days = 30, window_days = 30;
  std::string as_of;
  auto* g_list = gestures->add_subcommand("list", "The rules, enabled first");
  g_list->add_flag("--json", as_json, "Print the answer as JSON");
  auto* g_add = gestures->add_subcommand("add", "Add a rule from a JSON file (a rule with the same id is replaced)");
  g_add->add_option("file", rule_file, "The rule (sdk/GESTURES.md)")->required();
  auto* g_validate = gestures->add_subcommand("validate", "Check a rule file without saving it (needs no daemon)");
  g_validate->add_option("file", rule_file, "The rule (sdk/GESTURES.md)")->required();
  auto* g_enable = gestures->add_subcommand("enable", "Enable a rule");
  g_enable->add_option("id", rule_id, "The rule's id")->required();
  auto* g_disable = gestures->add_subcommand("disable", "Disable a rule (its history stays for the ROI report)");
  g_disable->add_option("id", rule_id, "The rule's id")->required();
  auto* g_dry = gestures->add_subcommand("dry-run", "Who would have got a rule's gesture over the last N days, how often, at what cost");
  g_dry->add_option("id", rule_id, "A stored rule's id");
  g_dry->add_option("--file", rule_file, "A rule file instead of a stored rule");
  g_dry->add_option("--days", days, "How far back (1-3660 days)")->check(CLI::Range(1, 3660));
  g_dry->add_option("--as-of", as_of, "Pretend it is this time (RFC 3339)");
  g_dry->add_flag("--json", as_json, "Print the answer as JSON");
  auto* g_roi = gestures->add_subcommand("roi", "Offered against held-out customers: return rate, visits and spend afterwards, cost");
  g_roi->add_option("id", rule_id, "One rule (default: all)");
  g_roi->add_option("--window-days", window_days, "Follow each customer this many days after the offer")->check(CLI::Range(1, 365));
  g_roi->add_option("--as-of", as_of, "Report as of this time (RFC 3339)");
  g_roi->add_flag("--json", as_json, "Print the answer as JSON");

  std::string id_kind, id_value;
  auto* erase = app.add_subcommand("erase", "Erase a customer everywhere (the right to erasure) and print the receipt");
  erase->add_option("--kind", id_kind, "The identifier's kind: card, phone, email, app, payment_token")->required();
  erase->add_option("--value", id_value, "The identifier's value (never logged or stored)")->required();
  erase->add_flag("--json", as_json, "Print the receipt as JSON");
  auto* exp = app.add_subcommand("export", "A customer's whole record as JSON (the right of access)");
  exp->add_option("--kind", id_kind, "The identifier's kind")->required();
  exp->add_option("--value", id_value, "The identifier's value")->required();
  auto* prune = app.add_subcommand("prune", "Apply the retention policy now (retention.max_age_days in the config)");
  std::string prune_as_of;
  prune->add_option("--as-of", prune_as_of, "Count the age from this time instead of now (RFC 3339)");
  auto* audit = app.add_subcommand("audit", "Owner actions (rule changes, exports, erasures), newest first");
  int audit_limit = 200;
  audit->add_option("--limit", audit_limit, "How many (1-10000)")->check(CLI::Range(1, 10000));
  audit->add_flag("--json", as_json, "Print the answer as JSON");
  auto* tokens = app.add_subcommand("tokens", "Lane tokens for tills on other machines (TLS): issue, revoke, list");
  tokens->require_subcommand(1);
  std::string token_terminal, token_id;
  auto* t_issue = tokens->add_subcommand("issue", "Issue a token for one lane; it is shown once, only its hash is kept");
  t_issue->add_option("--terminal", token_terminal, "The lane it is for, such as lane-3")->required();
  t_issue->add_flag("--json", as_json, "Print the answer as JSON");
  auto* t_revoke = tokens->add_subcommand("revoke", "Revoke a token: the lane using it is cut off at once");
  t_revoke->add_option("token_id", token_id, "The token's id (tok-...), from tokens list")->required();
  auto* t_list = tokens->add_subcommand("list", "Every token issued, with its lane and whether it is revoked");
  t_list->add_flag("--json", as_json, "Print the answer as JSON");
  auto* rekey = app.add_subcommand("rekey",
                                   "Rotate the identity secret and re-hash every stored identifier (regularsd must be stopped)");
  // Works on the data directory itself, not over the socket: also accepted after the subcommand.
  rekey->add_option("--data-dir", data_dir, "The daemon's data directory (default /var/lib/regulars)");

  CLI11_PARSE(app, argc, argv);
  // A rule file, checked here first so a mistake is reported with its field before anything is sent.
  auto read_rule = [&](const std::string& path) -> json {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(in.tellg());
    if (size > regulars::daemon::rules::kMaxRuleBytes)
      throw std::runtime_error("invalid_rule: rule: " + path + " is " + std::to_string(size) + " bytes; a rule may have at most " +
                               std::to_string(regulars::daemon::rules::kMaxRuleBytes));
    in.seekg(0);
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = regulars::daemon::rules::parse_rule_text(ss.str());
    if (auto* e = std::get_if<regulars::wire::Error>(&parsed))
      throw std::runtime_error(std::string(regulars::wire::to_string(e->code)) + ": " + e->describe());
    return std::get<regulars::daemon::rules::Rule>(parsed).source;
  };
  if (*g_validate) {
    try {
      const json rule = read_rule(rule_file);
      std::cout << rule_file << ": valid rule '" << rule["id"].get<std::string>() << "'\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "regularsctl: " << e.what() << "\n";
      return 2;
    }
  }
  if (*rekey) {
    try {
      ::umask(0077);  // the store, its WAL and the secret are personal data: owner only
      const uid_t uid = ::geteuid();
      const passwd* pw = ::getpwuid(uid);
      const auto r = regulars::daemon::rekey_identity(data_dir, "uid:" + std::to_string(uid), pw ? pw->pw_name : "",
                                                      [](const std::string& line) { std::cerr << line << std::endl; });
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1f", r.seconds);
      std::cout << "re-keyed " << data_dir << " in " << seconds << " s: key generation now " << r.generation << "\n"
                << "  identifiers            " << r.identifiers << "\n"
                << "  events                 " << r.events << "\n"
                << "  link/merge bodies      " << r.bodies << "\n"
                << "  free pages overwritten " << r.free_pages_scrubbed << "\n";
      if (!r.wal_truncated)
        std::cerr << "warning: something else has the store open, so the write-ahead log could not be emptied and may still "
                     "hold old hashes; it is emptied once the last program using the store closes it (start and stop "
                     "regularsd to be sure)\n";
      std::cout << "back up " << data_dir << "/secret.key together with the database now: the store needs all "
                << r.generation << " key generations, an older secret.key cannot read it\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "regularsctl: " << e.what() << "\n";
      return 1;
    }
  }
  if (socket.empty()) socket = data_dir + "/regularsd.sock";
  auto pad = [](const std::string& v, std::size_t w) { return v.size() >= w ? v + " " : v + std::string(w - v.size(), ' '); };
  auto num_or_dash = [](const json& v) {
    if (v.is_null()) return std::string("-");
    if (v.is_number_float()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", v.get<double>());
      return std::string(buf);
    }
    return v.dump();
  };

  try {
    CtlClient client(socket);
    if (*status) {
      const json st = client.call({{"op", "status"}});
      if (as_json) {
        std::cout << st.dump(2) << "\n";
      } else {
        std::cout << "regularsd " << st["version"].get<std::string>() << " is running\n"
                  << "  events     " << st["events"] << "\n"
                  << "  customers  " << st["customers"] << "\n"
                  << "  items      " << st["items"] << "\n";
        if (const auto p = st.find("pipeline"); p != st.end() && p->is_object()) {
          // Since start-up: a slow disk shows as long flushes, a saturated writer as busy time
          // close to the time the daemon has been taking records.
          const auto n = [&](const char* k) { return p->value(k, std::int64_t{0}); };
          const std::int64_t syncs = n("syncs");
          std::cout << "  commits    " << st.value("commits", std::int64_t{0}) << " (" << syncs << " flushes, mean "
                    << (syncs > 0 ? n("sync_us") / syncs : 0) << " us, slowest " << n("sync_max_us") / 1000
                    << " ms; writer busy " << n("writer_busy_us") / 1000000 << " s)\n";
        }
      }
    }
    if (*report) {
      json request = {{"by", by}};
      if (!from.empty()) request["from"] = from;
      if (!to.empty()) request["to"] = to;
      const json r = client.call({{"op", "report"}, {"request", request}});
      if (as_json) {
        std::cout << r.dump(2) << "\n";
        return 0;
      }
      std::cout << pad(by, 22) << pad("NPS", 8) << pad("n", 6) << pad("prom", 6) << pad("pass", 6) << pad("detr", 6)
                << pad("CSAT%", 8) << "n\n";
      auto line = [&](const json& row) {
        std::cout << pad(row["key"].get<std::string>(), 22) << pad(num_or_dash(row["nps"]), 8)
                  << pad(row["nps_responses"].dump(), 6) << pad(row["promoters"].dump(), 6) << pad(row["passives"].dump(), 6)
                  << pad(row["detractors"].dump(), 6) << pad(num_or_dash(row["csat"]), 8) << row["csat_responses"].dump()
                  << "\n";
      };
      for (const auto& row : r["rows"]) line(row);
      line(r["total"]);
      const json& rc = r["returning_customers"];
      std::cout << "returning customers: " << num_or_dash(rc["rate"]) << "% (" << rc["returning"] << " of "
                << rc["buyers"] << " buyers)\n";
    }
    if (*followups) {
      const json r = client.call({{"op", "followups"}, {"state", state}});
      if (as_json) {
        std::cout << r.dump(2) << "\n";
        return 0;
      }
      std::cout << pad("feedback", 26) << pad("state", 11) << pad("age", 6) << pad("score", 10) << pad("cashier", 12)
                << "reasons / comment\n";
      for (const auto& it : r["items"]) {
        std::string score = it["nps"].is_null() ? "" : "NPS " + it["nps"].dump();
        if (!it["csat"].is_null()) score += (score.empty() ? "" : " ") + std::string("CSAT ") + it["csat"].dump();
        std::string why;
        for (const auto& t : it["reasons"]) why += (why.empty() ? "" : ",") + t.get<std::string>();
        if (!it["comment"].is_null()) why += (why.empty() ? "" : " — ") + it["comment"].get<std::string>();
        std::cout << pad(it["feedback"].get<std::string>(), 26) << pad(it["state"].get<std::string>(), 11)
                  << pad(it["age_days"].dump() + "d", 6) << pad(score, 10)
                  << pad(it["cashier"].is_null() ? "-" : it["cashier"].get<std::string>(), 12) << why << "\n";
      }
      if (r["items"].empty()) std::cout << "(no " << state << " items)\n";
    }
    if (*followup) {
      json event = {{"type", "followup"}, {"feedback", feedback_id}, {"state", state}};
      if (!note.empty()) event["note"] = note;
      if (!by_whom.empty()) event["by"] = by_whom;
      // The change is an event in the log like any other, so a rebuild reproduces the queue.
      event["event_id"] = "followup-" + std::to_string(::time(nullptr)) + "-" + std::to_string(::getpid()) + "-" + state;
      client.call({{"op", "record"}, {"event", event}});
      std::cout << "follow-up for " << feedback_id << " is now " << state << "\n";
    }
    if (*ideas) {
      const json r = client.call({{"op", "ideas"}});
      if (as_json) {
        std::cout << r.dump(2) << "\n";
        return 0;
      }
      for (const auto& it : r["items"])
        std::cout << it["time"].get<std::string>() << "  " << pad(it["kind"].get<std::string>(), 8)
                  << pad(it["cashier"].get<std::string>(), 12) << it["text"].get<std::string>() << "\n";
      if (r["items"].empty()) std::cout << "(no ideas yet)\n";
    }
    if (*gestures) {
      json request;
      if (*g_list) request = {{"action", "list"}};
      if (*g_add) request = {{"action", "add"}, {"rule", read_rule(rule_file)}};
      if (*g_enable || *g_disable) request = {{"action", *g_enable ? "enable" : "disable"}, {"id", rule_id}};
      if (*g_dry) {
        request = {{"action", "dry_run"}, {"days", days}};
        if (!rule_file.empty()) request["rule"] = read_rule(rule_file);
        else if (!rule_id.empty()) request["id"] = rule_id;
        else throw std::runtime_error("dry-run needs a rule id or --file FILE");
      }
      if (*g_roi) {
        request = {{"action", "roi"}, {"window_days", window_days}};
        if (!rule_id.empty()) request["id"] = rule_id;
      }
      if (!as_of.empty()) request["as_of"] = as_of;
      const json r = client.call({{"op", "gestures"}, {"request", request}});
      if (as_json) {
        std::cout << r.dump(2) << "\n";
        return 0;
      }
      auto money = [](const json& v) {
        char buf[48];
        std::snprintf(buf, sizeof buf, "%.2f", v.get<double>() / 100.0);
        return std::string(buf);
      };
      if (*g_list) {
        std::cout << pad("id", 28) << pad("enabled", 9) << pad("prio", 6) << pad("holdout", 9) << "gesture\n";
        for (const auto& rule : r["rules"])
          std::cout << pad(rule["id"].get<std::string>(), 28) << pad(rule.value("enabled", true) ? "yes" : "no", 9)
                    << pad(rule.value("priority", 50) == 0 ? "0" : std::to_string(rule.value("priority", 50)), 6)
                    << pad(num_or_dash(rule.value("holdout", json(0.0))), 9) << rule["gesture"]["kind"].get<std::string>()
                    << (rule.contains("name") ? "  " + rule["name"].get<std::string>() : "") << "\n";
        if (r["rules"].empty()) std::cout << "(no rules yet: regularsctl gestures add FILE)\n";
      } else if (*g_add) {
        std::cout << "rule '" << r["added"].get<std::string>() << "' saved\n";
      } else if (*g_enable || *g_disable) {
        std::cout << "rule '" << r["id"].get<std::string>() << "' " << (r["enabled"].get<bool>() ? "enabled" : "disabled") << "\n";
      } else if (*g_dry) {
        std::cout << "dry run of '" << r["rule"].get<std::string>() << "' from " << r["from"].get<std::string>() << " to "
                  << r["to"].get<std::string>() << "\n"
                  << "  purchases in the period   " << r["purchases"] << "\n"
                  << "  visits the rule matched   " << r["eligible_visits"] << "\n"
                  << "  offers                    " << r["offers"] << " to " << r["customers"] << " customers\n"
                  << "  held out (control group)  " << r["held_out"] << "\n"
                  << "  refused by the limits     " << r["capped"] << "\n"
                  << "  cost at most              " << money(r["cost"]) << "\n";
        for (const auto& [n, customers] : r["offers_per_customer"].items())
          std::cout << "  " << customers << " customers would have had " << n << " offer(s)\n";
      } else if (*g_roi) {
        std::cout << "as of " << r["as_of"].get<std::string>() << "\n";
        for (const auto& row : r["rules"]) {
          const json& o = row["offered"];
          const json& h = row["held_out"];
          const json& d = row["difference"];
          auto ci = [&](const json& x) {
            if (x["ci95"].is_null()) return std::string(" (too few customers for an interval)");
            char buf[96];
            std::snprintf(buf, sizeof buf, " (95%% CI %+.3f to %+.3f)", x["ci95"][0].get<double>(), x["ci95"][1].get<double>());
            return std::string(buf);
          };
          char line[160];
          std::cout << row["rule"].get<std::string>() << ": " << row["offers"] << " offers ("
                    << row["outcomes"]["accepted"] << " accepted, " << row["outcomes"]["declined"] << " declined, "
                    << row["outcomes"]["redeemed"] << " redeemed), cost " << money(row["cost"]) << "\n";
          std::snprintf(line, sizeof line, "  %-22s%-12s%-12s%s\n", "", "offered", "held out", "difference");
          std::cout << line;
          std::snprintf(line, sizeof line, "  %-22s%-12lld%-12lld\n", "customers followed", o["followed"].get<long long>(),
                        h["followed"].get<long long>());
          std::cout << line;
          std::snprintf(line, sizeof line, "  %-22s%-12.3f%-12.3f%+.3f", "return rate", o["return_rate"].get<double>(),
                        h["return_rate"].get<double>(), d["return_rate"]["difference"].get<double>());
          std::cout << line << ci(d["return_rate"]) << "\n";
          std::snprintf(line, sizeof line, "  %-22s%-12.3f%-12.3f%+.3f", "visits per customer",
                        o["visits_per_customer"].get<double>(), h["visits_per_customer"].get<double>(),
                        d["visits_per_customer"]["difference"].get<double>());
          std::cout << line << ci(d["visits_per_customer"]) << "\n";
          std::snprintf(line, sizeof line, "  %-22s%-12.2f%-12.2f%+.2f", "spend per customer",
                        o["spend_per_customer"].get<double>() / 100, h["spend_per_customer"].get<double>() / 100,
                        d["spend_per_customer"]["difference"].get<double>() / 100);
          std::cout << line << "\n";
          std::cout << "  net spend per offered customer after cost: " << money(row["net_spend_per_offered_customer"]) << "\n";
        }
        if (r["rules"].empty()) std::cout << "(no gesture rules or offers yet)\n";
      }
    }
    if (*erase || *exp) {
      const json who = {{"kind", id_kind}, {"value", id_value}};
      const json r = client.call({{"op", *erase ? "erase" : "export"}, {"customer", who}});
      if (*exp || as_json) {
        std::cout << r.dump(2) << "\n";
        return 0;
      }
      std::cout << "erased: receipt " << r["receipt_id"].get<std::string>() << " at " << r["erased_at"].get<std::string>()
                << (r.value("wal_truncated", false) ? " (write-ahead log emptied)"
                                                   : " (the write-ahead log was busy and still holds old pages: run regularsctl erase again later "
                                                     "to empty it)")
                << "\n";
      for (const auto& [what, n] : r["erased"].items()) {
        if (n.is_object()) {
          for (const auto& [type, k] : n.items()) std::cout << "  " << pad("events." + type, 24) << k << "\n";
        } else {
          std::cout << "  " << pad(what, 24) << n << "\n";
        }
      }
    }
    if (*prune) {
      json request = {{"op", "prune"}};
      if (!prune_as_of.empty()) request["as_of"] = prune_as_of;
      std::cerr << "pruning old events and rebuilding the projections...\n";
      const json r = client.call(request);
      std::cout << "pruned " << r["pruned"] << " events older than " << r["cutoff"].get<std::string>() << "\n";
      for (const auto& [type, n] : r["by_type"].items()) std::cout << "  " << pad(type, 16) << n << "\n";
    }
    if (*t_issue) {
      const json r = client.call({{"op", "tokens"}, {"request", {{"action", "issue"}, {"terminal", token_terminal}}}});
      if (as_json) {
        std::cout << r.dump(2) << "\n";
        return 0;
      }
      std::cout << "token " << r["token_id"].get<std::string>() << " for " << r["terminal"].get<std::string>() << ":\n  "
                << r["token"].get<std::string>() << "\n"
                << "Put it in the lane's plugin options (\"token\"). It is not shown again: regularsd keeps only its hash.\n";
    }
    if (*t_revoke) {
      client.call({{"op", "tokens"}, {"request", {{"action", "revoke"}, {"token_id", token_id}}}});
      std::cout << "revoked " << token_id << ": lanes using it are refused from now on\n";
    }
    if (*t_list) {
      const json r = client.call({{"op", "tokens"}, {"request", {{"action", "list"}}}});
      if (as_json) {
        std::cout << r.dump(2) << "\n";
        return 0;
      }
      for (const auto& t : r["tokens"])
        std::cout << pad(t["token_id"].get<std::string>(), 14) << pad(t["terminal"].get<std::string>(), 16)
                  << "issued " << t["created"].get<std::string>()
                  << (t["revoked"].is_null() ? std::string() : "  revoked " + t["revoked"].get<std::string>()) << "\n";
      if (r["tokens"].empty()) std::cout << "(no lane tokens yet)\n";
    }
    if (*audit) {
      const json r = client.call({{"op", "audit"}, {"limit", audit_limit}});
      if (as_json) {
        std::cout << r.dump(2) << "\n";
        return 0;
      }
      for (const auto& it : r["items"])
        std::cout << it["time"].get<std::string>() << "  " << pad(it["actor"].get<std::string>(), 14)
                  << pad(it["action"].get<std::string>(), 18) << it["target"].get<std::string>() << "\n";
      if (r["items"].empty()) std::cout << "(no owner actions yet)\n";
    }
    if (*rebuild) {
      std::cerr << "rebuilding projections from the event log...\n";
      const json r = client.call({{"op", "rebuild"}});
      std::cout << "replayed " << r["events"] << " events into " << r["customers"] << " customers\n";
      for (const auto& [table, n] : r["differences"].items())
        std::cout << "  " << table << std::string(table.size() < 22 ? 22 - table.size() : 1, ' ')
                  << (n.get<long long>() == 0 ? "identical"
                      : table == "item_sources"
                          ? std::to_string(n.get<long long>()) + " rows recounted (statistics, approximate after a crash)"
                          : std::to_string(n.get<long long>()) + " rows differed (rebuilt)")
                  << "\n";
      std::cout << (r["identical"].get<bool>() ? "projections match the event log\n"
                                               : "projections differed from the event log and were rebuilt\n");
      return r["identical"].get<bool>() ? 0 : 3;
    }
  } catch (const std::exception& e) {
    std::cerr << "regularsctl: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
