#include "owner/gesture_commands.hpp"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/log.hpp"
#include "gestures/engine.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::owner {

using nlohmann::json;
using rules::Rule;
using wire::Error;
using wire::ErrorCode;

namespace {

using Answer = std::variant<json, Error>;
constexpr auto kBad = ErrorCode::invalid_request;

// "id": a rule id (a token), required.
std::variant<std::string, Error> id_arg(const json& req) {
  if (auto e = wire::check_token(req, "id", "request", 64, true, kBad)) return *e;
  return req["id"].get<std::string>();
}

// "as_of": an RFC 3339 time, or `now_ms`.
std::variant<std::int64_t, Error> as_of_arg(const json& req, std::int64_t now_ms) {
  const auto t = req.find("as_of");
  if (t == req.end()) return now_ms;
  const auto ms = t->is_string() ? wire::parse_time_ms(t->get<std::string>()) : std::nullopt;
  if (!ms) return Error{kBad, "request.as_of", "must be an RFC 3339 time such as 2026-11-23T10:15:00Z"};
  return *ms;
}

// `key`: a whole number from `lo` to `hi`, or `fallback`.
std::variant<int, Error> int_arg(const json& req, const char* key, int lo, int hi, int fallback) {
  const auto it = req.find(key);
  if (it == req.end()) return fallback;
  if (!it->is_number_integer() || it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi)
    return Error{kBad, std::string("request.") + key, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi)};
  return it->get<int>();
}

Answer add_or_validate(GestureEngine& gestures, const json& req, const std::string& action) {
  const auto rule_it = req.find("rule");
  if (rule_it == req.end()) return Error{ErrorCode::invalid_rule, "rule", "is required: the rule as a JSON object"};
  if (action == "validate") {
    auto parsed = rules::parse_rule(*rule_it);
    if (auto* e = std::get_if<Error>(&parsed)) return *e;
    return json{{"valid", true}, {"rule", std::get<Rule>(parsed).source}};
  }
  auto added = gestures.add_rule(*rule_it);
  if (auto* e = std::get_if<Error>(&added)) return *e;
  REGULARS_LOG(info, "gesture rule saved", ({{"rule", std::get<Rule>(added).id}}));
  return json{{"added", std::get<Rule>(added).id}, {"rule", std::get<Rule>(added).source}};
}

Answer enable_or_disable(GestureEngine& gestures, const json& req, const std::string& action) {
  auto id = id_arg(req);
  if (auto* e = std::get_if<Error>(&id)) return *e;
  if (auto e = gestures.set_enabled(std::get<std::string>(id), action == "enable")) return *e;
  REGULARS_LOG(info, "gesture rule " + action + "d", ({{"rule", std::get<std::string>(id)}}));
  return json{{"id", std::get<std::string>(id)}, {"enabled", action == "enable"}};
}

// The rule a dry run tries: the one given in the request, or a stored one by id.
std::variant<std::shared_ptr<const Rule>, Error> rule_to_try(GestureEngine& gestures, const json& req) {
  if (const auto r = req.find("rule"); r != req.end()) {
    auto parsed = rules::parse_rule(*r);
    if (auto* e = std::get_if<Error>(&parsed)) return *e;
    return std::make_shared<const Rule>(std::get<Rule>(std::move(parsed)));
  }
  auto id = id_arg(req);
  if (auto* e = std::get_if<Error>(&id)) return *e;
  auto rule = gestures.rule(std::get<std::string>(id));
  if (!rule) return Error{ErrorCode::not_found, "request.id", "no gesture rule has that id; see regularsctl gestures list"};
  return rule;
}

Answer dry_run(GestureEngine& gestures, Db& db, const json& req, std::int64_t now_ms) {
  auto days = int_arg(req, "days", 1, rules::kMaxDays, 30);
  if (auto* e = std::get_if<Error>(&days)) return *e;
  auto when = as_of_arg(req, now_ms);
  if (auto* e = std::get_if<Error>(&when)) return *e;
  auto rule = rule_to_try(gestures, req);
  if (auto* e = std::get_if<Error>(&rule)) return *e;
  return gestures.dry_run(db, *std::get<std::shared_ptr<const Rule>>(rule), std::get<int>(days), std::get<std::int64_t>(when));
}

Answer roi(GestureEngine& gestures, Db& db, const json& req, std::int64_t now_ms) {
  std::string only;
  if (req.contains("id")) {
    auto id = id_arg(req);
    if (auto* e = std::get_if<Error>(&id)) return *e;
    only = std::get<std::string>(id);
  }
  auto window = int_arg(req, "window_days", 1, 365, 30);
  if (auto* e = std::get_if<Error>(&window)) return *e;
  auto when = as_of_arg(req, now_ms);
  if (auto* e = std::get_if<Error>(&when)) return *e;
  return gestures.roi(db, only, std::get<std::int64_t>(when), std::get<int>(window));
}

}  // namespace

Answer gesture_command(GestureEngine& gestures, Db& db, const json& req, std::int64_t now_ms) {
  if (!req.is_object()) return Error{kBad, "request", "must be a JSON object with an action"};
  const auto action_it = req.find("action");
  if (action_it == req.end() || !action_it->is_string())
    return Error{kBad, "action", "is required: list, add, validate, enable, disable, dry_run or roi"};
  const std::string action = action_it->get<std::string>();
  if (auto e = wire::refuse_unknown_keys(req, "request", {"action", "rule", "id", "days", "as_of", "window_days"}, kBad)) return *e;
  if (action == "list") return json{{"rules", gestures.list_rules()}};
  if (action == "add" || action == "validate") return add_or_validate(gestures, req, action);
  if (action == "enable" || action == "disable") return enable_or_disable(gestures, req, action);
  if (action == "dry_run") return dry_run(gestures, db, req, now_ms);
  if (action == "roi") return roi(gestures, db, req, now_ms);
  return Error{kBad, "action", "unknown action '" + action.substr(0, 32) + "': list, add, validate, enable, disable, dry_run or roi"};
}

}  // namespace regulars::daemon::owner
