// The metrics registry and the admin port's access rule, in process: the lock-free histogram
// puts each observation in the bucket Prometheus means ("le") and hands the registry exactly
// what it saw; the monitoring routes are open from this machine or with the metrics token, and
// nothing else opens without the owner token.
#include <gtest/gtest.h>
#include <prometheus/histogram.h>

#include <thread>
#include <vector>

#include "metrics/atomic_histogram.hpp"
#include "metrics/metrics.hpp"
#include "net/admin_http.hpp"

namespace regulars::daemon {
namespace {

using std::chrono::microseconds;

TEST(AdminAccess, TheOwnerTokenOpensEveryRoute) {
  for (const bool monitoring : {false, true})
    for (const bool loopback : {false, true}) EXPECT_TRUE(admin_access_allowed(monitoring, loopback, true, false));
}

TEST(AdminAccess, MonitoringRoutesAreOpenFromThisMachineOrWithTheMetricsToken) {
  EXPECT_TRUE(admin_access_allowed(true, /*loopback_peer=*/true, false, false));
  EXPECT_TRUE(admin_access_allowed(true, /*loopback_peer=*/false, false, /*metrics_token=*/true));
  EXPECT_FALSE(admin_access_allowed(true, /*loopback_peer=*/false, false, false)) << "a stranger without a token";
}

TEST(AdminAccess, NothingElseOpensWithoutTheOwnerToken) {
  EXPECT_FALSE(admin_access_allowed(false, /*loopback_peer=*/true, false, false)) << "localhost is not the owner";
  EXPECT_FALSE(admin_access_allowed(false, false, false, /*metrics_token=*/true)) << "the metrics token is not the owner's";
  EXPECT_FALSE(admin_access_allowed(false, true, false, true));
}

TEST(AdminAccess, OnlyGetMetricsAndHealthzAreMonitoringRoutes) {
  EXPECT_TRUE(is_monitoring_route("GET", "/metrics"));
  EXPECT_TRUE(is_monitoring_route("GET", "/healthz"));
  EXPECT_FALSE(is_monitoring_route("POST", "/metrics"));
  EXPECT_FALSE(is_monitoring_route("GET", "/metrics/"));
  EXPECT_FALSE(is_monitoring_route("GET", "/v1/status"));
  EXPECT_FALSE(is_monitoring_route("GET", "/healthz/../v1/status"));
}

// The registry's view of a histogram: cumulative bucket counts, then the count and the sum.
struct Folded {
  std::vector<std::uint64_t> cumulative;
  std::uint64_t count = 0;
  double sum = 0;
};
Folded collect(const prometheus::Histogram& h) {
  const auto m = h.Collect();
  Folded f;
  for (const auto& b : m.histogram.bucket) f.cumulative.push_back(b.cumulative_count);
  f.count = m.histogram.sample_count;
  f.sum = m.histogram.sample_sum;
  return f;
}

TEST(AtomicHistogram, AnObservationOnABoundIsInThatBucket) {
  const std::vector<double> bounds = {0.0001, 0.001};
  AtomicHistogram fast(bounds);
  prometheus::Histogram registry(bounds);
  fast.observe(microseconds(100));   // le 0.0001
  fast.observe(microseconds(101));   // le 0.001
  fast.observe(microseconds(1000));  // le 0.001
  fast.observe(microseconds(5000));  // +Inf
  fast.fold_into(registry);
  const Folded f = collect(registry);
  EXPECT_EQ(f.cumulative, (std::vector<std::uint64_t>{1, 3, 4}));
  EXPECT_EQ(f.count, 4u);
  EXPECT_NEAR(f.sum, 0.006201, 1e-9);
}

TEST(AtomicHistogram, EachObservationReachesTheRegistryOnce) {
  const std::vector<double> bounds = {0.001};
  AtomicHistogram fast(bounds);
  prometheus::Histogram registry(bounds);
  fast.observe(microseconds(10));
  fast.fold_into(registry);
  fast.fold_into(registry);  // nothing new
  fast.observe(microseconds(20));
  fast.fold_into(registry);
  const Folded f = collect(registry);
  EXPECT_EQ(f.count, 2u);
  EXPECT_NEAR(f.sum, 0.00003, 1e-12);
}

TEST(AtomicHistogram, ThreadsObservingAtOnceLoseNothing) {
  const std::vector<double> bounds = {0.0001, 0.001, 0.01};
  AtomicHistogram fast(bounds);
  prometheus::Histogram registry(bounds);
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        fast.observe(microseconds(50 * (t + 1)));
        if (t == 0 && i % 1000 == 0) fast.fold_into(registry);  // scrapes while they observe
      }
    });
  for (auto& t : threads) t.join();
  fast.fold_into(registry);
  const Folded f = collect(registry);
  EXPECT_EQ(f.count, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(f.cumulative.front(), static_cast<std::uint64_t>(2 * kEach)) << "50 and 100 us are within 0.0001 s";
  EXPECT_NEAR(f.sum, kEach * (50 + 100 + 150 + 200) * 1e-6, 1e-6);
}

TEST(Metrics, EveryWireErrorCodeHasItsSeriesFromTheStart) {
  Metrics metrics;
  const std::string text = metrics.exposition();
  for (int i = 0; i <= static_cast<int>(wire::ErrorCode::conflict); ++i) {
    const std::string series = "regulars_errors_total{code=\"" + std::string(wire::to_string(static_cast<wire::ErrorCode>(i))) + "\"} 0";
    EXPECT_NE(text.find(series), std::string::npos) << series << " missing from:\n" << text;
  }
}

TEST(Metrics, AReplayIsARecordToo) {
  Metrics metrics;
  metrics.record_answered(RecordOutcome::stored, /*from_spool=*/true);
  metrics.record_answered(RecordOutcome::stored, /*from_spool=*/false);
  metrics.record_answered(RecordOutcome::duplicate, /*from_spool=*/true);
  const std::string text = metrics.exposition();
  EXPECT_NE(text.find("regulars_records_total{outcome=\"stored\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("regulars_spool_replays_total{outcome=\"stored\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("regulars_spool_replays_total{outcome=\"duplicate\"} 1\n"), std::string::npos) << text;
}

TEST(Metrics, LanesGoUpAndDown) {
  Metrics metrics;
  metrics.lane_greeted(LaneTransport::tls);
  metrics.lane_greeted(LaneTransport::tls);
  metrics.lane_closed(LaneTransport::tls);
  EXPECT_NE(metrics.exposition().find("regulars_connected_lanes{transport=\"tls\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace regulars::daemon
