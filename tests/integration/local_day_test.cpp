// The birthday hint and the birthday rule agree on the day: a real regularsd in a shop far from
// UTC, asked just before and just after local midnight. Each time the hint says "today"
// exactly when the rule makes its offer.
#include <cstdlib>
#include <ctime>
#include <optional>
#include <ostream>
#include <string>

#include "fixture.hpp"

namespace regulars::test {
namespace {

struct Shop {
  const char* zone;
  const char* before;  // 23:59 local on 22 November 2026
  const char* after;   // 00:01 local on the 23rd
};

class LocalDay : public DaemonTest, public ::testing::WithParamInterface<Shop> {
 protected:
  void SetUp() override {
    // The daemon inherits TZ: it is the shop's zone.
    if (const char* old = std::getenv("TZ")) old_tz_ = old;
    ::setenv("TZ", GetParam().zone, 1);
    ::tzset();
    DaemonTest::SetUp();
  }
  void TearDown() override {
    DaemonTest::TearDown();
    if (old_tz_) ::setenv("TZ", old_tz_->c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
  }
  // The requests' own time counts for the rules (by default only within 15 minutes of the
  // daemon's clock), so the test can stand at a midnight of its choosing.
  std::vector<std::string> daemon_args() override {
    return with_config(R"({ "gestures": { "max_clock_skew_minutes": 5256000 } })");
  }
  void must_record(const json& event) {
    ASSERT_EQ(plugin_.record(client(), event.dump().c_str()), REGULARS_OK) << plugin_.last_error() << "\n" << event.dump();
  }

  std::optional<std::string> old_tz_;
};

TEST_P(LocalDay, BirthdayHintAndBirthdayRuleTurnAtLocalMidnight) {
  const json rule = {{"id", "birthday-treat"},
                     {"when", {{"birthday", json::object()}}},
                     {"gesture", {{"kind", "message"}, {"message", {{"en", "Happy birthday!"}}}}}};
  const std::string file = dir_.sub("birthday-rule.json");
  std::ofstream(file) << rule.dump(2);
  std::string out;
  ASSERT_EQ(ctl("gestures add " + file, out), 0) << out;

  const json who = {{"kind", "phone"}, {"value", "+98 912 555 0199"}};
  must_record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}},
               {"time", "2026-11-01T10:00:00Z"}});
  must_record({{"type", "profile"}, {"customer", who}, {"birthday", "11-23"}, {"time", "2026-11-01T10:01:00Z"}});

  struct Expect {
    const char* time;
    const char* hint;
    std::size_t offers;
  };
  for (const Expect& e : {Expect{GetParam().before, "Birthday tomorrow.", 0}, Expect{GetParam().after, "Birthday today!", 1}}) {
    const json answer = ask(who, {{"time", e.time}, {"locale", "en"}});
    const json* hint = find_hint(answer, "birthday");
    ASSERT_NE(hint, nullptr) << e.time << "\n" << answer.dump(2);
    EXPECT_EQ((*hint)["text"], std::string(e.hint)) << e.time;
    EXPECT_EQ(answer["offers"].size(), e.offers) << e.time << "\n" << answer.dump(2);
  }
}

// Test names and ctest's list show the zone, not the struct's bytes.
void PrintTo(const Shop& p, std::ostream* os) { *os << p.zone; }

// "Asia/Tehran" -> "Asia_Tehran": a test name may not hold '/'.
std::string zone_name(const ::testing::TestParamInfo<Shop>& p) {
  std::string name = p.param.zone;
  for (auto& c : name)
    if (c == '/') c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Shops, LocalDay,
                         ::testing::Values(Shop{"Asia/Tehran", "2026-11-22T23:59:00+03:30", "2026-11-23T00:01:00+03:30"},
                                           Shop{"America/Los_Angeles", "2026-11-22T23:59:00-08:00", "2026-11-23T00:01:00-08:00"}),
                         zone_name);

}  // namespace
}  // namespace regulars::test
