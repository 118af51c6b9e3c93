// Who is signed in to the owner's web dashboard: its sessions and its one-time login links, in
// memory only (a restart signs everyone out). Only the SHA-256 of a session id, a login code or
// the owner token is kept, so a memory dump does not hand out a session. Thread-safe: the I/O
// threads check sessions, the owner threads open and end them.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "owner/token_digest.hpp"

namespace regulars::daemon {

class DashboardSessions {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kSessionLife = std::chrono::hours(8);
  static constexpr auto kLinkLife = std::chrono::minutes(10);
  static constexpr std::size_t kMaxSessions = 64;  // the oldest goes first beyond this
  static constexpr std::size_t kMaxLinks = 16;
  static constexpr std::size_t kSecretHexChars = 64;  // session ids, CSRF tokens, login codes: 256 bits

  // A session as its holder sees it: the id goes into the cookie, the CSRF token into the page.
  struct Opened {
    std::string id;
    std::string csrf;
    std::string handle;  // a short, non-secret name for the audit trail and logs
  };
  struct Found {
    std::string csrf;
    std::string handle;
  };

  // `owner_token_sha256_hex`: the hash regularsd keeps of the owner token (owner/admin_token.hpp).
  // Throws std::invalid_argument when it is not 64 hex digits.
  explicit DashboardSessions(std::string_view owner_token_sha256_hex);

  // True when `token` is the owner token (lane tokens never are), compared in constant time.
  bool is_owner_token(std::string_view token) const noexcept;

  // A fresh one-time login code, valid for kLinkLife and for one sign-in.
  std::string issue_link_code();
  // Spends a login code: true the first time, within its life; false after, or for a stranger.
  bool redeem_link_code(std::string_view code);

  Opened open();
  // The live session with this id, or nullopt (unknown, ended or expired).
  std::optional<Found> find(std::string_view id);
  // Ends one session; its handle, or nullopt when there was none.
  std::optional<std::string> end(std::string_view id);
  // Ends every session and unspent link; how many sessions there were.
  std::size_t end_all();

 private:
  using Digest = TokenDigest;
  struct Session {
    std::string csrf;
    std::string handle;
    Clock::time_point expires;
  };
  static std::optional<Digest> digest(std::string_view secret) noexcept;
  static std::optional<Digest> key_of(std::string_view id) noexcept;
  void drop_expired(Clock::time_point now);  // with mu_ held

  Digest owner_token_{};
  std::mutex mu_;
  std::map<Digest, Session> sessions_;
  std::map<Digest, Clock::time_point> links_;
};

}  // namespace regulars::daemon
