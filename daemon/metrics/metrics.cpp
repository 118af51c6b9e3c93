#include "metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace regulars::daemon {

namespace {

// Hints answer in well under a millisecond; the budget a till gives them is 50 ms.
const std::vector<double> kHintsBounds = {0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075,
                                          0.001,   0.002,  0.005,  0.01,   0.02,   0.05};
// A flush of the WAL: from a fraction of a millisecond (a disk with a write cache) to a second
// (a struggling one).
const std::vector<double> kFlushBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,    0.1,    0.25,  0.5,   1};

template <std::size_t N>
std::array<prometheus::Counter*, N> counters_by(prometheus::Family<prometheus::Counter>& family, const char* label,
                                                const std::array<std::string_view, N>& values) {
  std::array<prometheus::Counter*, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = &family.Add({{label, std::string(values[i])}});
  return out;
}

// Every code the wire library names, by value: they are numbered from 0 without gaps, and a
// value past the last one reads back as another code.
std::vector<wire::ErrorCode> all_error_codes() {
  std::vector<wire::ErrorCode> codes;
  for (int i = 0;; ++i) {
    const auto code = static_cast<wire::ErrorCode>(i);
    if (wire::error_code_from_string(wire::to_string(code)) != code) return codes;
    codes.push_back(code);
  }
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_unique<prometheus::Registry>()), hints_latency_(kHintsBounds), flush_latency_(kFlushBounds) {
  auto& r = *registry_;
  prometheus::BuildGauge()
      .Name("regulars_build_info")
      .Help("Always 1; the label says which regularsd is running")
      .Register(r)
      .Add({{"version", REGULARS_VERSION_STRING}})
      .Set(1);
  hints_histogram_ = &prometheus::BuildHistogram()
                          .Name("regulars_hints_duration_seconds")
                          .Help("Time to answer a till's hints request, from reading its frame to the answer built")
                          .Register(r)
                          .Add({}, kHintsBounds);
  flush_histogram_ = &prometheus::BuildHistogram()
                          .Name("regulars_wal_flush_duration_seconds")
                          .Help("Time of each fdatasync of the write-ahead log; records are acknowledged after one")
                          .Register(r)
                          .Add({}, kFlushBounds);
  records_ = counters_by(prometheus::BuildCounter()
                             .Name("regulars_records_total")
                             .Help("Record requests answered, by outcome: stored, duplicate, invalid, failed")
                             .Register(r),
                         "outcome", kRecordOutcomes);
  replays_ = counters_by(prometheus::BuildCounter()
                             .Name("regulars_spool_replays_total")
                             .Help("Record requests replayed from a till's spool (sealed records), by outcome; "
                                   "also counted in regulars_records_total")
                             .Register(r),
                         "outcome", kRecordOutcomes);
  offers_ = counters_by(prometheus::BuildCounter()
                            .Name("regulars_gesture_offers_total")
                            .Help("Gesture offers: offered or held_out at a hints call; accepted, declined or redeemed "
                                  "as the tills report")
                            .Register(r),
                        "outcome", kOfferOutcomes);
  auto& errors = prometheus::BuildCounter()
                     .Name("regulars_errors_total")
                     .Help("Error answers sent to tills, by error code (sdk/PROTOCOL.md)")
                     .Register(r);
  for (const auto code : all_error_codes()) errors_.push_back(&errors.Add({{"code", std::string(wire::to_string(code))}}));
  auto& lanes = prometheus::BuildGauge()
                    .Name("regulars_connected_lanes")
                    .Help("Connections that have said hello (tills, lanes over TLS, regularsctl while it runs), "
                          "by transport")
                    .Register(r);
  for (std::size_t i = 0; i < kLaneTransports.size(); ++i) lanes_[i] = &lanes.Add({{"transport", std::string(kLaneTransports[i])}});
  wal_bytes_ = &prometheus::BuildGauge()
                    .Name("regulars_wal_bytes")
                    .Help("Size of the write-ahead log file (regulars.db-wal) in bytes")
                    .Register(r)
                    .Add({});
  register_chain(r);
}

// Zero for a store in no chain; the link sets them (chain/link.cpp).
void Metrics::register_chain(prometheus::Registry& r) {
  const auto gauge = [&r](const char* name, const char* help) { return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({}); };
  const auto counter = [&r](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
  };
  chain_connected_ = gauge("regulars_chain_connected", "1 while the link to the chain's hub is up");
  chain_waiting_out_ = gauge("regulars_chain_events_waiting_out", "This store's events not yet on the chain's hub");
  chain_behind_ = gauge("regulars_chain_hub_events_behind", "Events on the chain's hub not yet applied at this store");
  chain_erasures_out_ = gauge("regulars_chain_erasures_waiting_out", "Erasures made here not yet on the chain's hub");
  chain_lag_ = gauge("regulars_chain_last_apply_lag_seconds", "From the hub's commit to this store's, for the last event applied");
  chain_published_ = counter("regulars_chain_events_published_total", "This store's events published to the chain's hub");
  chain_applied_ = counter("regulars_chain_events_applied_total", "Other stores' events applied here from the hub");
  chain_refused_ = counter("regulars_chain_rows_refused_total", "Hub rows refused by this store's checks");
}

Metrics::~Metrics() = default;

void Metrics::hints_answered(std::chrono::nanoseconds took) noexcept { hints_latency_.observe(took); }

void Metrics::record_answered(RecordOutcome outcome, bool from_spool) noexcept {
  const auto i = static_cast<std::size_t>(outcome);
  records_[i]->Increment();
  if (from_spool) replays_[i]->Increment();
}

void Metrics::wal_flushed(std::chrono::nanoseconds took) noexcept { flush_latency_.observe(took); }

void Metrics::error_answered(wire::ErrorCode code) noexcept {
  const auto i = static_cast<std::size_t>(code);
  if (i < errors_.size()) errors_[i]->Increment();
}

void Metrics::lane_greeted(LaneTransport transport) noexcept { lanes_[static_cast<std::size_t>(transport)]->Increment(); }

void Metrics::lane_closed(LaneTransport transport) noexcept { lanes_[static_cast<std::size_t>(transport)]->Decrement(); }

void Metrics::offer(OfferOutcome outcome) noexcept { offers_[static_cast<std::size_t>(outcome)]->Increment(); }

void Metrics::set_wal_bytes(std::uint64_t bytes) noexcept { wal_bytes_->Set(static_cast<double>(bytes)); }

void Metrics::set_chain_state(const ChainState& state) noexcept {
  chain_connected_->Set(state.connected ? 1 : 0);
  chain_waiting_out_->Set(static_cast<double>(state.events_waiting_out));
  chain_behind_->Set(static_cast<double>(state.hub_events_behind));
  chain_erasures_out_->Set(static_cast<double>(state.erasures_waiting_out));
  chain_lag_->Set(state.last_apply_lag_s);
}

void Metrics::chain_events(std::int64_t published, std::int64_t applied, std::int64_t refused) noexcept {
  if (published > 0) chain_published_->Increment(static_cast<double>(published));
  if (applied > 0) chain_applied_->Increment(static_cast<double>(applied));
  if (refused > 0) chain_refused_->Increment(static_cast<double>(refused));
}

std::string Metrics::exposition() {
  hints_latency_.fold_into(*hints_histogram_);
  flush_latency_.fold_into(*flush_histogram_);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace regulars::daemon
