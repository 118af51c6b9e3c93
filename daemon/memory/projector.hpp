// The projections of the event log: customers, identifiers, item and category frequencies,
// household tastes, preferences, notes, profile. Live writes and `rebuild` both go through
// Projector::project, so a rebuild reproduces exactly what live writes produced.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/db.hpp"
#include "memory/identity.hpp"
#include "memory/popularity.hpp"

namespace regulars::daemon {

// An event as kept in the log (no raw identifiers: `body` holds hashes where it names one).
struct BasketLines;
struct ItemMemoryBefore;

struct LoggedEvent {
  std::int64_t seq = 0;
  std::string event_id;
  std::string type;
  std::string id_kind;
  IdentifierHash id_hash{};
  std::int64_t time_ms = 0;
  nlohmann::json body;
  const BasketLines* lines = nullptr;  // body's lines when already read (live events); else read here
  bool from_chain = false;  // recorded at another store of the chain (events.origin): its follow-ups are that store's
};

// The log's columns in the order logged_event_from_row reads them.
inline constexpr const char* kLoggedEventColumns = "seq, event_id, type, id_kind, id_hash, time_ms, body, origin IS NOT NULL";
// Reads one row selected with kLoggedEventColumns.
LoggedEvent logged_event_from_row(const Stmt& row);

// An event the projections cannot accept (e.g. a merge naming an unknown customer). The event
// is refused and nothing is stored.
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Each older visit weighs this much of the next in a customer's item memory.
inline constexpr double kItemDecay = 0.9;
// A purchase counts as following the customer's this many top items (item_sources).
inline constexpr int kTransitionSeeds = 5;

// Index key ordering a customer's items by decayed score: ln(dsum) + dvis * ln(1/d).
inline double item_rank_key(double dsum, std::int64_t dvis) {
  return std::log(dsum) - static_cast<double>(dvis) * std::log(kItemDecay);
}

// A purchase's (or return's) lines, one entry per distinct SKU.
struct BasketLines {
  struct Item {
    double qty = 0;
    std::string name, category;
  };
  std::map<std::string, Item> per_sku;
  std::map<std::pair<std::string, std::string>, int> per_member;  // (member, sku) bought "for" someone
  std::int64_t value = 0;                                        // minor units
};
BasketLines basket_lines(const nlohmann::json& body);

// NPS 0-6 (a detractor) or CSAT 1-2: the customer left unhappy.
bool is_unhappy(const nlohmann::json& feedback_body);

// Adds a logged purchase's effect on the store's item popularity to `delta`. `known`, one per
// SKU in order, says which items the customer had bought before (the others gain a buyer);
// without it no buyer is counted.
void count_items(const BasketLines& lines, std::int64_t time_ms, PopularityDelta& delta,
                 const std::vector<bool>* known = nullptr);

class Projector {
 public:
  // erase_on_withdrawal: a consent withdrawing "remember" erases the customer's history
  // (every event but the consent records, links and merges) and their projections.
  // popularity: where a purchase's effect on the store's item popularity and totals goes (the
  // writer keeps those in memory); without one they are written to items and store_stats.
  explicit Projector(Db& db, bool erase_on_withdrawal = true, PopularityDelta* popularity = nullptr)
      : db_(db), erase_on_withdrawal_(erase_on_withdrawal), popularity_(popularity) {}

  // Applies `e` (already in the events table with its seq) to the projections and returns the
  // customer it belongs to. `e.seq` must be the event's position in the log. With
  // `log_row_linked` the log row already names the customer (live writes resolve first).
  std::int64_t project(const LoggedEvent& e, bool log_row_linked = false);

  // The customer an event's identifier names, enrolling a new one when unknown (a merge must
  // name known customers: Refused otherwise).
  std::int64_t resolve_or_enrol(const LoggedEvent& e);

  // Drops every projection (not the log) so a rebuild can replay the log from the start.
  void clear_all();

  // Before clear_all in a rebuild: remembers the id of every customer, so that the replay gives
  // each the id they had (schema v14). Call forget_ids() once the rebuild is done or failed.
  void keep_ids();
  void forget_ids();

  // Customers merged away (from, into) or whose history was erased (customer, 0) so far.
  std::vector<std::pair<std::int64_t, std::int64_t>> take_gone() { return std::move(gone_); }

  // Replaying the log (rebuild, retention): events accepted once are applied again, even where
  // the events they followed have since been pruned.
  void set_replaying() { replaying_ = true; }

  // Customer resolution by identifier; 0 when unknown.
  std::int64_t lookup(const std::string& kind, const IdentifierHash& hash);

 private:
  void apply_effects(std::int64_t customer, const LoggedEvent& e);
  void purchase(std::int64_t customer, const LoggedEvent& e, bool is_return);
  // A purchase's effect on the store: the basket, whether its items repeat the customer's
  // (visit > 1), its items and what it followed (`seeds`, taken) into the writer's delta when it
  // keeps popularity in memory; without one, the totals into store_stats (the items went to the
  // items table with the customer's item memory). Not for a merge's replay: those baskets are counted.
  // With popularity in memory, a returning customer's purchase is also a hold-out for the blend
  // (memory.known, taken).
  void count_in_store(const BasketLines& lines, std::int64_t time_ms, std::int64_t visit, std::int64_t repeat_hits,
                      std::int64_t repeat_total, ItemMemoryBefore& memory);
  void feedback(std::int64_t customer, const LoggedEvent& e);
  void followup(const LoggedEvent& e);
  void offer(std::int64_t customer, const LoggedEvent& e);
  void offer_outcome(const LoggedEvent& e);
  void staff_idea(const LoggedEvent& e);
  void idea_review(const LoggedEvent& e);
  // A withdrawal of "remember" erases the history too (erase_on_withdrawal).
  void consent(std::int64_t customer, const LoggedEvent& e);
  void preference(std::int64_t customer, const LoggedEvent& e);
  void note(std::int64_t customer, const LoggedEvent& e);
  void profile(std::int64_t customer, const LoggedEvent& e);
  void merge(std::int64_t into, std::int64_t from, std::int64_t merge_seq);
  void forget_history(std::int64_t customer, std::int64_t before_seq);

  // The id a replayed enrolment gets: the one stored for it (see keep_ids).
  std::int64_t kept_id(const LoggedEvent& e);
  bool id_in_use(std::int64_t id);

  Db& db_;
  bool erase_on_withdrawal_;
  std::int64_t enrolled_ = 0;     // a customer this projector enrolled before the event had its seq
  std::int64_t next_new_id_ = 0;  // with keep_ids: ids for customers no longer stored start here
  PopularityDelta* popularity_;
  std::vector<std::pair<std::int64_t, std::int64_t>> gone_;
  bool replaying_ = false;
};

// Hex helpers for identifier hashes carried inside event bodies (link, merge).
std::string to_hex(const IdentifierHash& h);
// nullopt for anything but 64 hex digits.
std::optional<IdentifierHash> from_hex(std::string_view hex);

}  // namespace regulars::daemon
