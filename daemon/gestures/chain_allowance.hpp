// A store's share of its chain's gesture caps (a rule's limits.chain_per_day, chain_per_week and
// chain_monthly_budget): hints never wait on the chain's hub, so each store spends from a lease
// of each cap that the chain's link (chain/link.cpp) takes from the hub ahead of need and gives
// back once the store stops using it. The hub never grants more than a cap, so the chain never
// offers more than the cap, whether the hub is up or not; a store that cannot reach the hub
// spends what it holds and then offers no more of that rule until it can.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace regulars::daemon {

// The period a chain cap counts in, in the chain's time zone.
enum class ChainPeriod { day, week, month };

// One of a rule's chain caps: what it allows per period (offers, or minor units for a budget),
// and what one offer takes of it (1, or the gesture's cost).
struct ChainCap {
  ChainPeriod period = ChainPeriod::day;
  std::int64_t cap = 0;
  std::int64_t units = 1;
};

class ChainAllowance {
 public:
  // `chain_day`: the day number (days since 1970-01-01 in the chain's time zone) of an instant.
  explicit ChainAllowance(std::function<std::int64_t(std::int64_t unix_ms)> chain_day) : chain_day_(std::move(chain_day)) {}

  // I/O threads, at a hints call: one offer of `rule` from what this store holds of each of its
  // chain caps for the current periods, all or nothing; false when one of them is short (the
  // link is asked to get more of each).
  bool take(const std::string& rule, const std::vector<ChainCap>& caps, std::int64_t now_ms);
  // A declined offer's units go back to what this store holds of the cap's period of `at_ms`.
  void give_back(const std::string& rule, const ChainCap& cap, std::int64_t at_ms);

  // The link's side. What each cap in use stands at; `key` names it on the hub (lease_key).
  struct Share {
    std::string key;
    std::int64_t period = 0;  // the day, week or month number
    std::int64_t cap = 0;
    std::int64_t held = 0;
    std::int64_t units = 1;  // what one offer takes
    bool wanted = false;  // offers were taken or refused lately: keep some in hand
    bool idle = false;    // nothing taken for a while: what is held is better back on the hub
  };
  std::vector<Share> shares(std::int64_t now_ms) const;
  // Adds what the hub granted; false when (key, period) is no longer in use (its period ended
  // meanwhile): the link then gives it straight back.
  bool granted(const std::string& key, std::int64_t period, std::int64_t n);
  // Takes back everything held of (key, period), for the hub; returns how much.
  std::int64_t take_back(const std::string& key, std::int64_t period);
  // Forgets the periods before the current ones: their caps are over.
  void forget_past(std::int64_t now_ms);
  std::int64_t day_of(std::int64_t unix_ms) const { return chain_day_(unix_ms); }
  // The period number of an instant: days since 1970-01-01, weeks since then (Monday first), or
  // year * 12 + month - 1.
  std::int64_t period_of(ChainPeriod period, std::int64_t unix_ms) const;
  // How a cap is named on the hub: the rule id for a day cap (as before weeks and budgets
  // existed), "rule/week" and "rule/month" for the others; rule ids cannot hold '/'.
  static std::string lease_key(const std::string& rule, ChainPeriod period);

  static constexpr std::int64_t kWantedForMs = 2'000;  // a take or a refusal this recent: keep some in hand
  static constexpr std::int64_t kIdleAfterMs = 3'000;  // no take this long: give the rest back

 private:
  struct Held {
    ChainPeriod period = ChainPeriod::day;
    std::int64_t cap = 0;
    std::int64_t held = 0;
    std::int64_t units = 1;
    std::int64_t last_asked_ms = 0;  // the last take, granted or refused
  };
  const std::function<std::int64_t(std::int64_t)> chain_day_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::int64_t>, Held> held_;  // (lease key, period)
};

}  // namespace regulars::daemon
