#include "memory/consent.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "db/db.hpp"

namespace regulars::daemon {

using nlohmann::json;

namespace {

constexpr const char* kPurposes[] = {"remember", "personalize"};
// The newest records mentioning each purpose, this many at most, are settled from: far beyond any
// real customer (a handful), a bound on the work (cubic in it) a flood of consent events from one
// till could cause. Per purpose, so that a purpose's own records never fall out of the window
// behind records about the other one (its state would read as never asked).
constexpr std::int64_t kMaxRecords = 200;

struct ConsentRecord {
  std::string event_id;
  std::string origin;  // the store it came from ("" for this store's own)
  std::int64_t time_ms = 0;
  std::map<std::string, bool, std::less<>> purposes;  // purpose: granted
  std::optional<std::vector<std::string>> supersedes;  // nullopt: logged before the stamp
};

std::vector<ConsentRecord> read_records(Db& db, std::int64_t customer, std::int64_t upto_seq) {
  Stmt& s = db.cached(
      "SELECT event_id, time_ms, body, coalesce(origin, '') FROM events WHERE seq IN ("
      "SELECT seq FROM (SELECT seq FROM events WHERE customer_id=?1 AND type='consent' AND seq<=?2 "
      "  AND json_extract(body, '$.purposes.remember') IS NOT NULL ORDER BY seq DESC LIMIT ?3) "
      "UNION SELECT seq FROM (SELECT seq FROM events WHERE customer_id=?1 AND type='consent' AND seq<=?2 "
      "  AND json_extract(body, '$.purposes.personalize') IS NOT NULL ORDER BY seq DESC LIMIT ?3)) ORDER BY seq");
  s.bind(1, customer).bind(2, upto_seq).bind(3, kMaxRecords);
  std::vector<ConsentRecord> out;
  while (s.step()) {
    ConsentRecord r;
    r.event_id = s.text(0);
    r.time_ms = s.i64(1);
    r.origin = s.text(3);
    const json body = json::parse(s.text(2), nullptr, /*allow_exceptions=*/false);
    if (body.is_object()) {
      if (const auto p = body.find("purposes"); p != body.end() && p->is_object())
        for (const auto& [purpose, granted] : p->items())
          if (granted.is_boolean()) r.purposes[purpose] = granted.get<bool>();
      if (const auto st = body.find(kSupersedesKey); st != body.end() && st->is_array()) {
        r.supersedes.emplace();
        for (const auto& id : *st)
          if (id.is_string()) r.supersedes->push_back(id.get<std::string>());
      }
    }
    out.push_back(std::move(r));
  }
  s.reset();
  return out;
}

// A grant of some purpose given at `time_ms` does not supersede a withdrawal of that purpose
// dated at or after it: it was given before, and arrived late.
bool kept_from_grant(const ConsentRecord& earlier, const std::map<std::string, bool, std::less<>>& purposes, std::int64_t time_ms) {
  if (earlier.time_ms < time_ms) return false;
  for (const auto& [purpose, granted] : purposes)
    if (granted) {
      const auto it = earlier.purposes.find(purpose);
      if (it != earlier.purposes.end() && !it->second) return true;
    }
  return false;
}

// knew[k][i]: record k knew of record i when it was made, directly or through what it knew.
std::vector<std::vector<char>> knowledge(const std::vector<ConsentRecord>& records) {
  const std::size_t n = records.size();
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) index.emplace(records[i].event_id, i);
  std::vector<std::vector<std::size_t>> direct(n);
  for (std::size_t k = 0; k < n; ++k) {
    if (records[k].supersedes) {
      for (const auto& id : *records[k].supersedes)
        if (const auto it = index.find(id); it != index.end() && it->second != k) direct[k].push_back(it->second);
    } else {
      // Logged before the stamp: it knew its own store's earlier records, which every store of
      // the chain holds in that store's order.
      for (std::size_t i = 0; i < k; ++i)
        if (records[i].origin == records[k].origin && !kept_from_grant(records[i], records[k].purposes, records[k].time_ms))
          direct[k].push_back(i);
    }
  }
  std::vector<std::vector<char>> knew(n, std::vector<char>(n, 0));
  std::vector<char> state(n, 0);  // 0 not yet, 1 in progress, 2 done
  // Depth-first, iteratively: what k knew is what it names and what they knew.
  for (std::size_t root = 0; root < n; ++root) {
    std::vector<std::pair<std::size_t, std::size_t>> stack{{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [k, next] = stack.back();
      if (next < direct[k].size()) {
        const std::size_t i = direct[k][next++];
        if (state[i] == 0) {
          state[i] = 1;
          stack.emplace_back(i, 0);
        }
        continue;
      }
      for (const std::size_t i : direct[k]) {
        knew[k][i] = 1;
        if (state[i] == 2)
          for (std::size_t j = 0; j < n; ++j) knew[k][j] |= knew[i][j];
      }
      state[k] = 2;
      stack.pop_back();
    }
  }
  return knew;
}

// The records no other record knew of (mentioning `purpose`, when given). For a purpose, a grant
// never counts as knowing a withdrawal of it dated at or after the grant, however it came to know
// of it (through a later record about the other purpose, say): it was given before, and arrived late.
std::vector<std::size_t> heads(const std::vector<ConsentRecord>& records, const std::vector<std::vector<char>>& knew,
                               const char* purpose) {
  const auto mentions = [&](std::size_t i) { return purpose == nullptr || records[i].purposes.contains(std::string_view(purpose)); };
  const auto knows = [&](std::size_t k, std::size_t i) {
    if (k == i || !mentions(k) || knew[k][i] == 0) return false;
    if (purpose == nullptr) return true;
    const bool k_grants = records[k].purposes.find(std::string_view(purpose))->second;
    const bool i_withdraws = !records[i].purposes.find(std::string_view(purpose))->second;
    return !(k_grants && i_withdraws && records[i].time_ms >= records[k].time_ms);
  };
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!mentions(i)) continue;
    bool known = false;
    for (std::size_t k = 0; k < records.size() && !known; ++k) known = knows(k, i);
    if (!known) out.push_back(i);
  }
  return out;
}

}  // namespace

ConsentState settle_consent(Db& db, std::int64_t customer, std::int64_t upto_seq) {
  const auto records = read_records(db, customer, upto_seq);
  const auto knew = knowledge(records);
  ConsentState out;
  for (const char* purpose : kPurposes) {
    std::optional<bool> state;
    for (const std::size_t h : heads(records, knew, purpose)) {
      const bool granted = records[h].purposes.find(std::string_view(purpose))->second;
      state = state.value_or(true) && granted;
      out.consent_ms = std::max(out.consent_ms.value_or(records[h].time_ms), records[h].time_ms);
    }
    std::optional<std::int64_t> withdrawn;
    for (const auto& r : records)
      if (const auto it = r.purposes.find(std::string_view(purpose)); it != r.purposes.end() && !it->second)
        withdrawn = std::max(withdrawn.value_or(r.time_ms), r.time_ms);
    (std::string_view(purpose) == "remember" ? out.remember : out.personalize) = state;
    (std::string_view(purpose) == "remember" ? out.remember_withdrawn_ms : out.personalize_withdrawn_ms) = withdrawn;
  }
  return out;
}

std::vector<std::string> consent_supersedes(Db& db, std::int64_t customer, const json& purposes, std::int64_t time_ms) {
  const auto records = read_records(db, customer, std::numeric_limits<std::int64_t>::max());
  std::map<std::string, bool, std::less<>> own;
  if (purposes.is_object())
    for (const auto& [purpose, granted] : purposes.items())
      if (granted.is_boolean()) own[purpose] = granted.get<bool>();
  std::vector<std::string> out;
  for (const std::size_t h : heads(records, knowledge(records), nullptr))
    if (!kept_from_grant(records[h], own, time_ms)) out.push_back(records[h].event_id);
  // The newest, should a flood of concurrent changes exceed the bound: what is left out is not
  // superseded, so a withdrawal among it still wins.
  if (out.size() > kMaxSupersedes) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(kMaxSupersedes));
  return out;
}

std::optional<std::string> check_supersedes(const json& stamp) {
  if (!stamp.is_array() || stamp.size() > kMaxSupersedes)
    return std::string(kSupersedesKey) + " must be a list of at most " + std::to_string(kMaxSupersedes) + " event ids";
  for (const auto& id : stamp) {
    if (!id.is_string()) return std::string(kSupersedesKey) + " must hold event ids";
    const auto& s = id.get_ref<const std::string&>();
    const bool token = !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
             c == ':' || c == '@' || c == '-';
    });
    if (!token) return std::string(kSupersedesKey) + " holds something that is not an event id";
  }
  return std::nullopt;
}

}  // namespace regulars::daemon
