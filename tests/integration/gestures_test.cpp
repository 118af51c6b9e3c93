// Loyalty gestures through the real daemon, plugin and regularsctl: the chips story, a daily cap
// under eight concurrent tills, the control group, invalid rules, and the dry run and ROI report
// against scenarios computed by hand.
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "fixture.hpp"

namespace regulars::test {
namespace {

json phone(const std::string& value) { return {{"kind", "phone"}, {"value", value}}; }
json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }

class Gestures : public DaemonTest {
 protected:
  void SetUp() override {
    // Day counters follow the daemon's local calendar; pin it so the scenarios' days are exact.
    ::setenv("TZ", "UTC", 1);
    DaemonTest::SetUp();
  }
  // The scenarios play out on other days than today: let the requests' own time count for the
  // limits (by default only within 15 minutes of the daemon's clock), and take events dated in
  // the days ahead (by default at most 300 s ahead, limits.max_future_seconds).
  std::vector<std::string> daemon_args() override {
    return with_config(R"({ "gestures": { "max_clock_skew_minutes": 5256000 }, "limits": { "max_future_seconds": 315360000 } })");
  }
  regulars_status record(regulars_client* c, const json& event) { return plugin_.record(c, event.dump().c_str()); }
  void must_record(const json& event) {
    ASSERT_EQ(record(client(), event), REGULARS_OK) << plugin_.last_error() << "\n" << event.dump();
  }
  void consent(const json& who, const std::string& time) {
    must_record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}, {"time", time}});
  }
  void buy(const json& who, const std::string& time, const json& lines) {
    must_record({{"type", "purchase"}, {"customer", who}, {"time", time}, {"lines", lines}});
  }
  // Adds a rule with the real regularsctl, from a file.
  void add_rule(const json& rule) {
    const std::string file = dir_.sub("rule-" + rule["id"].get<std::string>() + ".json");
    std::ofstream(file) << rule.dump(2);
    std::string out;
    ASSERT_EQ(ctl("gestures add " + file, out), 0) << out;
  }
  json ctl_json(const std::string& args) {
    std::string out;
    EXPECT_EQ(ctl(args + " --json", out), 0) << out;
    return json::parse(out);
  }
  long long count(const std::string& sql) { return StoreFile(daemon_->db_path()).count(sql); }
  // Offers are logged asynchronously after the answer; wait for the log to catch up.
  long long wait_count(const std::string& sql, long long expected) {
    long long n = -1;
    for (int i = 0; i < 200 && (n = count(sql)) != expected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    return n;
  }
};

const json kChipsRule = json::parse(R"({
  "id": "chips-for-the-kids", "name": "Free chips for the child",
  "when": {"all": [{"bought": {"category": "chips", "member": "any"}},
                   {"not": {"in_basket": {"category": "chips"}}}]},
  "gesture": {"kind": "free_item", "favourite": {"category": "chips", "member": "any"}, "value": 150,
              "message": {"en": "A free pack of {item} for {member|the family}, on the house!",
                          "fa": "یک بسته {item} رایگان برای {member|خانواده}، مهمان ما!"}},
  "limits": {"cooldown_days": 30}
})");

// A customer who asked never to be offered anything ("offer" among the topics not to mention)
// gets no offer: not in the answer's offers, not as a hint, and none is counted.
TEST_F(Gestures, ACustomerWhoAskedForNoOffersIsOfferedNothing) {
  add_rule(kChipsRule);
  const json mum = phone("+98 912 555 0102");
  consent(mum, "2026-11-02T10:00:00Z");
  buy(mum, "2026-11-02T10:05:00Z",
      {{{"sku", "sv-chips"}, {"name", "Salt & vinegar chips"}, {"category", "chips"}, {"for", "son"}, {"qty", 1}, {"unit_price", 150}}});
  must_record({{"type", "profile"}, {"customer", mum}, {"do_not_mention", {"offer"}}, {"time", "2026-11-02T10:06:00Z"}});
  const json answer = ask(mum, {{"time", "2026-11-09T17:30:00Z"}, {"locale", "en"}, {"basket", {{{"sku", "bread"}}}}});
  EXPECT_TRUE(answer["offers"].empty()) << answer.dump(2);
  EXPECT_EQ(find_hint(answer, "offer"), nullptr);
  EXPECT_EQ(wait_count("SELECT count(*) FROM offers", 0), 0);
}

TEST_F(Gestures, ChipsForTheSonOnTheNextVisitOncePerThirtyDays) {
  add_rule(kChipsRule);
  const json mum = phone("+98 912 555 0101");
  // Visit 1: consent, and salt & vinegar chips bought "for" her son. Nothing to offer yet.
  consent(mum, "2026-11-02T10:00:00Z");
  json first = ask(mum, {{"time", "2026-11-02T10:01:00Z"}, {"locale", "en"}});
  EXPECT_TRUE(first["offers"].empty()) << first.dump(2);
  buy(mum, "2026-11-02T10:05:00Z",
      {{{"sku", "sv-chips"}, {"name", "Salt & vinegar chips"}, {"category", "chips"}, {"for", "son"}, {"qty", 1}, {"unit_price", 150}},
       {{"sku", "milk"}, {"name", "Milk"}, {"category", "dairy"}, {"qty", 1}, {"unit_price", 120}}});

  // Visit 2, a week later, alone; bread on the belt, no chips. The offer is there, in Persian.
  const json basket = {{{"sku", "bread"}}};
  json second = ask(mum, {{"time", "2026-11-09T17:30:00Z"}, {"locale", "fa"}, {"basket", basket}});
  ASSERT_EQ(second["offers"].size(), 1u) << second.dump(2);
  const json offer = second["offers"][0];
  EXPECT_EQ(offer["rule"], "chips-for-the-kids");
  EXPECT_EQ(offer["kind"], "free_item");
  EXPECT_EQ(offer["sku"], "sv-chips");
  EXPECT_EQ(offer["member"], "son");
  EXPECT_EQ(offer["text"], "یک بسته \u2068Salt & vinegar chips\u2069 رایگان برای \u2068son\u2069، مهمان ما!");
  const json* hint = find_hint(second, "offer");
  ASSERT_NE(hint, nullptr) << second.dump(2);
  EXPECT_EQ((*hint)["text"], offer["text"]);
  // The till asks again while scanning: the same offer, not a second one.
  json again = ask(mum, {{"time", "2026-11-09T17:31:00Z"}, {"locale", "en"}, {"basket", basket}});
  ASSERT_EQ(again["offers"].size(), 1u);
  EXPECT_EQ(again["offers"][0]["offer_id"], offer["offer_id"]);
  EXPECT_EQ(again["offers"][0]["text"], "A free pack of Salt & vinegar chips for son, on the house!");

  // The cashier accepts; the visit is paid.
  must_record({{"type", "offer_outcome"}, {"offer_id", offer["offer_id"]}, {"outcome", "accepted"}, {"time", "2026-11-09T17:32:00Z"}});
  buy(mum, "2026-11-09T17:33:00Z", {{{"sku", "bread"}, {"qty", 1}, {"unit_price", 250}}});
  EXPECT_EQ(wait_count("SELECT count(*) FROM offers WHERE status='accepted'", 1), 1);

  // Visit 3, within 30 days of the offer: no second one.
  json third = ask(mum, {{"time", "2026-11-20T09:00:00Z"}, {"locale", "en"}, {"basket", basket}});
  EXPECT_TRUE(third["offers"].empty()) << third.dump(2);
  // 31 days after the offer the rule may give again.
  json later = ask(mum, {{"time", "2026-12-11T09:00:00Z"}, {"locale", "en"}, {"basket", basket}});
  EXPECT_EQ(later["offers"].size(), 1u) << later.dump(2);
  // Scanning the free chips during that visit keeps the accepted offer on the screen.
  const json scanned = ask(mum, {{"time", "2026-12-11T09:02:00Z"}, {"basket", {{{"sku", "bread"}}, {{"sku", "sv-chips"}}}}});
  ASSERT_EQ(scanned["offers"].size(), 1u) << scanned.dump(2);
  EXPECT_EQ(scanned["offers"][0]["offer_id"], later["offers"][0]["offer_id"]);
  // A basket with chips in it gets nothing: she is buying them anyway.
  must_record({{"type", "purchase"}, {"customer", mum}, {"time", "2026-12-11T09:05:00Z"},
               {"lines", {{{"sku", "bread"}, {"qty", 1}, {"unit_price", 250}}}}});
  json with_chips = ask(mum, {{"time", "2027-02-11T09:00:00Z"}, {"basket", {{{"sku", "sv-chips"}}}}});
  EXPECT_TRUE(with_chips["offers"].empty()) << with_chips.dump(2);

  // A rebuild reproduces the offers from the log, outcomes included.
  std::string out;
  EXPECT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_EQ(count("SELECT count(*) FROM offers WHERE status='accepted'"), 1);
  // No raw identifier in the offer events.
  // The phone's digits, not '912' alone, which a random event id holds now and then.
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE body LIKE '%5550101%' OR body LIKE '%+98 912%'"), 0);
}

TEST_F(Gestures, LimitsSurviveAnErasureAndARebuild) {
  add_rule(json::parse(R"({"id": "coffee-thanks", "when": {"bought": {"sku": "coffee"}},
                          "gesture": {"kind": "discount", "amount": 50}, "limits": {"cooldown_days": 30}})"));
  // The first customer enrolled is erased; a rebuild keeps everyone else's id (schema v14).
  consent(card("early-bird"), "2026-11-01T08:00:00Z");
  buy(card("early-bird"), "2026-11-01T08:01:00Z", {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 300}}});
  consent(card("regular"), "2026-11-02T08:00:00Z");
  buy(card("regular"), "2026-11-02T08:01:00Z", {{{"sku", "coffee"}, {"qty", 1}, {"unit_price", 300}}});
  ASSERT_EQ(ask(card("regular"), {{"time", "2026-11-10T09:00:00Z"}})["offers"].size(), 1u);
  const long long before = count("SELECT id FROM customers WHERE visits=1 AND id=(SELECT max(id) FROM customers)");
  std::string out;
  ASSERT_EQ(ctl("erase --kind card --value early-bird", out), 0) << out;
  ctl("rebuild", out);  // differs (the erased baskets leave the store's anonymous counts)
  EXPECT_EQ(count("SELECT max(id) FROM customers"), before) << "the regular keeps their id";
  const auto customers_line = out.find("  customers ");
  ASSERT_NE(customers_line, std::string::npos) << out;
  EXPECT_NE(out.substr(customers_line, out.find('\n', customers_line) - customers_line).find("identical"), std::string::npos)
      << out;
  // Still within the 30-day cooldown.
  const json after = ask(card("regular"), {{"time", "2026-11-12T09:00:00Z"}});
  EXPECT_TRUE(after["offers"].empty()) << after.dump(2);
  EXPECT_EQ(ask(card("regular"), {{"time", "2026-12-11T09:00:00Z"}})["offers"].size(), 1u) << "and it ends when it should";
}

TEST_F(Gestures, EightTillsShareADailyCapOfTen) {
  add_rule(json::parse(R"({"id": "coffee-thanks", "when": {"bought": {"sku": "coffee"}},
                          "gesture": {"kind": "discount", "amount": 50}, "limits": {"per_day": 10}})"));
  constexpr int kCustomers = 40;
  for (int i = 0; i < kCustomers; ++i) {
    consent(card("cap-" + std::to_string(i)), "2026-11-20T08:00:00Z");
    buy(card("cap-" + std::to_string(i)), "2026-11-20T08:01:00Z", {{{"sku", "coffee"}, {"qty", 1}, {"unit_price", 300}}});
  }
  std::mutex mu;
  std::set<std::string> offer_ids;
  std::set<int> offered;
  int answered = 0;
  std::vector<std::thread> tills;
  for (int t = 0; t < 8; ++t) {
    tills.emplace_back([&, t] {
      regulars_client* c = nullptr;
      json o = json::parse(options(2000));
      o["terminal"] = "lane-" + std::to_string(t);
      if (plugin_.open(o.dump().c_str(), &c) != REGULARS_OK) return;
      for (int i = t; i < kCustomers; i += 8) {
        const json req = {{"customer", card("cap-" + std::to_string(i))}, {"time", "2026-11-21T11:00:00Z"}};
        regulars_status s;
        const std::string text = plugin_.hints_text(c, req.dump(), s);
        if (s != REGULARS_OK) continue;
        const json a = json::parse(text);
        std::lock_guard lock(mu);
        ++answered;
        for (const auto& offer : a["offers"]) {
          offer_ids.insert(offer["offer_id"].get<std::string>());
          offered.insert(i);
        }
      }
      plugin_.close(c);
    });
  }
  for (auto& t : tills) t.join();
  EXPECT_EQ(answered, kCustomers);
  EXPECT_EQ(offer_ids.size(), 10u);
  EXPECT_EQ(wait_count("SELECT count(*) FROM offers WHERE rule_id='coffee-thanks'", 10), 10);
  // The next day the cap starts again: one who got nothing yesterday gets the offer now.
  int waiting = 0;
  while (offered.count(waiting)) ++waiting;
  const json next_day = ask(card("cap-" + std::to_string(waiting)), {{"time", "2026-11-22T09:00:00Z"}});
  EXPECT_EQ(next_day["offers"].size(), 1u) << next_day.dump(2);
}

TEST_F(Gestures, ControlGroupIsDeterministicAndNeverSeesTheOffer) {
  add_rule(json::parse(R"({"id": "welcome-gift", "when": {"segment": "new"},
                          "gesture": {"kind": "task", "task": {"en": "Offer a tasting of the new coffee"}},
                          "holdout": 0.2})"));
  constexpr int kCustomers = 1000;
  for (int i = 0; i < kCustomers; ++i) consent(card("h-" + std::to_string(i)), "2026-11-20T08:00:00Z");
  std::set<int> shown, not_shown;
  for (int i = 0; i < kCustomers; ++i) {
    const json a = ask(card("h-" + std::to_string(i)), {{"time", "2026-11-21T10:00:00Z"}});
    (a["offers"].empty() ? not_shown : shown).insert(i);
  }
  const long long held = wait_count("SELECT count(*) FROM offers WHERE status='held_out'", static_cast<long long>(not_shown.size()));
  EXPECT_GE(held, 170);
  EXPECT_LE(held, 230);
  EXPECT_EQ(held, static_cast<long long>(not_shown.size()));
  EXPECT_EQ(wait_count("SELECT count(*) FROM offers WHERE status='offered'", static_cast<long long>(shown.size())), static_cast<long long>(shown.size()));
  // Two days later (a new decision for everyone: no cooldown): the same customers are held out,
  // and still never shown the gesture.
  for (int i = 0; i < kCustomers; ++i) {
    const json a = ask(card("h-" + std::to_string(i)), {{"time", "2026-11-23T10:00:00Z"}});
    EXPECT_EQ(a["offers"].empty(), not_shown.count(i) == 1) << "customer h-" << i;
  }
  EXPECT_EQ(wait_count("SELECT count(*) FROM offers WHERE status='held_out'", 2 * held), 2 * held);
  // And after a restart, which reloads everything from the store.
  daemon_->stop();
  daemon_->start();
  for (regulars_client* c : clients_) plugin_.close(c);
  clients_.clear();
  client_ = nullptr;
  for (int i = 0; i < 50; ++i) {
    const json a = ask(card("h-" + std::to_string(i)), {{"time", "2026-11-25T10:00:00Z"}});
    EXPECT_EQ(a["offers"].empty(), not_shown.count(i) == 1) << "customer h-" << i;
  }
}

TEST_F(Gestures, InvalidRulesAreRefusedNamingTheFieldAndExistingRulesKeepWorking) {
  add_rule(json::parse(R"({"id": "coffee-thanks", "when": {"bought": {"sku": "coffee"}},
                          "gesture": {"kind": "discount", "amount": 50}})"));
  consent(card("valid-1"), "2026-11-20T08:00:00Z");
  buy(card("valid-1"), "2026-11-20T08:01:00Z", {{{"sku", "coffee"}, {"qty", 1}, {"unit_price", 300}}});
  const json before = admin("GET", "/v1/gestures").second;

  auto base = [] {
    return json::parse(R"({"id": "bad", "when": {"visit": {"nth": 2}}, "gesture": {"kind": "discount", "amount": 50}})");
  };
  struct Case {
    std::string what;
    json rule;
    std::string field;
  };
  std::vector<Case> cases;
  {
    json r = base();
    r["when"] = {{"weather", "sunny"}};
    cases.push_back({"unknown condition", r, "rule.when.weather"});
  }
  {
    json r = base();
    r["limits"] = {{"per_day", "10"}};
    cases.push_back({"wrong type", r, "rule.limits.per_day"});
  }
  {
    json r = base();
    r["holdout"] = true;
    cases.push_back({"wrong type (holdout)", r, "rule.holdout"});
  }
  {
    json r = base();
    r["limits"] = {{"monthly_budget", -500}};
    cases.push_back({"negative budget", r, "rule.limits.monthly_budget"});
  }
  {
    json r = base();
    r["when"] = {{"time", {{"hours", {{"from", "10:00"}, {"to", "10:00"}}}}}};
    cases.push_back({"empty time window", r, "rule.when.time.hours"});
  }
  {
    json r = base();
    r["when"] = {{"time", {{"dates", {{"from", "2026-12-24"}, {"to", "2026-12-01"}}}}}};
    cases.push_back({"dates the wrong way round", r, "rule.when.time.dates"});
  }
  for (const auto& c : cases) {
    const auto [status, body] = admin("POST", "/v1/gestures", c.rule);
    EXPECT_EQ(status, 400) << c.what << ": " << body.dump();
    EXPECT_EQ(body["error"]["code"], "invalid_rule") << c.what << ": " << body.dump();
    EXPECT_EQ(body["error"].value("field", "").rfind(c.field, 0), 0u) << c.what << ": " << body.dump();
    // The same through regularsctl: refused with the field, before anything reaches the daemon.
    const std::string file = dir_.sub("bad.json");
    std::ofstream(file) << c.rule.dump();
    std::string out;
    EXPECT_NE(ctl("gestures add " + file, out), 0) << c.what;
    EXPECT_NE(out.find(c.field), std::string::npos) << c.what << ": " << out;
  }
  // A 10 MB rule: refused by its size, naming the body (HTTP) and the rule (regularsctl).
  json huge = base();
  huge["name"] = std::string(10 << 20, 'x');
  const auto [status, body] = admin("POST", "/v1/gestures", huge);
  EXPECT_EQ(status, 413) << body.dump();
  EXPECT_EQ(body["error"]["field"], "body");
  {
    const std::string file = dir_.sub("huge.json");
    std::ofstream(file) << huge.dump();
    std::string out;
    EXPECT_NE(ctl("gestures add " + file, out), 0);
    EXPECT_NE(out.find("invalid_rule: rule:"), std::string::npos) << out.substr(0, 300);
  }
  // Nothing changed: the one good rule, as before, and it still gives its offer.
  EXPECT_EQ(admin("GET", "/v1/gestures").second, before);
  EXPECT_EQ(before["rules"].size(), 1u);
  const json a = ask(card("valid-1"), {{"time", "2026-11-21T10:00:00Z"}});
  ASSERT_EQ(a["offers"].size(), 1u) << a.dump(2);
  EXPECT_EQ(a["offers"][0]["rule"], "coffee-thanks");
  // And the daemon still serves records.
  buy(card("valid-1"), "2026-11-21T10:05:00Z", {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 200}}});
}

TEST_F(Gestures, DryRunMatchesAHandComputation) {
  // As of 2026-11-23T12:00Z, over the last 30 days (from 2026-10-24T12:00Z). The rule: a coffee
  // buyer (2+ visits with coffee before this one) gets 1.00 off; at most 1 per day, and not
  // again within 10 days.
  const json rule = json::parse(R"({"id": "coffee-regular", "when": {"bought": {"sku": "coffee", "min_times": 2}},
      "gesture": {"kind": "discount", "amount": 100}, "limits": {"cooldown_days": 10, "per_day": 1}})");
  const json coffee = {{{"sku", "coffee"}, {"qty", 1}, {"unit_price", 300}}};
  const json a = card("dry-a"), b = card("dry-b"), c = card("dry-c");
  for (const auto& who : {a, b, c}) consent(who, "2026-09-01T09:00:00Z");
  // A: 10-14 (before the window), 11-03, 11-08 10:00, 11-11, 11-21.
  //   11-03: one coffee visit before -> no. 11-08: two -> OFFER 1. 11-11: eligible, but 3 days
  //   after the offer (cooldown) -> no. 11-21: eligible, 13 days after -> OFFER 2.
  for (const char* t : {"2026-10-14T10:00:00Z", "2026-11-03T10:00:00Z", "2026-11-08T10:00:00Z", "2026-11-11T10:00:00Z",
                        "2026-11-21T10:00:00Z"})
    buy(a, t, coffee);
  // B: 10-29 (no), 11-08 (one before: no), 11-09 (two before) -> OFFER 3.
  for (const char* t : {"2026-10-29T10:00:00Z", "2026-11-08T09:00:00Z", "2026-11-09T10:00:00Z"}) buy(b, t, coffee);
  // C: 11-06 (no), 11-07 (no), 11-08 11:00 (eligible; A took the day's one offer at 10:00) -> capped.
  for (const char* t : {"2026-11-06T10:00:00Z", "2026-11-07T10:00:00Z", "2026-11-08T11:00:00Z"}) buy(c, t, coffee);
  // Purchases in the window: A 4, B 3, C 3 = 10. Eligible visits: A 3, B 1, C 1 = 5.
  // Offers 3 to 2 customers (A twice, B once), 1 capped, none held out, cost 3 x 100 = 300.
  const std::string file = dir_.sub("coffee-regular.json");
  std::ofstream(file) << rule.dump();
  const json r = ctl_json("gestures dry-run --file " + file + " --days 30 --as-of 2026-11-23T12:00:00Z");
  EXPECT_EQ(r["purchases"], 10) << r.dump(2);
  EXPECT_EQ(r["eligible_visits"], 5);
  EXPECT_EQ(r["offers"], 3);
  EXPECT_EQ(r["customers"], 2);
  EXPECT_EQ(r["capped"], 1);
  EXPECT_EQ(r["held_out"], 0);
  EXPECT_EQ(r["cost"], 300);
  EXPECT_EQ(r["offers_per_customer"], json({{"1", 1}, {"2", 1}}));
  EXPECT_EQ(r["per_day"], json::parse(R"([{"date": "2026-11-08", "offers": 1}, {"date": "2026-11-09", "offers": 1},
                                          {"date": "2026-11-21", "offers": 1}])"));
  // A dry run changes nothing: no rule stored, no offer made.
  EXPECT_EQ(count("SELECT count(*) FROM gesture_rules"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM offers"), 0);
  // The text form names the same figures.
  std::string out;
  ASSERT_EQ(ctl("gestures dry-run --file " + file + " --days 30 --as-of 2026-11-23T12:00:00Z", out), 0) << out;
  EXPECT_NE(out.find("offers                    3 to 2 customers"), std::string::npos) << out;
  EXPECT_NE(out.find("cost at most              3.00"), std::string::npos) << out;
}

TEST_F(Gestures, RoiReportMatchesAHandComputation) {
  // Six bread buyers, enrolled in this order (customer ids 1..6). At T0 = 2026-10-01T10:00Z each
  // asks for hints; the rule holds half of them out. What each buys afterwards is fixed below, so
  // the report can be computed by hand once the groups are known.
  add_rule(json::parse(R"({"id": "bread-gift", "when": {"bought": {"sku": "bread"}},
                          "gesture": {"kind": "discount", "amount": 100}, "limits": {"cooldown_days": 365},
                          "holdout": 0.5})"));
  auto line = [](int price) { return json::array({{{"sku", "bread"}, {"qty", 1}, {"unit_price", price}}}); };
  std::vector<json> people;
  for (int i = 1; i <= 6; ++i) {
    people.push_back(card("roi-" + std::to_string(i)));
    consent(people.back(), "2026-09-01T09:00:00Z");
    buy(people.back(), "2026-09-30T10:00:00Z", line(250));
  }
  std::vector<std::string> offer_of(7);
  for (int i = 1; i <= 6; ++i) {
    const json a = ask(people[i - 1], {{"time", "2026-10-01T10:00:00Z"}});
    if (!a["offers"].empty()) offer_of[i] = a["offers"][0]["offer_id"].get<std::string>();
  }
  // The hold-out draw is a fixed function of the rule id and the customer id: customers 1, 2 and
  // 5 are held out for "bread-gift". The figures below assume exactly that split.
  std::string split;
  for (int i = 1; i <= 6; ++i) split += offer_of[i].empty() ? 'H' : 'O';
  ASSERT_EQ(split, "HHOOHO") << "the hand computation below assumes customers 1, 2, 5 held out";
  // Offered: 3 accepts, 4 accepts then redeems, 6 declines.
  must_record({{"type", "offer_outcome"}, {"offer_id", offer_of[3]}, {"outcome", "accepted"}, {"time", "2026-10-01T10:01:00Z"}});
  must_record({{"type", "offer_outcome"}, {"offer_id", offer_of[4]}, {"outcome", "accepted"}, {"time", "2026-10-01T10:01:00Z"}});
  must_record({{"type", "offer_outcome"}, {"offer_id", offer_of[4]}, {"outcome", "redeemed"}, {"time", "2026-10-01T10:02:00Z"}});
  must_record({{"type", "offer_outcome"}, {"offer_id", offer_of[6]}, {"outcome", "declined"}, {"time", "2026-10-01T10:01:00Z"}});
  // Every customer pays for the visit the offer was made at (not "afterwards"), then:
  //   1 (held out): 10-04 500, 10-11 700          -> 2 visits, 1200
  //   2 (held out): 10-21 300                     -> 1, 300
  //   3 (offered):  none                          -> 0, 0
  //   4 (offered):  11-05 900 (day 35: too late)  -> 0, 0
  //   5 (held out): 10-30 1000 (day 29)           -> 1, 1000
  //   6 (offered):  10-02 400, 10-03 400          -> 2, 800
  for (int i = 1; i <= 6; ++i) buy(people[i - 1], "2026-10-01T10:05:00Z", line(1000));
  buy(people[0], "2026-10-04T10:00:00Z", line(500));
  buy(people[0], "2026-10-11T10:00:00Z", line(700));
  buy(people[1], "2026-10-21T10:00:00Z", line(300));
  buy(people[3], "2026-11-05T10:00:00Z", line(900));
  buy(people[4], "2026-10-30T10:00:00Z", line(1000));
  buy(people[5], "2026-10-02T10:00:00Z", line(400));
  buy(people[5], "2026-10-03T10:00:00Z", line(400));
  wait_count("SELECT count(*) FROM offers WHERE status IN ('accepted','redeemed','declined')", 3);

  const json report = ctl_json("gestures roi bread-gift --as-of 2026-11-23T12:00:00Z");
  ASSERT_EQ(report["rules"].size(), 1u) << report.dump(2);
  const json& r = report["rules"][0];
  // Offered (3, 4, 6): returned 1 of 3; visits (0, 0, 2) mean 2/3; spend (0, 0, 800) mean 266.67.
  // Held out (1, 2, 5): returned 3 of 3; visits (2, 1, 1) mean 4/3; spend (1200, 300, 1000) 833.33.
  EXPECT_EQ(r["offers"], 3);
  EXPECT_EQ(r["outcomes"], json({{"offered", 0}, {"accepted", 1}, {"declined", 1}, {"redeemed", 1}, {"held_out", 3}}));
  EXPECT_EQ(r["cost"], 200);  // accepted (3) and redeemed (4); the declined one cost nothing
  EXPECT_EQ(r["offered"]["customers"], 3);
  EXPECT_EQ(r["offered"]["followed"], 3);
  EXPECT_EQ(r["offered"]["returned"], 1);
  EXPECT_DOUBLE_EQ(r["offered"]["return_rate"].get<double>(), 0.3333);
  EXPECT_DOUBLE_EQ(r["offered"]["visits_per_customer"].get<double>(), 0.6667);
  EXPECT_DOUBLE_EQ(r["offered"]["spend_per_customer"].get<double>(), 266.6667);
  EXPECT_EQ(r["held_out"]["returned"], 3);
  EXPECT_DOUBLE_EQ(r["held_out"]["return_rate"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["held_out"]["visits_per_customer"].get<double>(), 1.3333);
  EXPECT_DOUBLE_EQ(r["held_out"]["spend_per_customer"].get<double>(), 833.3333);
  // Return rate: 1/3 - 1 = -0.6667; Wald SE = sqrt((1/3)(2/3)/3 + 0) = 0.27217; +-1.96 SE.
  EXPECT_DOUBLE_EQ(r["difference"]["return_rate"]["difference"].get<double>(), -0.6667);
  EXPECT_DOUBLE_EQ(r["difference"]["return_rate"]["ci95"][0].get<double>(), -1.2001);
  EXPECT_DOUBLE_EQ(r["difference"]["return_rate"]["ci95"][1].get<double>(), -0.1332);
  // Visits: 2/3 - 4/3 = -0.6667; variances 4/3 (offered) and 1/3 (held out), SE = sqrt(5/9) = 0.74536.
  EXPECT_DOUBLE_EQ(r["difference"]["visits_per_customer"]["difference"].get<double>(), -0.6667);
  EXPECT_DOUBLE_EQ(r["difference"]["visits_per_customer"]["ci95"][0].get<double>(), -2.1276);
  EXPECT_DOUBLE_EQ(r["difference"]["visits_per_customer"]["ci95"][1].get<double>(), 0.7942);
  // Spend: 266.67 - 833.33 = -566.67; variances 213333.33 and 223333.33, SE = sqrt(145555.56) = 381.5174.
  EXPECT_DOUBLE_EQ(r["difference"]["spend_per_customer"]["difference"].get<double>(), -566.6667);
  EXPECT_DOUBLE_EQ(r["difference"]["spend_per_customer"]["ci95"][0].get<double>(), -1314.4408);
  EXPECT_DOUBLE_EQ(r["difference"]["spend_per_customer"]["ci95"][1].get<double>(), 181.1075);
  // Cost per offered customer 200 / 3 = 66.67; net -566.67 - 66.67 = -633.33.
  EXPECT_DOUBLE_EQ(r["cost_per_offered_customer"].get<double>(), 66.6667);
  EXPECT_DOUBLE_EQ(r["net_spend_per_offered_customer"].get<double>(), -633.3333);
  // The admin API returns the same report as JSON.
  const auto [status, body] = admin("GET", "/v1/gestures/roi?rule=bread-gift&as_of=2026-11-23T12:00:00Z");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, report);
}

// A decline gives a gesture's cost back to the budget once. After a restart (which reloads the
// offers from the store), a second decline of the same offer, sent with another event id (a
// double tap on another lane), gives nothing back again.
TEST_F(Gestures, ASecondDeclineAfterARestartGivesNothingBack) {
  add_rule(json::parse(R"({"id": "one-a-month", "when": {"bought": {"sku": "tea"}},
                          "gesture": {"kind": "free_item", "sku": "biscuits", "value": 100},
                          "limits": {"monthly_budget": 100, "cooldown_days": 60}})"));
  const json tea = {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 300}}};
  for (const char* who : {"twice-a", "twice-b", "twice-c"}) {
    consent(card(who), "2026-11-01T08:00:00Z");
    buy(card(who), "2026-11-01T08:01:00Z", tea);
  }
  const json a = ask(card("twice-a"), {{"time", "2026-11-05T10:00:00Z"}});
  ASSERT_EQ(a["offers"].size(), 1u) << a.dump(2);
  must_record({{"type", "offer_outcome"}, {"offer_id", a["offers"][0]["offer_id"]}, {"outcome", "declined"}});
  EXPECT_EQ(wait_count("SELECT count(*) FROM offers WHERE status='declined'", 1), 1);
  daemon_->stop();
  daemon_->start();
  for (regulars_client* c : clients_) plugin_.close(c);
  clients_.clear();
  client_ = nullptr;
  must_record({{"type", "offer_outcome"}, {"offer_id", a["offers"][0]["offer_id"]}, {"outcome", "declined"}});
  const json b = ask(card("twice-b"), {{"time", "2026-11-05T10:10:00Z"}});
  ASSERT_EQ(b["offers"].size(), 1u) << "the first decline gave the budget back: " << b.dump(2);
  const json c = ask(card("twice-c"), {{"time", "2026-11-05T10:15:00Z"}});
  EXPECT_TRUE(c["offers"].empty()) << "the second decline gave it back again: " << c.dump(2);
}

TEST_F(Gestures, BudgetDeclinesMergesAndDoNotMention) {
  // A monthly budget of one gesture: a decline gives it back, and a decline is final.
  add_rule(json::parse(R"({"id": "one-a-month", "when": {"bought": {"sku": "tea"}},
                          "gesture": {"kind": "free_item", "sku": "biscuits", "value": 100},
                          "limits": {"monthly_budget": 100, "cooldown_days": 60}})"));
  const json tea = {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 300}}};
  for (const char* who : {"bud-a", "bud-b", "bud-c"}) {
    consent(card(who), "2026-11-01T08:00:00Z");
    buy(card(who), "2026-11-01T08:01:00Z", tea);
  }
  const json a = ask(card("bud-a"), {{"time", "2026-11-05T10:00:00Z"}});
  ASSERT_EQ(a["offers"].size(), 1u) << a.dump(2);
  EXPECT_TRUE(ask(card("bud-b"), {{"time", "2026-11-05T10:05:00Z"}})["offers"].empty()) << "the budget is spent";
  must_record({{"type", "offer_outcome"}, {"offer_id", a["offers"][0]["offer_id"]}, {"outcome", "declined"}});
  EXPECT_EQ(record(client(), {{"type", "offer_outcome"}, {"event_id", "late-accept"}, {"offer_id", a["offers"][0]["offer_id"]},
                              {"outcome", "accepted"}}),
            REGULARS_INVALID_INPUT)
      << "accepting after a decline would spend the budget twice";
  const json b = ask(card("bud-b"), {{"time", "2026-11-05T10:10:00Z"}});
  ASSERT_EQ(b["offers"].size(), 1u) << "the declined gesture's budget came back: " << b.dump(2);
  EXPECT_TRUE(ask(card("bud-c"), {{"time", "2026-11-05T10:15:00Z"}})["offers"].empty());

  // A customer who asked never to hear of biscuits gets no biscuit offer, and none is spent.
  add_rule(json::parse(R"({"id": "biscuits-for-all", "when": {"bought": {"sku": "tea"}},
                          "gesture": {"kind": "free_item", "sku": "biscuits", "value": 100}})"));
  must_record({{"type", "profile"}, {"customer", card("bud-c")}, {"do_not_mention", {"biscuits"}}});
  const json c = ask(card("bud-c"), {{"time", "2026-11-05T10:20:00Z"}});
  EXPECT_TRUE(c["offers"].empty()) << c.dump(2);
  EXPECT_EQ(find_hint(c, "offer"), nullptr);

  // Merging B into C: B's offers go with them, and a customer enrolled afterwards (who may get
  // B's freed number) inherits nothing.
  must_record({{"type", "merge"}, {"customer", card("bud-c")}, {"other", card("bud-b")}});
  consent(card("bud-new"), "2026-11-05T10:30:00Z");
  buy(card("bud-new"), "2026-11-05T10:31:00Z", tea);
  const json fresh = ask(card("bud-new"), {{"time", "2026-11-05T10:40:00Z"}});
  for (const auto& o : fresh["offers"]) EXPECT_NE(o["offer_id"], b["offers"][0]["offer_id"]) << fresh.dump(2);
  // B's offer (logged within 20 ms) now belongs to C, who has both cards; A's is declined.
  EXPECT_EQ(wait_count("SELECT count(*) FROM offers o JOIN identifiers i ON i.customer_id=o.customer_id "
                       "WHERE o.rule_id='one-a-month' AND i.kind='card' AND o.status='offered'",
                       2),
            2);

  // The admin API only acts on /v1/gestures/{id}/enable|disable.
  EXPECT_EQ(admin("POST", "/v1/gesturesone-a-month/disable").first, 404);
  EXPECT_EQ(admin("POST", "/v1/gestures/disable").first, 404);
  EXPECT_EQ(admin("POST", "/v1/gestures/one-a-month/disable").first, 200);
  EXPECT_EQ(admin("GET", "/v1/gestures/roi?window_days=30abc").first, 400);
}

TEST_F(Gestures, EachCashierHasTheirOwnDailyCap) {
  add_rule(json::parse(R"({"id": "one-each", "when": {"bought": {"sku": "tea"}},
                          "gesture": {"kind": "discount", "amount": 50}, "limits": {"per_cashier_per_day": 1}})"));
  for (const char* who : {"pc-1", "pc-2", "pc-3"}) {
    consent(card(who), "2026-11-01T08:00:00Z");
    buy(card(who), "2026-11-01T08:01:00Z", {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 300}}});
  }
  // Each lane's plugin names its cashier in its options; the plugin puts it in hints requests
  // because the daemon said at hello it takes them ("hints.who").
  auto lane = [&](const std::string& cashier) {
    json o = json::parse(options(2000));
    o["cashier"] = cashier;
    regulars_client* c = nullptr;
    EXPECT_EQ(plugin_.open(o.dump().c_str(), &c), REGULARS_OK);
    clients_.push_back(c);
    return c;
  };
  regulars_client* ana = lane("ana");
  regulars_client* ben = lane("ben");
  auto offers = [&](regulars_client* c, const char* who) {
    regulars_status s;
    const std::string text =
        plugin_.hints_text(c, json{{"customer", card(who)}, {"time", "2026-11-05T10:00:00Z"}}.dump(), s);
    EXPECT_EQ(s, REGULARS_OK);
    return s == REGULARS_OK ? json::parse(text)["offers"].size() : 0u;
  };
  EXPECT_EQ(offers(ana, "pc-1"), 1u);
  EXPECT_EQ(offers(ana, "pc-2"), 0u) << "ana has made her one offer today";
  EXPECT_EQ(offers(ben, "pc-2"), 1u) << "ben has not";
  EXPECT_EQ(offers(ben, "pc-3"), 0u);
  EXPECT_EQ(wait_count("SELECT count(*) FROM offers WHERE cashier IN ('ana', 'ben')", 2), 2);
}

// With the default settings, a till's clock far from the daemon's cannot move gestures to
// another day: limits and cooldowns count by the daemon's clock.
class GesturesDefaultClock : public Gestures {
 protected:
  std::vector<std::string> daemon_args() override { return {"--log-level", "debug"}; }
};

TEST_F(GesturesDefaultClock, ATillClockFarAwayDoesNotReopenTheDailyCap) {
  add_rule(json::parse(R"({"id": "one-a-day", "when": {"bought": {"sku": "tea"}},
                          "gesture": {"kind": "discount", "amount": 50}, "limits": {"per_day": 1}})"));
  for (const char* who : {"clk-a", "clk-b"}) {
    consent(card(who), "2026-11-01T08:00:00Z");
    buy(card(who), "2026-11-01T08:01:00Z", {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 300}}});
  }
  EXPECT_EQ(ask(card("clk-a"), {{"time", "2031-01-01T10:00:00Z"}})["offers"].size(), 1u);
  EXPECT_TRUE(ask(card("clk-b"), {{"time", "2035-06-01T10:00:00Z"}})["offers"].empty()) << "the same real day: capped";
  wait_count("SELECT count(*) FROM offers", 1);
  const long long made_s = count("SELECT made_ms / 1000 FROM offers");
  EXPECT_LT(std::llabs(made_s - static_cast<long long>(::time(nullptr))), 600) << "made at the daemon's time";
}

}  // namespace
}  // namespace regulars::test
