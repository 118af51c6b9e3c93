#include "till/till_ops.hpp"

#include "base/log.hpp"
#include "gestures/engine.hpp"
#include "hints/hint_engine.hpp"
#include "memory/identity.hpp"
#include "store/event_store.hpp"
#include "till/rsa_spool_key.hpp"
#include "till/spool_key.hpp"
#include "wire/sealed.hpp"
#include "wire/frame.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::till {

using nlohmann::json;
using wire::Error;
using wire::ErrorCode;

json hello_answer(const Services& services) {
  json result = {{"protocol", wire::kProtocolVersion},
                 {"server", "regularsd/" REGULARS_VERSION_STRING},
                 {"max_frame_bytes", services.max_frame_bytes},
                 // What this daemon understands beyond protocol 1 as first published;
                 // "hints.who": hints requests may say cashier, terminal and store;
                 // "record.sealed": a record may carry a sealed spool record instead.
                 {"features", json::array({"hints.who", "gestures"})}};
  if (services.spool_key != nullptr) {
    result["features"].push_back("record.sealed");
    result["spool_key"] = services.spool_key->public_hex();
  }
  // For Windows tills (sdk/wire/sealed.hpp); absent while the key is still being made.
  if (services.rsa_spool_key != nullptr)
    if (std::string rsa = services.rsa_spool_key->public_text(); !rsa.empty()) result["spool_key_rsa"] = std::move(rsa);
  return result;
}

namespace {

// A till's spooled event, sealed to our spool key: opened here and then handled like any.
std::variant<json, Error> open_sealed(const Services& services, const json& sealed) {
  const auto bytes = sealed.is_string() ? wire::base64_decode(sealed.get<std::string>()) : std::nullopt;
  std::optional<std::string> opened;
  if (bytes && !bytes->empty()) {
    const auto version = static_cast<unsigned char>(bytes->front());
    const bool rsa = version == wire::sealed::kRsaOaepVersion || version == wire::sealed::kRsaPkcs1Version;
    if (rsa && services.rsa_spool_key != nullptr) opened = services.rsa_spool_key->open(*bytes);
    else if (!rsa && services.spool_key != nullptr) opened = services.spool_key->open(*bytes);
  }
  if (!opened)
    return Error{ErrorCode::invalid_event, "sealed", "cannot be opened: it was sealed to another installation's spool key, or altered"};
  auto parsed = wire::parse_json(*opened, services.max_depth);
  if (auto* err = std::get_if<Error>(&parsed)) {
    err->field = "sealed" + (err->field.empty() ? "" : "." + err->field);
    return *err;
  }
  return std::get<json>(std::move(parsed));
}

// An event dated too far ahead is refused, not clamped: the till hears at once that its clock
// is wrong, and a consent cannot be dated where it outranks what comes after it.
std::optional<Error> check_not_future(const Services& services, const json& event) {
  const auto time = event.find("time");
  if (time == event.end()) return std::nullopt;  // the daemon dates it: now
  const auto ms = wire::parse_time_ms(time->get_ref<const std::string&>());
  const std::int64_t ahead_ms = ms.value_or(0) - wire::now_ms();
  if (ahead_ms <= services.max_future_ms) return std::nullopt;
  return Error{ErrorCode::invalid_event, "event.time",
               "is " + std::to_string(ahead_ms / 1000) + " s ahead of regularsd's clock; at most " +
                   std::to_string(services.max_future_ms / 1000) +
                   " s is accepted (limits.max_future_seconds). Check the till's clock"};
}

}  // namespace

std::variant<Record, Error> read_record(const Services& services, const json& request, bool owner) {
  json opened;
  const json* event = nullptr;
  if (const auto sealed = request.find("sealed"); sealed != request.end()) {
    if (request.contains("event")) return Error{ErrorCode::invalid_request, "sealed", "a record carries event or sealed, not both"};
    auto result = open_sealed(services, *sealed);
    if (auto* err = std::get_if<Error>(&result)) return *err;
    opened = std::get<json>(std::move(result));
    event = &opened;
  } else if (const auto ev = request.find("event"); ev != request.end()) {
    event = &*ev;
  } else {
    return Error{ErrorCode::invalid_request, "event", "is required"};
  }
  if (auto err = wire::validate_event(*event)) return *err;
  if (auto err = check_not_future(services, *event)) return *err;
  if ((*event)["type"] == "followup" && !owner)
    return Error{ErrorCode::denied, "event.type", "follow-up changes are for the store owner: regularsctl followup, or the admin API"};
  if ((*event)["type"] == "idea_review" && !owner)
    return Error{ErrorCode::denied, "event.type", "marking staff ideas is for the store owner: regularsctl idea, or the dashboard"};
  Record record{prepare_event(*event, services.key), {}, {}};
  if (record.event.type == "offer_outcome") {
    record.offer_id = record.event.body.at("offer_id").get<std::string>();
    record.outcome = record.event.body.at("outcome").get<std::string>();
  }
  return record;
}

void store_record(Services& services, Record record, std::function<void(Result)> done) {
  // Offers are logged in batches: the offer must be queued before its outcome.
  if (!record.offer_id.empty() && services.gestures != nullptr) services.gestures->flush();
  const std::string tag = short_tag(record.event.id_hash);
  services.store.submit(std::move(record.event), [&services, tag, offer_id = std::move(record.offer_id),
                                                  outcome = std::move(record.outcome), done = std::move(done)](WriteResult r) {
    // What became of a gesture offer: the engine's budget hears of it once it is stored.
    if (r.ok && !r.duplicate && !offer_id.empty() && services.gestures != nullptr) services.gestures->outcome(offer_id, outcome);
    if (r.ok) {
      REGULARS_LOG(debug, "recorded", ({{"customer", r.customer_id}, {"tag", tag}, {"duplicate", r.duplicate}}));
      return done(json{{"seq", r.seq}, {"duplicate", r.duplicate}});
    }
    if (r.refused) return done(Error{ErrorCode::invalid_event, "event", r.error});
    if (r.error == "shutting_down") return done(Error{ErrorCode::shutting_down, "", "regularsd is stopping; retry shortly"});
    REGULARS_LOG(err, "record failed", ({{"tag", tag}, {"error", r.error}}));
    done(Error{ErrorCode::internal, "", "the event could not be stored; see regularsd's log"});
  });
}

Result answer_hints(Services& services, const json& request) {
  const auto r = request.find("request");
  if (r == request.end()) return Error{ErrorCode::invalid_request, "request", "is required"};
  if (auto err = wire::validate_hints_request(*r)) return *err;
  return services.hints.answer(*r, wire::now_ms());
}

}  // namespace regulars::daemon::till
