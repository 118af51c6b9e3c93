// The store: an append-only event log in SQLite with the projections kept in step with it.
// One writer thread owns the only read-write connection and commits events in groups
// (synchronous=FULL); a caller's completion runs only after its commit. Readers use their own
// read-only connections, one per thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "db.hpp"
#include "identity.hpp"

namespace regulars::daemon {

// An event ready for the writer: validated, identifier already hashed, raw value removed.
struct PreparedEvent {
  std::string event_id;
  std::string type;
  std::string id_kind;
  IdentifierHash id_hash{};
  std::int64_t time_ms = 0;
  nlohmann::json body;  // the event without customer.value
};

struct WriteResult {
  bool ok = false;
  bool duplicate = false;  // the event id was already in the log: nothing changed
  std::int64_t customer_id = 0;
  std::int64_t seq = 0;
  std::string error;
};

// Builds a PreparedEvent from a validated event.
PreparedEvent prepare_event(const nlohmann::json& event, const IdentityKey& key);

struct CustomerView {
  std::int64_t id = 0;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t visits = 0;
  std::int64_t spend = 0;
  std::optional<bool> consent_remember;
  std::optional<bool> consent_personalize;
};

struct ItemStat {
  std::string sku;
  std::string name;
  std::int64_t baskets = 0;
  std::int64_t last_ms = 0;
};

struct StoreStats {
  std::int64_t events = 0;
  std::int64_t customers = 0;
  std::int64_t items = 0;
};

class Store {
 public:
  struct Options {
    int group_commit_max = 1024;
  };
  // Opens (creating and migrating) DIR/regulars.db and starts the writer.
  Store(const std::string& data_dir, Options options);
  ~Store();  // drains and stops the writer
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  using Completion = std::function<void(WriteResult)>;
  // Queues an event; `done` runs on the writer thread after the event's commit (or failure).
  void submit(PreparedEvent event, Completion done);
  // Stops accepting, commits what is queued, and joins the writer.
  void stop();

  // Applies events synchronously in one transaction (bulk loading, tests).
  std::vector<WriteResult> apply_now(std::vector<PreparedEvent> events);

  // Read side; each call uses the calling thread's own read-only connection.
  std::optional<CustomerView> find_customer(const std::string& kind, const IdentifierHash& hash);
  std::vector<ItemStat> top_items(std::int64_t customer_id, int limit);
  std::vector<ItemStat> popular_items(int limit);
  StoreStats stats();

  const std::string& path() const noexcept { return path_; }
  std::uint64_t commits() const noexcept { return commits_.load(); }

 private:
  struct Job {
    PreparedEvent event;
    Completion done;
  };
  void writer_loop();
  void commit_batch(std::vector<Job>& batch);
  WriteResult apply(const PreparedEvent& e);
  Db& reader();

  std::string path_;
  Options options_;
  std::unique_ptr<Db> writer_db_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread writer_;
  std::atomic<std::uint64_t> commits_{0};
  std::uint64_t instance_;  // keys the per-thread reader connections
};

}  // namespace regulars::daemon
