// What the store's queries give the hints and the gestures about one customer: read-only
// copies of projection rows, with nothing of SQLite in them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>


namespace regulars::daemon {

struct CustomerView {
  std::int64_t id = 0;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t visits = 0;
  std::int64_t spend = 0;
  std::optional<bool> consent_remember;
  std::optional<bool> consent_personalize;
  std::string name, birthday, anniversary, language;
  bool discreet = false;
  std::vector<std::string> do_not_mention;
  std::int64_t returns = 0;
  std::vector<std::int64_t> weekday_hist, hour_hist;
  std::int64_t repeat_hits = 0, repeat_total = 0;
  std::int64_t last_feedback_ms = 0;   // 0: never asked
  std::int64_t last_complaint_ms = 0;  // 0: never unhappy
  std::vector<std::string> tags;
  std::int64_t member_visits = 0;  // visits that bought for a household member
};

// An unresolved follow-up item of unhappy feedback.
struct OpenFollowup {
  std::int64_t opened_ms = 0;
  std::string state;
  std::optional<std::int64_t> nps, csat;
  std::vector<std::string> reasons;
};

struct ItemStat {
  std::string sku;
  std::string name;
  std::int64_t baskets = 0;
  std::int64_t last_ms = 0;
  std::int64_t first_ms = 0;
  std::string category;
  double returned = 0;
  double dsum = 0;           // decayed visits with the item, as of the customer's visit dvis
  std::int64_t dvis = 0;
  std::int64_t store_baskets = 0;  // the item's popularity in the store
  std::int64_t store_buyers = 0;   // distinct customers who bought it
  bool for_member = false;         // bought for a household member (EventStore::mark_bought_for_members)
};

struct MemberTaste {
  std::string member;
  std::string sku;
  std::string name;
  std::int64_t baskets = 0;
};

struct Preference {
  std::string member, key, value, said_by;
  std::int64_t time_ms = 0;
};

struct Note {
  std::string text, cashier;
  std::int64_t time_ms = 0;
};

struct HouseholdMember {
  std::string member, name, birthday;
};

}  // namespace regulars::daemon
