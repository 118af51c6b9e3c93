// fuzz_sealed: the bytes are an untrusted "sealed" field, as in {"op":"record","sealed":"..."}.
// The daemon's path (daemon/net/till_server.cpp on_record) is followed twice: with the bytes as the base64
// text (base64_decode, then SpoolKey::open) and with the bytes as an already decoded record
// (SpoolKey::open). Whatever opens is parsed with the depth limit and validated as an event.
// To get past the AEAD, the bytes are also sealed to the same fixed key and opened again: the
// round trip must give them back (and one flipped bit must not open), and the opened text then
// goes through parse_json and validate_event like a till's spooled event.
//
// The spool key is fixed (a constant 32-byte private key loaded once through load_or_create in
// a temporary directory that is removed straight away), so seeds sealed to it reach the JSON
// path: corpus/sealed/opens_*.b64 and opens_*.bin are records sealed to it with SpoolKey::seal.
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "fuzz_common.hpp"
#include "till/spool_key.hpp"
#include "wire/hex.hpp"
#include "wire/sealed.hpp"

namespace {

using namespace regulars;
namespace S = wire::sealed;
using PublicKey = std::array<std::uint8_t, 32>;

// The fixed private key: byte i is 29 * i + 3 (mod 256). The opens_* seeds are sealed to it.
struct Fixture {
  std::optional<daemon::SpoolKey> key;
  PublicKey pub{};
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture out;
    std::error_code ec;
    std::string tmpl = (std::filesystem::temp_directory_path(ec) / "regulars-fuzz-sealed-XXXXXX").string();
    if (ec || ::mkdtemp(tmpl.data()) == nullptr) {
      std::fprintf(stderr, "fuzz_sealed: cannot make a temporary directory\n");
      std::abort();
    }
    std::string secret(32, '\0');
    for (std::size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<char>(29 * i + 3);
    {
      std::ofstream file(tmpl + "/spool.key", std::ios::binary | std::ios::trunc);
      file << secret;
    }
    std::filesystem::permissions(tmpl + "/spool.key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 ec);
    out.key.emplace(daemon::SpoolKey::load_or_create(tmpl));
    std::filesystem::remove_all(tmpl, ec);
    const auto pub = wire::hex_decode_array<32>(out.key->public_hex());
    FUZZ_CHECK(pub.has_value());
    out.pub = *pub;
    return out;
  }();
  return f;
}

// The opened text as the daemon treats it: parse with the depth limit (an error's field gets the
// "sealed." prefix), then validate the value as an event.
void check_opened(std::string_view text) {
  auto parsed = wire::parse_json(text, wire::kDefaultMaxDepth);
  if (auto* err = std::get_if<wire::Error>(&parsed)) {
    FUZZ_CHECK(err->code == wire::ErrorCode::invalid_json || err->code == wire::ErrorCode::too_deep);
    err->field = "sealed" + (err->field.empty() ? "" : "." + err->field);
    fuzz::check_error_answer(*err);
    return;
  }
  const auto& event = std::get<nlohmann::json>(parsed);
  FUZZ_CHECK(fuzz::depth_of(event, wire::kDefaultMaxDepth) <= wire::kDefaultMaxDepth);
  fuzz::check_event(event);
}

// One decoded record through SpoolKey::open; what opens is at most the record minus the overhead.
void check_record(const daemon::SpoolKey& key, std::string_view record) {
  const auto opened = key.open(record);
  if (!opened) return;
  FUZZ_CHECK(record.size() >= S::kOverhead);
  FUZZ_CHECK(static_cast<unsigned char>(record[0]) == S::kVersion);
  FUZZ_CHECK(opened->size() == record.size() - S::kOverhead);
  check_opened(*opened);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& f = fixture();
  const daemon::SpoolKey& key = *f.key;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // 1. The bytes as the "sealed" text: only canonical base64 decodes, and it encodes back to itself.
  if (const auto decoded = wire::base64_decode(input)) {
    FUZZ_CHECK(input.size() % 4 == 0);
    FUZZ_CHECK(decoded->size() <= input.size() / 4 * 3);
    FUZZ_CHECK(wire::base64_encode(*decoded) == input);
    check_record(key, *decoded);
  }
  // Any bytes survive an encode/decode round trip.
  const std::string encoded = wire::base64_encode(input);
  FUZZ_CHECK(encoded.size() == (size + 2) / 3 * 4);
  FUZZ_CHECK(wire::base64_decode(encoded) == std::optional<std::string>(std::string(input)));

  // 2. The bytes as an already decoded record.
  check_record(key, input);

  // 3. The bytes as the plaintext of a record sealed to the fixed key: it opens to the same bytes,
  // and any one flipped bit makes it unopenable.
  const std::string sealed = daemon::SpoolKey::seal(f.pub, input);
  FUZZ_CHECK(sealed.size() == size + S::kOverhead);
  FUZZ_CHECK(static_cast<unsigned char>(sealed[0]) == S::kVersion);
  const auto opened = key.open(sealed);
  FUZZ_CHECK(opened.has_value());
  FUZZ_CHECK(*opened == input);
  {
    std::size_t where = size;
    for (std::size_t i = 0; i < size && i < 8; ++i) where = where * 131 + data[i];
    std::string altered = sealed;
    altered[where % altered.size()] ^= static_cast<char>(1 << (where % 8));
    FUZZ_CHECK(!key.open(altered).has_value());
  }
  check_opened(*opened);
  return 0;
}
