// The daemon's data rules against a real regularsd and the real plugin: no payment card number
// is stored in any form; a till's wrong clock cannot outrank a withdrawn consent; an erasure
// cannot be undone by replaying what was erased.
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

#include "fixture.hpp"

namespace regulars::test {
namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every file under `dir`, concatenated: the store, its WAL and shared memory, keys, the spool.
std::string bytes_under(const std::string& dir) {
  std::string out, bytes;
  run_command("find " + dir + " -type f", out);
  std::istringstream files(out);
  for (std::string f; std::getline(files, f);) bytes += file_bytes(f);
  return bytes;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// RFC 3339, UTC, to the millisecond.
std::string wire_time(std::int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

class DataRules : public DaemonTest {
 protected:
  json who_ = {{"kind", "card"}, {"value", "4000123"}};

  regulars_status record(const json& event) { return plugin_.record(client(), event.dump().c_str()); }
  void must_record(const json& event) {
    ASSERT_EQ(record(event), REGULARS_OK) << plugin_.last_error() << "\n" << event.dump();
  }
  json consent_event(const std::string& time, bool remember) {
    return {{"type", "consent"}, {"customer", who_}, {"time", time}, {"purposes", {{"remember", remember}, {"personalize", remember}}}};
  }
  json consent_now() { return ask(who_)["customer"]["consent"]; }
  // "Projections match the event log": the rule holds for a rebuild as for live writes.
  void expect_rebuild_identical() {
    std::string out;
    EXPECT_EQ(ctl("rebuild", out), 0) << out;
    EXPECT_NE(out.find("projections match the event log"), std::string::npos) << out;
  }
};

// Issue 19, item 8: the forms of 4111 1111 1111 1111 that used to be stored raw.
const std::vector<std::string> kCardForms = {
    "ref 7 4111 1111 1111 1111",
    "\u06F4\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1 \u06F1\u06F1\u06F1\u06F1",  // Persian
    "\uFF14\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11\uFF11",      // full-width
    "4111.1111.1111.1111",
    "4111  1111  1111  1111",
    "4111/1111/1111/1111",
};

TEST_F(DataRules, NoFormOfACardNumberIsStoredInAnyFreeTextField) {
  // Through the plugin: refused at regulars_record, before the spool.
  for (const auto& form : kCardForms) {
    const std::vector<json> events = {
        {{"type", "note"}, {"customer", who_}, {"text", form}},
        {{"type", "preference"}, {"customer", who_}, {"key", "bag"}, {"value", form}},
        {{"type", "profile"}, {"customer", who_}, {"name", form}},
        {{"type", "feedback"}, {"customer", who_}, {"nps", 4}, {"comment", form}},
        {{"type", "staff_idea"}, {"cashier", "c.07"}, {"text", form}},
    };
    for (const auto& e : events) {
      EXPECT_EQ(plugin_.record(client(), e.dump().c_str()), REGULARS_INVALID_INPUT) << e.dump();
      EXPECT_NE(std::string(plugin_.last_error()).find("card"), std::string::npos) << plugin_.last_error();
    }
    // Straight to the daemon, past the plugin's own check: the daemon refuses it too.
    RawConnection raw(daemon_->socket_path());
    const json frame = {{"id", 1}, {"op", "record"},
                        {"event", {{"type", "note"}, {"event_id", "raw-1"}, {"customer", who_}, {"text", form}}}};
    raw.send_frame(frame.dump());
    EXPECT_EQ(error_code(raw.read_frame()), "card_number_refused") << form;
  }
  // The owner's follow-up notes go through the same rule.
  ASSERT_EQ(plugin_.record(client(), json({{"type", "feedback"}, {"event_id", "fb-1"}, {"nps", 2}}).dump().c_str()),
            REGULARS_OK);
  std::string out;
  EXPECT_NE(ctl("followup fb-1 --state contacted --note \"ref 7 4111 1111 1111 1111\"", out), 0) << out;
  EXPECT_NE(out.find("card"), std::string::npos) << out;
  // Ordinary text is still remembered.
  ASSERT_EQ(plugin_.record(client(), json({{"type", "note"}, {"customer", who_}, {"text", "Dn9Marker"}}).dump().c_str()),
            REGULARS_OK);

  daemon_->stop();
  const std::string everything = bytes_under(daemon_->data_dir()) + bytes_under(dir_.sub("spool")) +
                                 file_bytes(daemon_->log_path());
  ASSERT_NE(everything.find("Dn9Marker"), std::string::npos) << "the search looks where events are kept";
  for (const auto& needle : kCardForms) EXPECT_EQ(everything.find(needle), std::string::npos) << needle;
  for (const std::string needle : {"4111111111111111", "4111 1111", "1111.1111", "1111/1111", "\u06F1\u06F1\u06F1\u06F1",
                                   "\uFF11\uFF11\uFF11\uFF11"})
    EXPECT_EQ(everything.find(needle), std::string::npos) << needle;
}

// Issue 19, item 7: event times are checked against the daemon's clock.
TEST_F(DataRules, AnEventTimeFarInTheFutureIsRefused) {
  for (const std::string& time : std::vector<std::string>{"9999-12-31T23:59:59Z", "2099-01-01T00:00:00Z", wire_time(now_ms() + 3'600'000)}) {
    // Straight to the daemon: the plugin does not know the daemon's clock.
    RawConnection raw(daemon_->socket_path());
    const json frame = {{"id", 1}, {"op", "record"},
                        {"event", {{"type", "note"}, {"event_id", "future-" + time}, {"customer", who_}, {"time", time}, {"text", "hello"}}}};
    raw.send_frame(frame.dump());
    const json answer = json::parse(raw.read_frame());
    ASSERT_FALSE(answer.value("ok", true)) << answer;
    EXPECT_EQ(answer["error"]["code"], "invalid_event") << answer;
    EXPECT_EQ(answer["error"]["field"], "event.time") << answer;
    EXPECT_NE(answer["error"]["message"].get<std::string>().find("limits.max_future_seconds"), std::string::npos) << answer;
    // Through the plugin the till hears it at once, and nothing is spooled to retry for ever.
    EXPECT_EQ(record({{"type", "note"}, {"customer", who_}, {"time", time}, {"text", "hello"}}), REGULARS_INVALID_INPUT) << time;
  }
  // A few minutes ahead is a till's ordinary drift, and is taken.
  must_record({{"type", "note"}, {"customer", who_}, {"time", wire_time(now_ms() + 120'000)}, {"text", "drift"}});
  EXPECT_EQ(StoreFile(daemon_->db_path()).count("SELECT count(*) FROM events"), 1);
}

// A daemon whose window lets a wrong clock through (a year ahead): the order of arrival decides.
class WideFutureWindow : public DataRules {
 protected:
  std::vector<std::string> daemon_args() override { return with_config(R"({"limits": {"max_future_seconds": 3153600000}})"); }
};

TEST_F(WideFutureWindow, AWithdrawalOutranksAGrantDatedInTheFuture) {
  must_record(consent_event("2099-06-01T00:00:00Z", true));  // a till whose clock is wrong
  ASSERT_EQ(consent_now()["remember"], true);
  must_record(consent_event(wire_time(now_ms()), false));  // the customer withdraws, at a good till
  EXPECT_EQ(consent_now()["remember"], false);
  EXPECT_EQ(consent_now()["personalize"], false);
  expect_rebuild_identical();
  EXPECT_EQ(consent_now()["remember"], false) << "after the rebuild too";
}

TEST_F(DataRules, AGrantOlderThanTheWithdrawalDoesNotReviveConsent) {
  const std::int64_t now = now_ms();
  must_record(consent_event(wire_time(now - 600'000), true));
  must_record(consent_event(wire_time(now - 60'000), false));
  // A grant made before the withdrawal, replayed late from a spool: the withdrawal stands.
  must_record(consent_event(wire_time(now - 120'000), true));
  EXPECT_EQ(consent_now()["remember"], false);
  // So does a grant at the very same moment.
  must_record(consent_event(wire_time(now - 60'000), true));
  EXPECT_EQ(consent_now()["remember"], false);
  // A withdrawal that arrives late still wins over the grant it followed in time.
  must_record(consent_event(wire_time(now - 30'000), true));
  ASSERT_EQ(consent_now()["remember"], true) << "a grant after the withdrawal is a new consent";
  must_record(consent_event(wire_time(now - 45'000), false));
  EXPECT_EQ(consent_now()["remember"], false) << "the withdrawal arrived last";
  expect_rebuild_identical();
  EXPECT_EQ(consent_now()["remember"], false);
}

// Issue 19, item 10: the tombstone an erasure leaves.
TEST_F(DataRules, AnErasureCannotBeUndoneByAReplay) {
  const json sara = {{"kind", "phone"}, {"value", "+98 912 555 0177"}};
  const std::int64_t before = now_ms() - 60'000;
  const std::vector<json> history = {
      {{"type", "consent"}, {"event_id", "h-consent"}, {"customer", sara}, {"time", wire_time(before)},
       {"purposes", {{"remember", true}, {"personalize", true}}}},
      {{"type", "link"}, {"event_id", "h-link"}, {"customer", sara}, {"identifier", who_}},
      {{"type", "purchase"}, {"event_id", "h-buy"}, {"customer", who_}, {"lines", {{{"sku", "bread"}, {"unit_price", 250}}}}},
      {{"type", "note"}, {"event_id", "h-note"}, {"customer", sara}, {"text", "Tb4Marker likes rye"}},
  };
  for (const auto& e : history) must_record(e);
  ASSERT_EQ(ask(sara)["customer"]["visits"], 1);
  std::string out;
  ASSERT_EQ(ctl("erase --kind phone --value \"+98 912 555 0177\"", out), 0) << out;
  ASSERT_FALSE(ask(sara)["customer"]["known"].get<bool>());

  // The same events again (a retry, a spool replayed): acknowledged, and nothing comes back.
  for (const auto& e : history) must_record(e);
  // New events for either erased identifier: acknowledged, dropped.
  must_record({{"type", "purchase"}, {"customer", who_}, {"lines", {{{"sku", "milk"}, {"unit_price", 120}}}}});
  must_record({{"type", "note"}, {"customer", sara}, {"text", "Tb4Marker again"}});
  // A consent given before the erasure, delivered only now, is not a new consent.
  must_record({{"type", "consent"}, {"customer", sara}, {"time", wire_time(before)}, {"purposes", {{"remember", true}}}});
  EXPECT_FALSE(ask(sara)["customer"]["known"].get<bool>());
  EXPECT_FALSE(ask(who_)["customer"]["known"].get<bool>());
  EXPECT_EQ(StoreFile(daemon_->db_path()).count("SELECT count(*) FROM events"), 0);
  EXPECT_EQ(StoreFile(daemon_->db_path()).count("SELECT count(*) FROM customers"), 0);

  // status counts what was dropped, and names no one.
  RawConnection raw(daemon_->socket_path());
  raw.send_frame(R"({"id":1,"op":"status"})");
  const json status = json::parse(raw.read_frame());
  ASSERT_TRUE(status.value("ok", false)) << status;
  const json dropped = status["result"]["dropped_after_erasure"];
  EXPECT_EQ(dropped["erased_events"], 4) << status;
  EXPECT_EQ(dropped["erased_identifiers"], 3) << status;
  EXPECT_EQ(status.dump().find("5550177"), std::string::npos) << "the phone's digits (a count may hold 912 by chance)";

  // A new consent: remembered again, from nothing.
  must_record({{"type", "consent"}, {"customer", sara}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  must_record({{"type", "purchase"}, {"customer", sara}, {"lines", {{{"sku", "eggs"}, {"unit_price", 300}}}}});
  EXPECT_EQ(ask(sara)["customer"]["visits"], 1);
  EXPECT_FALSE(ask(who_)["customer"]["known"].get<bool>()) << "the linked card needs its own consent";

  daemon_->stop();
  const std::string stored = bytes_under(daemon_->data_dir());
  EXPECT_EQ(stored.find("Tb4Marker"), std::string::npos);
}

// A new consent lifts the tombstone for what comes after it, not for what came before: a sale
// made before the erasure that a till's spool delivers only after the customer consented again
// stays forgotten, here as on the chain's hub. The earliest new consent counts, whatever order
// they arrive in; a sale rung up at another till within the clocks' grace (memory/tombstone.hpp)
// is kept, and so is a consent record dated after the erasure.
TEST_F(DataRules, ASaleDeliveredLateAfterANewConsentIsKeptOnlyIfMadeAfterIt) {
  const std::int64_t before = now_ms() - 60'000;
  must_record(consent_event(wire_time(before), true));
  must_record({{"type", "purchase"}, {"customer", who_}, {"time", wire_time(before + 1'000)},
               {"lines", {{{"sku", "bread"}, {"unit_price", 250}}}}});
  std::string out;
  ASSERT_EQ(ctl("erase --kind card --value 4000123", out), 0) << out;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::int64_t first_consent = now_ms();  // given at a till whose spool delivers it last
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::int64_t withdrawn = now_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  must_record({{"type", "consent"}, {"customer", who_}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  ASSERT_TRUE(ask(who_)["customer"]["known"].get<bool>());

  // A sale that sat in a till's spool since before the erasure: dropped.
  must_record({{"type", "purchase"}, {"customer", who_}, {"time", wire_time(before + 2'000)},
               {"lines", {{{"sku", "Tb5Before"}, {"unit_price", 100}}}}});
  EXPECT_EQ(ask(who_)["customer"]["visits"], 0) << "a sale made before the erasure is not the new consent's";
  // The earlier consent arrives: the lift moves back to it.
  must_record(consent_event(wire_time(first_consent), true));
  EXPECT_EQ(StoreFile(daemon_->db_path()).count("SELECT count(*) FROM erased_identifiers WHERE lifted_ms = " +
                                                std::to_string(first_consent)), 1);
  // A sale rung up just after the erasure at a till whose clock is a little slow: kept.
  must_record({{"type", "purchase"}, {"customer", who_}, {"time", wire_time(first_consent - 10)},
               {"lines", {{{"sku", "eggs"}, {"unit_price", 300}}}}});
  EXPECT_EQ(ask(who_)["customer"]["visits"], 1);

  // The same after a restart, and the projections still match the log.
  daemon_->stop();
  daemon_->start();
  close_client(client_);  // a new connection, straight to the new daemon
  client_ = nullptr;
  must_record({{"type", "purchase"}, {"customer", who_}, {"time", wire_time(before + 3'000)},
               {"lines", {{{"sku", "Tb5Before"}, {"unit_price", 100}}}}});
  EXPECT_EQ(ask(who_)["customer"]["visits"], 1);
  expect_rebuild_identical();

  // A withdrawal dated between the two consents, delivered late, is not kept out by the lift: the
  // consent rules order it, and as neither grant knew of it, it wins.
  must_record({{"type", "consent"}, {"customer", who_}, {"time", wire_time(withdrawn)}, {"purposes", {{"remember", false}}}});
  EXPECT_EQ(consent_now()["remember"], false);
  daemon_->stop();
  EXPECT_EQ(bytes_under(daemon_->data_dir()).find("Tb5Before"), std::string::npos);
}

}  // namespace
}  // namespace regulars::test
