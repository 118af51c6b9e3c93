// An event on its way to the log, and what became of it.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "memory/identity.hpp"

namespace regulars::daemon {

struct BasketLines;  // memory/projector.hpp

// An event ready for the writer: validated, identifier already hashed, raw value removed.
struct PreparedEvent {
  std::string event_id;
  std::string type;
  std::string id_kind;
  IdentifierHash id_hash{};
  std::int64_t time_ms = 0;
  nlohmann::json body;  // the event without customer.value
  std::string body_text;  // body serialised on the I/O thread, so the single writer does not have to
  std::optional<std::int64_t> value;  // purchase (+) or return (-): its worth in minor units
  std::shared_ptr<const BasketLines> lines;  // purchase or return: its lines, read once on the I/O thread
  std::string origin;  // the chain's store the event was recorded at; empty: this store (daemon/chain)
};

struct WriteResult {
  bool ok = false;
  bool duplicate = false;  // the event id was already in the log: nothing changed
  std::int64_t customer_id = 0;
  std::int64_t seq = 0;
  std::string error;
  bool refused = false;    // the event contradicts what is stored (error says why); nothing changed
  std::vector<std::pair<std::int64_t, std::int64_t>> gone;  // customers merged away (from, into) or erased (c, 0)

  // Nothing was written: `error` says why.
  static WriteResult failed(std::string error, bool refused = false) {
    WriteResult r;
    r.error = std::move(error);
    r.refused = refused;
    return r;
  }
};

// Builds a PreparedEvent from a validated event.
PreparedEvent prepare_event(nlohmann::json event, const IdentityKey& key);
// Fills what the writer reads from the body (its text, a basket's lines and value) once the
// rest is set: prepare_event's last step, and that of an event that arrives already hashed (a
// chain hub's row).
void complete_prepared(PreparedEvent& p);

}  // namespace regulars::daemon
