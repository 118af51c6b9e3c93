// The plugin's durable spool (plugin/spool.hpp), in process: order, torn tails, the size bound,
// files left by other clients, and a flush that fails.
//
// "Another process" is a second Spool on the same directory: flock() locks belong to an open
// file description, so two Spools of one process exclude each other as two processes would.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "spool.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using regulars::plugin::encode_spool_record;
using regulars::plugin::parse_spool_records;
using regulars::plugin::Spool;
using regulars::test::TempDir;

constexpr std::uint64_t kRoomy = 1u << 20;

std::vector<std::string> spool_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("spool-", 0) == 0 && e.path().extension() == ".rsp") out.push_back(e.path().string());
  }
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Appends each payload and expects every append to be acknowledged.
void append_all(Spool& spool, const std::vector<std::string>& payloads) {
  for (const auto& p : payloads) {
    std::string why;
    ASSERT_EQ(spool.append(p, why), REGULARS_OK) << why;
  }
}

// The records of a file left by a client that has gone, as the next client reads them.
std::vector<std::string> claim_records(const Spool& spool, const std::string& path) {
  auto claim = spool.claim(path);
  if (!claim) return {"<not claimed>"};
  return claim->payloads;
}

// ---------------------------------------------------------------------------------------------
// Append and replay

TEST(Spool, AppendedRecordsAreReplayedInOrder) {
  TempDir dir;
  Spool spool(dir.path(), kRoomy);
  append_all(spool, {"first", "second", "third"});
  EXPECT_TRUE(spool.own_has_pending());
  EXPECT_EQ(spool.own_pending(512).payloads, (std::vector<std::string>{"first", "second", "third"}));
}

TEST(Spool, ReplayResumesAfterTheLastDeliveredRecord) {
  TempDir dir;
  Spool spool(dir.path(), kRoomy);
  append_all(spool, {"a", "b", "c", "d", "e"});
  const auto batch = spool.own_pending(2);
  ASSERT_EQ(batch.payloads, (std::vector<std::string>{"a", "b"}));
  spool.own_delivered(batch.end_offset);
  EXPECT_EQ(spool.own_pending(512).payloads, (std::vector<std::string>{"c", "d", "e"}));
}

TEST(Spool, DeliveringEverythingEmptiesTheFileAndLaterRecordsStartAfresh) {
  TempDir dir;
  Spool spool(dir.path(), kRoomy);
  append_all(spool, {"a", "b"});
  spool.own_delivered(spool.own_pending(512).end_offset);
  EXPECT_FALSE(spool.own_has_pending());
  ASSERT_EQ(spool_files(dir.path()).size(), 1u);
  EXPECT_EQ(fs::file_size(spool_files(dir.path())[0]), 0u);
  append_all(spool, {"c"});
  EXPECT_EQ(spool.own_pending(512).payloads, std::vector<std::string>{"c"});
}

TEST(Spool, NoFileIsCreatedBeforeTheFirstRecord) {
  TempDir dir;
  Spool spool(dir.path(), kRoomy);
  EXPECT_FALSE(spool.own_has_pending());
  EXPECT_TRUE(spool_files(dir.path()).empty());
}

TEST(Spool, AMissingDirectoryIsCreatedForTheOwnerOnly) {
  TempDir dir;
  Spool spool(dir.sub("spool"), kRoomy);
  struct stat st{};
  ASSERT_EQ(::stat(dir.sub("spool").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(Spool, MissingParentsAreCreatedForTheOwnerOnlyToo) {
  TempDir dir;
  Spool spool(dir.sub("var/spool/regulars"), kRoomy);
  for (const char* made : {"var", "var/spool", "var/spool/regulars"}) {
    struct stat st{};
    ASSERT_EQ(::stat(dir.sub(made).c_str(), &st), 0) << made;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << made;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << made;
  }
  append_all(spool, {"kept"});
}

TEST(Spool, AFileWhereTheDirectoryShouldBeIsRefused) {
  TempDir dir;
  write_file(dir.sub("not-a-dir"), "x");
  EXPECT_THROW(Spool(dir.sub("not-a-dir"), kRoomy), std::system_error);
}

// ---------------------------------------------------------------------------------------------
// Torn tails: a crash during append leaves part of the last record

TEST(Spool, TornTailAfterACrashLosesOnlyTheTornRecord) {
  TempDir dir;
  {
    Spool crashed(dir.path(), kRoomy);
    append_all(crashed, {"kept-1", "kept-2", "torn-by-the-crash"});
  }  // undelivered records: the file stays, as after a crash
  const auto files = spool_files(dir.path());
  ASSERT_EQ(files.size(), 1u);
  fs::resize_file(files[0], fs::file_size(files[0]) - 5);  // the last append never finished

  Spool next(dir.path(), kRoomy);
  EXPECT_EQ(claim_records(next, files[0]), (std::vector<std::string>{"kept-1", "kept-2"}));
}

TEST(SpoolRecords, EveryCutInsideTheLastRecordKeepsAllTheOthers) {
  const std::string intact = encode_spool_record("one") + encode_spool_record("two");
  const std::string last = encode_spool_record("the last record, torn somewhere");
  for (std::size_t cut = 0; cut < last.size(); ++cut) {
    const auto recs = parse_spool_records(intact + last.substr(0, cut), 0, SIZE_MAX);
    EXPECT_EQ(recs.payloads, (std::vector<std::string>{"one", "two"})) << "cut at " << cut;
    // The torn part is reported (to be quarantined, not deleted) and read past.
    EXPECT_EQ(recs.damaged.size(), cut == 0 ? 0u : 1u) << "cut at " << cut;
    EXPECT_EQ(recs.end_offset, intact.size() + cut) << "cut at " << cut;
  }
}

TEST(SpoolRecords, ALastRecordWithADamagedByteIsDropped) {
  const std::string intact = encode_spool_record("one");
  const std::string last = encode_spool_record("two");
  for (std::size_t i = 0; i < last.size(); ++i) {
    std::string damaged = last;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x20);
    EXPECT_EQ(parse_spool_records(intact + damaged, 0, SIZE_MAX).payloads, std::vector<std::string>{"one"})
        << "byte " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Damage inside a file (issue 19, item 2): the replay resynchronises on the next record marker,
// keeps every intact record, and moves the damaged bytes to DIR/quarantine/ instead of deleting.

std::vector<std::string> hundred_payloads() {
  std::vector<std::string> out;
  for (int i = 0; i < 100; ++i) out.push_back("event-" + std::to_string(i) + std::string(40 + i % 7, 'x'));
  return out;
}

std::string quarantined_bytes(const std::string& dir) {
  std::string all;
  if (!fs::exists(dir + "/quarantine")) return all;
  for (const auto& e : fs::directory_iterator(dir + "/quarantine"))
    if (e.path().extension() == ".bad") {
      std::ifstream in(e.path(), std::ios::binary);
      all += std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  return all;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(SpoolDamage, AFlippedBitInRecordElevenLosesOnlyThatRecordAndQuarantinesIt) {
  TempDir dir;
  const auto payloads = hundred_payloads();
  std::string left;
  {
    Spool gone(dir.path(), kRoomy);
    append_all(gone, payloads);
    left = spool_files(dir.path()).at(0);
  }
  std::string bytes = read_whole(left);
  std::size_t at = 0;
  for (int i = 0; i < 10; ++i) at += encode_spool_record(payloads[i]).size();
  const std::string damaged_record = encode_spool_record(payloads[10]);
  bytes[at + 12 + 5] ^= 0x04;  // one bit of record 11's payload
  const std::string damaged_on_disk = bytes.substr(at, damaged_record.size());
  write_file(left, bytes);

  Spool next(dir.path(), kRoomy);
  auto claim = next.claim(left);
  ASSERT_NE(claim, nullptr);
  std::vector<std::string> expected = payloads;
  expected.erase(expected.begin() + 10);
  EXPECT_EQ(claim->payloads, expected) << "the 99 intact records are replayed";
  claim->finish();
  EXPECT_FALSE(fs::exists(left));
  EXPECT_EQ(quarantined_bytes(dir.path()), damaged_on_disk) << "the damaged bytes are kept, not deleted";
  const std::string log = read_whole(dir.path() + "/quarantine/quarantine.log");
  EXPECT_TRUE(contains(log, std::to_string(damaged_record.size()) + " bytes")) << log;
  EXPECT_TRUE(contains(log, "1 record")) << log;
}

TEST(SpoolRecords, DamageAnywhereInARecordSkipsOnlyThatRecord) {
  const std::string before = encode_spool_record("one") + encode_spool_record("two");
  const std::string middle = encode_spool_record("three, to be damaged");
  const std::string after = encode_spool_record("four") + encode_spool_record("five");
  for (std::size_t i = 0; i < middle.size(); ++i) {
    std::string damaged = middle;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    const auto recs = parse_spool_records(before + damaged + after, 0, SIZE_MAX);
    EXPECT_EQ(recs.payloads, (std::vector<std::string>{"one", "two", "four", "five"})) << "byte " << i;
    ASSERT_EQ(recs.damaged.size(), 1u) << "byte " << i;
    EXPECT_EQ(recs.damaged[0].offset, before.size()) << "byte " << i;
    EXPECT_EQ(recs.damaged[0].bytes, middle.size()) << "byte " << i;
    EXPECT_EQ(recs.end_offset, before.size() + middle.size() + after.size());
  }
}

TEST(SpoolRecords, GarbageBetweenRecordsIsReportedAndSkipped) {
  const std::string a = encode_spool_record("a"), b = encode_spool_record("b");
  const auto recs = parse_spool_records(a + "not a record at all" + b, 0, SIZE_MAX);
  EXPECT_EQ(recs.payloads, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(recs.damaged.size(), 1u);
  EXPECT_EQ(recs.damaged[0].offset, a.size());
  EXPECT_EQ(recs.damaged[0].bytes, 19u);
}

TEST(SpoolDamage, DamageInTheOwnFileIsQuarantinedOnceAndTheRestReplayed) {
  TempDir dir;
  Spool spool(dir.path(), kRoomy);
  append_all(spool, {"a", "b", "c"});
  const std::string own = spool_files(dir.path()).at(0);
  {
    std::fstream f(own, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(encode_spool_record("a").size() + 12));
    f.put('B');  // "b" becomes "B": its checksum no longer matches
  }
  const auto first = spool.own_pending(512);
  EXPECT_EQ(first.payloads, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(spool.own_pending(512).payloads, first.payloads);  // asked again before delivery
  spool.own_delivered(first.end_offset);
  EXPECT_FALSE(spool.own_has_pending());
  EXPECT_EQ(quarantined_bytes(dir.path()), "RGS1" + encode_spool_record("b").substr(4, 8) + "B");
}

// ---------------------------------------------------------------------------------------------
// The size bound

TEST(Spool, ARecordOverTheBoundGivesSpoolFullAndKeepsTheOthers) {
  TempDir dir;
  Spool spool(dir.path(), 4096);
  const std::string kilobyte(1000, 'k');  // 1012 bytes with its header: four fit in 4096
  append_all(spool, {kilobyte, kilobyte, kilobyte, kilobyte});
  std::string why;
  EXPECT_EQ(spool.append(kilobyte, why), REGULARS_SPOOL_FULL);
  EXPECT_TRUE(contains(why, "4096")) << why;
  EXPECT_EQ(spool.bytes_used(), 4 * 1012u);
  EXPECT_EQ(spool.own_pending(512).payloads.size(), 4u);
}

TEST(Spool, DeliveredRecordsMakeRoomUnderTheBound) {
  TempDir dir;
  Spool spool(dir.path(), 4096);
  const std::string kilobyte(1000, 'k');
  append_all(spool, {kilobyte, kilobyte, kilobyte, kilobyte});
  spool.own_delivered(spool.own_pending(512).end_offset);
  EXPECT_EQ(spool.bytes_used(), 0u);
  append_all(spool, {kilobyte});
}

TEST(Spool, TheBoundCountsFilesLeftByOtherClients) {
  TempDir dir;
  const std::string kilobyte(1000, 'k');
  {
    Spool gone(dir.path(), 4096);
    append_all(gone, {kilobyte, kilobyte, kilobyte});
  }
  Spool spool(dir.path(), 4096);
  EXPECT_EQ(spool.bytes_used(), 3 * 1012u);
  append_all(spool, {kilobyte});
  std::string why;
  EXPECT_EQ(spool.append(kilobyte, why), REGULARS_SPOOL_FULL);

  // Once the orphan is replayed and removed, its room is free again.
  auto claim = spool.claim(spool.orphan_files().at(0));
  ASSERT_NE(claim, nullptr);
  claim->finish();
  spool.refresh_usage();
  append_all(spool, {kilobyte});
}

// ---------------------------------------------------------------------------------------------
// Several spool files: the own file of each live client, and orphans of clients that have gone

TEST(Spool, ClosingWithUndeliveredRecordsLeavesThemForTheNextClient) {
  TempDir dir;
  std::string left;
  {
    Spool first(dir.path(), kRoomy);
    append_all(first, {"undelivered-1", "undelivered-2"});
    left = spool_files(dir.path()).at(0);
  }
  Spool next(dir.path(), kRoomy);
  EXPECT_FALSE(next.own_has_pending());  // not its own file: it is replayed as an orphan
  EXPECT_EQ(next.orphan_files(), std::vector<std::string>{left});
  EXPECT_EQ(claim_records(next, left), (std::vector<std::string>{"undelivered-1", "undelivered-2"}));
}

TEST(Spool, ClosingWithEverythingDeliveredRemovesTheFile) {
  TempDir dir;
  {
    Spool spool(dir.path(), kRoomy);
    append_all(spool, {"a"});
    spool.own_delivered(spool.own_pending(512).end_offset);
  }
  EXPECT_TRUE(spool_files(dir.path()).empty());
}

TEST(Spool, TheFileOfALiveClientCannotBeClaimed) {
  TempDir dir;
  Spool live(dir.path(), kRoomy);
  append_all(live, {"still being sent by its own client"});
  Spool other(dir.path(), kRoomy);
  EXPECT_EQ(other.claim(spool_files(dir.path()).at(0)), nullptr);
}

TEST(Spool, AnOrphanIsClaimedByOneClientAtATimeAndGoneOnceFinished) {
  TempDir dir;
  { Spool gone(dir.path(), kRoomy); append_all(gone, {"orphaned"}); }
  const std::string path = spool_files(dir.path()).at(0);
  Spool a(dir.path(), kRoomy);
  Spool b(dir.path(), kRoomy);
  auto claim = a.claim(path);
  ASSERT_NE(claim, nullptr);
  EXPECT_EQ(b.claim(path), nullptr) << "two clients replaying one orphan would send it twice";
  claim->finish();
  claim.reset();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(b.claim(path), nullptr);
}

TEST(Spool, AnOrphanWhoseReplayFailedCanBeClaimedAgain) {
  TempDir dir;
  { Spool gone(dir.path(), kRoomy); append_all(gone, {"orphaned"}); }
  const std::string path = spool_files(dir.path()).at(0);
  Spool spool(dir.path(), kRoomy);
  spool.claim(path).reset();  // delivery failed: the claim ends without finish()
  EXPECT_EQ(claim_records(spool, path), std::vector<std::string>{"orphaned"});
}

TEST(Spool, OrphansAreListedOldestFirstAndOtherFilesAreIgnored) {
  TempDir dir;
  const std::string older = dir.sub("spool-222-00000000000000bb.rsp");
  const std::string newer = dir.sub("spool-111-00000000000000aa.rsp");
  write_file(newer, encode_spool_record("newer"));
  write_file(older, encode_spool_record("older"));
  write_file(dir.sub("local.key"), std::string(32, 'k'));
  write_file(dir.sub("spool-notes.txt"), "not a spool file");
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(older, now - std::chrono::hours(2));
  fs::last_write_time(newer, now - std::chrono::hours(1));
  Spool spool(dir.path(), kRoomy);
  EXPECT_EQ(spool.orphan_files(), (std::vector<std::string>{older, newer}));
}

// ---------------------------------------------------------------------------------------------
// A flush that fails: the record is not durable, so it must not be acknowledged

TEST(SpoolFlush, AFailedFlushIsAnIoErrorAndLeavesNoRecord) {
  TempDir dir;
  Spool spool(dir.path(), kRoomy, [](int) {
    errno = EIO;
    return -1;
  });
  std::string why;
  EXPECT_EQ(spool.append("not durable", why), REGULARS_IO);
  EXPECT_TRUE(contains(why, "fsync")) << why;
  EXPECT_FALSE(spool.own_has_pending());
  EXPECT_EQ(spool.bytes_used(), 0u);
  for (const auto& f : spool_files(dir.path())) EXPECT_EQ(fs::file_size(f), 0u) << f;
}

TEST(SpoolFlush, RecordsAroundAFailedFlushAreKept) {
  TempDir dir;
  std::atomic<bool> failing{false};
  std::string left;
  {
    Spool spool(dir.path(), kRoomy, [&](int fd) {
      if (!failing.load()) return ::fdatasync(fd);
      errno = EIO;
      return -1;
    });
    append_all(spool, {"before"});
    failing = true;
    std::string why;
    EXPECT_EQ(spool.append("lost", why), REGULARS_IO);
    failing = false;
    append_all(spool, {"after"});
    EXPECT_EQ(spool.own_pending(512).payloads, (std::vector<std::string>{"before", "after"}));
    left = spool_files(dir.path()).at(0);
  }
  Spool next(dir.path(), kRoomy);  // and so on disk, for the next client
  EXPECT_EQ(claim_records(next, left), (std::vector<std::string>{"before", "after"}));
}

}  // namespace
