#include "store/event_store.hpp"

#include <sqlite3.h>

#include <algorithm>

#include "base/log.hpp"
#include "memory/projector.hpp"
#include "wire/json_text.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

// What an erasure leaves behind so that it cannot be undone: the keyed hashes of the customer's
// identifiers and the ids of their events (and of the owner's follow-ups about them). Tombstones
// older than privacy.erasure_tombstone_days go at the same time.
void EventStore::record_tombstone(Db& db, std::int64_t customer) {
  const std::int64_t now = wire::now_ms();
  db.cached("DELETE FROM erased_identifiers WHERE erased_ms < ?").bind(1, now - std::int64_t{options_.tombstone_days} * 86'400'000).run();
  db.cached("DELETE FROM erased_events WHERE erased_ms < ?").bind(1, now - std::int64_t{options_.tombstone_days} * 86'400'000).run();
  db.cached("INSERT OR REPLACE INTO erased_identifiers(kind, hash, erased_ms) SELECT kind, hash, ?1 FROM identifiers WHERE customer_id=?2")
      .bind(1, now).bind(2, customer).run();
  Stmt ids(db.raw(),
           "SELECT event_id FROM events WHERE customer_id=?1 OR (type='followup' AND json_extract(body, '$.feedback') IN "
           "(SELECT event_id FROM events WHERE customer_id=?1 AND type='feedback'))");
  ids.bind(1, customer);
  std::vector<IdentifierHash> hashes;
  while (ids.step()) hashes.push_back(options_.hash_event_id(ids.text(0)));
  for (const auto& h : hashes)
    db.cached("INSERT OR REPLACE INTO erased_events(hash, erased_ms) VALUES(?, ?)").bind_blob(1, h.data(), h.size()).bind(2, now).run();
  any_erased_events_ = any_erased_events_ || !hashes.empty();
}

// The customer's part of the store's item popularity goes (Popularity::forget_buyer), and the
// changed counts are written in the erasure's transaction, under its secure_delete.
void EventStore::forget_purchases(Db& db, std::int64_t customer) {
  forget_after_commit_.push_back(customer);  // out of the top items' memory too: the id may be given again
  std::vector<BuyerShare> shares;
  {
    Stmt s(db.raw(), "SELECT sku, baskets, qty FROM customer_items WHERE customer_id=?");
    s.bind(1, customer);
    while (s.step()) shares.push_back({s.text(0), s.i64(1), s.f64(2)});
  }
  StoreTotals totals;  // what their purchases added to the store's (a merge's replay added none)
  {
    Stmt s(db.raw(), "SELECT visits, repeat_hits, repeat_total FROM customers WHERE id=?");
    s.bind(1, customer);
    if (s.step()) totals = StoreTotals{s.i64(0), s.i64(1), s.i64(2)};
  }
  popularity_.forget_buyer(db, shares, totals);
  popularity_.flush(db, true);
}

namespace {

// An erasure waiting for the chain's link: the identifiers to erase everywhere, as keyed hashes.
void queue_for_the_chain(Db& db, const std::string& receipt_id, const EventStore::Identifiers& identifiers) {
  for (const auto& [kind, hash] : identifiers)
    db.cached("INSERT OR IGNORE INTO chain_erasure_outbox(receipt_id, kind, hash) VALUES(?, ?, ?)")
        .bind(1, receipt_id)
        .bind(2, kind)
        .bind_blob(3, hash.data(), hash.size())
        .run();
}

// The customer's identifiers that the chain has not named yet (all of them for an erasure made here).
EventStore::Identifiers news_for_the_chain(Db& db, std::int64_t customer, const EventStore::Identifiers& named) {
  EventStore::Identifiers out;
  Stmt s(db.raw(), "SELECT kind, hash FROM identifiers WHERE customer_id=?");
  s.bind(1, customer);
  while (s.step()) {
    IdentifierHash h{};
    const auto* blob = static_cast<const unsigned char*>(sqlite3_column_blob(s.raw(), 1));
    if (blob != nullptr && static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), 1)) == h.size()) std::copy_n(blob, h.size(), h.begin());
    std::pair<std::string, IdentifierHash> id{s.text(0), h};
    if (std::find(named.begin(), named.end(), id) == named.end()) out.push_back(std::move(id));
  }
  return out;
}

// An identifier no customer here has: tombstoned, and sent to the chain's other stores.
nlohmann::json erase_unknown_for_the_chain(Db& db, const std::string& kind, const IdentifierHash& hash, const std::string& actor) {
  const std::string id = wire::random_id("erasure-", 8);
  const std::int64_t now = wire::now_ms();
  queue_for_the_chain(db, id, {{kind, hash}});
  db.cached("INSERT OR REPLACE INTO erased_identifiers(kind, hash, erased_ms) VALUES(?, ?, ?)")
      .bind(1, kind)
      .bind_blob(2, hash.data(), hash.size())
      .bind(3, now)
      .run();
  // The receipt dates the erasure when the link publishes it late (Link::publish_erasures), as
  // this store dated its tombstone: a consent given here after it must lift it on the hub too.
  const nlohmann::json erased = nlohmann::json::object();
  db.cached("INSERT INTO erasure_receipts(receipt_id, erased_ms, actor, erased) VALUES(?,?,?,?)")
      .bind(1, id)
      .bind(2, now)
      .bind(3, actor)
      .bind(4, wire::dump_json(erased))
      .run();
  return {{"receipt_id", id}, {"erased_at", wire::format_time_ms(now)}, {"by", actor}, {"erased", erased}, {"not_known_here", true}};
}

}  // namespace

std::optional<nlohmann::json> EventStore::erase_customer(const std::string& kind, const IdentifierHash& hash, const std::string& actor) {
  const Identifiers none_named;
  return erase_customer_rolling_back(kind, hash, actor, options_.chain_outbox ? &none_named : nullptr);
}

std::optional<nlohmann::json> EventStore::erase_customer_rolling_back(const std::string& kind, const IdentifierHash& hash,
                                                                      const std::string& actor, const Identifiers* chain_named) {
  try {
    return erase_customer_now(kind, hash, actor, chain_named);
  } catch (...) {
    // The erasure rolled back, popularity's memory with it: back to what is committed.
    run_on_writer([this] {
      popularity_.load(*writer_db_);
      catch_up_popularity();
    });
    throw;
  }
}

std::optional<nlohmann::json> EventStore::erase_customer_now(const std::string& kind, const IdentifierHash& hash,
                                                             const std::string& actor, const Identifiers* chain_named) {
  std::optional<nlohmann::json> receipt;
  std::int64_t customer = 0;
  write_now([&](Db& db) {
    {
      Stmt& s = db.cached("SELECT customer_id FROM identifiers WHERE kind=? AND hash=?");
      s.bind(1, kind).bind_blob(2, hash.data(), hash.size());
      if (s.step()) customer = s.i64(0);
      s.reset();
    }
    if (customer == 0) {
      // In a chain, an erasure asked here of a customer this store has not met yet still goes to
      // every store that has (a new one: chain_named is empty).
      if (chain_named != nullptr && chain_named->empty()) receipt = erase_unknown_for_the_chain(db, kind, hash, actor);
      return;
    }
    SecureDelete secure(db);
    nlohmann::json erased = nlohmann::json::object();
    auto count = [&](const std::string& sql) {
      Stmt s(db.raw(), sql);
      s.bind(1, customer);
      return s.step() ? s.i64(0) : 0;
    };
    {
      Stmt s(db.raw(), "SELECT type, count(*) FROM events WHERE customer_id=? GROUP BY type ORDER BY type");
      s.bind(1, customer);
      nlohmann::json by_type = nlohmann::json::object();
      while (s.step()) by_type[s.text(0)] = s.i64(1);
      erased["events"] = std::move(by_type);
    }
    erased["identifiers"] = count("SELECT count(*) FROM identifiers WHERE customer_id=?");
    for (const char* table : {"customer_items", "customer_categories", "member_items", "household", "preferences", "notes",
                              "feedback", "followups", "offers"})
      erased[table] = count(std::string("SELECT count(*) FROM ") + table + " WHERE customer_id=?");
    // The owner's follow-up changes about this customer's feedback (they quote it).
    erased["followup_changes"] = count(
        "SELECT count(*) FROM events WHERE type='followup' AND json_extract(body, '$.feedback') IN "
        "(SELECT event_id FROM events WHERE customer_id=?1 AND type='feedback')");
    db.cached(
          "DELETE FROM events WHERE type='followup' AND json_extract(body, '$.feedback') IN "
          "(SELECT event_id FROM events WHERE customer_id=? AND type='feedback')")
        .bind(1, customer)
        .run();
    record_tombstone(db, customer);
    const std::string id = wire::random_id("erasure-", 8);  // throws: the erasure rolls back
    // In a chain: every identifier of theirs the chain has not named goes to the other stores,
    // those linked here but unknown where the erasure was asked included.
    if (chain_named != nullptr) queue_for_the_chain(db, id, news_for_the_chain(db, customer, *chain_named));
    forget_purchases(db, customer);
    db.cached("DELETE FROM events WHERE customer_id=?").bind(1, customer).run();
    for (const char* table : {"customer_items", "customer_categories", "member_items", "household", "preferences", "notes",
                              "feedback", "followups", "offers", "identifiers"})
      db.cached(std::string("DELETE FROM ") + table + " WHERE customer_id=?").bind(1, customer).run();
    db.cached("DELETE FROM customers WHERE id=?").bind(1, customer).run();
    const std::int64_t now = wire::now_ms();
    receipt = nlohmann::json{{"receipt_id", id}, {"erased_at", wire::format_time_ms(now)}, {"by", actor}, {"erased", erased}};
    db.cached("INSERT INTO erasure_receipts(receipt_id, erased_ms, actor, erased) VALUES(?,?,?,?)")
        .bind(1, id)
        .bind(2, now)
        .bind(3, actor)
        .bind(4, wire::dump_json(erased))
        .run();
    db.cached("INSERT INTO audit(time_ms, actor, action, target, detail) VALUES(?,?,'erase',?,?)")
        .bind(1, now)
        .bind(2, actor)
        .bind(3, id)
        .bind(4, wire::dump_json(erased))
        .run();
  });
  if (!receipt) return std::nullopt;
  {
    std::lock_guard lock(popular_mu_);
    popular_.reset();  // the best sellers are listed again without what went
  }
  if (customer_listener_ && customer != 0) customer_listener_(customer, 0);
  (*receipt)["wal_truncated"] = truncate_wal();
  REGULARS_LOG(info, "customer erased", ({{"receipt", (*receipt)["receipt_id"]}, {"wal_truncated", (*receipt)["wal_truncated"]}}));
  return receipt;
}

std::int64_t EventStore::erase_from_chain(const std::vector<std::pair<std::string, IdentifierHash>>& identifiers,
                                          const std::string& actor, std::int64_t erased_ms) {
  const std::int64_t date = erased_ms > 0 ? erased_ms : wire::now_ms();  // a hub row without its time: now
  // The tombstones this store held before (its own erasures, or the chain's): the hub's erasures
  // come in its order, not their dates', so of two, the later date stands, and only a later
  // erasure ends a lift. (Erasing a customer tombstones them as of now: that date is not kept.)
  struct Before {
    std::int64_t erased_ms = 0;
    std::optional<std::int64_t> lifted_ms;
  };
  std::vector<Before> before(identifiers.size());
  write_now([&](Db& db) {
    Stmt& s = db.cached("SELECT erased_ms, lifted_ms FROM erased_identifiers WHERE kind=? AND hash=?");
    for (std::size_t i = 0; i < identifiers.size(); ++i) {
      s.reset();
      s.bind(1, identifiers[i].first).bind_blob(2, identifiers[i].second.data(), identifiers[i].second.size());
      if (s.step()) before[i] = {s.i64(0), s.is_null(1) ? std::nullopt : std::optional<std::int64_t>(s.i64(1))};
    }
    s.reset();
  });
  std::int64_t erased = 0;
  for (const auto& [kind, hash] : identifiers)
    if (erase_customer_rolling_back(kind, hash, actor, options_.chain_outbox ? &identifiers : nullptr)) ++erased;
  // Whether this store knew them or not: an event naming them that arrives later (a till's
  // spool, another store's late publishing) is dropped, as after an erasure made here.
  write_now([&](Db& db) {
    for (std::size_t i = 0; i < identifiers.size(); ++i) {
      const bool later = date >= before[i].erased_ms;
      Stmt& s = db.cached("INSERT OR REPLACE INTO erased_identifiers(kind, hash, erased_ms, lifted_ms) VALUES(?, ?, ?, ?)");
      s.bind(1, identifiers[i].first).bind_blob(2, identifiers[i].second.data(), identifiers[i].second.size());
      s.bind(3, later ? date : before[i].erased_ms);
      if (later || !before[i].lifted_ms) s.bind_null(4); else s.bind(4, *before[i].lifted_ms);
      s.run();
    }
  });
  return erased;
}

nlohmann::json EventStore::prune(std::int64_t cutoff_ms) {
  // Behavioural history older than the cutoff goes; what says who the customer is (consent
  // records, profile, links and merges) stays. An owner's follow-up change or idea review, or a
  // till's offer outcome, goes with the feedback, idea or offer it is about, so what remains
  // replays cleanly.
  static constexpr const char* kPruned = "('purchase', 'return', 'note', 'preference', 'feedback', 'followup', 'staff_idea', "
                                         "'idea_review', 'offer', 'offer_outcome')";
  nlohmann::json pruned = nlohmann::json::object();
  std::int64_t total = 0;
  RebuildReport report;
  bool any = false;
  run_on_writer([&] {
    {  // nothing old enough: no rebuild (retention runs every few hours on stores of any size)
      Stmt s(writer_db_->raw(), std::string("SELECT EXISTS (SELECT 1 FROM events WHERE time_ms < ? AND type IN ") + kPruned + ")");
      s.bind(1, cutoff_ms);
      any = s.step() && s.i64(0) != 0;
    }
    if (!any) return;
    // Full secure_delete for the whole transaction: the rebuild empties and refills the
    // projections, and the pruned notes and comments in them must not stay in freed pages.
    SecureDelete secure(*writer_db_);
    report = rebuild_now(
        [&](Db& db) {
          db.exec("CREATE TEMP TABLE prune_seqs AS SELECT seq FROM events WHERE time_ms < " + std::to_string(cutoff_ms) +
                  " AND type IN " + kPruned);
          db.exec("INSERT INTO prune_seqs SELECT seq FROM events WHERE type='followup' AND json_extract(body, '$.feedback') IN "
                  "(SELECT event_id FROM events WHERE seq IN (SELECT seq FROM prune_seqs) AND type='feedback') "
                  "AND seq NOT IN (SELECT seq FROM prune_seqs)");
          db.exec("INSERT INTO prune_seqs SELECT seq FROM events WHERE type='idea_review' AND json_extract(body, '$.idea') IN "
                  "(SELECT event_id FROM events WHERE seq IN (SELECT seq FROM prune_seqs) AND type='staff_idea') "
                  "AND seq NOT IN (SELECT seq FROM prune_seqs)");
          db.exec("INSERT INTO prune_seqs SELECT seq FROM events WHERE type='offer_outcome' AND json_extract(body, '$.offer_id') IN "
                  "(SELECT event_id FROM events WHERE seq IN (SELECT seq FROM prune_seqs) AND type='offer') "
                  "AND seq NOT IN (SELECT seq FROM prune_seqs)");
          {
            Stmt s(db.raw(), "SELECT type, count(*) FROM events WHERE seq IN (SELECT seq FROM prune_seqs) GROUP BY type ORDER BY type");
            while (s.step()) {
              pruned[s.text(0)] = s.i64(1);
              total += s.i64(1);
            }
          }
          db.exec("DELETE FROM events WHERE seq IN (SELECT seq FROM prune_seqs)");
          db.exec("DROP TABLE temp.prune_seqs");
        },
        /*compare=*/false);
  });
  if (any && rebuild_listener_) rebuild_listener_();
  const bool truncated = any ? truncate_wal() : true;
  REGULARS_LOG(info, "retention", ({{"cutoff", wire::format_time_ms(cutoff_ms)}, {"pruned", total}}));
  return {{"cutoff", wire::format_time_ms(cutoff_ms)}, {"pruned", total}, {"by_type", pruned}, {"customers", report.customers},
          {"wal_truncated", truncated}};
}

RebuildReport EventStore::rebuild() {
  RebuildReport report;
  run_on_writer([&] { report = rebuild_now(); });
  if (rebuild_listener_) rebuild_listener_();
  return report;
}

namespace {

// Every projection table: what a rebuild empties, refills and compares.
const std::vector<std::string>& projection_tables() {
  static const std::vector<std::string> kTables{
      "feedback",    "followups", "staff_ideas", "customers",   "identifiers", "customer_items", "items",
      "customer_categories", "member_items", "household", "preferences", "notes", "store_stats", "item_sources", "offers"};
  return kTables;
}

// Copies of the projections as stored, to compare the rebuilt ones with.
void keep_stored_projections(Db& db) {
  for (const auto& t : projection_tables()) db.exec("CREATE TEMP TABLE stored_" + t + " AS SELECT * FROM main." + t);
  db.exec("CREATE TEMP TABLE stored_event_customers AS SELECT seq, customer_id FROM main.events");
}

void drop_stored_projections(Db& db) {
  for (const auto& t : projection_tables()) db.exec("DROP TABLE IF EXISTS temp.stored_" + t);
  db.exec("DROP TABLE IF EXISTS temp.stored_event_customers");
}

// Rows in one of the two tables (or queries) and not in the other.
std::int64_t differing_rows(Db& db, const std::string& a, const std::string& b) {
  Stmt s(db.raw(), "SELECT (SELECT count(*) FROM (SELECT * FROM " + a + " EXCEPT SELECT * FROM " + b +
                       ")) + (SELECT count(*) FROM (SELECT * FROM " + b + " EXCEPT SELECT * FROM " + a + "))");
  s.step();
  return s.i64(0);
}

std::vector<std::pair<std::string, std::int64_t>> compare_with_stored(Db& db) {
  std::vector<std::pair<std::string, std::int64_t>> differences;
  for (const auto& t : projection_tables()) differences.emplace_back(t, differing_rows(db, "main." + t, "temp.stored_" + t));
  differences.emplace_back("events.customer_id",
                           differing_rows(db, "(SELECT seq, customer_id FROM main.events)", "temp.stored_event_customers"));
  return differences;
}

std::int64_t count_customers(Db& db) {
  Stmt c(db.raw(), "SELECT count(*) FROM customers");  // finalized before any DROP that follows
  c.step();
  return c.i64(0);
}

}  // namespace

// Popularity and transitions are counted again in memory, event by event in log order as the
// live writer does, then written out whole. Returns the events replayed.
std::int64_t EventStore::replay_log(Db& db) {
  PopularityDelta delta;
  Projector projector(db, options_.erase_on_withdrawal, &delta);
  projector.set_replaying();
  projector.keep_ids();
  projector.clear_all();
  popularity_.clear();
  // Read the log in chunks, each fully read before it is projected: projecting updates the rows
  // just read (their customer), which must not disturb an open scan.
  std::int64_t after = 0, events = 0;
  for (;;) {
    std::vector<LoggedEvent> chunk;
    {
      Stmt rows(db.raw(), std::string("SELECT ") + kLoggedEventColumns + " FROM events WHERE seq>? ORDER BY seq LIMIT 2000");
      rows.bind(1, after);
      while (rows.step()) chunk.push_back(logged_event_from_row(rows));
    }
    if (chunk.empty()) break;
    after = chunk.back().seq;
    for (const auto& e : chunk) {
      delta.clear();
      projector.project(e);
      delta.last_seq = e.seq;
      popularity_.merge(delta);
      ++events;
    }
  }
  projector.forget_ids();
  const StoreTotals totals = popularity_.totals();
  db.cached("UPDATE store_stats SET baskets=?, repeat_hits=?, repeat_total=? WHERE id=1")
      .bind(1, totals.baskets)
      .bind(2, totals.repeat_hits)
      .bind(3, totals.repeat_total)
      .run();
  popularity_.flush(db, true);
  // The rebuilt items table counts every event in the log.
  db.exec("INSERT INTO store_meta(key, value) VALUES('items_seq', (SELECT coalesce(max(seq), 0) FROM events)) "
          "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  return events;
}

RebuildReport EventStore::rebuild_now(const std::function<void(Db&)>& before, bool compare) {
  Db& db = *writer_db_;
  RebuildReport report;
  clear_after_commit_ = true;  // anyone's items may change (and ids move, after a prune)
  db.exec("BEGIN IMMEDIATE");
  try {
    popularity_.flush(db, true);  // the stored state includes what is only in memory so far
    if (before) before(db);
    if (compare) keep_stored_projections(db);
    report.events = replay_log(db);
    if (compare) report.differences = compare_with_stored(db);
    report.customers = count_customers(db);
    drop_stored_projections(db);
    db.exec("COMMIT");
    popularity_.load(db);
    std::lock_guard lock(popular_mu_);
    popular_.reset();  // the best sellers are listed again from the rebuilt counts
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (const std::exception&) {  // SQLite may have rolled back already
    }
    // Back to what is committed, the rolled-back flush included (catch-up counts the rest again).
    popularity_.load(db);
    catch_up_popularity();
    drop_stored_projections(db);
    Projector(db).forget_ids();
    throw;
  }
  return report;
}

void EventStore::catch_up_popularity() {
  Db& db = *writer_db_;
  std::int64_t n = 0;
  {
    const std::int64_t items_seq = popularity_.items_watermark(), sources_seq = popularity_.sources_watermark();
    Stmt s(db.raw(), "SELECT seq, time_ms, body, customer_id FROM events WHERE seq>? AND type='purchase' ORDER BY seq");
    s.bind(1, std::min(items_seq, sources_seq));
    Stmt top(db.raw(), "SELECT sku FROM customer_items WHERE customer_id=? ORDER BY rank_key DESC, sku LIMIT " +
                           std::to_string(kTransitionSeeds));
    while (s.step()) {
      PopularityDelta d;
      const BasketLines lines = basket_lines(nlohmann::json::parse(s.text(2)));
      if (s.i64(0) > items_seq) count_items(lines, s.i64(1), d);
      // Transitions, approximately: the customer's top items now stand in for those before the
      // purchase (a rebuild counts them exactly).
      if (!s.is_null(3) && s.i64(0) > sources_seq) {
        Transition t;
        top.reset();
        top.bind(1, s.i64(3));
        while (top.step()) t.seeds.push_back(top.text(0));
        for (const auto& [sku, _] : lines.per_sku) t.basket.push_back(sku);
        if (!t.seeds.empty()) d.transitions.push_back(std::move(t));
      }
      d.last_seq = s.i64(0);
      popularity_.merge(d);
      ++n;
    }
  }
  if (n > 0) {
    REGULARS_LOG(info, "counted purchases logged after the last popularity write", ({{"purchases", n}}));
    flush_popularity();
  }
}

void EventStore::flush_popularity() {
  if (popularity_.dirty() == 0) return;
  Db& db = *writer_db_;
  db.exec("BEGIN IMMEDIATE");
  std::vector<std::string> flushed;
  try {
    flushed = popularity_.flush(db, true);
    db.exec("COMMIT");
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (const std::exception&) {  // SQLite may have rolled back already
    }
    popularity_.flush_failed(std::move(flushed));
    throw;
  }
}

}  // namespace regulars::daemon
