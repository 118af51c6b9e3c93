#include "dashboard/dashboard.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "base/log.hpp"
#include "dashboard/assets.hpp"
#include "dashboard/owner_jobs.hpp"
#include "dashboard/sign_in_throttle.hpp"
#include "dashboard/web_input.hpp"
#include "net/admin_routes.hpp"
#include "owner/commands.hpp"
#include "owner/dashboard_sessions.hpp"
#include "store/event_store.hpp"
#include "wire/json_text.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "/dashboard";
constexpr std::size_t kTokenChars = 256;  // the owner token is 64 hex digits; room for a pasted space or two
constexpr std::size_t kSecretChars = DashboardSessions::kSecretHexChars;


// No inline script or style, nothing from elsewhere, no framing: a page can only run the
// scripts served beside it.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

// --- Answers ---------------------------------------------------------------------------------

WebResponse with_safety_headers(WebResponse r) {
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  // Answers hold the owner's data (and once, a new lane token): no cache keeps them.
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

WebResponse json_answer(int status, const json& body) {
  return with_safety_headers({status, "application/json; charset=utf-8", {}, wire::dump_json(body)});
}

WebResponse json_error(int status, std::string_view code, std::string message, std::string_view field = {}) {
  json error = {{"code", code}, {"message", std::move(message)}};
  if (!field.empty()) error["field"] = field;  // the form field a page can point at
  return json_answer(status, {{"error", std::move(error)}});
}

WebResponse not_found() { return json_error(404, "not_found", "no such dashboard page"); }

// A page from web/. `error` is a fixed code the page's script turns into words from the texts
// (it is never text from the request), so the server holds no English.
WebResponse page(std::string_view name, int status = 200, std::string_view error = {}) {
  const dashboard::Asset* asset = dashboard::find_asset(name);
  if (asset == nullptr) return json_error(500, "internal", "the dashboard page is missing from this build");
  std::string body(asset->body);
  if (!error.empty())
    if (const auto at = body.find("data-error=\"\""); at != std::string::npos) body.insert(at + 12, error);
  return with_safety_headers({status, std::string(asset->content_type), {}, std::move(body)});
}

// A signed-in page: layout.html (head, navigation, sign-out) around web/<name>.html, with the
// page's own script, web/<name>.js.
WebResponse signed_in_page(std::string_view name) {
  const dashboard::Asset* layout = dashboard::find_asset("layout.html");
  const dashboard::Asset* content = dashboard::find_asset(std::string(name) + ".html");
  if (layout == nullptr || content == nullptr) return json_error(500, "internal", "the dashboard page is missing from this build");
  std::string body(layout->body);
  const auto fill = [&body](std::string_view slot, std::string_view with) {
    if (const auto at = body.find(slot); at != std::string::npos) body.replace(at, slot.size(), with);
  };
  fill("{{script}}", std::string(name) + ".js");
  fill("{{main}}", content->body);
  return with_safety_headers({200, std::string(layout->content_type), {}, std::move(body)});
}

WebResponse redirect(std::string location, std::string cookie = {}) {
  WebResponse r{303, "text/plain; charset=utf-8", {{"Location", std::move(location)}}, {}};
  if (!cookie.empty()) r.headers.emplace_back("Set-Cookie", std::move(cookie));
  return with_safety_headers(std::move(r));
}

std::string session_cookie_value(const std::string& id) {
  const auto life = std::chrono::duration_cast<std::chrono::seconds>(DashboardSessions::kSessionLife).count();
  return std::string(dashboard::kSessionCookie) + "=" + id +
         "; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=" + std::to_string(life);
}

std::string cleared_cookie_value() {
  return std::string(dashboard::kSessionCookie) + "=; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=0";
}

WebResponse too_many_tries(std::chrono::seconds wait) {
  WebResponse r = page("login.html", 429, "too_many_tries");
  r.headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, wait.count())));
  return r;
}

int status_for(const wire::Error& e) {
  switch (e.code) {
    case wire::ErrorCode::not_found: return 404;
    case wire::ErrorCode::denied: return 403;
    case wire::ErrorCode::conflict: return 409;
    case wire::ErrorCode::overloaded:
    case wire::ErrorCode::shutting_down: return 503;
    case wire::ErrorCode::internal: return 500;
    default: return 400;
  }
}

// An owner command's result as the dashboard answers it.
WebResponse command_answer(const owner::Result& r) {
  if (const auto* e = std::get_if<wire::Error>(&r)) return json_error(status_for(*e), wire::to_string(e->code), e->message, e->field);
  return json_answer(200, std::get<json>(r));
}

// --- The audit trail, written on the owner's threads like every owner command's ---------------

owner::Result record_audit(owner::Services& s, const owner::Caller& caller, const json& args) {
  s.store.audit(caller.actor, args.at("action").get<std::string>(), "", args.at("detail"));
  return json::object();
}
constexpr std::string_view kAuditFields[] = {"action", "detail"};
// Not in the owner command table: neither the socket nor the admin API may write the trail.
const owner::Command kAuditCommand{"dashboard_audit", kAuditFields, owner::Caller::Role::owner, record_audit};

std::string actor_for(const std::string& handle) { return "dashboard:" + handle; }

// --- The dashboard ---------------------------------------------------------------------------

class Dashboard {
 public:
  Dashboard(owner::CommandRunner& commands, DashboardSessions& sessions) : commands_(commands), sessions_(sessions) {}

  void handle(const WebRequest& req, const WebRespond& respond) {
    const std::string_view rest = std::string_view(req.path).substr(kPrefix.size());
    if (req.method == "GET") return get(rest, req, respond);
    if (req.method != "POST") return respond(json_error(405, "method_not_allowed", "the dashboard takes GET and POST"));
    if (const std::string problem = dashboard::cross_site_problem(req); !problem.empty())
      return respond(json_error(403, "cross_site", problem));
    if (rest == "/login") return sign_in(req, respond, false);
    if (rest == "/link") return sign_in(req, respond, true);
    if (rest == "/sign-out") return sign_out(req, respond);
    if (rest == "/api/followup") return move_followup(req, respond);
    if (rest == "/api/idea") return mark_idea(req, respond);
    if (rest.starts_with("/api/gestures/")) return gesture_action(req, respond, rest.substr(14));
    if (rest == "/api/journey") return about_customer(req, respond, "journey");
    if (rest == "/api/export") return about_customer(req, respond, "export");
    if (rest == "/api/erase") return about_customer(req, respond, "erase");
    if (rest == "/api/tokens/issue") return change_tokens(req, respond, "issue", "terminal");
    if (rest == "/api/tokens/revoke") return change_tokens(req, respond, "revoke", "token_id");
    respond(not_found());
  }

 private:
  void get(std::string_view rest, const WebRequest& req, const WebRespond& respond) {
    if (const std::string_view name = page_name(rest); !name.empty())
      return respond(session_of(req) ? signed_in_page(name) : redirect("/dashboard/login"));
    if (rest == "/login") return respond(session_of(req) ? redirect("/dashboard/") : page("login.html"));
    if (rest == "/link") return respond(page("link.html"));
    if (rest.starts_with("/assets/")) return respond(asset(rest.substr(8)));
    if (!rest.starts_with("/api/")) return respond(not_found());
    const auto session = session_of(req);
    if (!session) return respond(json_error(401, "signed_out", "sign in to the dashboard again"));
    read_api(rest.substr(4), req, *session, respond);
  }

  // The JSON the pages read (`rest` after /api): each the answer of one owner command.
  void read_api(std::string_view rest, const WebRequest& req, const DashboardSessions::Found& session,
                const WebRespond& respond) {
    if (rest == "/session") return respond(json_answer(200, {{"csrf", session.csrf}, {"handle", session.handle}}));
    if (rest == "/today") return run("today", json::object(), session, respond);
    if (rest.starts_with("/jobs/")) return job_answer(std::string(rest.substr(6)), session, respond);
    if (rest == "/followups") return run("followups", {{"state", query_text(req, "state", "open")}}, session, respond);
    if (rest == "/ideas") return run("ideas", {{"state", query_text(req, "state", "new")}}, session, respond);
    if (rest == "/report") {
      json request = present_query(req, {"by", "from", "to"});
      request["returning"] = false;  // the page shows satisfaction only: the buyers' count is not worth its scan
      return run("report", {{"request", std::move(request)}}, session, respond);
    }
    if (rest == "/comments") return run("comments", present_query(req, {"reason", "from", "to"}), session, respond);
    if (rest == "/tokens") return run("tokens", {{"request", {{"action", "list"}}}}, session, respond);
    if (rest == "/gestures") return run("gestures", {{"request", {{"action", "list"}}}}, session, respond);
    // The chain's figures come from the hub; when it cannot be reached the command says so (within
    // the link's connect timeout) and the page shows it.
    if (rest == "/chain") return run("chain", json::object(), session, respond);
    if (rest == "/chain/report") return run("chain", {{"report", present_query(req, {"from", "to"})}}, session, respond);
    if (rest == "/chain/roi") return run("chain", {{"roi", json::object()}}, session, respond);
    if (rest == "/gestures/roi") {
      json request = {{"action", "roi"}};
      if (const std::string w = query_text(req, "window_days", ""); !w.empty()) request["window_days"] = query_value(w);
      // It follows every offered and held-out customer's later purchases: a job on a busy store.
      return run_as_job("gestures", {{"request", std::move(request)}}, session, respond);
    }
    respond(not_found());
  }

  // The page a signed-in owner sees at `rest`, or "" when it is not a page.
  static std::string_view page_name(std::string_view rest) {
    if (rest.empty() || rest == "/") return "today";
    if (rest == "/followups") return "followups";
    if (rest == "/ideas") return "ideas";
    if (rest == "/satisfaction") return "satisfaction";
    if (rest == "/lanes") return "lanes";
    if (rest == "/journey") return "journey";
    if (rest == "/gestures") return "gestures";
    if (rest == "/chain") return "chain";
    return {};
  }

  // The named query parameters the request has, as text for the command to check.
  static json present_query(const WebRequest& req, std::initializer_list<const char*> names) {
    json args = json::object();
    for (const char* name : names)
      if (const auto it = req.query.find(name); it != req.query.end() && !it->second.empty()) args[name] = it->second;
    return args;
  }

  static std::string query_text(const WebRequest& req, const std::string& name, std::string fallback) {
    const auto it = req.query.find(name);
    return it == req.query.end() ? std::move(fallback) : it->second;
  }

  // Pages are served through their routes; assets/ serves only what a page loads.
  static WebResponse asset(std::string_view name) {
    if (!(name.ends_with(".css") || name.ends_with(".js") || name.ends_with(".json") || name.ends_with(".svg")))
      return not_found();
    const dashboard::Asset* a = dashboard::find_asset(name);
    if (a == nullptr) return not_found();
    return with_safety_headers({200, std::string(a->content_type), {}, std::string(a->body)});
  }

  std::optional<DashboardSessions::Found> session_of(const WebRequest& req) {
    const std::string id = dashboard::session_cookie(req);
    return id.empty() ? std::nullopt : sessions_.find(id);
  }

  // An owner command for a signed-in owner, on the owner's threads, answered as JSON.
  void run(std::string_view name, json args, const DashboardSessions::Found& session, const WebRespond& respond) {
    const owner::Command* command = owner::find_command(name);
    commands_.run(*command, {owner::Caller::Role::owner, actor_for(session.handle)}, std::move(args),
                  [respond](owner::Result r) { respond(command_answer(r)); });
  }

  // A long owner command (dashboard/owner_jobs.hpp): answered at once, 202 {"job": id}; the page
  // fetches GET /dashboard/api/jobs/<id> until the command's answer is there.
  void run_as_job(std::string_view name, json args, const DashboardSessions::Found& session, const WebRespond& respond) {
    const auto id = jobs_->start(session.handle);
    if (!id) return respond(json_error(503, "overloaded", "too many long tasks are running; try again in a minute"));
    const owner::Command* command = owner::find_command(name);
    commands_.run(*command, {owner::Caller::Role::owner, actor_for(session.handle)}, std::move(args),
                  [jobs = jobs_, id = *id](owner::Result r) { jobs->finish(id, command_answer(r)); });
    respond(json_answer(202, {{"job", *id}}));
  }

  void job_answer(const std::string& id, const DashboardSessions::Found& session, const WebRespond& respond) {
    bool unknown = false;
    auto answer = jobs_->take(id, session.handle, unknown);
    if (unknown) return respond(json_error(404, "not_found", "this session started no such task; start it again"));
    if (!answer) return respond(json_answer(202, {{"job", id}, {"done", false}}));
    respond(std::move(*answer));
  }

  // Writes the trail, then calls `done` with whether it was written.
  void audit(const std::string& actor, std::string action, json detail, std::function<void(bool)> done) {
    commands_.run(kAuditCommand, {owner::Caller::Role::owner, actor},
                  {{"action", std::move(action)}, {"detail", std::move(detail)}},
                  [done = std::move(done)](owner::Result r) { done(std::holds_alternative<json>(r)); });
  }

  // The right token or link always signs in: every process on this machine (and a proxy on it)
  // comes from 127.0.0.1, so a throttle that refused everyone from there would let any of them
  // keep the owner out. Wrong ones are slowed down (and their audit entries with them); the
  // owner token and a link's code are long random secrets, beyond guessing either way.
  void sign_in(const WebRequest& req, const WebRespond& respond, bool by_link) {
    auto form = by_link ? dashboard::parse_form(req, {{"code", kSecretChars}})
                        : dashboard::parse_form(req, {{"token", kTokenChars}});
    if (auto* problem = std::get_if<std::string>(&form)) {
      REGULARS_LOG_LIMITED(info, "dashboard sign-in refused", ({{"reason", *problem}}));
      return respond(page("login.html", 400, "bad_form"));
    }
    const auto& fields = std::get<dashboard::Form>(form);
    const char* method = by_link ? "link" : "token";
    const bool right =
        by_link ? sessions_.redeem_link_code(fields.at("code")) : sessions_.is_owner_token(dashboard::trim(fields.at("token")));
    if (!right) {
      if (const auto wait = throttle_.wait_for(req.peer)) return respond(too_many_tries(*wait));
      return refuse_sign_in(req.peer, method, respond);
    }
    throttle_.succeeded(req.peer);
    auto opened = std::make_shared<DashboardSessions::Opened>(sessions_.open());
    audit(actor_for(opened->handle), "dashboard_sign_in", {{"method", method}}, [this, opened, respond](bool recorded) {
      // A sign-in the trail cannot show does not happen.
      if (!recorded) {
        sessions_.end(opened->id);
        return respond(json_error(503, "overloaded", "the sign-in could not be recorded; try again in a moment"));
      }
      respond(redirect("/dashboard/", session_cookie_value(opened->id)));
    });
  }

  void refuse_sign_in(const std::string& peer, const char* method, const WebRespond& respond) {
    const auto wait = throttle_.failed(peer);
    REGULARS_LOG_LIMITED(warn, "dashboard sign-in refused", ({{"method", method}, {"peer", peer}}));
    const bool link = std::string_view(method) == "link";
    audit("dashboard", "dashboard_sign_in_refused", {{"method", method}, {"peer", peer}}, [respond, wait, link](bool) {
      if (wait.count() > 0) return respond(too_many_tries(wait));
      respond(page("login.html", 401, link ? "link_spent" : "wrong_token"));
    });
  }

  // The CSRF token of a post: the X-CSRF-Token header (scripts) or the form's csrf field.
  static std::string presented_csrf(const WebRequest& req) {
    if (const std::string_view h = dashboard::header(req, "x-csrf-token"); !h.empty()) return std::string(h);
    return dashboard::csrf_field(req);
  }

  static bool csrf_matches(const std::string& presented, const std::string& expected) {
    return presented.size() == expected.size() &&
           CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
  }

  // A signed-in post: the session, once its CSRF token is checked; else the refusal is sent.
  std::optional<DashboardSessions::Found> checked_session(const WebRequest& req, const WebRespond& respond) {
    const auto session = session_of(req);
    if (!session) {
      respond(json_error(401, "signed_out", "sign in to the dashboard again"));
      return std::nullopt;
    }
    if (!csrf_matches(presented_csrf(req), session->csrf)) {
      respond(json_error(403, "csrf", "the request lacks this session's CSRF token; reload the page and try again"));
      return std::nullopt;
    }
    return session;
  }

  // Marks a follow-up contacted, resolved or open again, with an optional note: the same
  // `followup` command as regularsctl followup, signed by this session.
  void move_followup(const WebRequest& req, const WebRespond& respond) {
    const auto session = checked_session(req, respond);
    if (!session) return;
    auto form = dashboard::parse_form(
        req, {{"feedback", 128}, {"state", 16}, {"note", 500, false}, {"csrf", kSecretChars, false}});
    if (auto* problem = std::get_if<std::string>(&form)) return respond(json_error(400, "bad_form", *problem));
    const auto& fields = std::get<dashboard::Form>(form);
    json args = {{"feedback", fields.at("feedback")}, {"state", fields.at("state")}, {"by", actor_for(session->handle)}};
    if (const auto note = fields.find("note"); note != fields.end() && !note->second.empty()) args["note"] = note->second;
    run("followup", std::move(args), *session, respond);
  }

  // Marks a staff idea seen, done or new again: the `idea` command, signed by this session.
  void mark_idea(const WebRequest& req, const WebRespond& respond) {
    const auto session = checked_session(req, respond);
    if (!session) return;
    auto form = dashboard::parse_form(req, {{"idea", 128}, {"state", 16}, {"csrf", kSecretChars, false}});
    if (auto* problem = std::get_if<std::string>(&form)) return respond(json_error(400, "bad_form", *problem));
    const auto& fields = std::get<dashboard::Form>(form);
    run("idea", {{"idea", fields.at("idea")}, {"state", fields.at("state")}, {"by", actor_for(session->handle)}}, *session,
        respond);
  }

  // The rule form's actions, each the `gestures` command as regularsctl gestures runs it:
  // validate (as the owner types), dry-run, save (add), enable and disable. The rule travels as
  // JSON text in the form field `rule`, parsed here within the rules' nesting limit.
  void gesture_action(const WebRequest& req, const WebRespond& respond, std::string_view what) {
    static const std::map<std::string_view, const char*> kActions = {
        {"validate", "validate"}, {"dry-run", "dry_run"}, {"save", "add"}, {"enable", "enable"}, {"disable", "disable"}};
    const auto action = kActions.find(what);
    if (action == kActions.end()) return respond(not_found());
    const auto session = checked_session(req, respond);
    if (!session) return;
    auto form = dashboard::parse_form(
        req, {{"rule", 65536, false}, {"id", 64, false}, {"days", 8, false}, {"csrf", kSecretChars, false}});
    if (auto* problem = std::get_if<std::string>(&form)) return respond(json_error(400, "bad_form", *problem));
    const auto& fields = std::get<dashboard::Form>(form);
    json request = {{"action", action->second}};
    if (const auto rule = fields.find("rule"); rule != fields.end()) {
      auto parsed = wire::parse_json(rule->second, 64);
      if (auto* e = std::get_if<wire::Error>(&parsed)) return respond(json_error(400, "invalid_rule", e->message, "rule"));
      request["rule"] = std::move(std::get<json>(parsed));
    }
    if (const auto id = fields.find("id"); id != fields.end()) request["id"] = id->second;
    if (const auto days = fields.find("days"); days != fields.end()) request["days"] = query_value(days->second);
    // A dry run replays the store's log: seconds on a large store, so a job.
    if (what == "dry-run") return run_as_job("gestures", {{"request", std::move(request)}}, *session, respond);
    run("gestures", {{"request", std::move(request)}}, *session, respond);
  }

  // A customer's journey, export or erasure, named by an identifier that travels only in this
  // POST's body: never in a URL, a log line or a cookie. The command hashes it and keeps it nowhere.
  void about_customer(const WebRequest& req, const WebRespond& respond, const char* command) {
    const auto session = checked_session(req, respond);
    if (!session) return;
    auto form = dashboard::parse_form(req, {{"kind", 16}, {"value", 256}, {"csrf", kSecretChars, false}});
    if (auto* problem = std::get_if<std::string>(&form)) return respond(json_error(400, "bad_form", *problem));
    const auto& fields = std::get<dashboard::Form>(form);
    json args = {{"customer", {{"kind", fields.at("kind")}, {"value", fields.at("value")}}}};
    // An erasure rewrites the store and truncates its log (half a second on a large store): a job.
    if (std::string_view(command) == "erase") return run_as_job(command, std::move(args), *session, respond);
    run(command, std::move(args), *session, respond);
  }

  // Issues a lane token for a terminal, or revokes one: the `tokens` command. An issued token is
  // in this one answer only; the page shows it once.
  void change_tokens(const WebRequest& req, const WebRespond& respond, const char* action, const char* field) {
    const auto session = checked_session(req, respond);
    if (!session) return;
    auto form = dashboard::parse_form(req, {{field, 64}, {"csrf", kSecretChars, false}});
    if (auto* problem = std::get_if<std::string>(&form)) return respond(json_error(400, "bad_form", *problem));
    run("tokens", {{"request", {{"action", action}, {field, std::get<dashboard::Form>(form).at(field)}}}}, *session, respond);
  }

  void sign_out(const WebRequest& req, const WebRespond& respond) {
    const std::string id = dashboard::session_cookie(req);
    const auto session = id.empty() ? std::nullopt : sessions_.find(id);
    if (!session) return respond(json_error(401, "signed_out", "there is no session to end; sign in first"));
    if (!csrf_matches(presented_csrf(req), session->csrf))
      return respond(
          json_error(403, "csrf", "the request lacks this session's CSRF token; reload the page and try again"));
    sessions_.end(id);
    audit(actor_for(session->handle), "dashboard_sign_out", json::object(),
          [respond](bool) { respond(redirect("/dashboard/login", cleared_cookie_value())); });
  }

  owner::CommandRunner& commands_;
  DashboardSessions& sessions_;
  SignInThrottle throttle_;
  // Shared with the commands' callbacks, which may finish on an owner thread after an answer.
  std::shared_ptr<dashboard::OwnerJobs> jobs_ = std::make_shared<dashboard::OwnerJobs>();
};

}  // namespace

WebHandler make_dashboard_handler(owner::CommandRunner& commands, DashboardSessions& sessions) {
  auto dashboard = std::make_shared<Dashboard>(commands, sessions);
  return [dashboard](const WebRequest& req, WebRespond respond) { dashboard->handle(req, respond); };
}

}  // namespace regulars::daemon
