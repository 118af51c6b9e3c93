// regularsctl import through the real tools: a stopped store takes a shop's history from CSV,
// and the real daemon then answers from it through the real plugin. Importing twice adds
// nothing, bad rows are named by line and column while every other row goes in, card numbers
// never reach the store, and a running regularsd makes the import refuse.
#include <fstream>
#include <iterator>

#include "fixture.hpp"

namespace regulars::test {
namespace {

json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Three visits of one regular who always buys oat milk, and one of a second customer.
const char* kSales =
    "customer,time,sku,name,qty,price,category\n"
    "4000123,2026-10-01 10:00,oat-milk,Oat milk,1,1.99,dairy\n"
    "4000123,2026-10-01 10:00,chips-sv,\"Salt & vinegar chips\",2,1.29,chips\n"
    "4000123,2026-10-08 10:00,oat-milk,Oat milk,1,1.99,dairy\n"
    "4000123,2026-10-15 10:00,oat-milk,Oat milk,1,1.99,dairy\n"
    "4000124,2026-10-02 11:00,bread,\"Bread, rye\",1,2.50,bakery\n";

class Import : public DaemonTest {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_.sub(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  int import(const std::string& args, std::string& out) {
    return run_command(std::string(REGULARSCTL_PATH) + " import --data-dir " + daemon_->data_dir() + " " + args, out);
  }
  void stop_daemon() {
    for (auto* c : clients_) plugin_.close(c);
    clients_.clear();
    client_ = nullptr;
    ASSERT_EQ(daemon_->stop(), 0);
  }
  std::int64_t count(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(daemon_->db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    const std::int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  }
  json export_of(const std::string& kind, const std::string& value) {
    std::string out;
    EXPECT_EQ(ctl("export --kind " + kind + " --value \"" + value + "\"", out), 0) << out;
    return json::parse(out, nullptr, false);
  }
  static std::vector<std::string> predicted_skus(const json& answer) {
    std::vector<std::string> out;
    for (const auto& p : answer.value("predictions", json::array())) out.push_back(p["sku"]);
    return out;
  }
};

TEST_F(Import, ImportedHistoryAnswersAsLivePurchasesWould) {
  stop_daemon();
  std::string out;
  ASSERT_EQ(import(write("sales.csv", kSales) + " --consent remember,personalize", out), 0) << out;
  EXPECT_NE(out.find("imported 5 rows"), std::string::npos) << out;
  EXPECT_NE(out.find("new           6"), std::string::npos) << out;  // 4 sales and 2 consents
  daemon_->start();

  const json regular = ask(card("4000123"));
  EXPECT_TRUE(regular["customer"].value("known", false)) << regular.dump();
  EXPECT_EQ(regular["customer"]["visits"], 3) << regular.dump();
  const auto skus = predicted_skus(regular);
  ASSERT_FALSE(skus.empty()) << regular.dump();
  EXPECT_EQ(skus.front(), "oat-milk") << regular.dump();
  // Identifiers are hashed on the way in: the raw card number is nowhere in the store.
  EXPECT_EQ(file_bytes(daemon_->db_path()).find("4000123"), std::string::npos);
  EXPECT_EQ(file_bytes(daemon_->db_path() + "-wal").find("4000123"), std::string::npos);
}

TEST_F(Import, TheSameFileImportedTwiceAddsNothing) {
  stop_daemon();
  const std::string file = write("sales.csv", kSales);
  std::string out;
  ASSERT_EQ(import(file + " --consent remember,personalize", out), 0) << out;
  const std::int64_t events = count("SELECT count(*) FROM events");
  ASSERT_EQ(events, 6);
  ASSERT_EQ(import(file + " --consent remember,personalize", out), 0) << out;
  EXPECT_NE(out.find("new           0"), std::string::npos) << out;
  EXPECT_NE(out.find("already there 6"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events"), events);
  daemon_->start();
  EXPECT_EQ(ask(card("4000123"))["customer"]["visits"], 3);
}

// Two sales with the same content are two sales: on two receipts, or (without receipts) not next
// to each other. And a sale whose lines come in another order is the same sale.
TEST_F(Import, IdenticalSalesAreKeptApartAndReorderedLinesAreTheSameSale) {
  stop_daemon();
  std::string out;
  const std::string receipts = write("receipts.csv",
                                     "customer,time,sku,qty,receipt\n"
                                     "4000123,2026-10-01,bread,1,R1\n"
                                     "4000123,2026-10-01,bread,1,R2\n"
                                     "4000124,2026-10-01,milk,1,R3\n");
  ASSERT_EQ(import(receipts, out), 0) << out;
  EXPECT_NE(out.find("new           3"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='purchase'"), 3);
  const std::string apart = write("apart.csv",
                                  "customer,time,sku,qty\n"
                                  "4000125,2026-10-02,bread,1\n"
                                  "4000126,2026-10-02,milk,1\n"
                                  "4000125,2026-10-02,bread,1\n");
  ASSERT_EQ(import(apart, out), 0) << out;
  EXPECT_NE(out.find("new           3"), std::string::npos) << out;
  ASSERT_EQ(import(receipts + " " + apart, out), 0) << out;  // and once more: nothing new
  EXPECT_NE(out.find("new           0"), std::string::npos) << out;

  ASSERT_EQ(import(write("a.csv", "customer,time,sku,qty\n4000127,2026-10-03 10:00,bread,1\n4000127,2026-10-03 10:00,milk,2\n"), out), 0)
      << out;
  ASSERT_EQ(import(write("b.csv", "customer,time,sku,qty\r\n4000127,2026-10-03 10:00,milk,2\r\n4000127,2026-10-03 10:00,bread,1"), out), 0)
      << out;
  EXPECT_NE(out.find("new           0"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='purchase'"), 7);
}

// Every file's header is checked before anything is written: a second file the import cannot
// read leaves the store as it was, rather than half of the first file in it.
TEST_F(Import, AHeaderThatCannotBeUsedInALaterFileWritesNothing) {
  stop_daemon();
  std::string many = "customer,time,sku\n";
  for (int i = 0; i < 50; ++i) many += std::to_string(4000100 + i) + ",2026-10-01 10:00,bread\n";
  std::string out;
  EXPECT_EQ(import("--batch 10 " + write("good.csv", many) + " " + write("bad.csv", "customer,when,sku\n4000123,2026-10-01,bread\n"), out), 1)
      << out;
  EXPECT_NE(out.find("bad.csv:1: the header has no column \"time\""), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events"), 0);
}

TEST_F(Import, ThreeBadRowsGiveThreeErrorsNamingLineAndColumnAndTheRestGoesIn) {
  stop_daemon();
  const std::string file = write("sales.csv", std::string(kSales) +
                                                  "4000125,2026-10-03 09:00,milk,Milk,two,1.00,dairy\n"     // line 7: qty
                                                  "4111111111111111,2026-10-03 09:00,milk,Milk,1,1.00,\n"  // line 8: a card number
                                                  "4000126,2026-10-03 09:00,milk,Milk,1,$1.00,dairy\n"     // line 9: price
                                                  "4000127,2026-10-04 09:00,milk,Milk,1,1.00,dairy\n");
  std::string out;
  EXPECT_EQ(import(file + " --consent remember,personalize", out), 2) << out;
  EXPECT_NE(out.find("sales.csv:7:5: column \"qty\""), std::string::npos) << out;
  EXPECT_NE(out.find("sales.csv:8:1: column \"customer\": holds what looks like a payment card number"), std::string::npos) << out;
  EXPECT_NE(out.find("sales.csv:9:6: column \"price\""), std::string::npos) << out;
  EXPECT_NE(out.find("rows refused  3"), std::string::npos) << out;
  EXPECT_EQ(file_bytes(daemon_->db_path()).find("4111111111111111"), std::string::npos);
  // Every good row is in: the 5 above and customer 4000127's, with their consents.
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='purchase'"), 5);
  EXPECT_EQ(count("SELECT count(*) FROM customers"), 3);
  daemon_->start();
  EXPECT_EQ(ask(card("4000127"))["customer"]["visits"], 1);
}

TEST_F(Import, ASaleWithARefusedLineIsHeldBackWholeAndGoesInOnceWhenFixed) {
  stop_daemon();
  const std::string header = "customer,time,sku,name,qty,price\n";
  const std::string before = "4000130,2026-10-01 10:00,milk,Milk,1,1.00\n";
  const std::string sale = "4000130,2026-10-08 10:00,bread,Bread,1,2.00\n"
                           "4000130,2026-10-08 10:00,eggs,Eggs,%QTY%,3.00\n"
                           "4000130,2026-10-08 10:00,jam,Jam,1,4.00\n";
  auto with_qty = [&](const std::string& qty) {
    std::string text = header + before + sale;
    text.replace(text.find("%QTY%"), 5, qty);
    return text;
  };
  std::string out;
  EXPECT_EQ(import(write("bad.csv", with_qty("lots")), out), 2) << out;
  EXPECT_NE(out.find("bad.csv:4:5: column \"qty\""), std::string::npos) << out;
  EXPECT_NE(out.find("1 sale(s) held back whole (2 good lines)"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='purchase'"), 1);  // only the earlier visit
  // Fixed and imported again: the sale goes in once, with its three lines; nothing is counted twice.
  ASSERT_EQ(import(write("fixed.csv", with_qty("2")), out), 0) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type='purchase'"), 2);
  EXPECT_EQ(count("SELECT visits FROM customers"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM customer_items"), 4);
}

TEST_F(Import, RefusedWhileRegularsdRunsAndADryRunWritesNothing) {
  const std::string file = write("sales.csv", kSales);
  std::string out;
  EXPECT_NE(import(file, out), 0) << out;
  EXPECT_NE(out.find("stop regularsd first"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events"), 0);
  // A dry run checks every row without the store, so it may run beside the daemon.
  EXPECT_EQ(import(file + " --dry-run", out), 0) << out;
  EXPECT_NE(out.find("checked 5 rows"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM events"), 0);
}

// The customers format's store column is stored with the profile, as a sale's is: a card
// number in it refuses the row, unquoted, and is stored nowhere.
TEST_F(Import, ACardNumberInACustomersStoreColumnRefusesTheRow) {
  stop_daemon();
  const std::string file = write("customers.csv",
                                 "card,name,store\n"
                                 "L1001,Ann,4111-1111-1111-1111\n"
                                 "L1002,Bob,main-street\n");
  std::string out;
  EXPECT_EQ(import("--customers " + file, out), 2) << out;
  EXPECT_NE(out.find("customers.csv:2:3: column \"store\": holds what looks like a payment card number"), std::string::npos) << out;
  EXPECT_EQ(out.find("4111"), std::string::npos) << out;
  StoreFile db(daemon_->db_path());
  EXPECT_EQ(db.count("SELECT count(*) FROM events WHERE body LIKE '%4111%' OR store LIKE '%4111%'"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM events WHERE type='profile'"), 1) << "Bob's row goes in";
}

TEST_F(Import, SquaresCustomerDirectoryThroughItsMapping) {
  stop_daemon();
  const std::string file = write("square.csv",
                                 "First Name,Last Name,Email Address,Phone Number,Birthday,Reference ID,Square Customer ID\n"
                                 "Sara,Ahmadi,sara@example.org,+98 912 555 0142,0000-03-14,,SQ1\n"
                                 "Ben,,,,,7788001,SQ2\n");
  std::string out;
  ASSERT_EQ(import("--mapping " + std::string(REGULARS_SOURCE_DIR) + "/daemon/import/mappings/square-customers.json " + file +
                       " --consent remember,personalize",
                   out),
            0)
      << out;
  EXPECT_NE(out.find("columns not imported: Square Customer ID"), std::string::npos) << out;
  daemon_->start();
  // Sara's profile is under her phone, and her e-mail is linked to the same customer.
  const json sara = export_of("phone", "+98 912 555 0142");
  EXPECT_EQ(sara["customer"]["name"], "Sara Ahmadi") << sara.dump();
  EXPECT_EQ(sara["customer"]["birthday"], "03-14") << sara.dump();
  EXPECT_EQ(export_of("email", "Sara@Example.org")["customer"], sara["customer"]);
  EXPECT_EQ(export_of("card", "7788001")["customer"]["name"], "Ben");
  const json by_email = ask({{"kind", "email"}, {"value", "sara@example.org"}});
  EXPECT_TRUE(by_email["customer"].value("known", false)) << by_email.dump();
}

}  // namespace
}  // namespace regulars::test
