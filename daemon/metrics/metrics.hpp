// regularsd's measurements for monitoring, exposed as Prometheus text at the admin port's
// /metrics (net/monitoring_routes.hpp). One Metrics object lives in regularsd's main; the parts
// that measure get a pointer to it (null: not measured, as in tests and tools).
//
// Recording is cheap on every thread: counters and gauges are prometheus-cpp's own (a lock-free
// atomic each), resolved once here so no family lookup (which locks) happens on a hot path, and
// the two latency histograms are AtomicHistogram (no lock; see atomic_histogram.hpp).
//
// Labels are fixed, short lists (outcomes, error codes, transports): never a customer, a name,
// an SKU, a cashier or a terminal, so the number of series stays what this file says.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/atomic_histogram.hpp"
#include "wire/error.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace regulars::daemon {

// What became of a record request (label "outcome").
enum class RecordOutcome {
  stored,     // new, durable and acknowledged
  duplicate,  // its event id was stored before (a retry or a replay), or an erasure's tombstone dropped it
  invalid,    // refused for its content (validation, or it contradicts the store); a till does not retry it
  failed,     // not stored now (disk, flush, shutdown); a till with a spool keeps it and retries
};
inline constexpr std::array<std::string_view, 4> kRecordOutcomes = {"stored", "duplicate", "invalid", "failed"};

// A gesture offer's life (label "outcome"): decided at a hints call, then reported by the till.
enum class OfferOutcome { offered, held_out, accepted, declined, redeemed };
inline constexpr std::array<std::string_view, 5> kOfferOutcomes = {"offered", "held_out", "accepted", "declined",
                                                                   "redeemed"};

// How a till is connected (label "transport").
enum class LaneTransport { socket, tls };
inline constexpr std::array<std::string_view, 2> kLaneTransports = {"socket", "tls"};

class Metrics {
 public:
  // The Content-Type of exposition().
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A till's hints request answered (or refused), `took` from its frame read to its answer built.
  void hints_answered(std::chrono::nanoseconds took) noexcept;
  // A record request answered; `from_spool`: it carried a sealed spool record (a replay).
  void record_answered(RecordOutcome outcome, bool from_spool) noexcept;
  // One fdatasync of the WAL.
  void wal_flushed(std::chrono::nanoseconds took) noexcept;
  // An error answer sent to a till.
  void error_answered(wire::ErrorCode code) noexcept;
  // A till's connection said hello, or a connection that had said hello closed.
  void lane_greeted(LaneTransport transport) noexcept;
  void lane_closed(LaneTransport transport) noexcept;
  void offer(OfferOutcome outcome) noexcept;

  // Facts sampled by the scraper just before exposition().
  void set_wal_bytes(std::uint64_t bytes) noexcept;

  // The link to a chain's hub (chain/link.hpp), from its own thread: events and erasures on
  // their way, and how far behind each direction is.
  struct ChainState {
    bool connected = false;
    std::int64_t events_waiting_out = 0;   // this store's events not yet on the hub
    std::int64_t hub_events_behind = 0;    // hub events not yet applied here
    std::int64_t erasures_waiting_out = 0;
    double last_apply_lag_s = 0;           // hub commit to this store's, for the last event applied
  };
  void set_chain_state(const ChainState& state) noexcept;
  void chain_events(std::int64_t published, std::int64_t applied, std::int64_t refused) noexcept;

  // Everything, in the Prometheus text format (version 0.0.4).
  std::string exposition();

  // The histograms' observation counts, for tests.
  std::uint64_t hints_observed() const noexcept { return hints_latency_.count(); }
  std::uint64_t flushes_observed() const noexcept { return flush_latency_.count(); }

 private:
  void register_chain(prometheus::Registry& r);
  std::unique_ptr<prometheus::Registry> registry_;
  AtomicHistogram hints_latency_;
  AtomicHistogram flush_latency_;
  prometheus::Histogram* hints_histogram_ = nullptr;
  prometheus::Histogram* flush_histogram_ = nullptr;
  std::array<prometheus::Counter*, kRecordOutcomes.size()> records_{};
  std::array<prometheus::Counter*, kRecordOutcomes.size()> replays_{};
  std::vector<prometheus::Counter*> errors_;  // by wire::ErrorCode value, every code the wire library names
  std::array<prometheus::Gauge*, kLaneTransports.size()> lanes_{};
  std::array<prometheus::Counter*, kOfferOutcomes.size()> offers_{};
  prometheus::Gauge* wal_bytes_ = nullptr;
  prometheus::Gauge *chain_connected_ = nullptr, *chain_waiting_out_ = nullptr, *chain_behind_ = nullptr,
                    *chain_erasures_out_ = nullptr, *chain_lag_ = nullptr;
  prometheus::Counter *chain_published_ = nullptr, *chain_applied_ = nullptr, *chain_refused_ = nullptr;
};

}  // namespace regulars::daemon
