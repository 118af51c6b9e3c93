// Feedback through the real plugin and daemon: NPS and CSAT reports against a hand
// computation, the follow-up queue and the recovery hint, throttling of "ask for feedback",
// anonymous ratings, staff ideas, and bad input refused with nothing stored changed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "fixture.hpp"

namespace regulars::test {
namespace {

json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }

class Feedback : public DaemonTest {
 protected:
  std::vector<std::string> daemon_args() override {
    // Every visit sampled, so the throttling rules alone decide whether to ask.
    return with_config(R"({ "feedback": { "sample_percent": 100, "ask_every_days": 30 } })");
  }
  regulars_status record(const json& event) { return plugin_.record(client(), event.dump().c_str()); }
  void must_record(const json& event) { ASSERT_EQ(record(event), REGULARS_OK) << plugin_.last_error() << "\n" << event.dump(); }
  json ctl_json(const std::string& args) {
    std::string out;
    EXPECT_EQ(ctl(args + " --json", out), 0) << out;
    return json::parse(out);
  }
  static const json* row(const json& report, const std::string& key) {
    for (const auto& r : report["rows"])
      if (r["key"] == key) return &r;
    return nullptr;
  }
  void consent_and_buy(const json& who, const std::string& time) {
    must_record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}, {"time", time}});
    must_record({{"type", "purchase"}, {"customer", who}, {"time", time},
                 {"lines", {{{"sku", "bread"}, {"qty", 1}, {"unit_price", 250}}}}});
  }
};

// Acceptance 1 and the anonymous half of 3: ten ratings across two cashiers and two
// touchpoints; the report matches the hand computation in the comments.
TEST_F(Feedback, NpsAndCsatByCashierAndTouchpointMatchAHandComputation) {
  struct Rating {
    int nps, csat;
    const char *cashier, *touchpoint;
  };
  const std::vector<Rating> ratings{
      {10, 5, "ana", "till"}, {9, 4, "ana", "till"}, {7, 4, "ana", "kiosk"}, {3, 2, "ana", "kiosk"}, {10, 5, "ben", "till"},
      {6, 3, "ben", "till"},  {8, 4, "ben", "kiosk"}, {9, 5, "ben", "kiosk"}, {2, 1, "ben", "till"}, {10, 4, "ana", "till"}};
  for (std::size_t i = 0; i < ratings.size(); ++i) {
    json ev = {{"type", "feedback"}, {"event_id", "fb-" + std::to_string(i)}, {"nps", ratings[i].nps},
               {"csat", ratings[i].csat}, {"cashier", ratings[i].cashier}, {"touchpoint", ratings[i].touchpoint},
               {"lane", "lane-1"}, {"time", "2026-11-1" + std::to_string(i % 7) + "T10:00:00Z"}};
    if (i < 9) ev["customer"] = card("5100" + std::to_string(i));  // the tenth is anonymous
    must_record(ev);
  }
  // ana: NPS 10 9 7 3 10 -> 3 promoters, 1 passive, 1 detractor -> (3-1)/5 = 40.0; CSAT 5 4 4 2 4 -> 4/5 = 80.0
  // ben: NPS 10 6 8 9 2  -> 2 promoters, 1 passive, 2 detractors -> 0.0;          CSAT 5 3 4 5 1 -> 3/5 = 60.0
  const json by_cashier = ctl_json("report --by cashier");
  ASSERT_NE(row(by_cashier, "ana"), nullptr) << by_cashier.dump();
  EXPECT_EQ((*row(by_cashier, "ana"))["nps"], 40.0);
  EXPECT_EQ((*row(by_cashier, "ana"))["promoters"], 3);
  EXPECT_EQ((*row(by_cashier, "ana"))["detractors"], 1);
  EXPECT_EQ((*row(by_cashier, "ana"))["csat"], 80.0);
  EXPECT_EQ((*row(by_cashier, "ben"))["nps"], 0.0);
  EXPECT_EQ((*row(by_cashier, "ben"))["csat"], 60.0);
  // till: NPS 10 9 10 6 2 10 -> (4-2)/6 = 33.3; CSAT 5 4 5 3 1 4 -> 4/6 = 66.7
  // kiosk: NPS 7 3 8 9 -> (1-1)/4 = 0.0;        CSAT 4 2 4 5 -> 3/4 = 75.0
  const json by_touchpoint = ctl_json("report --by touchpoint");
  EXPECT_EQ((*row(by_touchpoint, "till"))["nps"], 33.3);
  EXPECT_EQ((*row(by_touchpoint, "till"))["nps_responses"], 6);
  EXPECT_EQ((*row(by_touchpoint, "till"))["csat"], 66.7);
  EXPECT_EQ((*row(by_touchpoint, "kiosk"))["nps"], 0.0);
  EXPECT_EQ((*row(by_touchpoint, "kiosk"))["csat"], 75.0);
  // All ten, the anonymous one included: 5 promoters, 3 detractors -> 20.0; CSAT 7/10 = 70.0.
  EXPECT_EQ(by_touchpoint["total"]["nps"], 20.0);
  EXPECT_EQ(by_touchpoint["total"]["nps_responses"], 10);
  EXPECT_EQ(by_touchpoint["total"]["csat"], 70.0);
  // The weekly trend holds the same ten responses.
  const json by_week = ctl_json("report --by week");
  long long weekly = 0;
  for (const auto& r : by_week["rows"]) weekly += r["nps_responses"].get<long long>();
  EXPECT_EQ(weekly, 10) << by_week.dump();
  EXPECT_EQ(by_week["rows"].size(), 2u);  // the weeks of Monday 9 and Monday 16 November

  // Three unhappy ratings opened follow-ups, the anonymous one none; its rating is tied to no one.
  EXPECT_EQ(ctl_json("followups --state open")["items"].size(), 3u);
  ASSERT_EQ(daemon_->stop(), 0);
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.count("SELECT count(*) FROM feedback WHERE customer_id IS NULL"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM events WHERE event_id='fb-9' AND customer_id IS NULL AND id_hash IS NULL"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM customers"), 9);
}

// Acceptance 2: a 3/10 on visit 1 opens a follow-up; visit 2 carries the localised recovery
// hint; the owner resolves the item with regularsctl and the hint goes.
TEST_F(Feedback, DetractorGetsRecoveryHintUntilTheOwnerResolvesIt) {
  const json sara = card("6200");
  consent_and_buy(sara, "2026-11-02T09:00:00Z");
  must_record({{"type", "feedback"}, {"event_id", "fb-sara-1"}, {"customer", sara}, {"nps", 3},
               {"reasons", {"slow_service"}}, {"comment", "Waited 20 minutes at the till"}, {"cashier", "ana"},
               {"touchpoint", "till"}, {"time", "2026-11-02T09:05:00Z"}});

  const json en = ask(sara, {{"time", "2026-11-09T09:00:00Z"}});
  const json* recovery = find_hint(en, "recovery");
  ASSERT_NE(recovery, nullptr) << en.dump();
  EXPECT_EQ((*recovery)["text"], "Last visit went badly (rated us 3/10: slow service) — apologise and put it right.");
  EXPECT_EQ((*recovery)["priority"], 98);
  EXPECT_EQ(en["hints"][0]["kind"], "greeting");
  EXPECT_EQ(en["hints"][1]["kind"], "recovery");  // above every other hint but the greeting
  const json fa = ask(sara, {{"time", "2026-11-09T09:00:00Z"}, {"locale", "fa"}});
  ASSERT_NE(find_hint(fa, "recovery"), nullptr);
  EXPECT_EQ((*find_hint(fa, "recovery"))["text"],
            "دفعهٔ قبل تجربهٔ خوبی نداشت (امتیاز ۳ از ۱۰: \u2068خدمات کُند\u2069) — عذرخواهی کنید و جبران کنید.");

  std::string out;
  ASSERT_EQ(ctl("followups", out), 0) << out;
  EXPECT_NE(out.find("fb-sara-1"), std::string::npos) << out;
  EXPECT_NE(out.find("Waited 20 minutes"), std::string::npos) << out;
  ASSERT_EQ(ctl("followup fb-sara-1 --state contacted --note \"called, apologised\" --by owner", out), 0) << out;
  EXPECT_NE(find_hint(ask(sara, {{"time", "2026-11-09T09:00:00Z"}}), "recovery"), nullptr);  // contacted: still open
  ASSERT_EQ(ctl("followup fb-sara-1 --state resolved --note \"voucher given\"", out), 0) << out;
  EXPECT_EQ(find_hint(ask(sara, {{"time", "2026-11-09T09:00:00Z"}}), "recovery"), nullptr);
  const json resolved = ctl_json("followups --state resolved");
  ASSERT_EQ(resolved["items"].size(), 1u);
  EXPECT_EQ(resolved["items"][0]["notes"].size(), 2u);
  EXPECT_EQ(resolved["items"][0]["notes"][1]["note"], "voucher given");
  EXPECT_EQ(ctl_json("followups --state open")["items"].size(), 0u);
  // Moving along feedback that opened nothing is refused with the way out named.
  EXPECT_NE(ctl("followup no-such-feedback --state resolved", out), 0);
  EXPECT_NE(out.find("regularsctl followups"), std::string::npos) << out;

  // A rebuild from the log reproduces feedback and the follow-up queue exactly.
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_NE(out.find("followups"), std::string::npos) << out;
  EXPECT_EQ(ctl_json("followups --state resolved"), resolved);
}

// Acceptance 3: asked on visit 1, not asked again within the window, nor right after a complaint.
TEST_F(Feedback, AskingIsThrottled) {
  const json omid = card("6300"), neda = card("6301");
  consent_and_buy(omid, "2026-11-02T09:00:00Z");
  EXPECT_EQ(ask(omid, {{"time", "2026-11-02T09:10:00Z"}})["ask_feedback"], true);
  EXPECT_NE(find_hint(ask(omid, {{"time", "2026-11-02T09:10:00Z"}}), "ask_feedback"), nullptr);
  must_record({{"type", "feedback"}, {"customer", omid}, {"nps", 9}, {"time", "2026-11-02T09:11:00Z"}});
  EXPECT_EQ(ask(omid, {{"time", "2026-11-20T09:00:00Z"}})["ask_feedback"], false);  // 18 days later
  EXPECT_EQ(find_hint(ask(omid, {{"time", "2026-11-20T09:00:00Z"}}), "ask_feedback"), nullptr);
  EXPECT_EQ(ask(omid, {{"time", "2026-12-03T09:00:00Z"}})["ask_feedback"], true);  // 31 days later

  // A customer who declined counts as asked.
  consent_and_buy(neda, "2026-11-02T09:00:00Z");
  must_record({{"type", "feedback"}, {"customer", neda}, {"declined", true}, {"time", "2026-11-02T09:11:00Z"}});
  EXPECT_EQ(ask(neda, {{"time", "2026-11-05T09:00:00Z"}})["ask_feedback"], false);
  // Unknown customers are asked on the sampled share of visits (all of them here).
  EXPECT_EQ(ask(card("6399"))["ask_feedback"], true);
}

// Acceptance 4: feedback from the web shop arrives through the admin HTTP API; it shows in the
// touchpoint breakdown and in the customer's journey next to their visit at the till.
TEST_F(Feedback, WebFeedbackThroughTheAdminApiReachesReportsAndJourney) {
  const json mina = card("6500");
  consent_and_buy(mina, "2026-11-02T09:00:00Z");
  must_record({{"type", "feedback"}, {"customer", mina}, {"nps", 9}, {"touchpoint", "till"}, {"time", "2026-11-02T09:05:00Z"}});

  // Without the owner token nothing is read or written.
  EXPECT_EQ(admin("GET", "/v1/reports/satisfaction?by=touchpoint", nullptr, false).first, 401);
  EXPECT_EQ(admin("POST", "/v1/feedback", {{"customer", mina}, {"nps", 2}, {"touchpoint", "web"}}, false).first, 401);
  // Feedback from another channel must name it, and is validated like any event.
  const auto no_channel = admin("POST", "/v1/feedback", {{"customer", mina}, {"nps", 4}});
  EXPECT_EQ(no_channel.first, 400);
  EXPECT_EQ(no_channel.second["error"]["field"], "body.touchpoint") << no_channel.second.dump();
  const auto out_of_range = admin("POST", "/v1/feedback", {{"customer", mina}, {"nps", 12}, {"touchpoint", "web"}});
  EXPECT_EQ(out_of_range.first, 400);
  EXPECT_EQ(out_of_range.second["error"]["field"], "body.nps") << out_of_range.second.dump();

  const auto web = admin("POST", "/v1/feedback",
                         {{"customer", mina}, {"nps", 5}, {"csat", 2}, {"reasons", {"late_delivery"}},
                          {"comment", "The order came a day late"}, {"touchpoint", "web"}, {"time", "2026-11-04T20:00:00Z"}});
  ASSERT_EQ(web.first, 200) << web.second.dump();

  const auto report = admin("GET", "/v1/reports/satisfaction?by=touchpoint");
  ASSERT_EQ(report.first, 200) << report.second.dump();
  ASSERT_NE(row(report.second, "web"), nullptr) << report.second.dump();
  EXPECT_EQ((*row(report.second, "web"))["nps_responses"], 1);
  EXPECT_EQ((*row(report.second, "web"))["detractors"], 1);
  EXPECT_EQ((*row(report.second, "web"))["csat"], 0.0);
  EXPECT_EQ((*row(report.second, "till"))["promoters"], 1);

  const auto journey = admin("POST", "/v1/journey", {{"customer", mina}});
  ASSERT_EQ(journey.first, 200) << journey.second.dump();
  std::vector<std::string> steps;
  for (const auto& step : journey.second["steps"])
    steps.push_back(step["type"].get<std::string>() + "@" + step.value("touchpoint", std::string("-")));
  EXPECT_EQ(steps, (std::vector<std::string>{"consent@-", "purchase@-", "feedback@till", "feedback@web"}));
  EXPECT_EQ(journey.second.dump().find("6500"), std::string::npos) << "the journey carries no raw identifier";

  // The unhappy web answer opened a follow-up, which the owner resolves over HTTP too.
  const auto queue = admin("GET", "/v1/followups?state=open");
  ASSERT_EQ(queue.second["items"].size(), 1u) << queue.second.dump();
  const std::string fb = queue.second["items"][0]["feedback"].get<std::string>();
  EXPECT_EQ(queue.second["items"][0]["touchpoint"], "web");
  EXPECT_EQ(admin("POST", "/v1/followups/" + fb, {{"state", "resolved"}, {"note", "refunded delivery"}}).first, 200);
  EXPECT_EQ(admin("GET", "/v1/followups?state=open").second["items"].size(), 0u);
  EXPECT_EQ(admin("POST", "/v1/followups/nope", {{"state", "resolved"}}).first, 409);
}

// `regularsctl journey`: the same owner command as POST /v1/journey, as a table or as JSON, with
// no raw identifier in it; an unknown customer is an error.
TEST_F(Feedback, RegularsctlShowsACustomersJourney) {
  const json nima = card("6950");
  consent_and_buy(nima, "2026-11-02T09:00:00Z");
  must_record({{"type", "feedback"}, {"event_id", "fb-nima"}, {"customer", nima}, {"nps", 9}, {"csat", 4},
               {"touchpoint", "till"}, {"cashier", "ana"}, {"time", "2026-11-02T09:05:00Z"}});

  const json steps_json = ctl_json("journey --kind card --value 6950");
  std::vector<std::string> types;
  for (const auto& step : steps_json["steps"]) types.push_back(step["type"].get<std::string>());
  EXPECT_EQ(types, (std::vector<std::string>{"consent", "purchase", "feedback"})) << steps_json.dump();
  const auto over_http = admin("POST", "/v1/journey", {{"customer", nima}});
  ASSERT_EQ(over_http.first, 200) << over_http.second.dump();
  EXPECT_EQ(steps_json, over_http.second);
  EXPECT_EQ(ctl_json("journey --kind card --value 6950 --limit 2")["steps"].size(), 2u);
  // The identifier read from standard input (--value -), off the command line other users can read.
  std::string piped;
  ASSERT_EQ(run_command("printf '6950\\n' | " + std::string(REGULARSCTL_PATH) + " --data-dir " + daemon_->data_dir() +
                            " journey --kind card --value - --json", piped), 0) << piped;
  EXPECT_EQ(json::parse(piped, nullptr, false), steps_json);

  std::string table;
  ASSERT_EQ(ctl("journey --kind card --value 6950", table), 0) << table;
  EXPECT_NE(table.find("2026-11-02T09:00:00.000Z  purchase"), std::string::npos) << table;
  EXPECT_NE(table.find("1 line"), std::string::npos) << table;
  EXPECT_NE(table.find("NPS 9, CSAT 4"), std::string::npos) << table;
  EXPECT_NE(table.find("fb-nima"), std::string::npos) << table;
  EXPECT_EQ(table.find("6950"), std::string::npos) << "the journey echoes no raw identifier:\n" << table;

  std::string unknown;
  EXPECT_NE(ctl("journey --kind card --value 6951", unknown), 0);
  EXPECT_NE(unknown.find("not_found"), std::string::npos) << unknown;
  EXPECT_NE(ctl("journey --kind card --value 6950 --limit 0", unknown), 0);
}

// A cashier's scores are for the owner: on the till socket, a peer that is not regularsd's user
// (a till) is denied the owner's queries but still records and asks for hints.
TEST_F(Feedback, TillsCannotReadTheOwnersReports) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
  must_record({{"type", "feedback"}, {"nps", 4}, {"cashier", "ana"}});
  // Let another user reach the socket, as the socket's group would in a shop.
  const std::string socket_path = daemon_->data_dir() + "/regularsd.sock";
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(daemon_->data_dir().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(socket_path.c_str(), 0666), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    try {
      RawConnection till(socket_path);
      till.send_frame(R"({"id": 1, "op": "report", "request": {"by": "cashier"}})");
      const json denied = json::parse(till.read_frame());
      if (denied.value("ok", true) || denied["error"]["code"] != "denied") ::_exit(11);
      till.send_frame(R"({"id": 2, "op": "followups"})");
      if (json::parse(till.read_frame())["error"]["code"] != "denied") ::_exit(12);
      till.send_frame(R"({"id": 3, "op": "hints", "request": {"customer": {"kind": "card", "value": "1"}}})");
      if (!json::parse(till.read_frame()).value("ok", false)) ::_exit(13);
      // Nor can a till move the owner's follow-up queue along.
      till.send_frame(R"({"id": 4, "op": "record", "event": {"type": "followup", "event_id": "u-1", "feedback": "x", "state": "resolved"}})");
      if (json::parse(till.read_frame())["error"]["code"] != "denied") ::_exit(15);
      // Nor mark staff ideas seen or done: the owner reviews them.
      till.send_frame(R"({"id": 5, "op": "record", "event": {"type": "idea_review", "event_id": "r-1", "idea": "x", "state": "done"}})");
      if (json::parse(till.read_frame())["error"]["code"] != "denied") ::_exit(16);
    } catch (...) {
      ::_exit(14);
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "11/12: an owner query was not denied to a till; 13: hints failed; 14: no connection; "
                                        "15/16: a till moved a follow-up or reviewed an idea";
  EXPECT_EQ(ctl_json("report --by cashier")["total"]["nps_responses"], 1);  // the owner still reads it
}

// Comments are personal data: erasing the customer erases their feedback with them.
TEST_F(Feedback, ErasureTakesTheCommentsAlong) {
  const json leila = card("6600");
  consent_and_buy(leila, "2026-11-02T09:00:00Z");
  must_record({{"type", "feedback"}, {"event_id", "fb-leila"}, {"customer", leila}, {"nps", 2},
               {"comment", "Leila hated the new layout"}});
  ASSERT_EQ(ctl_json("followups")["items"].size(), 1u);
  std::string out;
  ASSERT_EQ(ctl("followup fb-leila --state contacted --note \"Leila called back\"", out), 0) << out;
  must_record({{"type", "consent"}, {"customer", leila}, {"purposes", {{"remember", false}}}});
  EXPECT_EQ(ctl_json("followups --state all")["items"].size(), 0u);
  // The log still rebuilds (the owner's notes about her feedback went with it) and the feedback
  // projections match it. The store's anonymous item counts still hold her basket, which the
  // log no longer does: rebuild reports and recounts those (exit status 3).
  const int rebuilt = ctl("rebuild", out);
  EXPECT_TRUE(rebuilt == 0 || rebuilt == 3) << out;
  EXPECT_NE(out.find("feedback              identical"), std::string::npos) << out;
  EXPECT_NE(out.find("followups             identical"), std::string::npos) << out;
  EXPECT_NE(out.find("customers             identical"), std::string::npos) << out;
  ASSERT_EQ(daemon_->stop(), 0);
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.count("SELECT count(*) FROM feedback"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM events WHERE body LIKE '%hated the new layout%'"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM events WHERE body LIKE '%Leila called back%'"), 0);
}

// Merging a customer who left unhappy keeps their follow-up item, state and notes included.
TEST_F(Feedback, MergingKeepsTheFollowUp) {
  const json by_card = card("6700"), by_phone = {{"kind", "phone"}, {"value", "+98 912 777 0000"}};
  consent_and_buy(by_card, "2026-11-02T09:00:00Z");
  consent_and_buy(by_phone, "2026-11-03T09:00:00Z");
  must_record({{"type", "feedback"}, {"event_id", "fb-merge"}, {"customer", by_phone}, {"csat", 1}});
  std::string out;
  ASSERT_EQ(ctl("followup fb-merge --state contacted --note \"left a message\"", out), 0) << out;
  must_record({{"type", "merge"}, {"customer", by_card}, {"other", by_phone}});
  const json queue = ctl_json("followups --state contacted");
  ASSERT_EQ(queue["items"].size(), 1u) << queue.dump();
  EXPECT_EQ(queue["items"][0]["notes"][0]["note"], "left a message");
  EXPECT_NE(find_hint(ask(by_card), "recovery"), nullptr);
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_EQ(ctl_json("followups --state contacted"), queue);
}

// The plugin stamps every event with its `terminal` option (lane-1 here). Feedback and staff
// ideas that name no lane of their own are counted on that lane, live and after a rebuild; an
// explicit `lane` still wins.
TEST_F(Feedback, FeedbackWithoutALaneIsCountedOnThePluginsTerminal) {
  must_record({{"type", "feedback"}, {"customer", card("6800")}, {"nps", 10}, {"cashier", "ana"}});
  must_record({{"type", "feedback"}, {"nps", 3}, {"cashier", "ana"}});  // anonymous
  must_record({{"type", "feedback"}, {"nps", 9}, {"lane", "kiosk-2"}});
  must_record({{"type", "staff_idea"}, {"cashier", "ana"}, {"text", "A step for short customers"}});

  const json by_lane = ctl_json("report --by lane");
  EXPECT_EQ(row(by_lane, "(none)"), nullptr) << by_lane.dump();
  ASSERT_NE(row(by_lane, "lane-1"), nullptr) << by_lane.dump();
  EXPECT_EQ((*row(by_lane, "lane-1"))["nps_responses"], 2);
  ASSERT_NE(row(by_lane, "kiosk-2"), nullptr) << by_lane.dump();
  EXPECT_EQ((*row(by_lane, "kiosk-2"))["nps_responses"], 1);
  const json queue = ctl_json("followups");
  ASSERT_EQ(queue["items"].size(), 1u) << queue.dump();
  EXPECT_EQ(queue["items"][0]["lane"], "lane-1");
  const json ideas = ctl_json("ideas");
  ASSERT_EQ(ideas["items"].size(), 1u) << ideas.dump();
  EXPECT_EQ(ideas["items"][0]["lane"], "lane-1");

  std::string out;
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
  const json rebuilt = ctl_json("report --by lane");
  EXPECT_EQ(rebuilt["rows"], by_lane["rows"]);
  EXPECT_EQ(rebuilt["total"], by_lane["total"]);
  EXPECT_EQ(ctl_json("ideas"), ideas);
}

// The till simulator's `feedback` and `idea` commands, in a script, through the real plugin:
// the rating after `pay` is the paying customer's, on the till's lane (its --terminal); a bad
// score is refused by the till itself and stops the script.
TEST_F(Feedback, TillSimulatorRecordsFeedbackAndStaffIdeas) {
  auto run_till = [&](const std::string& commands, std::string& out) {
    const std::string script = dir_.sub("feedback.till");
    std::ofstream(script) << commands;
    return run_command(std::string(REGULARS_TILL_PATH) + " --endpoint " + daemon_->endpoint() +
                           " --terminal lane-7 --cashier ana --budget-ms 2000 --color never --script " + script,
                       out);
  };
  std::string out;
  ASSERT_EQ(run_till("customer card 690012345\nconsent\nscan bread 1 250 Bread\npay\n"
                     "feedback --nps 4 --csat 2 --reason slow_service --reason long_queue Waited too long\n"
                     "feedback --csat 5 --touchpoint kiosk\n"
                     "cancel\nfeedback declined\n"
                     "idea Baskets by the door\nidea --kind problem Scanner at lane 7 is slow\n",
                     out),
            0)
      << out;
  EXPECT_NE(out.find("feedback (NPS 4, CSAT 2, card ••••2345) recorded"), std::string::npos) << out;
  EXPECT_NE(out.find("feedback (declined, anonymous) recorded"), std::string::npos) << out;
  EXPECT_NE(out.find("3 feedback, 2 staff ideas"), std::string::npos) << out;

  const json by_lane = ctl_json("report --by lane");
  ASSERT_NE(row(by_lane, "lane-7"), nullptr) << by_lane.dump();
  EXPECT_EQ((*row(by_lane, "lane-7"))["nps_responses"], 1);
  EXPECT_EQ((*row(by_lane, "lane-7"))["csat_responses"], 2);
  EXPECT_EQ(row(by_lane, "(none)"), nullptr) << by_lane.dump();
  const json by_touchpoint = ctl_json("report --by touchpoint");
  ASSERT_NE(row(by_touchpoint, "kiosk"), nullptr) << by_touchpoint.dump();
  EXPECT_EQ((*row(by_touchpoint, "kiosk"))["csat_satisfied"], 1);
  const json queue = ctl_json("followups");
  ASSERT_EQ(queue["items"].size(), 1u) << queue.dump();
  EXPECT_FALSE(queue["items"][0]["customer"].is_null()) << "the rating after pay is the paying customer's";
  EXPECT_EQ(queue["items"][0]["comment"], "Waited too long");
  EXPECT_EQ(queue["items"][0]["reasons"], json({"slow_service", "long_queue"}));
  EXPECT_EQ(queue["items"][0]["cashier"], "ana");
  EXPECT_EQ(queue["items"][0]["lane"], "lane-7");
  const json ideas = ctl_json("ideas");
  ASSERT_EQ(ideas["items"].size(), 2u) << ideas.dump();
  std::set<std::string> kinds_and_texts;
  for (const auto& idea : ideas["items"]) {
    EXPECT_EQ(idea["cashier"], "ana");
    EXPECT_EQ(idea["lane"], "lane-7");
    kinds_and_texts.insert(idea["kind"].get<std::string>() + ": " + idea["text"].get<std::string>());
  }
  EXPECT_EQ(kinds_and_texts, (std::set<std::string>{"idea: Baskets by the door", "problem: Scanner at lane 7 is slow"}));

  // Refused by the till before anything is sent; the script stops at that line.
  EXPECT_NE(run_till("feedback --nps 11\n", out), 0);
  EXPECT_NE(out.find("--nps must be a whole number from 0 to 10"), std::string::npos) << out;
  EXPECT_NE(run_till("feedback Lovely shop\n", out), 0);
  EXPECT_NE(out.find("usage: feedback"), std::string::npos) << out;
  EXPECT_EQ(ctl_json("report --by lane")["total"], by_lane["total"]);
}

// Acceptance 5: each bad input gets a clear error and nothing stored changes.
TEST_F(Feedback, BadFeedbackIsRefusedAndNothingChanges) {
  const json who = card("6400");
  consent_and_buy(who, "2026-11-02T09:00:00Z");
  must_record({{"type", "feedback"}, {"customer", who}, {"nps", 8}, {"cashier", "ana"}});
  const json before = ctl_json("report --by cashier");
  std::string status_before;
  ASSERT_EQ(ctl("status --json", status_before), 0);

  auto refused = [&](json ev, const std::string& expect_in_error) {
    ev["type"] = "feedback";
    ev["customer"] = who;
    EXPECT_EQ(record(ev), REGULARS_INVALID_INPUT) << ev.dump().substr(0, 200);
    EXPECT_NE(std::string(plugin_.last_error()).find(expect_in_error), std::string::npos) << plugin_.last_error();
  };
  refused({{"nps", 11}}, "event.nps");
  refused({{"nps", -1}}, "event.nps");
  refused({{"csat", 0}}, "event.csat");
  refused({{"nps", 5}, {"cashier", "ana smith!"}}, "event.cashier");
  refused({{"nps", 5}, {"comment", std::string(1'000'000, 'x')}}, "");
  refused({{"nps", 5}, {"comment", "card 4111 1111 1111 1111 please"}}, "card");
  refused({{"csat", 3}, {"reasons", {"Slow Service"}}}, "event.reasons[0]");
  // Invalid UTF-8 in the comment: the library refuses to send text that is not UTF-8.
  const std::string bad_utf8 = std::string(R"({"type":"feedback","customer":{"kind":"card","value":"6400"},"nps":5,"comment":")") +
                               "\xC3\x28" + R"("})";
  EXPECT_NE(plugin_.record(client(), bad_utf8.c_str()), REGULARS_OK);
  // Staff ideas need the cashier who had them.
  EXPECT_EQ(record({{"type", "staff_idea"}, {"text", "More baskets at lane 2"}}), REGULARS_INVALID_INPUT);
  must_record({{"type", "staff_idea"}, {"cashier", "ben"}, {"kind", "problem"}, {"text", "Lane 2 scanner is slow"}});
  std::string ideas;
  ASSERT_EQ(ctl("ideas", ideas), 0);
  EXPECT_NE(ideas.find("Lane 2 scanner is slow"), std::string::npos) << ideas;

  const json after = ctl_json("report --by cashier");
  EXPECT_EQ(after["rows"], before["rows"]);
  EXPECT_EQ(after["total"], before["total"]);
  std::string status_after;
  ASSERT_EQ(ctl("status --json", status_after), 0);
  EXPECT_EQ(json::parse(status_after)["events"].get<long long>(), json::parse(status_before)["events"].get<long long>() + 1)
      << "only the staff idea was stored";
}

}  // namespace
}  // namespace regulars::test
