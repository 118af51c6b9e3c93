#include "net/admin_routes.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "owner/commands.hpp"

namespace regulars::daemon {

using nlohmann::json;
using wire::Error;
using wire::ErrorCode;

namespace {

// Who acts through the admin API, for the audit trail: whoever holds the owner's token.
constexpr const char* kAdminActor = "admin-token";

// Where a route's arguments come from, and so how the command's error fields read to an HTTP
// client: a field of the body is "body.<field>".
enum class FieldStyle {
  as_is,        // from the query string or the path: the command's own names
  body_fields,  // the body's fields are the command's arguments
  body_is,      // the body is one argument (its name is replaced by "body")
};

using Args = std::variant<json, Error>;

struct Route {
  std::string_view method;
  std::string_view pattern;  // "{id}" matches one path segment
  std::string_view command;
  Args (*args)(const AdminRequest& req, const std::string& id);
  FieldStyle style = FieldStyle::as_is;
  std::string_view body_arg = {};  // with body_is: the argument the body becomes
};


json query_args(const AdminRequest& req, std::initializer_list<std::pair<const char*, const char*>> names) {
  json args = json::object();
  for (const auto& [param, arg] : names)
    if (const auto it = req.query.find(param); it != req.query.end()) args[arg] = query_value(it->second);
  return args;
}

Args body_object(const AdminRequest& req) {
  if (req.body.is_null()) return json::object();
  if (!req.body.is_object()) return Error{ErrorCode::invalid_request, "body", "must be a JSON object"};
  return req.body;
}

Args no_args(const AdminRequest&, const std::string&) { return json::object(); }
Args body_args(const AdminRequest& req, const std::string&) { return body_object(req); }

Args report_args(const AdminRequest& req, const std::string&) {
  json request = json::object();
  for (const char* k : {"by", "from", "to"})
    if (const auto it = req.query.find(k); it != req.query.end()) request[k] = it->second;
  return json{{"request", std::move(request)}};
}
Args chain_report_args(const AdminRequest& req, const std::string&) {
  json request = json::object();
  for (const char* k : {"from", "to"})
    if (const auto it = req.query.find(k); it != req.query.end()) request[k] = it->second;
  return json{{"report", std::move(request)}};
}
Args chain_erasure_args(const AdminRequest&, const std::string& id) { return json{{"erasure", id}}; }
Args chain_roi_args(const AdminRequest&, const std::string&) { return json{{"roi", json::object()}}; }
Args followups_args(const AdminRequest& req, const std::string&) {
  return query_args(req, {{"state", "state"}, {"limit", "limit"}});
}
Args limit_args(const AdminRequest& req, const std::string&) { return query_args(req, {{"limit", "limit"}}); }
Args comments_args(const AdminRequest& req, const std::string&) {
  return query_args(req, {{"reason", "reason"}, {"from", "from"}, {"to", "to"}, {"limit", "limit"}});
}
Args ideas_args(const AdminRequest& req, const std::string&) { return query_args(req, {{"state", "state"}, {"limit", "limit"}}); }

Args idea_args(const AdminRequest& req, const std::string& idea_id) {
  auto args = body_object(req);
  if (auto* a = std::get_if<json>(&args)) (*a)["idea"] = idea_id;
  return args;
}

Args followup_args(const AdminRequest& req, const std::string& feedback_id) {
  auto args = body_object(req);
  if (auto* a = std::get_if<json>(&args)) (*a)["feedback"] = feedback_id;
  return args;
}

Args feedback_args(const AdminRequest& req, const std::string&) {
  if (!req.body.is_object()) return Error{ErrorCode::invalid_event, "body", "must be a feedback event (a JSON object)"};
  return json{{"event", req.body}};
}

Args gesture_request(json request) { return json{{"request", std::move(request)}}; }
Args gestures_list(const AdminRequest&, const std::string&) { return gesture_request({{"action", "list"}}); }
Args gestures_add(const AdminRequest& req, const std::string&) { return gesture_request({{"action", "add"}, {"rule", req.body}}); }
Args gestures_validate(const AdminRequest& req, const std::string&) {
  return gesture_request({{"action", "validate"}, {"rule", req.body}});
}
Args gestures_enable(const AdminRequest&, const std::string& id) { return gesture_request({{"action", "enable"}, {"id", id}}); }
Args gestures_disable(const AdminRequest&, const std::string& id) { return gesture_request({{"action", "disable"}, {"id", id}}); }
Args gestures_dry_run(const AdminRequest& req, const std::string&) {
  if (!req.body.is_object())
    return Error{ErrorCode::invalid_request, "body", "must be {\"id\": ...} or {\"rule\": {...}}, with \"days\""};
  json request = req.body;
  request["action"] = "dry_run";
  return gesture_request(std::move(request));
}
Args gestures_roi(const AdminRequest& req, const std::string&) {
  json request = query_args(req, {{"rule", "id"}, {"as_of", "as_of"}, {"window_days", "window_days"}});
  if (request.contains("id")) request["id"] = req.query.at("rule");  // an id stays text, even "123"
  if (request.contains("as_of")) request["as_of"] = req.query.at("as_of");
  request["action"] = "roi";
  return gesture_request(std::move(request));
}

Args tokens_list(const AdminRequest&, const std::string&) { return json{{"request", {{"action", "list"}}}}; }
Args tokens_issue(const AdminRequest& req, const std::string&) {
  auto body = body_object(req);
  if (auto* e = std::get_if<Error>(&body)) return *e;
  json request = std::get<json>(body);
  request["action"] = "issue";
  return json{{"request", std::move(request)}};
}
Args tokens_revoke(const AdminRequest&, const std::string& id) {
  return json{{"request", {{"action", "revoke"}, {"token_id", id}}}};
}

Args dashboard_link(const AdminRequest&, const std::string&) { return json{{"request", {{"action", "link"}}}}; }
Args dashboard_sign_out_all(const AdminRequest&, const std::string&) {
  return json{{"request", {{"action", "sign_out_all"}}}};
}

const Route kRoutes[] = {
    {"GET", "/v1/status", "status", no_args},
    {"GET", "/v1/reports/satisfaction", "report", report_args},
    {"GET", "/v1/comments", "comments", comments_args},
    {"GET", "/v1/followups", "followups", followups_args},
    {"POST", "/v1/followups/{id}", "followup", followup_args, FieldStyle::body_fields},
    {"GET", "/v1/ideas", "ideas", ideas_args},
    {"POST", "/v1/ideas/{id}", "idea", idea_args, FieldStyle::body_fields},
    {"POST", "/v1/feedback", "feedback", feedback_args, FieldStyle::body_is, "event"},
    {"POST", "/v1/journey", "journey", body_args, FieldStyle::body_fields},
    {"POST", "/v1/customers/export", "export", body_args, FieldStyle::body_fields},
    {"POST", "/v1/customers/erase", "erase", body_args, FieldStyle::body_fields},
    {"GET", "/v1/audit", "audit", limit_args},
    {"POST", "/v1/prune", "prune", body_args, FieldStyle::body_fields},
    {"POST", "/v1/rebuild", "rebuild", no_args},
    {"GET", "/v1/gestures", "gestures", gestures_list},
    {"POST", "/v1/gestures", "gestures", gestures_add},
    {"POST", "/v1/gestures/validate", "gestures", gestures_validate},
    {"POST", "/v1/gestures/dry-run", "gestures", gestures_dry_run},
    {"GET", "/v1/gestures/roi", "gestures", gestures_roi},
    {"POST", "/v1/gestures/{id}/enable", "gestures", gestures_enable},
    {"POST", "/v1/gestures/{id}/disable", "gestures", gestures_disable},
    {"GET", "/v1/tokens", "tokens", tokens_list},
    {"POST", "/v1/tokens", "tokens", tokens_issue, FieldStyle::body_fields},
    {"POST", "/v1/tokens/{id}/revoke", "tokens", tokens_revoke},
    {"GET", "/v1/today", "today", no_args},
    {"POST", "/v1/dashboard/links", "dashboard", dashboard_link},
    {"POST", "/v1/dashboard/sign-out-all", "dashboard", dashboard_sign_out_all},
    {"GET", "/v1/chain", "chain", no_args},
    {"GET", "/v1/chain/report", "chain", chain_report_args},
    {"GET", "/v1/chain/roi", "chain", chain_roi_args},
    {"GET", "/v1/chain/erasures/{id}", "chain", chain_erasure_args},
};

// The "{id}" segment when `path` matches `pattern` ("" when it has none); nullopt otherwise.
std::optional<std::string> match(std::string_view pattern, std::string_view path) {
  std::string id;
  while (!pattern.empty() || !path.empty()) {
    const auto p_end = pattern.find('/', 1), s_end = path.find('/', 1);
    const std::string_view p_seg = pattern.substr(0, p_end), s_seg = path.substr(0, s_end);
    if (p_seg == "/{id}" && s_seg.size() > 1) id = std::string(s_seg.substr(1));
    else if (p_seg != s_seg) return std::nullopt;
    pattern = p_end == std::string_view::npos ? std::string_view() : pattern.substr(p_end);
    path = s_end == std::string_view::npos ? std::string_view() : path.substr(s_end);
  }
  return id;
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found: return 404;
    case ErrorCode::denied: return 403;
    case ErrorCode::conflict: return 409;
    case ErrorCode::overloaded:
    case ErrorCode::shutting_down: return 503;
    case ErrorCode::internal: return 500;
    default: return 400;
  }
}

// The command's error fields, as the HTTP client sent them.
std::string field_for_http(const Route& route, const std::string& field) {
  if (field.empty() || field == "op") return field;
  if (route.style == FieldStyle::body_fields) return "body." + field;
  if (route.style == FieldStyle::body_is && field.rfind(route.body_arg, 0) == 0)
    return "body" + field.substr(route.body_arg.size());
  return field;
}

AdminResponse error_response(const Route* route, const Error& e) {
  json err = {{"code", wire::to_string(e.code)}, {"message", e.message}};
  const std::string field = route != nullptr ? field_for_http(*route, e.field) : e.field;
  if (!field.empty()) err["field"] = field;
  return AdminResponse{http_status(e.code), json{{"error", std::move(err)}}};
}

AdminResponse no_route(const AdminRequest& req) {
  return error_response(nullptr, Error{ErrorCode::not_found, "path",
                                       "no route " + req.method + " " + req.path.substr(0, 64) +
                                           "; the routes are listed in daemon/net/admin_routes.hpp"});
}

}  // namespace

AdminHandler make_admin_handler(owner::CommandRunner& commands) {
  return [&commands](const AdminRequest& req, AdminRespond respond) {
    for (const Route& route : kRoutes) {
      if (route.method != req.method) continue;
      const auto id = match(route.pattern, req.path);
      if (!id) continue;
      auto args = route.args(req, *id);
      if (auto* e = std::get_if<Error>(&args)) return respond(error_response(&route, *e));
      const owner::Command* command = owner::find_command(route.command);
      owner::Caller caller{owner::Caller::Role::owner, kAdminActor};
      return commands.run(*command, std::move(caller), std::get<json>(std::move(args)),
                          [&route, respond = std::move(respond)](owner::Result r) {
                            if (const auto* e = std::get_if<Error>(&r)) return respond(error_response(&route, *e));
                            respond(AdminResponse{200, std::get<json>(std::move(r))});
                          });
    }
    respond(no_route(req));
  };
}

json query_value(const std::string& text) {
  const bool digits = !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
  return digits ? json(std::stoll(text)) : json(text);
}

}  // namespace regulars::daemon
