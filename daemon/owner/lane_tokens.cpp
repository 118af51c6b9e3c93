#include "owner/lane_tokens.hpp"

#include <openssl/rand.h>

#include <mutex>
#include <stdexcept>
#include <vector>

#include "db/db.hpp"
#include "base/log.hpp"
#include "store/event_store.hpp"
#include "wire/hex.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"
#include "owner/token_digest.hpp"

namespace regulars::daemon {
namespace {

constexpr std::string_view kPrefix = "rgt_";

// The token's digest as the lane_tokens table keeps it (a blob).
std::string sha256(std::string_view text) {
  const auto d = token_digest(text);
  if (!d) throw std::runtime_error("SHA-256 failed");
  return std::string(d->begin(), d->end());
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("cannot draw random bytes (OpenSSL RAND_bytes failed)");
  return wire::hex_encode(raw);
}

}  // namespace

void LaneTokens::load() {
  Db& db = store_.read_connection();
  Stmt s(db.raw(), "SELECT token_id, terminal, hash FROM lane_tokens WHERE revoked_ms IS NULL");
  std::unique_lock lock(mu_);
  by_hash_.clear();
  hash_of_.clear();
  while (s.step()) {
    const auto* blob = static_cast<const char*>(sqlite3_column_blob(s.raw(), 2));
    std::string hash(blob, static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), 2)));
    hash_of_[s.text(0)] = hash;
    by_hash_[std::move(hash)] = LaneToken{s.text(0), s.text(1)};
  }
}

nlohmann::json LaneTokens::issue(const std::string& terminal, const std::string& actor) {
  // 256 random bits: guessing one is hopeless, so a fast hash is the right way to keep it.
  const std::string token = std::string(kPrefix) + random_hex(32);
  const std::string token_id = wire::random_id("tok-", 4);
  const std::string hash = sha256(token);
  const std::int64_t now = wire::now_ms();
  store_.write_now([&](Db& db) {
    db.cached("INSERT INTO lane_tokens(token_id, terminal, hash, created_ms, created_by) VALUES(?,?,?,?,?)")
        .bind(1, token_id)
        .bind(2, terminal)
        .bind_blob(3, hash.data(), hash.size())
        .bind(4, now)
        .bind(5, actor)
        .run();
  });
  {
    std::unique_lock lock(mu_);
    hash_of_[token_id] = hash;
    by_hash_[hash] = LaneToken{token_id, terminal};
  }
  store_.audit(actor, "token_issue", token_id, {{"terminal", terminal}});
  REGULARS_LOG(info, "lane token issued", ({{"token_id", token_id}, {"terminal", terminal}}));
  return {{"token_id", token_id}, {"terminal", terminal}, {"token", token}, {"created", wire::format_time_ms(now)}};
}

bool LaneTokens::revoke(const std::string& token_id, const std::string& actor) {
  bool revoked = false;
  store_.write_now([&](Db& db) {
    db.cached("UPDATE lane_tokens SET revoked_ms=? WHERE token_id=? AND revoked_ms IS NULL")
        .bind(1, wire::now_ms())
        .bind(2, token_id)
        .run();
    revoked = db.changes() > 0;
  });
  if (!revoked) return false;
  {
    std::unique_lock lock(mu_);
    if (auto it = hash_of_.find(token_id); it != hash_of_.end()) {
      by_hash_.erase(it->second);
      hash_of_.erase(it);
    }
  }
  store_.audit(actor, "token_revoke", token_id);
  REGULARS_LOG(info, "lane token revoked", ({{"token_id", token_id}}));
  return true;
}

nlohmann::json LaneTokens::list() {
  Db& db = store_.read_connection();
  Stmt s(db.raw(), "SELECT token_id, terminal, created_ms, created_by, revoked_ms FROM lane_tokens ORDER BY created_ms, token_id");
  nlohmann::json out = nlohmann::json::array();
  while (s.step()) {
    nlohmann::json t = {{"token_id", s.text(0)}, {"terminal", s.text(1)}, {"created", wire::format_time_ms(s.i64(2))},
                        {"created_by", s.text(3)}, {"revoked", nullptr}};
    if (!s.is_null(4)) t["revoked"] = wire::format_time_ms(s.i64(4));
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<LaneToken> LaneTokens::check(std::string_view token) const {
  if (token.size() != kPrefix.size() + 64 || token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::string hash = sha256(token);
  std::shared_lock lock(mu_);
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

bool LaneTokens::still_valid(const std::string& token_id) const {
  std::shared_lock lock(mu_);
  return hash_of_.count(token_id) != 0;
}

}  // namespace regulars::daemon
