// How regularsctl shows the daemon's answers to a person: one function per answer, plain
// aligned text. `--json` prints the answer itself instead.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace regulars::ctl {

void print_status(std::ostream& out, const nlohmann::json& status);
// The prediction blend of a status answer: the measured recall of each source per segment.
void print_blend(std::ostream& out, const nlohmann::json& blend);
void print_report(std::ostream& out, const std::string& by, const nlohmann::json& report);
void print_followups(std::ostream& out, const std::string& state, const nlohmann::json& queue);
void print_comments(std::ostream& out, const nlohmann::json& r);
void print_ideas(std::ostream& out, const nlohmann::json& ideas);
// A customer's events, oldest first: when, what, where and each one's event_id.
void print_journey(std::ostream& out, const nlohmann::json& journey);
void print_rules(std::ostream& out, const nlohmann::json& list);
void print_dry_run(std::ostream& out, const nlohmann::json& dry_run);
void print_roi(std::ostream& out, const nlohmann::json& roi);
void print_erasure(std::ostream& out, const nlohmann::json& receipt);
void print_chain_status(std::ostream& out, const nlohmann::json& status);
void print_chain_erasure(std::ostream& out, const nlohmann::json& receipt);
void print_chain_report(std::ostream& out, const nlohmann::json& report);
void print_chain_roi(std::ostream& out, const nlohmann::json& roi);
void print_prune(std::ostream& out, const nlohmann::json& pruned);
void print_issued_token(std::ostream& out, const nlohmann::json& issued);
void print_tokens(std::ostream& out, const nlohmann::json& list);
void print_audit(std::ostream& out, const nlohmann::json& audit);
// Returns whether the projections matched the event log.
bool print_rebuild(std::ostream& out, const nlohmann::json& rebuild);

}  // namespace regulars::ctl
