// The owner's commands are written once (daemon/owner/commands.hpp) and reached two ways: over
// the socket, as regularsctl does, and over the admin HTTP API. Every command is asked both ways
// here, and the two answers must be the same, defaults and errors included.
#include <set>

#include "fixture.hpp"
#include "owner/commands.hpp"

namespace regulars::test {
namespace {

// One answer, whichever way it came: the result, or the error's code and field.
struct Answer {
  bool ok = false;
  json body;  // the result when ok, else the error object
  std::string describe() const { return (ok ? "ok " : "error ") + body.dump().substr(0, 600); }
};

class OwnerCommands : public DaemonTest {
 protected:
  // Retention far longer than the test's history, so prune runs and has nothing to do.
  std::vector<std::string> daemon_args() override {
    return with_config(R"({"retention": {"max_age_days": 36500}})");
  }

  Answer over_socket(json request) {
    RawConnection conn(daemon_->socket_path());
    request["id"] = 1;
    conn.send_frame(request.dump());
    const std::string reply = conn.read_frame(60000);
    if (reply.empty()) return {false, {{"code", "no answer"}}};
    const json r = json::parse(reply);
    return r.value("ok", false) ? Answer{true, r["result"]} : Answer{false, r["error"]};
  }

  Answer over_http(const std::string& method, const std::string& target, const json& body = nullptr) {
    const auto [status, reply] = admin(method, target, body);
    return status == 200 ? Answer{true, reply} : Answer{false, reply["error"]};
  }

  void must_record(const json& event) {
    const regulars_status s = plugin_.record(client(), event.dump().c_str());
    ASSERT_EQ(s, REGULARS_OK) << plugin_.last_error() << " for " << event.dump();
  }

  // Three customers alike, one with a long history, unhappy feedback twice, a staff idea.
  void seed() {
    for (const char* who : {"c-1", "c-2", "c-3"}) {
      must_record(json::parse(consent(who)));
      for (int visit = 0; visit < 3; ++visit)
        must_record({{"type", "purchase"}, {"customer", json::parse(card(who))},
                     {"lines", {{{"sku", "oat-milk"}, {"name", "Oat milk"}, {"qty", 1}, {"unit_price", 199}}}},
                     {"time", "2026-11-0" + std::to_string(visit + 1) + "T10:00:00Z"}});
    }
    must_record(json::parse(consent("long")));
    for (int visit = 0; visit < 250; ++visit) must_record(json::parse(purchase("long", {"bread"})));
    for (const char* fb : {"fb-1", "fb-2"})
      must_record({{"type", "feedback"}, {"event_id", fb}, {"customer", json::parse(card("c-1"))}, {"nps", 3},
                   {"reasons", {"queue"}}, {"touchpoint", "till"}, {"cashier", "ana"}});
    must_record({{"type", "feedback"}, {"event_id", "fb-3"}, {"csat", 4},  // anonymous
                 {"reasons", {"queue"}}, {"comment", "Waited ages"}, {"touchpoint", "till"}, {"cashier", "ana"}});
    must_record({{"type", "staff_idea"}, {"kind", "idea"}, {"text", "Open a second lane at noon"}, {"cashier", "ana"}});
    for (const char* id : {"idea-a", "idea-b"})  // the owner marks these two seen, one on each transport
      must_record({{"type", "staff_idea"}, {"event_id", id}, {"kind", "problem"}, {"text", "The scale is off"}, {"cashier", "bo"}});
  }

  // Both answers, with fields that differ by nature (ids, times, who asked) taken out.
  static void expect_same(const std::string& what, Answer socket, Answer http, std::initializer_list<const char*> differ = {}) {
    for (Answer* a : {&socket, &http})
      for (const char* key : differ)
        if (a->body.is_object()) a->body.erase(key);
    EXPECT_EQ(socket.ok, http.ok) << what << "\n socket: " << socket.describe() << "\n http:   " << http.describe();
    if (socket.ok) {
      EXPECT_EQ(socket.body, http.body) << what;
    } else {
      EXPECT_EQ(socket.body["code"], http.body["code"]) << what << ": " << http.describe();
      EXPECT_EQ(socket.body["message"], http.body["message"]) << what;
    }
  }

  static json customer(const char* who) { return json::parse(card(who)); }
  std::set<std::string> covered_;
  void covered(const char* op) { covered_.insert(op); }
};

TEST_F(OwnerCommands, EveryCommandAnswersTheSameOnTheSocketAndOverHttp) {
  seed();
  covered("status");
  {
    Answer s = over_socket({{"op", "status"}}), h = over_http("GET", "/v1/status");
    ASSERT_TRUE(s.ok && h.ok) << s.describe() << h.describe();
    ASSERT_TRUE(h.body.contains("pipeline")) << "/v1/status has the write pipeline's figures";
    for (const char* k : {"version", "events", "customers", "items"}) EXPECT_EQ(s.body[k], h.body[k]) << k;
    std::set<std::string> sk, hk;
    for (const auto& [k, _] : s.body["pipeline"].items()) sk.insert(k);
    for (const auto& [k, _] : h.body["pipeline"].items()) hk.insert(k);
    EXPECT_EQ(sk, hk);
  }
  covered("report");
  expect_same("report", over_socket({{"op", "report"}, {"request", {{"by", "cashier"}, {"to", "2030-01-01T00:00:00Z"}}}}),
              over_http("GET", "/v1/reports/satisfaction?by=cashier&to=2030-01-01T00:00:00Z"));
  expect_same("report by nothing", over_socket({{"op", "report"}, {"request", {{"by", "weather"}}}}),
              over_http("GET", "/v1/reports/satisfaction?by=weather"));
  covered("comments");
  expect_same("comments", over_socket({{"op", "comments"}}), over_http("GET", "/v1/comments"));
  expect_same("comments tagged", over_socket({{"op", "comments"}, {"reason", "queue"}, {"from", "2026-01-01T00:00:00Z"}}),
              over_http("GET", "/v1/comments?reason=queue&from=2026-01-01T00:00:00Z"));
  expect_same("comments, bad from", over_socket({{"op", "comments"}, {"from", "yesterday"}}),
              over_http("GET", "/v1/comments?from=yesterday"));
  {
    const Answer h = over_http("GET", "/v1/comments?reason=queue");
    ASSERT_TRUE(h.ok) << h.describe();
    ASSERT_EQ(h.body["items"].size(), 1u) << h.body;
    EXPECT_EQ(h.body["items"][0]["comment"], "Waited ages");
    EXPECT_EQ(h.body["tags"], json::parse(R"([{"tag": "queue", "comments": 1}])"));
    EXPECT_EQ(over_http("GET", "/v1/comments?reason=price").body["items"].size(), 0u);
    // Beside each score, its 95% interval: one CSAT answer says little (Wilson), two detractors
    // out of two leave no doubt about the sign but the interval is still computed, not assumed.
    const Answer r = over_http("GET", "/v1/reports/satisfaction?by=all");
    ASSERT_TRUE(r.ok) << r.describe();
    EXPECT_EQ(r.body["total"]["csat_interval"], json::parse("[20.7, 100.0]")) << r.body["total"];
    EXPECT_EQ(r.body["total"]["nps_interval"], json::parse("[-100.0, -100.0]")) << r.body["total"];
  }
  covered("followups");
  expect_same("followups", over_socket({{"op", "followups"}}), over_http("GET", "/v1/followups"));
  expect_same("followups, bad state", over_socket({{"op", "followups"}, {"state", "lost"}}),
              over_http("GET", "/v1/followups?state=lost"));
  covered("followup");
  expect_same("followup", over_socket({{"op", "followup"}, {"feedback", "fb-1"}, {"state", "contacted"}, {"note", "called"}}),
              over_http("POST", "/v1/followups/fb-2", {{"state", "contacted"}, {"note", "called"}}), {"feedback"});
  expect_same("followup for unknown feedback", over_socket({{"op", "followup"}, {"feedback", "nope"}, {"state", "resolved"}}),
              over_http("POST", "/v1/followups/nope", {{"state", "resolved"}}));
  expect_same("followups after", over_socket({{"op", "followups"}, {"state", "all"}}),
              over_http("GET", "/v1/followups?state=all"));
  covered("ideas");
  expect_same("ideas", over_socket({{"op", "ideas"}}), over_http("GET", "/v1/ideas"));
  expect_same("ideas, limit 0", over_socket({{"op", "ideas"}, {"limit", 0}}), over_http("GET", "/v1/ideas?limit=0"));
  expect_same("ideas, limit text", over_socket({{"op", "ideas"}, {"limit", "many"}}), over_http("GET", "/v1/ideas?limit=many"));
  expect_same("ideas, bad state", over_socket({{"op", "ideas"}, {"state", "lost"}}), over_http("GET", "/v1/ideas?state=lost"));
  covered("idea");
  expect_same("idea", over_socket({{"op", "idea"}, {"idea", "idea-a"}, {"state", "seen"}}),
              over_http("POST", "/v1/ideas/idea-b", {{"state", "seen"}}), {"idea"});
  expect_same("idea, unknown", over_socket({{"op", "idea"}, {"idea", "nope"}, {"state", "done"}}),
              over_http("POST", "/v1/ideas/nope", {{"state", "done"}}));
  expect_same("idea, bad state", over_socket({{"op", "idea"}, {"idea", "idea-a"}, {"state", "later"}}),
              over_http("POST", "/v1/ideas/idea-a", {{"state", "later"}}));
  {
    Answer s = over_socket({{"op", "ideas"}, {"state", "seen"}}), h = over_http("GET", "/v1/ideas?state=seen");
    ASSERT_TRUE(s.ok && h.ok) << s.describe() << h.describe();
    expect_same("ideas seen", s, h);
    EXPECT_EQ(h.body["items"].size(), 2u) << h.body;
    EXPECT_EQ(over_http("GET", "/v1/ideas?state=new").body["items"].size(), 1u) << "the first idea is still new";
  }
  covered("feedback");
  const json web = {{"customer", customer("c-2")}, {"nps", 10}, {"touchpoint", "web"}, {"time", "2026-11-05T10:00:00Z"}};
  json web_1 = web;
  web_1["customer"] = customer("c-1");
  expect_same("feedback", over_socket({{"op", "feedback"}, {"event", web}}), over_http("POST", "/v1/feedback", web_1), {"seq"});
  json no_channel = web;
  no_channel.erase("touchpoint");
  expect_same("feedback without a channel", over_socket({{"op", "feedback"}, {"event", no_channel}}),
              over_http("POST", "/v1/feedback", no_channel));
  covered("journey");
  const Answer long_journey = over_socket({{"op", "journey"}, {"customer", customer("long")}});
  expect_same("journey", long_journey, over_http("POST", "/v1/journey", {{"customer", customer("long")}}));
  EXPECT_EQ(long_journey.body["steps"].size(), 200u) << "one default limit, 200, on both";
  expect_same("journey, limit 5", over_socket({{"op", "journey"}, {"customer", customer("long")}, {"limit", 5}}),
              over_http("POST", "/v1/journey", {{"customer", customer("long")}, {"limit", 5}}));
  expect_same("journey of a stranger", over_socket({{"op", "journey"}, {"customer", customer("nobody")}}),
              over_http("POST", "/v1/journey", {{"customer", customer("nobody")}}));
  covered("export");
  expect_same("export", over_socket({{"op", "export"}, {"customer", customer("c-1")}}),
              over_http("POST", "/v1/customers/export", {{"customer", customer("c-1")}}), {"exported_at"});
  covered("audit");
  expect_same("audit", over_socket({{"op", "audit"}, {"limit", 5}}), over_http("GET", "/v1/audit?limit=5"));
  covered("rebuild");
  expect_same("rebuild", over_socket({{"op", "rebuild"}}), over_http("POST", "/v1/rebuild"));
  covered("erase");
  {
    Answer s = over_socket({{"op", "erase"}, {"customer", customer("c-2")}});
    Answer h = over_http("POST", "/v1/customers/erase", {{"customer", customer("c-3")}});
    ASSERT_TRUE(s.ok && h.ok) << s.describe() << h.describe();
    EXPECT_EQ(s.body["by"].get<std::string>().rfind("uid:", 0), 0u);
    EXPECT_EQ(h.body["by"], "admin-token");
    // c-2 also gave web feedback above: one more feedback event and row than c-3.
    EXPECT_EQ(s.body["erased"]["events"]["feedback"], 1);
    s.body["erased"]["events"].erase("feedback");
    s.body["erased"]["feedback"] = 0;
    expect_same("erase", s, h, {"receipt_id", "erased_at", "by"});
  }
  expect_same("erase again", over_socket({{"op", "erase"}, {"customer", customer("c-2")}}),
              over_http("POST", "/v1/customers/erase", {{"customer", customer("c-2")}}));
  covered("prune");
  expect_same("prune", over_socket({{"op", "prune"}, {"as_of", "2026-12-01T00:00:00Z"}}),
              over_http("POST", "/v1/prune", {{"as_of", "2026-12-01T00:00:00Z"}}));
  expect_same("prune in the future", over_socket({{"op", "prune"}, {"as_of", "2999-01-01T00:00:00Z"}}),
              over_http("POST", "/v1/prune", {{"as_of", "2999-01-01T00:00:00Z"}}));

  covered("gestures");
  const json rule = {{"id", "thanks"}, {"when", {{"visit", {{"nth", 3}}}}}, {"gesture", {{"kind", "message"}, {"message", {{"en", "Thank you!"}}}}}};
  json rule2 = rule;
  rule2["id"] = "thanks-2";
  expect_same("gestures add", over_socket({{"op", "gestures"}, {"request", {{"action", "add"}, {"rule", rule}}}}),
              over_http("POST", "/v1/gestures", rule2), {"added", "rule"});
  expect_same("gestures list", over_socket({{"op", "gestures"}, {"request", {{"action", "list"}}}}), over_http("GET", "/v1/gestures"));
  expect_same("gestures validate", over_socket({{"op", "gestures"}, {"request", {{"action", "validate"}, {"rule", rule}}}}),
              over_http("POST", "/v1/gestures/validate", rule));
  expect_same("gestures disable",
              over_socket({{"op", "gestures"}, {"request", {{"action", "disable"}, {"id", "thanks"}}}}),
              over_http("POST", "/v1/gestures/thanks-2/disable"), {"id"});
  expect_same("gestures dry run",
              over_socket({{"op", "gestures"},
                           {"request", {{"action", "dry_run"}, {"id", "thanks"}, {"days", 30}, {"as_of", "2026-11-10T00:00:00Z"}}}}),
              over_http("POST", "/v1/gestures/dry-run", {{"id", "thanks"}, {"days", 30}, {"as_of", "2026-11-10T00:00:00Z"}}));
  expect_same("gestures roi",
              over_socket({{"op", "gestures"}, {"request", {{"action", "roi"}, {"window_days", 20}, {"as_of", "2026-11-10T00:00:00Z"}}}}),
              over_http("GET", "/v1/gestures/roi?window_days=20&as_of=2026-11-10T00:00:00Z"));
  expect_same("gestures enable of an unknown rule",
              over_socket({{"op", "gestures"}, {"request", {{"action", "enable"}, {"id", "nope"}}}}),
              over_http("POST", "/v1/gestures/nope/enable"));

  covered("tokens");
  Answer issued_s = over_socket({{"op", "tokens"}, {"request", {{"action", "issue"}, {"terminal", "lane-a"}}}});
  Answer issued_h = over_http("POST", "/v1/tokens", {{"terminal", "lane-b"}});
  ASSERT_TRUE(issued_s.ok && issued_h.ok) << issued_s.describe() << issued_h.describe();
  expect_same("tokens issue", issued_s, issued_h, {"token_id", "terminal", "token", "created"});
  expect_same("tokens list", over_socket({{"op", "tokens"}, {"request", {{"action", "list"}}}}), over_http("GET", "/v1/tokens"));
  expect_same("tokens revoke",
              over_socket({{"op", "tokens"}, {"request", {{"action", "revoke"}, {"token_id", issued_s.body["token_id"]}}}}),
              over_http("POST", "/v1/tokens/" + issued_h.body["token_id"].get<std::string>() + "/revoke"), {"token_id"});
  expect_same("tokens revoke again",
              over_socket({{"op", "tokens"}, {"request", {{"action", "revoke"}, {"token_id", issued_s.body["token_id"]}}}}),
              over_http("POST", "/v1/tokens/" + issued_s.body["token_id"].get<std::string>() + "/revoke"));

  covered("today");
  {
    Answer s = over_socket({{"op", "today"}}), h = over_http("GET", "/v1/today");
    ASSERT_TRUE(s.ok && h.ok) << s.describe() << h.describe();
    expect_same("today", s, h);
    EXPECT_EQ(h.body["followups"]["open"], 0) << "both unhappy answers were moved along above";
    EXPECT_EQ(h.body["ideas"]["new"], 1) << "the staff idea seeded today is new";
    EXPECT_EQ(h.body["visits"]["total"], 250) << "the long history's purchases are stamped now";
  }

  covered("dashboard");
  {
    Answer s = over_socket({{"op", "dashboard"}, {"request", {{"action", "link"}}}});
    Answer h = over_http("POST", "/v1/dashboard/links");
    ASSERT_TRUE(s.ok && h.ok) << s.describe() << h.describe();
    EXPECT_NE(s.body["path"], h.body["path"]) << "every link is new";
    EXPECT_EQ(h.body["path"].get<std::string>().rfind("/dashboard/link#", 0), 0u);
    expect_same("dashboard link", s, h, {"path"});
  }
  expect_same("dashboard sign out all", over_socket({{"op", "dashboard"}, {"request", {{"action", "sign_out_all"}}}}),
              over_http("POST", "/v1/dashboard/sign-out-all"));

  covered("chain");
  {
    Answer s = over_socket({{"op", "chain"}}), h = over_http("GET", "/v1/chain");
    ASSERT_TRUE(s.ok && h.ok) << s.describe() << h.describe();
    expect_same("chain", s, h);
    EXPECT_FALSE(h.body["configured"].get<bool>()) << "this store is in no chain";
  }

  // A command added to the table without a case here fails this test.
  for (const auto& command : daemon::owner::commands())
    EXPECT_TRUE(covered_.count(std::string(command.name))) << command.name << " is not compared on both transports";
}

// The same refusals for a field a command does not take, and for a till asking an owner's command.
TEST_F(OwnerCommands, UnknownFieldsAndUnknownOpsAreRefusedAlike) {
  const Answer s = over_socket({{"op", "journey"}, {"customer", customer("c-1")}, {"colour", "red"}});
  const Answer h = over_http("POST", "/v1/journey", {{"customer", customer("c-1")}, {"colour", "red"}});
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.body["field"], "colour");
  EXPECT_EQ(h.body["field"], "body.colour");
  expect_same("unknown field", s, h);
  const Answer unknown = over_socket({{"op", "weather"}});
  EXPECT_EQ(unknown.body["code"], "unknown_op");
  for (const auto& command : daemon::owner::commands())
    EXPECT_NE(unknown.body["message"].get<std::string>().find(std::string(command.name)), std::string::npos)
        << "the unknown-op message lists " << command.name;
}

}  // namespace
}  // namespace regulars::test
