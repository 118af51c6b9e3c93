// The offer logger: the engine's own thread (rg-gestures) hands the offers decided at hints
// calls to the store's writer in small batches, and forgets offers too old to matter.
#include "base/log.hpp"
#include "gestures/engine.hpp"
#include "wire/json_text.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

std::string GestureEngine::new_offer_id() {
  // Time first, then randomness (as the plugin's event ids): new offers land at the end of the
  // offers and event_id indexes instead of dirtying a random page of each.
  return wire::time_ordered_id("offer-", 4);
}

void GestureEngine::flush() {
  std::lock_guard order(flush_mu_);
  std::vector<Pending> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return;
  std::vector<PreparedEvent> events;
  events.reserve(batch.size());
  for (const Pending& p : batch) {
    PreparedEvent& e = events.emplace_back();
    e.event_id = p.offer.offer_id;
    e.type = "offer";
    e.id_kind = p.ctx.id_kind;
    e.id_hash = p.ctx.id_hash;
    e.time_ms = p.offer.made_ms;
    e.body = {{"type", "offer"},          {"event_id", p.offer.offer_id}, {"offer_id", p.offer.offer_id},
              {"rule", p.rule},           {"status", p.offer.status},     {"cost", p.cost},
              {"visit", p.offer.visit},   {"customer_kind", p.ctx.id_kind},
              {"time", wire::format_time_ms(p.offer.made_ms)}};
    if (!p.offer.sku.empty()) e.body["sku"] = p.offer.sku;
    if (!p.ctx.cashier.empty()) e.body["cashier"] = p.ctx.cashier;
    if (!p.ctx.terminal.empty()) e.body["terminal"] = p.ctx.terminal;
    if (!p.ctx.store.empty()) e.body["store"] = p.ctx.store;
    e.body_text = wire::dump_json(e.body);
  }
  store_.submit_all(std::move(events), [](WriteResult r) {
    if (!r.ok) REGULARS_LOG(err, "offer not logged", ({{"seq", r.seq}, {"error", r.error}}));
  });
}

void GestureEngine::logger_loop() {
  std::unique_lock lock(mu_);
  auto forgotten_at = std::chrono::steady_clock::now();
  while (!logger_stop_) {
    logger_cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return logger_stop_ || pending_.size() >= 128; });
    if (std::chrono::steady_clock::now() - forgotten_at > std::chrono::hours(1)) {
      forgotten_at = std::chrono::steady_clock::now();
      forget_settled_offers();
    }
    if (pending_.empty()) continue;
    lock.unlock();
    flush();
    lock.lock();
  }
}

// Offers from before last month can no longer give a budget anything back.
void GestureEngine::forget_settled_offers() {
  const int oldest = moment_at(wire::now_ms()).month - 1;
  for (auto it = made_.begin(); it != made_.end();) it = it->second.month < oldest ? made_.erase(it) : std::next(it);
}

void GestureEngine::stop() {
  {
    std::lock_guard lock(mu_);
    if (logger_stop_) return;
    logger_stop_ = true;
  }
  logger_cv_.notify_all();
  if (logger_.joinable()) logger_.join();
  flush();
}

}  // namespace regulars::daemon
