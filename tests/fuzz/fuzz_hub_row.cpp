// fuzz_hub_row: the bytes are a row from a chain's hub, as JSON {origin, event_id, type, id_kind,
// id_hash, time_ms, body}, where body is the row's JSON text. prepared_from_hub must refuse it
// with a reason or accept it, never throw; an accepted row holds no raw identifier, keeps its
// origin, and its body is what the writer will store.
// Or {"roi_rows": [{store_id, rule_id, as_of_ms, sums}]}: the stores' ROI sums as the hub returns
// them. pool_roi must never throw; each row is either refused (named) or one store's row of its
// rule, and the chain's counts are the sum of the stores' it kept.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "chain/chain_roi.hpp"
#include "chain/hub_event.hpp"
#include "fuzz_common.hpp"

namespace {

void pool_roi_rows(const nlohmann::json& rows) {
  using namespace regulars::daemon::chain;
  std::vector<StoreRoi> in;
  for (const auto& r : rows) {
    if (!r.is_object()) continue;
    StoreRoi row;
    row.store_id = r.value("store_id", nlohmann::json("")).is_string() ? r.value("store_id", std::string()) : "";
    row.rule_id = r.value("rule_id", nlohmann::json("")).is_string() ? r.value("rule_id", std::string()) : "";
    if (const auto t = r.find("as_of_ms"); t != r.end() && t->is_number_integer()) row.as_of_ms = t->get<std::int64_t>();
    const auto sums = r.find("sums");
    row.sums = sums == r.end() ? "" : sums->is_string() ? sums->get<std::string>() : sums->dump();
    in.push_back(std::move(row));
  }
  const nlohmann::json out = pool_roi(in);
  std::size_t kept = 0;
  for (const auto& rule : out["rules"]) {
    long long customers = 0;
    for (const auto& store : rule["stores"]) customers += store["offered"]["customers"].get<long long>();
    FUZZ_CHECK(rule["chain"]["offered"]["customers"].get<long long>() == customers);
    kept += rule["stores"].size();
  }
  FUZZ_CHECK(kept + out["refused"].size() == in.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace regulars;
  const auto j = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;
  if (const auto rows = j.find("roi_rows"); rows != j.end() && rows->is_array()) {
    pool_roi_rows(*rows);
    return 0;
  }
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
