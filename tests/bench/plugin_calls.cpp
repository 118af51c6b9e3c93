#include "plugin_calls.hpp"

#include <chrono>

#include "console.hpp"
#include "machine.hpp"

namespace regulars::bench {

using nlohmann::json;
using namespace regulars::tools;

regulars_client* open_client(const json& options) {
  regulars_client* c = nullptr;
  const std::string text = options.dump();
  if (const auto s = regulars_open(text.c_str(), &c); s != REGULARS_OK)
    die(std::string("regulars_open: ") + regulars_strerror(s) + ": " + regulars_last_error());
  return c;
}

std::string hints_request(const Catalogue& cat, std::uint32_t customer, Rng& rng) {
  json basket = json::array();
  const auto n = rng.between(0, 4);
  for (std::int64_t i = 0; i < n; ++i) basket.push_back({{"sku", cat.sku[cat.popularity(rng)]}});
  return json{{"customer", customer_json(customer)}, {"basket", std::move(basket)}, {"locale", "en"}}.dump();
}

void hints_call(regulars_client* c, const std::string& req, HintsRun& run) {
  char* resp = nullptr;
  const auto t0 = Clock::now();
  const regulars_status s = regulars_hints(c, req.c_str(), &resp);
  const auto t1 = Clock::now();
  if (s != REGULARS_OK) {
    ++run.errors;
    ++run.error_kinds[std::string(regulars_strerror(s)) + ": " + regulars_last_error()];
    return;
  }
  run.ns.push_back(elapsed_ns(t0, t1));
  const auto answer = json::parse(resp, nullptr, false);
  regulars_free(resp);
  const auto cust = answer.is_object() ? answer.find("customer") : answer.end();
  if (cust == answer.end() || !cust->is_object() || !cust->value("known", false)) {
    ++run.unknown;
    return;
  }
  run.visits_sum += cust->value("visits", std::int64_t{0});
  if (const auto o = answer.find("offers"); o != answer.end() && o->is_array()) run.offers += static_cast<std::int64_t>(o->size());
}

void print_errors(const std::map<std::string, std::int64_t>& kinds) {
  for (const auto& [what, n] : kinds) out("  error x%lld: %s\n", static_cast<long long>(n), what.c_str());
}

}  // namespace regulars::bench
