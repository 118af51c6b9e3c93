#include "chain/link.hpp"
#include "owner/commands.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/config.hpp"
#include "base/log.hpp"
#include "gestures/engine.hpp"
#include "memory/identity.hpp"
#include "owner/dashboard_sessions.hpp"
#include "owner/gesture_commands.hpp"
#include "owner/lane_tokens.hpp"
#include "owner/owner_pool.hpp"
#include "owner/privacy.hpp"
#include "owner/reports.hpp"
#include "owner/today.hpp"
#include "store/event_store.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::owner {

using nlohmann::json;
using wire::Error;
using wire::ErrorCode;

namespace {

constexpr auto kBad = ErrorCode::invalid_request;
// How many rows a listing returns when the caller does not say (ideas, audit, journey).
constexpr int kDefaultLimit = 200;
constexpr int kMaxLimit = 10000;

// --- Arguments, each checked in one place whatever the transport -----------------------------

// "limit": a whole number from 1 to kMaxLimit, or the default.
std::variant<int, Error> limit_arg(const json& args) {
  const auto it = args.find("limit");
  if (it == args.end()) return kDefaultLimit;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > kMaxLimit)
    return Error{kBad, "limit", "must be a whole number from 1 to " + std::to_string(kMaxLimit)};
  return it->get<int>();
}

struct CustomerKey {
  std::string kind;
  IdentifierHash hash{};
};

// "customer": {"kind": ..., "value": ...}, hashed at once: the raw value goes no further.
std::variant<CustomerKey, Error> customer_arg(const Services& services, const json& args) {
  const auto who = args.find("customer");
  if (who == args.end())
    return Error{kBad, "customer", "is required: {\"customer\": {\"kind\": ..., \"value\": ...}}"};
  if (auto err = wire::validate_customer(*who, "customer")) {
    err->code = kBad;
    return *err;
  }
  CustomerKey key;
  key.kind = (*who)["kind"].get<std::string>();
  key.hash = services.key.hash(key.kind, wire::normalize_identifier(key.kind, (*who)["value"].get<std::string>()));
  return key;
}

Error no_such_customer() { return Error{ErrorCode::not_found, "customer", "no customer has that identifier"}; }

// The customer an identifier names, or the error to answer with.
std::variant<std::int64_t, Error> known_customer(Services& services, const json& args) {
  auto key = customer_arg(services, args);
  if (auto* err = std::get_if<Error>(&key)) return *err;
  const auto& k = std::get<CustomerKey>(key);
  const auto found = services.store.find_customer(k.kind, k.hash);
  if (!found) return no_such_customer();
  return found->id;
}

// Records one event now and waits for its acknowledgement (a flush covers it).
Result record_and_wait(Services& services, const json& event) {
  if (auto err = wire::validate_event(event, "event")) return *err;
  std::mutex m;
  std::condition_variable cv;
  std::optional<WriteResult> result;
  services.store.submit(prepare_event(event, services.key), [&](WriteResult r) {
    std::lock_guard lock(m);
    result = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return result.has_value(); });
  if (result->refused) return Error{ErrorCode::conflict, "event", result->error};
  if (result->error == "shutting_down") return Error{ErrorCode::shutting_down, "", "regularsd is stopping; retry shortly"};
  if (!result->ok) return Error{ErrorCode::internal, "", "the event could not be stored: " + result->error};
  return json{{"seq", result->seq}, {"duplicate", result->duplicate}};
}

// Offers decided a moment ago reach the log before work that reads or rewrites it.
void flush_offers(Services& services) {
  if (services.gestures != nullptr) services.gestures->flush();
}

json pipeline_json(const EventStore::PipelineStats& p) {
  return json{{"events", p.events},   {"writer_busy_us", p.writer_busy_us}, {"syncs", p.syncs},
              {"sync_us", p.sync_us}, {"sync_max_us", p.sync_max_us},       {"checkpoints", p.checkpoints},
              {"checkpoint_us", p.checkpoint_us}};
}

// A fresh event id: "prefix" and 16 hex digits.
std::string new_event_id(const char* prefix) { return wire::random_id(prefix, 8); }

// --- The handlers --------------------------------------------------------------------------

Result status(Services& s, const Caller&, const json&) {
  const StoreStats st = s.store.stats();
  return json{{"version", REGULARS_VERSION_STRING}, {"events", st.events},
              {"customers", st.customers},          {"items", st.items},
              {"commits", s.store.commits()},       {"pipeline", pipeline_json(s.store.pipeline())},
              {"dropped_after_erasure", {{"erased_events", s.store.tombstone_drops().erased_events},
                                         {"erased_identifiers", s.store.tombstone_drops().erased_identifiers}}},
              {"prediction_blend", s.store.describe_blend()}};
}

// An erasure's receipt across the chain: which stores carried it out, which have yet to.
Result erasure_across_the_chain(const chain::Link& link, const json& id) {
  if (!id.is_string() || id.get_ref<const std::string&>().empty() || id.get_ref<const std::string&>().size() > 128)
    return Error{kBad, "erasure", "must be the receipt id an erasure gave, such as erasure-1a2b3c4d"};
  std::optional<chain::ErasureReceipt> r;
  try {
    r = link.erasure_receipt(id.get<std::string>());
  } catch (const chain::HubError& e) {
    return Error{ErrorCode::overloaded, "", std::string("the chain's hub cannot be asked now: ") + e.what()};
  }
  if (!r) return Error{ErrorCode::not_found, "erasure", "the hub has no erasure with that receipt id (not yet published?)"};
  json confirmed = json::array();
  for (const auto& c : r->confirmed) confirmed.push_back({{"store", c.store_id}, {"at", c.at}, {"customers_erased", c.customers_erased}});
  return json{{"erasure", r->erasure_id}, {"made_at", r->origin}, {"requested_at", r->requested_at},
              {"hub_events_deleted", r->hub_events_deleted}, {"confirmed", confirmed}, {"waiting_for", r->waiting_for}};
}

// The chain's report, from the hub: NPS, CSAT and visits for each store, computed as each
// store's own report computes them, and for the chain.
Result report_across_the_chain(const chain::Link& link, const json& request) {
  if (auto err = validate_report_request(request)) return *err;
  if (request.contains("by")) return Error{kBad, "report.by", "the chain's report is by store; leave by out"};
  const std::int64_t now = wire::now_ms();
  const std::int64_t from = request.contains("from") ? *wire::parse_time_ms(request["from"].get<std::string>()) : 0;
  const std::int64_t to = request.contains("to") ? *wire::parse_time_ms(request["to"].get<std::string>()) : now + 1;
  chain::ChainFigures f;
  try {
    f = link.figures(from, to);
  } catch (const chain::HubError& e) {
    return Error{ErrorCode::overloaded, "", std::string("the chain's hub cannot be asked now: ") + e.what()};
  }
  json rows = json::array();
  chain::StoreFigures total;
  for (const auto& s : f.stores) {
    json row = satisfaction_row(s.store_id, s.nps_responses, s.promoters, s.detractors, s.csat_responses, s.csat_satisfied);
    row["visits"] = s.visits;
    row["customers"] = s.customers;
    rows.push_back(std::move(row));
    total.nps_responses += s.nps_responses, total.promoters += s.promoters, total.detractors += s.detractors;
    total.csat_responses += s.csat_responses, total.csat_satisfied += s.csat_satisfied, total.visits += s.visits;
  }
  json chain_row = satisfaction_row("chain", total.nps_responses, total.promoters, total.detractors, total.csat_responses,
                                    total.csat_satisfied);
  chain_row["visits"] = total.visits;
  chain_row["customers"] = f.customers;  // one customer at two stores counts once here
  return json{{"from", from > 0 ? json(wire::format_time_ms(from)) : json(nullptr)}, {"to", wire::format_time_ms(to)},
              {"stores", rows}, {"chain", chain_row}};
}

// The chain's gesture ROI, from the hub: each store's own report as it last sent its sums, and
// the chain's, pooled from them (chain/chain_roi.hpp).
Result roi_across_the_chain(const chain::Link& link, const json& request) {
  if (!request.is_object() || !request.empty()) return Error{kBad, "roi", "takes no options: {}"};
  try {
    return link.roi();
  } catch (const chain::HubError& e) {
    return Error{ErrorCode::overloaded, "", std::string("the chain's hub cannot be asked now: ") + e.what()};
  }
}

// Where the store stands with its chain's hub: the link, and the lag in both directions.
Result chain_status(Services& s, const Caller&, const json& args) {
  if (s.chain == nullptr)
    return json{{"configured", false}, {"hint", "this store is in no chain; add a chain section to the config (daemon/chain/CHAIN.md)"}};
  if (args.contains("erasure")) return erasure_across_the_chain(*s.chain, args["erasure"]);
  if (args.contains("report")) return report_across_the_chain(*s.chain, args["report"]);
  if (args.contains("roi")) return roi_across_the_chain(*s.chain, args["roi"]);
  const chain::LinkStatus l = s.chain->status();
  json out{{"configured", true},
           {"store_id", s.chain->store_id()},
           {"connected", l.connected},
           {"out", {{"published_seq", l.published_seq}, {"waiting", l.waiting_out}, {"published_events", l.published_events}}},
           {"in", {{"applied_hub_id", l.applied_hub_id}, {"behind", std::max<std::int64_t>(0, l.newest_hub_id - l.applied_hub_id)},
                   {"applied_events", l.applied_events}, {"refused_rows", l.refused_rows}}},
           {"erasures", {{"waiting_out", l.erasures_waiting_out}, {"applied", l.erasures_applied}}}};
  if (l.last_apply_lag_ms >= 0) out["in"]["last_lag_ms"] = l.last_apply_lag_ms;
  if (!l.failure.empty()) out["failure"] = {{"kind", l.failure}, {"error", l.last_error}};
  return out;
}

Result report(Services& s, const Caller&, const json& args) {
  const json request = args.value("request", json::object());
  if (auto err = validate_report_request(request)) return *err;
  return satisfaction_report(s.store.read_connection(), request, wire::now_ms());
}

// Time bounds of a listing: `from` and `to`, RFC 3339 when given; else all time up to now.
std::variant<std::pair<std::int64_t, std::int64_t>, Error> period_args(const json& args, std::int64_t now_ms) {
  std::pair<std::int64_t, std::int64_t> out{0, now_ms + 1};
  for (const char* k : {"from", "to"}) {
    const auto it = args.find(k);
    if (it == args.end()) continue;
    const auto ms = it->is_string() ? wire::parse_time_ms(it->get<std::string>()) : std::nullopt;
    if (!ms) return Error{kBad, k, "must be an RFC 3339 time such as 2026-11-01T00:00:00Z"};
    (std::string_view(k) == "from" ? out.first : out.second) = *ms;
  }
  return out;
}

Result comments(Services& s, const Caller&, const json& args) {
  auto limit = limit_arg(args);
  if (auto* err = std::get_if<Error>(&limit)) return *err;
  auto period = period_args(args, wire::now_ms());
  if (auto* err = std::get_if<Error>(&period)) return *err;
  std::string reason;
  if (const auto it = args.find("reason"); it != args.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty() || it->get_ref<const std::string&>().size() > 64)
      return Error{kBad, "reason", "must be a feedback tag (1 to 64 characters), such as queue"};
    reason = it->get<std::string>();
  }
  const auto [from, to] = std::get<std::pair<std::int64_t, std::int64_t>>(period);
  return feedback_comments(s.store.read_connection(), reason, from, to, std::get<int>(limit));
}

Result followups(Services& s, const Caller&, const json& args) {
  auto limit = limit_arg(args);
  if (auto* err = std::get_if<Error>(&limit)) return *err;
  const auto st = args.find("state");
  const std::string state = st == args.end() ? "open" : st->is_string() ? st->get<std::string>() : "";
  if (state != "open" && state != "contacted" && state != "resolved" && state != "all")
    return Error{kBad, "state", "must be open, contacted, resolved or all"};
  return followup_queue(s.store.read_connection(), state, wire::now_ms(), std::get<int>(limit));
}

// Moves a follow-up item along. The change is an event in the log like any other, so a rebuild
// reproduces the queue.
Result followup(Services& s, const Caller& caller, const json& args) {
  json event = {{"type", "followup"}, {"event_id", new_event_id("followup-")}};
  for (const char* k : {"feedback", "state", "note", "by"})
    if (const auto it = args.find(k); it != args.end()) event[k] = *it;
  auto r = record_and_wait(s, event);
  if (auto* err = std::get_if<Error>(&r)) {
    if (err->field.rfind("event.", 0) == 0) err->field.erase(0, 6);  // the caller named these fields
    return *err;
  }
  const std::string feedback = event.value("feedback", ""), state = event.value("state", "");
  // Who moved a follow-up, and when; which one, and the note, stay in the log's event, which an
  // erasure of the customer removes (the audit trail outlives it, so it names no feedback).
  s.store.audit(caller.actor, "followup_" + state, "", {{"note", event.contains("note")}});
  return json{{"feedback", feedback}, {"state", state}};
}

Result ideas(Services& s, const Caller&, const json& args) {
  auto limit = limit_arg(args);
  if (auto* err = std::get_if<Error>(&limit)) return *err;
  const auto st = args.find("state");
  const std::string state = st == args.end() ? "all" : st->is_string() ? st->get<std::string>() : "";
  if (state != "new" && state != "seen" && state != "done" && state != "all")
    return Error{kBad, "state", "must be new, seen, done or all"};
  return staff_ideas(s.store.read_connection(), state, std::get<int>(limit));
}

// Marks a staff idea seen or done (or new again): an event in the log, as a follow-up's change.
Result idea(Services& s, const Caller& caller, const json& args) {
  json event = {{"type", "idea_review"}, {"event_id", new_event_id("idea-review-")}};
  for (const char* k : {"idea", "state", "by"})
    if (const auto it = args.find(k); it != args.end()) event[k] = *it;
  auto r = record_and_wait(s, event);
  if (auto* err = std::get_if<Error>(&r)) {
    if (err->field.rfind("event.", 0) == 0) err->field.erase(0, 6);  // the caller named these fields
    return *err;
  }
  const std::string state = event.value("state", "");
  s.store.audit(caller.actor, "idea_" + state, event.value("idea", ""));
  return json{{"idea", event.value("idea", "")}, {"state", state}};
}

// Feedback from another channel (the web shop, a phone or e-mail survey): it must say which
// touchpoint it came from.
Result feedback(Services& s, const Caller&, const json& args) {
  const auto ev = args.find("event");
  if (ev == args.end() || !ev->is_object())
    return Error{ErrorCode::invalid_event, "event", "is required: a feedback event (a JSON object)"};
  json event = *ev;
  if (!event.contains("type")) event["type"] = "feedback";
  if (event["type"] != "feedback") return Error{ErrorCode::invalid_event, "event.type", "must be feedback"};
  if (!event.contains("touchpoint"))
    return Error{ErrorCode::invalid_event, "event.touchpoint", "is required: the channel it came from, e.g. web, phone, email"};
  if (!event.contains("event_id")) event["event_id"] = new_event_id("fb-");
  if (!event.contains("time")) event["time"] = wire::format_time_ms(wire::now_ms());
  return record_and_wait(s, event);
}

Result journey(Services& s, const Caller&, const json& args) {
  auto limit = limit_arg(args);
  if (auto* err = std::get_if<Error>(&limit)) return *err;
  auto customer = known_customer(s, args);
  if (auto* err = std::get_if<Error>(&customer)) return *err;
  return customer_journey(s.store.read_connection(), std::get<std::int64_t>(customer), std::get<int>(limit));
}

Result export_record(Services& s, const Caller& caller, const json& args) {
  auto customer = known_customer(s, args);
  if (auto* err = std::get_if<Error>(&customer)) return *err;
  json record = export_customer(s.store.read_connection(), std::get<std::int64_t>(customer));
  // The trail says an export happened, not whose: it must not outlive an erasure as a link.
  s.store.audit(caller.actor, "export", "", {{"events", record["events"].size()}});
  return record;
}

// The right to erasure: everything about one customer goes, and a receipt says what.
Result erase(Services& s, const Caller& caller, const json& args) {
  auto key = customer_arg(s, args);
  if (auto* err = std::get_if<Error>(&key)) return *err;
  flush_offers(s);  // this customer's latest offers go with them
  const auto& k = std::get<CustomerKey>(key);
  auto receipt = s.store.erase_customer(k.kind, k.hash, caller.actor);
  if (!receipt) return no_such_customer();
  return std::move(*receipt);
}

Result audit(Services& s, const Caller&, const json& args) {
  auto limit = limit_arg(args);
  if (auto* err = std::get_if<Error>(&limit)) return *err;
  return audit_log(s.store.read_connection(), std::get<int>(limit));
}

// Retention now: with the configured age, as of now or of "as_of".
Result prune(Services& s, const Caller& caller, const json& args) {
  const int days = s.config.retention_max_age_days;
  if (days <= 0)
    return Error{kBad, "retention.max_age_days", "no retention is configured: set retention.max_age_days in the config file"};
  std::int64_t now = wire::now_ms();
  if (const auto t = args.find("as_of"); t != args.end()) {
    const auto ms = t->is_string() ? wire::parse_time_ms(t->get<std::string>()) : std::nullopt;
    if (!ms) return Error{kBad, "as_of", "must be an RFC 3339 time"};
    if (*ms > now + 3'600'000)
      return Error{kBad, "as_of", "is in the future: pruning as of a later time would delete what the policy keeps"};
    now = *ms;
  }
  flush_offers(s);
  json r = s.store.prune(now - std::int64_t{days} * 86'400'000);
  s.store.audit(caller.actor, "retention_prune", r["cutoff"].get<std::string>(), r);
  return r;
}

Result rebuild(Services& s, const Caller&, const json&) {
  flush_offers(s);  // every offer made so far is replayed
  const RebuildReport r = s.store.rebuild();
  json diffs = json::object();
  for (const auto& [table, n] : r.differences) diffs[table] = n;
  REGULARS_LOG(info, "rebuild", ({{"events", r.events}, {"identical", r.identical()}}));
  return json{{"events", r.events}, {"customers", r.customers}, {"identical", r.identical()}, {"differences", std::move(diffs)}};
}

Result gestures(Services& s, const Caller& caller, const json& args) {
  if (s.gestures == nullptr) return Error{ErrorCode::not_found, "op", "gestures are not enabled"};
  const json request = args.value("request", json::object());
  auto r = gesture_command(*s.gestures, s.store.read_connection(), request, wire::now_ms());
  const std::string action = request.is_object() ? request.value("action", "") : "";
  if (std::holds_alternative<json>(r) && (action == "add" || action == "enable" || action == "disable")) {
    const bool add = action == "add";
    s.store.audit(caller.actor, "gesture_" + action, add ? request["rule"].value("id", "") : request.value("id", ""),
                  add ? request["rule"] : json::object());
  }
  return r;
}

// Lane tokens: issue, revoke, list.
Result tokens(Services& s, const Caller& caller, const json& args) {
  if (s.tokens == nullptr) return Error{ErrorCode::not_found, "op", "lane tokens are not enabled"};
  const json request = args.value("request", json::object());
  if (!request.is_object()) return Error{kBad, "request", "must be an object"};
  const std::string action = request.value("action", "");
  if (action == "list") return json{{"tokens", s.tokens->list()}};
  if (action == "issue") {
    if (auto err = wire::check_token(request, "terminal", "request", 64, true, kBad)) return *err;
    return s.tokens->issue(request["terminal"].get<std::string>(), caller.actor);
  }
  if (action == "revoke") {
    if (auto err = wire::check_token(request, "token_id", "request", 64, true, kBad)) return *err;
    const std::string token_id = request["token_id"].get<std::string>();
    if (!s.tokens->revoke(token_id, caller.actor))
      return Error{ErrorCode::not_found, "request.token_id", "no token " + token_id + " is in force"};
    if (s.token_revoked) s.token_revoked(token_id);
    return json{{"token_id", token_id}, {"revoked", true}};
  }
  return Error{kBad, "request.action", "must be issue, revoke or list"};
}

Result today(Services& s, const Caller&, const json&) {
  return today_summary(s.store.read_connection(), wire::now_ms());
}

// The web dashboard's sign-in: a one-time login link, or every session ended.
Result dashboard(Services& s, const Caller& caller, const json& args) {
  if (s.dashboard == nullptr)
    return Error{ErrorCode::not_found, "op", "the dashboard is not served: enable the admin API"};
  const json request = args.value("request", json::object());
  if (!request.is_object()) return Error{kBad, "request", "must be an object"};
  const std::string action = request.value("action", "");
  if (action == "link") {
    const auto life = std::chrono::duration_cast<std::chrono::seconds>(DashboardSessions::kLinkLife).count();
    s.store.audit(caller.actor, "dashboard_link", "", {{"expires_in_s", life}});
    return json{{"path", "/dashboard/link#" + s.dashboard->issue_link_code()}, {"expires_in_s", life}};
  }
  if (action == "sign_out_all") {
    const std::size_t ended = s.dashboard->end_all();
    s.store.audit(caller.actor, "dashboard_sign_out_all", "", {{"sessions", ended}});
    return json{{"sessions_ended", ended}};
  }
  return Error{kBad, "request.action", "must be link or sign_out_all"};
}

// --- The table -----------------------------------------------------------------------------

using Role = Caller::Role;
constexpr std::string_view kRequest[] = {"request"};
constexpr std::string_view kFollowup[] = {"feedback", "state", "note", "by"};
constexpr std::string_view kLimit[] = {"limit"};
constexpr std::string_view kStateLimit[] = {"state", "limit"};
constexpr std::string_view kComments[] = {"reason", "from", "to", "limit"};
constexpr std::string_view kIdea[] = {"idea", "state", "by"};
constexpr std::string_view kEvent[] = {"event"};
constexpr std::string_view kCustomer[] = {"customer"};
constexpr std::string_view kCustomerLimit[] = {"customer", "limit"};
constexpr std::string_view kAsOf[] = {"as_of"};
constexpr std::string_view kChain[] = {"erasure", "report", "roi"};

const Command kCommands[] = {
    {"status", {}, Role::owner, status},
    {"report", kRequest, Role::owner, report},
    {"comments", kComments, Role::owner, comments},
    {"followups", kStateLimit, Role::owner, followups},
    {"followup", kFollowup, Role::owner, followup},
    {"ideas", kStateLimit, Role::owner, ideas},
    {"idea", kIdea, Role::owner, idea},
    {"feedback", kEvent, Role::owner, feedback},
    {"journey", kCustomerLimit, Role::owner, journey},
    {"export", kCustomer, Role::owner, export_record},
    {"erase", kCustomer, Role::owner, erase},
    {"audit", kLimit, Role::owner, audit},
    {"prune", kAsOf, Role::owner, prune},
    {"rebuild", {}, Role::owner, rebuild},
    {"gestures", kRequest, Role::owner, gestures},
    {"tokens", kRequest, Role::owner, tokens},
    {"today", {}, Role::owner, today},
    {"dashboard", kRequest, Role::owner, dashboard},
    {"chain", kChain, Role::owner, chain_status},
};

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

std::string command_names() {
  std::string names;
  for (const Command& c : kCommands) names += (names.empty() ? "" : ", ") + std::string(c.name);
  return names;
}

Result run_command(const Command& command, Services& services, const Caller& caller, const json& args) {
  const std::string name(command.name);
  if (caller.role == Role::till && command.least_role == Role::owner)
    return Error{ErrorCode::denied, "op",
                 name + " is for the store owner: run regularsctl as regularsd's user, or use the admin API"};
  if (!args.is_object()) return Error{kBad, "", "the arguments of " + name + " must be a JSON object"};
  for (const auto& [key, _] : args.items())
    if (std::find(command.fields.begin(), command.fields.end(), key) == command.fields.end())
      return Error{kBad, key, "is not a field of the " + name + " request"};
  try {
    return command.run(services, caller, args);
  } catch (const std::exception& e) {
    REGULARS_LOG(err, "owner command failed", ({{"op", name}, {"error", e.what()}}));
    return Error{ErrorCode::internal, "", name + " failed; see regularsd's log"};
  }
}

void CommandRunner::run(const Command& command, Caller caller, json args, Reply reply) {
  // The job owns what it needs; `reply` is shared so a refusal below can still use it.
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const auto refusal = pool_.submit([this, &command, caller = std::move(caller), args = std::move(args), shared_reply] {
    (*shared_reply)(run_command(command, services_, caller, args));
  });
  if (refusal == OwnerPool::Refusal::full)
    (*shared_reply)(Error{ErrorCode::overloaded, "", "the owner's work queue is full; retry in a moment"});
  else if (refusal == OwnerPool::Refusal::stopping)
    (*shared_reply)(Error{ErrorCode::shutting_down, "", "regularsd is stopping; retry shortly"});
}

}  // namespace regulars::daemon::owner
