// Sealed spool records (sdk/wire/sealed.hpp): the strict base64 the "sealed" field travels in
// (sdk/wire/base64.cpp), and the daemon's spool key (daemon/till/spool_key.hpp): the files
// load_or_create keeps in the data directory, and seal/open, including records built here with
// OpenSSL directly from the documented format.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "till/spool_key.hpp"
#include "wire/hex.hpp"
#include "wire/sealed.hpp"

namespace {

namespace d = regulars::daemon;
namespace fs = std::filesystem;
namespace S = regulars::wire::sealed;
using regulars::wire::base64_decode;
using regulars::wire::base64_encode;
using PublicKey = std::array<std::uint8_t, 32>;

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(byte(rng));
  return s;
}

// ---------------------------------------------------------------------------------------------
// base64

TEST(Base64, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, text] : vectors) {
    EXPECT_EQ(base64_encode(plain), text) << plain;
    const auto back = base64_decode(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, plain) << text;
  }
}

TEST(Base64, AllByteValuesAndTheWholeAlphabet) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string text = base64_encode(all);
  EXPECT_EQ(text.substr(0, 8), "AAECAwQF");
  EXPECT_EQ(text.substr(text.size() - 4), "/w==");
  EXPECT_EQ(base64_decode(text), all);
  // Every character of the alphabet, in order, is 48 bytes that encode back to the same text.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto bytes = base64_decode(alphabet);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->size(), 48u);
  EXPECT_EQ(base64_encode(*bytes), alphabet);
}

TEST(Base64, RandomBinaryRoundTripsAtEveryLength) {
  std::mt19937 rng(20261123);
  for (std::size_t n = 0; n <= 300; ++n) {
    const std::string bytes = random_bytes(rng, n);
    const std::string text = base64_encode(bytes);
    EXPECT_EQ(text.size(), (n + 2) / 3 * 4) << n;
    EXPECT_EQ(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
              std::string::npos);
    const auto back = base64_decode(text);
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, bytes) << n;
  }
}

TEST(Base64, RefusesWrongLength) {
  for (const char* text : {"Z", "Zg", "Zg=", "Zm9", "Zm9vY", "Zm9vYg", "Zm9vYg=", "Zg===", "Zm9vYmFy=", "="})
    EXPECT_FALSE(base64_decode(text).has_value()) << text;
}

TEST(Base64, RefusesCharactersOutsideTheAlphabet) {
  for (const std::string text : {"Zm9!", "Zm 9", " Zm9v", "Zm9v\n", "Zm9-", "Zm9_", "Zm\t9", "Zm9v\r\n==",
                                 "Zm.v", "Zm9v*A==", "\xc3\xa9\xc3\xa9"})
    EXPECT_FALSE(base64_decode(text).has_value()) << text;
  EXPECT_FALSE(base64_decode(std::string("Zm9\0", 4)).has_value());
  EXPECT_FALSE(base64_decode(std::string("\0\0\0\0", 4)).has_value());
  // Every byte outside the alphabet (and '=' where it cannot be) is refused in every position.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int c = 0; c < 256; ++c) {
    if (alphabet.find(static_cast<char>(c)) != std::string::npos || c == '=') continue;
    for (std::size_t pos = 0; pos < 8; ++pos) {
      std::string text = "Zm9vYmFy";
      text[pos] = static_cast<char>(c);
      EXPECT_FALSE(base64_decode(text).has_value()) << "byte " << c << " at " << pos;
    }
  }
}

TEST(Base64, RefusesPaddingAnywhereButTheEnd) {
  for (const char* text : {"Zg==Zm9v", "Zm8=Zm9v", "Z=g=", "=Zm9", "Zm=v", "Zg=A", "====", "Zm9v====", "A===",
                           "Zm9vYg==Zg==", "Zm9v=m9v"})
    EXPECT_FALSE(base64_decode(text).has_value()) << text;
}

TEST(Base64, RefusesNonCanonicalPaddingBits) {
  EXPECT_EQ(base64_decode("Zg=="), std::optional<std::string>("f"));
  EXPECT_EQ(base64_decode("Zm8="), std::optional<std::string>("fo"));
  EXPECT_FALSE(base64_decode("Zh==").has_value());
  EXPECT_FALSE(base64_decode("Zm9=").has_value());
  // Exhaustively: with two '=' the last character's low four bits must be zero, with one '='
  // its low two bits; every text accepted encodes back to itself (one text per byte string).
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t v = 0; v < 64; ++v) {
    const std::string two = std::string("Z") + alphabet[v] + "==";
    const auto a = base64_decode(two);
    EXPECT_EQ(a.has_value(), (v & 0xf) == 0) << two;
    if (a) {
      EXPECT_EQ(base64_encode(*a), two);
    }
    const std::string one = std::string("Zm") + alphabet[v] + "=";
    const auto b = base64_decode(one);
    EXPECT_EQ(b.has_value(), (v & 0x3) == 0) << one;
    if (b) {
      EXPECT_EQ(base64_encode(*b), one);
    }
    // The same rule holds after full groups.
    EXPECT_EQ(base64_decode("Zm9v" + two).has_value(), (v & 0xf) == 0);
    EXPECT_EQ(base64_decode("Zm9v" + one).has_value(), (v & 0x3) == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// The spool key's files

class SpoolKeyDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "regulars-sealed-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string key_path() const { return dir_ + "/spool.key"; }
  std::string pub_path() const { return dir_ + "/spool.pub"; }

  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static unsigned mode_of(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return 0xffffu;
    return st.st_mode & 07777u;
  }
  void write_key(const std::string& bytes, mode_t mode) {
    {
      std::ofstream out(key_path(), std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    ASSERT_EQ(::chmod(key_path().c_str(), mode), 0);
  }
  std::string load_error() {
    try {
      (void)d::SpoolKey::load_or_create(dir_);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_;
};

PublicKey from_hex(const std::string& hex) {
  const auto key = regulars::wire::hex_decode_array<32>(hex);
  EXPECT_TRUE(key) << hex;
  return key.value_or(PublicKey{});
}

TEST_F(SpoolKeyDir, CreatesThePrivateKeyPrivateAndThePublicKeyReadable) {
  const mode_t old_umask = ::umask(0);  // the modes must not depend on the umask
  const d::SpoolKey key = d::SpoolKey::load_or_create(dir_);
  ::umask(old_umask);
  ASSERT_TRUE(fs::exists(key_path()));
  EXPECT_EQ(mode_of(key_path()), 0600u);
  EXPECT_EQ(read_file(key_path()).size(), 32u);
  ASSERT_TRUE(fs::exists(pub_path()));
  EXPECT_EQ(mode_of(pub_path()), 0644u);
  const std::string pub = read_file(pub_path());
  ASSERT_EQ(pub.size(), 65u);
  EXPECT_EQ(pub.back(), '\n');
  EXPECT_EQ(pub.find_first_not_of("0123456789abcdef"), 64u);
  EXPECT_EQ(pub.substr(0, 64), key.public_hex());
  // No temporary file is left behind.
  EXPECT_FALSE(fs::exists(key_path() + ".tmp"));
  EXPECT_FALSE(fs::exists(pub_path() + ".tmp"));
}

TEST_F(SpoolKeyDir, ASecondLoadGivesTheSameKey) {
  std::string first_hex;
  {
    const d::SpoolKey first = d::SpoolKey::load_or_create(dir_);
    first_hex = first.public_hex();
  }
  const std::string private_bytes = read_file(key_path());
  const d::SpoolKey second = d::SpoolKey::load_or_create(dir_);
  EXPECT_EQ(second.public_hex(), first_hex);
  EXPECT_EQ(read_file(key_path()), private_bytes);
  EXPECT_EQ(read_file(pub_path()), first_hex + "\n");
  // And it opens what was sealed to the first load's public key.
  const auto opened = second.open(d::SpoolKey::seal(from_hex(first_hex), "still mine"));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "still mine");
}

TEST_F(SpoolKeyDir, RewritesAMissingOrStalePublicFile) {
  std::string hex;
  {
    const d::SpoolKey first = d::SpoolKey::load_or_create(dir_);
    hex = first.public_hex();
  }
  {
    std::ofstream out(pub_path(), std::ios::trunc);
    out << std::string(64, '0') << "\n";
  }
  (void)d::SpoolKey::load_or_create(dir_);
  EXPECT_EQ(read_file(pub_path()), hex + "\n");
  fs::remove(pub_path());
  (void)d::SpoolKey::load_or_create(dir_);
  EXPECT_EQ(read_file(pub_path()), hex + "\n");
  EXPECT_EQ(mode_of(pub_path()), 0644u);
}

TEST_F(SpoolKeyDir, RefusesAKeyOthersCanRead) {
  {
    const d::SpoolKey first = d::SpoolKey::load_or_create(dir_);
  }
  for (const mode_t mode : {0644, 0640, 0604, 0660}) {
    ASSERT_EQ(::chmod(key_path().c_str(), mode), 0);
    const std::string err = load_error();
    EXPECT_NE(err.find("chmod"), std::string::npos) << std::oct << mode << ": " << err;
    EXPECT_NE(err.find(key_path()), std::string::npos) << err;
  }
  ASSERT_EQ(::chmod(key_path().c_str(), 0400), 0);
  EXPECT_EQ(load_error(), "");
}

TEST_F(SpoolKeyDir, RefusesATruncatedKey) {
  const std::string key(32, '\x42');
  for (const std::size_t n : {0, 1, 16, 31}) {
    write_key(key.substr(0, n), 0600);
    const std::string err = load_error();
    EXPECT_NE(err.find("damaged"), std::string::npos) << n << ": " << err;
  }
  // The file is not replaced: the key that tills sealed to may still be recovered.
  EXPECT_EQ(read_file(key_path()).size(), 31u);
}

TEST_F(SpoolKeyDir, RefusesAKeyWithTrailingBytes) {
  write_key(std::string(33, '\x42'), 0600);
  EXPECT_NE(load_error().find("damaged"), std::string::npos);
}

TEST_F(SpoolKeyDir, LoadsAnExistingKeyFile) {
  // Any 32 bytes are an X25519 private key (clamped when used).
  write_key(std::string(32, '\x42'), 0600);
  const d::SpoolKey a = d::SpoolKey::load_or_create(dir_);
  EXPECT_EQ(a.public_hex().size(), 64u);
  EXPECT_NE(a.public_hex(), std::string(64, '0'));
  const d::SpoolKey b = d::SpoolKey::load_or_create(dir_);
  EXPECT_EQ(a.public_hex(), b.public_hex());
}

// ---------------------------------------------------------------------------------------------
// seal / open

TEST_F(SpoolKeyDir, SealOpenRoundTrip) {
  const d::SpoolKey key = d::SpoolKey::load_or_create(dir_);
  const PublicKey pub = from_hex(key.public_hex());
  std::mt19937 rng(7);
  const std::string event =
      R"({"type":"purchase","event_id":"ev-1","customer":{"kind":"card","value":"4000123"},"lines":[]})";
  for (const std::string& plain : {std::string(), std::string("x"), event, random_bytes(rng, 1000),
                                   random_bytes(rng, std::size_t{1} << 20)}) {
    const std::string sealed = d::SpoolKey::seal(pub, plain);
    ASSERT_EQ(sealed.size(), plain.size() + S::kOverhead);
    EXPECT_EQ(static_cast<unsigned char>(sealed[0]), S::kVersion);
    if (plain.size() >= 16) {
      EXPECT_EQ(sealed.find(plain), std::string::npos);  // not in the clear
    }
    const auto opened = key.open(sealed);
    ASSERT_TRUE(opened.has_value()) << plain.size();
    EXPECT_EQ(*opened, plain);
    // Through base64, as on the wire.
    const auto decoded = base64_decode(base64_encode(sealed));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(key.open(*decoded), std::optional<std::string>(plain));
  }
}

TEST_F(SpoolKeyDir, EachSealIsFresh) {
  const d::SpoolKey key = d::SpoolKey::load_or_create(dir_);
  const PublicKey pub = from_hex(key.public_hex());
  const std::string a = d::SpoolKey::seal(pub, "same");
  const std::string b = d::SpoolKey::seal(pub, "same");
  EXPECT_NE(a.substr(1, S::kKeyBytes), b.substr(1, S::kKeyBytes));                   // ephemeral key
  EXPECT_NE(a.substr(1 + S::kKeyBytes, S::kNonceBytes), b.substr(1 + S::kKeyBytes, S::kNonceBytes));  // nonce
  EXPECT_EQ(key.open(a), std::optional<std::string>("same"));
  EXPECT_EQ(key.open(b), std::optional<std::string>("same"));
}

TEST_F(SpoolKeyDir, ARecordSealedToAnotherKeyDoesNotOpen) {
  const d::SpoolKey mine = d::SpoolKey::load_or_create(dir_);
  const fs::path other_dir = fs::path(dir_) / "other";
  fs::create_directory(other_dir);
  const d::SpoolKey other = d::SpoolKey::load_or_create(other_dir.string());
  ASSERT_NE(mine.public_hex(), other.public_hex());
  const std::string sealed = d::SpoolKey::seal(from_hex(other.public_hex()), "for the other daemon");
  EXPECT_FALSE(mine.open(sealed).has_value());
  EXPECT_EQ(other.open(sealed), std::optional<std::string>("for the other daemon"));
}

TEST_F(SpoolKeyDir, EveryFlippedBitIsRefused) {
  const d::SpoolKey key = d::SpoolKey::load_or_create(dir_);
  const std::string sealed = d::SpoolKey::seal(from_hex(key.public_hex()), R"({"type":"purchase"})");
  ASSERT_TRUE(key.open(sealed).has_value());
  // Every bit of every byte: version, ephemeral key (including bit 255, which X25519 itself
  // ignores, so only the key derivation's binding of the ephemeral key catches it), nonce,
  // ciphertext and tag.
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = sealed;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      EXPECT_FALSE(key.open(bad).has_value()) << "byte " << i << " bit " << bit;
    }
    std::string zero = sealed;
    zero[i] = static_cast<char>(~zero[i]);
    EXPECT_FALSE(key.open(zero).has_value()) << "byte " << i << " inverted";
  }
}

TEST_F(SpoolKeyDir, TruncatedOrExtendedRecordsAreRefused) {
  const d::SpoolKey key = d::SpoolKey::load_or_create(dir_);
  const PublicKey pub = from_hex(key.public_hex());
  // Shorter than the overhead: every length, from a real record and from a sealed empty text.
  const std::string sealed = d::SpoolKey::seal(pub, "an event");
  const std::string empty = d::SpoolKey::seal(pub, "");
  ASSERT_EQ(empty.size(), S::kOverhead);
  ASSERT_TRUE(key.open(empty).has_value());
  for (std::size_t n = 0; n < S::kOverhead; ++n) {
    EXPECT_FALSE(key.open(std::string_view(sealed).substr(0, n)).has_value()) << n;
    EXPECT_FALSE(key.open(std::string_view(empty).substr(0, n)).has_value()) << n;
    EXPECT_FALSE(key.open(std::string(n, '\x01')).has_value()) << n;
  }
  // Any prefix of a real record, and the record with bytes appended or the tag dropped.
  for (std::size_t n = S::kOverhead; n < sealed.size(); ++n)
    EXPECT_FALSE(key.open(std::string_view(sealed).substr(0, n)).has_value()) << n;
  EXPECT_FALSE(key.open(sealed + '\0').has_value());
  EXPECT_FALSE(key.open(sealed + sealed).has_value());
  EXPECT_FALSE(key.open(std::string_view(sealed).substr(1)).has_value());
}

TEST_F(SpoolKeyDir, OnlyVersionOneOpens) {
  const d::SpoolKey key = d::SpoolKey::load_or_create(dir_);
  const std::string sealed = d::SpoolKey::seal(from_hex(key.public_hex()), "v1");
  ASSERT_TRUE(key.open(sealed).has_value());
  for (const int version : {0x00, 0x02, 0x03, 0x7f, 0x80, 0xff}) {
    std::string other = sealed;
    other[0] = static_cast<char>(version);
    EXPECT_FALSE(key.open(other).has_value()) << version;
  }
  // A till-local record (0x02) is refused even when its body was sealed to this very key.
  std::string local = sealed;
  local[0] = static_cast<char>(S::kLocalVersion);
  EXPECT_FALSE(key.open(local).has_value());
}

TEST_F(SpoolKeyDir, DegenerateEphemeralKeysAreRefused) {
  const d::SpoolKey key = d::SpoolKey::load_or_create(dir_);
  // An all-zero ephemeral key (a small-order point) gives an all-zero shared secret.
  std::string sealed = d::SpoolKey::seal(from_hex(key.public_hex()), "x");
  for (std::size_t i = 1; i <= S::kKeyBytes; ++i) sealed[i] = '\0';
  EXPECT_FALSE(key.open(sealed).has_value());
  // And sealing to such a key is refused.
  EXPECT_THROW((void)d::SpoolKey::seal(PublicKey{}, "x"), std::runtime_error);
}

// A record built here with OpenSSL, following sdk/wire/sealed.hpp step by step (not the
// daemon's code), opens; so the daemon and any other sealer agree on the format.
TEST_F(SpoolKeyDir, OpensARecordBuiltFromTheDocumentedFormat) {
  const std::string recipient_private(32, '\x42');
  write_key(recipient_private, 0600);
  const d::SpoolKey key = d::SpoolKey::load_or_create(dir_);
  const PublicKey recipient = from_hex(key.public_hex());

  std::array<std::uint8_t, 32> eph_private{};
  for (std::size_t i = 0; i < eph_private.size(); ++i) eph_private[i] = static_cast<std::uint8_t>(i * 7 + 1);
  EVP_PKEY* eph = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, eph_private.data(), eph_private.size());
  ASSERT_NE(eph, nullptr);
  PublicKey eph_public{};
  std::size_t len = eph_public.size();
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(eph, eph_public.data(), &len), 1);
  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, recipient.data(), recipient.size());
  ASSERT_NE(peer, nullptr);
  EVP_PKEY_CTX* dctx = EVP_PKEY_CTX_new(eph, nullptr);
  std::array<std::uint8_t, 32> shared{};
  len = shared.size();
  ASSERT_EQ(EVP_PKEY_derive_init(dctx), 1);
  ASSERT_EQ(EVP_PKEY_derive_set_peer(dctx, peer), 1);
  ASSERT_EQ(EVP_PKEY_derive(dctx, shared.data(), &len), 1);
  EVP_PKEY_CTX_free(dctx);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(eph);

  std::string msg = "regulars-spool-v1";
  msg.append(reinterpret_cast<const char*>(eph_public.data()), 32);
  msg.append(reinterpret_cast<const char*>(recipient.data()), 32);
  std::array<std::uint8_t, 32> record_key{};
  unsigned int key_len = 0;
  ASSERT_NE(HMAC(EVP_sha256(), shared.data(), 32, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                 record_key.data(), &key_len),
            nullptr);

  const std::string plain = R"({"type":"consent","customer":{"kind":"phone","value":"+989121234567"}})";
  const unsigned char nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::string body(plain.size(), '\0');
  unsigned char tag[16];
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int n = 0, tail = 0;
  ASSERT_EQ(EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), nullptr, record_key.data(), nonce), 1);
  ASSERT_EQ(EVP_EncryptUpdate(c, reinterpret_cast<unsigned char*>(body.data()), &n,
                              reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size())),
            1);
  ASSERT_EQ(EVP_EncryptFinal_ex(c, reinterpret_cast<unsigned char*>(body.data()) + n, &tail), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
  EVP_CIPHER_CTX_free(c);

  std::string sealed(1, '\x01');
  sealed.append(reinterpret_cast<const char*>(eph_public.data()), 32);
  sealed.append(reinterpret_cast<const char*>(nonce), 12);
  sealed += body;
  sealed.append(reinterpret_cast<const char*>(tag), 16);
  EXPECT_EQ(key.open(sealed), std::optional<std::string>(plain));

  // The same record with the key derived without binding the public keys does not open.
  std::array<std::uint8_t, 32> unbound_key{};
  ASSERT_NE(HMAC(EVP_sha256(), shared.data(), 32, reinterpret_cast<const unsigned char*>("regulars-spool-v1"), 17,
                 unbound_key.data(), &key_len),
            nullptr);
  c = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), nullptr, unbound_key.data(), nonce), 1);
  ASSERT_EQ(EVP_EncryptUpdate(c, reinterpret_cast<unsigned char*>(body.data()), &n,
                              reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size())),
            1);
  ASSERT_EQ(EVP_EncryptFinal_ex(c, reinterpret_cast<unsigned char*>(body.data()) + n, &tail), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
  EVP_CIPHER_CTX_free(c);
  std::string unbound = sealed.substr(0, 1 + 32 + 12) + body;
  unbound.append(reinterpret_cast<const char*>(tag), 16);
  EXPECT_FALSE(key.open(unbound).has_value());
}

}  // namespace
