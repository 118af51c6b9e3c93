#include "generate.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "console.hpp"
#include "memory/identity.hpp"
#include "store/bulk_writer.hpp"
#include "store/event_store.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::bench {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace regulars::tools;
using regulars::daemon::IdentityKey;
using regulars::daemon::PreparedEvent;
using regulars::daemon::BulkWriter;
using regulars::daemon::EventStore;
using regulars::daemon::WriteResult;

namespace {

// Checks, prepares and queues the generator's events; one chunk is written while the next is built.
class ChunkedApply {
 public:
  ChunkedApply(EventStore& store, const IdentityKey& key, std::size_t chunk)
      : key_(key), writer_(store, chunk, [this](std::int64_t, const WriteResult& r) {
          if (first_error_.empty()) first_error_ = r.error;
        }) {}

  // Throws when the generator made an invalid event.
  void add(const json& ev) {
    if (auto err = regulars::wire::validate_event(ev)) die("generated an invalid event: " + err->describe());
    writer_.add(prepare_event(ev, key_));
  }
  bool full() const { return writer_.full(); }
  void flush() { writer_.flush(); }
  void finish() { writer_.finish(); }

  std::int64_t events() const { return writer_.queued(); }
  // Not stored: refused, or a duplicate event id (the generator makes every id once).
  std::int64_t failed() const { return writer_.outcome().failed + writer_.outcome().duplicates; }
  std::string first_error() const {
    return first_error_.empty() && writer_.outcome().duplicates > 0 ? "duplicate event id" : first_error_;
  }
  double wait_s() const { return writer_.wait_s(); }

 private:
  const IdentityKey& key_;
  std::string first_error_;
  BulkWriter writer_;
};

// The events of the plan's i-th visit: the customer's consent at their first visit (everyone here
// says yes), then the purchase.
void add_visit(ChunkedApply& apply, const Plan& plan, const Catalogue& cat, std::size_t i, std::vector<bool>& consented,
               Rng& rng) {
  const Visit& v = plan.schedule[i];
  const std::string when = regulars::wire::format_time_ms(v.time_ms);
  const std::string lane = "lane-" + std::to_string(1 + v.customer % 6);
  const std::string cashier = "c-" + std::to_string(10 + (v.time_ms / 3'600'000) % 20);
  if (!consented[v.customer]) {
    consented[v.customer] = true;
    apply.add({{"type", "consent"},
               {"event_id", "gen-c-" + std::to_string(v.customer)},
               {"time", regulars::wire::format_time_ms(v.time_ms - 60'000)},
               {"store", "bench-store"},
               {"terminal", lane},
               {"cashier", cashier},
               {"customer", customer_json(v.customer)},
               {"purposes", {{"remember", true}, {"personalize", true}}}});
  }
  const Profile profile = profile_of(cat, plan.seed, v.customer);
  apply.add({{"type", "purchase"},
             {"event_id", "gen-p-" + std::to_string(i)},
             {"time", when},
             {"store", "bench-store"},
             {"terminal", lane},
             {"cashier", cashier},
             {"customer", customer_json(v.customer)},
             {"lines", basket_lines(cat, profile, rng, static_cast<int>(v.lines))}});
}

// Where the generation's time went.
struct GenerationTimes {
  double total_s = 0;
  double build_s = 0;  // building and preparing events on this thread
  double stop_s = 0;   // the final commit and checkpoint
};

void print_generation(const Plan& plan, const std::string& dir, std::int64_t lines_done, const ChunkedApply& apply,
                      const GenerationTimes& t) {
  const auto events = static_cast<long long>(apply.events());
  std::error_code ec;
  const auto db_bytes = fs::file_size(dir + "/regulars.db", ec);
  note("generate: 100%% %lld events, %lld lines in %.1f s\n", events, static_cast<long long>(lines_done), t.total_s);
  out("generation: customers=%u purchases=%zu lines=%lld events=%lld time_s=%.1f events_per_s=%.0f "
      "db_mb=%.0f (building+preparing %.1f s on this thread, waiting for the store %.1f s, final checkpoint %.1f s)\n",
      plan.customers, plan.schedule.size(), static_cast<long long>(lines_done), events, t.total_s,
      static_cast<double>(events) / t.total_s, ec ? 0.0 : static_cast<double>(db_bytes) / 1e6, t.build_s,
      apply.wait_s(), t.stop_s);
}

}  // namespace

void generate(const Plan& plan, const Catalogue& cat, const std::string& dir, std::size_t chunk) {
  const auto t0 = Clock::now();
  const IdentityKey key = IdentityKey::load_or_create(dir);
  // One transaction per chunk at most: the writer takes up to group_commit_max queued events.
  EventStore::Options options;
  options.group_commit_max = static_cast<int>(chunk);
  options.writer_cache_mib = BulkWriter::kCacheMib;
  options.merge_beside_writer = true;
  options.acks_wait_for_merge = false;
  EventStore store(dir, options);
  Rng rng(mix(plan.seed, 0xBA5E7));
  std::vector<bool> consented(plan.customers, false);
  ChunkedApply apply(store, key, chunk);
  GenerationTimes times;
  std::int64_t lines_done = 0;
  int next_decile = 1;
  auto b0 = Clock::now();
  for (std::size_t i = 0; i < plan.schedule.size(); ++i) {
    add_visit(apply, plan, cat, i, consented, rng);
    lines_done += plan.schedule[i].lines;
    if (apply.full()) {
      times.build_s += seconds_since(b0);
      apply.flush();
      b0 = Clock::now();
    }
    while (next_decile <= 9 && lines_done * 10 >= plan.lines * next_decile) {
      note("generate: %d%% (%lld lines, %lld events) %.1f s\n", next_decile * 10, static_cast<long long>(lines_done),
           static_cast<long long>(apply.events()), seconds_since(t0));
      ++next_decile;
    }
  }
  times.build_s += seconds_since(b0);
  apply.finish();
  const auto s0 = Clock::now();
  store.stop();  // commits the rest and checkpoints the WAL into the database file
  times.stop_s = seconds_since(s0);
  if (apply.failed() > 0)
    die(std::to_string(apply.failed()) + " generated events were not stored; first: " + apply.first_error());
  times.total_s = seconds_since(t0);
  print_generation(plan, dir, lines_done, apply, times);
  std::ofstream meta(dir + "/" + kMetaFile);
  meta << json{{"customers", plan.customers}, {"lines", plan.lines}, {"seed", plan.seed}, {"end_ms", plan.end_ms}}.dump()
       << "\n";
}

void adopt_store_meta(const std::string& dir, std::uint32_t& customers, std::int64_t& lines, std::uint64_t& seed,
                      std::int64_t& end_ms) {
  std::ifstream in(dir + "/" + kMetaFile);
  const auto meta = json::parse(in, nullptr, false);
  if (!meta.is_discarded() && meta.is_object()) {
    customers = meta.value("customers", customers);
    lines = meta.value("lines", lines);
    seed = meta.value("seed", seed);
    end_ms = meta.value("end_ms", end_ms);
  } else {
    note("warning: %s has no %s; assuming it was generated with the flags given\n", dir.c_str(), kMetaFile);
  }
  out("generation: skipped, reusing %s (customers=%u lines=%lld seed=%llu)\n", dir.c_str(), customers,
      static_cast<long long>(lines), static_cast<unsigned long long>(seed));
}

}  // namespace regulars::bench
