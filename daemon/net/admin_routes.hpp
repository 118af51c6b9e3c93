// The owner's admin API routes, served by AdminHttpServer (admin_http.hpp):
//   GET  /v1/status
//   GET  /v1/reports/satisfaction?by=week|cashier|lane|store|touchpoint|all&from=RFC3339&to=RFC3339
//   GET  /v1/followups?state=open|contacted|resolved|all
//   POST /v1/followups/{feedback event_id}   {"state": "resolved", "note": "...", "by": "owner"}
//   GET  /v1/ideas?limit=N
//   POST /v1/feedback                        a feedback event from another channel (web, phone,
//                                            e-mail survey); it must name its touchpoint
//   POST /v1/journey                         {"customer": {"kind": ..., "value": ...}}
//   GET  /v1/gestures                        the rules
//   POST /v1/gestures                        add (or replace, by id) a rule: the body is the rule
//   POST /v1/gestures/validate               check a rule without saving it
//   POST /v1/gestures/{id}/enable | /disable
//   POST /v1/gestures/dry-run                {"id": ... | "rule": {...}, "days": 30}
//   GET  /v1/gestures/roi?rule=ID&as_of=RFC3339&window_days=30
//   POST /v1/customers/export               {"customer": {...}}: the customer's whole record
//   POST /v1/customers/erase                {"customer": {...}}: erase everywhere; the receipt
//   GET  /v1/audit?limit=N                  owner actions, newest first
// Identifiers travel in bodies, never in URLs, so they stay out of access logs.
#pragma once

#include <string>

#include "net/admin_http.hpp"
#include "gestures/engine.hpp"
#include "memory/identity.hpp"
#include "store/event_store.hpp"

namespace regulars::daemon {

AdminHandler make_admin_handler(Store& store, const IdentityKey& key, GestureEngine* gestures = nullptr);

// The owner token: DATA_DIR/admin.token (mode 0600), made at first start. Returns its SHA-256
// in hex; the token itself stays in the file for the owner (and regularsctl) to read.
std::string load_or_create_admin_token(const std::string& data_dir);

}  // namespace regulars::daemon
