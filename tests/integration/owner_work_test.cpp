// The owner's work (dry runs over months of history, erasures) runs on the owner's own threads:
// while it runs, a till asking for hints is answered within its time budget every time.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "fixture.hpp"
#include "wire/validate.hpp"

namespace regulars::test {
namespace {

constexpr int kCustomers = 1200;
constexpr int kTills = 8;
constexpr int kVisits = 30;  // each customer's, spread over the last 90 days
constexpr std::int64_t kDayMs = 86'400'000;

class OwnerWork : public DaemonTest {
 protected:
  // 36,000 purchases over 90 days, recorded by eight tills at once.
  void seed_history() {
    const std::int64_t start = wire::now_ms() - 90 * kDayMs;
    std::vector<std::thread> tills;
    std::atomic<int> failures{0};
    for (int t = 0; t < kTills; ++t)
      tills.emplace_back([&, t] {
        regulars_client* c = open_client(5000);
        for (int customer = t; customer < kCustomers; customer += kTills) {
          const std::string who = "hist-" + std::to_string(customer);
          if (plugin_.record(c, consent(who).c_str()) != REGULARS_OK) ++failures;
          for (int visit = 0; visit < kVisits; ++visit) {
            json e = json::parse(purchase(who, {"coffee", "sku-" + std::to_string((customer + visit) % 50)}));
            e["time"] = wire::format_time_ms(start + visit * 3 * kDayMs + customer * 60'000);
            if (plugin_.record(c, e.dump().c_str()) != REGULARS_OK) ++failures;
          }
        }
      });
    for (auto& t : tills) t.join();
    ASSERT_EQ(failures.load(), 0) << plugin_.last_error();
  }
};

struct HintCall {
  regulars_status status;
  double ms;
};

TEST_F(OwnerWork, DryRunsAndAnErasureNeverStallATillsHints) {
  seed_history();
  const auto added = admin("POST", "/v1/gestures",
                           {{"id", "tenth-coffee"}, {"when", {{"bought", {{"sku", "coffee"}}}}},
                            {"gesture", {{"kind", "free_item"}, {"sku", "coffee"}, {"value", 250}}}});
  ASSERT_EQ(added.first, 200) << added.second.dump();

  // A till asks for hints again and again while the owner works. Its budget is twice the default,
  // so that a machine busy with other work does not make it miss; a till stalled behind the
  // owner's work misses it by far more. Under a sanitizer every call is slower, so the budget grows
  // by the sanitizer's margin scale; the dry runs slow down as much, and the check below that each
  // outlasts the budget keeps the test able to fail.
  constexpr int kBudgetMs = static_cast<int>(100 * kSanitizerMarginScale);
  regulars_client* till = open_client(kBudgetMs, false);
  std::atomic<bool> owner_done{false};
  std::vector<HintCall> calls;
  std::thread cashier([&] {
    for (int i = 0; !owner_done.load(); ++i) {
      const auto t0 = Clock::now();
      regulars_status s;
      plugin_.hints_text(till, hints_request("hist-" + std::to_string(i % kCustomers)), s);
      calls.push_back({s, elapsed_ms(t0)});
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  // Two streams of dry runs over the 90 days, back to back for a second, and an erasure in
  // between, all through the admin API.
  constexpr double kOwnerWorkMs = 1000;
  std::vector<std::vector<double>> dry_runs(2);
  std::vector<int> statuses;
  std::mutex statuses_mu;
  auto keep = [&](int status) {
    std::lock_guard lock(statuses_mu);
    statuses.push_back(status);
  };
  std::vector<std::thread> owner;
  const auto owner_t0 = Clock::now();
  for (int i = 0; i < 2; ++i)
    owner.emplace_back([&, i] {
      while (elapsed_ms(owner_t0) < kOwnerWorkMs) {
        const auto t0 = Clock::now();
        keep(admin("POST", "/v1/gestures/dry-run", {{"id", "tenth-coffee"}, {"days", 90}}).first);
        dry_runs[i].push_back(elapsed_ms(t0));
      }
    });
  owner.emplace_back([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    keep(admin("POST", "/v1/customers/erase", {{"customer", json::parse(card("hist-7"))}}).first);
  });
  for (auto& t : owner) t.join();
  const double owner_ms = elapsed_ms(owner_t0);
  owner_done = true;
  cashier.join();

  for (int status : statuses) EXPECT_EQ(status, 200);
  // Each dry run must take longer than the till's budget, or a daemon running it on the I/O
  // threads would not make the till miss, and this test could not fail.
  double slowest_dry_run = 0;
  for (const auto& stream : dry_runs)
    for (double ms : stream) slowest_dry_run = std::max(slowest_dry_run, ms);
  EXPECT_GT(slowest_dry_run, kBudgetMs) << "the dry runs were too short to show anything";
  ASSERT_GE(calls.size(), 10u);
  // REGULARS_OK means the daemon answered within the budget; a stalled daemon gives TIMEOUT.
  double slowest = 0;
  int refused = 0;
  std::string first_refusal;
  for (const auto& c : calls) {
    slowest = std::max(slowest, c.ms);
    if (c.status == REGULARS_OK) continue;
    if (refused++ == 0) first_refusal = "status " + std::to_string(c.status) + " after " + std::to_string(c.ms) + " ms";
  }
  // Every call, in a normal build. Under a sanitizer on a loaded machine the I/O thread itself is
  // starved now and then (seen: 12 of 735 calls at 4 times the budget), so up to 5% may miss there;
  // a till stalled behind the owner's work misses nearly all (233 of 247 before the owner pool).
  const auto allowed = static_cast<int>(kSanitizerMarginScale > 1 ? calls.size() / 20 : 0);
  EXPECT_LE(refused, allowed) << refused << " of " << calls.size() << " hints calls were not answered in time (first: "
                        << first_refusal << ") while owner work ran for " << owner_ms << " ms";
  RecordProperty("hints_calls", static_cast<int>(calls.size()));
  RecordProperty("slowest_hints_us", static_cast<int>(slowest * 1000));
  RecordProperty("owner_work_ms", static_cast<int>(owner_ms));
}

}  // namespace
}  // namespace regulars::test
