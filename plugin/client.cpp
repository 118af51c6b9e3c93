#include "client.hpp"

#include <algorithm>
#include <sstream>

#include "platform/files.hpp"
#include "wire/hex.hpp"
#include "wire/json_text.hpp"
#include "wire/random.hpp"
#include "wire/sealed.hpp"
#include "wire/validate.hpp"

namespace regulars::plugin {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Time kept back from the budget for writing to the spool when the daemon does not answer.
std::chrono::milliseconds spool_reserve(int budget_ms) {
  return std::chrono::milliseconds(std::clamp(budget_ms / 5, 1, 20));
}

// Time first, then randomness: unique across tills, and new ids land at the end of the
// daemon's event_id index instead of at random places in it. The daemon drops an event whose id
// it has seen as a duplicate, so an id from a weak source could lose a sale silently: without
// randomness from the kernel this throws, and record() fails with REGULARS_INTERNAL instead.
std::string new_event_id() { return wire::time_ordered_id("ev-", 8); }

// Room for the request around an event: {"id":<20 digits>,"op":"record","sealed":""}.
constexpr std::size_t kRequestEnvelope = 64;

// The longest event (its JSON) that fits in one of the daemon's frames both ways it may travel:
// as it is, and sealed and in base64 (4/3 of the sealed size) from the spool. One limit for both,
// so whether an event is accepted never depends on whether the daemon happens to be up.
std::size_t max_event_bytes(std::uint32_t max_frame) {
  if (max_frame <= kRequestEnvelope + 4 * seal::kOverhead) return 0;
  return (max_frame - kRequestEnvelope) / 4 * 3 - seal::kOverhead;
}

const char* const kKeptDaemonFile = "/regularsd.pub";  // line 1: spool key; line 2: "max_frame_bytes N"

}  // namespace

Client::Client(Options options, FileSync spool_sync) : options_(std::move(options)) {
  if (options_.tls) {
    std::string why;
    tls_ = tls::Context::create(options_.ca_file, why);
    if (!tls_) throw std::invalid_argument(why);
  }
  if (!options_.spool_dir.empty()) {
    spool_ = std::make_unique<Spool>(options_.spool_dir, options_.spool_max_bytes, std::move(spool_sync));
    writer_ = std::make_unique<SpoolWriter>(*spool_);
    recall_frame_limit();
  }
  // One attempt within the budget, so a healthy daemon serves the very first call.
  CallResult failure;
  auto conn = Connection::open(options_, tls_, Clock::now() + std::chrono::milliseconds(options_.budget_ms), failure);
  if (conn) learn_spool_key(*conn);
  {
    std::lock_guard lock(conn_mu_);
    if (!conn) last_failure_ = failure.message;
    conn_ = std::move(conn);
  }
  background_ = std::thread([this] { background_loop(); });
}

Client::~Client() {
  {
    std::lock_guard lock(bg_mu_);
    stopping_ = true;
  }
  bg_cv_.notify_all();
  {
    std::lock_guard lock(conn_mu_);
    stopping_now_ = true;
    if (connecting_) connecting_->shut_down();
    if (conn_) conn_->shut_down();
  }
  if (background_.joinable()) background_.join();
}

std::size_t Client::calls_in_flight() {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(conn_mu_);
    conn = conn_;
  }
  return conn ? conn->calls_in_flight() : 0;
}

std::shared_ptr<Connection> Client::usable_connection() {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(conn_mu_);
    conn = conn_;
  }
  if (conn && conn->alive() && !suspect_.load()) return conn;
  wake_background();
  return nullptr;
}

void Client::suspect(const std::shared_ptr<Connection>& conn) {
  if (conn && conn->alive()) suspect_.store(true);
  wake_background();
}

void Client::wake_background() {
  {
    std::lock_guard lock(bg_mu_);
    wake_ = true;
  }
  bg_cv_.notify_one();
}

regulars_status Client::hints(const char* request_json, std::string& response, std::string& why) {
  const Deadline deadline = Clock::now() + std::chrono::milliseconds(options_.budget_ms);
  auto parsed = wire::parse_json(request_json);
  if (auto* err = std::get_if<wire::Error>(&parsed)) {
    why = err->describe();
    return REGULARS_INVALID_INPUT;
  }
  json& request = std::get<json>(parsed);
  if (auto err = wire::validate_hints_request(request)) {
    why = err->describe();
    return REGULARS_INVALID_INPUT;
  }
  auto conn = usable_connection();
  if (!conn) {
    why = "regularsd is not reachable (no hints now)";
    std::lock_guard lock(conn_mu_);
    if (!last_failure_.empty()) why += ": " + last_failure_;
    return REGULARS_UNAVAILABLE;
  }
  if (conn->hints_take_who()) {  // who asks: gesture limits count per cashier and lane
    if (!request.contains("terminal") && !options_.terminal.empty()) request["terminal"] = options_.terminal;
    if (!request.contains("store") && !options_.store.empty()) request["store"] = options_.store;
    if (!request.contains("cashier") && !options_.cashier.empty()) request["cashier"] = options_.cashier;
  }
  CallResult r = conn->call_raw(json{{"op", "hints"}, {"request", std::move(request)}}, deadline);
  if (r.status == REGULARS_OK) {
    response = std::move(r.raw_result);  // the daemon's bytes, checked, not parsed
    return REGULARS_OK;
  }
  if (r.status == REGULARS_TIMEOUT) suspect(conn);
  if (r.status == REGULARS_UNAVAILABLE) wake_background();
  why = r.message;
  return r.status;
}

regulars_status Client::record(const char* event_json, std::string& why) {
  const Deadline deadline = Clock::now() + std::chrono::milliseconds(options_.budget_ms);
  auto parsed = wire::parse_json(event_json);
  if (auto* err = std::get_if<wire::Error>(&parsed)) {
    why = err->describe();
    return REGULARS_INVALID_INPUT;
  }
  json& event = std::get<json>(parsed);
  if (!event.is_object()) {
    why = "event: must be a JSON object";
    return REGULARS_INVALID_INPUT;
  }
  if (!event.contains("event_id")) event["event_id"] = new_event_id();
  if (!event.contains("time")) event["time"] = wire::format_time_ms(wire::now_ms());
  if (!event.contains("terminal") && !options_.terminal.empty()) event["terminal"] = options_.terminal;
  if (!event.contains("store") && !options_.store.empty()) event["store"] = options_.store;
  if (!event.contains("cashier") && !options_.cashier.empty()) event["cashier"] = options_.cashier;
  if (auto err = wire::validate_event(event)) {
    why = err->describe();
    return REGULARS_INVALID_INPUT;
  }
  std::string payload = wire::dump_json(event);
  const std::uint32_t max_frame = max_frame_bytes_.load();
  if (payload.size() > max_event_bytes(max_frame)) {
    // Refused here: the daemon would refuse the frame (and close the connection), and a spooled
    // copy could never be replayed.
    why = "event: " + std::to_string(payload.size()) + " bytes of JSON, more than the " +
          std::to_string(max_event_bytes(max_frame)) + " that fit, sealed, in one frame of regularsd (limits.max_frame_bytes = " +
          std::to_string(max_frame) + "); split it into smaller events";
    return REGULARS_INVALID_INPUT;
  }
  const std::string event_id = event["event_id"].get<std::string>();

  regulars_status daemon_status = REGULARS_UNAVAILABLE;
  if (auto conn = usable_connection()) {
    CallResult r = conn->call(json{{"op", "record"}, {"event", std::move(event)}}, deadline - spool_reserve(options_.budget_ms));
    if (r.status == REGULARS_OK) return REGULARS_OK;
    // The daemon judged the event itself: the verdict stands, spooling would not change it.
    if (r.status == REGULARS_INVALID_INPUT || r.status == REGULARS_DENIED) {
      why = r.message;
      return r.status;
    }
    if (r.status == REGULARS_TIMEOUT) suspect(conn);
    daemon_status = r.status;
    why = r.message;
  }
  return spool_or_fail(std::move(payload), event_id, daemon_status, deadline, why);
}

regulars_status Client::spool_or_fail(std::string payload, const std::string& event_id, regulars_status daemon_status,
                                      Deadline deadline, std::string& why) {
  if (!spool_) {
    if (why.empty()) why = "regularsd is not reachable and no spool_dir is configured";
    return daemon_status == REGULARS_OK ? REGULARS_UNAVAILABLE : daemon_status;
  }
  // Sealed to the daemon's spool key: the file holds no raw identifier, and only the daemon can
  // open it. Without that key nothing is spooled: whatever key the till could seal to instead
  // would have to be kept on the same disk, and would open the same records.
  const auto key = spool_key();
  if (!key) {
    why = "not spooled: regularsd's spool key is not known yet (this till has never completed a hello with "
          "regularsd, and no spool.pub is readable beside its socket)" + (why.empty() ? "" : "; " + why);
    return REGULARS_UNAVAILABLE;
  }
  std::string seal_failure;
  std::optional<std::string> sealed = seal::seal_for_daemon(*key, payload, seal_failure);
  if (!sealed) {
    why = seal_failure;
    return REGULARS_IO;
  }
  const regulars_status s = writer_->append(std::move(*sealed), deadline, why);
  if (s == REGULARS_OK) wake_background();
  if (s == REGULARS_TIMEOUT)
    why += ": event " + event_id + " is either durable, and will be delivered, or not recorded; "
           "recording it again with the same event_id is safe";
  return s;
}

std::optional<seal::PublicKey> Client::spool_key() {
  std::lock_guard lock(key_mu_);
  if (spool_key_) return spool_key_;
  auto read_key = [](const std::string& path) -> std::optional<seal::PublicKey> {
    std::string text;
    if (!files::read_small_file(path, text)) return std::nullopt;
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    return seal::parse_public_key(line);
  };
  spool_key_ = read_key(options_.spool_dir + kKeptDaemonFile);
  if (!spool_key_ && !options_.tls) {
    const auto slash = options_.socket_path.rfind('/');
    spool_key_ = read_key((slash == std::string::npos ? std::string(".") : options_.socket_path.substr(0, slash)) + "/spool.pub");
  }
  return spool_key_;
}

void Client::learn_spool_key(const Connection& conn) {
  const std::uint32_t limit_before = max_frame_bytes_.exchange(conn.max_frame_bytes());
  const auto& key = conn.spool_key();
  if (!key || !spool_) return;
  std::lock_guard lock(key_mu_);
  if (spool_key_ == key && limit_before == conn.max_frame_bytes()) return;
  spool_key_ = key;
  // Kept beside the spool, so a process opened while the daemon is away can still seal, and
  // knows which events the daemon could take.
  const std::string text = seal::key_text(*key) + "\nmax_frame_bytes " + std::to_string(conn.max_frame_bytes()) + '\n';
  // Not fatal when it fails: the key is also learnt at every connection.
  files::replace_file(options_.spool_dir + kKeptDaemonFile, text);
}

void Client::recall_frame_limit() {
  std::string text;
  if (!files::read_small_file(options_.spool_dir + kKeptDaemonFile, text)) return;
  std::istringstream in(text);
  std::string key_line, name;
  std::uint64_t limit = 0;
  // A file from an older plugin has the key line only: the default limit stands.
  if (std::getline(in, key_line) && (in >> name >> limit) && name == "max_frame_bytes" && limit >= 1024 &&
      limit <= (1u << 30))
    max_frame_bytes_.store(static_cast<std::uint32_t>(limit));
}

bool Client::try_connect() {
  CallResult failure;
  // Nobody waits on this thread, so connecting and the handshakes may take longer than the
  // till's budget.
  auto conn = Connection::connect(options_, tls_, Clock::now() + 2s, failure);
  if (!conn) {
    std::lock_guard lock(conn_mu_);
    last_failure_ = failure.message;
    return false;
  }
  {
    std::lock_guard lock(conn_mu_);
    if (stopping_now_) return false;
    connecting_ = conn;  // the destructor may abort the handshake
  }
  const CallResult r = conn->handshake(options_, Clock::now() + 2s);
  std::lock_guard lock(conn_mu_);
  connecting_.reset();
  if (r.status != REGULARS_OK) last_failure_ = r.message;
  if (r.status != REGULARS_OK || stopping_now_) return false;
  learn_spool_key(*conn);
  conn_ = std::move(conn);
  last_failure_.clear();
  suspect_.store(false);
  return true;
}

std::optional<json> Client::replay_request(const std::string& payload, std::uint32_t max_frame, bool& retry,
                                           std::string& why) {
  retry = false;
  const unsigned char version = payload.empty() ? 0 : static_cast<unsigned char>(payload[0]);
  json request;
  if (wire::sealed::opened_by_daemon(version)) {
    request = {{"op", "record"}, {"sealed", wire::base64_encode(payload)}};
  } else {
    // Sealed to the spool's own key by a plugin from before issue 19 (opened here), or written
    // by a plugin from before sealing (the event's JSON as it was).
    std::string text = payload;
    if (version == wire::sealed::kLocalVersion) {
      bool missing = false;
      const auto local = seal::existing_local_key(options_.spool_dir, missing, why);
      if (!local) {
        retry = !missing;  // there but unreadable now (permissions?): try again later
        return std::nullopt;
      }
      auto opened = seal::open(*local, payload, why);
      if (!opened) {
        why = "sealed to a key this spool does not hold, or damaged";
        return std::nullopt;
      }
      text = std::move(*opened);
    }
    auto parsed = wire::parse_json(text);
    if (std::holds_alternative<wire::Error>(parsed)) {
      why = "not an event this plugin can read";
      return std::nullopt;
    }
    request = {{"op", "record"}, {"event", std::move(std::get<json>(parsed))}};
  }
  // Sent, it would be refused with the connection at every attempt and block the spool.
  if (const std::size_t size = wire::dump_json(request).size() + kRequestEnvelope; size > max_frame) {
    why = "its request takes " + std::to_string(size) + " bytes, more than regularsd's limits.max_frame_bytes (" +
          std::to_string(max_frame) + ")";
    return std::nullopt;
  }
  return request;
}

bool Client::deliver(const std::shared_ptr<Connection>& conn, const std::vector<std::string>& payloads,
                     const std::string& origin) {
  // Pipelined: send a window of records, then collect their acknowledgements.
  constexpr std::size_t kWindow = 128;
  std::vector<std::pair<std::size_t, std::string>> undeliverable;  // index, why: quarantined, never dropped
  for (std::size_t start = 0; start < payloads.size(); start += kWindow) {
    const std::size_t end = std::min(payloads.size(), start + kWindow);
    const Deadline deadline = Clock::now() + 5s;
    std::vector<std::pair<std::uint64_t, std::size_t>> sent;  // request id, index
    bool try_later = false;  // the window is delivered again later, from its first record
    for (std::size_t i = start; i < end && !try_later; ++i) {
      bool retry = false;
      std::string why;
      auto request = replay_request(payloads[i], conn->max_frame_bytes(), retry, why);
      if (retry) {
        try_later = true;
        break;
      }
      if (!request) {
        undeliverable.emplace_back(i, std::move(why));
        continue;
      }
      CallResult failure;
      const auto id = conn->send(std::move(*request), deadline, failure);
      if (id == 0) try_later = true;
      else sent.emplace_back(id, i);
    }
    // Every request sent is awaited, even after one failed: each answer is then taken (or given
    // up on at the window's deadline) rather than left in the connection for as long as it lives.
    for (const auto& [id, i] : sent) {
      const CallResult r = conn->await(id, deadline);
      // An event the daemon refuses as invalid, or as not this till's to send, will never be
      // accepted; kept in the spool it would block everything behind it. Any other failure means
      // "try again later". (A denial of the lane itself, a revoked token, is not about the event.)
      const bool event_denied = r.status == REGULARS_DENIED && r.error && r.error->field.rfind("event", 0) == 0;
      if (r.status == REGULARS_OK || try_later) continue;
      if (r.status != REGULARS_INVALID_INPUT && !event_denied) {
        try_later = true;
        continue;
      }
      // The code and field only: a daemon's message may quote what it refused.
      undeliverable.emplace_back(i, "regularsd refused it (" + (r.error ? std::string(wire::to_string(r.error->code)) + " at " + r.error->field : "") + ")");
    }
    if (try_later) return false;
  }
  for (const auto& [i, why] : undeliverable) {
    const std::string what = "a record of " + std::to_string(payloads[i].size()) + " bytes cannot be delivered: " + why;
    std::string failure;
    if (!spool_->quarantine(origin, encode_spool_record(payloads[i]), what, failure)) return false;
  }
  return true;
}

bool Client::replay_own(const std::shared_ptr<Connection>& conn) {
  while (spool_->own_has_pending()) {
    const SpoolRecords recs = spool_->own_pending(512);
    if (recs.payloads.empty()) return true;
    if (!deliver(conn, recs.payloads, "own")) return false;
    spool_->own_delivered(recs.end_offset);
  }
  return true;
}

bool Client::replay_orphans(const std::shared_ptr<Connection>& conn) {
  for (const auto& path : spool_->orphan_files()) {
    auto claimed = spool_->claim(path);
    if (!claimed) continue;
    if (!deliver(conn, claimed->payloads, path.substr(path.rfind('/') + 1))) return false;
    claimed->finish();  // when the quarantine cannot be written, the file stays for a later claim
  }
  spool_->refresh_usage();
  return true;
}

void Client::background_loop() {
  auto backoff = 20ms;
  auto last_orphan_scan = Clock::now() - 1h;
  for (;;) {
    {
      std::unique_lock lock(bg_mu_);
      if (stopping_) return;
    }
    std::shared_ptr<Connection> conn;
    {
      std::lock_guard lock(conn_mu_);
      conn = conn_;
    }
    bool healthy = false;
    if (!conn || !conn->alive()) {
      healthy = try_connect();
    } else if (suspect_.load()) {
      // The daemon missed a deadline: ping it before the till trusts it again.
      const CallResult r = conn->call(json{{"op", "ping"}}, Clock::now() + 1s);
      if (r.status == REGULARS_OK) suspect_.store(false);
      healthy = r.status == REGULARS_OK;
    } else {
      healthy = true;
    }
    if (healthy && spool_) {
      {
        std::lock_guard lock(conn_mu_);
        conn = conn_;
      }
      bool ok = replay_own(conn);
      if (ok && Clock::now() - last_orphan_scan > 1s) {
        ok = replay_orphans(conn);
        last_orphan_scan = Clock::now();
      }
      healthy = ok;
    }
    backoff = healthy ? 20ms : std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
    std::unique_lock lock(bg_mu_);
    // Idle: check for orphaned spool files about once a second.
    bg_cv_.wait_for(lock, healthy ? 1000ms : backoff, [&] { return stopping_ || wake_; });
    if (stopping_) return;
    wake_ = false;
  }
}

}  // namespace regulars::plugin
