// The gesture engine: evaluates the owner's rules (rules.hpp) at every hints call and turns the
// ones that apply into offers, within the rules' limits.
//
// Limits are enforced in memory under one lock, so eight tills asking at once can never take
// more than a rule's daily cap, weekly cap, per-cashier cap or monthly budget between them.
// Every offer (and every "held out" decision for the control group) is then logged as an
// `offer` event through the writer; at start-up the counters are read back from the offers
// projection. A budget counts what an offer may cost when it is made; a declined offer gives
// its cost back.
//
// Who runs what (README.md has the whole picture):
//   - offers(): the I/O threads, at every hints call; flush() too, before an offer_outcome;
//   - the offer logger: the engine's own thread, rg-gestures, hands the offers to the writer;
//   - add_rule, set_enabled, dry_run and roi: the owner's threads (rg-owner), through
//     owner/gesture_commands.hpp; dry runs and the ROI report read the log and the offers
//     table on the caller's own read connection;
//   - outcome(): the store's syncer, in the completion of the offer_outcome event;
//   - customer_merged(): the store's writer (a merge) or the owner's thread (an erasure), through
//     the store's customer listener;
//   - load(): start-up, and whoever ran a rebuild or prune, through the rebuild listener.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "base/clock.hpp"
#include "gestures/conditions.hpp"
#include "gestures/facts.hpp"
#include "gestures/chain_allowance.hpp"
#include "gestures/limits.hpp"
#include "gestures/roi_sums.hpp"
#include "gestures/rules.hpp"
#include "locales/phrasebook.hpp"
#include "store/event_store.hpp"
#include "wire/error.hpp"

namespace regulars::daemon {

class Metrics;

// Where a hints call happens: who asks, at which lane.
struct OfferContext {
  std::string id_kind;
  IdentifierHash id_hash{};
  std::string cashier, terminal, store;
  std::string locale;
  const std::unordered_set<std::string>* do_not_mention = nullptr;  // lower-cased topics
};

class GestureEngine {
 public:
  // personalize_requires_consent: the daemon's privacy policy, which the dry run applies too.
  GestureEngine(EventStore& store, const Phrasebook& phrasebook, bool personalize_requires_consent = true);
  ~GestureEngine();  // stop()s
  // The shop's currency (ISO 4217), for discount amounts in offer texts; before load().
  void set_currency(std::string currency) { currency_ = std::move(currency); }
  // Where offers made, held out and reported are counted (null: not counted); before load().
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }
  // In a chain of stores: the rules' chain caps are spent from this store's lease (set before use).
  void set_chain_allowance(ChainAllowance* allowance) { chain_ = allowance; }

  // Hands the offers not yet logged to the store now (before an offer_outcome is queued, so
  // the outcome always follows its offer in the log).
  void flush();
  // Flushes and stops the background logger; call before the store stops.
  void stop();

  // Reads the rules and the offer counters from the store (at start-up, and after a rebuild or
  // prune has renumbered customers).
  void load();

  // Rules. add_rule replaces a rule with the same id; errors name the field.
  std::variant<rules::Rule, wire::Error> add_rule(const nlohmann::json& rule, std::size_t text_bytes = 0);
  std::optional<wire::Error> set_enabled(const std::string& id, bool enabled);
  nlohmann::json list_rules() const;
  std::shared_ptr<const rules::Rule> rule(const std::string& id) const;
  std::size_t active_rules() const;

  // The offers for one customer at a hints call (personalisation allowed). Reserves their
  // limits atomically and logs each new offer; asking again during the same visit shows the
  // same offers again.
  nlohmann::json offers(Facts& facts, const OfferContext& ctx, const Moment& now, int max_offers);

  // A till reported what became of an offer (after the event's commit).
  void outcome(const std::string& offer_id, const std::string& outcome);
  // After a merge (into != 0) or an erasure (into == 0) committed: the engine's memory of
  // `from` moves to `into` or goes, so a later customer given the same id inherits nothing.
  void customer_merged(std::int64_t from, std::int64_t into);

  // "If this rule had been active over the last `days` days": replays the log up to `now_ms`
  // (dry_run.cpp).
  nlohmann::json dry_run(Db& db, const rules::Rule& rule, int days, std::int64_t now_ms) const;

  // Offered against held-out customers, per rule (or one rule), with 95% intervals (roi.cpp).
  nlohmann::json roi(Db& db, const std::string& rule_id, std::int64_t now_ms, int window_days = 30) const;
  // What that report is computed from, per rule (roi_sums.hpp): the store's share of the chain's.
  std::vector<RoiSums> roi_sums(Db& db, const std::string& rule_id, std::int64_t now_ms, int window_days = 30) const;

 private:
  struct Last {  // the latest offer of one rule to one customer
    std::string offer_id;
    std::int64_t made_ms = 0;
    std::int64_t visit = 0;
    std::string status;
    std::string sku, member;
  };
  struct Made {  // an offer whose cost may come back (declined)
    std::string rule;
    int month = 0;
    std::int64_t cost = 0;
    std::int64_t customer = 0;
    bool declined = false;  // its cost went back to the budget
    std::int64_t made_ms = 0;
    std::int64_t chain_budget = 0;  // the rule's chain_monthly_budget when it was made
  };
  struct Counters {  // one rule's
    LimitCounts limits;
    std::unordered_map<std::int64_t, Last> last;  // customer -> latest
  };
  using RuleSet = std::vector<std::shared_ptr<const rules::Rule>>;  // enabled first, by priority

  struct Pending {  // an offer decided at a hints call, logged by the background logger
    OfferContext ctx;
    std::string rule;
    Last offer;
    std::int64_t cost = 0;
  };
  // What this visit already had of a rule: nothing, an offer to show again, or a decision that
  // stands (held out, declined or redeemed at this visit).
  struct Earlier {
    enum class Kind { none, show_again, settled };
    Kind kind = Kind::none;
    Last offer;
  };

  // Rules in force (engine.cpp).
  std::shared_ptr<const RuleSet> rules_in_force() const;
  void install(RuleSet rules);
  void remember_offers(Db& db);  // mu_ held

  // Offers and their limits (offers.cpp).
  Earlier earlier_at_this_visit(const std::string& rule_id, std::int64_t customer, std::int64_t visit, const Moment& now);
  nlohmann::json shown_again(const rules::Rule& rule, Last offer, Facts& facts, const OfferContext& ctx) const;
  static std::optional<Last> what_is_given(const rules::Rule& rule, Facts& facts);
  bool reserve(const rules::Rule& rule, std::int64_t customer, std::int64_t visit, const OfferContext& ctx, const Moment& now,
               Last& offer);
  nlohmann::json describe(const rules::Rule& rule, const Last& offer, Facts& facts, const OfferContext& ctx) const;  // offer_text.cpp

  // The offer logger (offer_logger.cpp).
  static std::string new_offer_id();
  void logger_loop();
  void forget_settled_offers();  // mu_ held

  EventStore& store_;
  const Phrasebook& phrasebook_;
  std::string currency_;
  bool personalize_requires_consent_;
  ChainAllowance* chain_ = nullptr;
  Metrics* metrics_ = nullptr;

  std::mutex owner_mu_;  // rule changes, one at a time
  mutable std::mutex rules_mu_;
  std::shared_ptr<const RuleSet> rules_;  // copied under rules_mu_, read without it

  std::mutex mu_;  // the limits: counters_, made_
  std::unordered_map<std::string, Counters> counters_;
  std::unordered_map<std::string, Made> made_;
  // Offers are logged in small batches (every 20 ms or 128 offers): a hints call only appends
  // here, and the writer wakes once per batch instead of once per offer.
  std::vector<Pending> pending_;  // guarded by mu_
  std::mutex flush_mu_;           // one flush at a time, so batches reach the store in order
  std::condition_variable logger_cv_;
  bool logger_stop_ = false;      // guarded by mu_
  std::thread logger_;
};

}  // namespace regulars::daemon
