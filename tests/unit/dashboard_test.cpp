// The dashboard's sign-in pieces on their own: sessions and one-time links (owner/), the throttle
// on wrong tokens, and how a browser's cookie, form and origin are read (dashboard/).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "dashboard/sign_in_throttle.hpp"
#include "dashboard/web_input.hpp"
#include "owner/dashboard_sessions.hpp"
#include "owner/today.hpp"
#include "wire/hex.hpp"
#include "wire/validate.hpp"
#include "scoped_tz.hpp"

namespace regulars::daemon {
namespace {

using namespace std::chrono_literals;

std::string sha256_hex(const std::string& text) {
  unsigned char d[32];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), d, &len, EVP_sha256(), nullptr);
  return wire::hex_encode(d);
}

const std::string kOwnerToken = "owner-token-for-the-test";

TEST(DashboardSessions, OnlyTheOwnerTokenIsTheOwnerToken) {
  DashboardSessions sessions(sha256_hex(kOwnerToken));
  EXPECT_TRUE(sessions.is_owner_token(kOwnerToken));
  EXPECT_FALSE(sessions.is_owner_token(""));
  EXPECT_FALSE(sessions.is_owner_token(kOwnerToken + " "));
  EXPECT_FALSE(sessions.is_owner_token(sha256_hex(kOwnerToken)));
  EXPECT_THROW(DashboardSessions("not hex"), std::invalid_argument);
}

TEST(DashboardSessions, ALoginCodeWorksOnce) {
  DashboardSessions sessions(sha256_hex(kOwnerToken));
  const std::string code = sessions.issue_link_code();
  ASSERT_EQ(code.size(), 64u);
  EXPECT_FALSE(sessions.redeem_link_code(std::string(64, 'a')));
  EXPECT_TRUE(sessions.redeem_link_code(code));
  EXPECT_FALSE(sessions.redeem_link_code(code));
}

TEST(DashboardSessions, ASessionIsFoundUntilItEnds) {
  DashboardSessions sessions(sha256_hex(kOwnerToken));
  const auto a = sessions.open(), b = sessions.open();
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.csrf, b.csrf);
  ASSERT_TRUE(sessions.find(a.id));
  EXPECT_EQ(sessions.find(a.id)->csrf, a.csrf);
  EXPECT_FALSE(sessions.find(a.csrf)) << "a CSRF token is not a session id";
  EXPECT_FALSE(sessions.find("../" + a.id));
  EXPECT_EQ(sessions.end(a.id), a.handle);
  EXPECT_FALSE(sessions.find(a.id));
  EXPECT_FALSE(sessions.end(a.id));
  const std::string code = sessions.issue_link_code();
  EXPECT_EQ(sessions.end_all(), 1u);
  EXPECT_FALSE(sessions.find(b.id));
  EXPECT_FALSE(sessions.redeem_link_code(code)) << "signing everyone out voids unused links too";
}

TEST(DashboardSessions, TheOldestSessionGivesWayBeyondTheLimit) {
  DashboardSessions sessions(sha256_hex(kOwnerToken));
  const auto first = sessions.open();
  for (std::size_t i = 0; i < DashboardSessions::kMaxSessions; ++i) sessions.open();
  EXPECT_FALSE(sessions.find(first.id));
}

TEST(SignInThrottle, AFewMistakesAreFreeThenTheWaitDoubles) {
  SignInThrottle throttle;
  const auto t0 = SignInThrottle::Clock::now();
  for (int i = 0; i < SignInThrottle::kFreeFailures; ++i) EXPECT_EQ(throttle.failed("10.0.0.1", t0), 0s);
  EXPECT_FALSE(throttle.wait_for("10.0.0.1", t0));
  EXPECT_EQ(throttle.failed("10.0.0.1", t0), 1s);
  EXPECT_EQ(throttle.wait_for("10.0.0.1", t0), 1s);
  EXPECT_FALSE(throttle.wait_for("10.0.0.2", t0)) << "other addresses are not slowed";
  EXPECT_EQ(throttle.failed("10.0.0.1", t0 + 1s), 2s);
  EXPECT_EQ(throttle.failed("10.0.0.1", t0 + 3s), 4s);
  EXPECT_FALSE(throttle.wait_for("10.0.0.1", t0 + 7s));
  for (int i = 0; i < 30; ++i) throttle.failed("10.0.0.1", t0 + 8s);
  EXPECT_EQ(throttle.wait_for("10.0.0.1", t0 + 8s),
            std::chrono::duration_cast<std::chrono::seconds>(SignInThrottle::kMaxWait));
  throttle.succeeded("10.0.0.1");
  EXPECT_FALSE(throttle.wait_for("10.0.0.1", t0 + 8s));
}

TEST(SignInThrottle, AQuietAddressStartsAfresh) {
  SignInThrottle throttle;
  const auto t0 = SignInThrottle::Clock::now();
  for (int i = 0; i <= SignInThrottle::kFreeFailures; ++i) throttle.failed("10.0.0.1", t0);
  EXPECT_EQ(throttle.failed("10.0.0.1", t0 + SignInThrottle::kForgetAfter + 1s), 0s);
}

WebRequest with_headers(std::map<std::string, std::string> headers, std::string body = {}) {
  WebRequest r;
  r.method = "POST";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

TEST(DashboardInput, TheSessionCookieIsReadOnlyWhenWellFormed) {
  const std::string id(64, 'b');
  EXPECT_EQ(dashboard::session_cookie(with_headers({{"cookie", "a=1; regulars_session=" + id + "; z=2"}})), id);
  EXPECT_EQ(dashboard::session_cookie(with_headers({{"cookie", "regulars_session=" + id + "x"}})), "");
  EXPECT_EQ(dashboard::session_cookie(with_headers({{"cookie", "regulars_session=" + std::string(64, 'B')}})), "");
  EXPECT_EQ(dashboard::session_cookie(with_headers({{"cookie", "other_session=" + id}})), "");
  EXPECT_EQ(dashboard::session_cookie(with_headers({})), "");
}

TEST(DashboardInput, AFormHasOnlyItsFieldsWithinTheirSizes) {
  const std::map<std::string, std::string> form_type = {
      {"content-type", "application/x-www-form-urlencoded; charset=UTF-8"}};
  auto ok = dashboard::parse_form(with_headers(form_type, "token=a%2Bb+c"), {{"token", 16}});
  ASSERT_TRUE(std::holds_alternative<dashboard::Form>(ok)) << std::get<std::string>(ok);
  EXPECT_EQ(std::get<dashboard::Form>(ok).at("token"), "a+b c");
  EXPECT_TRUE(std::holds_alternative<std::string>(
      dashboard::parse_form(with_headers(form_type, "token=x&more=y"), {{"token", 16}})));
  EXPECT_TRUE(std::holds_alternative<std::string>(
      dashboard::parse_form(with_headers(form_type, "token=" + std::string(17, 'x')), {{"token", 16}})));
  EXPECT_TRUE(std::holds_alternative<std::string>(dashboard::parse_form(with_headers(form_type, ""), {{"token", 16}})));
  EXPECT_TRUE(std::holds_alternative<std::string>(
      dashboard::parse_form(with_headers(form_type, "token=%zz"), {{"token", 16}})));
  EXPECT_TRUE(std::holds_alternative<std::string>(
      dashboard::parse_form(with_headers({{"content-type", "application/json"}}, "token=x"), {{"token", 16}})));
}

// A %-escape can make bytes that are not UTF-8 ("%FF"); stored in a follow-up's notes they made
// the projector's JSON throw, and the owner got a 500.
TEST(DashboardInput, AFormValueThatIsNotUtf8IsRefused) {
  const std::map<std::string, std::string> form_type = {{"content-type", "application/x-www-form-urlencoded"}};
  for (const char* body : {"note=%FF", "note=a%C3", "note=%C0%AF", "note=%ED%A0%80"}) {
    const auto parsed = dashboard::parse_form(with_headers(form_type, body), {{"note", 64}});
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << body;
    EXPECT_NE(std::get<std::string>(parsed).find("UTF-8"), std::string::npos) << std::get<std::string>(parsed);
  }
  const auto ok = dashboard::parse_form(with_headers(form_type, "note=caf%C3%A9+%E2%9C%93"), {{"note", 64}});
  ASSERT_TRUE(std::holds_alternative<dashboard::Form>(ok)) << std::get<std::string>(ok);
  EXPECT_EQ(std::get<dashboard::Form>(ok).at("note"), "caf\xC3\xA9 \xE2\x9C\x93");
}

TEST(DashboardInput, PostsFromAnotherSiteAreRefused) {
  EXPECT_EQ(dashboard::cross_site_problem(with_headers({})), "") << "not a browser: no cross-site request to forge";
  EXPECT_EQ(dashboard::cross_site_problem(with_headers({{"sec-fetch-site", "same-origin"}, {"origin", "null"}})), "");
  EXPECT_NE(dashboard::cross_site_problem(with_headers({{"sec-fetch-site", "cross-site"}})), "");
  EXPECT_NE(dashboard::cross_site_problem(with_headers({{"sec-fetch-site", "same-site"}})), "");
  EXPECT_EQ(
      dashboard::cross_site_problem(with_headers({{"origin", "http://127.0.0.1:8080"}, {"host", "127.0.0.1:8080"}})),
      "");
  EXPECT_NE(
      dashboard::cross_site_problem(with_headers({{"origin", "http://evil.example"}, {"host", "127.0.0.1:8080"}})), "");
}

using regulars::test::ScopedTz;

std::int64_t at(const char* rfc3339) { return *wire::parse_time_ms(rfc3339); }

TEST(TodaysLocalDay, IsTheShopsDayNotUtcs) {
  ScopedTz tz("Asia/Tehran");                                // UTC+03:30
  const LocalDay d = local_day(at("2026-11-23T22:00:00Z"));  // already 01:30 on the 24th in Tehran
  EXPECT_EQ(d.date, "2026-11-24");
  EXPECT_EQ(d.start_ms, at("2026-11-23T20:30:00Z"));
  EXPECT_EQ(d.end_ms, at("2026-11-24T20:30:00Z"));
}

TEST(TodaysLocalDay, DaysTheClocksChangeLast23And25Hours) {
  ScopedTz tz("Europe/London");
  const LocalDay spring = local_day(at("2026-03-29T09:00:00Z"));
  EXPECT_EQ(spring.date, "2026-03-29");
  EXPECT_EQ(spring.start_ms, at("2026-03-29T00:00:00Z"));
  EXPECT_EQ(spring.end_ms, at("2026-03-29T23:00:00Z"));
  const LocalDay autumn = local_day(at("2026-10-25T10:00:00Z"));
  EXPECT_EQ(autumn.date, "2026-10-25");
  EXPECT_EQ(autumn.start_ms, at("2026-10-24T23:00:00Z"));
  EXPECT_EQ(autumn.end_ms, at("2026-10-26T00:00:00Z"));
}

}  // namespace
}  // namespace regulars::daemon
