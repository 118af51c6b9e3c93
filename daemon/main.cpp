// regularsd: the customer-memory daemon. Runs in the foreground; stops cleanly on SIGINT/SIGTERM.
// This file only assembles the parts (daemon/README.md has the layers and the threads).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>
#include <vector>

#include "base/config.hpp"
#include "base/log.hpp"
#include "dashboard/dashboard.hpp"
#include "hints/hint_engine.hpp"
#include "memory/identity.hpp"
#include "metrics/metrics.hpp"
#include "net/io_pool.hpp"
#include "net/admin_routes.hpp"
#include "net/monitoring_routes.hpp"
#include "net/till_server.hpp"
#include "owner/admin_token.hpp"
#include "owner/commands.hpp"
#include "owner/dashboard_sessions.hpp"
#include "owner/owner_pool.hpp"
#include "chain/link.hpp"
#include "store/event_store.hpp"
#include "till/rsa_spool_key.hpp"
#include "till/spool_key.hpp"
#include "till/till_ops.hpp"
#include "gestures/engine.hpp"
#include "owner/lane_tokens.hpp"
#include "wire/validate.hpp"

namespace asio = boost::asio;
using namespace regulars::daemon;

namespace {

int fail(const std::string& message) {
  std::cerr << "regularsd: " << message << "\n";
  return 1;
}

// Defaults, then the config file, then the flags: the configuration, or the error to print.
std::variant<Config, std::string> configure(int argc, char** argv) {
  CLI::App app{"regularsd — Regulars customer-memory daemon"};
  std::string data_dir, config_path, socket, log_level, log_format;
  int io_threads = 0;
  app.add_option("--data-dir", data_dir, "Directory for the store, the secret and the socket (created if missing)");
  app.add_option("--config", config_path, "Config file (JSON with // comments; see packaging/regularsd.conf)")
      ->check(CLI::ExistingFile);
  app.add_option("--socket", socket, "Unix socket path (default DATA_DIR/regularsd.sock)");
  app.add_option("--io-threads", io_threads, "Threads serving connections (default 2)")->check(CLI::Range(1, 64));
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error (default info)");
  app.add_option("--log-format", log_format, "json or text (default json)");
  app.set_version_flag("--version", "regularsd " REGULARS_VERSION_STRING);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  Config config;
  if (!config_path.empty()) {
    auto loaded = load_config_file(config_path, config);
    if (auto* e = std::get_if<regulars::wire::Error>(&loaded)) return e->describe();
    config = std::get<Config>(loaded);
  }
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!socket.empty()) config.socket_path = socket;
  if (io_threads > 0) config.io_threads = io_threads;
  if (!log_level.empty()) config.log_level = log_level;
  if (!log_format.empty()) config.log_format = log_format;
  auto finished = finish_config(config);
  if (auto* e = std::get_if<regulars::wire::Error>(&finished)) return e->describe();
  return std::get<Config>(finished);
}

// Creates the data directory and takes its lock for the life of the process: one daemon per
// data directory. Returns the lock's descriptor, or the error to print.
std::variant<int, std::string> lock_data_dir(const Config& config) {
  ::umask(0077);  // the store, its WAL and the secret are personal data: owner only
  if (::mkdir(config.data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return "cannot create data directory " + config.data_dir + ": " + std::strerror(errno);
  const std::string lock_path = config.data_dir + "/regularsd.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return "cannot open " + lock_path + ": " + std::strerror(errno);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return "another regularsd is already using " + config.data_dir;
  }
  return lock_fd;
}

// The systemd unit sets LimitNOFILE; a daemon started by hand gets the shell's soft limit, often
// 1,024, which idle connections alone can use up. Take what the hard limit allows, and say so.
void raise_descriptor_limit(const Config& config) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t was = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      REGULARS_LOG(warn, "cannot raise the descriptor limit", ({{"to", limit.rlim_max}, {"error", std::strerror(errno)}}));
      limit.rlim_cur = was;
    }
  }
  REGULARS_LOG(info, "descriptor limit", ({{"descriptor_limit", limit.rlim_cur}, {"was", was}, {"hard", limit.rlim_max}}));
  // Connections, plus the store's files, the listeners and some room.
  const rlim_t needed = static_cast<rlim_t>(config.max_connections) +
                        static_cast<rlim_t>(config.tls_enabled ? config.tls_max_connections : 0) + 64;
  if (limit.rlim_cur < needed)
    REGULARS_LOG(warn, "the descriptor limit is below what the connection limits need; raise LimitNOFILE (ulimit -n) "
                 "or lower limits.max_connections",
                 ({{"descriptor_limit", limit.rlim_cur}, {"needed", needed}}));
}

EventStore::Options store_options(const Config& c, const IdentityKey& key, Metrics& metrics) {
  EventStore::Options o;
  o.metrics = &metrics;
  o.hash_event_id = [&key](std::string_view event_id) { return key.hash("event_id", event_id); };
  o.group_commit_max = c.group_commit_max;
  o.erase_on_withdrawal = c.on_remember_withdrawn == "erase";
  o.checkpoint_pages = c.checkpoint_pages;
  o.tombstone_days = c.erasure_tombstone_days;
  o.chain_outbox = !c.chain_hub.empty();
  o.merge_beside_writer = true;  // acknowledged once merged too: see popularity_merger.cpp
  return o;
}

HintSettings hint_settings(const Config& c) {
  return HintSettings{c.max_hints,
                      c.max_predictions,
                      c.default_locale,
                      c.personalize_requires_consent,
                      c.feedback_ask_every_days,
                      c.feedback_sample_percent,
                      c.feedback_quiet_days_after_complaint,
                      c.max_offers,
                      c.gestures_max_clock_skew_minutes};
}

// Retention: at start-up, then every check_every_hours, on a thread of its own (a prune rebuilds
// the projections on the writer; tills keep being served meanwhile).
class RetentionTimer {
 public:
  RetentionTimer(const Config& config, EventStore& store, GestureEngine& gestures) {
    if (config.retention_max_age_days <= 0) return;
    thread_ = std::thread([this, &config, &store, &gestures] {
      log::name_thread("rg-retention");
      std::unique_lock lock(mu_);
      do {
        lock.unlock();
        prune_once(config, store, gestures);
        lock.lock();
      } while (!cv_.wait_for(lock, std::chrono::hours(config.retention_check_hours), [&] { return stop_; }));
    });
  }
  ~RetentionTimer() { stop(); }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  static void prune_once(const Config& config, EventStore& store, GestureEngine& gestures) {
    try {
      const std::int64_t cutoff = regulars::wire::now_ms() - std::int64_t{config.retention_max_age_days} * 86'400'000;
      gestures.flush();  // offers decided a moment ago are in the log before it is replayed
      const auto r = store.prune(cutoff);
      if (r["pruned"].get<std::int64_t>() > 0) store.audit("regularsd", "retention_prune", r["cutoff"].get<std::string>(), r);
    } catch (const std::exception& e) {
      REGULARS_LOG(err, "retention failed", ({{"error", e.what()}}));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The owner's admin API (HTTP/JSON, token-protected, localhost by default), with the monitoring
// routes beside it. Its address is written to DATA_DIR/admin.endpoint, the tokens live in
// DATA_DIR/admin.token and DATA_DIR/metrics.token. It also serves the owner's web dashboard
// under /dashboard/ (daemon/dashboard/).
std::unique_ptr<AdminHttpServer> start_admin_api(asio::io_context& io, const Config& config,
                                                 owner::CommandRunner& commands, Metrics& metrics, EventStore& store,
                                                 DashboardSessions* dashboard) {
  if (!config.admin_enabled) return nullptr;
  AdminHttpServer::Options o;
  o.address = config.admin_address;
  o.port = static_cast<unsigned short>(config.admin_port);
  o.token_sha256_hex = load_or_create_admin_token(config.data_dir);
  o.metrics_token_sha256_hex = load_or_create_metrics_token(config.data_dir);
  if (dashboard != nullptr) o.web_handler = make_dashboard_handler(commands, *dashboard);
  auto admin = std::make_unique<AdminHttpServer>(io, o, with_monitoring_routes(io, metrics, store, make_admin_handler(commands)));
  admin->start();
  const std::string host =
      config.admin_address.find(':') != std::string::npos ? "[" + config.admin_address + "]" : config.admin_address;
  const std::string endpoint = "http://" + host + ":" + std::to_string(admin->port());
  const std::string file = config.data_dir + "/admin.endpoint";
  if (!(std::ofstream(file + ".tmp") << endpoint << "\n") || std::rename((file + ".tmp").c_str(), file.c_str()) != 0)
    throw std::runtime_error("cannot write " + file);
  return admin;
}

// In a chain, this store's share of the rules' chain-wide caps, kept by the link.
std::unique_ptr<ChainAllowance> chain_allowance(const Config& c) {
  if (c.chain_hub.empty()) return nullptr;
  return std::make_unique<ChainAllowance>(chain::chain_day_in(c.chain_time_zone));
}

// The link to the chain's hub, when the config has a chain section (daemon/chain/CHAIN.md).
std::unique_ptr<chain::Link> start_chain_link(const Config& c, EventStore& store, const IdentityKey& key,
                                              ChainAllowance* allowance, const GestureEngine& gestures, Metrics& metrics) {
  if (c.chain_hub.empty()) return nullptr;
  chain::LinkSettings s;
  s.allowance = allowance;
  s.gestures = &gestures;
  s.roi_every_ms = c.chain_roi_every_s * 1000;
  s.metrics = &metrics;
  s.hub.conninfo = c.chain_hub;
  s.hub.ca_file = c.chain_ca_file;
  s.store_id = c.chain_store_id;
  s.poll_ms = c.chain_poll_ms;
  s.erase_on_withdrawal = c.on_remember_withdrawn == "erase";
  return std::make_unique<chain::Link>(store, key, s);
}

// Every part of a running regularsd, in the order they start; they stop in the order stop() says.
class Daemon {
 public:
  explicit Daemon(const Config& config)
      : config_(config),
        metrics_(),
        key_(IdentityKey::load_or_create(config.data_dir)),
        store_(config.data_dir, store_options(config, key_, metrics_)),
        chain_allowance_(chain_allowance(config)),
        gestures_(store_, Phrasebook::builtin(), config.personalize_requires_consent),
        hints_(store_, key_, hint_settings(config), &gestures_),
        tokens_(store_),
        spool_key_(SpoolKey::load_or_create(config.data_dir)),
        // Only lanes on other machines (TLS) may be Windows tills, which seal to this one.
        rsa_spool_key_(config.tls_enabled ? std::make_unique<RsaSpoolKey>(config.data_dir) : nullptr),
        till_{store_, key_, hints_, &gestures_, &spool_key_, config.max_frame_bytes, config.max_depth,
              config.max_future_seconds * 1000, rsa_spool_key_.get()},
        owner_pool_(config.owner_threads, kOwnerQueue),
        chain_(start_chain_link(config, store_, key_, chain_allowance_.get(), gestures_, metrics_)),
        dashboard_(config.admin_enabled ? std::make_unique<DashboardSessions>(load_or_create_admin_token(config.data_dir))
                                        : nullptr),
        owner_commands_(owner::Services{store_, key_, config_, &gestures_, &tokens_,
                                        [this](const std::string& token_id) { server_->revoke_sessions(token_id); },
                                        dashboard_.get(), chain_.get()},
                        owner_pool_),
        io_(config.io_threads, std::chrono::microseconds(config.io_spin_us)),
        signals_(io_.main(), SIGINT, SIGTERM) {
    gestures_.set_currency(config.currency);
    gestures_.set_metrics(&metrics_);
    gestures_.set_chain_allowance(chain_allowance_.get());
    gestures_.load();
    store_.set_customer_listener([this](std::int64_t from, std::int64_t into) { gestures_.customer_merged(from, into); });
    // A rebuild or prune renumbers customers: the limits' memory is read again from the offers.
    store_.set_rebuild_listener([this] { gestures_.load(); });
    tokens_.load();
  }

  ~Daemon() {  // after stop(), or when start-up failed half way
    io_.stop();
  }

  // Serves until SIGINT or SIGTERM; returns the signal.
  int run() {
    // Signals first: once the socket exists a supervisor may stop us at any moment, and a
    // SIGTERM before the handler is in place would kill the daemon without a clean shutdown.
    std::promise<int> stop_signal;
    signals_.async_wait([&](boost::system::error_code ec, int sig) {
      if (!ec) stop_signal.set_value(sig);
    });
    std::signal(SIGPIPE, SIG_IGN);
    server_ = std::make_unique<TillServer>(io_, config_, till_, owner_commands_, &tokens_, &metrics_);
    server_->start();
    admin_ = start_admin_api(io_.main(), config_, owner_commands_, metrics_, store_, dashboard_.get());
    retention_ = std::make_unique<RetentionTimer>(config_, store_, gestures_);
    io_.start();
    // The regulars' top items into memory, beside the tills' first calls (store/top_items_cache.hpp).
    (void)owner_pool_.submit([this] {
      try {
        const std::size_t kept = store_.warm_top_items();
        REGULARS_LOG(info, "long histories' top items in memory", ({{"customers", kept}}));
      } catch (const std::exception& e) {  // the answers read them from the store instead
        REGULARS_LOG(warn, "could not read the long histories' top items", ({{"error", e.what()}}));
      }
    });
    REGULARS_LOG(info, "regularsd started", ({{"version", REGULARS_VERSION_STRING},
                                              {"socket", config_.socket_path},
                                              {"store", store_.path()},
                                              {"io_threads", config_.io_threads},
                                              {"io_spin_us", config_.io_spin_us},
                                              {"pid", ::getpid()}}));
    return stop_signal.get_future().get();
  }

  // Order matters: no new connections; let owner work finish; commit and acknowledge what is
  // queued; then close.
  void stop() {
    server_->stop_accepting();
    if (admin_) admin_->stop();
    owner_pool_.drain();  // an erasure, prune or rebuild under way finishes first
    retention_->stop();
    if (chain_) chain_->stop();  // what it has not published yet goes out after the restart
    gestures_.stop();  // its last offers go to the store before the store stops
    store_.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the last acknowledgements go out
    server_->close_all();
    io_.stop();
    REGULARS_LOG(info, "regularsd stopped", ({{"commits", store_.commits()}}));
  }

 private:
  // Owner commands waiting for a thread, at most; more are answered "overloaded".
  static constexpr std::size_t kOwnerQueue = 64;

  const Config& config_;
  Metrics metrics_;  // before everything that measures, so it outlives them
  const IdentityKey key_;
  EventStore store_;
  const std::unique_ptr<ChainAllowance> chain_allowance_;  // null: the store is in no chain
  GestureEngine gestures_;
  HintEngine hints_;
  LaneTokens tokens_;
  const SpoolKey spool_key_;
  const std::unique_ptr<RsaSpoolKey> rsa_spool_key_;  // null: no TLS listener
  till::Services till_;
  owner::OwnerPool owner_pool_;
  const std::unique_ptr<chain::Link> chain_;  // null: the store is in no chain
  // The dashboard's sign-ins, when the admin API serves it; before the commands that use it.
  const std::unique_ptr<DashboardSessions> dashboard_;
  owner::CommandRunner owner_commands_;
  IoPool io_;  // the I/O threads, one io_context each
  asio::signal_set signals_;
  std::unique_ptr<TillServer> server_;
  std::unique_ptr<AdminHttpServer> admin_;
  std::unique_ptr<RetentionTimer> retention_;
};

}  // namespace

int main(int argc, char** argv) {
  // The C library's time zone, set up once here before any thread starts. Otherwise its first
  // use sets it up on whichever thread gets there (OpenSSL's certificate checks for the chain's
  // link, ICU's first date format for a hints answer) under a lock of glibc's own that
  // ThreadSanitizer cannot see, and the two are reported as a data race.
  ::tzset();
  auto configured = configure(argc, argv);
  if (auto* message = std::get_if<std::string>(&configured)) return fail(*message);
  const Config config = std::get<Config>(std::move(configured));
  auto locked = lock_data_dir(config);
  if (auto* message = std::get_if<std::string>(&locked)) return fail(*message);
  const int lock_fd = std::get<int>(locked);
  try {
    log::setup(config.log_level, config.log_format);
    raise_descriptor_limit(config);
    Daemon daemon(config);
    const int sig = daemon.run();
    REGULARS_LOG(info, "stopping", ({{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}}));
    daemon.stop();
  } catch (const std::exception& e) {
    REGULARS_LOG(err, "fatal", ({{"error", e.what()}}));
    return fail(e.what());
  }
  ::close(lock_fd);
  return 0;
}
