// The owner's gesture commands, shared by the admin API and regularsctl (the "gestures" owner
// command carries them in its "request"):
//   {"action": "list" | "add" | "validate" | "enable" | "disable" | "dry_run" | "roi",
//    "rule": {...}, "id": "...", "days": 30, "as_of": RFC 3339, "window_days": 30}
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <variant>

#include "wire/error.hpp"

namespace regulars::daemon {

class Db;
class GestureEngine;

namespace owner {

// Checks `request` and runs its action on `gestures`; dry runs and the ROI report read `db` (the
// calling thread's read connection) as of `now_ms` unless the request says "as_of". Errors name
// the request's field.
std::variant<nlohmann::json, wire::Error> gesture_command(GestureEngine& gestures, Db& db, const nlohmann::json& request,
                                                          std::int64_t now_ms);

}  // namespace owner
}  // namespace regulars::daemon
