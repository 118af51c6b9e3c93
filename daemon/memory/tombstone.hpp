// The rule of an erasure's tombstone, for a store (EventStore::dropped_by_tombstone) and for the
// chain's hub, which says the same in SQL (chain/hub.cpp, lift_tombstones and publish).
//
// An erased identifier's tombstone keeps out every event about it made before the erasure, and
// every later one until the customer consents to be remembered again. That consent lifts the
// tombstone from its own time on; the earliest such consent counts, whatever order they arrive
// in, so that every store and the hub settle on the same lift. Events dated before the lift stay
// out (a sale made while nothing was consented, delivered late from a till's spool), but for
// kLiftGraceMs before it: tills' clocks disagree by as much as the daemon lets an event run
// ahead of its own (limits.max_future_seconds, 300 s by default), and a sale rung up at another
// till just after the consent must not be lost to that. Consent records dated after the erasure
// are never kept out once lifted: the consent rules (memory/consent.hpp) order them.
#pragma once

#include <cstdint>
#include <optional>

namespace regulars::daemon {

inline constexpr std::int64_t kLiftGraceMs = 300'000;

struct Tombstone {
  std::int64_t erased_ms = 0;
  std::optional<std::int64_t> lifted_ms;  // the earliest consent to remember after the erasure
};

enum class EventConsent { none, grants_remember, other };  // a consent record, and whether it grants "remember"

// What becomes of an event dated `time_ms` that names a tombstoned identifier.
enum class TombstoneVerdict { drop, keep, lift };  // lift: keep it, and lift (or lower the lift) to its time

inline TombstoneVerdict judge_under_tombstone(const Tombstone& t, std::int64_t time_ms, EventConsent consent) {
  if (time_ms <= t.erased_ms) return TombstoneVerdict::drop;
  if (consent == EventConsent::grants_remember)
    return !t.lifted_ms || time_ms < *t.lifted_ms ? TombstoneVerdict::lift : TombstoneVerdict::keep;
  if (!t.lifted_ms) return TombstoneVerdict::drop;
  if (consent == EventConsent::other) return TombstoneVerdict::keep;
  return time_ms < *t.lifted_ms - kLiftGraceMs ? TombstoneVerdict::drop : TombstoneVerdict::keep;
}

}  // namespace regulars::daemon
