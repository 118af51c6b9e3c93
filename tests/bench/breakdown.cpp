// --breakdown: the same work as phases 3 and 4 without the plugin and the socket, and the disk's
// fdatasync floor, to show where the time goes.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "console.hpp"
#include "hints/hint_engine.hpp"
#include "machine.hpp"
#include "memory/identity.hpp"
#include "phases.hpp"
#include "plugin_calls.hpp"
#include "store/event_store.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::bench {

using nlohmann::json;
using namespace regulars::tools;
using regulars::daemon::IdentityKey;
using regulars::daemon::PreparedEvent;
using regulars::daemon::EventStore;
using regulars::daemon::WriteResult;

namespace {

// fdatasync of a 4 KiB append in `dir`: the floor under every durable commit on this disk.
LatencySummary fsync_probe(const std::string& dir, int n) {
  const std::string path = dir + "/fsync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return {};
  std::vector<std::int64_t> ns;
  const std::string page(4096, 'x');
  for (int i = 0; i < n; ++i) {
    if (::write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size())) break;
    const auto t0 = Clock::now();
    if (::fdatasync(fd) != 0) break;
    ns.push_back(elapsed_ns(t0, Clock::now()));
  }
  ::close(fd);
  ::unlink(path.c_str());
  return summarize_ns(std::move(ns));
}

// HintEngine::answer and the dump of its answer, as the daemon does for each hints call.
void hints_in_process(const Options& opt, const Catalogue& cat, EventStore& store, const IdentityKey& key) {
  regulars::daemon::HintEngine engine(store, key, regulars::daemon::HintSettings{});
  Rng rng(mix(opt.seed, 0x417));
  std::vector<json> reqs;
  for (std::size_t i = 0; i < opt.hints; ++i)
    reqs.push_back(json::parse(hints_request(cat, static_cast<std::uint32_t>(rng.below(opt.customers)), rng)));
  for (std::size_t i = 0; i < std::min<std::size_t>(opt.hints, 2000); ++i)
    (void)engine.answer(reqs[i], regulars::wire::now_ms());
  std::vector<std::int64_t> ns;
  for (const auto& r : reqs) {
    const auto t0 = Clock::now();
    const json answer = engine.answer(r, regulars::wire::now_ms());
    const std::string text = regulars::wire::dump_json(answer);
    ns.push_back(elapsed_ns(t0, Clock::now()));
  }
  const LatencySummary s = summarize_ns(std::move(ns));
  out("breakdown: HintEngine::answer + dump in process (no plugin, no socket): p50=%.1f p90=%.1f p99=%.1f "
      "p99.9=%.1f max=%.1f us\n",
      s.p50, s.p90, s.p99, s.p999, s.max);
}

// --records purchases of random customers, prepared as the daemon prepares what a till sends.
std::vector<PreparedEvent> prepared_purchases(const Options& opt, const Catalogue& cat, const IdentityKey& key) {
  Rng rng(mix(opt.seed, 0xD12EC7));
  std::vector<PreparedEvent> events;
  const std::string run = std::to_string(regulars::wire::now_ms());
  for (std::size_t i = 0; i < opt.records; ++i) {
    const auto who = static_cast<std::uint32_t>(rng.below(opt.customers));
    const Profile profile = profile_of(cat, opt.seed, who);
    events.push_back(prepare_event(json{{"type", "purchase"},
                                        {"event_id", "bd-" + run + "-" + std::to_string(i)},
                                        {"time", regulars::wire::format_time_ms(regulars::wire::now_ms())},
                                        {"customer", customer_json(who)},
                                        {"lines", basket_lines(cat, profile, rng, static_cast<int>(rng.between(2, 10)))}},
                                   key));
  }
  return events;
}

// --clients threads, each with one event in flight at a time, straight into EventStore::submit.
void submit_in_process(const Options& opt, const Catalogue& cat, EventStore& store, const IdentityKey& key) {
  const unsigned clients = opt.clients;
  const std::size_t records = opt.records;
  std::vector<PreparedEvent> events = prepared_purchases(opt, cat, key);
  const auto commits0 = store.commits();
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> failed{0};
  std::vector<std::vector<std::int64_t>> lat(clients);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = next.fetch_add(1); i < records; i = next.fetch_add(1)) {
        std::promise<WriteResult> done;
        auto fut = done.get_future();
        const auto c0 = Clock::now();
        store.submit(std::move(events[i]), [&done](WriteResult r) { done.set_value(std::move(r)); });
        if (!fut.get().ok) ++failed;
        lat[t].push_back(elapsed_ns(c0, Clock::now()));
      }
    });
  for (auto& th : threads) th.join();
  const double secs = seconds_since(t0);
  const auto commits = store.commits() - commits0;
  std::vector<std::int64_t> merged;
  for (auto& l : lat) merged.insert(merged.end(), l.begin(), l.end());
  const LatencySummary s = summarize_ns(std::move(merged));
  out("breakdown: EventStore::submit in process, %u threads one event each in flight: records=%zu errors=%lld "
      "records_per_s=%.1f commits=%llu (%.1f events per commit) latency p50=%.1f p99=%.1f us\n",
      clients, records, static_cast<long long>(failed.load()), static_cast<double>(records) / secs,
      static_cast<unsigned long long>(commits), commits ? static_cast<double>(records) / static_cast<double>(commits) : 0.0,
      s.p50, s.p99);
}

}  // namespace

void breakdown_phase(const Options& opt, const Catalogue& cat, const std::string& data_dir) {
  const LatencySummary fs_probe = fsync_probe(data_dir, 200);
  out("breakdown: fdatasync of 4 KiB in the data dir: p50=%.1f p90=%.1f p99=%.1f max=%.1f us\n", fs_probe.p50,
      fs_probe.p90, fs_probe.p99, fs_probe.max);
  const IdentityKey key = IdentityKey::load_or_create(data_dir);
  EventStore::Options options;
  options.group_commit_max = 1024;
  EventStore store(data_dir, options);
  hints_in_process(opt, cat, store, key);
  submit_in_process(opt, cat, store, key);
}

}  // namespace regulars::bench
