#include "owner/dashboard_sessions.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include "wire/hex.hpp"
#include "owner/token_digest.hpp"

namespace regulars::daemon {

namespace {

// 256 bits from OpenSSL's generator, as hex: secrets, not ids.
std::string fresh_secret() {
  std::array<unsigned char, DashboardSessions::kSecretHexChars / 2> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("OpenSSL could not draw random bytes for a dashboard secret");
  return wire::hex_encode(bytes);
}

bool is_secret_text(std::string_view s) {
  return s.size() == DashboardSessions::kSecretHexChars &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

DashboardSessions::DashboardSessions(std::string_view owner_token_sha256_hex) {
  const auto token = wire::hex_decode_array<32>(owner_token_sha256_hex);
  if (!token) throw std::invalid_argument("the dashboard needs the owner token's SHA-256 as 64 hex digits");
  owner_token_ = *token;
}

std::optional<DashboardSessions::Digest> DashboardSessions::digest(std::string_view secret) noexcept {
  return token_digest(secret);
}

bool DashboardSessions::is_owner_token(std::string_view token) const noexcept {
  if (token.empty()) return false;
  const auto presented = digest(token);
  return presented && CRYPTO_memcmp(presented->data(), owner_token_.data(), owner_token_.size()) == 0;
}

void DashboardSessions::drop_expired(Clock::time_point now) {
  std::erase_if(sessions_, [now](const auto& s) { return s.second.expires <= now; });
  std::erase_if(links_, [now](const auto& l) { return l.second <= now; });
}

std::string DashboardSessions::issue_link_code() {
  std::string code = fresh_secret();
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  drop_expired(now);
  if (links_.size() >= kMaxLinks) {  // the one closest to expiring goes
    links_.erase(std::min_element(links_.begin(), links_.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  links_[*digest(code)] = now + kLinkLife;
  return code;
}

bool DashboardSessions::redeem_link_code(std::string_view code) {
  if (!is_secret_text(code)) return false;
  const auto d = digest(code);
  if (!d) return false;
  std::lock_guard lock(mu_);
  drop_expired(Clock::now());
  return links_.erase(*d) == 1;
}

DashboardSessions::Opened DashboardSessions::open() {
  Opened opened{fresh_secret(), fresh_secret(), {}};
  const auto d = digest(opened.id);
  if (!d) throw std::runtime_error("OpenSSL could not hash a dashboard session id");
  opened.handle = wire::hex_encode(std::span(d->data(), 4));
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  drop_expired(now);
  if (sessions_.size() >= kMaxSessions) {
    sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(),
                                     [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; }));
  }
  sessions_[*d] = Session{opened.csrf, opened.handle, now + kSessionLife};
  return opened;
}

// A well-formed session id's key in the map; anything else can name no session.
std::optional<DashboardSessions::Digest> DashboardSessions::key_of(std::string_view id) noexcept {
  if (!is_secret_text(id)) return std::nullopt;
  return digest(id);
}

std::optional<DashboardSessions::Found> DashboardSessions::find(std::string_view id) {
  const auto d = key_of(id);
  if (!d) return std::nullopt;
  std::lock_guard lock(mu_);
  const auto it = sessions_.find(*d);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= Clock::now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return Found{it->second.csrf, it->second.handle};
}

std::optional<std::string> DashboardSessions::end(std::string_view id) {
  const auto d = key_of(id);
  if (!d) return std::nullopt;
  std::lock_guard lock(mu_);
  const auto it = sessions_.find(*d);
  if (it == sessions_.end()) return std::nullopt;
  std::string handle = std::move(it->second.handle);
  sessions_.erase(it);
  return handle;
}

std::size_t DashboardSessions::end_all() {
  std::lock_guard lock(mu_);
  const std::size_t n = sessions_.size();
  sessions_.clear();
  links_.clear();
  return n;
}

}  // namespace regulars::daemon
