#include "chain/link.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <variant>

#include <unicode/timezone.h>

#include "base/log.hpp"
#include "gestures/chain_allowance.hpp"
#include "gestures/engine.hpp"
#include "chain/chain_roi.hpp"
#include "chain/hub_event.hpp"
#include "db/db.hpp"
#include "memory/identity.hpp"
#include "memory/projector.hpp"
#include "metrics/metrics.hpp"
#include "store/event_store.hpp"
#include "wire/hex.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::chain {

namespace {

std::int64_t meta_value(Db& db, const char* key, std::int64_t fallback) {
  Stmt s(db.raw(), "SELECT value FROM store_meta WHERE key=?");
  s.bind(1, std::string_view(key));
  return s.step() ? s.i64(0) : fallback;
}

// A number drawn once per store and kept: two stores that claim one store id tell apart by it.
std::int64_t store_instance(EventStore& store) {
  if (const std::int64_t known = meta_value(store.read_connection(), "chain_instance", 0); known != 0) return known;
  const std::int64_t drawn = draw_store_instance();
  store.write_now([drawn](Db& db) {
    Stmt s(db.raw(), "INSERT OR IGNORE INTO store_meta(key, value) VALUES('chain_instance', ?)");
    s.bind(1, drawn).run();
  });
  return meta_value(store.read_connection(), "chain_instance", drawn);
}

// This store's durable events after `after`, as the hub keeps them.
std::vector<HubEvent> local_events(Db& db, std::int64_t after, std::int64_t durable, int limit) {
  Stmt s(db.raw(), std::string("SELECT seq, event_id, type, coalesce(id_kind, ''), id_hash, time_ms, body FROM events "
                               "WHERE seq > ? AND seq <= ? AND origin IS NULL AND type IN ") +
                       kCarriedTypesSql + " ORDER BY seq LIMIT ?");
  s.bind(1, after).bind(2, durable).bind(3, static_cast<std::int64_t>(limit));
  std::vector<HubEvent> out;
  while (s.step()) {
    HubEvent e;
    e.origin_seq = s.i64(0);
    e.event_id = s.text(1);
    e.type = s.text(2);
    e.id_kind = s.text(3);
    if (!s.is_null(4)) {
      const auto* blob = static_cast<const unsigned char*>(sqlite3_column_blob(s.raw(), 4));
      e.id_hash_hex = wire::hex_encode({blob, static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), 4))});
    }
    e.time_ms = s.i64(5);
    e.body = s.text(6);
    out.push_back(std::move(e));
  }
  return out;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::function<std::int64_t(std::int64_t)> chain_day_in(const std::string& time_zone) {
  std::shared_ptr<const icu::TimeZone> zone(icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(time_zone)));
  icu::UnicodeString id;
  if (*zone == icu::TimeZone::getUnknown() || zone->getID(id).isBogus())
    throw std::invalid_argument("chain.time_zone: '" + time_zone + "' is not a time zone ICU knows; use an IANA name such as Europe/Paris");
  return [zone](std::int64_t unix_ms) {
    std::int32_t raw = 0, dst = 0;
    UErrorCode status = U_ZERO_ERROR;
    zone->getOffset(static_cast<UDate>(unix_ms), false, raw, dst, status);
    const std::int64_t local = unix_ms + (U_SUCCESS(status) ? raw + dst : 0);
    return local >= 0 ? local / 86'400'000 : (local - 86'399'999) / 86'400'000;
  };
}

std::string secret_check(const IdentityKey& key) {
  return wire::hex_encode(key.hash("chain_check", "regulars chain secret check, version 1"));
}

Link::Link(EventStore& store, const IdentityKey& key, LinkSettings settings)
    : store_(store), settings_(std::move(settings)), secret_check_(secret_check(key)) {
  status_.applied_hub_id = saved_applied_ = meta_value(store_.read_connection(), "chain_applied_hub_id", 0);
  status_.applied_erasure_hub_id = meta_value(store_.read_connection(), "chain_applied_erasure_id", 0);
  thread_ = std::thread([this] {
    log::name_thread("rg-chain");
    run();
  });
}

Link::~Link() { stop(); }

void Link::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Link::sleep_for(int ms) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

void Link::failed(const std::string& kind, const std::string& message) {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = status_.connected || status_.last_error != message;
    status_.connected = false;
    status_.failure = kind;
    status_.last_error = message;
  }
  // Once per new failure, not once per retry: an outage must not flood the log.
  if (first) REGULARS_LOG(warn, "chain: the hub link is down; tills are served from this store meanwhile",
                          ({{"failure", kind}, {"error", message}}));
}

void Link::connect() {
  if (instance_ == 0) instance_ = store_instance(store_);
  auto hub = std::make_unique<Hub>(settings_.hub);
  const HubStoreState state = hub->join(settings_.store_id, instance_, secret_check_);
  hub_ = std::move(hub);
  std::lock_guard lock(mu_);
  status_.connected = true;
  status_.failure.clear();
  status_.last_error.clear();
  status_.published_seq = state.published_seq;
  status_.newest_hub_id = state.newest_hub_id;
  REGULARS_LOG(info, "chain: connected to the hub",
               ({{"store_id", settings_.store_id}, {"published_seq", state.published_seq}, {"newest_hub_id", state.newest_hub_id}}));
}

std::int64_t Link::watermark(std::int64_t LinkStatus::*which) const {
  std::lock_guard lock(mu_);
  return status_.*which;
}

void Link::run() {
  int backoff_ms = 250;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    try {
      if (!hub_) connect();
      backoff_ms = 250;
      // Erasures first, both ways: what an erasure removes must not travel a moment longer.
      const bool erased = publish_erasures() | apply_erasures();
      refresh_leases();
      report_metrics();
      const bool published = publish_some();
      const bool applied = apply_some();
      if (!erased && !published && !applied) {
        save_applied(watermark(&LinkStatus::applied_hub_id), true);
        publish_roi();  // when caught up: the other stores' visits are in the figures
        hub_->wait_for_news(settings_.poll_ms);
      }
    } catch (const HubError& e) {
      hub_.reset();
      failed(failure_name(e.failure()), e.what());
      report_metrics();
      if (!sleep_for(backoff_ms)) break;
      backoff_ms = std::min(backoff_ms * 2, 10'000);
    } catch (const std::exception& e) {  // the local store: stopping, or a disk that refuses writes
      hub_.reset();
      failed("store", e.what());
      if (!sleep_for(backoff_ms)) break;
      backoff_ms = std::min(backoff_ms * 2, 10'000);
    }
  }
  try {
    save_applied(watermark(&LinkStatus::applied_hub_id), true);  // so a clean restart fetches nothing again
  } catch (const std::exception&) {  // the hub or the store is gone: the next start re-fetches a little
  }
}

// The applied watermark, kept in the store and shown on the hub, at most once a second (and
// when the link goes idle or stops): applying a batch again after a crash changes nothing (the
// log refuses an event id it holds), so a watermark a second old costs only a re-fetch, while
// one saved per batch cost a commit and a flush here and on the hub for every few events.
void Link::save_applied(std::int64_t upto, bool now) {
  if (upto <= saved_applied_ || (!now && std::chrono::steady_clock::now() - saved_applied_at_ < std::chrono::seconds(1))) return;
  store_.write_now([upto](Db& db) {
    Stmt s(db.raw(), "UPDATE store_meta SET value=? WHERE key='chain_applied_hub_id'");
    s.bind(1, upto).run();
  });
  saved_applied_ = upto;
  saved_applied_at_ = std::chrono::steady_clock::now();
  if (hub_) hub_->report_applied(settings_.store_id, upto);
}

bool Link::publish_some() {
  const std::int64_t from = watermark(&LinkStatus::published_seq);
  const std::int64_t durable = store_.durable_seq();
  if (durable <= from) return false;
  const auto events = local_events(store_.read_connection(), from, durable, settings_.batch);
  // A short batch read everything up to `durable`; types that stay home move the watermark too.
  const std::int64_t upto = static_cast<int>(events.size()) == settings_.batch ? events.back().origin_seq : durable;
  hub_->publish(settings_.store_id, events, upto, settings_.erase_on_withdrawal);
  std::lock_guard lock(mu_);
  status_.published_seq = upto;
  status_.published_events += static_cast<std::int64_t>(events.size());
  if (settings_.metrics != nullptr) settings_.metrics->chain_events(static_cast<std::int64_t>(events.size()), 0, 0);
  return !events.empty();
}

bool Link::apply_some() {
  const std::int64_t from = watermark(&LinkStatus::applied_hub_id);
  const auto rows = hub_->fetch(settings_.store_id, from, watermark(&LinkStatus::applied_erasure_hub_id), settings_.batch);
  if (rows.empty()) {
    const std::int64_t newest = hub_->newest_hub_id();
    std::lock_guard lock(mu_);
    status_.newest_hub_id = newest;
    return false;
  }
  std::vector<PreparedEvent> events;
  std::int64_t refused = 0;
  for (const auto& row : rows) {
    std::variant<PreparedEvent, std::string> prepared;
    try {
      prepared = prepared_from_hub(row);
    } catch (const std::exception& e) {  // a check that throws still refuses only this row
      prepared = std::string("the row could not be read: ") + e.what();
    }
    if (auto* e = std::get_if<PreparedEvent>(&prepared)) {
      events.push_back(std::move(*e));
    } else {
      ++refused;  // a bad row is skipped, never applied; nothing stored changes
      REGULARS_LOG(err, "chain: refused an event from the hub",
                   ({{"hub_id", row.hub_id}, {"origin", row.origin.substr(0, 64)}, {"why", std::get<std::string>(prepared)}}));
    }
  }
  const auto results = store_.apply_now(std::move(events));
  for (const auto& r : results) {
    if (r.ok || r.refused) continue;
    // Not stored for a reason of this store's (a full disk): try the same rows again later.
    throw std::runtime_error("applying the hub's events failed: " + r.error);
  }
  const std::int64_t upto = rows.back().hub_id;
  save_applied(upto, false);
  std::lock_guard lock(mu_);
  status_.applied_hub_id = upto;
  status_.newest_hub_id = std::max(status_.newest_hub_id, upto);
  const std::int64_t refused_here = refused + std::count_if(results.begin(), results.end(), [](const WriteResult& r) { return r.refused; });
  status_.applied_events += static_cast<std::int64_t>(results.size());
  status_.refused_rows += refused_here;
  if (settings_.metrics != nullptr) settings_.metrics->chain_events(0, static_cast<std::int64_t>(results.size()), refused_here);
  status_.last_apply_lag_ms = std::max<std::int64_t>(0, now_ms() - rows.back().published_ms);
  return true;
}

// Erasures made here, from the outbox the erasure's own transaction filled, one receipt at a time,
// in the order they were made (two of one customer: the hub keeps the later one's date).
bool Link::publish_erasures() {
  struct Waiting {
    std::string receipt_id;
    std::int64_t erased_ms = 0;  // as this store dated its tombstone (the receipt's time)
    ErasedIdentifiers identifiers;
  };
  std::vector<Waiting> waiting;
  {
    Stmt s(store_.read_connection().raw(),
           "SELECT o.receipt_id, o.kind, o.hash, coalesce(r.erased_ms, 0) FROM chain_erasure_outbox o "
           "LEFT JOIN erasure_receipts r ON r.receipt_id = o.receipt_id ORDER BY coalesce(r.erased_ms, 0), o.receipt_id");
    while (s.step()) {
      if (waiting.empty() || waiting.back().receipt_id != s.text(0)) waiting.push_back({s.text(0), s.i64(3), {}});
      IdentifierHash h{};
      const auto* blob = static_cast<const unsigned char*>(sqlite3_column_blob(s.raw(), 2));
      if (blob != nullptr && static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), 2)) == h.size()) std::copy_n(blob, h.size(), h.begin());
      waiting.back().identifiers.emplace_back(s.text(1), h);
    }
  }
  for (const auto& [receipt_id, erased_ms, identifiers] : waiting) {
    hub_->publish_erasure(settings_.store_id,
                          HubErasure{receipt_id, 0, settings_.store_id, identifiers_to_hub(identifiers), erased_ms});
    store_.write_now([&receipt_id](Db& db) {
      Stmt d(db.raw(), "DELETE FROM chain_erasure_outbox WHERE receipt_id=?");
      d.bind(1, std::string_view(receipt_id)).run();
    });
    REGULARS_LOG(info, "chain: an erasure made here is on the hub", ({{"receipt", receipt_id}}));
  }
  return !waiting.empty();
}

// The other stores' erasures, in the hub's order: carried out here, then confirmed on the hub.
bool Link::apply_erasures() {
  const std::int64_t from = watermark(&LinkStatus::applied_erasure_hub_id);
  const auto rows = hub_->fetch_erasures(settings_.store_id, from, settings_.batch);
  for (const HubErasure& row : rows) {
    auto identifiers = identifiers_from_hub(row);
    if (const auto* why = std::get_if<std::string>(&identifiers)) {
      REGULARS_LOG(err, "chain: refused an erasure from the hub", ({{"hub_id", row.hub_id}, {"why", *why}}));
    } else {
      const std::int64_t erased = store_.erase_from_chain(std::get<ErasedIdentifiers>(identifiers), "chain:" + row.origin, row.requested_ms);
      hub_->confirm_erasure(settings_.store_id, row.erasure_id, erased);
      REGULARS_LOG(info, "chain: carried out an erasure made at another store",
                   ({{"receipt", row.erasure_id}, {"origin", row.origin}, {"customers_erased", erased}}));
    }
    store_.write_now([upto = row.hub_id](Db& db) {
      Stmt u(db.raw(), "UPDATE store_meta SET value=? WHERE key='chain_applied_erasure_id'");
      u.bind(1, upto).run();
    });
    std::lock_guard lock(mu_);
    status_.applied_erasure_hub_id = row.hub_id;
    ++status_.erasures_applied;
  }
  return !rows.empty();
}

// Keeps a few offers of each chain cap in hand while the tills use them, and gives back what a
// store stops using, so the whole cap can be spent wherever the customers are.
void Link::refresh_leases() {
  ChainAllowance* allowance = settings_.allowance;
  if (allowance == nullptr) return;
  const std::int64_t now = now_ms();
  allowance->forget_past(now);
  for (const auto& s : allowance->shares(now)) {
    // A lease of a tenth of the cap, 1 to 5 offers' worth: enough to ride out a refill, small
    // enough that little sits unused at one store while another wants it.
    const std::int64_t units = std::max<std::int64_t>(1, s.units);
    const std::int64_t lease = std::clamp(s.cap / 10, units, 5 * units) / units * units;
    if (s.wanted && s.held < lease) {
      const std::int64_t got = hub_->lease(s.key, s.period, s.cap, lease - s.held, units);
      if (got > 0 && !allowance->granted(s.key, s.period, got)) hub_->give_back(s.key, s.period, got);
    } else if (s.idle && s.held > 0) {
      hub_->give_back(s.key, s.period, allowance->take_back(s.key, s.period));
    }
  }
}

void Link::report_metrics() {
  if (settings_.metrics == nullptr || std::chrono::steady_clock::now() - metrics_at_ < std::chrono::seconds(1)) return;
  metrics_at_ = std::chrono::steady_clock::now();
  const LinkStatus s = status();
  settings_.metrics->set_chain_state({s.connected, s.waiting_out, std::max<std::int64_t>(0, s.newest_hub_id - s.applied_hub_id),
                                      s.erasures_waiting_out, s.last_apply_lag_ms < 0 ? 0 : s.last_apply_lag_ms / 1000.0});
}

std::optional<ErasureReceipt> Link::erasure_receipt(const std::string& erasure_id) const {
  Hub hub(settings_.hub);
  return hub.erasure_receipt(erasure_id);
}

// This store's gesture ROI sums, now and then: the chain's report pools them (CHAIN.md). Sums
// only, never an offer or a customer.
// Once per roi_every_ms whatever happens: a report that fails is tried again at the next turn,
// never at every round of the link, whose events and leases must not wait on it. A failure to
// read the store is logged and leaves the hub's rows as they were; the hub's own failures go to
// the link's loop like any other.
void Link::publish_roi() {
  if (settings_.gestures == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (roi_published_at_ && now - *roi_published_at_ < std::chrono::milliseconds(settings_.roi_every_ms)) return;
  roi_published_at_ = now;
  const std::int64_t as_of = wire::now_ms();
  std::vector<RoiSums> sums;
  try {
    EventStore::ReadScope snapshot(store_);
    sums = settings_.gestures->roi_sums(store_.read_connection(), "", as_of, kChainRoiWindowDays);
  } catch (const std::exception& e) {
    REGULARS_LOG(warn, "chain: the gesture ROI figures could not be read; the hub keeps the last ones", ({{"error", e.what()}}));
    return;
  }
  std::vector<StoreRoi> rows;
  for (const RoiSums& s : sums) rows.push_back({settings_.store_id, s.rule, as_of, roi_sums_to_json(s).dump()});
  hub_->publish_roi(settings_.store_id, as_of, rows);
}

nlohmann::json Link::roi() const {
  Hub hub(settings_.hub);
  return pool_roi(hub.roi());
}

ChainFigures Link::figures(std::int64_t from_ms, std::int64_t to_ms) const {
  Hub hub(settings_.hub);
  return hub.figures(from_ms, to_ms);
}

LinkStatus Link::status() const {
  LinkStatus s;
  {
    std::lock_guard lock(mu_);
    s = status_;
  }
  Stmt q(store_.read_connection().raw(), std::string("SELECT count(*) FROM events WHERE seq > ? AND origin IS NULL AND type IN ") +
                                            kCarriedTypesSql);
  q.bind(1, s.published_seq);
  if (q.step()) s.waiting_out = q.i64(0);
  Stmt e(store_.read_connection().raw(), "SELECT count(DISTINCT receipt_id) FROM chain_erasure_outbox");
  if (e.step()) s.erasures_waiting_out = e.i64(0);
  return s;
}

}  // namespace regulars::daemon::chain
