// A store's share of its chain's gesture caps (a rule's limits.chain_per_day): hints never wait
// on the chain's hub, so each store spends from a lease of the day's cap that the chain's link
// (chain/link.cpp) takes from the hub ahead of need and gives back once the store stops using
// it. The hub never grants more than the cap, so the chain never offers more than the cap,
// whether the hub is up or not; a store that cannot reach the hub spends what it holds and then
// offers no more of that rule until it can.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace regulars::daemon {

class ChainAllowance {
 public:
  // `chain_day`: the day number (days since 1970-01-01 in the chain's time zone) of an instant.
  explicit ChainAllowance(std::function<std::int64_t(std::int64_t unix_ms)> chain_day) : chain_day_(std::move(chain_day)) {}

  // I/O threads, at a hints call: one offer of `rule` (whose chain cap is `cap`) from what this
  // store holds for today; false when it holds none (the link is asked to get more).
  bool take(const std::string& rule, int cap, std::int64_t now_ms);

  // The link's side. What each rule in use today stands at.
  struct Share {
    std::string rule;
    std::int64_t day = 0;
    int cap = 0;
    int held = 0;
    bool wanted = false;  // offers were taken or refused lately: keep some in hand
    bool idle = false;    // nothing taken for a while: what is held is better back on the hub
  };
  std::vector<Share> shares(std::int64_t now_ms) const;
  void granted(const std::string& rule, std::int64_t day, int n);
  // Takes back everything held of (rule, day), for the hub; returns how much.
  int take_back(const std::string& rule, std::int64_t day);
  // Forgets the days before today: their caps are over.
  void forget_past(std::int64_t now_ms);
  std::int64_t day_of(std::int64_t unix_ms) const { return chain_day_(unix_ms); }

  static constexpr std::int64_t kWantedForMs = 2'000;  // a take or a refusal this recent: keep some in hand
  static constexpr std::int64_t kIdleAfterMs = 3'000;  // no take this long: give the rest back

 private:
  struct Held {
    int cap = 0;
    int held = 0;
    std::int64_t last_asked_ms = 0;  // the last take, granted or refused
  };
  const std::function<std::int64_t(std::int64_t)> chain_day_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::int64_t>, Held> held_;  // (rule, day)
};

}  // namespace regulars::daemon
