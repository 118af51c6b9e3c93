// What a till's requests mean, apart from how they travel: hello's answer, a record turned into
// an event for the store (a sealed spool record opened first), and a hints request answered.
// The till server (net/) calls these from a session's strand, on an I/O thread; nothing here
// knows of sockets or strands.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "store/prepared_event.hpp"
#include "wire/error.hpp"

namespace regulars::daemon {

class EventStore;
class GestureEngine;
class HintEngine;
class IdentityKey;
class SpoolKey;
class RsaSpoolKey;

namespace till {

using Result = std::variant<nlohmann::json, wire::Error>;

// What serving tills needs, owned by regularsd's main.
struct Services {
  EventStore& store;
  const IdentityKey& key;
  HintEngine& hints;
  GestureEngine* gestures = nullptr;   // null: gestures are not enabled
  const SpoolKey* spool_key = nullptr;  // null: sealed records are not taken
  std::uint32_t max_frame_bytes = 1u << 20;
  int max_depth = 32;
  std::int64_t max_future_ms = 300'000;  // config limits.max_future_seconds
  const RsaSpoolKey* rsa_spool_key = nullptr;  // null: Windows tills' sealed records are not taken
};

// The answer to a hello the transport has accepted: the protocol, this daemon, its frame limit,
// the features it has, and the spool key tills seal to.
nlohmann::json hello_answer(const Services& services);

// A record request, ready for the store.
struct Record {
  PreparedEvent event;
  std::string offer_id, outcome;  // an offer_outcome: the offer, and what became of it
};

// Reads a record request: its "event", or its "sealed" spool record opened with the spool key;
// validated (its time no further ahead of the daemon's clock than max_future_ms), and refused
// when the peer may not send it (follow-up changes are the owner's).
std::variant<Record, wire::Error> read_record(const Services& services, const nlohmann::json& request, bool owner);

// Hands the record to the store; `done` gets {"seq", "duplicate"} or the error once a flush
// covers it, on the syncer thread (at once, on this thread, when the store is stopping).
void store_record(Services& services, Record record, std::function<void(Result)> done);

// A hints request's answer, or why the request is refused.
Result answer_hints(Services& services, const nlohmann::json& request);

}  // namespace till
}  // namespace regulars::daemon
