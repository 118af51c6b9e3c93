#include "chain/hub_event.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "base/config.hpp"
#include "memory/consent.hpp"
#include "memory/projector.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::chain {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 9> kCarried{"purchase", "return", "consent", "preference", "note",
                                                   "profile",  "link",   "merge",   "feedback"};
constexpr std::size_t kMaxBodyBytes = 1u << 20;  // a till's frame may be no larger

// A well-formed identifier of each kind, standing in for the raw value the hub never sees, so
// the body can go through the same validator as a till's event. The customer's and the second
// identifier's differ, as a link's or merge's two identifiers must.
std::string stand_in_for(std::string_view kind, bool second) {
  if (kind == "phone") return second ? "+15550101" : "+15550100";
  if (kind == "email") return second ? "second@example.invalid" : "first@example.invalid";
  return second ? "chain-second" : "chain-first";
}

// A string field of a JSON object, or "" when it is absent or not a string (value() would throw).
std::string text_of(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The body as a till would have sent it: raw identifiers (stand-ins) instead of their hashes.
std::optional<std::string> check_body(const json& body, const HubEvent& row) {
  // The hub holds keyed hashes only: a raw identifier in a row is refused, never stored.
  if (body.contains("customer")) return "a raw customer identifier; the hub carries keyed hashes only";
  json event = body;
  event.erase("customer_kind");
  if (!row.id_kind.empty()) {
    if (text_of(body, "customer_kind") != row.id_kind) return "customer_kind does not match id_kind";
    event["customer"] = {{"kind", row.id_kind}, {"value", stand_in_for(row.id_kind, false)}};
  }
  for (const char* named : {"identifier", "other"}) {
    const auto it = body.find(named);
    if (it == body.end()) continue;
    if (!it->is_object() || it->size() != 2 || !it->contains("hash") || !it->at("hash").is_string() ||
        !from_hex(it->at("hash").get<std::string>()) || !it->contains("kind") || !it->at("kind").is_string())
      return std::string(named) + " must be {kind, hash} with a 64-digit hex hash";
    const std::string kind = it->at("kind").get<std::string>();
    event[named] = {{"kind", kind}, {"value", stand_in_for(kind, true)}};
  }
  // A consent record's stamp (memory/consent.hpp) is the store's, never a till's: checked here,
  // and out of the way of the till's validator.
  if (const auto stamp = event.find(kSupersedesKey); stamp != event.end()) {
    if (row.type != "consent") return std::string(kSupersedesKey) + " belongs to consent records only";
    if (auto error = check_supersedes(*stamp)) return error;
    event.erase(stamp);
  }
  if (text_of(event, "event_id") != row.event_id) return "the body's event_id is not the row's";
  if (text_of(event, "type") != row.type) return "the body's type is not the row's";
  if (const auto error = wire::validate_event(event, "hub event")) return error->message;
  return std::nullopt;
}

}  // namespace

const char* const kCarriedTypesSql =
    "('purchase', 'return', 'consent', 'preference', 'note', 'profile', 'link', 'merge', 'feedback')";

bool is_carried_type(std::string_view type) noexcept {
  return std::find(kCarried.begin(), kCarried.end(), type) != kCarried.end();
}

std::variant<PreparedEvent, std::string> prepared_from_hub(const HubEvent& row) {
  if (!is_store_id(row.origin)) return std::string("the origin is not a store id");
  if (!is_carried_type(row.type)) return "events of type '" + row.type.substr(0, 32) + "' do not travel between stores";
  if (row.body.size() > kMaxBodyBytes) return std::string("the body is larger than 1 MiB");
  std::optional<IdentifierHash> hash;
  if (!row.id_kind.empty()) {
    if (!wire::is_identifier_kind(row.id_kind)) return std::string("id_kind is not an identifier kind");
    hash = from_hex(row.id_hash_hex);
    if (!hash) return std::string("id_hash is not 64 hex digits");
  } else if (!row.id_hash_hex.empty()) {
    return std::string("id_hash without id_kind");
  }
  json body = json::parse(row.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return std::string("the body is not a JSON object");
  if (const auto error = check_body(body, row)) return "the body is not a valid event: " + *error;
  // An event sent without a time was logged at its arrival; every store keeps that time.
  if (!body.contains("time")) body["time"] = wire::format_time_ms(row.time_ms);
  const auto time = wire::parse_time_ms(text_of(body, "time"));
  if (!time || *time != row.time_ms) return std::string("time_ms is not the body's time");

  PreparedEvent p;
  p.event_id = row.event_id;
  p.type = row.type;
  p.id_kind = row.id_kind;
  if (hash) p.id_hash = *hash;
  p.time_ms = row.time_ms;
  p.body = std::move(body);
  p.origin = row.origin;
  complete_prepared(p);
  return p;
}

std::string identifiers_to_hub(const ErasedIdentifiers& identifiers) {
  json out = json::array();
  for (const auto& [kind, hash] : identifiers) out.push_back({{"kind", kind}, {"hash", to_hex(hash)}});
  return out.dump();
}

std::variant<ErasedIdentifiers, std::string> identifiers_from_hub(const HubErasure& row) {
  constexpr std::size_t kMaxIdentifiers = 10'000;  // a customer's, merges included; a bound, not a policy
  if (!is_store_id(row.origin)) return std::string("the origin is not a store id");
  if (row.erasure_id.empty() || row.erasure_id.size() > 128) return std::string("the erasure id is empty or too long");
  const json list = json::parse(row.identifiers, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array() || list.empty() || list.size() > kMaxIdentifiers)
    return std::string("the identifiers are not a list of 1 to 10000");
  ErasedIdentifiers out;
  for (const auto& id : list) {
    if (!id.is_object() || !id.contains("kind") || !id["kind"].is_string() || !id.contains("hash") || !id["hash"].is_string())
      return std::string("an identifier is not {kind, hash}");
    const std::string kind = id["kind"].get<std::string>();
    const auto hash = from_hex(id["hash"].get<std::string>());
    if (!wire::is_identifier_kind(kind) || !hash) return std::string("an identifier has an unknown kind or a bad hash");
    out.emplace_back(kind, *hash);
  }
  return out;
}

}  // namespace regulars::daemon::chain
