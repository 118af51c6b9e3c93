// One checkout lane: the current customer, the basket, and the commands a cashier (or a script)
// gives. Talks to Regulars only through the plugin's C functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin.hpp"
#include "screen.hpp"

namespace till {

struct Settings {
  std::string plugin;
  std::string endpoint = "unix:/var/lib/regulars/regularsd.sock";
  std::string spool;
  std::string terminal = "lane-1";
  std::string cashier;
  std::string store;
  std::string locale = "en";
  int budget_ms = 50;
  bool quiet = false;
};

class Till {
 public:
  enum class Result { ok, error, quit };

  Till(const Plugin& plugin, const Style& style, Settings settings, int width);
  ~Till();
  Till(const Till&) = delete;
  Till& operator=(const Till&) = delete;

  // regulars_open with the settings; prints a banner unless quiet. False (with a message) on failure.
  bool open();
  // Runs one command (no ';'). On Result::error, error() says why.
  Result execute(std::string_view command);
  const std::string& error() const noexcept { return error_; }
  // One line: what this session recorded.
  std::string summary() const;
  void close();

 private:
  struct Line {
    std::string sku, name, for_member, category;
    double qty = 1;
    std::int64_t unit_price = 0;
  };
  struct Item {
    std::string name;
    std::int64_t unit_price = 0;
    std::string category;
  };
  struct Customer {
    std::string kind, value;
  };
  struct HintsCall {
    regulars_status status = REGULARS_OK;
    std::optional<nlohmann::json> answer;
    long long micros = 0;
    std::string detail;  // strerror + last_error when not OK
  };

  Result fail(std::string message);

  Result cmd_customer(const std::vector<std::string>& args);
  Result cmd_consent(const std::vector<std::string>& args);
  Result cmd_scan(const std::vector<std::string>& args);
  Result cmd_for(const std::vector<std::string>& args);
  // accept / decline / redeem [N]: what became of offer N of the last hints answer.
  Result cmd_offer(const std::string& outcome, const std::vector<std::string>& args);
  // feedback --nps N --csat N ... / feedback declined: a feedback event (sdk/PROTOCOL.md).
  Result cmd_feedback(const std::vector<std::string>& args);
  // idea [--kind problem] TEXT: a staff_idea event from the cashier.
  Result cmd_idea(const std::vector<std::string>& args);
  Result cmd_pay();
  Result cmd_hints();
  Result show_hints_now(const std::function<void(const HintsCall&)>& show);
  Result cmd_time(const std::vector<std::string>& args);
  Result cmd_today(const std::vector<std::string>& args);
  Result cmd_item(const std::vector<std::string>& args);
  Result cmd_sleep(const std::vector<std::string>& args);
  Result cmd_cancel();
  Result cmd_help();

  HintsCall ask_hints();
  // Records an event (stamped with the scripted time, if any); prints the outcome.
  // `done` follows `what` in the confirmation line (" recorded" by default).
  bool record(nlohmann::json event, std::string_view what, std::string_view done = " recorded");
  std::uint64_t spool_bytes() const;

  void show_panel(const HintsCall& call);
  void show_changes(const HintsCall& call, const std::vector<std::string>& scanned);
  void show_unavailable(const HintsCall& call);
  std::vector<const nlohmann::json*> usual_missing(const nlohmann::json& answer) const;
  // The offers of the last answer, numbered from 1 in the panels.
  const nlohmann::json& last_offers() const;
  void end_visit();

  void say(const std::string& text) const;  // one line to stdout unless quiet
  std::string customer_label() const;
  std::int64_t basket_total() const;

  const Plugin& plugin_;
  const Style& style_;
  Settings settings_;
  int width_;
  regulars_client* client_ = nullptr;

  std::optional<Customer> customer_;
  // The customer of the visit that just ended with a purchase: a rating given after paying is
  // theirs, until the next customer (or a cancel).
  std::optional<Customer> just_paid_;
  std::vector<Line> basket_;
  std::string pending_for_;
  std::optional<nlohmann::json> last_answer_;
  std::optional<std::int64_t> event_time_ms_;
  std::int64_t shift_ms_ = 0;
  std::map<std::string, Item> catalogue_;
  std::string error_;

  int consents_ = 0, purchases_ = 0, outcomes_ = 0, feedback_ = 0, ideas_ = 0, spooled_ = 0;
  std::set<std::string> customers_;
};

}  // namespace till
