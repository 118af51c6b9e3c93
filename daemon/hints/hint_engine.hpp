// HintEngine: turns what the store remembers about a customer into the few lines a cashier
// reads, and the ranked item predictions behind them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "locales/phrasebook.hpp"
#include "gestures/engine.hpp"
#include "memory/identity.hpp"
#include "store/event_store.hpp"

namespace regulars::daemon {

struct HintSettings {
  int max_hints = 5;
  int max_predictions = 10;
  std::string default_locale = "en";
  bool personalize_requires_consent = true;
  // "Ask for feedback now": at most once per customer every ask_every_days, on a sample of
  // visits, and not within quiet_days_after_complaint of unhappy feedback.
  int feedback_ask_every_days = 30;
  int feedback_sample_percent = 25;
  int feedback_quiet_days_after_complaint = 30;
  int max_offers = 2;  // gesture offers per hints answer
  // A hints request's `time` counts for gesture limits only within this many minutes of the
  // daemon's clock (simulations and tests raise it).
  int gestures_max_clock_skew_minutes = 15;
};

struct AnswerContext;  // hints/answer_context.hpp
class HintList;

class HintEngine {
 public:
  HintEngine(EventStore& store, const IdentityKey& key, HintSettings settings, GestureEngine* gestures = nullptr)
      : store_(store), key_(key), settings_(std::move(settings)), phrasebook_(Phrasebook::builtin()), gestures_(gestures) {}

  // `request` has passed wire::validate_hints_request.
  nlohmann::json answer(const nlohmann::json& request, std::int64_t now_ms);

  // How long the gesture step of this thread's last answer took (0: it did not run), for
  // benchmarks that want the rules' own cost without the rest of the call.
  static std::int64_t last_gestures_ns() noexcept;

 private:
  bool should_ask_feedback(const CustomerView& c, std::int64_t now_ms) const;
  nlohmann::json offers(const AnswerContext& ctx, const nlohmann::json& request, const IdentifierHash& hash, HintList& hints);
  void add_customer_hints(const AnswerContext& ctx, bool ask, const std::vector<ItemStat>& personal,
                          const std::vector<Preference>& preferences, HintList& hints);

  EventStore& store_;
  const IdentityKey& key_;
  HintSettings settings_;
  const Phrasebook& phrasebook_;
  GestureEngine* gestures_;
};

}  // namespace regulars::daemon
