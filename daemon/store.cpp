#include "store.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <unordered_map>

#include "log.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {
std::atomic<std::uint64_t> g_next_instance{1};

std::string opt_str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void bind_opt(Stmt& s, int idx, const std::string& v) {
  if (v.empty()) s.bind_null(idx);
  else s.bind(idx, v);
}
}  // namespace

PreparedEvent prepare_event(const json& event, const IdentityKey& key) {
  PreparedEvent p;
  p.event_id = event.at("event_id").get<std::string>();
  p.type = event.at("type").get<std::string>();
  const auto& customer = event.at("customer");
  p.id_kind = customer.at("kind").get<std::string>();
  p.id_hash = key.hash(p.id_kind, wire::normalize_identifier(p.id_kind, customer.at("value").get<std::string>()));
  const auto t = event.find("time");
  p.time_ms = t != event.end() ? wire::parse_time_ms(t->get<std::string>()).value_or(wire::now_ms()) : wire::now_ms();
  p.body = event;
  p.body.erase("customer");  // the raw identifier never reaches the log
  p.body["customer_kind"] = p.id_kind;
  return p;
}

Store::Store(const std::string& data_dir, Options options)
    : path_(data_dir + "/regulars.db"), options_(options), instance_(g_next_instance.fetch_add(1)) {
  writer_db_ = std::make_unique<Db>(path_, Db::Mode::read_write);
  migrate(*writer_db_);
  writer_ = std::thread([this] { writer_loop(); });
}

Store::~Store() { stop(); }

void Store::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (writer_db_) {
    try {
      writer_db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const DbError&) {  // readers may still hold a snapshot; the WAL is replayed on next open
    }
  }
}

void Store::submit(PreparedEvent event, Completion done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Job{std::move(event), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(WriteResult{false, false, 0, 0, "shutting_down"});
}

void Store::writer_loop() {
  std::vector<Job> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      // Group commit: everything queued while the previous commit was on disk goes in one.
      const std::size_t n = std::min<std::size_t>(queue_.size(), static_cast<std::size_t>(options_.group_commit_max));
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_batch(batch);
  }
}

void Store::commit_batch(std::vector<Job>& batch) {
  std::vector<WriteResult> results(batch.size());
  Db& db = *writer_db_;
  try {
    db.exec("BEGIN IMMEDIATE");
    for (std::size_t i = 0; i < batch.size(); ++i) {
      // A savepoint per event: one failing event does not take its neighbours down with it.
      db.exec("SAVEPOINT ev");
      try {
        results[i] = apply(batch[i].event);
        db.exec("RELEASE ev");
      } catch (const std::exception& e) {
        db.exec("ROLLBACK TO ev");
        db.exec("RELEASE ev");
        results[i] = WriteResult{false, false, 0, 0, e.what()};
      }
    }
    db.exec("COMMIT");
    commits_.fetch_add(1);
  } catch (const std::exception& e) {
    try {
      db.exec("ROLLBACK");
    } catch (const std::exception&) {
    }
    REGULARS_LOG(err, "commit failed", ({{"error", e.what()}, {"events", batch.size()}}));
    for (auto& r : results) r = WriteResult{false, false, 0, 0, std::string("commit failed: ") + e.what()};
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

std::vector<WriteResult> Store::apply_now(std::vector<PreparedEvent> events) {
  // Runs through the writer thread so there is still exactly one writer.
  std::vector<WriteResult> results(events.size());
  std::mutex m;
  std::condition_variable cv;
  std::size_t left = events.size();
  for (std::size_t i = 0; i < events.size(); ++i) {
    submit(std::move(events[i]), [&, i](WriteResult r) {
      std::lock_guard lock(m);
      results[i] = std::move(r);
      if (--left == 0) cv.notify_one();
    });
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return left == 0; });
  return results;
}

WriteResult Store::apply(const PreparedEvent& e) {
  Db& db = *writer_db_;
  WriteResult r;
  {
    Stmt& s = db.cached("SELECT seq FROM events WHERE event_id=?");
    s.bind(1, e.event_id);
    if (s.step()) {
      r.ok = true;
      r.duplicate = true;
      r.seq = s.i64(0);
      s.reset();
      return r;
    }
  }
  // Resolve or enrol the customer.
  {
    Stmt& s = db.cached("SELECT customer_id FROM identifiers WHERE kind=? AND hash=?");
    s.bind(1, e.id_kind).bind_blob(2, e.id_hash.data(), e.id_hash.size());
    if (s.step()) r.customer_id = s.i64(0);
    s.reset();
  }
  if (r.customer_id == 0) {
    db.cached("INSERT INTO customers(created_ms) VALUES(?)").bind(1, e.time_ms).run();
    r.customer_id = db.last_insert_rowid();
    db.cached("INSERT INTO identifiers(kind, hash, customer_id, created_ms) VALUES(?,?,?,?)")
        .bind(1, e.id_kind)
        .bind_blob(2, e.id_hash.data(), e.id_hash.size())
        .bind(3, r.customer_id)
        .bind(4, e.time_ms)
        .run();
  }
  {
    Stmt& s = db.cached(
        "INSERT INTO events(event_id, type, customer_id, time_ms, store, terminal, cashier, touchpoint, body) "
        "VALUES(?,?,?,?,?,?,?,?,?)");
    s.bind(1, e.event_id).bind(2, e.type).bind(3, r.customer_id).bind(4, e.time_ms);
    bind_opt(s, 5, opt_str(e.body, "store"));
    bind_opt(s, 6, opt_str(e.body, "terminal"));
    bind_opt(s, 7, opt_str(e.body, "cashier"));
    bind_opt(s, 8, opt_str(e.body, "touchpoint"));
    s.bind(9, wire::dump_json(e.body));
    s.run();
    r.seq = db.last_insert_rowid();
  }

  if (e.type == "purchase") {
    // One visit; each distinct item counts once per visit.
    std::map<std::string, std::pair<double, std::string>> per_sku;  // sku -> (qty, name)
    double spend = 0;
    for (const auto& line : e.body.at("lines")) {
      const double qty = line.contains("qty") ? line["qty"].get<double>() : 1.0;
      const std::int64_t price = line.contains("unit_price") ? line["unit_price"].get<std::int64_t>() : 0;
      spend += qty * static_cast<double>(price);
      auto& slot = per_sku[line.at("sku").get<std::string>()];
      slot.first += qty;
      if (line.contains("name")) slot.second = line["name"].get<std::string>();
    }
    db.cached(
          "UPDATE customers SET visits=visits+1, spend=spend+?1, "
          "first_seen_ms=min(coalesce(first_seen_ms, ?1), ?2), last_seen_ms=max(coalesce(last_seen_ms, ?2), ?2) "
          "WHERE id=?3")
        .bind(1, static_cast<std::int64_t>(std::llround(spend)))
        .bind(2, e.time_ms)
        .bind(3, r.customer_id)
        .run();
    Stmt& ci = db.cached(
        "INSERT INTO customer_items(customer_id, sku, baskets, qty, first_ms, last_ms) VALUES(?1,?2,1,?3,?4,?4) "
        "ON CONFLICT(customer_id, sku) DO UPDATE SET baskets=baskets+1, qty=qty+excluded.qty, "
        "first_ms=min(first_ms, excluded.first_ms), last_ms=max(last_ms, excluded.last_ms)");
    Stmt& it = db.cached(
        "INSERT INTO items(sku, name, baskets, qty, last_ms) VALUES(?1,?2,1,?3,?4) "
        "ON CONFLICT(sku) DO UPDATE SET baskets=baskets+1, qty=qty+excluded.qty, "
        "name=coalesce(excluded.name, name), last_ms=max(last_ms, excluded.last_ms)");
    for (const auto& [sku, v] : per_sku) {
      ci.reset();
      ci.bind(1, r.customer_id).bind(2, sku).bind(3, v.first).bind(4, e.time_ms).run();
      it.reset();
      it.bind(1, sku);
      bind_opt(it, 2, v.second);
      it.bind(3, v.first).bind(4, e.time_ms).run();
    }
  } else if (e.type == "consent") {
    // The latest consent by event time wins, whatever order events arrive in (spool replays).
    const auto& purposes = e.body.at("purposes");
    Stmt& s = db.cached(
        "UPDATE customers SET "
        "consent_remember = CASE WHEN ?1 IS NOT NULL AND (consent_ms IS NULL OR ?3 >= consent_ms) THEN ?1 ELSE consent_remember END, "
        "consent_personalize = CASE WHEN ?2 IS NOT NULL AND (consent_ms IS NULL OR ?3 >= consent_ms) THEN ?2 ELSE consent_personalize END, "
        "consent_ms = max(coalesce(consent_ms, ?3), ?3) WHERE id=?4");
    if (purposes.contains("remember")) s.bind(1, std::int64_t{purposes["remember"].get<bool>()});
    if (purposes.contains("personalize")) s.bind(2, std::int64_t{purposes["personalize"].get<bool>()});
    s.bind(3, e.time_ms).bind(4, r.customer_id).run();
  }
  r.ok = true;
  return r;
}

Db& Store::reader() {
  // One read-only connection per (thread, store): SQLite connections are not shared.
  thread_local std::unordered_map<std::uint64_t, std::unique_ptr<Db>> readers;
  auto& slot = readers[instance_];
  if (!slot) slot = std::make_unique<Db>(path_, Db::Mode::read_only);
  return *slot;
}

std::optional<CustomerView> Store::find_customer(const std::string& kind, const IdentifierHash& hash) {
  Stmt& s = reader().cached(
      "SELECT c.id, coalesce(c.first_seen_ms, 0), coalesce(c.last_seen_ms, 0), c.visits, c.spend, "
      "c.consent_remember, c.consent_personalize "
      "FROM identifiers i JOIN customers c ON c.id=i.customer_id WHERE i.kind=? AND i.hash=?");
  s.bind(1, kind).bind_blob(2, hash.data(), hash.size());
  if (!s.step()) return std::nullopt;
  CustomerView c;
  c.id = s.i64(0);
  c.first_seen_ms = s.i64(1);
  c.last_seen_ms = s.i64(2);
  c.visits = s.i64(3);
  c.spend = s.i64(4);
  if (!s.is_null(5)) c.consent_remember = s.i64(5) != 0;
  if (!s.is_null(6)) c.consent_personalize = s.i64(6) != 0;
  s.reset();
  return c;
}

std::vector<ItemStat> Store::top_items(std::int64_t customer_id, int limit) {
  Stmt& s = reader().cached(
      "SELECT ci.sku, coalesce(i.name, ''), ci.baskets, ci.last_ms FROM customer_items ci "
      "LEFT JOIN items i ON i.sku=ci.sku WHERE ci.customer_id=? ORDER BY ci.baskets DESC, ci.last_ms DESC LIMIT ?");
  s.bind(1, customer_id).bind(2, std::int64_t{limit});
  std::vector<ItemStat> out;
  while (s.step()) out.push_back(ItemStat{s.text(0), s.text(1), s.i64(2), s.i64(3)});
  return out;
}

std::vector<ItemStat> Store::popular_items(int limit) {
  Stmt& s = reader().cached("SELECT sku, coalesce(name, ''), baskets, last_ms FROM items ORDER BY baskets DESC LIMIT ?");
  s.bind(1, std::int64_t{limit});
  std::vector<ItemStat> out;
  while (s.step()) out.push_back(ItemStat{s.text(0), s.text(1), s.i64(2), s.i64(3)});
  return out;
}

StoreStats Store::stats() {
  Db& db = reader();
  StoreStats st;
  Stmt& s = db.cached(
      "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT count(*) FROM customers), (SELECT count(*) FROM items)");
  if (s.step()) {
    st.events = s.i64(0);
    st.customers = s.i64(1);
    st.items = s.i64(2);
  }
  s.reset();
  return st;
}

}  // namespace regulars::daemon
