// regulars-eval: measures the quality and the speed of the hints' item predictions on a
// next-basket dataset (issue 3, "Evaluation command"), under the protocol of
// /work/shared/data/tafeng/README.md.
//
//  1. Loads history.json and future.json ({"customer_id": [[-1], basket, ..., [-1]]}) and checks
//     them (dataset.hpp).
//  2. Starts a fresh regularsd on a temporary directory (or on --data-dir) and waits for its socket.
//  3. Through libregulars.so (regulars::Client), records consent (remember + personalize) for every
//     customer, then replays every history basket as one purchase: sku = the item id as text,
//     qty 1, unit_price 100, one line per distinct item.
//  4. Asks for hints for every customer of future.json, empty basket, max_predictions 20, one
//     client, one call at a time, each call timed with steady_clock; scores the predictions
//     against the held-out basket (metrics.hpp) over ALL customers of future.json.
//  5. Prints the figures, the replay throughput, the hints latency and the daemon's memory; stops
//     the daemon with SIGTERM and removes the temporary directory (unless --keep).
// The last line of stdout is always
//   recall@10=… ndcg@10=… phr@10=… recall@3=… users=N p50_us=N p99_us=N
// when the evaluation ran; a fatal error prints "regulars-eval: error: …" and exits 1. Exit status
// 2 means the run completed but some records or hints calls failed (they are listed).
//
// The calendar. The visits of a customer are one week apart, oldest first, on a common calendar
// that ends at --end-date (default: today, 00:00 UTC): every customer's LAST history visit falls
// in the week before the end date, so a customer with n baskets visits at
//   end_date − (n − j)·7 days + offset(customer),   j = 0 … n−1,
// where offset(customer) ∈ [0, 7 days) is a fixed weekday, hour (08–20) and minute derived from a
// hash of the customer id (a regular's usual weekday and hour). The held-out basket is then "the
// next visit", about a week after the last one, i.e. around now when the end date is today, which
// is when the hints are asked. Aligning the ends (rather than the starts) makes every customer's
// history equally recent at question time, as for a store's regulars on a given day.
// The replay runs in global time order, week by week: --clients threads each own a disjoint set of
// customers (customer index mod clients) and record their customers' visits of week w in time
// order; a barrier separates the weeks, so the store-wide state grows as it would in the store
// (within a week the threads interleave freely). Per-customer order is always kept.
// Every event has a deterministic event_id ("consent-<customer>", "ev-<customer>-<j>"), so a rerun
// against the same --data-dir is idempotent: the daemon ignores events it already has.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "console.hpp"
#include "daemon_child.hpp"
#include "dataset.hpp"
#include "latency.hpp"
#include "metrics.hpp"
#include "regulars/regulars.hpp"
#include "wire/validate.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace regulars::eval;
using namespace regulars::tools;

namespace {

constexpr std::int64_t kMinuteMs = 60'000;
constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kWeekMs = 7 * kDayMs;
constexpr int kMaxPredictions = 20;
const std::vector<std::size_t> kCutoffs{3, 10, 20};

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // A final mix, so neighbouring ids ("17", "18") land on unrelated weekdays and hours.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

// The customer's fixed weekday, hour and minute within a week.
std::int64_t week_offset_ms(const std::string& id) {
  const std::uint64_t h = fnv1a(id);
  return static_cast<std::int64_t>(h % 7) * kDayMs + static_cast<std::int64_t>(8 + (h >> 8) % 13) * kHourMs +
         static_cast<std::int64_t>((h >> 16) % 60) * kMinuteMs;
}

// The customer id as it may appear inside an event_id ([A-Za-z0-9._:@-], at most 128 in all).
std::string id_tag(const std::string& id) {
  const bool plain = id.size() <= 100 && std::all_of(id.begin(), id.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                              c == '_' || c == ':' || c == '@' || c == '-';
                     });
  if (plain) return id;
  char buf[24];
  std::snprintf(buf, sizeof buf, "h%016llx", static_cast<unsigned long long>(fnv1a(id)));
  return buf;
}

std::string thousands(std::uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

// Counts of failures by "STATUS: detail", merged across threads.
class Failures {
 public:
  void add(const std::string& what) {
    std::lock_guard lock(mu_);
    ++counts_[what.size() > 200 ? what.substr(0, 200) + "..." : what];
    ++total_;
  }
  std::int64_t total() const {
    std::lock_guard lock(mu_);
    return total_;
  }
  void print(const char* indent) const {
    std::lock_guard lock(mu_);
    for (const auto& [k, n] : counts_) out("%s%lld× %s\n", indent, static_cast<long long>(n), k.c_str());
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::int64_t> counts_;
  std::int64_t total_ = 0;
};

struct Customer {
  std::string id;
  const CustomerBaskets* history = nullptr;  // null: only in future.json
  const CustomerBaskets* future = nullptr;   // null: only in history.json
  json identifier;
  std::string tag;
  std::int64_t offset_ms = 0;
  std::size_t n() const { return history ? history->baskets.size() : 0; }
};

struct Visit {
  std::int64_t time_ms;
  std::uint32_t customer;  // index into customers
  std::uint32_t basket;    // index into its history
};

struct Options {
  std::string history_path, future_path, regularsd, data_dir, end_date, id_kind = "app", id_prefix = "eval-";
  unsigned clients = 4;
  std::size_t limit_customers = 0;
  int budget_ms = 1000;
  bool keep = false;
  bool hints_only = false;  // the store in data_dir already holds the history (regularsctl import)
  std::vector<std::string> daemon_args;
};

// Records one event, retrying (same event_id, so never counted twice) while the daemon is
// unreachable or late. Returns true when it was acknowledged.
bool record(regulars::Client& client, const std::string& event, Failures& failures, std::atomic<std::int64_t>& retries) {
  constexpr int kAttempts = 6;
  for (int attempt = 1;; ++attempt) {
    const regulars_status s = regulars_record(client.get(), event.c_str());
    if (s == REGULARS_OK) return true;
    const bool transient = s == REGULARS_UNAVAILABLE || s == REGULARS_TIMEOUT;
    if (!transient || attempt == kAttempts) {
      failures.add(std::string("record: ") + regulars_strerror(s) + ": " + regulars_last_error());
      return false;
    }
    retries.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
  }
}

// --limit-customers: only the first n customers of future.json, and their histories.
void limit_customers(Dataset& history, Dataset& future, std::size_t n) {
  if (n == 0 || n >= future.customers.size()) return;
  future.customers.resize(n);
  std::unordered_set<std::string> keep;
  for (const auto& c : future.customers) keep.insert(c.id);
  std::erase_if(history.customers, [&](const CustomerBaskets& c) { return keep.count(c.id) == 0; });
}

// The customers of both files joined by id in natural order, and what their data holds.
struct Roster {
  std::vector<Customer> customers;  // pointing into the two datasets
  std::size_t only_history = 0, only_future = 0;
  std::size_t purchases = 0, lines = 0;  // history baskets and their lines
  std::size_t weeks = 0;                 // the most history baskets of any customer
  std::size_t items = 0;                 // distinct items in both files
};

Roster join_customers(const Dataset& history, const Dataset& future, const Options& opt) {
  std::map<std::string, Customer, decltype(&natural_less)> by_id(&natural_less);
  for (const auto& c : history.customers) by_id[c.id].history = &c;
  for (const auto& c : future.customers) by_id[c.id].future = &c;
  Roster r;
  r.customers.reserve(by_id.size());
  std::unordered_set<std::string> item_set;
  for (auto& [id, c] : by_id) {
    c.id = id;
    c.identifier = {{"kind", opt.id_kind}, {"value", opt.id_prefix + id}};
    c.tag = id_tag(id);
    c.offset_ms = week_offset_ms(id);
    r.only_history += c.future == nullptr;
    r.only_future += c.history == nullptr;
    if (c.history) {
      r.purchases += c.history->baskets.size();
      r.weeks = std::max(r.weeks, c.history->baskets.size());
      for (const auto& b : c.history->baskets) {
        r.lines += b.size();
        for (const auto& item : b) item_set.insert(item);
      }
    }
    if (c.future)
      for (const auto& item : c.future->baskets.front()) item_set.insert(item);
    r.customers.push_back(std::move(c));
  }
  if (r.customers.size() > UINT32_MAX) throw std::runtime_error("too many customers");
  r.items = item_set.size();
  return r;
}

// The end of the calendar: --end-date, or today (UTC).
struct EndDate {
  std::string text;  // YYYY-MM-DD
  std::int64_t ms = 0;
};

EndDate end_date(const Options& opt) {
  const std::string date_text = opt.end_date.empty()
                                    ? regulars::wire::format_time_ms(regulars::wire::now_ms() / kDayMs * kDayMs).substr(0, 10)
                                    : opt.end_date;
  const auto end_ms = regulars::wire::parse_time_ms(date_text + "T00:00:00Z");
  if (!end_ms) throw std::runtime_error("--end-date: expected YYYY-MM-DD, got \"" + date_text + "\"");
  return {date_text, *end_ms};
}

void print_data(const Options& opt, const Roster& r, const Dataset& history, const Dataset& future, const EndDate& end) {
  out("regulars-eval %s: history=%s future=%s\n", REGULARS_VERSION_STRING, opt.history_path.c_str(),
      opt.future_path.c_str());
  out("data: customers=%zu (scored: %zu; only in history: %zu; only in future: %zu) items=%zu history_baskets=%zu "
      "lines=%zu (repeats within a basket dropped: %zu)\n",
      r.customers.size(), future.customers.size(), r.only_history, r.only_future, r.items, r.purchases, r.lines,
      history.duplicates + future.duplicates);
  out("calendar: visits a week apart, every customer's last history visit in the week before %s "
      "(%zu weeks, first %s); replay in time order, week by week\n",
      end.text.c_str(), r.weeks,
      regulars::wire::format_time_ms(end.ms - static_cast<std::int64_t>(r.weeks) * kWeekMs).substr(0, 10).c_str());
}

// A fresh private directory under $TMPDIR (or /tmp); throws if none.
std::string make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/regulars-eval-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  return templ;
}

// Removes the temporary directory (unless --keep) on every way out; finish() does it before
// the last line, so that line stays last.
struct Cleanup {
  std::string dir;
  bool keep;
  bool done = false;
  void finish() {
    if (done) return;
    done = true;
    if (keep) {
      out("kept: %s\n", dir.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  ~Cleanup() {
    if (!done && keep) std::fprintf(stderr, "regulars-eval: kept: %s\n", dir.c_str());
    done = done || keep;
    finish();
  }
};

std::string regularsd_exe(const Options& opt) {
  return find_regularsd(opt.regularsd,
#ifdef REGULARSD_BUILD_PATH
                        REGULARSD_BUILD_PATH
#else
                        ""
#endif
  );
}

// Waits for the daemon's socket, prints how long it took and what the store held; returns the
// daemon's status then.
std::optional<json> wait_for_daemon(DaemonChild& daemon, const std::string& exe, const std::string& data_dir) {
  const auto d0 = Clock::now();
  daemon.wait_ready(std::chrono::seconds(60));
  auto st0 = daemon_status(daemon.socket(), "regulars-eval");
  out("daemon: %s pid=%d data_dir=%s listening after %.2f s; store before: events=%lld customers=%lld items=%lld\n",
      exe.c_str(), daemon.pid(), data_dir.c_str(), seconds_since(d0), static_cast<long long>(status_field(st0, "events")),
      static_cast<long long>(status_field(st0, "customers")), static_cast<long long>(status_field(st0, "items")));
  return st0;
}

// plan[t][w]: the visits of thread t's customers (index mod clients) in week w, in time order.
using ReplayPlan = std::vector<std::vector<std::vector<Visit>>>;

ReplayPlan plan_replay(const std::vector<Customer>& customers, std::size_t weeks, unsigned clients, std::int64_t end_ms) {
  ReplayPlan plan(clients, std::vector<std::vector<Visit>>(weeks));
  for (std::uint32_t i = 0; i < customers.size(); ++i) {
    const Customer& c = customers[i];
    const std::size_t n = c.n();
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t w = weeks - n + j;
      plan[i % clients][w].push_back(
          Visit{end_ms - static_cast<std::int64_t>(n - j) * kWeekMs + c.offset_ms, i, static_cast<std::uint32_t>(j)});
    }
  }
  for (auto& per_thread : plan)
    for (auto& week : per_thread)
      std::sort(week.begin(), week.end(),
                [](const Visit& a, const Visit& b) { return std::tie(a.time_ms, a.customer) < std::tie(b.time_ms, b.customer); });
  return plan;
}

// The consents, then the history, through one client per thread; each thread records its own
// customers, and a barrier separates the weeks (see the top of this file).
class Replay {
 public:
  Replay(const std::vector<Customer>& customers, const ReplayPlan& plan, std::int64_t end_ms, std::size_t total_events)
      : customers_(customers), plan_(plan), clients_(static_cast<unsigned>(plan.size())),
        weeks_(plan.empty() ? 0 : plan.front().size()), end_ms_(end_ms), total_events_(total_events) {}

  // Records everything; returns the seconds it took.
  double run(const std::string& endpoint, int budget_ms) {
    r0_ = Clock::now();
    {
      std::vector<std::unique_ptr<regulars::Client>> cs;
      for (unsigned t = 0; t < clients_; ++t)
        cs.push_back(std::make_unique<regulars::Client>(json{{"endpoint", endpoint},
                                                             {"budget_ms", budget_ms},
                                                             {"store", "eval"},
                                                             {"terminal", "eval-" + std::to_string(t)},
                                                             {"cashier", "eval"}}
                                                            .dump()));
      std::barrier sync(static_cast<std::ptrdiff_t>(clients_));
      std::vector<std::thread> threads;
      for (unsigned t = 0; t < clients_; ++t)
        threads.emplace_back([&, t] {
          record_consents(*cs[t], t);
          sync.arrive_and_wait();
          for (std::size_t w = 0; w < weeks_; ++w) {
            if (t == 0) current_week_.store(static_cast<int>(w));
            record_week(*cs[t], t, w);
            sync.arrive_and_wait();
          }
        });
      for (auto& th : threads) th.join();
    }
    return seconds_since(r0_);
  }

  std::size_t consents_ok() const { return consents_ok_.load(); }
  std::size_t purchases_ok() const { return purchases_ok_.load(); }
  std::int64_t retries() const { return retries_.load(); }
  const Failures& failures() const { return failures_; }

 private:
  // Consent first, an hour before the customer's first visit.
  void record_consents(regulars::Client& client, unsigned t) {
    for (std::size_t i = t; i < customers_.size(); i += clients_) {
      const Customer& c = customers_[i];
      const std::int64_t first = end_ms_ - static_cast<std::int64_t>(std::max<std::size_t>(c.n(), 1)) * kWeekMs + c.offset_ms;
      const json ev{{"type", "consent"},
                    {"event_id", "consent-" + c.tag},
                    {"time", regulars::wire::format_time_ms(first - kHourMs)},
                    {"customer", c.identifier},
                    {"purposes", {{"remember", true}, {"personalize", true}}}};
      if (record(client, ev.dump(), failures_, retries_)) consents_ok_.fetch_add(1);
      progress();
    }
  }

  // One purchase per visit: sku = the item id, qty 1, unit_price 100.
  void record_week(regulars::Client& client, unsigned t, std::size_t w) {
    for (const Visit& v : plan_[t][w]) {
      const Customer& c = customers_[v.customer];
      json lines_json = json::array();
      for (const auto& sku : c.history->baskets[v.basket]) lines_json.push_back({{"sku", sku}, {"qty", 1}, {"unit_price", 100}});
      const json ev{{"type", "purchase"},
                    {"event_id", "ev-" + c.tag + "-" + std::to_string(v.basket)},
                    {"time", regulars::wire::format_time_ms(v.time_ms)},
                    {"customer", c.identifier},
                    {"lines", std::move(lines_json)}};
      if (record(client, ev.dump(), failures_, retries_)) purchases_ok_.fetch_add(1);
      progress();
    }
  }

  // One more event done: a note on stderr at every 5%, from whichever thread crosses it.
  void progress() {
    const std::size_t d = done_.fetch_add(1) + 1;
    const int step = static_cast<int>(d * 20 / total_events_);
    int seen = printed_step_.load();
    while (step > seen) {
      if (printed_step_.compare_exchange_weak(seen, step)) {
        const double s = seconds_since(r0_);
        const int w = current_week_.load();
        const std::string phase =
            w < 0 ? std::string("consents") : "week " + std::to_string(w + 1) + "/" + std::to_string(weeks_);
        note("replay %3d%%: %s/%s events (%s), %.1f s, %.0f events/s\n", step * 5, thousands(d).c_str(),
             thousands(total_events_).c_str(), phase.c_str(), s, static_cast<double>(d) / s);
        break;
      }
    }
  }

  const std::vector<Customer>& customers_;
  const ReplayPlan& plan_;
  const unsigned clients_;
  const std::size_t weeks_;
  const std::int64_t end_ms_;
  const std::size_t total_events_;
  Clock::time_point r0_;
  std::atomic<std::size_t> done_{0};
  std::atomic<int> printed_step_{0};
  std::atomic<std::int64_t> retries_{0};
  std::atomic<int> current_week_{-1};  // -1: consents
  Failures failures_;
  std::atomic<std::size_t> consents_ok_{0}, purchases_ok_{0};
};

void print_replay(const Replay& replay, const Roster& r, unsigned clients, double replay_s,
                  const std::optional<json>& st0, const std::optional<json>& st1) {
  const std::size_t total_events = r.customers.size() + r.purchases;
  out("replay: %s consents + %s purchases (%s lines) with %u clients in %.1f s: %.0f events/s, %.0f purchases/s, "
      "%.0f lines/s; retries=%lld failures=%lld\n",
      thousands(replay.consents_ok()).c_str(), thousands(replay.purchases_ok()).c_str(), thousands(r.lines).c_str(),
      clients, replay_s, static_cast<double>(total_events) / replay_s, static_cast<double>(r.purchases) / replay_s,
      static_cast<double>(r.lines) / replay_s, static_cast<long long>(replay.retries()),
      static_cast<long long>(replay.failures().total()));
  replay.failures().print("  ");
  const std::int64_t stored = status_field(st1, "events") - status_field(st0, "events");
  if (st0 && st1)
    out("store after: events=%lld (+%lld; a fresh store gains one per acknowledged event, a rerun none) customers=%lld "
        "items=%lld commits=%lld\n",
        static_cast<long long>(status_field(st1, "events")), static_cast<long long>(stored),
        static_cast<long long>(status_field(st1, "customers")), static_cast<long long>(status_field(st1, "items")),
        static_cast<long long>(status_field(st1, "commits")));
}

// The hints asked for every customer of future.json, and how their predictions scored.
struct HintsTally {
  Accumulator acc{kCutoffs};
  std::vector<std::int64_t> latency_ns;
  std::vector<std::size_t> slow_calls;  // call numbers (from 1) of the calls over 1 ms
  std::size_t unknown = 0, not_personalized = 0, short_lists = 0, returned = 0;
  double secs = 0;
};

// The SKUs of an answer's predictions, in order; an answer without a prediction list is a failure.
std::vector<std::string> read_predictions(const std::string& answer, HintsTally& h, Failures& failures) {
  std::vector<std::string> ranked;
  const json a = json::parse(answer, nullptr, false);
  const json* preds = nullptr;
  if (a.is_object() && a.contains("predictions") && a["predictions"].is_array()) preds = &a["predictions"];
  if (!preds) {
    failures.add("hints: answer without a \"predictions\" list: " + answer.substr(0, 120));
    return ranked;
  }
  for (const auto& p : *preds)
    if (p.is_object() && p.contains("sku") && p["sku"].is_string()) ranked.push_back(p["sku"].get<std::string>());
  const json& cj = a.contains("customer") ? a["customer"] : json();
  if (!cj.is_object() || !cj.value("known", false)) ++h.unknown;
  else if (!cj.value("personalized", false)) ++h.not_personalized;
  h.short_lists += ranked.size() < 10;
  h.returned += ranked.size();
  return ranked;
}

// One timed hints call, empty basket; the ranking it returned (empty when it failed).
// `answer` is the caller's buffer, reused from call to call.
std::vector<std::string> ask_one(regulars::Client& client, const Customer& c, std::size_t call, std::string& answer,
                                 HintsTally& h, Failures& failures) {
  const std::string request =
      json{{"customer", c.identifier}, {"basket", json::array()}, {"max_predictions", kMaxPredictions}}.dump();
  answer.clear();
  const auto t0 = Clock::now();
  const regulars_status s = client.try_hints(request, answer);
  const auto t1 = Clock::now();
  if (s != REGULARS_OK) {
    failures.add(std::string("hints: ") + regulars_strerror(s) + ": " + regulars_last_error());
    return {};
  }
  h.latency_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  if (h.latency_ns.back() > 1'000'000) h.slow_calls.push_back(call);
  return read_predictions(answer, h, failures);
}

// One client, one call at a time, for every customer of future.json in natural order.
HintsTally ask_hints(const std::vector<Customer>& customers, std::size_t total, const std::string& endpoint,
                     int budget_ms, Failures& failures) {
  HintsTally h;
  h.latency_ns.reserve(total);
  const auto h0 = Clock::now();
  {
    regulars::Client client(json{{"endpoint", endpoint}, {"budget_ms", budget_ms}, {"terminal", "eval-hints"}}.dump());
    int step_printed = 0;
    std::size_t asked = 0;
    std::string answer;
    for (const Customer& c : customers) {
      if (!c.future) continue;
      const ItemSet truth(c.future->baskets.front().begin(), c.future->baskets.front().end());
      h.acc.add(ask_one(client, c, asked + 1, answer, h, failures), truth);  // a failed call: no hit, still one user
      ++asked;
      const int step = static_cast<int>(asked * 20 / total);
      if (step > step_printed && step < 20) {
        step_printed = step;
        note("hints %3d%%: %s/%s customers, %.1f s\n", step * 5, thousands(asked).c_str(), thousands(total).c_str(),
             seconds_since(h0));
      }
    }
  }
  h.secs = seconds_since(h0);
  return h;
}

void print_hints(const Options& opt, std::size_t calls, const HintsTally& h, const LatencySummary& lat,
                 const Failures& failures) {
  out("hints (1 client, one call at a time, empty basket, max_predictions=%d, budget_ms=%d): calls=%zu ok=%zu "
      "failures=%lld in %.1f s\n",
      kMaxPredictions, opt.budget_ms, calls, lat.n, static_cast<long long>(failures.total()), h.secs);
  failures.print("  ");
  out("  answers: unknown customer=%zu not personalized=%zu fewer than 10 predictions=%zu mean predictions=%.1f\n",
      h.unknown, h.not_personalized, h.short_lists,
      lat.n ? static_cast<double>(h.returned) / static_cast<double>(lat.n) : 0.0);
  out("  latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f\n", lat.p50, lat.p90, lat.p99, lat.p999,
      lat.max, lat.mean);
  if (!h.slow_calls.empty()) {
    std::string which;
    for (std::size_t i = 0; i < h.slow_calls.size() && i < 12; ++i) which += (i ? " " : "") + std::to_string(h.slow_calls[i]);
    out("  calls over 1 ms: %zu (call numbers: %s%s)\n", h.slow_calls.size(), which.c_str(),
        h.slow_calls.size() > 12 ? " ..." : "");
  }
}

void print_quality(const Accumulator& acc, const std::string& future_path) {
  out("quality over all %zu customers of %s (a failed call counts as no hit):\n", acc.users(), future_path.c_str());
  out("     k   recall     ndcg      phr\n");
  for (std::size_t k : kCutoffs) out("  %4zu   %.4f   %.4f   %.4f\n", k, acc.recall(k), acc.ndcg(k), acc.phr(k));
}

int run(const Options& opt) {
  const auto t_start = Clock::now();
  ::signal(SIGPIPE, SIG_IGN);
  ::umask(0077);

  // --- 1. The data ----------------------------------------------------------------------------
  Dataset history = load_dataset(opt.history_path, false);
  Dataset future = load_dataset(opt.future_path, true);
  limit_customers(history, future, opt.limit_customers);
  const Roster roster = join_customers(history, future, opt);
  const std::vector<Customer>& customers = roster.customers;
  const EndDate end = end_date(opt);
  print_data(opt, roster, history, future, end);

  // --- 2. The daemon --------------------------------------------------------------------------
  const std::string tmp = make_temp_dir();
  Cleanup cleanup{tmp, opt.keep};
  const std::string data_dir = opt.data_dir.empty() ? tmp + "/data" : opt.data_dir;
  fs::create_directories(data_dir);
  const std::string exe = regularsd_exe(opt);
  std::vector<std::string> daemon_args{"--log-level", "warn"};
  daemon_args.insert(daemon_args.end(), opt.daemon_args.begin(), opt.daemon_args.end());
  DaemonChild daemon(exe, data_dir, daemon_args, tmp + "/regularsd.log");
  const auto st0 = wait_for_daemon(daemon, exe, data_dir);
  const std::string endpoint = "unix:" + daemon.socket();

  // --- 3. Consent, then the history in time order (unless the store already has it) ---------
  const unsigned clients = std::max(1u, std::min<unsigned>(opt.clients, static_cast<unsigned>(customers.size())));
  const ReplayPlan plan = opt.hints_only ? ReplayPlan{} : plan_replay(customers, roster.weeks, clients, end.ms);
  Replay replay(customers, plan, end.ms, customers.size() + roster.purchases);
  double replay_s = 0;
  if (opt.hints_only) {
    out("replay: none (--hints-only: the history is already in %s)\n", data_dir.c_str());
  } else {
    replay_s = replay.run(endpoint, opt.budget_ms);
    print_replay(replay, roster, clients, replay_s, st0, daemon_status(daemon.socket(), "regulars-eval"));
  }

  // --- 4. Hints for every customer of future.json ------------------------------------------
  Failures hints_failures;
  const HintsTally hints = ask_hints(customers, future.customers.size(), endpoint, opt.budget_ms, hints_failures);
  const LatencySummary lat = summarize_ns(hints.latency_ns);
  print_hints(opt, future.customers.size(), hints, lat, hints_failures);
  print_quality(hints.acc, opt.future_path);

  // --- 5. Memory, stop ----------------------------------------------------------------------
  out("daemon memory: %s\n", daemon.memory_summary().c_str());
  out("daemon stop (SIGTERM): %s\n", daemon.stop(std::chrono::seconds(30)).c_str());
  out("wall time: %.1f s (replay %.1f s, hints %.1f s)\n", seconds_since(t_start), replay_s, hints.secs);
  const int status = replay.failures().total() + hints_failures.total() > 0 ? 2 : 0;
  cleanup.finish();
  const Accumulator& acc = hints.acc;
  out("recall@10=%.4f ndcg@10=%.4f phr@10=%.4f recall@3=%.4f users=%zu p50_us=%lld p99_us=%lld\n", acc.recall(10),
      acc.ndcg(10), acc.phr(10), acc.recall(3), acc.users(), static_cast<long long>(std::llround(lat.p50)),
      static_cast<long long>(std::llround(lat.p99)));
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regulars-eval — replays a next-basket dataset into a fresh regularsd through libregulars.so and "
               "measures the hints' predictions (recall, ndcg, phr at k=3, 10, 20) and latency"};
  Options opt;
  app.add_option("--history", opt.history_path, "history.json: {\"customer\": [[-1], basket, ..., [-1]]}")->required();
  app.add_option("--future", opt.future_path, "future.json: each customer's held-out next basket")->required();
  app.add_option("--regularsd", opt.regularsd, "The regularsd binary (default: the one built with this program)");
  app.add_option("--clients", opt.clients, "Recording threads, each with its own client and customers (default 4)")
      ->check(CLI::Range(1u, 64u));
  app.add_option("--limit-customers", opt.limit_customers,
                 "Only the first N customers of future.json (natural id order) and their histories");
  app.add_option("--data-dir", opt.data_dir,
                 "The daemon's data directory (kept; a rerun on it is idempotent). Default: a fresh temporary one");
  app.add_option("--end-date", opt.end_date,
                 "YYYY-MM-DD: every customer's last history visit is in the week before it (default: today, UTC)");
  app.add_option("--budget-ms", opt.budget_ms, "budget_ms of the plugin clients (large, so no call is cut)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--id-kind", opt.id_kind, "Identifier kind of the customers (default app)");
  app.add_option("--id-prefix", opt.id_prefix, "Prefix of the identifier values (default \"eval-\")");
  app.add_option("--daemon-arg", opt.daemon_args, "Extra argument for regularsd (repeat for several)")
      ->allow_extra_args(false);
  app.add_flag("--keep", opt.keep, "Keep the temporary directory (store, daemon log)");
  app.add_flag("--hints-only", opt.hints_only,
               "Replay nothing: --data-dir already holds the history (e.g. imported with regularsctl import from "
               "tests/eval/data/history_to_csv.py, with the same --end-date); only ask for hints")
      ->needs("--data-dir")
      ->needs("--end-date");
  CLI11_PARSE(app, argc, argv);
  set_note_prefix("regulars-eval: ");
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "regulars-eval: error: %s\n", e.what());
    return 1;
  }
}
