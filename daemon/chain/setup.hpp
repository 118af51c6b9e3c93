// The owner's offline steps with a chain (regularsctl chain join, chain rekey-hub), run on a
// store's data directory rather than through a running regularsd.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "chain/hub.hpp"

namespace regulars::daemon::chain {

struct JoinResult {
  bool secret_installed = false;  // the chain's secret.key was copied into the store
  bool first_store = false;       // the hub was empty: this store's secret is now the chain's
  std::int64_t published_seq = 0, newest_hub_id = 0;
};

// Joins the store in `data_dir` (regularsd stopped: its lock is taken) to the chain at `hub`
// under `store_id`. With `chain_secret_file` (the secret.key of a store already in the chain),
// a store that holds no customer yet takes that secret first; one that holds customers must
// already have it. Then the hub is asked to enrol the store, which checks that the secrets match
// and that no other store uses `store_id`. Throws HubError or std::runtime_error saying what to do.
JoinResult join_chain(const std::string& data_dir, const HubSettings& hub, const std::string& store_id,
                      const std::optional<std::string>& chain_secret_file);

// A chain-wide re-key's step on the hub (daemon/chain/CHAIN.md, "Re-keying a chain"), run with
// the data directory of the store that re-keyed first (regularsd stopped or not: it only reads
// secret.key and the store's generation count): every hash on the hub is chained once more with
// that store's newest key. Returns the hashes re-hashed, -1 when the hub was re-keyed already.
// Throws saying what to do.
std::int64_t rekey_hub(const std::string& data_dir, const HubSettings& hub);

}  // namespace regulars::daemon::chain
