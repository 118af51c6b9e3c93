// The identity key's generations: the chained hash, and which generations load_or_create uses
// for the store beside the secret file (daemon/memory/identity.hpp).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "db/db.hpp"
#include "memory/identity.hpp"
#include "owner/rekey.hpp"

namespace {

namespace d = regulars::daemon;
namespace fs = std::filesystem;

d::IdentitySecret secret_of(std::uint8_t seed) {
  d::IdentitySecret s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return s;
}

// HMAC-SHA256 computed here, independently of the daemon's code.
d::IdentifierHash hmac(const d::IdentitySecret& key, const std::string& msg) {
  d::IdentifierHash out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
       out.data(), &len);
  return out;
}
std::string bytes(const d::IdentifierHash& h) { return std::string(h.begin(), h.end()); }
const std::string kMessage = std::string("phone") + '\0' + "+989121234567";

class DataDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "regulars-identity-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_secret(const std::vector<d::IdentitySecret>& keys, mode_t mode = 0600, std::size_t extra_bytes = 0) {
    const std::string path = dir_ + "/secret.key";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const auto& k : keys) out.write(reinterpret_cast<const char*>(k.data()), static_cast<std::streamsize>(k.size()));
    out << std::string(extra_bytes, 'x');
    out.close();
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  // A real store (every migration) at `generations`, or without the row when 0.
  void make_store(int generations) {
    d::Db db(dir_ + "/regulars.db", d::Db::Mode::read_write);
    d::migrate(db);
    if (generations > 0)
      db.exec("INSERT INTO store_meta VALUES ('identity_generations', " + std::to_string(generations) + ")");
  }
  std::string load_error() {
    try {
      d::IdentityKey::load_or_create(dir_);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_;
};

TEST(IdentityKeyChain, OneGenerationIsPlainHmac) {
  const d::IdentityKey key(secret_of(1));
  EXPECT_EQ(key.generations(), 1u);
  EXPECT_EQ(bytes(key.hash("phone", "+989121234567")), bytes(hmac(secret_of(1), kMessage)));
  EXPECT_EQ(bytes(d::IdentityKey({secret_of(1)}).hash("phone", "+989121234567")), bytes(hmac(secret_of(1), kMessage)));
}

TEST(IdentityKeyChain, TwoAndThreeGenerationsChainTheHmac) {
  const auto h1 = hmac(secret_of(1), kMessage);
  const auto h2 = hmac(secret_of(2), bytes(h1));
  const auto h3 = hmac(secret_of(3), bytes(h2));
  EXPECT_EQ(bytes(d::IdentityKey({secret_of(1), secret_of(2)}).hash("phone", "+989121234567")), bytes(h2));
  EXPECT_EQ(bytes(d::IdentityKey({secret_of(1), secret_of(2), secret_of(3)}).hash("phone", "+989121234567")), bytes(h3));
  // A re-key applies one link to what is stored: the same as hashing with the longer chain.
  EXPECT_EQ(bytes(d::IdentityKey::chain(secret_of(2), d::IdentityKey(secret_of(1)).hash("phone", "+989121234567"))), bytes(h2));
  EXPECT_THROW(d::IdentityKey(std::vector<d::IdentitySecret>{}), std::invalid_argument);
}

// Each thread keeps a few keyed HMAC contexts: more secrets than it keeps, used in turn and from
// two threads, must each still hash as a plain HMAC under that secret.
TEST(IdentityKeyChain, ManySecretsAndThreadsEachHashUnderTheirOwn) {
  auto check_all = [] {
    for (int round = 0; round < 3; ++round)
      for (std::uint8_t seed = 1; seed <= 20; ++seed) {
        const std::string value = "+98912" + std::to_string(1000000 + seed * 7 + round);
        const std::string message = std::string("phone") + '\0' + value;
        if (bytes(d::IdentityKey(secret_of(seed)).hash("phone", value)) != bytes(hmac(secret_of(seed), message))) return false;
      }
    return true;
  };
  bool other_thread_ok = false;
  std::thread other([&] { other_thread_ok = check_all(); });
  const bool this_thread_ok = check_all();
  other.join();
  EXPECT_TRUE(this_thread_ok);
  EXPECT_TRUE(other_thread_ok);
}

TEST_F(DataDir, FirstStartCreatesOneGenerationOwnerOnly) {
  const d::IdentityKey key = d::IdentityKey::load_or_create(dir_);
  EXPECT_EQ(key.generations(), 1u);
  struct stat st{};
  ASSERT_EQ(::stat((dir_ + "/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(dir_ + "/secret.key.tmp"));
  // Loaded again: the same key.
  EXPECT_EQ(bytes(d::IdentityKey::load_or_create(dir_).hash("card", "1")), bytes(key.hash("card", "1")));
}

TEST_F(DataDir, AnOldSingleKeyFileKeepsWorking) {
  write_secret({secret_of(1)});
  make_store(0);  // a store from before re-keying existed: no identity_generations row
  EXPECT_EQ(bytes(d::IdentityKey::load_or_create(dir_).hash("phone", "+989121234567")), bytes(hmac(secret_of(1), kMessage)));
}

TEST_F(DataDir, TwoKeysWithTheStoreAtGenerationOneUseOnlyTheFirst) {
  // What a re-key that died before its commit leaves behind.
  write_secret({secret_of(1), secret_of(2)});
  make_store(1);
  const d::IdentityKey key = d::IdentityKey::load_or_create(dir_);
  EXPECT_EQ(key.generations(), 1u);
  EXPECT_EQ(bytes(key.hash("phone", "+989121234567")), bytes(hmac(secret_of(1), kMessage)));
}

TEST_F(DataDir, TwoKeysWithTheStoreAtGenerationTwoChainBoth) {
  write_secret({secret_of(1), secret_of(2)});
  make_store(2);
  const d::IdentityKey key = d::IdentityKey::load_or_create(dir_);
  EXPECT_EQ(key.generations(), 2u);
  EXPECT_EQ(bytes(key.hash("phone", "+989121234567")), bytes(hmac(secret_of(2), bytes(hmac(secret_of(1), kMessage)))));
}

TEST_F(DataDir, FewerKeysThanTheStoreNeedsAreRefused) {
  write_secret({secret_of(1), secret_of(2)});
  make_store(3);
  const std::string error = load_error();
  EXPECT_NE(error.find("holds 2 key generation(s)"), std::string::npos) << error;
  EXPECT_NE(error.find("restore secret.key from the backup"), std::string::npos) << error;
}

TEST_F(DataDir, AMissingFileIsNotRecreatedForARekeyedStore) {
  make_store(2);
  const std::string error = load_error();
  EXPECT_NE(error.find("restore secret.key"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir_ + "/secret.key")) << "a fresh key would silently lose every customer";
}

TEST_F(DataDir, AMissingFileIsNotRecreatedForAStoreThatKnowsCustomers) {
  make_store(0);
  {
    d::Db db(dir_ + "/regulars.db", d::Db::Mode::read_write);
    db.exec("INSERT INTO customers(id, created_ms) VALUES (1, 0)");
    db.exec("INSERT INTO identifiers VALUES ('phone', x'00', 1, 0)");
  }
  const std::string error = load_error();
  EXPECT_NE(error.find("restore secret.key"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir_ + "/secret.key"));
}

TEST_F(DataDir, AStoreWithoutCustomersGetsAFreshSecret) {
  make_store(0);
  EXPECT_EQ(load_error(), "");
  EXPECT_TRUE(fs::exists(dir_ + "/secret.key"));
}

TEST_F(DataDir, ADamagedFileIsRefused) {
  write_secret({secret_of(1)}, 0600, 8);  // 40 bytes
  EXPECT_NE(load_error().find("damaged (40 bytes"), std::string::npos) << load_error();
  write_secret({}, 0600, 16);  // shorter than one key
  EXPECT_NE(load_error().find("restore secret.key"), std::string::npos) << load_error();
  write_secret({});
  EXPECT_NE(load_error().find("damaged (0 bytes"), std::string::npos) << load_error();
}

TEST_F(DataDir, AFileReadableByOthersIsRefused) {
  write_secret({secret_of(1)}, 0644);
  EXPECT_NE(load_error().find("chmod 600"), std::string::npos) << load_error();
  write_secret({secret_of(1), secret_of(2)}, 0640);
  EXPECT_NE(load_error().find("readable by others"), std::string::npos) << load_error();
}

TEST_F(DataDir, WritingSecretsReplacesTheFileWhole) {
  write_secret({secret_of(1)}, 0600);
  d::write_identity_secrets(dir_ + "/secret.key", {secret_of(1), secret_of(2)});
  const auto read = d::read_identity_secrets(dir_ + "/secret.key");
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[1], secret_of(2));
  struct stat st{};
  ASSERT_EQ(::stat((dir_ + "/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// rekey knows which columns hold hashes as of one schema version; a new migration must be
// checked for hashes (and kRekeySchemaVersion moved) before rekey accepts stores that have it.
TEST_F(DataDir, RekeyCoversTheCurrentSchema) {
  d::Db db(dir_ + "/regulars.db", d::Db::Mode::read_write);
  d::migrate(db);
  EXPECT_EQ(d::schema_version(db), d::kRekeySchemaVersion)
      << "a migration was added: if it stores an identifier hash anywhere, re-hash it in daemon/owner/rekey.cpp, then update "
         "kRekeySchemaVersion";
}

}  // namespace
