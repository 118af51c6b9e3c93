// The store's link to its chain's hub: on a thread of its own (rg-chain), it publishes this
// store's durable events to the hub and applies the other stores' events to this store, each
// direction from a watermark, so a restart, a retry or an outage resumes without loss or
// double counting (daemon/chain/CHAIN.md). Tills never wait on it: hints and records are served from the
// local store whether the hub is up or not.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

#include "chain/hub.hpp"

namespace regulars::daemon {
class ChainAllowance;
class GestureEngine;
class Metrics;
class EventStore;
class IdentityKey;
}  // namespace regulars::daemon

namespace regulars::daemon::chain {

struct LinkSettings {
  HubSettings hub;
  std::string store_id;
  int poll_ms = 200;   // how long the link waits for the hub's news before looking again
  ChainAllowance* allowance = nullptr;  // the gesture engine's share of the chain's caps; null: none
  Metrics* metrics = nullptr;           // where the link's state goes for /metrics; null: nowhere
  int batch = 256;     // events per publish or apply
  // privacy.on_remember_withdrawn is "erase": a withdrawal published from here also takes the
  // customer's history off the hub (Hub::publish).
  bool erase_on_withdrawal = true;
  // Whose gesture ROI sums go to the hub for the chain's report, and how often; null: none.
  const GestureEngine* gestures = nullptr;
  int roi_every_ms = 300'000;
};

// What `regularsctl chain status` and /metrics show.
struct LinkStatus {
  bool connected = false;
  std::string failure;     // the last failure's kind (hub.hpp), empty when none since connecting
  std::string last_error;  // what to do about it
  std::int64_t published_seq = 0;    // local events up to this seq are on the hub
  std::int64_t waiting_out = 0;      // local events not yet on the hub
  std::int64_t applied_hub_id = 0;   // hub events up to this id are applied here
  std::int64_t newest_hub_id = 0;    // as last seen on the hub
  std::int64_t published_events = 0, applied_events = 0, refused_rows = 0;  // since start-up
  std::int64_t erasures_waiting_out = 0;     // made here, not yet on the hub
  std::int64_t applied_erasure_hub_id = 0;   // the other stores' erasures up to this hub id are carried out here
  std::int64_t erasures_applied = 0;         // since start-up
  std::int64_t last_apply_lag_ms = -1;  // from the hub's commit to this store's, for the last event applied
};

class Link {
 public:
  // Starts the thread; the first connection is tried at once, failures are retried with backoff.
  Link(EventStore& store, const IdentityKey& key, LinkSettings settings);
  ~Link();  // stop()
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  void stop();
  LinkStatus status() const;
  // Which stores have carried out an erasure (the receipt id of the store that made it), asked
  // of the hub on a connection of the caller's own; nullopt when the hub does not know it.
  // Throws HubError when the hub cannot be asked.
  std::optional<ErasureReceipt> erasure_receipt(const std::string& erasure_id) const;
  // Every store's figures over [from_ms, to_ms), from the hub, likewise.
  ChainFigures figures(std::int64_t from_ms, std::int64_t to_ms) const;
  // The gesture ROI of every store, as each last sent it, and pooled for the chain, likewise
  // (chain_roi.hpp).
  nlohmann::json roi() const;
  const std::string& store_id() const noexcept { return settings_.store_id; }

 private:
  void run();
  void connect();
  bool publish_some();
  bool apply_some();
  bool publish_erasures();
  bool apply_erasures();
  void refresh_leases();
  void publish_roi();  // every roi_every_ms, on the link's thread
  void report_metrics();  // at most once a second, on the link's thread
  void save_applied(std::int64_t upto, bool now);
  std::int64_t watermark(std::int64_t LinkStatus::*which) const;  // one of status_'s, under mu_
  void failed(const std::string& kind, const std::string& message);
  bool sleep_for(int ms);  // false once stopping

  EventStore& store_;
  const LinkSettings settings_;
  const std::string secret_check_;
  std::int64_t instance_ = 0;
  std::unique_ptr<Hub> hub_;  // rg-chain only
  std::chrono::steady_clock::time_point metrics_at_{};  // rg-chain only
  std::optional<std::chrono::steady_clock::time_point> roi_published_at_;  // rg-chain only
  std::int64_t saved_applied_ = 0;                        // rg-chain only (set before it starts)
  std::chrono::steady_clock::time_point saved_applied_at_{};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  LinkStatus status_;  // under mu_
  std::thread thread_;
};

// The day number (days since 1970-01-01) of an instant in an IANA time zone, for the chain's
// caps; throws std::invalid_argument naming the zone when ICU does not know it.
std::function<std::int64_t(std::int64_t unix_ms)> chain_day_in(const std::string& time_zone);

// The value every store of a chain must show the hub: a keyed hash of a fixed text under the
// store's identity secret, equal exactly when the secrets are, and telling nothing of them.
std::string secret_check(const IdentityKey& key);

}  // namespace regulars::daemon::chain
