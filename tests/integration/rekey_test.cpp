// Re-keying the identity secret through the real daemon, plugin and regularsctl: refused while
// regularsd runs; afterwards not one old hash is left in the store file or its write-ahead log,
// and every customer is still recognised by every identifier, links and merges included.
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <set>

#include "fixture.hpp"

namespace regulars::test {
namespace {

json phone(const std::string& value) { return {{"kind", "phone"}, {"value", value}}; }
json card(const std::string& value) { return {{"kind", "card"}, {"value", value}}; }
json email(const std::string& value) { return {{"kind", "email"}, {"value", value}}; }
json app(const std::string& value) { return {{"kind", "app"}, {"value", value}}; }

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every column of every row `sql` selects, as raw bytes (blobs and text alike).
std::vector<std::string> column_values(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) throw std::runtime_error("open " + db_path);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db));
  std::vector<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW)
    for (int i = 0; i < sqlite3_column_count(st); ++i)
      if (sqlite3_column_type(st, i) != SQLITE_NULL)
        out.emplace_back(static_cast<const char*>(sqlite3_column_blob(st, i)), static_cast<std::size_t>(sqlite3_column_bytes(st, i)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class Rekey : public DaemonTest {
 protected:
  void must_record(const json& event) {
    ASSERT_EQ(plugin_.record(client(), event.dump().c_str()), REGULARS_OK) << plugin_.last_error() << "\n" << event.dump();
  }
  json ctl_json(const std::string& args) {
    std::string out;
    EXPECT_EQ(ctl(args, out), 0) << out;
    return json::parse(out, nullptr, false);
  }
  // `regularsctl rekey --data-dir DIR`, the form the README gives.
  int rekey(std::string& out) {
    return run_command(std::string(REGULARSCTL_PATH) + " rekey --data-dir " + daemon_->data_dir(), out);
  }
  void stop_daemon() {
    for (auto* c : clients_) plugin_.close(c);
    clients_.clear();
    client_ = nullptr;
    ASSERT_EQ(daemon_->stop(), 0);
  }
  void leave_copies_in_free_pages() {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(daemon_->db_path().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db,
                                "PRAGMA secure_delete=OFF;"
                                "CREATE TABLE junk AS SELECT hash AS h FROM identifiers UNION ALL SELECT id_hash FROM events "
                                "UNION ALL SELECT body FROM events WHERE type IN ('link', 'merge');"
                                "DROP TABLE junk;"
                                "PRAGMA wal_checkpoint(TRUNCATE);",
                                nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  // The audit trail's rekey rows, newest first.
  json rekey_audit() {
    const json audit = ctl_json("audit --json");
    json out = json::array();
    for (const auto& it : audit["items"])
      if (it["action"] == "rekey") out.push_back(it);
    return out;
  }
  std::string secret_path() const { return daemon_->data_dir() + "/secret.key"; }
  long long count(const std::string& sql) { return StoreFile(daemon_->db_path()).count(sql); }
  long long visits_of(const json& who) {
    const json a = ask(who);
    return a["customer"]["known"].get<bool>() ? a["customer"]["visits"].get<long long>() : -1;
  }
  // Which customer each identifier belongs to, and when it came: the same before and after.
  std::string identifier_owners() {
    std::string s;
    for (const auto& v : column_values(daemon_->db_path(),
                                       "SELECT kind || ':' || customer_id || ':' || created_ms FROM identifiers ORDER BY 1"))
      s += v + "\n";
    return s;
  }
  // Every stored hash: identifiers, the log's id_hash (raw bytes) and the hashes inside link and
  // merge bodies (hex text).
  std::set<std::string> stored_hashes() {
    std::set<std::string> out;
    for (const char* sql : {"SELECT hash FROM identifiers", "SELECT id_hash FROM events WHERE id_hash IS NOT NULL",
                            "SELECT json_extract(body, '$.identifier.hash'), json_extract(body, '$.other.hash') FROM events "
                            "WHERE type IN ('link', 'merge')"})
      for (auto& v : column_values(daemon_->db_path(), sql)) out.insert(std::move(v));
    return out;
  }
  // A customer's record without what legitimately changes (the time of export, hashes in bodies).
  json record_of(const std::string& kind, const std::string& value) {
    json r = ctl_json("export --kind " + kind + " --value \"" + value + "\"");
    r.erase("exported_at");
    for (auto& e : r["events"]) e.erase("body");
    return r;
  }

  // Sara: a phone with an e-mail linked. Ben: a card, merged with an app id that shopped on
  // its own first.
  void customers() {
    const json purposes = {{"remember", true}, {"personalize", true}};
    must_record({{"type", "consent"}, {"customer", sara_}, {"purposes", purposes}});
    for (int i = 0; i < 3; ++i)
      must_record({{"type", "purchase"}, {"customer", sara_}, {"lines", {{{"sku", "bread"}, {"qty", 1}, {"unit_price", 250}}}}});
    must_record({{"type", "link"}, {"customer", sara_}, {"identifier", sara_email_}});
    must_record({{"type", "note"}, {"customer", sara_email_}, {"text", "Likes the seeded loaf"}});
    must_record({{"type", "consent"}, {"customer", ben_}, {"purposes", purposes}});
    for (int i = 0; i < 2; ++i)
      must_record({{"type", "purchase"}, {"customer", ben_}, {"lines", {{{"sku", "coffee"}, {"qty", 1}, {"unit_price", 900}}}}});
    for (int i = 0; i < 2; ++i)
      must_record({{"type", "purchase"}, {"customer", ben_app_}, {"lines", {{{"sku", "tea"}, {"qty", 1}, {"unit_price", 400}}}}});
    must_record({{"type", "merge"}, {"customer", ben_}, {"other", ben_app_}});
  }

  const json sara_ = phone("+98 912 555 0142");
  const json sara_email_ = email("sara.rekey@example.org");
  const json ben_ = card("7788001");
  const json ben_app_ = app("ben-app-77");
};

TEST_F(Rekey, EveryCustomerSurvivesAndNoOldHashIsLeft) {
  customers();
  ASSERT_EQ(visits_of(sara_), 3);
  ASSERT_EQ(visits_of(sara_email_), 3);
  ASSERT_EQ(visits_of(ben_), 4);
  ASSERT_EQ(visits_of(ben_app_), 4);
  const json sara_before = record_of("phone", "+98 912 555 0142");
  const json ben_before = record_of("card", "7788001");
  ASSERT_EQ(sara_before["customer"]["visits"], 3);
  const std::string owners_before = identifier_owners();
  const std::set<std::string> old_hashes = stored_hashes();
  ASSERT_EQ(count("SELECT count(*) FROM identifiers"), 4);
  ASSERT_EQ(column_values(daemon_->db_path(), "SELECT hash FROM identifiers").size(), 4u);
  // 4 identifiers (32 bytes each), and the link's and merge's hashes as hex in their bodies.
  ASSERT_EQ(std::count_if(old_hashes.begin(), old_hashes.end(), [](const std::string& h) { return h.size() == 64; }), 2);
  const std::string old_secret = file_bytes(secret_path());
  ASSERT_EQ(old_secret.size(), 32u);

  // While regularsd runs: refused, and nothing changes.
  std::string out;
  EXPECT_NE(rekey(out), 0) << out;
  EXPECT_NE(out.find("stop regularsd first: systemctl stop regularsd"), std::string::npos) << out;
  EXPECT_EQ(file_bytes(secret_path()), old_secret);
  EXPECT_FALSE(std::ifstream(secret_path() + ".tmp").good());
  EXPECT_EQ(stored_hashes(), old_hashes);
  EXPECT_EQ(count("SELECT count(*) FROM store_meta WHERE key='identity_generations'"), 0);

  // Stopped: re-keyed. Beforehand, copies of every hash are left in free pages, as pages freed
  // under the daemon's routine secure_delete=FAST are: rekey must overwrite those too.
  stop_daemon();
  leave_copies_in_free_pages();
  ASSERT_GT(count("PRAGMA freelist_count"), 0);
  ASSERT_EQ(rekey(out), 0) << out;
  EXPECT_NE(out.find("key generation now 2"), std::string::npos) << out;
  EXPECT_NE(out.find("identifiers            4"), std::string::npos) << out;
  EXPECT_NE(out.find("link/merge bodies      2"), std::string::npos) << out;
  EXPECT_NE(out.find("back up"), std::string::npos) << out;
  const std::string secret = file_bytes(secret_path());
  ASSERT_EQ(secret.size(), 64u);
  EXPECT_EQ(secret.substr(0, 32), old_secret) << "the generations in use are kept, in order";
  struct stat st{};
  ASSERT_EQ(::stat(secret_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(count("SELECT value FROM store_meta WHERE key='identity_generations'"), 2);
  EXPECT_EQ(identifier_owners(), owners_before);

  // Not one old hash anywhere in the store or its write-ahead log, as bytes or as hex.
  const std::set<std::string> new_hashes = stored_hashes();
  EXPECT_EQ(new_hashes.size(), old_hashes.size());
  for (const auto& h : new_hashes) EXPECT_EQ(old_hashes.count(h), 0u);
  for (const std::string& path : {daemon_->db_path(), daemon_->db_path() + "-wal"}) {
    const std::string bytes = file_bytes(path);
    for (const auto& h : old_hashes) EXPECT_EQ(bytes.find(h), std::string::npos) << path << " still holds an old hash";
  }

  // Back up: every identifier finds its customer, with the same history.
  daemon_->start();
  EXPECT_EQ(visits_of(sara_), 3);
  EXPECT_EQ(visits_of(sara_email_), 3);
  EXPECT_EQ(visits_of(ben_), 4);
  EXPECT_EQ(visits_of(ben_app_), 4);
  EXPECT_EQ(record_of("phone", "+98 912 555 0142"), sara_before);
  EXPECT_EQ(record_of("email", "sara.rekey@example.org"), sara_before);
  EXPECT_EQ(record_of("card", "7788001"), ben_before);
  EXPECT_EQ(count("SELECT count(*) FROM customers"), 2);

  // New events land on the same customers; a rebuild from the log gives the same projections.
  must_record({{"type", "purchase"}, {"customer", sara_email_}, {"lines", {{{"sku", "milk"}, {"qty", 1}, {"unit_price", 120}}}}});
  EXPECT_EQ(visits_of(sara_), 4);
  ASSERT_EQ(ctl("rebuild", out), 0) << out;
  EXPECT_NE(out.find("projections match the event log"), std::string::npos) << out;
  EXPECT_EQ(count("SELECT count(*) FROM customers"), 2);
  EXPECT_EQ(visits_of(ben_app_), 4);

  // The audit trail has it (the exports above came after it).
  const json rekeys = rekey_audit();
  ASSERT_EQ(rekeys.size(), 1u) << ctl_json("audit --json");
  EXPECT_EQ(rekeys[0]["target"], "generation 2");
  EXPECT_EQ(rekeys[0]["actor"].get<std::string>().rfind("uid:", 0), 0u);
  EXPECT_EQ(rekeys[0]["detail"]["identifiers"], 4);
  EXPECT_EQ(rekeys[0]["detail"]["bodies"], 2);

  // And again: generation 3, still everyone.
  const std::set<std::string> second_hashes = stored_hashes();
  stop_daemon();
  ASSERT_EQ(run_command(std::string(REGULARSCTL_PATH) + " --data-dir " + daemon_->data_dir() + " rekey", out), 0) << out;
  EXPECT_NE(out.find("key generation now 3"), std::string::npos) << out;
  EXPECT_EQ(file_bytes(secret_path()).size(), 96u);
  EXPECT_EQ(file_bytes(secret_path()).substr(0, 64), secret);
  for (const auto& h : second_hashes) EXPECT_EQ(file_bytes(daemon_->db_path()).find(h), std::string::npos);
  daemon_->start();
  EXPECT_EQ(visits_of(sara_), 4);
  EXPECT_EQ(visits_of(ben_app_), 4);
  ASSERT_EQ(rekey_audit().size(), 2u);
  EXPECT_EQ(rekey_audit()[0]["target"], "generation 3");
}

TEST_F(Rekey, AKeyFileOlderThanTheStoreIsRefusedAndAnUnusedExtraKeyIsHarmless) {
  customers();
  stop_daemon();
  const std::string old_secret = file_bytes(secret_path());
  std::string out;
  ASSERT_EQ(rekey(out), 0) << out;
  const std::string secret = file_bytes(secret_path());

  // The secret.key of before the re-key, put back: the daemon refuses to start, saying what to do.
  std::ofstream(secret_path(), std::ios::binary | std::ios::trunc) << old_secret;
  try {
    daemon_->start();
    ADD_FAILURE() << "regularsd started with a secret.key that lacks a generation";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("restore secret.key from the backup"), std::string::npos) << e.what();
  }
  // So does rekey, and it changes nothing.
  EXPECT_NE(rekey(out), 0);
  EXPECT_NE(out.find("restore secret.key from the backup"), std::string::npos) << out;
  EXPECT_EQ(file_bytes(secret_path()), old_secret);

  // A re-key that wrote the file and died before its commit: an extra key the store does not
  // use yet. The daemon ignores it; the next re-key replaces it.
  const std::string junk(32, '\x5a');
  std::ofstream(secret_path(), std::ios::binary | std::ios::trunc) << secret << junk;
  daemon_->start();
  EXPECT_EQ(visits_of(sara_), 3);
  EXPECT_EQ(visits_of(ben_app_), 4);
  stop_daemon();
  ASSERT_EQ(rekey(out), 0) << out;
  EXPECT_NE(out.find("key generation now 3"), std::string::npos) << out;
  const std::string now = file_bytes(secret_path());
  ASSERT_EQ(now.size(), 96u);
  EXPECT_EQ(now.substr(0, 64), secret);
  EXPECT_NE(now.substr(64), junk) << "the unused key was replaced by a fresh one";
  daemon_->start();
  EXPECT_EQ(visits_of(sara_email_), 3);
  EXPECT_EQ(visits_of(ben_), 4);
}

}  // namespace
}  // namespace regulars::test
