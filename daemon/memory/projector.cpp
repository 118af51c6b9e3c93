#include "memory/projector.hpp"

#include <cmath>
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "memory/consent.hpp"
#include "wire/hex.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

// Local weekday (0 = Monday) and hour of an RFC 3339 time, as the till's clock showed it: the
// offset written in the time, not the daemon's zone.
std::pair<int, int> local_weekday_hour(const json& body, std::int64_t utc_ms) {
  std::int64_t offset_min = 0;
  if (auto t = body.find("time"); t != body.end() && t->is_string()) {
    const std::string& s = t->get_ref<const std::string&>();
    if (s.size() >= 6 && (s[s.size() - 6] == '+' || s[s.size() - 6] == '-')) {
      offset_min = ((s[s.size() - 5] - '0') * 10 + (s[s.size() - 4] - '0')) * 60 + (s[s.size() - 2] - '0') * 10 +
                   (s[s.size() - 1] - '0');
      if (s[s.size() - 6] == '-') offset_min = -offset_min;
    }
  }
  const Moment m = moment_at_offset(utc_ms, offset_min * 60);
  return {m.weekday, m.minute / 60};
}

// Adds one to element `index` of a histogram kept as a JSON array of integers ("[3,0,1]"),
// padding it to `size` elements. Written by hand: it runs for every purchase, on the writer.
std::string bump(const std::string& text, std::size_t size, std::size_t index) {
  std::vector<std::int64_t> hist;
  hist.reserve(size);
  std::int64_t v = 0;
  bool in_number = false;
  for (char ch : text) {
    if (ch >= '0' && ch <= '9') {
      v = v * 10 + (ch - '0');
      in_number = true;
    } else if (in_number) {
      hist.push_back(v);
      v = 0;
      in_number = false;
    }
  }
  while (hist.size() < size) hist.push_back(0);
  hist[index] += 1;
  std::string out = "[";
  for (std::size_t i = 0; i < hist.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(hist[i]);
  }
  out += ']';
  return out;
}

// The hash of a link's or merge's second identifier. prepare_event wrote it with to_hex, so
// anything else means the log was altered outside the daemon: refuse it, never guess.
IdentifierHash body_hash(const json& identifier) {
  const auto h = from_hex(identifier.at("hash").get<std::string>());
  if (!h) throw std::runtime_error("a link or merge names an identifier hash that is not 64 hex digits; the event log is damaged");
  return *h;
}

std::string str_or_empty(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The lane feedback or a staff idea is counted on: its own `lane`, else the `terminal` that the
// plugin stamps on every event from its options. A till rarely repeats its terminal as `lane`,
// and "by lane" reports would otherwise put its feedback under "(none)".
std::string lane_of(const json& body) {
  std::string lane = str_or_empty(body, "lane");
  return lane.empty() ? str_or_empty(body, "terminal") : lane;
}

}  // namespace

LoggedEvent logged_event_from_row(const Stmt& row) {
  LoggedEvent e;
  e.seq = row.i64(0);
  e.event_id = row.text(1);
  e.type = row.text(2);
  e.id_kind = row.text(3);
  const std::string hash = row.text(4);
  std::copy_n(hash.begin(), std::min(hash.size(), e.id_hash.size()), e.id_hash.begin());
  e.time_ms = row.i64(5);
  e.body = json::parse(row.text(6));
  e.from_chain = row.i64(7) != 0;
  return e;
}

std::string to_hex(const IdentifierHash& h) { return wire::hex_encode(h); }

std::optional<IdentifierHash> from_hex(std::string_view hex) {
  return wire::hex_decode_array<std::tuple_size_v<IdentifierHash>>(hex);
}

std::int64_t Projector::lookup(const std::string& kind, const IdentifierHash& hash) {
  Stmt& s = db_.cached("SELECT customer_id FROM identifiers WHERE kind=? AND hash=?");
  s.bind(1, kind).bind_blob(2, hash.data(), hash.size());
  const std::int64_t id = s.step() ? s.i64(0) : 0;
  s.reset();
  return id;
}

std::int64_t Projector::resolve_or_enrol(const LoggedEvent& e) {
  if (e.id_kind.empty()) return 0;  // anonymous feedback, follow-ups, staff ideas
  if (const std::int64_t id = lookup(e.id_kind, e.id_hash)) return id;
  // A merge must name known customers, and an offer is made to a known one (a late offer for
  // a customer erased meanwhile must not enrol them again). Replaying a log whose earlier
  // events were pruned, a merge's customer is known only from the merge itself.
  if (e.type == "merge" && !replaying_) throw Refused("merge names a customer that is not known");
  if (e.type == "offer" && !replaying_) throw Refused("the offer's customer is not known (erased meanwhile)");
  // A live event has no seq yet: project() notes it once it has (the log row comes in between).
  Stmt& enrol = db_.cached("INSERT INTO customers(id, created_ms, enrolled_seq) VALUES(?,?,?)");
  if (next_new_id_ > 0) enrol.bind(1, kept_id(e));
  else enrol.bind_null(1);
  enrol.bind(2, e.time_ms);
  if (e.seq > 0) enrol.bind(3, e.seq);
  else enrol.bind_null(3);
  enrol.run();
  const std::int64_t id = db_.last_insert_rowid();
  if (e.seq == 0) enrolled_ = id;
  db_.cached("INSERT INTO identifiers(kind, hash, customer_id, created_ms) VALUES(?,?,?,?)")
      .bind(1, e.id_kind)
      .bind_blob(2, e.id_hash.data(), e.id_hash.size())
      .bind(3, id)
      .bind(4, e.time_ms)
      .run();
  return id;
}

void Projector::clear_all() {
  for (const char* table : {"notes", "preferences", "household", "member_items", "customer_categories",
                            "customer_items", "items", "identifiers", "customers", "feedback", "followups",
                            "staff_ideas", "item_sources", "offers"})
    db_.exec(std::string("DELETE FROM ") + table);
  db_.exec("UPDATE store_stats SET baskets=0, repeat_hits=0, repeat_total=0");
}

void Projector::keep_ids() {
  forget_ids();
  // Whether each customer's enrolment is still in the log tells a pruned enrolment (the customer
  // is enrolled again later in the replay, by an event that is left) from one that is there.
  db_.exec(
      "CREATE TEMP TABLE kept_customers(id INTEGER PRIMARY KEY, enrolled_seq INTEGER, enrolment_logged INTEGER NOT NULL)");
  db_.exec(
      "INSERT INTO temp.kept_customers SELECT c.id, c.enrolled_seq, EXISTS (SELECT 1 FROM main.events WHERE seq=c.enrolled_seq) "
      "FROM main.customers c");
  db_.exec("CREATE INDEX temp.kept_customers_by_enrolment ON kept_customers(enrolled_seq)");
  db_.exec("CREATE TEMP TABLE kept_identifiers AS SELECT kind, hash, customer_id FROM main.identifiers");
  db_.exec("CREATE INDEX temp.kept_identifiers_by_hash ON kept_identifiers(kind, hash)");
  Stmt s(db_.raw(), "SELECT coalesce(max(id), 0) + 1 FROM temp.kept_customers");
  s.step();
  next_new_id_ = s.i64(0);
}

void Projector::forget_ids() {
  db_.exec("DROP TABLE IF EXISTS temp.kept_customers");
  db_.exec("DROP TABLE IF EXISTS temp.kept_identifiers");
  next_new_id_ = 0;
}

bool Projector::id_in_use(std::int64_t id) {
  Stmt& s = db_.cached("SELECT EXISTS (SELECT 1 FROM main.customers WHERE id=?)");
  s.bind(1, id);
  const bool used = s.step() && s.i64(0) != 0;
  s.reset();
  return used;
}

std::int64_t Projector::kept_id(const LoggedEvent& e) {
  std::int64_t id = 0;
  {  // The id stored for this very enrolment.
    Stmt& s = db_.cached("SELECT id FROM temp.kept_customers WHERE enrolled_seq=?");
    s.bind(1, e.seq);
    if (s.step()) id = s.i64(0);
    s.reset();
  }
  if (id == 0) {
    // The enrolment was pruned, so a later event enrols the customer now: the id their
    // identifier had, when that customer's enrolment is gone too (else the identifier moved to
    // another customer by a merge, and that customer's own enrolment has the id).
    Stmt& s = db_.cached(
        "SELECT k.id FROM temp.kept_identifiers i JOIN temp.kept_customers k ON k.id=i.customer_id "
        "WHERE i.kind=? AND i.hash=? AND k.enrolment_logged=0");
    s.bind(1, e.id_kind).bind_blob(2, e.id_hash.data(), e.id_hash.size());
    if (s.step()) id = s.i64(0);
    s.reset();
  }
  // A customer no longer stored (merged into another since): an id above every kept one.
  if (id == 0 || id_in_use(id)) id = next_new_id_++;
  return id;
}

std::int64_t Projector::project(const LoggedEvent& e, bool log_row_linked) {
  const std::int64_t customer = resolve_or_enrol(e);
  if (enrolled_ != 0 && e.seq > 0) {  // enrolled by this event before it was logged
    db_.cached("UPDATE customers SET enrolled_seq=? WHERE id=?").bind(1, e.seq).bind(2, enrolled_).run();
    enrolled_ = 0;
  }
  if (customer == 0) {  // about no customer
    apply_effects(0, e);
    return 0;
  }
  // The log row points at the customer as resolved now (a later merge re-points it).
  if (!log_row_linked) db_.cached("UPDATE events SET customer_id=? WHERE seq=?").bind(1, customer).bind(2, e.seq).run();

  if (e.type == "link") {
    const auto& other = e.body.at("identifier");
    const IdentifierHash h = body_hash(other);
    const std::string kind = other.at("kind").get<std::string>();
    const std::int64_t owner = lookup(kind, h);
    if (owner == customer) return customer;
    if (owner != 0)
      throw Refused("that identifier already belongs to another customer; if they are the same person, send a merge event");
    db_.cached("INSERT INTO identifiers(kind, hash, customer_id, created_ms) VALUES(?,?,?,?)")
        .bind(1, kind)
        .bind_blob(2, h.data(), h.size())
        .bind(3, customer)
        .bind(4, e.time_ms)
        .run();
    return customer;
  }
  if (e.type == "merge") {
    const auto& other = e.body.at("other");
    const std::int64_t from = lookup(other.at("kind").get<std::string>(), body_hash(other));
    if (from == 0 && !replaying_) throw Refused("merge names an \"other\" customer that is not known");
    if (from == 0) {  // its history was pruned: its identifier now belongs to this customer
      const IdentifierHash h = body_hash(other);
      db_.cached("INSERT INTO identifiers(kind, hash, customer_id, created_ms) VALUES(?,?,?,?)")
          .bind(1, other.at("kind").get<std::string>())
          .bind_blob(2, h.data(), h.size())
          .bind(3, customer)
          .bind(4, e.time_ms)
          .run();
      return customer;
    }
    if (from != customer) merge(customer, from, e.seq);
    return customer;
  }
  apply_effects(customer, e);
  return customer;
}

void Projector::merge(std::int64_t into, std::int64_t from, std::int64_t merge_seq) {
  gone_.emplace_back(from, into);
  db_.cached("UPDATE identifiers SET customer_id=? WHERE customer_id=?").bind(1, into).bind(2, from).run();
  db_.cached("UPDATE followups SET customer_id=? WHERE customer_id=?").bind(1, into).bind(2, from).run();
  db_.cached("UPDATE offers SET customer_id=? WHERE customer_id=?").bind(1, into).bind(2, from).run();
  db_.cached("UPDATE events SET customer_id=? WHERE customer_id=? AND seq<?").bind(1, into).bind(2, from).bind(3, merge_seq).run();
  std::int64_t created = 0;
  {
    Stmt& s = db_.cached("SELECT min(created_ms) FROM customers WHERE id IN (?, ?)");
    s.bind(1, into).bind(2, from);
    if (s.step()) created = s.i64(0);
    s.reset();
  }
  // Items both had bought now have one buyer fewer (popularity keeps buyers in memory).
  if (popularity_ != nullptr) {
    Stmt& both = db_.cached(
        "SELECT a.sku FROM customer_items a JOIN customer_items b ON b.customer_id=?2 AND b.sku=a.sku WHERE a.customer_id=?1");
    both.bind(1, into).bind(2, from);
    while (both.step()) popularity_->items[both.text(0)].buyers -= 1;
    both.reset();
  }
  // Drop both customers' projections and replay their combined history in log order: each
  // event is counted exactly once, whatever the two histories had in common.
  for (const char* table : {"notes", "preferences", "household", "member_items", "customer_categories", "customer_items",
                            "feedback"}) {
    db_.cached(std::string("DELETE FROM ") + table + " WHERE customer_id=?").bind(1, from).run();
    db_.cached(std::string("DELETE FROM ") + table + " WHERE customer_id=?").bind(1, into).run();
  }
  db_.cached("DELETE FROM customers WHERE id=?").bind(1, from).run();
  db_.cached(
        "UPDATE customers SET created_ms=?2, first_seen_ms=NULL, last_seen_ms=NULL, visits=0, spend=0, "
        "consent_remember=NULL, consent_personalize=NULL, consent_ms=NULL, remember_withdrawn_ms=NULL, "
        "personalize_withdrawn_ms=NULL, name=NULL, birthday=NULL, anniversary=NULL, "
        "language=NULL, discreet=0, do_not_mention=NULL, returns=0, returned_value=0, weekday_hist=NULL, hour_hist=NULL, "
        "repeat_hits=0, repeat_total=0, last_feedback_ms=NULL, last_complaint_ms=NULL, tags=NULL, member_visits=0 WHERE id=?1")
      .bind(1, into)
      .bind(2, created)
      .run();
  // Item popularity counts baskets, not customers, so it is unchanged by a merge; the replay
  // below must not count those baskets again.
  Stmt events(db_.raw(), std::string("SELECT ") + kLoggedEventColumns +
                             " FROM events WHERE customer_id=? AND seq<? AND type NOT IN ('link', 'merge') ORDER BY seq");
  events.bind(1, into).bind(2, merge_seq);
  while (events.step()) {
    LoggedEvent ev = logged_event_from_row(events);
    ev.body["_replay"] = true;
    apply_effects(into, ev);
  }
}

void Projector::forget_history(std::int64_t customer, std::int64_t before_seq) {
  gone_.emplace_back(customer, 0);
  // The customer asked not to be remembered: their shopping history, preferences, notes and
  // profile go for real, their freed bytes overwritten (full secure_delete for these statements).
  // The consent records stay: they are the proof of when and where consent was given and withdrawn.
  // So do links and merges (keyed hashes, no history): the identifiers they made stay the
  // customer's, and without them a rebuild would take an identifier linked or merged in for a
  // customer of its own.
  SecureDelete secure(db_);
  // The owner's follow-up changes about this customer's feedback go too (their notes are about
  // the customer, and a rebuild must not meet changes to feedback that no longer exists).
  db_.cached(
        "DELETE FROM events WHERE type='followup' AND json_extract(body, '$.feedback') IN "
        "(SELECT event_id FROM events WHERE customer_id=? AND seq<? AND type='feedback')")
      .bind(1, customer)
      .bind(2, before_seq)
      .run();
  db_.cached("DELETE FROM events WHERE customer_id=? AND seq<? AND type NOT IN ('consent', 'link', 'merge')")
      .bind(1, customer)
      .bind(2, before_seq)
      .run();
  for (const char* table : {"notes", "preferences", "household", "member_items", "customer_categories", "customer_items",
                            "feedback", "followups", "offers"})
    db_.cached(std::string("DELETE FROM ") + table + " WHERE customer_id=?").bind(1, customer).run();
  // The event that enrolled the customer, and those that first named their identifiers, may be
  // gone: a rebuild enrols them, and adds each identifier, at the first event left that names it.
  db_.cached(
        "UPDATE customers SET first_seen_ms=NULL, last_seen_ms=NULL, visits=0, spend=0, name=NULL, birthday=NULL, "
        "anniversary=NULL, language=NULL, discreet=0, do_not_mention=NULL, returns=0, returned_value=0, "
        "weekday_hist=NULL, hour_hist=NULL, repeat_hits=0, repeat_total=0, last_feedback_ms=NULL, "
        "last_complaint_ms=NULL, tags=NULL, member_visits=0, "
        "created_ms=coalesce((SELECT time_ms FROM events WHERE customer_id=?1 ORDER BY seq LIMIT 1), created_ms), "
        "enrolled_seq=coalesce((SELECT seq FROM events WHERE customer_id=?1 ORDER BY seq LIMIT 1), enrolled_seq) WHERE id=?1")
      .bind(1, customer)
      .run();
  db_.cached(
        "UPDATE identifiers SET created_ms=coalesce((SELECT time_ms FROM events WHERE customer_id=?1 AND "
        "((id_kind=identifiers.kind AND id_hash=identifiers.hash) OR "
        "(json_extract(body, CASE type WHEN 'link' THEN '$.identifier.kind' WHEN 'merge' THEN '$.other.kind' END)="
        "identifiers.kind AND json_extract(body, CASE type WHEN 'link' THEN '$.identifier.hash' WHEN 'merge' THEN "
        "'$.other.hash' END)=lower(hex(identifiers.hash)))) ORDER BY seq LIMIT 1), created_ms) WHERE customer_id=?1")
      .bind(1, customer)
      .run();
}

void Projector::apply_effects(std::int64_t customer, const LoggedEvent& e) {
  if (e.type == "purchase" || e.type == "return") return purchase(customer, e, e.type == "return");
  if (e.type == "feedback") return feedback(customer, e);
  if (e.type == "followup") return followup(e);
  if (e.type == "offer") return offer(customer, e);
  if (e.type == "offer_outcome") return offer_outcome(e);
  if (e.type == "staff_idea") return staff_idea(e);
  if (e.type == "idea_review") return idea_review(e);
  if (e.type == "consent") return consent(customer, e);
  if (e.type == "preference") return preference(customer, e);
  if (e.type == "note") return note(customer, e);
  if (e.type == "profile") return profile(customer, e);
}

void Projector::staff_idea(const LoggedEvent& e) {
  const json& b = e.body;
  Stmt& s = db_.cached("INSERT INTO staff_ideas(seq, time_ms, cashier, lane, store, kind, text) VALUES(?,?,?,?,?,?,?)");
  s.bind(1, e.seq).bind(2, e.time_ms).bind(3, b.at("cashier").get<std::string>());
  for (const auto& [idx, v] : {std::pair{4, lane_of(b)}, std::pair{5, str_or_empty(b, "store")}}) {
    if (v.empty()) s.bind_null(idx); else s.bind(idx, v);
  }
  const std::string kind = str_or_empty(b, "kind");
  s.bind(6, kind.empty() ? std::string("idea") : kind).bind(7, b.at("text").get<std::string>()).run();
}

void Projector::idea_review(const LoggedEvent& e) {
  const json& b = e.body;
  const std::string idea = b.at("idea").get<std::string>();
  Stmt& find = db_.cached("SELECT i.seq FROM events ev JOIN staff_ideas i ON i.seq=ev.seq WHERE ev.event_id=?");
  find.bind(1, idea);
  const std::int64_t seq = find.step() ? find.i64(0) : 0;
  find.reset();
  if (seq == 0) throw Refused("no staff idea \"" + idea + "\"; list them with regularsctl ideas");
  Stmt& s = db_.cached("UPDATE staff_ideas SET state=?, updated_ms=?, reviewed_by=? WHERE seq=?");
  s.bind(1, b.at("state").get<std::string>()).bind(2, e.time_ms);
  if (b.contains("by")) s.bind(3, b["by"].get<std::string>()); else s.bind_null(3);
  s.bind(4, seq).run();
}

void Projector::consent(std::int64_t customer, const LoggedEvent& e) {
  const json& b = e.body;
  // Settled from every consent record of the customer up to this one, as a set (memory/consent.hpp):
  // a store that holds the same records settles the same way, in whatever order they came.
  const ConsentState c = settle_consent(db_, customer, e.seq);
  Stmt& s = db_.cached(
      "UPDATE customers SET consent_remember=?, consent_personalize=?, consent_ms=?, remember_withdrawn_ms=?, "
      "personalize_withdrawn_ms=? WHERE id=?");
  const auto bind_opt = [&](int idx, const auto& v) {
    if (v) s.bind(idx, static_cast<std::int64_t>(*v));
    else s.bind_null(idx);
  };
  bind_opt(1, c.remember);
  bind_opt(2, c.personalize);
  bind_opt(3, c.consent_ms);
  bind_opt(4, c.remember_withdrawn_ms);
  bind_opt(5, c.personalize_withdrawn_ms);
  s.bind(6, customer).run();
  // This record's own withdrawal of "remember" erases the history before it, as it arrives.
  const auto& purposes = b.at("purposes");
  if (erase_on_withdrawal_ && purposes.contains("remember") && !purposes["remember"].get<bool>() && !b.contains("_replay"))
    forget_history(customer, e.seq);
}

void Projector::preference(std::int64_t customer, const LoggedEvent& e) {
  const json& b = e.body;
  const std::string member = str_or_empty(b, "for");
  if (b.at("value").is_null()) {
    db_.cached("DELETE FROM preferences WHERE customer_id=? AND member=? AND key=?")
        .bind(1, customer).bind(2, member).bind(3, b.at("key").get<std::string>()).run();
    return;
  }
  Stmt& s = db_.cached(
      "INSERT INTO preferences(customer_id, member, key, value, said_by, cashier, time_ms) VALUES(?,?,?,?,?,?,?) "
      "ON CONFLICT(customer_id, member, key) DO UPDATE SET value=excluded.value, said_by=excluded.said_by, "
      "cashier=excluded.cashier, time_ms=excluded.time_ms WHERE excluded.time_ms >= preferences.time_ms");
  s.bind(1, customer).bind(2, member).bind(3, b.at("key").get<std::string>()).bind(4, b.at("value").get<std::string>());
  if (b.contains("said_by")) s.bind(5, b["said_by"].get<std::string>()); else s.bind_null(5);
  if (b.contains("cashier")) s.bind(6, b["cashier"].get<std::string>()); else s.bind_null(6);
  s.bind(7, e.time_ms).run();
  if (!member.empty())
    db_.cached("INSERT INTO household(customer_id, member) VALUES(?,?) ON CONFLICT DO NOTHING").bind(1, customer).bind(2, member).run();
}

void Projector::note(std::int64_t customer, const LoggedEvent& e) {
  const json& b = e.body;
  Stmt& s = db_.cached("INSERT INTO notes(seq, customer_id, text, cashier, time_ms) VALUES(?,?,?,?,?)");
  s.bind(1, e.seq).bind(2, customer).bind(3, b.at("text").get<std::string>());
  if (b.contains("cashier")) s.bind(4, b["cashier"].get<std::string>()); else s.bind_null(4);
  s.bind(5, e.time_ms).run();
}

void Projector::profile(std::int64_t customer, const LoggedEvent& e) {
  const json& b = e.body;
  auto set_text = [&](const char* key, const char* column) {
    if (!b.contains(key)) return;
    Stmt& s = db_.cached(std::string("UPDATE customers SET ") + column + "=? WHERE id=?");
    if (b[key].is_null()) s.bind_null(1); else s.bind(1, b[key].get<std::string>());
    s.bind(2, customer).run();
  };
  set_text("name", "name");
  set_text("birthday", "birthday");
  set_text("anniversary", "anniversary");
  set_text("language", "language");
  if (b.contains("discreet"))
    db_.cached("UPDATE customers SET discreet=? WHERE id=?").bind(1, std::int64_t{b["discreet"].get<bool>()}).bind(2, customer).run();
  if (b.contains("do_not_mention"))
    db_.cached("UPDATE customers SET do_not_mention=? WHERE id=?").bind(1, b["do_not_mention"].dump()).bind(2, customer).run();
  if (b.contains("tags"))
    db_.cached("UPDATE customers SET tags=? WHERE id=?").bind(1, b["tags"].dump()).bind(2, customer).run();
  if (b.contains("household")) {
    for (const auto& m : b["household"]) {
      Stmt& s = db_.cached(
          "INSERT INTO household(customer_id, member, name, birthday) VALUES(?,?,?,?) "
          "ON CONFLICT(customer_id, member) DO UPDATE SET name=coalesce(excluded.name, name), "
          "birthday=coalesce(excluded.birthday, birthday)");
      s.bind(1, customer).bind(2, m.at("member").get<std::string>());
      if (m.contains("name")) s.bind(3, m["name"].get<std::string>()); else s.bind_null(3);
      if (m.contains("birthday")) s.bind(4, m["birthday"].get<std::string>()); else s.bind_null(4);
      s.run();
    }
  }
}

BasketLines basket_lines(const json& b) {
  BasketLines out;
  double value = 0;
  for (const auto& line : b.at("lines")) {
    const double qty = line.contains("qty") ? line["qty"].get<double>() : 1.0;
    const std::int64_t price = line.contains("unit_price") ? line["unit_price"].get<std::int64_t>() : 0;
    value += qty * static_cast<double>(price);
    const std::string sku = line.at("sku").get<std::string>();
    auto& a = out.per_sku[sku];
    a.qty += qty;
    if (line.contains("name")) a.name = line["name"].get<std::string>();
    if (line.contains("category")) a.category = line["category"].get<std::string>();
    if (line.contains("for")) out.per_member[{line["for"].get<std::string>(), sku}] = 1;
  }
  out.value = static_cast<std::int64_t>(std::llround(value));
  return out;
}

void count_items(const BasketLines& lines, std::int64_t time_ms, PopularityDelta& delta, const std::vector<bool>* known) {
  std::size_t idx = 0;
  for (const auto& [sku, a] : lines.per_sku) {
    const bool new_buyer = known != nullptr && !(*known)[idx++];
    delta.item_bought(sku, a.name, a.category, a.qty, time_ms, new_buyer);
  }
}

bool is_unhappy(const nlohmann::json& body) {
  const auto nps = body.find("nps"), csat = body.find("csat");
  return (nps != body.end() && nps->get<std::int64_t>() <= 6) || (csat != body.end() && csat->get<std::int64_t>() <= 2);
}

void Projector::feedback(std::int64_t customer, const LoggedEvent& e) {
  const json& b = e.body;
  Stmt& s = db_.cached(
      "INSERT INTO feedback(seq, customer_id, time_ms, nps, csat, declined, reasons, comment, cashier, lane, store, "
      "touchpoint, visit) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, e.seq);
  if (customer == 0) s.bind_null(2); else s.bind(2, customer);
  s.bind(3, e.time_ms);
  if (b.contains("nps")) s.bind(4, b["nps"].get<std::int64_t>()); else s.bind_null(4);
  if (b.contains("csat")) s.bind(5, b["csat"].get<std::int64_t>()); else s.bind_null(5);
  s.bind(6, std::int64_t{b.contains("declined")});
  if (b.contains("reasons")) s.bind(7, b["reasons"].dump()); else s.bind_null(7);
  int idx = 8;
  for (const std::string& v : {str_or_empty(b, "comment"), str_or_empty(b, "cashier"), lane_of(b), str_or_empty(b, "store"),
                               str_or_empty(b, "touchpoint"), str_or_empty(b, "visit")}) {
    if (v.empty()) s.bind_null(idx); else s.bind(idx, v);
    ++idx;
  }
  s.run();
  const bool unhappy = !b.contains("declined") && is_unhappy(b);
  if (customer != 0) {
    db_.cached(
          "UPDATE customers SET last_feedback_ms=max(coalesce(last_feedback_ms, ?2), ?2), "
          "last_complaint_ms=CASE WHEN ?3 THEN max(coalesce(last_complaint_ms, ?2), ?2) ELSE last_complaint_ms END "
          "WHERE id=?1")
        .bind(1, customer)
        .bind(2, e.time_ms)
        .bind(3, std::int64_t{unhappy})
        .run();
  }
  // A detractor or a dissatisfied customer opens an item in the owner's follow-up queue
  // (anonymous ones too: the owner may still act on what went wrong). In a chain, the store
  // where it was said follows it up; the others know of the complaint (last_complaint_ms).
  if (unhappy && !e.from_chain) {
    Stmt& f = db_.cached(
        "INSERT INTO followups(feedback_seq, customer_id, opened_ms, state, updated_ms, notes) VALUES(?,?,?,'open',?,'[]') "
        "ON CONFLICT(feedback_seq) DO NOTHING");  // a merge replaying history keeps the item it moved
    f.bind(1, e.seq);
    if (customer == 0) f.bind_null(2); else f.bind(2, customer);
    f.bind(3, e.time_ms).bind(4, e.time_ms).run();
  }
}

void Projector::offer(std::int64_t customer, const LoggedEvent& e) {
  // Made by regularsd itself when a gesture rule applied at a hints call (never by a till).
  const json& b = e.body;
  if (b.contains("_replay")) return;  // a merge: the offer stands, re-pointed already
  Stmt& s = db_.cached(
      "INSERT INTO offers(offer_id, seq, rule_id, customer_id, made_ms, status, cost, visit, cashier, lane, sku, updated_ms) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING");
  s.bind(1, b.at("offer_id").get<std::string>()).bind(2, e.seq).bind(3, b.at("rule").get<std::string>());
  s.bind(4, customer).bind(5, e.time_ms).bind(6, b.at("status").get<std::string>());
  s.bind(7, b.value("cost", std::int64_t{0})).bind(8, b.value("visit", std::int64_t{0}));
  for (const auto& [idx, key] : {std::pair{9, "cashier"}, std::pair{10, "terminal"}, std::pair{11, "sku"}}) {
    const std::string v = str_or_empty(b, key);
    if (v.empty()) s.bind_null(idx); else s.bind(idx, v);
  }
  s.bind(12, e.time_ms).run();
}

void Projector::offer_outcome(const LoggedEvent& e) {
  if (e.body.contains("_replay")) return;
  const std::string offer_id = e.body.at("offer_id").get<std::string>();
  const std::string outcome = e.body.at("outcome").get<std::string>();
  std::int64_t customer = 0;
  std::string status;
  {
    Stmt& s = db_.cached("SELECT customer_id, status FROM offers WHERE offer_id=?");
    s.bind(1, offer_id);
    if (s.step()) {
      customer = s.i64(0);
      status = s.text(1);
    }
    s.reset();
  }
  if (status.empty()) throw Refused("no offer has offer_id '" + offer_id + "'; use the offer_id from the hints answer");
  if (status == "held_out") throw Refused("offer '" + offer_id + "' was held out (control group) and never shown");
  if (status == "redeemed" && outcome != "redeemed") throw Refused("offer '" + offer_id + "' was already redeemed");
  // A decline gave the offer's cost back to the budget; taking it again could overspend.
  if (status == "declined" && outcome != "declined")
    throw Refused("offer '" + offer_id + "' was declined; the rule may offer again at a later visit");
  db_.cached("UPDATE offers SET status=?, updated_ms=? WHERE offer_id=?").bind(1, outcome).bind(2, e.time_ms).bind(3, offer_id).run();
  // The outcome belongs to the offer's customer: erasure and merges find it there.
  db_.cached("UPDATE events SET customer_id=? WHERE seq=?").bind(1, customer).bind(2, e.seq).run();
}

void Projector::followup(const LoggedEvent& e) {
  const json& b = e.body;
  std::int64_t seq = 0;
  std::string notes;
  {
    Stmt& s = db_.cached(
        "SELECT f.feedback_seq, coalesce(f.notes, '[]') FROM events ev JOIN followups f ON f.feedback_seq=ev.seq "
        "WHERE ev.event_id=?");
    s.bind(1, b.at("feedback").get<std::string>());
    if (s.step()) {
      seq = s.i64(0);
      notes = s.text(1);
    }
    s.reset();
  }
  if (seq == 0)
    throw Refused("no follow-up item for feedback \"" + b.at("feedback").get<std::string>() +
                  "\": only a detractor (NPS 0-6) or a CSAT of 2 or less opens one; list them with regularsctl followups");
  json list = json::parse(notes);
  json entry = {{"time_ms", e.time_ms}, {"state", b.at("state")}};
  if (b.contains("by")) entry["by"] = b["by"];
  if (b.contains("note")) entry["note"] = b["note"];
  list.push_back(std::move(entry));
  db_.cached("UPDATE followups SET state=?, updated_ms=?, notes=? WHERE feedback_seq=?")
      .bind(1, b.at("state").get<std::string>())
      .bind(2, e.time_ms)
      .bind(3, list.dump())
      .bind(4, seq)
      .run();
}

namespace {

// A customer's row as a purchase finds it: the visit histograms so far, and the number this
// visit gets.
struct CustomerBefore {
  std::string weekday_hist, hour_hist;
  std::int64_t visit = 1;
  bool bought_for_members = false;  // some visit bought for a household member
};

CustomerBefore customer_before(Db& db, std::int64_t customer) {
  CustomerBefore before;
  Stmt& s = db.cached("SELECT coalesce(weekday_hist, ''), coalesce(hour_hist, ''), visits, member_visits FROM customers WHERE id=?");
  s.bind(1, customer);
  if (s.step()) {
    before.weekday_hist = s.text(0);
    before.hour_hist = s.text(1);
    before.visit = s.i64(2) + 1;
    before.bought_for_members = s.i64(3) > 0;
  }
  s.reset();
  return before;
}

}  // namespace

// What a customer's item memory holds, before a purchase, of the basket's items, and the
// customer's top items so far.
struct ItemMemoryBefore {
  struct Prior {
    double dsum = 0;
    std::int64_t dvis = 0;
    bool known = false;
  };
  std::vector<Prior> prior;                           // one per SKU of the basket, in SKU order
  std::vector<std::pair<double, std::string>> seeds;  // (rank_key, SKU), best first
  std::vector<KnownItem> known;                       // every item, when the purchase is a hold-out
};

namespace {

// One pass over the customer's items, in SKU order (the primary key's), gives both what is
// remembered of this basket's items (merged against per_sku, also in SKU order) and, with
// `want_seeds`, the customer's top items so far (ties by SKU, as hints rank them) and all their
// items (the purchase is then a hold-out for the blend).
ItemMemoryBefore item_memory_before(Db& db, std::int64_t customer, const BasketLines& lines, bool want_seeds) {
  const auto& per_sku = lines.per_sku;
  ItemMemoryBefore out;
  out.prior.resize(per_sku.size());
  constexpr auto kSeeds = static_cast<std::size_t>(kTransitionSeeds);
  auto& seeds = out.seeds;
  Stmt& s = db.cached("SELECT sku, dsum, dvis, rank_key, baskets FROM customer_items WHERE customer_id=? ORDER BY sku");
  s.bind(1, customer);
  auto next = per_sku.begin();
  std::size_t idx = 0;
  while (s.step()) {
    const auto* sku_text = reinterpret_cast<const char*>(sqlite3_column_text(s.raw(), 0));
    const std::string_view sku(sku_text != nullptr ? sku_text : "",
                               static_cast<std::size_t>(sqlite3_column_bytes(s.raw(), 0)));
    while (next != per_sku.end() && std::string_view(next->first) < sku) ++next, ++idx;
    if (next != per_sku.end() && std::string_view(next->first) == sku)
      out.prior[idx] = ItemMemoryBefore::Prior{s.f64(1), s.i64(2), true};
    if (!want_seeds) continue;
    out.known.push_back(KnownItem{std::string(sku), s.i64(4), s.i64(2), 0, 0});
    const double rank = s.f64(3);
    // Rows come in SKU order, so an equal rank never displaces an earlier (smaller) SKU.
    if (seeds.size() == kSeeds && rank <= seeds.back().first) continue;
    auto at = std::find_if(seeds.begin(), seeds.end(), [&](const auto& x) { return rank > x.first; });
    seeds.insert(at, {rank, std::string(sku)});
    if (seeds.size() > kSeeds) seeds.pop_back();
  }
  s.reset();
  return out;
}

// Which of the customer's items (in SKU order) were bought for a household member, for the
// blend's household factor.
void mark_bought_for_members(Db& db, std::int64_t customer, std::vector<KnownItem>& known) {
  if (known.empty()) return;
  Stmt& s = db.cached("SELECT DISTINCT sku FROM member_items WHERE customer_id=? ORDER BY sku");
  s.bind(1, customer);
  auto next = known.begin();
  while (s.step()) {
    const std::string sku = s.text(0);
    next = std::lower_bound(next, known.end(), sku, [](const KnownItem& k, const std::string& v) { return k.sku < v; });
    if (next != known.end() && next->sku == sku) next->for_member = true;
  }
  s.reset();
}

// The basket's items in the customer's item memory: one more basket each, and the decayed
// visit count as of this visit. `store_items`, when given, counts each item in the store's items
// table too, in the same pass. Returns how many of the items the customer had bought before.
std::int64_t update_item_memory(Db& db, std::int64_t customer, const BasketLines& lines, std::int64_t time_ms,
                                std::int64_t visit, const std::vector<ItemMemoryBefore::Prior>& prior, Stmt* store_items) {
  Stmt& ci = db.cached(
      "INSERT INTO customer_items(customer_id, sku, baskets, qty, first_ms, last_ms, category, dsum, dvis, rank_key) "
      "VALUES(?1,?2,1,?3,?4,?4,?5,?6,?7,?8) "
      "ON CONFLICT(customer_id, sku) DO UPDATE SET baskets=baskets+1, qty=qty+excluded.qty, "
      "first_ms=min(first_ms, excluded.first_ms), last_ms=max(last_ms, excluded.last_ms), "
      "category=coalesce(excluded.category, category), dsum=excluded.dsum, dvis=excluded.dvis, rank_key=excluded.rank_key");
  std::int64_t known = 0;
  std::size_t idx = 0;
  for (const auto& [sku, a] : lines.per_sku) {
    double dsum = 0;
    std::int64_t dvis = visit;
    if (const ItemMemoryBefore::Prior& p = prior[idx++]; p.known) {
      dsum = p.dsum;
      dvis = p.dvis;
      ++known;
    }
    dsum = dsum * std::pow(kItemDecay, static_cast<double>(visit - dvis)) + 1.0;
    ci.reset();
    ci.bind(1, customer).bind(2, sku).bind(3, a.qty).bind(4, time_ms);
    if (a.category.empty()) ci.bind_null(5); else ci.bind(5, a.category);
    ci.bind(6, dsum).bind(7, visit).bind(8, item_rank_key(dsum, visit));
    ci.run();
    if (store_items != nullptr) {
      Stmt& it = *store_items;
      it.reset();
      it.bind(1, sku);
      if (a.name.empty()) it.bind_null(2); else it.bind(2, a.name);
      it.bind(3, a.qty).bind(4, time_ms);
      if (a.category.empty()) it.bind_null(5); else it.bind(5, a.category);
      it.run();
    }
  }
  return known;
}

// The visit in the customer's row: one more, its spend, first and last seen, its local weekday
// and hour, and how often its items were already known to the customer, in one update.
void count_visit(Db& db, std::int64_t customer, const LoggedEvent& e, std::int64_t amount, const CustomerBefore& before,
                 std::int64_t repeat_hits, std::int64_t repeat_total) {
  const auto [weekday, hour] = local_weekday_hour(e.body, e.time_ms);
  db.cached(
        "UPDATE customers SET visits=visits+1, spend=spend+?1, "
        "first_seen_ms=min(coalesce(first_seen_ms, ?2), ?2), last_seen_ms=max(coalesce(last_seen_ms, ?2), ?2), "
        "weekday_hist=?4, hour_hist=?5, repeat_hits=repeat_hits+?6, repeat_total=repeat_total+?7 WHERE id=?3")
      .bind(1, amount)
      .bind(2, e.time_ms)
      .bind(3, customer)
      .bind(4, bump(before.weekday_hist, 7, static_cast<std::size_t>(weekday)))
      .bind(5, bump(before.hour_hist, 24, static_cast<std::size_t>(hour)))
      .bind(6, repeat_hits)
      .bind(7, repeat_total)
      .run();
}

// One more basket for each category in the basket, however many of its items share it.
void count_categories(Db& db, std::int64_t customer, const BasketLines& lines, std::int64_t time_ms) {
  Stmt& cc = db.cached(
      "INSERT INTO customer_categories(customer_id, category, baskets, last_ms) VALUES(?1,?2,1,?3) "
      "ON CONFLICT(customer_id, category) DO UPDATE SET baskets=baskets+1, last_ms=max(last_ms, excluded.last_ms)");
  std::set<std::string_view> categories;
  for (const auto& [_, a] : lines.per_sku)
    if (!a.category.empty()) categories.insert(a.category);
  for (const std::string_view category : categories) {
    cc.reset();
    cc.bind(1, customer).bind(2, category).bind(3, time_ms).run();
  }
}

// The lines bought "for" a household member: one more basket for each (member, SKU), the member
// in the household, and one more visit of the customer's that bought for someone.
void count_members(Db& db, std::int64_t customer, const BasketLines& lines, std::int64_t time_ms) {
  Stmt& mi = db.cached(
      "INSERT INTO member_items(customer_id, member, sku, baskets, last_ms) VALUES(?1,?2,?3,1,?4) "
      "ON CONFLICT(customer_id, member, sku) DO UPDATE SET baskets=baskets+1, last_ms=max(last_ms, excluded.last_ms)");
  Stmt& hh = db.cached("INSERT INTO household(customer_id, member) VALUES(?,?) ON CONFLICT DO NOTHING");
  if (!lines.per_member.empty())
    db.cached("UPDATE customers SET member_visits=member_visits+1 WHERE id=?").bind(1, customer).run();
  for (const auto& [key, _] : lines.per_member) {
    mi.reset();
    mi.bind(1, customer).bind(2, key.first).bind(3, key.second).bind(4, time_ms).run();
    hh.reset();
    hh.bind(1, customer).bind(2, key.first).run();
  }
}

// A return: counted against the customer and the items they had bought, not as a visit.
void count_return(Db& db, std::int64_t customer, const BasketLines& lines) {
  db.cached("UPDATE customers SET returns=returns+1, returned_value=returned_value+? WHERE id=?")
      .bind(1, lines.value).bind(2, customer).run();
  for (const auto& [sku, a] : lines.per_sku)
    db.cached("UPDATE customer_items SET returned=returned+? WHERE customer_id=? AND sku=?")
        .bind(1, a.qty).bind(2, customer).bind(3, sku).run();
}

}  // namespace

void Projector::count_in_store(const BasketLines& lines, std::int64_t time_ms, std::int64_t visit, std::int64_t repeat_hits,
                               std::int64_t repeat_total, ItemMemoryBefore& memory) {
  auto& seeds = memory.seeds;
  if (popularity_ == nullptr) {  // no writer keeps the totals in memory: they go to store_stats
    if (visit > 1)
      db_.cached("UPDATE store_stats SET repeat_hits=repeat_hits+?, repeat_total=repeat_total+? WHERE id=1")
          .bind(1, repeat_hits).bind(2, repeat_total).run();
    db_.cached("UPDATE store_stats SET baskets=baskets+1 WHERE id=1").run();
    return;
  }
  // What customers go on to buy: this basket follows the customer's top items so far.
  std::vector<std::string> seed_skus;
  for (auto& [_, sku] : seeds) seed_skus.push_back(std::move(sku));
  if (!seed_skus.empty()) {
    Transition t;
    t.seeds = seed_skus;
    for (const auto& [sku, _] : lines.per_sku) t.basket.push_back(sku);
    popularity_->transitions.push_back(std::move(t));
  }
  if (visit > 1) {
    popularity_->totals.repeat_hits += repeat_hits;
    popularity_->totals.repeat_total += repeat_total;
  }
  popularity_->totals.baskets += 1;
  std::vector<bool> known;
  for (const auto& p : memory.prior) known.push_back(p.known);
  count_items(lines, time_ms, *popularity_, &known);
  if (!memory.known.empty()) {
    HoldOut h{visit - 1, std::move(memory.known), {}, std::move(seed_skus), {}};
    for (const auto& [sku, _] : lines.per_sku) h.basket.push_back(sku);
    popularity_->holdouts.push_back(std::move(h));
  }
}

void Projector::purchase(std::int64_t customer, const LoggedEvent& e, bool is_return) {
  // The store's own counts (what sells here, what customers here go on to buy, how well each
  // prediction source does on this store's purchases) leave out a merge re-applying history (they
  // stand already) and another store's purchase (the chain's: it is the customer's, not this store's).
  const bool counted_elsewhere = e.body.contains("_replay") || e.from_chain;
  BasketLines read_here;
  if (e.lines == nullptr) read_here = basket_lines(e.body);
  const BasketLines& lines = e.lines != nullptr ? *e.lines : read_here;
  if (is_return) return count_return(db_, customer, lines);

  // One purchase is one visit; each distinct item counts once per visit.
  const CustomerBefore before = customer_before(db_, customer);
  ItemMemoryBefore memory = item_memory_before(db_, customer, lines, !counted_elsewhere && popularity_ != nullptr && before.visit > 1);
  if (before.bought_for_members) mark_bought_for_members(db_, customer, memory.known);
  // The store's items table, when no writer keeps popularity in memory.
  Stmt* store_items = popularity_ != nullptr || counted_elsewhere
                          ? nullptr
                          : &db_.cached(
                                "INSERT INTO items(sku, name, baskets, qty, last_ms, category) VALUES(?1,?2,1,?3,?4,?5) "
                                "ON CONFLICT(sku) DO UPDATE SET baskets=baskets+1, qty=qty+excluded.qty, "
                                "name=coalesce(excluded.name, name), last_ms=max(last_ms, excluded.last_ms), "
                                "category=coalesce(excluded.category, category)");
  const std::int64_t known = update_item_memory(db_, customer, lines, e.time_ms, before.visit, memory.prior, store_items);
  // A first visit tells nothing about repeating.
  const std::int64_t repeat_hits = before.visit > 1 ? known : 0;
  const std::int64_t repeat_total = before.visit > 1 ? static_cast<std::int64_t>(lines.per_sku.size()) : 0;
  count_visit(db_, customer, e, lines.value, before, repeat_hits, repeat_total);
  if (!counted_elsewhere) count_in_store(lines, e.time_ms, before.visit, repeat_hits, repeat_total, memory);
  count_categories(db_, customer, lines, e.time_ms);
  count_members(db_, customer, lines, e.time_ms);
}

}  // namespace regulars::daemon
