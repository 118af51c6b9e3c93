// The daemon's RSA spool key (daemon/till/rsa_spool_key.hpp), which Windows tills seal to: the
// files it keeps, and opening both wrappings (OAEP, and PKCS#1 v1.5 with implicit rejection)
// of records built as sdk/wire/sealed.hpp describes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "till/rsa_spool_key.hpp"
#include "wire/sealed.hpp"

namespace {

namespace d = regulars::daemon;
namespace fs = std::filesystem;
namespace S = regulars::wire::sealed;

class RsaSpoolKeyDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "regulars-rsa-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The public key once the key has been made (its thread runs at most a few seconds).
  static std::string made(const d::RsaSpoolKey& key) {
    for (int i = 0; i < 1000 && key.public_text().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return key.public_text();
  }
  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static unsigned mode_of(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777u : 0xffffu;
  }
  std::string dir_;
};

TEST_F(RsaSpoolKeyDir, MakesThePrivateKeyPrivateKeepsItAndOpensBothWrappings) {
  std::string pub;
  {
    const d::RsaSpoolKey key(dir_);
    pub = made(key);
    ASSERT_FALSE(pub.empty());
    for (const unsigned char version : {S::kRsaOaepVersion, S::kRsaPkcs1Version}) {
      const auto opened = key.open(d::RsaSpoolKey::seal(pub, "{\"type\":\"purchase\"}", version));
      ASSERT_TRUE(opened) << int{version};
      EXPECT_EQ(*opened, "{\"type\":\"purchase\"}");
    }
  }
  EXPECT_EQ(mode_of(dir_ + "/spool_rsa.key"), 0600u);
  EXPECT_EQ(mode_of(dir_ + "/spool_rsa.pub"), 0644u);
  EXPECT_EQ(read_file(dir_ + "/spool_rsa.pub"), pub + "\n");
  EXPECT_EQ(read_file(dir_ + "/spool_rsa.key").rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  // A restart loads the same key, at once, and opens what was sealed before it.
  const std::string sealed = d::RsaSpoolKey::seal(pub, "kept", S::kRsaPkcs1Version);
  const d::RsaSpoolKey again(dir_);
  EXPECT_EQ(again.public_text(), pub);
  EXPECT_EQ(again.open(sealed).value_or("(not opened)"), "kept");
}

TEST_F(RsaSpoolKeyDir, AlteredSwappedOrForeignRecordsDoNotOpen) {
  const d::RsaSpoolKey key(dir_);
  const std::string pub = made(key);
  ASSERT_FALSE(pub.empty());
  const std::string sealed = d::RsaSpoolKey::seal(pub, "an event", S::kRsaOaepVersion);
  ASSERT_EQ(sealed.size(), S::kRsaOverhead + 8);
  // Every byte matters: version, length, wrapped key, nonce, ciphertext and tag.
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(key.open(bad)) << "byte " << i;
  }
  // The wrapping named by the version byte is authenticated: OAEP read as PKCS#1 fails.
  std::string swapped = sealed;
  swapped[0] = static_cast<char>(S::kRsaPkcs1Version);
  EXPECT_FALSE(key.open(swapped));
  EXPECT_FALSE(key.open(sealed.substr(0, sealed.size() - 1)));
  EXPECT_FALSE(key.open(sealed.substr(0, S::kRsaOverhead - 1)));
  // Sealed to another installation's key.
  const std::string other_dir = dir_ + "/other";
  fs::create_directory(other_dir);
  const d::RsaSpoolKey other(other_dir);
  const std::string other_pub = made(other);
  ASSERT_FALSE(other_pub.empty());
  ASSERT_NE(other_pub, pub);
  EXPECT_FALSE(key.open(d::RsaSpoolKey::seal(other_pub, "not ours", S::kRsaPkcs1Version)));
  EXPECT_FALSE(key.open(d::RsaSpoolKey::seal(other_pub, "not ours", S::kRsaOaepVersion)));
}

TEST_F(RsaSpoolKeyDir, AKeyFileOthersCanReadOrADamagedOneStopsTheStart) {
  {
    const d::RsaSpoolKey key(dir_);
    ASSERT_FALSE(made(key).empty());
  }
  ASSERT_EQ(::chmod((dir_ + "/spool_rsa.key").c_str(), 0644), 0);
  try {
    d::RsaSpoolKey key(dir_);
    ADD_FAILURE() << "a key others can read was used";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
  }
  std::ofstream(dir_ + "/spool_rsa.key", std::ios::trunc) << "-----BEGIN PRIVATE KEY-----\nbroken\n";
  ASSERT_EQ(::chmod((dir_ + "/spool_rsa.key").c_str(), 0600), 0);
  try {
    d::RsaSpoolKey key(dir_);
    ADD_FAILURE() << "a damaged key was used";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
}

}  // namespace

namespace {

// A Windows till wraps one record key per process: the daemon unwraps it once (an RSA operation
// on an I/O thread) and opens the rest of that till's records with AES alone.
TEST_F(RsaSpoolKeyDir, EachWrappedKeyIsUnwrappedOnce) {
  const d::RsaSpoolKey key(dir_);
  const std::string pub = made(key);
  ASSERT_FALSE(pub.empty());
  const std::string first = d::RsaSpoolKey::seal(pub, "one", S::kRsaPkcs1Version);
  // The same wrapped key and a fresh nonce, as the plugin seals its next record.
  std::string second = d::RsaSpoolKey::seal(pub, "two", S::kRsaPkcs1Version);
  ASSERT_TRUE(key.open(first));
  ASSERT_TRUE(key.open(second));
  EXPECT_EQ(key.unwraps(), 2u);
  ASSERT_TRUE(key.open(first));
  ASSERT_TRUE(key.open(second));
  EXPECT_EQ(key.unwraps(), 2u) << "a wrapping seen before is not unwrapped again";
  // A bad wrapping is remembered too, with the key implicit rejection gave it: the same answer
  // every time, and no second RSA operation.
  std::string bad = first;
  bad[10] = static_cast<char>(bad[10] ^ 0x40);
  EXPECT_FALSE(key.open(bad));
  EXPECT_FALSE(key.open(bad));
  EXPECT_EQ(key.unwraps(), 3u);
}

}  // namespace
