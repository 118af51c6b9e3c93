// fuzz_hub_row: the bytes are a row from a chain's hub, as JSON {origin, event_id, type, id_kind,
// id_hash, time_ms, body}, where body is the row's JSON text. prepared_from_hub must refuse it
// with a reason or accept it, never throw; an accepted row holds no raw identifier, keeps its
// origin, and its body is what the writer will store.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "chain/hub_event.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace regulars;
  const auto j = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;
  daemon::chain::HubEvent row;
  const auto text = [&](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  row.origin = text("origin");
  row.event_id = text("event_id");
  row.type = text("type");
  row.id_kind = text("id_kind");
  row.id_hash_hex = text("id_hash");
  row.body = j.contains("body") && j["body"].is_string() ? j["body"].get<std::string>() : j.value("body", nlohmann::json()).dump();
  if (const auto t = j.find("time_ms"); t != j.end() && t->is_number_integer()) row.time_ms = t->get<std::int64_t>();
  const auto r = daemon::chain::prepared_from_hub(row);
  if (const auto* why = std::get_if<std::string>(&r)) {
    FUZZ_CHECK(!why->empty());
    return 0;
  }
  const auto& p = std::get<daemon::PreparedEvent>(r);
  FUZZ_CHECK(p.origin == row.origin && p.event_id == row.event_id && p.type == row.type);
  FUZZ_CHECK(!p.body.contains("customer"));
  FUZZ_CHECK(!p.body_text.empty());
  FUZZ_CHECK(nlohmann::json::parse(p.body_text) == p.body);
  FUZZ_CHECK((p.type == "purchase" || p.type == "return") == (p.lines != nullptr));
  return 0;
}
