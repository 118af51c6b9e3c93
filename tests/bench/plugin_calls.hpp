// Calls through libregulars.so as the phases make them: a client, a hints request for a customer,
// one timed hints call and its tally.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "regulars/regulars.h"
#include "shop.hpp"

namespace regulars::bench {

// regulars_open with these options; throws with the plugin's error.
regulars_client* open_client(const nlohmann::json& options);

// A hints request for `customer` with 0–4 popular items already in the basket.
std::string hints_request(const Catalogue& cat, std::uint32_t customer, Rng& rng);

// The tally of a series of hints calls.
struct HintsRun {
  std::vector<std::int64_t> ns;  // the latency of each successful call
  std::int64_t errors = 0, unknown = 0, visits_sum = 0, offers = 0;
  std::map<std::string, std::int64_t> error_kinds;  // "STATUS: detail" -> calls
};

// One timed regulars_hints call, added to `run`.
void hints_call(regulars_client* c, const std::string& req, HintsRun& run);

// "  error xN: STATUS: detail", one line per kind.
void print_errors(const std::map<std::string, std::int64_t>& kinds);

}  // namespace regulars::bench
