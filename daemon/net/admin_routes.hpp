// The admin API's routes: each one turns an HTTP request into one of the owner's commands
// (owner/commands.hpp), the same ones regularsctl sends over the socket, so both give the same
// answers with the same defaults. Identifiers travel in bodies, never in URLs, so they stay out
// of access logs.
//
//   GET  /v1/status                          status
//   GET  /v1/reports/satisfaction?by=&from=&to=   report (by: week|cashier|lane|store|touchpoint|all)
//   GET  /v1/followups?state=&limit=N         followups (open|contacted|resolved|all)
//   POST /v1/followups/{feedback event_id}    followup: {"state": "resolved", "note": "...", "by": "owner"}
//   GET  /v1/comments?reason=&from=&to=&limit=N   comments: what customers wrote, by tag
//   GET  /v1/ideas?state=&limit=N             ideas (state: new|seen|done|all)
//   POST /v1/ideas/{idea event_id}            idea: {"state": "seen" | "done" | "new", "by": "owner"}
//   POST /v1/feedback                         feedback from another channel (web, phone, e-mail survey);
//                                             it must name its touchpoint
//   POST /v1/journey                          journey: {"customer": {"kind": ..., "value": ...}, "limit": N}
//   POST /v1/customers/export                 export: {"customer": {...}}, the customer's whole record
//   POST /v1/customers/erase                  erase: {"customer": {...}}, everywhere; the receipt
//   GET  /v1/audit?limit=N                    audit: owner actions, newest first
//   POST /v1/prune                            prune: {"as_of": RFC 3339} (optional)
//   POST /v1/rebuild                          rebuild
//   GET  /v1/gestures                         gestures list
//   POST /v1/gestures                         gestures add (or replace, by id): the body is the rule
//   POST /v1/gestures/validate                gestures validate: check a rule without saving it
//   POST /v1/gestures/{id}/enable | /disable  gestures enable, disable
//   POST /v1/gestures/dry-run                 gestures dry_run: {"id": ... | "rule": {...}, "days": 30}
//   GET  /v1/gestures/roi?rule=ID&as_of=&window_days=   gestures roi
//   GET  /v1/tokens                           tokens list
//   POST /v1/tokens                           tokens issue: {"terminal": "lane-3"}
//   POST /v1/tokens/{token_id}/revoke         tokens revoke
//   GET  /v1/today                            today: the day at a glance (the dashboard's Today page)
//   POST /v1/dashboard/links                  dashboard link: a one-time login link for the web dashboard
//   POST /v1/dashboard/sign-out-all           dashboard sign_out_all: ends every dashboard session
//   GET  /v1/chain                            chain: the link to the chain's hub (daemon/chain/CHAIN.md)
//   GET  /v1/chain/report?from=&to=           chain report: NPS, CSAT and visits by store and for the chain
//   GET  /v1/chain/erasures/{receipt id}      chain erasure: which stores have carried it out
//
// Beside them, for monitoring (net/monitoring_routes.hpp; open from this machine or with the
// metrics token, see admin_access_allowed):
//   GET  /metrics                             Prometheus text: latencies, records, errors, lanes, offers
//   GET  /healthz                             200 when a record can be made durable now, 503 and why when not
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "net/admin_http.hpp"

namespace regulars::daemon {

// A query or form value for a command: a whole number (at most 9 digits) as a number, so a limit
// is checked the same way whatever the transport; anything else as the text, for the command to
// refuse in its own words.
nlohmann::json query_value(const std::string& text);


namespace owner {
class CommandRunner;
}

// The handler for AdminHttpServer: routes, then runs the command on the owner pool.
AdminHandler make_admin_handler(owner::CommandRunner& commands);

}  // namespace regulars::daemon
