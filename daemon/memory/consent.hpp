// A customer's consent, settled from their consent records as a set, so that every store of a
// chain that holds the same records settles on the same state, whatever order they arrived in.
//
// Each consent record names the records it knew of when it was made (`_supersedes` in its
// logged body: the customer's consent records that nothing else the store held had superseded,
// stamped by the writer of the store where it was recorded). A record knows what those knew, and
// so on. For each purpose, the records that no later-known record mentioning the purpose knew of
// are its heads: if any head withdraws, the purpose is withdrawn (a withdrawal wins over a grant
// made before it or without knowing of it); otherwise it is granted.
//
// A grant never supersedes a withdrawal of the same purpose dated at or after it, directly or
// through other records: that is a grant given before the withdrawal, arriving late (a till's
// spool). A record logged without the stamp (before this rule) knew the consent records its own
// store logged before it, but for those.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace regulars::daemon {

class Db;

// What one purpose settles to: nullopt when no record mentions it.
struct ConsentState {
  std::optional<bool> remember, personalize;
  std::optional<std::int64_t> consent_ms;  // the newest time among the records the state stands on (the heads)
  std::optional<std::int64_t> remember_withdrawn_ms, personalize_withdrawn_ms;  // the newest withdrawal's time
};

// The customer's consent from their records logged up to `upto_seq`.
ConsentState settle_consent(Db& db, std::int64_t customer, std::int64_t upto_seq);

// The stamp of a new record with these `purposes` at `time_ms`: the event ids of the customer's
// records it supersedes.
std::vector<std::string> consent_supersedes(Db& db, std::int64_t customer, const nlohmann::json& purposes, std::int64_t time_ms);

// The body key of the stamp. Only stores write it; a till's event cannot carry it.
inline constexpr const char* kSupersedesKey = "_supersedes";
// A stamp from another store is checked: at most this many ids, each an event id.
inline constexpr std::size_t kMaxSupersedes = 64;
std::optional<std::string> check_supersedes(const nlohmann::json& stamp);

}  // namespace regulars::daemon
