// The gesture ROI report across the chain: each store's own report, computed there from its
// offers and sent to the hub as sums (gestures/roi_sums.hpp), and the chain's, pooled from them.
// A store's offers and customers never leave it; its sums say nothing about any one customer.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "chain/hub.hpp"

namespace regulars::daemon::chain {

// The follow-up window of the chain's report, the store reports' default.
inline constexpr int kChainRoiWindowDays = 30;

// {"window_days", "rules": [{"rule", "chain": <row>, "stores": [{"store", "as_of", ...<row>}]}],
// "refused": ["store/rule: why"]}, a row as GestureEngine::roi writes it. A hub row that is not
// valid sums is left out of every figure and named under "refused".
nlohmann::json pool_roi(const std::vector<StoreRoi>& rows);

}  // namespace regulars::daemon::chain
