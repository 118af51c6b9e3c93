// Lane tokens: how a till on another machine proves, over TLS, that the store let it in. Each
// terminal gets its own token from the owner (regularsctl tokens issue); only its SHA-256 is
// stored, and revoking it stops the lane at its very next request.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace regulars::daemon {

class EventStore;

struct LaneToken {
  std::string token_id;  // "tok-" + 8 hex digits: safe to show, log and revoke by
  std::string terminal;  // the lane it was issued for
};

class LaneTokens {
 public:
  explicit LaneTokens(EventStore& store) : store_(store) {}

  // Reads the tokens not revoked from the store.
  void load();

  // A new token for `terminal` (1-64 characters). The secret is in the result once and never
  // stored: {"token_id", "terminal", "token", "created"}. Audited.
  nlohmann::json issue(const std::string& terminal, const std::string& actor);
  // False when no such token exists or it was already revoked. Audited.
  bool revoke(const std::string& token_id, const std::string& actor);
  // Every token issued, revoked ones included, without secrets.
  nlohmann::json list();

  // The token a lane presented, if it is valid now.
  std::optional<LaneToken> check(std::string_view token) const;
  // Whether a token accepted earlier is still valid (checked at every request).
  bool still_valid(const std::string& token_id) const;

 private:
  EventStore& store_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, LaneToken> by_hash_;  // SHA-256 of the token, raw bytes
  std::unordered_map<std::string, std::string> hash_of_;  // token_id -> key in by_hash_
};

}  // namespace regulars::daemon
