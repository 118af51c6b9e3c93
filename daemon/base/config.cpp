#include "base/config.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

namespace regulars::daemon {
namespace {

using nlohmann::json;

wire::Error bad(const std::string& key, const std::string& message) {
  return wire::Error{wire::ErrorCode::invalid_request, key, message};
}

std::optional<wire::Error> get_int(const json& obj, const std::string& section, const char* key, int lo, int hi, int& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_number_integer() || it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi)
    return bad(section + key, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  out = it->get<int>();
  return std::nullopt;
}

std::optional<wire::Error> get_int64(const json& obj, const std::string& section, const char* key, std::int64_t lo,
                                     std::int64_t hi, std::int64_t& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_number_integer() || it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi)
    return bad(section + key, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  out = it->get<std::int64_t>();
  return std::nullopt;
}

std::optional<wire::Error> get_string(const json& obj, const std::string& section, const char* key, std::string& out) {
  const auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) return bad(section + key, "must be a non-empty string");
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<wire::Error> only_keys(const json& obj, const std::string& section, std::initializer_list<const char*> keys) {
  if (!obj.is_object()) return bad(section.empty() ? "(top level)" : section.substr(0, section.size() - 1), "must be an object");
  for (const auto& [k, _] : obj.items()) {
    bool known = false;
    for (const char* key : keys) known = known || k == key;
    if (!known) return bad(section + k, "is not a known setting (see packaging/regularsd.conf)");
  }
  return std::nullopt;
}

// One function per section of the file: each checks its keys in turn and applies them onto the
// config, returning the first error.

// listen.tls: lanes on other machines, over TCP with TLS (a certificate and its key required).
std::optional<wire::Error> parse_listen_tls(const json& t, Config& c) {
  if (auto e = only_keys(t, "listen.tls.", {"address", "port", "cert", "key", "handshake_timeout_s", "max_connections",
                                            "max_unauthenticated", "max_unauthenticated_per_address"}))
    return e;
  if (auto e = get_int(t, "listen.tls.", "max_connections", 1, 100000, c.tls_max_connections)) return e;
  if (auto e = get_int(t, "listen.tls.", "max_unauthenticated", 1, 100000, c.tls_max_unauthenticated)) return e;
  if (auto e = get_int(t, "listen.tls.", "max_unauthenticated_per_address", 1, 100000, c.tls_max_unauthenticated_per_address))
    return e;
  if (auto e = get_string(t, "listen.tls.", "address", c.tls_address)) return e;
  if (auto e = get_int(t, "listen.tls.", "port", 0, 65535, c.tls_port)) return e;
  if (auto e = get_string(t, "listen.tls.", "cert", c.tls_cert)) return e;
  if (auto e = get_string(t, "listen.tls.", "key", c.tls_key)) return e;
  if (auto e = get_int(t, "listen.tls.", "handshake_timeout_s", 1, 300, c.tls_handshake_timeout_s)) return e;
  if (c.tls_cert.empty() || c.tls_key.empty())
    return bad(c.tls_cert.empty() ? "listen.tls.cert" : "listen.tls.key",
               "is required with listen.tls: the server's certificate and private key as PEM files "
               "(packaging/make-tls.sh makes a store CA and both)");
  c.tls_enabled = true;
  return std::nullopt;
}

// listen.socket_mode: an octal mode written as a string ("0660").
std::optional<wire::Error> parse_socket_mode(const json& m, Config& c) {
  std::string mode = m.is_string() ? m.get<std::string>() : "";
  unsigned v = 0;
  bool ok = mode.size() >= 3 && mode.size() <= 4;
  for (char ch : mode) {
    ok = ok && ch >= '0' && ch <= '7';
    v = v * 8 + static_cast<unsigned>(ch - '0');
  }
  if (!ok || v > 0777) return bad("listen.socket_mode", "must be an octal mode in quotes, such as \"0660\"");
  c.socket_mode = v;
  return std::nullopt;
}

std::optional<wire::Error> parse_listen(const json& l, Config& c) {
  if (auto e = only_keys(l, "listen.", {"socket", "socket_mode", "group", "tls"})) return e;
  if (auto t = l.find("tls"); t != l.end())
    if (auto e = parse_listen_tls(*t, c)) return e;
  if (auto e = get_string(l, "listen.", "socket", c.socket_path)) return e;
  if (auto e = get_string(l, "listen.", "group", c.socket_group)) return e;
  if (auto m = l.find("socket_mode"); m != l.end())
    if (auto e = parse_socket_mode(*m, c)) return e;
  return std::nullopt;
}

std::optional<wire::Error> parse_limits(const json& l, Config& c) {
  if (auto e = only_keys(l, "limits.", {"max_frame_bytes", "max_depth", "max_connections", "max_connections_per_uid",
                                        "reserved_for_owner", "max_in_flight", "idle_timeout_s", "max_future_seconds"}))
    return e;
  // Up to a century: a shop may open the window wide, never make it unbounded.
  if (auto e = get_int64(l, "limits.", "max_future_seconds", 1, 3'153'600'000, c.max_future_seconds)) return e;
  int frame = static_cast<int>(c.max_frame_bytes);
  if (auto e = get_int(l, "limits.", "max_frame_bytes", 1024, 64 << 20, frame)) return e;
  c.max_frame_bytes = static_cast<std::uint32_t>(frame);
  if (auto e = get_int(l, "limits.", "max_depth", 4, 256, c.max_depth)) return e;
  if (auto e = get_int(l, "limits.", "max_connections", 1, 100000, c.max_connections)) return e;
  if (auto e = get_int(l, "limits.", "max_connections_per_uid", 1, 100000, c.max_connections_per_uid)) return e;
  if (auto e = get_int(l, "limits.", "reserved_for_owner", 0, 100000, c.reserved_for_owner)) return e;
  if (auto e = get_int(l, "limits.", "max_in_flight", 1, 65536, c.max_in_flight)) return e;
  return get_int(l, "limits.", "idle_timeout_s", 1, 86400 * 7, c.idle_timeout_s);
}

std::optional<wire::Error> parse_store(const json& s, Config& c) {
  if (auto e = only_keys(s, "store.", {"group_commit_max", "checkpoint_pages"})) return e;
  if (auto e = get_int(s, "store.", "group_commit_max", 1, 100000, c.group_commit_max)) return e;
  return get_int(s, "store.", "checkpoint_pages", 1000, 262144, c.checkpoint_pages);
}

std::optional<wire::Error> parse_log(const json& l, Config& c) {
  if (auto e = only_keys(l, "log.", {"level", "format"})) return e;
  if (auto e = get_string(l, "log.", "level", c.log_level)) return e;
  return get_string(l, "log.", "format", c.log_format);
}

std::optional<wire::Error> parse_hints(const json& h, Config& c) {
  if (auto e = only_keys(h, "hints.", {"max_hints", "max_predictions", "default_locale", "currency"})) return e;
  if (auto e = get_int(h, "hints.", "max_hints", 0, 20, c.max_hints)) return e;
  if (auto e = get_int(h, "hints.", "max_predictions", 0, 50, c.max_predictions)) return e;
  if (auto e = get_string(h, "hints.", "currency", c.currency)) return e;
  if (!c.currency.empty() && (c.currency.size() != 3 || !std::all_of(c.currency.begin(), c.currency.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })))
    return bad("hints.currency", "must be an ISO 4217 code of three capital letters, e.g. \"EUR\" or \"IRR\"");
  return get_string(h, "hints.", "default_locale", c.default_locale);
}

std::optional<wire::Error> parse_admin(const json& a, Config& c) {
  if (auto e = only_keys(a, "admin.", {"enabled", "address", "port", "owner_threads"})) return e;
  if (auto en = a.find("enabled"); en != a.end()) {
    if (!en->is_boolean()) return bad("admin.enabled", "must be true or false");
    c.admin_enabled = en->get<bool>();
  }
  if (auto e = get_string(a, "admin.", "address", c.admin_address)) return e;
  if (auto e = get_int(a, "admin.", "port", 0, 65535, c.admin_port)) return e;
  return get_int(a, "admin.", "owner_threads", 1, 16, c.owner_threads);
}

std::optional<wire::Error> parse_feedback(const json& f, Config& c) {
  if (auto e = only_keys(f, "feedback.", {"ask_every_days", "sample_percent", "quiet_days_after_complaint"})) return e;
  if (auto e = get_int(f, "feedback.", "ask_every_days", 0, 3650, c.feedback_ask_every_days)) return e;
  if (auto e = get_int(f, "feedback.", "sample_percent", 0, 100, c.feedback_sample_percent)) return e;
  return get_int(f, "feedback.", "quiet_days_after_complaint", 0, 3650, c.feedback_quiet_days_after_complaint);
}

std::optional<wire::Error> parse_retention(const json& r, Config& c) {
  if (auto e = only_keys(r, "retention.", {"max_age_days", "check_every_hours"})) return e;
  if (auto e = get_int(r, "retention.", "max_age_days", 0, 36500, c.retention_max_age_days)) return e;
  return get_int(r, "retention.", "check_every_hours", 1, 24 * 365, c.retention_check_hours);
}

std::optional<wire::Error> parse_gestures(const json& g, Config& c) {
  if (auto e = only_keys(g, "gestures.", {"max_offers", "max_clock_skew_minutes"})) return e;
  if (auto e = get_int(g, "gestures.", "max_offers", 0, 10, c.max_offers)) return e;
  return get_int(g, "gestures.", "max_clock_skew_minutes", 0, 5'256'000, c.gestures_max_clock_skew_minutes);
}

std::optional<wire::Error> parse_privacy(const json& p, Config& c) {
  if (auto e = only_keys(p, "privacy.", {"personalize_requires_consent", "on_remember_withdrawn", "erasure_tombstone_days"}))
    return e;
  if (auto e = get_int(p, "privacy.", "erasure_tombstone_days", 1, 36500, c.erasure_tombstone_days)) return e;
  if (auto e = get_string(p, "privacy.", "on_remember_withdrawn", c.on_remember_withdrawn)) return e;
  if (c.on_remember_withdrawn != "erase" && c.on_remember_withdrawn != "keep")
    return bad("privacy.on_remember_withdrawn", "must be erase or keep");
  if (auto r = p.find("personalize_requires_consent"); r != p.end()) {
    if (!r->is_boolean()) return bad("privacy.personalize_requires_consent", "must be true or false");
    c.personalize_requires_consent = r->get<bool>();
  }
  return std::nullopt;
}

std::optional<wire::Error> parse_chain(const json& ch, Config& c) {
  if (auto e = only_keys(ch, "chain.", {"hub", "store_id", "ca_file", "poll_ms", "roi_every_s", "time_zone"})) return e;
  if (auto e = get_string(ch, "chain.", "time_zone", c.chain_time_zone)) return e;
  if (auto e = get_string(ch, "chain.", "hub", c.chain_hub)) return e;
  if (auto e = get_string(ch, "chain.", "store_id", c.chain_store_id)) return e;
  if (auto e = get_string(ch, "chain.", "ca_file", c.chain_ca_file)) return e;
  if (auto e = get_int(ch, "chain.", "poll_ms", 10, 60000, c.chain_poll_ms)) return e;
  if (auto e = get_int(ch, "chain.", "roi_every_s", 1, 86400, c.chain_roi_every_s)) return e;
  if (c.chain_hub.empty())
    return bad("chain.hub", "is required in a chain section: the hub's libpq connection string, e.g. "
                            "\"host=hub.example port=5432 dbname=regulars user=store_a\"");
  if (!is_store_id(c.chain_store_id))
    return bad("chain.store_id", "is required: this store's name in the chain, 1 to 64 of A-Z a-z 0-9 _ . -");
  return std::nullopt;
}

// The sections, in the order they are checked (the first error found is the one reported).
constexpr std::pair<const char*, std::optional<wire::Error> (*)(const json&, Config&)> kSections[] = {
    {"listen", parse_listen},     {"limits", parse_limits},       {"store", parse_store},
    {"log", parse_log},           {"hints", parse_hints},         {"admin", parse_admin},
    {"feedback", parse_feedback}, {"retention", parse_retention}, {"gestures", parse_gestures},
    {"privacy", parse_privacy},   {"chain", parse_chain}};

}  // namespace

bool is_store_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
  });
}

std::variant<Config, wire::Error> parse_config_text(const std::string& text, Config c) {
  json j;
  try {
    j = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for "1e400"
    return bad("", std::string("the config file is not valid JSON: ") + e.what());
  }
  if (auto e = only_keys(j, "", {"data_dir", "io_threads", "io_spin_us", "listen", "limits", "store", "log", "hints", "privacy", "feedback", "admin", "gestures", "retention", "chain"})) return *e;
  if (auto e = get_string(j, "", "data_dir", c.data_dir)) return *e;
  if (auto e = get_int(j, "", "io_threads", 1, 64, c.io_threads)) return *e;
  if (auto e = get_int(j, "", "io_spin_us", 0, 10000, c.io_spin_us)) return *e;
  for (const auto& [name, parse_section] : kSections)
    if (auto it = j.find(name); it != j.end())
      if (auto e = parse_section(*it, c)) return *e;
  return c;
}

std::variant<Config, wire::Error> load_config_file(const std::string& path, Config config) {
  std::ifstream in(path);
  if (!in) return bad("", "cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > (1u << 20)) return bad("", "config file " + path + " is larger than 1 MiB");
  auto r = parse_config_text(ss.str(), std::move(config));
  if (auto* e = std::get_if<wire::Error>(&r)) e->message = path + ": " + e->message;
  return r;
}

std::variant<Config, wire::Error> finish_config(Config c) {
  if (c.data_dir.empty()) return bad("data_dir", "is required: pass --data-dir DIR or set data_dir in the config file");
  if (c.socket_path.empty()) c.socket_path = c.data_dir + "/regularsd.sock";
  if (c.socket_path.size() >= 108)
    return bad("listen.socket", "socket path is longer than 107 bytes; choose a shorter data directory or socket path");
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error")
    return bad("log.level", "must be one of trace, debug, info, warn, error");
  if (c.log_format != "json" && c.log_format != "text") return bad("log.format", "must be json or text");
  return c;
}

}  // namespace regulars::daemon
