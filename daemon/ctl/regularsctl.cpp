// regularsctl: the owner's command line. Talks to a running regularsd over its socket, sending
// the owner's commands (daemon/owner/commands.hpp); `gestures validate` and `rekey` work without
// it.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "chain/link.hpp"
#include "chain/setup.hpp"
#include "ctl/ctl_client.hpp"
#include "ctl/print.hpp"
#include "gestures/rules.hpp"
#include "ctl/import_view.hpp"
#include "import/importer.hpp"
#include "owner/rekey.hpp"

namespace regulars::ctl {
namespace {

using nlohmann::json;

// A rule file, checked here first so a mistake is reported with its field before anything is sent.
json read_rule(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size > daemon::rules::kMaxRuleBytes)
    throw std::runtime_error("invalid_rule: rule: " + path + " is " + std::to_string(size) + " bytes; a rule may have at most " +
                             std::to_string(daemon::rules::kMaxRuleBytes));
  in.seekg(0);
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = daemon::rules::parse_rule_text(ss.str());
  if (auto* e = std::get_if<wire::Error>(&parsed))
    throw std::runtime_error(std::string(wire::to_string(e->code)) + ": " + e->describe());
  return std::get<daemon::rules::Rule>(parsed).source;
}

// The command line: every subcommand's options, and what each one does. Each add_* method
// declares one subcommand; its action runs once the command line is parsed.
class Ctl {
 public:
  Ctl() {
    app_.add_option("--data-dir", data_dir_, "The daemon's data directory (to find its socket)");
    app_.add_option("--socket", socket_, "The daemon's socket (default DATA_DIR/regularsd.sock)");
    app_.set_version_flag("--version", "regularsctl " REGULARS_VERSION_STRING);
    app_.require_subcommand(1);
    add_status();
    add_chain();
    add_rebuild();
    add_satisfaction();
    add_journey();
    add_gestures();
    add_customer_rights();
    add_prune();
    add_audit();
    add_tokens();
    add_rekey();
    add_import();
    add_dashboard();
  }

  int run(int argc, char** argv) {
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app_.exit(e);
    }
    for (const auto& [sub, action] : actions_) {
      if (!*sub) continue;
      try {
        return action();
      } catch (const std::exception& e) {
        std::cerr << "regularsctl: " << e.what() << "\n";
        return 1;
      }
    }
    return 0;
  }

 private:
  using Action = std::function<int()>;
  void on(CLI::App* sub, Action action) { actions_.emplace_back(sub, std::move(action)); }
  CLI::App* command(const char* name, const char* what) { return app_.add_subcommand(name, what); }
  void json_flag(CLI::App* sub, const char* what = "Print the answer as JSON") { sub->add_flag("--json", as_json_, what); }

  CtlClient& client() {
    if (!client_) client_ = std::make_unique<CtlClient>(socket_.empty() ? data_dir_ + "/regularsd.sock" : socket_);
    return *client_;
  }

  // Sends `request`; prints the answer as JSON with --json, else with `print`.
  int ask(const json& request, const std::function<void(const json&)>& print) {
    const json r = client().call(request);
    if (as_json_) std::cout << r.dump(2) << "\n";
    else print(r);
    return 0;
  }

  void add_status() {
    auto* status = command("status", "Show whether regularsd answers, and what its store holds");
    json_flag(status);
    on(status, [this] { return ask({{"op", "status"}}, [](const json& r) { print_status(std::cout, r); }); });
  }

  void add_chain() {
    auto* chain = command("chain", "The store's link to its chain of stores (daemon/chain/CHAIN.md)");
    chain->require_subcommand(1);
    auto* status = chain->add_subcommand("status", "The hub link, the lag in both directions, the events waiting to go out");
    json_flag(status);
    on(status, [this] { return ask({{"op", "chain"}}, [](const json& r) { print_chain_status(std::cout, r); }); });
    auto* report = chain->add_subcommand("report", "NPS, CSAT and visits for each store and for the chain, from the hub");
    report->add_option("--from", from_, "Start of the period (RFC 3339, e.g. 2026-11-01T00:00:00Z)");
    report->add_option("--to", to_, "End of the period, exclusive (RFC 3339)");
    json_flag(report);
    on(report, [this] {
      json request = json::object();
      if (!from_.empty()) request["from"] = from_;
      if (!to_.empty()) request["to"] = to_;
      return ask({{"op", "chain"}, {"report", request}}, [](const json& r) { print_chain_report(std::cout, r); });
    });
    auto* roi = chain->add_subcommand("roi", "Gesture ROI for each store and for the chain, from the sums each store sends the hub");
    json_flag(roi);
    on(roi, [this] { return ask({{"op", "chain"}, {"roi", json::object()}}, [](const json& r) { print_chain_roi(std::cout, r); }); });
    auto* join = chain->add_subcommand("join", "Join this store to a chain: take the chain's secret, check it with the hub and "
                                               "enrol the store id (regularsd must be stopped)");
    join->add_option("--data-dir", data_dir_, "The daemon's data directory (default /var/lib/regulars)");
    join->add_option("--hub", hub_.conninfo, "The hub's libpq connection string, as the chain section will give it")->required();
    join->add_option("--ca-file", hub_.ca_file, "The CA of the hub's certificate, as chain.ca_file");
    join->add_option("--store-id", store_id_, "This store's name in the chain: unique, 1 to 64 of A-Z a-z 0-9 _ . -")->required();
    join->add_option("--secret-from", secret_from_, "The secret.key of a store already in the chain (not needed by the first store)")
        ->check(CLI::ExistingFile);
    on(join, [this] { return run_chain_join(); });
    auto* rekey_hub = chain->add_subcommand(
        "rekey-hub", "Re-hash the hub with the newest key of the store that re-keyed first (a chain-wide re-key, CHAIN.md)");
    rekey_hub->add_option("--data-dir", data_dir_, "The data directory of the store that re-keyed first");
    rekey_hub->add_option("--hub", hub_.conninfo, "The hub's libpq connection string, as in the chain section")->required();
    rekey_hub->add_option("--ca-file", hub_.ca_file, "The CA of the hub's certificate, as chain.ca_file");
    on(rekey_hub, [this] {
      const std::int64_t n = daemon::chain::rekey_hub(data_dir_, hub_);
      if (n < 0) std::cout << "the hub was re-keyed already; nothing changed\n";
      else std::cout << "re-keyed the hub: " << n << " identifier hashes re-hashed; now run 'regularsctl rekey --adopt' at every other store\n";
      return 0;
    });
    auto* erasure = chain->add_subcommand("erasure", "Which stores of the chain have carried out an erasure, and which have yet to");
    erasure->add_option("receipt", erasure_id_, "The receipt id the erasure gave (regularsctl erase)")->required();
    json_flag(erasure);
    on(erasure, [this] {
      return ask({{"op", "chain"}, {"erasure", erasure_id_}}, [](const json& r) { print_chain_erasure(std::cout, r); });
    });
  }

  void add_rebuild() {
    auto* rebuild = command("rebuild", "Recompute every projection from the event log and compare with what was stored");
    on(rebuild, [this] {
      std::cerr << "rebuilding projections from the event log...\n";
      return print_rebuild(std::cout, client().call({{"op", "rebuild"}})) ? 0 : 3;
    });
  }

  void add_satisfaction() {
    auto* report = command("report", "NPS and CSAT with response counts, by week, cashier, lane, store or touchpoint");
    report->add_option("--by", by_, "Group by week, cashier, lane, store, touchpoint or all")
        ->check(CLI::IsMember({"week", "cashier", "lane", "store", "touchpoint", "all"}));
    report->add_option("--from", from_, "Start of the period (RFC 3339, e.g. 2026-11-01T00:00:00Z)");
    report->add_option("--to", to_, "End of the period, exclusive (RFC 3339)");
    json_flag(report);
    on(report, [this] {
      json request = {{"by", by_}};
      if (!from_.empty()) request["from"] = from_;
      if (!to_.empty()) request["to"] = to_;
      return ask({{"op", "report"}, {"request", request}}, [this](const json& r) { print_report(std::cout, by_, r); });
    });

    auto* comments = command("comments", "What customers wrote with their feedback, newest first");
    comments->add_option("--reason", reason_, "Only comments with this tag (e.g. queue)");
    comments->add_option("--from", from_, "Start of the period (RFC 3339)");
    comments->add_option("--to", to_, "End of the period, exclusive (RFC 3339)");
    json_flag(comments);
    on(comments, [this] {
      json request = {{"op", "comments"}};
      if (!reason_.empty()) request["reason"] = reason_;
      if (!from_.empty()) request["from"] = from_;
      if (!to_.empty()) request["to"] = to_;
      return ask(request, [](const json& r) { print_comments(std::cout, r); });
    });

    auto* followups = command("followups", "The follow-up queue of unhappy customers, oldest first");
    followups->add_option("--state", state_, "open, contacted, resolved or all")
        ->check(CLI::IsMember({"open", "contacted", "resolved", "all"}));
    json_flag(followups);
    on(followups, [this] {
      return ask({{"op", "followups"}, {"state", state_}}, [this](const json& r) { print_followups(std::cout, state_, r); });
    });

    auto* followup = command("followup", "Move a follow-up item along: contacted or resolved, with a note");
    followup->add_option("feedback", feedback_id_, "The event_id of the feedback that opened the item")->required();
    followup->add_option("--state", state_, "contacted, resolved or open")
        ->check(CLI::IsMember({"open", "contacted", "resolved"}))
        ->required();
    followup->add_option("--note", note_, "What was done (kept with the item)");
    followup->add_option("--by", by_whom_, "Who did it (a staff id)");
    on(followup, [this] {
      json request = {{"op", "followup"}, {"feedback", feedback_id_}, {"state", state_}};
      if (!note_.empty()) request["note"] = note_;
      if (!by_whom_.empty()) request["by"] = by_whom_;
      client().call(request);
      std::cout << "follow-up for " << feedback_id_ << " is now " << state_ << "\n";
      return 0;
    });

    auto* ideas = command("ideas", "Improvement ideas and problems flagged by staff from the tills, newest first");
    ideas->add_option("--state", idea_state_, "new, seen, done or all (default all)")
        ->check(CLI::IsMember({"new", "seen", "done", "all"}));
    json_flag(ideas);
    on(ideas, [this] {
      return ask({{"op", "ideas"}, {"state", idea_state_}}, [](const json& r) { print_ideas(std::cout, r); });
    });

    auto* idea = command("idea", "Mark a staff idea seen or done (or new again)");
    idea->add_option("idea", idea_id_, "The idea's id (the first column of regularsctl ideas)")->required();
    idea->add_option("--state", idea_state_, "seen, done or new")->check(CLI::IsMember({"new", "seen", "done"}))->required();
    idea->add_option("--by", by_whom_, "Who looked at it (a staff id)");
    on(idea, [this] {
      json request = {{"op", "idea"}, {"idea", idea_id_}, {"state", idea_state_}};
      if (!by_whom_.empty()) request["by"] = by_whom_;
      client().call(request);
      std::cout << "idea " << idea_id_ << " is now " << idea_state_ << "\n";
      return 0;
    });
  }

  void add_journey() {
    auto* journey = command("journey", "A customer's visits, purchases, feedback and other events, oldest first");
    journey->add_option("--kind", id_kind_, "The identifier's kind: card, phone, email, app, payment_token")->required();
    journey->add_option("--value", id_value_, kValueHelp)->required();
    journey->add_option("--limit", journey_limit_, "At most this many steps (1-10000)")->check(CLI::Range(1, 10000));
    json_flag(journey);
    on(journey, [this] {
      return ask({{"op", "journey"}, {"customer", who()}, {"limit", journey_limit_}},
                 [](const json& r) { print_journey(std::cout, r); });
    });
  }

  void add_gestures() {
    auto* gestures = command("gestures", "Loyalty gesture rules: list, add, validate, enable, disable, dry-run, roi");
    gestures->require_subcommand(1);
    auto* list = gestures->add_subcommand("list", "The rules, enabled first");
    json_flag(list);
    on(list, [this] { return gesture({{"action", "list"}}, print_rules); });
    auto* add = gestures->add_subcommand("add", "Add a rule from a JSON file (a rule with the same id is replaced)");
    add->add_option("file", rule_file_, "The rule (sdk/GESTURES.md)")->required();
    on(add, [this] {
      const json r = client().call({{"op", "gestures"}, {"request", {{"action", "add"}, {"rule", read_rule(rule_file_)}}}});
      std::cout << "rule '" << r["added"].get<std::string>() << "' saved\n";
      return 0;
    });
    auto* validate = gestures->add_subcommand("validate", "Check a rule file without saving it (needs no daemon)");
    validate->add_option("file", rule_file_, "The rule (sdk/GESTURES.md)")->required();
    on(validate, [this] { return validate_rule(); });
    for (const auto& [action, what] : {std::pair{"enable", "Enable a rule"},
                                       std::pair{"disable", "Disable a rule (its history stays for the ROI report)"}}) {
      auto* sub = gestures->add_subcommand(action, what);
      sub->add_option("id", rule_id_, "The rule's id")->required();
      on(sub, [this, action = action] {
        const json r = client().call({{"op", "gestures"}, {"request", {{"action", action}, {"id", rule_id_}}}});
        std::cout << "rule '" << r["id"].get<std::string>() << "' " << (r["enabled"].get<bool>() ? "enabled" : "disabled") << "\n";
        return 0;
      });
    }
    add_gesture_reports(gestures);
  }

  void add_gesture_reports(CLI::App* gestures) {
    auto* dry = gestures->add_subcommand("dry-run", "Who would have got a rule's gesture over the last N days, how often, at what cost");
    dry->add_option("id", rule_id_, "A stored rule's id");
    dry->add_option("--file", rule_file_, "A rule file instead of a stored rule");
    dry->add_option("--days", days_, "How far back (1-3660 days)")->check(CLI::Range(1, 3660));
    dry->add_option("--as-of", as_of_, "Pretend it is this time (RFC 3339)");
    json_flag(dry);
    on(dry, [this] {
      json request = {{"action", "dry_run"}, {"days", days_}};
      if (!rule_file_.empty()) request["rule"] = read_rule(rule_file_);
      else if (!rule_id_.empty()) request["id"] = rule_id_;
      else throw std::runtime_error("dry-run needs a rule id or --file FILE");
      return gesture(request, print_dry_run);
    });
    auto* roi = gestures->add_subcommand("roi", "Offered against held-out customers: return rate, visits and spend afterwards, cost");
    roi->add_option("id", rule_id_, "One rule (default: all)");
    roi->add_option("--window-days", window_days_, "Follow each customer this many days after the offer")->check(CLI::Range(1, 365));
    roi->add_option("--as-of", as_of_, "Report as of this time (RFC 3339)");
    json_flag(roi);
    on(roi, [this] {
      json request = {{"action", "roi"}, {"window_days", window_days_}};
      if (!rule_id_.empty()) request["id"] = rule_id_;
      return gesture(request, print_roi);
    });
  }

  int gesture(json request, void (*print)(std::ostream&, const json&)) {
    if (!as_of_.empty()) request["as_of"] = as_of_;
    return ask({{"op", "gestures"}, {"request", request}}, [print](const json& r) { print(std::cout, r); });
  }

  int validate_rule() {
    try {
      const json rule = read_rule(rule_file_);
      std::cout << rule_file_ << ": valid rule '" << rule["id"].get<std::string>() << "'\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "regularsctl: " << e.what() << "\n";
      return 2;
    }
  }

  void add_customer_rights() {
    auto* erase = command("erase", "Erase a customer everywhere (the right to erasure) and print the receipt");
    erase->add_option("--kind", id_kind_, "The identifier's kind: card, phone, email, app, payment_token")->required();
    erase->add_option("--value", id_value_, kValueHelp)->required();
    json_flag(erase, "Print the receipt as JSON");
    on(erase, [this] { return ask({{"op", "erase"}, {"customer", who()}}, [](const json& r) { print_erasure(std::cout, r); }); });
    auto* exp = command("export", "A customer's whole record as JSON (the right of access)");
    exp->add_option("--kind", id_kind_, "The identifier's kind")->required();
    exp->add_option("--value", id_value_, kValueHelp)->required();
    on(exp, [this] {
      std::cout << client().call({{"op", "export"}, {"customer", who()}}).dump(2) << "\n";
      return 0;
    });
  }
  static constexpr const char* kValueHelp =
      "The identifier's value (never logged or stored); '-' reads it from standard input, off the command line that "
      "other users of this machine can read";
  // The customer named by --kind and --value; `--value -` is the first line of standard input.
  json who() const {
    std::string value = id_value_;
    if (value == "-") {
      if (!std::getline(std::cin, value)) throw std::runtime_error("--value -: nothing on standard input; pipe the identifier in");
      if (!value.empty() && value.back() == '\r') value.pop_back();
    }
    return {{"kind", id_kind_}, {"value", std::move(value)}};
  }

  void add_prune() {
    auto* prune = command("prune", "Apply the retention policy now (retention.max_age_days in the config)");
    prune->add_option("--as-of", prune_as_of_, "Count the age from this time instead of now (RFC 3339)");
    on(prune, [this] {
      json request = {{"op", "prune"}};
      if (!prune_as_of_.empty()) request["as_of"] = prune_as_of_;
      std::cerr << "pruning old events and rebuilding the projections...\n";
      print_prune(std::cout, client().call(request));
      return 0;
    });
  }

  void add_audit() {
    auto* audit = command("audit", "Owner actions (rule changes, exports, erasures), newest first");
    audit->add_option("--limit", audit_limit_, "How many (1-10000)")->check(CLI::Range(1, 10000));
    json_flag(audit);
    on(audit, [this] { return ask({{"op", "audit"}, {"limit", audit_limit_}}, [](const json& r) { print_audit(std::cout, r); }); });
  }

  void add_tokens() {
    auto* tokens = command("tokens", "Lane tokens for tills on other machines (TLS): issue, revoke, list");
    tokens->require_subcommand(1);
    auto* issue = tokens->add_subcommand("issue", "Issue a token for one lane; it is shown once, only its hash is kept");
    issue->add_option("--terminal", token_terminal_, "The lane it is for, such as lane-3")->required();
    json_flag(issue);
    on(issue, [this] {
      return ask({{"op", "tokens"}, {"request", {{"action", "issue"}, {"terminal", token_terminal_}}}},
                 [](const json& r) { print_issued_token(std::cout, r); });
    });
    auto* revoke = tokens->add_subcommand("revoke", "Revoke a token: the lane using it is cut off at once");
    revoke->add_option("token_id", token_id_, "The token's id (tok-...), from tokens list")->required();
    on(revoke, [this] {
      client().call({{"op", "tokens"}, {"request", {{"action", "revoke"}, {"token_id", token_id_}}}});
      std::cout << "revoked " << token_id_ << ": lanes using it are refused from now on\n";
      return 0;
    });
    auto* list = tokens->add_subcommand("list", "Every token issued, with its lane and whether it is revoked");
    json_flag(list);
    on(list, [this] {
      return ask({{"op", "tokens"}, {"request", {{"action", "list"}}}}, [](const json& r) { print_tokens(std::cout, r); });
    });
  }

  void add_rekey() {
    auto* rekey = command("rekey", "Rotate the identity secret and re-hash every stored identifier (regularsd must be stopped)");
    // Works on the data directory itself, not over the socket: also accepted after the subcommand.
    rekey->add_option("--data-dir", data_dir_, "The daemon's data directory (default /var/lib/regulars)");
    rekey->add_flag("--adopt", adopt_generation_,
                    "In a chain: use the newest key already in secret.key, copied from the store that re-keyed first");
    on(rekey, [this] { return run_rekey(); });
  }

  int run_chain_join() {
    ::umask(0077);
    const auto secret = secret_from_.empty() ? std::nullopt : std::optional<std::string>(secret_from_);
    const auto r = daemon::chain::join_chain(data_dir_, hub_, store_id_, secret);
    if (r.secret_installed) std::cout << "took the chain's identity secret into " << data_dir_ << "/secret.key\n";
    std::cout << (r.first_store ? "started the chain: this store is its first, and its secret.key is now the chain's; copy it to "
                                  "each store that joins (mode 0600), or give it to them with --secret-from\n"
                                : "the hub accepted this store: its secret is the chain's and the store id is its own\n");
    std::cout << "add to regularsd's config, then start regularsd:\n  \"chain\": "
              << json{{"hub", "<as given to --hub>"}, {"store_id", store_id_}, {"ca_file", hub_.ca_file.empty() ? json(nullptr) : json(hub_.ca_file)}}.dump()
              << "\n";
    return 0;
  }

  int run_rekey() {
    ::umask(0077);  // the store, its WAL and the secret are personal data: owner only
    const uid_t uid = ::geteuid();
    const passwd* pw = ::getpwuid(uid);
    const auto r = daemon::rekey_identity(data_dir_, "uid:" + std::to_string(uid), pw ? pw->pw_name : "",
                                          [](const std::string& line) { std::cerr << line << std::endl; }, adopt_generation_);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", r.seconds);
    std::cout << "re-keyed " << data_dir_ << " in " << seconds << " s: key generation now " << r.generation << "\n"
              << "  identifiers            " << r.identifiers << "\n"
              << "  events                 " << r.events << "\n"
              << "  link/merge bodies      " << r.bodies << "\n"
              << "  free pages overwritten " << r.free_pages_scrubbed << "\n";
    if (!r.wal_truncated)
      std::cerr << "warning: something else has the store open, so the write-ahead log could not be emptied and may still "
                   "hold old hashes; it is emptied once the last program using the store closes it (start and stop "
                   "regularsd to be sure)\n";
    std::cout << "back up " << data_dir_ << "/secret.key together with the database now: the store needs all " << r.generation
              << " key generations, an older secret.key cannot read it\n";
    return 0;
  }

  void add_import() {
    auto* imp = command("import", "Bring in customers or sales history from CSV files (regularsd must be stopped)");
    imp->add_option("files", import_.files, "CSV files, each with a header row")->required()->check(CLI::ExistingFile);
    imp->add_option("--data-dir", data_dir_, "The daemon's data directory (default /var/lib/regulars)");
    imp->add_option("--mapping", mapping_file_, "A mapping file for a layout other than the generic format")->check(CLI::ExistingFile);
    imp->add_flag("--customers", import_.customers, "The files are in the generic customers format (default: sales)");
    imp->add_option("--consent", import_.consent,
                    "Purposes every imported customer gave consent to in the previous system, e.g. remember,personalize")
        ->delimiter(',')
        ->check(CLI::IsMember({"remember", "personalize", "contact"}));
    imp->add_flag("--dry-run", import_.dry_run, "Check every row and report, without writing anything");
    imp->add_option("--batch", import_.batch, "Events per transaction")->check(CLI::Range(1, 100000));
    on(imp, [this] { return run_import(); });
  }

  int run_import() {
    ::umask(0077);  // the store and its WAL are personal data: owner only
    import_.data_dir = data_dir_;
    if (!mapping_file_.empty()) import_.mapping_file = mapping_file_;
    import_.actor = "uid:" + std::to_string(::geteuid());
    ImportProgressBar bar(std::cerr);
    const auto r = daemon::import::run_import(import_, [&bar](const daemon::import::ImportProgress& p) { bar.show(p); });
    bar.done();
    print_import_report(std::cout, std::cerr, r, import_.dry_run);
    return r.errors > 0 ? 2 : 0;
  }

  void add_dashboard() {
    auto* dash =
        command("dashboard", "Print the owner's web dashboard address and a one-time login link (10 minutes, one use)");
    dash->add_flag("--sign-out-all", sign_out_all_, "End every dashboard session instead");
    on(dash, [this] { return run_dashboard(); });
  }

  int run_dashboard() {
    if (sign_out_all_) {
      const json r = client().call({{"op", "dashboard"}, {"request", {{"action", "sign_out_all"}}}});
      std::cout << "signed out " << r.value("sessions_ended", 0)
                << " dashboard session(s); unused login links are void\n";
      return 0;
    }
    // The admin API's address, as regularsd wrote it at start-up (http://host:port).
    const std::string file = data_dir_ + "/admin.endpoint";
    std::ifstream in(file);
    std::string endpoint;
    if (!(in >> endpoint) || endpoint.rfind("http", 0) != 0)
      throw std::runtime_error("cannot read " + file +
                               ": is regularsd running with the admin API enabled (admin.enabled)?");
    const json r = client().call({{"op", "dashboard"}, {"request", {{"action", "link"}}}});
    std::cout << "Dashboard: " << endpoint << "/dashboard/\n"
              << "One-time login link (works once, for " << r.value("expires_in_s", 0) / 60 << " minutes):\n  "
              << endpoint << r.value("path", "") << "\n"
              << "Or sign in with the owner token in " << data_dir_ << "/admin.token\n";
    return 0;
  }

  CLI::App app_{"regularsctl — manage a Regulars daemon"};
  std::vector<std::pair<CLI::App*, Action>> actions_;
  std::unique_ptr<CtlClient> client_;
  bool as_json_ = false;
  std::string data_dir_ = "/var/lib/regulars", socket_;
  std::string by_ = "all", from_, to_, state_ = "open", feedback_id_, note_, by_whom_;
  std::string idea_state_ = "all", idea_id_, reason_;
  std::string rule_file_, rule_id_, as_of_;
  int days_ = 30, window_days_ = 30;
  std::string id_kind_, id_value_, prune_as_of_, erasure_id_;
  bool adopt_generation_ = false;
  std::string store_id_, secret_from_;
  daemon::chain::HubSettings hub_;
  int audit_limit_ = 200, journey_limit_ = 200;
  std::string token_terminal_, token_id_;
  daemon::import::ImportOptions import_;
  std::string mapping_file_;
  bool sign_out_all_ = false;
};

}  // namespace
}  // namespace regulars::ctl

int main(int argc, char** argv) { return regulars::ctl::Ctl().run(argc, argv); }
