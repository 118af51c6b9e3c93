// The daemon's data rules against a real regularsd and the real plugin: no payment card number
// is stored in any form; a till's wrong clock cannot outrank a withdrawn consent.
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

std::string error_code(const std::string& response) {
  if (response.empty()) return "(no answer)";
  const json j = json::parse(response);
  if (j.value("ok", true)) return "ok";
  return j["error"]["code"].get<std::string>();
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

}  // namespace
}  // namespace regulars::test
