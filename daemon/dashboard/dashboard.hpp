// The owner's web dashboard, served by regularsd on the admin port under /dashboard/: pages and
// their assets (built into the binary), sign-in with the owner token or a one-time link, a
// session cookie, CSRF tokens on every post, and JSON for the pages from the same owner commands
// the admin API runs (owner/commands.hpp), on the owner's threads.
//
//   GET  /dashboard/              the Today page (signed in), else a redirect to the sign-in page
//   GET  /dashboard/login         the sign-in page
//   POST /dashboard/login         form: token=<owner token>; sets the session cookie
//   GET  /dashboard/link#<code>   the one-time link's page: its script posts the code
//   POST /dashboard/link          form: code=<64 hex>; sets the session cookie
//   POST /dashboard/sign-out      form: csrf=<token> (or header X-CSRF-Token); ends the session
//   GET  /dashboard/assets/<file> CSS, scripts and the texts (texts/en.json)
//   GET  /dashboard/api/session   {"csrf": ..., "handle": ...} for the page's scripts
//   GET  /dashboard/followups     the follow-up queue (signed in)
//   GET  /dashboard/ideas         the staff ideas (signed in)
//   GET  /dashboard/satisfaction  NPS and CSAT: weekly trend, breakdown, comments (signed in)
//   GET  /dashboard/lanes         the lane tokens (signed in)
//   GET  /dashboard/journey       a customer's journey, export and erasure (signed in)
//   GET  /dashboard/gestures      the gesture rules: a form that builds one, dry runs, on/off, ROI
//   GET  /dashboard/chain         the chain of stores: the hub link, reports by store, gesture ROI
//   GET  /dashboard/api/today     the today command's answer
//   GET  /dashboard/api/followups?state=open|contacted|resolved|all   the followups command's answer
//   POST /dashboard/api/followup  form: feedback, state, note (optional); header X-CSRF-Token.
//                                 The followup command, signed dashboard:<handle>
//   GET  /dashboard/api/ideas?state=new|seen|done|all   the ideas command's answer
//   GET  /dashboard/api/report?by=&from=&to=             the report command's answer
//   GET  /dashboard/api/comments?reason=&from=&to=       the comments command's answer
//   POST /dashboard/api/journey   form: kind, value; X-CSRF-Token. The journey command's answer
//   POST /dashboard/api/export    the same form: the export command's answer (the customer's record)
//   POST /dashboard/api/erase     the same form: the erase command's receipt
//                                 (an identifier is only ever in a POST body)
//   GET  /dashboard/api/gestures  the gesture rules (gestures list)
//   GET  /dashboard/api/gestures/roi?window_days=N       the ROI report, as a task (202 {"job": id})
//   POST /dashboard/api/gestures/{validate,dry-run,save,enable,disable}   form: rule (JSON text) or
//                                 id, days; X-CSRF-Token. The gestures command's answer
//   GET  /dashboard/api/chain     the chain command's status (configured: false outside a chain)
//   GET  /dashboard/api/chain/report?from=&to=   the chain's report by store, from the hub
//   GET  /dashboard/api/chain/roi the chain's gesture ROI, each store's and pooled, from the hub
//   GET  /dashboard/api/jobs/<id> a long task's answer (a dry run, the ROI, an erasure: they answer 202
//                                 {"job": id} at once); 202 {"done": false} while it runs
//   GET  /dashboard/api/tokens    the lane tokens (tokens list)
//   POST /dashboard/api/tokens/issue   form: terminal; X-CSRF-Token. The new token, in this answer only
//   POST /dashboard/api/tokens/revoke  form: token_id; X-CSRF-Token
//   POST /dashboard/api/idea      form: idea, state; header X-CSRF-Token. The idea command, signed
//                                 dashboard:<handle>
#pragma once

#include "net/admin_http.hpp"

namespace regulars::daemon {

class DashboardSessions;
namespace owner {
class CommandRunner;
}

// The web handler for AdminHttpServer::Options::web_handler. `commands` and `sessions` outlive it.
WebHandler make_dashboard_handler(owner::CommandRunner& commands, DashboardSessions& sessions);

}  // namespace regulars::daemon
