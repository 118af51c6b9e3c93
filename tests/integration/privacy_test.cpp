// The customer's rights through the real daemon, plugin and regularsctl: erasure everywhere
// with a receipt (the store file, its write-ahead log and the daemon's log checked byte for
// byte), the right of access as JSON, and the owner's audit trail.
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <atomic>
#include <iterator>
#include <thread>
#include <sstream>

#include "fixture.hpp"

namespace regulars::test {
namespace {

json phone(const std::string& value) { return {{"kind", "phone"}, {"value", value}}; }
json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class Privacy : public DaemonTest {
 protected:
  void must_record(const json& event) {
    ASSERT_EQ(plugin_.record(client(), event.dump().c_str()), REGULARS_OK) << plugin_.last_error() << "\n" << event.dump();
  }
  json ctl_json(const std::string& args) {
    std::string out;
    EXPECT_EQ(ctl(args, out), 0) << out;
    return json::parse(out, nullptr, false);
  }
  long long count(const std::string& sql) { return StoreFile(daemon_->db_path()).count(sql); }

  // A customer with a history worth erasing: 50 events with notes, a preference, feedback
  // with a comment (which opens a follow-up the owner annotates), and a linked card.
  void history(const json& who, const std::string& marker) {
    must_record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}},
                 {"time", "2026-10-01T09:00:00Z"}});
    must_record({{"type", "link"}, {"customer", who}, {"identifier", card("4000" + marker.substr(0, 4))}});
    must_record({{"type", "preference"}, {"customer", who}, {"key", "bag"}, {"value", "paper " + marker}});
    must_record({{"type", "feedback"}, {"customer", who}, {"event_id", "fb-" + marker}, {"nps", 3},
                 {"comment", "Comment " + marker + ": the queue was long"}});
    for (int i = 0; i < 40; ++i) {
      char time[32];
      std::snprintf(time, sizeof time, "2026-10-%02dT%02d:00:00Z", i % 28 + 1, 8 + i / 28);
      must_record({{"type", "purchase"}, {"customer", who}, {"time", time}, {"lines", {{{"sku", "bread"}, {"qty", 1}, {"unit_price", 250}}}}});
    }
    for (int i = 0; i < 6; ++i) must_record({{"type", "note"}, {"customer", who}, {"text", "Note " + marker + " #" + std::to_string(i)}});
    std::string out;
    ASSERT_EQ(ctl("followup fb-" + marker + " --state contacted --note \"called about " + marker + "\"", out), 0) << out;
  }
};

TEST_F(Privacy, ErasureRemovesEverythingAndLeavesAReceipt) {
  const json sara = phone("+98 912 555 0199");
  const std::string marker = "Qx7Zebra";
  history(sara, marker);
  history(phone("+44 7700 900123"), "Kp2Other");  // someone else, who must stay whole
  const long long others_events = count("SELECT count(*) FROM events") / 2;
  ASSERT_GE(count("SELECT count(*) FROM events WHERE body LIKE '%" + marker + "%'"), 8);

  const json receipt = ctl_json("erase --kind phone --value \"+98 912 555 0199\" --json");
  ASSERT_TRUE(receipt.is_object()) << receipt;
  EXPECT_EQ(receipt["erased"]["events"]["purchase"], 40);
  EXPECT_EQ(receipt["erased"]["events"]["note"], 6);
  EXPECT_EQ(receipt["erased"]["events"]["consent"], 1);
  EXPECT_EQ(receipt["erased"]["events"]["feedback"], 1);
  EXPECT_EQ(receipt["erased"]["identifiers"], 2);  // the phone and the linked card
  EXPECT_EQ(receipt["erased"]["feedback"], 1);
  EXPECT_EQ(receipt["erased"]["followups"], 1);
  EXPECT_EQ(receipt["erased"]["followup_changes"], 1);
  EXPECT_EQ(receipt["erased"]["notes"], 6);
  EXPECT_EQ(receipt["erased"]["preferences"], 1);
  EXPECT_TRUE(receipt["wal_truncated"].get<bool>());
  // Any run of the number's digits, not "912" alone: a receipt id or a time may hold those by chance.
  for (const char* part : {"9125550199", "5550199", "+98 912"})
    EXPECT_EQ(receipt.dump().find(part), std::string::npos) << "the receipt leads back to no one: " << receipt;

  // Their hints say they are unknown; the other customer is untouched.
  EXPECT_FALSE(ask(sara)["customer"]["known"].get<bool>());
  EXPECT_TRUE(ask(phone("+44 7700 900123"))["customer"]["known"].get<bool>());
  EXPECT_EQ(count("SELECT count(*) FROM events"), others_events);
  EXPECT_EQ(count("SELECT count(*) FROM erasure_receipts"), 1);

  // Not a byte of them left in the store, its write-ahead log or the daemon's log.
  for (const std::string& path : {daemon_->db_path(), daemon_->db_path() + "-wal", daemon_->log_path()}) {
    const std::string bytes = file_bytes(path);
    EXPECT_EQ(bytes.find(marker), std::string::npos) << path;
    EXPECT_EQ(bytes.find("9125550199"), std::string::npos) << path;  // the digits, however normalised
  }
  EXPECT_NE(file_bytes(daemon_->db_path()).find("Kp2Other"), std::string::npos) << "the other customer's notes stay";

  // The same identifier enrolling again starts from zero.
  must_record({{"type", "consent"}, {"customer", sara}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  must_record({{"type", "purchase"}, {"customer", sara}, {"lines", {{{"sku", "milk"}, {"qty", 1}, {"unit_price", 120}}}}});
  const json again = ask(sara);
  EXPECT_EQ(again["customer"]["visits"], 1);
  EXPECT_EQ(find_hint(again, "recovery"), nullptr);

  // The owner's audit trail has the erasure, by whom, with the receipt; a second erasure of
  // an unknown identifier is refused.
  const json audit = ctl_json("audit --json");
  ASSERT_FALSE(audit["items"].empty());
  EXPECT_EQ(audit["items"][0]["action"], "erase");
  EXPECT_EQ(audit["items"][0]["target"], receipt["receipt_id"]);
  EXPECT_EQ(audit["items"][0]["actor"].get<std::string>().rfind("uid:", 0), 0u);
  std::string out;
  EXPECT_NE(ctl("erase --kind phone --value \"+1 555 000 0000\"", out), 0);
  EXPECT_NE(out.find("not_found"), std::string::npos) << out;
}

// An item that only the erased customer ever bought would still say what they bought, and
// when: its name and last purchase time stayed in the items table, and it stayed a successor
// that other customers' predictions could offer. It goes with them; shared items only lose
// the customer's counts.
TEST_F(Privacy, AnItemOnlyTheErasedCustomerBoughtGoesWithThem) {
  const std::string unique_name = "Saffron threads Zq8";
  for (const char* who : {"only-buyer", "neighbour"})
    must_record({{"type", "consent"}, {"customer", card(who)}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  for (int i = 0; i < 4; ++i) {
    must_record({{"type", "purchase"}, {"customer", card("only-buyer")},
                 {"lines", {{{"sku", "bread"}, {"unit_price", 250}}, {{"sku", "saffron-zq8"}, {"name", unique_name}, {"qty", 2}, {"unit_price", 900}}}}});
    must_record({{"type", "purchase"}, {"customer", card("neighbour")}, {"lines", {{{"sku", "bread"}, {"unit_price", 250}}}}});
  }
  std::string out;
  ASSERT_EQ(ctl("erase --kind card --value only-buyer", out), 0) << out;

  // Live: the neighbour, who buys bread as the erased customer did, is never offered the item.
  EXPECT_EQ(ask(card("neighbour")).dump().find("saffron"), std::string::npos) << ask(card("neighbour"));
  // Stored: no row, and no byte, of it; bread keeps the neighbour's 4 baskets.
  EXPECT_EQ(count("SELECT count(*) FROM items WHERE sku='saffron-zq8'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM item_sources WHERE src='saffron-zq8' OR successors LIKE '%saffron%'"), 0);
  EXPECT_EQ(count("SELECT baskets FROM items WHERE sku='bread'"), 4);
  daemon_->stop();
  for (const std::string& path : {daemon_->db_path(), daemon_->db_path() + "-wal"}) {
    const std::string bytes = file_bytes(path);
    EXPECT_EQ(bytes.find(unique_name), std::string::npos) << path;
    EXPECT_EQ(bytes.find("saffron-zq8"), std::string::npos) << path;
  }
  // And after a restart (popularity is counted again from what is stored).
  daemon_->start();
  ASSERT_EQ(wait_for_visits(client(), "neighbour", 4), 4);
  EXPECT_EQ(ask(card("neighbour")).dump().find("saffron"), std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM items WHERE sku='saffron-zq8'"), 0);
  // The counts left are the other customers' exactly: a rebuild from the log finds the same.
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_NE(out.find("projections match the event log"), std::string::npos) << out;
  for (const std::string table : {"items", "store_stats"}) {
    const auto line = out.find("  " + table + " ");
    ASSERT_NE(line, std::string::npos) << table << "\n" << out;
    EXPECT_NE(out.substr(line, out.find('\n', line) - line).find("identical"), std::string::npos) << out;
  }
}

// After an erasure the other customers keep their ids, so a rebuild finds the store healthy:
// before schema v14 it renumbered them and regularsctl rebuild exited 3, as for corruption.
TEST_F(Privacy, ARebuildAfterAnErasureFindsEveryProjectionIdentical) {
  for (const char* who : {"first", "second", "third"}) {
    must_record({{"type", "consent"}, {"customer", card(who)}, {"purposes", {{"remember", true}, {"personalize", true}}}});
    must_record({{"type", "profile"}, {"customer", card(who)}, {"name", who}});
    must_record({{"type", "note"}, {"customer", card(who)}, {"text", std::string("Likes the window seat, says ") + who}});
  }
  const long long third = count("SELECT customer_id FROM identifiers WHERE customer_id=(SELECT max(customer_id) FROM identifiers)");
  std::string out;
  ASSERT_EQ(ctl("erase --kind card --value first", out), 0) << out;
  EXPECT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_NE(out.find("projections match the event log"), std::string::npos) << out;
  for (const std::string table : {"customers", "identifiers", "events.customer_id", "notes"}) {
    const auto line = out.find("  " + table + " ");
    ASSERT_NE(line, std::string::npos) << table << "\n" << out;
    EXPECT_NE(out.substr(line, out.find('\n', line) - line).find("identical"), std::string::npos) << out;
  }
  EXPECT_EQ(count("SELECT max(customer_id) FROM identifiers"), third) << "the last customer keeps their id";
}

TEST_F(Privacy, ExportGivesTheWholeRecordWithoutRawIdentifiers) {
  const json sara = phone("+98 912 555 0177");
  must_record({{"type", "consent"}, {"customer", sara}, {"purposes", {{"remember", true}, {"personalize", true}}},
               {"time", "2026-11-01T09:00:00Z"}, {"store", "main"}, {"terminal", "lane-3"}});
  must_record({{"type", "purchase"}, {"customer", sara}, {"lines", {{{"sku", "bread"}, {"qty", 2}, {"unit_price", 250}}}}});
  must_record({{"type", "note"}, {"customer", sara}, {"text", "Prefers the small loaf"}});
  must_record({{"type", "feedback"}, {"customer", sara}, {"csat", 5}, {"comment", "Lovely bread"}});
  must_record({{"type", "profile"}, {"customer", sara}, {"name", "Sara"}, {"tags", {"vip"}}});

  std::string out;
  ASSERT_EQ(ctl("export --kind phone --value \"+98 912 555 0177\"", out), 0) << out;
  const json record = json::parse(out);
  EXPECT_EQ(record["customer"]["visits"], 1);
  EXPECT_EQ(record["customer"]["name"], "Sara");
  EXPECT_EQ(record["customer"]["tags"], json::array({"vip"}));
  ASSERT_EQ(record["consents"].size(), 1u);
  EXPECT_EQ(record["consents"][0]["purposes"], json({{"remember", true}, {"personalize", true}}));
  EXPECT_EQ(record["consents"][0]["time"], "2026-11-01T09:00:00.000Z");
  EXPECT_EQ(record["consents"][0]["store"], "main");
  EXPECT_EQ(record["consents"][0]["terminal"], "lane-3");
  EXPECT_EQ(record["events"].size(), 5u);
  EXPECT_EQ(record["notes"][0]["text"], "Prefers the small loaf");
  EXPECT_EQ(record["feedback"][0]["comment"], "Lovely bread");
  EXPECT_EQ(record["items"][0]["sku"], "bread");
  EXPECT_EQ(record["identifiers"][0]["kind"], "phone");
  EXPECT_EQ(out.find("555 0177"), std::string::npos) << "only keyed hashes are stored: no value to export";
  EXPECT_EQ(out.find("5550177"), std::string::npos);

  // The admin API gives the same record, and both exports are in the audit trail.
  const auto [status, body] = admin("POST", "/v1/customers/export", {{"customer", sara}});
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["events"], record["events"]);
  const json audit = admin("GET", "/v1/audit").second;
  ASSERT_GE(audit["items"].size(), 2u) << audit.dump(2);
  EXPECT_EQ(audit["items"][0]["action"], "export");
  EXPECT_EQ(audit["items"][0]["actor"], "admin-token");
  EXPECT_EQ(audit["items"][1]["action"], "export");
  EXPECT_EQ(audit["items"][1]["actor"].get<std::string>().rfind("uid:", 0), 0u);
  EXPECT_EQ(audit.dump().find("0177"), std::string::npos);
  EXPECT_EQ(admin("POST", "/v1/customers/export", {{"customer", phone("+1 555 123 0000")}}).first, 404);
}

TEST_F(Privacy, GestureRuleChangesAreAudited) {
  const std::string file = dir_.sub("rule.json");
  std::ofstream(file) << R"({"id": "welcome", "when": {"segment": "new"}, "gesture": {"kind": "task", "task": {"en": "Say hello"}}})";
  std::string out;
  ASSERT_EQ(ctl("gestures add " + file, out), 0) << out;
  ASSERT_EQ(ctl("gestures disable welcome", out), 0) << out;
  EXPECT_EQ(admin("POST", "/v1/gestures/welcome/enable").first, 200);
  const json audit = ctl_json("audit --json");
  ASSERT_EQ(audit["items"].size(), 3u) << audit.dump(2);
  EXPECT_EQ(audit["items"][0]["action"], "gesture_enable");
  EXPECT_EQ(audit["items"][0]["actor"], "admin-token");
  EXPECT_EQ(audit["items"][1]["action"], "gesture_disable");
  EXPECT_EQ(audit["items"][2]["action"], "gesture_add");
  EXPECT_EQ(audit["items"][2]["target"], "welcome");
  EXPECT_EQ(audit["items"][2]["detail"]["gesture"]["kind"], "task");
}

class Retention : public Privacy {
 protected:
  std::vector<std::string> daemon_args() override {
    return with_config(R"({ "retention": { "max_age_days": 365 } })");
  }
};

TEST_F(Retention, OldEventsArePrunedAndTheProjectionsEqualARebuildOfWhatRemains) {
  const json ana = card("ret-ana"), ben = card("ret-ben");
  auto buy = [&](const json& who, const std::string& time, const std::string& sku, int price) {
    must_record({{"type", "purchase"}, {"customer", who}, {"time", time}, {"lines", {{{"sku", sku}, {"qty", 1}, {"unit_price", price}}}}});
  };
  for (const auto& who : {ana, ben})
    must_record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}},
                 {"time", "2024-03-01T09:00:00Z"}});
  // Two years ago: Ana's coffee habit, a note, unhappy feedback the owner followed up. Ben only
  // ever shopped back then.
  for (const char* t : {"2024-03-02T10:00:00Z", "2024-03-09T10:00:00Z", "2024-03-16T10:00:00Z"}) buy(ana, t, "coffee", 900);
  buy(ben, "2024-04-01T10:00:00Z", "tea", 400);
  must_record({{"type", "note"}, {"customer", ana}, {"text", "Old note"}, {"time", "2024-03-16T10:05:00Z"}});
  must_record({{"type", "feedback"}, {"customer", ana}, {"event_id", "fb-old"}, {"nps", 2}, {"time", "2024-03-16T10:06:00Z"}});
  std::string out;
  ASSERT_EQ(ctl("followup fb-old --state resolved --note done", out), 0) << out;  // dated now: goes with its feedback
  // A staff idea from back then, marked done today (the review goes with it), and this year's, seen.
  must_record({{"type", "staff_idea"}, {"event_id", "idea-old"}, {"cashier", "c-1"}, {"text", "Old shelf"}, {"time", "2024-03-16T11:00:00Z"}});
  must_record({{"type", "staff_idea"}, {"event_id", "idea-new"}, {"cashier", "c-1"}, {"text", "New shelf"}, {"time", "2026-11-02T11:00:00Z"}});
  ASSERT_EQ(ctl("idea idea-old --state done", out), 0) << out;
  ASSERT_EQ(ctl("idea idea-new --state seen --by owner", out), 0) << out;
  // This year: Ana buys bread twice.
  for (const char* t : {"2026-10-01T10:00:00Z", "2026-11-01T10:00:00Z"}) buy(ana, t, "bread", 250);
  ASSERT_EQ(ask(ana)["customer"]["visits"], 5);

  // As of the start of 2026-11-23, with a year's retention.
  ASSERT_EQ(ctl("prune --as-of 2026-11-23T00:00:00Z", out), 0) << out;
  EXPECT_NE(out.find("pruned 9 events older than 2025-11-23"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE time_ms < strftime('%s', '2025-11-23') * 1000 AND type <> 'consent'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='consent'"), 2) << "consent records stay";
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='followup'"), 0) << "the follow-up went with its feedback";
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='idea_review'"), 1) << "the old idea's review went with it";
  // Not even in freed pages or the write-ahead log: the old note's text is gone from the files.
  EXPECT_EQ(file_bytes(daemon_->db_path()).find("Old note"), std::string::npos);
  EXPECT_EQ(file_bytes(daemon_->db_path() + "-wal").find("Old note"), std::string::npos);
  // A prune "as of" a future time would delete what the policy keeps: refused.
  EXPECT_NE(ctl("prune --as-of 2099-01-01T00:00:00Z", out), 0);
  EXPECT_NE(out.find("future"), std::string::npos) << out;
  const json a = ask(ana, {{"time", "2026-11-23T12:00:00Z"}});
  EXPECT_EQ(a["customer"]["visits"], 2);
  EXPECT_EQ(a["customer"]["first_seen"], "2026-10-01T10:00:00.000Z");
  EXPECT_EQ(find_hint(a, "note"), nullptr);
  EXPECT_EQ(find_hint(a, "recovery"), nullptr);
  for (const auto& p : a["predictions"]) EXPECT_NE(p["sku"], "coffee") << "nothing remembers the pruned habit: " << a.dump(2);
  const json b = ask(ben);
  EXPECT_TRUE(b["customer"]["known"].get<bool>()) << "consent records keep the customer";
  EXPECT_EQ(b["customer"]["visits"], 0);
  // What the prune left equals a rebuild from the log that remains.
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_NE(out.find("projections match the event log"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM feedback"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM items WHERE sku='coffee'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM staff_ideas WHERE state='seen' AND reviewed_by='owner'"), 1) << "the review replays";
  EXPECT_EQ(count("SELECT count(*) FROM staff_ideas"), 1);
  const json audit = ctl_json("audit --json");
  EXPECT_EQ(audit["items"][0]["action"], "retention_prune");

  // Automatically: at start-up by the daemon's own clock. An event dated two years back is
  // gone once the daemon has restarted.
  buy(ana, "2024-06-01T10:00:00Z", "cake", 500);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='purchase'"), 3);
  daemon_->stop();
  for (regulars_client* c : clients_) plugin_.close(c);
  clients_.clear();
  client_ = nullptr;
  daemon_->start();
  long long left = -1;
  for (int i = 0; i < 100 && (left = count("SELECT count(*) FROM events WHERE type='purchase'")) != 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(left, 2);
}

TEST_F(Retention, AMergeWhoseCustomersHistoryWasPrunedStillReplays) {
  // Two identifiers that only ever shopped two years ago (no consent records), merged this year.
  must_record({{"type", "purchase"}, {"customer", card("old-card")}, {"time", "2024-05-01T10:00:00Z"},
               {"lines", {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 300}}}}});
  must_record({{"type", "purchase"}, {"customer", phone("+44 7700 900555")}, {"time", "2024-05-02T10:00:00Z"},
               {"lines", {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 300}}}}});
  must_record({{"type", "merge"}, {"customer", card("old-card")}, {"other", phone("+44 7700 900555")}});
  std::string out;
  ASSERT_EQ(ctl("prune --as-of 2026-11-23T00:00:00Z", out), 0) << out;
  EXPECT_NE(out.find("pruned 2 events"), std::string::npos) << out;
  // One customer, both identifiers, no visits left; and a rebuild agrees.
  EXPECT_EQ(count("SELECT count(DISTINCT customer_id) FROM identifiers"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM identifiers"), 2);
  EXPECT_EQ(ask(phone("+44 7700 900555"))["customer"]["visits"], 0);
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
}

TEST_F(Privacy, AnOfferDecidedJustBeforeAnErasureDoesNotBringTheCustomerBack) {
  const std::string file = dir_.sub("rule.json");
  std::ofstream(file) << R"({"id": "welcome", "when": {"segment": "new"}, "gesture": {"kind": "task", "task": {"en": "Say hello"}}})";
  std::string out;
  ASSERT_EQ(ctl("gestures add " + file, out), 0) << out;
  for (int i = 0; i < 5; ++i) {
    const json who = card("erase-now-" + std::to_string(i));
    must_record({{"type", "consent"}, {"customer", who}, {"purposes", {{"remember", true}, {"personalize", true}}}});
    ASSERT_EQ(ask(who)["offers"].size(), 1u);
    // Erased at once, while the offer may still wait to be logged.
    EXPECT_EQ(admin("POST", "/v1/customers/erase", {{"customer", who}}).first, 200);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // any offer still queued is logged by now
  EXPECT_EQ(count("SELECT count(*) FROM customers"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM identifiers"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM offers"), 0);
}

// With listen.group, the daemon checks each peer's credentials itself: a member of the tills'
// group gets hints, anyone else is refused even when the socket file lets them connect.
// Every file a run leaves behind: the data directory (store, WAL, keys), the spool, the log.
std::string all_bytes(const std::vector<std::string>& dirs, const std::string& log_path) {
  std::string bytes = file_bytes(log_path);
  for (const auto& dir : dirs) {
    std::string out;
    run_command("find " + dir + " -type f", out);
    std::istringstream files(out);
    for (std::string f; std::getline(files, f);) bytes += file_bytes(f);
  }
  return bytes;
}

bool luhn_valid(const std::string& digits) {
  int sum = 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    int d = digits[digits.size() - 1 - i] - '0';
    if (i % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 == 0;
}

TEST_F(Privacy, NoRawPhoneOrCardNumberInStoreWalSpoolOrLogs) {
  const std::string phone_number = "+98 912 555 0142", phone_digits = "9125550142";
  const std::string loyalty_card = "6280231400098877";  // a store card number: 16 digits, not a payment card
  ASSERT_FALSE(luhn_valid(loyalty_card));
  const json leila = phone(phone_number);
  must_record({{"type", "consent"}, {"customer", leila}, {"purposes", {{"remember", true}, {"personalize", true}}}});
  must_record({{"type", "link"}, {"customer", leila}, {"identifier", card(loyalty_card)}});
  must_record({{"type", "purchase"}, {"customer", card(loyalty_card)}, {"lines", {{{"sku", "bread"}, {"unit_price", 250}}}}});

  // A payment card number is refused wherever it appears; a payment token is an identifier.
  const json refused = {{"type", "note"}, {"customer", leila}, {"text", "paid with 4111 1111 1111 1111"}};
  EXPECT_EQ(plugin_.record(client(), refused.dump().c_str()), REGULARS_INVALID_INPUT);
  EXPECT_NE(std::string(plugin_.last_error()).find("card"), std::string::npos) << plugin_.last_error();
  must_record({{"type", "link"}, {"customer", leila}, {"identifier", {{"kind", "payment_token"}, {"value", "tok_9fQ2xLm"}}}});
  EXPECT_EQ(ask({{"kind", "payment_token"}, {"value", "tok_9fQ2xLm"}})["customer"]["visits"], 1);

  // The daemon goes away: the till spools, sealed to the daemon's key learnt at hello.
  daemon_->stop();
  for (int i = 0; i < 3; ++i) {
    must_record({{"type", "purchase"}, {"customer", i % 2 ? leila : card(loyalty_card)},
                 {"lines", {{{"sku", "milk"}, {"unit_price", 120}}}}});
  }
  // A process on a new spool directory that never met the daemon spools nothing: the only key it
  // could seal to would have to sit beside the data.
  regulars_client* newcomer = nullptr;
  const json newcomer_options = {{"endpoint", "unix:" + dir_.sub("elsewhere.sock")}, {"spool_dir", dir_.sub("spool2")},
                                 {"budget_ms", 50}};
  ASSERT_EQ(plugin_.open(newcomer_options.dump().c_str(), &newcomer), REGULARS_OK) << plugin_.last_error();
  const json early = {{"type", "purchase"}, {"customer", leila}, {"lines", {{{"sku", "eggs"}, {"unit_price", 300}}}}};
  EXPECT_EQ(plugin_.record(newcomer, early.dump().c_str()), REGULARS_UNAVAILABLE);
  plugin_.close(newcomer);
  const std::string spooled = all_bytes({dir_.sub("spool"), dir_.sub("spool2")}, "/dev/null");
  EXPECT_GT(spooled.size(), 600u) << "the events are in the spools";
  EXPECT_EQ(spooled.find(phone_digits), std::string::npos);
  EXPECT_EQ(spooled.find(loyalty_card), std::string::npos);
  EXPECT_EQ(spooled.find("milk"), std::string::npos) << "sealed, not merely stripped of identifiers";

  // Back: the spool is replayed.
  daemon_->start();
  EXPECT_EQ(wait_for_visits(client(), loyalty_card, 4), 4);

  daemon_->stop();
  for (auto* c : clients_) plugin_.close(c);
  clients_.clear();
  client_ = nullptr;
  const std::string everything = all_bytes({daemon_->data_dir(), dir_.sub("spool"), dir_.sub("spool2")}, daemon_->log_path());
  EXPECT_GT(everything.size(), 10000u);
  for (const std::string& needle : {phone_digits, phone_number, loyalty_card, std::string("4111 1111 1111 1111"),
                                    std::string("4111111111111111")})
    EXPECT_EQ(everything.find(needle), std::string::npos) << needle;
}

// Issue 19, item 9: a till never holds a spooled event it could open itself. Until it knows the
// daemon's spool key, it spools nothing; once one hello has taught it the key (kept in the spool
// directory), it spools sealed even when it opens while the daemon is away.
TEST_F(Privacy, ATillSpoolsNothingUntilItKnowsTheDaemonsKey) {
  const std::string fresh = dir_.sub("spool-fresh");
  const json offline = {{"endpoint", "unix:" + dir_.sub("nobody.sock")}, {"spool_dir", fresh}, {"budget_ms", 50}};
  const json e = {{"type", "purchase"}, {"customer", card("70001119")}, {"lines", {{{"sku", "nut-free-bread"}, {"unit_price", 300}}}}};
  regulars_client* till = nullptr;
  ASSERT_EQ(plugin_.open(offline.dump().c_str(), &till), REGULARS_OK) << plugin_.last_error();
  EXPECT_EQ(plugin_.record(till, e.dump().c_str()), REGULARS_UNAVAILABLE);
  EXPECT_NE(std::string(plugin_.last_error()).find("spool key"), std::string::npos) << plugin_.last_error();
  plugin_.close(till);
  EXPECT_FALSE(std::filesystem::exists(fresh + "/local.key"));
  EXPECT_EQ(all_bytes({fresh}, "/dev/null").find("nut-free"), std::string::npos);

  json online = offline;  // one hello teaches the key
  online["endpoint"] = daemon_->endpoint();
  ASSERT_EQ(plugin_.open(online.dump().c_str(), &till), REGULARS_OK) << plugin_.last_error();
  plugin_.close(till);
  ASSERT_EQ(plugin_.open(offline.dump().c_str(), &till), REGULARS_OK) << plugin_.last_error();
  EXPECT_EQ(plugin_.record(till, e.dump().c_str()), REGULARS_OK) << plugin_.last_error();
  plugin_.close(till);
  const std::string spooled = all_bytes({fresh}, "/dev/null");
  EXPECT_GT(spooled.size(), 200u) << "the event is in the spool";
  EXPECT_EQ(spooled.find("nut-free"), std::string::npos);
  EXPECT_EQ(spooled.find("70001119"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(fresh + "/local.key"));

  ASSERT_EQ(plugin_.open(online.dump().c_str(), &till), REGULARS_OK) << plugin_.last_error();
  clients_.push_back(till);
  EXPECT_EQ(wait_for_visits(client(), "70001119", 1), 1) << "the sealed event is delivered";
}

class SmallFrames : public Privacy {
 protected:
  std::vector<std::string> daemon_args() override { return with_config(R"({ "limits": { "max_frame_bytes": 65536 } })"); }
};

TEST_F(SmallFrames, AnEventJustUnderTheLimitTravelsSealedFromTheSpool) {
  // 47 KB of lines: sealed and in base64 it still fits a 64 KiB frame (the plugin refuses
  // anything larger at record, resilience_test.cpp SmallFrameLimit), so it is spooled sealed.
  json lines = json::array();
  for (int i = 0; i < 380; ++i) lines.push_back({{"sku", "sku-" + std::to_string(i)}, {"name", std::string(80, 'n')}, {"unit_price", 100}});
  const json big = {{"type", "purchase"}, {"customer", card("5550001")}, {"lines", lines}};
  ASSERT_GT(big.dump().size(), 45000u);
  ASSERT_LT(big.dump().size(), 48800u);
  must_record({{"type", "purchase"}, {"customer", card("5550001")}, {"lines", {{{"sku", "tea"}, {"unit_price", 300}}}}});
  daemon_->stop();
  ASSERT_EQ(plugin_.record(client(), big.dump().c_str()), REGULARS_OK) << plugin_.last_error();
  ASSERT_EQ(plugin_.record(client(), purchase("5550001", {"milk"}).c_str()), REGULARS_OK) << plugin_.last_error();
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("spool/local.key"))) << "sealed to the daemon's key, not the spool's own";
  daemon_->start();
  EXPECT_EQ(wait_for_visits(client(), "5550001", 3), 3) << "the big event, and the one behind it, arrive";
}

class PeerGroup : public Privacy {
 protected:
  std::vector<std::string> daemon_args() override {
    return with_config(R"({ "listen": { "group": "nogroup" } })");
  }
  // Exit status of a child that connects as uid/gid and asks for hints: 0 answered, 20 denied.
  int connect_as(uid_t uid, gid_t gid) {
    const std::string socket_path = daemon_->data_dir() + "/regularsd.sock";
    const pid_t child = ::fork();
    if (child == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(10);
      try {
        RawConnection till(socket_path, /*send_hello=*/false);
        till.send_frame(R"({"id": 1, "op": "hello", "protocol": 1})");
        const json hello = json::parse(till.read_frame());
        if (!hello.value("ok", false)) ::_exit(hello["error"]["code"] == "denied" && till.closed_by_peer() ? 20 : 21);
        till.send_frame(R"({"id": 2, "op": "hints", "request": {"customer": {"kind": "card", "value": "1"}}})");
        ::_exit(json::parse(till.read_frame()).value("ok", false) ? 0 : 22);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %u: %s\n", static_cast<unsigned>(uid), e.what());
        ::_exit(23);
      }
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

TEST_F(PeerGroup, OnlyTheTillsGroupMayTalk) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as other users";
  const std::string socket_path = daemon_->data_dir() + "/regularsd.sock";
  struct stat st {};
  ASSERT_EQ(::stat(socket_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 65534u) << "the socket belongs to the tills' group";
  // Let everyone reach the file, so only the daemon's own check stands in the way.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(daemon_->data_dir().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(socket_path.c_str(), 0666), 0);
  EXPECT_EQ(connect_as(65534, 65534), 0) << "a member of nogroup gets hints";
  EXPECT_EQ(connect_as(65533, 65533), 20) << "anyone else is denied at hello";
  EXPECT_TRUE(ask(card("1"))["customer"].is_object()) << "the owner still talks";
}

}  // namespace
}  // namespace regulars::test
