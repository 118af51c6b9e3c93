#include "net/admin_routes.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "owner/privacy.hpp"
#include "owner/reports.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(kHex[data[i] >> 4]);
    s.push_back(kHex[data[i] & 0xf]);
  }
  return s;
}

AdminResponse error(int status, const std::string& code, const std::string& field, const std::string& message) {
  json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return AdminResponse{status, json{{"error", e}}};
}

AdminResponse error(const wire::Error& e, int status = 400) {
  return error(status, std::string(wire::to_string(e.code)), e.field, e.message);
}

// Submits one event to the writer and waits for its acknowledgement (a flush covers it).
WriteResult record_and_wait(Store& store, PreparedEvent prepared) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<WriteResult> result;
  store.submit(std::move(prepared), [&](WriteResult r) {
    std::lock_guard lock(m);
    result = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

AdminResponse record(Store& store, const IdentityKey& key, const json& event) {
  if (auto e = wire::validate_event(event, "body")) return error(*e);
  const WriteResult r = record_and_wait(store, prepare_event(event, key));
  if (r.refused) return error(409, "refused", "", r.error);
  if (!r.ok) return error(503, "unavailable", "", r.error);
  return AdminResponse{200, json{{"seq", r.seq}, {"duplicate", r.duplicate}}};
}

// Who acts through the admin API, for the audit trail: whoever holds the owner's token.
constexpr const char* kAdminActor = "admin-token";

std::string random_id(const char* prefix) {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  return std::string(prefix) + hex(b, sizeof b);
}

// "/v1/gestures/{id}/enable" (or /disable) -> (id, "enable"); nullopt for any other path.
std::optional<std::pair<std::string, std::string>> gesture_action(const std::string& path) {
  static const std::string prefix = "/v1/gestures/";
  if (path.rfind(prefix, 0) != 0) return std::nullopt;
  const std::string rest = path.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  const std::string id = rest.substr(0, slash), action = rest.substr(slash + 1);
  if (action != "enable" && action != "disable") return std::nullopt;
  return std::pair{id, action};
}

}  // namespace

std::string load_or_create_admin_token(const std::string& data_dir) {
  const std::string path = data_dir + "/admin.token";
  std::string token;
  if (std::ifstream in(path); in) {
    std::getline(in, token);
  } else {
    unsigned char raw[24];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("cannot generate the admin token (RAND_bytes failed)");
    token = hex(raw, sizeof raw);
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
    const std::string line = token + "\n";
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
      throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  }
  if (token.size() < 16)
    throw std::runtime_error(path + " holds no usable token (at least 16 characters); delete it to have a new one made");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return hex(digest, sizeof digest);
}

AdminHandler make_admin_handler(Store& store, const IdentityKey& key, GestureEngine* gestures) {
  return [&store, &key, gestures](const AdminRequest& req) -> AdminResponse {
    const std::int64_t now = wire::now_ms();
    const auto q = [&](const char* name) -> std::optional<std::string> {
      const auto it = req.query.find(name);
      if (it == req.query.end()) return std::nullopt;
      return it->second;
    };
    const std::string& p = req.path;
    const bool get = req.method == "GET", post = req.method == "POST";

    if (p == "/v1/status" && get) {
      const StoreStats st = store.stats();
      return {200, json{{"version", REGULARS_VERSION_STRING}, {"events", st.events}, {"customers", st.customers},
                        {"items", st.items}, {"commits", store.commits()}}};
    }
    if (p == "/v1/reports/satisfaction" && get) {
      json request = json::object();
      for (const char* k : {"by", "from", "to"})
        if (auto v = q(k)) request[k] = *v;
      if (auto e = validate_report_request(request)) return error(*e);
      return {200, satisfaction_report(store.read_connection(), request, now)};
    }
    if (p == "/v1/followups" && get) {
      const std::string state = q("state").value_or("open");
      if (state != "open" && state != "contacted" && state != "resolved" && state != "all")
        return error(400, "invalid_request", "state", "must be open, contacted, resolved or all");
      return {200, followup_queue(store.read_connection(), state, now)};
    }
    if (p.rfind("/v1/followups/", 0) == 0 && post) {
      if (!req.body.is_object()) return error(400, "invalid_request", "body", "must be a JSON object with state, note, by");
      json event = {{"type", "followup"}, {"event_id", random_id("followup-")}, {"feedback", p.substr(14)}};
      for (const char* k : {"state", "note", "by"})
        if (req.body.contains(k)) event[k] = req.body[k];
      for (const auto& [k, _] : req.body.items())
        if (k != "state" && k != "note" && k != "by")
          return error(400, "invalid_request", "body." + k, "is not a field of a follow-up change (state, note, by)");
      return record(store, key, event);
    }
    if (p == "/v1/ideas" && get) {
      int limit = 200;
      if (auto v = q("limit")) {
        try {
          limit = std::stoi(*v);
        } catch (...) {
          limit = 0;
        }
        if (limit < 1 || limit > 10000) return error(400, "invalid_request", "limit", "must be a whole number from 1 to 10000");
      }
      return {200, staff_ideas(store.read_connection(), limit)};
    }
    if (p == "/v1/feedback" && post) {
      // Feedback from another channel: it must say which touchpoint it came from.
      if (!req.body.is_object()) return error(400, "invalid_event", "body", "must be a feedback event (a JSON object)");
      json event = req.body;
      if (!event.contains("type")) event["type"] = "feedback";
      if (event["type"] != "feedback") return error(400, "invalid_event", "body.type", "must be feedback on this route");
      if (!event.contains("touchpoint"))
        return error(400, "invalid_event", "body.touchpoint", "is required: the channel it came from, e.g. web, phone, email");
      if (!event.contains("event_id")) event["event_id"] = random_id("fb-");
      if (!event.contains("time")) event["time"] = wire::format_time_ms(now);
      return record(store, key, event);
    }
    if ((p == "/v1/customers/export" || p == "/v1/customers/erase") && post) {
      if (!req.body.is_object() || !req.body.contains("customer"))
        return error(400, "invalid_request", "body.customer", "is required: {\"customer\": {\"kind\": ..., \"value\": ...}}");
      if (auto e = wire::validate_customer(req.body["customer"], "body.customer")) return error(*e);
      const std::string kind = req.body["customer"]["kind"].get<std::string>();
      const IdentifierHash hash = key.hash(kind, wire::normalize_identifier(kind, req.body["customer"]["value"].get<std::string>()));
      if (p == "/v1/customers/erase") {
        if (gestures != nullptr) gestures->flush();  // this customer's latest offers go with them
        auto receipt = store.erase_customer(kind, hash, kAdminActor);
        if (!receipt) return error(404, "not_found", "body.customer", "no customer has that identifier");
        return {200, std::move(*receipt)};
      }
      const auto found = store.find_customer(kind, hash);
      if (!found) return error(404, "not_found", "body.customer", "no customer has that identifier");
      json record = export_customer(store.read_connection(), found->id);
      store.audit(kAdminActor, "export", "", {{"events", record["events"].size()}});  // not whose: see server.cpp
      return {200, std::move(record)};
    }
    if (p == "/v1/audit" && get) {
      int limit = 200;
      if (auto v = q("limit")) {
        const bool digits = !v->empty() && v->size() <= 5 && v->find_first_not_of("0123456789") == std::string::npos;
        limit = digits ? std::stoi(*v) : 0;
        if (limit < 1 || limit > 10000) return error(400, "invalid_request", "limit", "must be a whole number from 1 to 10000");
      }
      return {200, audit_log(store.read_connection(), limit)};
    }
    if (p == "/v1/journey" && post) {
      if (!req.body.is_object() || !req.body.contains("customer"))
        return error(400, "invalid_request", "body.customer", "is required: {\"customer\": {\"kind\": ..., \"value\": ...}}");
      if (auto e = wire::validate_customer(req.body["customer"], "body.customer")) return error(*e);
      const std::string kind = req.body["customer"]["kind"].get<std::string>();
      const auto found = store.find_customer(
          kind, key.hash(kind, wire::normalize_identifier(kind, req.body["customer"]["value"].get<std::string>())));
      if (!found) return error(404, "not_found", "body.customer", "no customer has that identifier");
      return {200, customer_journey(store.read_connection(), found->id, 1000)};
    }
    if (p.rfind("/v1/gestures", 0) == 0 && gestures != nullptr) {
      json command;
      if (p == "/v1/gestures" && get) {
        command = {{"action", "list"}};
      } else if (p == "/v1/gestures" && post) {
        command = {{"action", "add"}, {"rule", req.body}};
      } else if (p == "/v1/gestures/validate" && post) {
        command = {{"action", "validate"}, {"rule", req.body}};
      } else if (p == "/v1/gestures/dry-run" && post) {
        if (!req.body.is_object()) return error(400, "invalid_request", "body", "must be {\"id\": ...} or {\"rule\": {...}}, with \"days\"");
        command = req.body;
        command["action"] = "dry_run";
      } else if (p == "/v1/gestures/roi" && get) {
        command = {{"action", "roi"}};
        if (auto v = q("rule")) command["id"] = *v;
        if (auto v = q("as_of")) command["as_of"] = *v;
        if (auto v = q("window_days")) {
          const bool digits = !v->empty() && v->size() <= 3 && v->find_first_not_of("0123456789") == std::string::npos;
          if (!digits) return error(400, "invalid_request", "window_days", "must be a whole number from 1 to 365");
          command["window_days"] = std::stoi(*v);
        }
      } else if (const auto action = gesture_action(p); post && action) {
        command = {{"action", action->second}, {"id", action->first}};
      } else {
        return error(404, "not_found", "path", "no route " + req.method + " " + p.substr(0, 64) + "; see daemon/net/admin_routes.hpp");
      }
      auto r = gestures->command(store.read_connection(), command, now);
      if (auto* e = std::get_if<wire::Error>(&r)) return error(*e, e->code == wire::ErrorCode::not_found ? 404 : 400);
      const std::string action = command.value("action", "");
      if (action == "add" || action == "enable" || action == "disable")
        store.audit(kAdminActor, "gesture_" + action,
                    action == "add" ? command["rule"].value("id", "") : command.value("id", ""),
                    action == "add" ? command["rule"] : json::object());
      return {200, std::get<json>(std::move(r))};
    }
    return error(404, "not_found", "path",
                 "no route " + req.method + " " + p.substr(0, 64) +
                     "; see daemon/net/admin_routes.hpp: /v1/status, /v1/reports/satisfaction, /v1/followups, /v1/ideas, "
                     "/v1/feedback, /v1/journey, /v1/gestures, /v1/customers/export, /v1/customers/erase, /v1/audit");
  };
}

}  // namespace regulars::daemon
