// regularsd: the customer-memory daemon. Runs in the foreground; stops cleanly on SIGINT/SIGTERM.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <csignal>
#include <cstring>
#include <condition_variable>
#include <future>
#include <iostream>
#include <fstream>
#include <thread>
#include <vector>

#include "base/config.hpp"
#include "hints/hint_engine.hpp"
#include "memory/identity.hpp"
#include "base/log.hpp"
#include "net/admin_routes.hpp"
#include "net/till_server.hpp"
#include "wire/validate.hpp"
#include "store/event_store.hpp"

namespace asio = boost::asio;
using namespace regulars::daemon;

namespace {

int fail(const std::string& message) {
  std::cerr << "regularsd: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
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
  CLI11_PARSE(app, argc, argv);

  Config config;
  if (!config_path.empty()) {
    auto loaded = load_config_file(config_path, config);
    if (auto* e = std::get_if<regulars::wire::Error>(&loaded)) return fail(e->describe());
    config = std::get<Config>(loaded);
  }
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!socket.empty()) config.socket_path = socket;
  if (io_threads > 0) config.io_threads = io_threads;
  if (!log_level.empty()) config.log_level = log_level;
  if (!log_format.empty()) config.log_format = log_format;
  {
    auto finished = finish_config(config);
    if (auto* e = std::get_if<regulars::wire::Error>(&finished)) return fail(e->describe());
    config = std::get<Config>(finished);
  }

  ::umask(0077);  // the store, its WAL and the secret are personal data: owner only
  if (::mkdir(config.data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail("cannot create data directory " + config.data_dir + ": " + std::strerror(errno));
  // One daemon per data directory: the lock is held for the life of the process.
  const std::string lock_path = config.data_dir + "/regularsd.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return fail("cannot open " + lock_path + ": " + std::strerror(errno));
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
    return fail("another regularsd is already using " + config.data_dir);

  try {
    log::setup(config.log_level, config.log_format);
    const IdentityKey key = IdentityKey::load_or_create(config.data_dir);
    Store store(config.data_dir, Store::Options{config.group_commit_max, config.on_remember_withdrawn == "erase", config.checkpoint_pages});
    GestureEngine gestures(store, Catalogue::builtin(), config.personalize_requires_consent);
    gestures.load();
    store.set_customer_listener([&gestures](std::int64_t from, std::int64_t into) { gestures.customer_merged(from, into); });
    // A rebuild or prune renumbers customers: the limits' memory is read again from the offers.
    store.set_rebuild_listener([&gestures] { gestures.load(); });
    HintEngine hints(store, key,
                     HintSettings{config.max_hints, config.max_predictions, config.default_locale,
                                  config.personalize_requires_consent, config.feedback_ask_every_days,
                                  config.feedback_sample_percent, config.feedback_quiet_days_after_complaint,
                                  config.max_offers, config.gestures_max_clock_skew_minutes},
                     &gestures);

    asio::io_context io(config.io_threads);
    // Signals first: once the socket exists a supervisor may stop us at any moment, and a
    // SIGTERM before the handler is in place would kill the daemon without a clean shutdown.
    std::promise<int> stop_signal;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (!ec) stop_signal.set_value(sig);
    });
    std::signal(SIGPIPE, SIG_IGN);

    LaneTokens tokens(store);
    tokens.load();
    const SpoolKey spool_key = SpoolKey::load_or_create(config.data_dir);
    Server server(io, config, store, hints, key, &gestures, &tokens, &spool_key);
    server.start();

    // The owner's admin API (HTTP/JSON, token-protected, localhost by default). Its address is
    // written to DATA_DIR/admin.endpoint, the token lives in DATA_DIR/admin.token.
    std::unique_ptr<AdminHttpServer> admin;
    if (config.admin_enabled) {
      AdminHttpServer::Options o;
      o.address = config.admin_address;
      o.port = static_cast<unsigned short>(config.admin_port);
      o.token_sha256_hex = load_or_create_admin_token(config.data_dir);
      admin = std::make_unique<AdminHttpServer>(io, o, make_admin_handler(store, key, &gestures));
      admin->start();
      const std::string host = config.admin_address.find(':') != std::string::npos ? "[" + config.admin_address + "]"
                                                                                   : config.admin_address;
      const std::string endpoint = "http://" + host + ":" + std::to_string(admin->port());
      const std::string file = config.data_dir + "/admin.endpoint";
      if (!(std::ofstream(file + ".tmp") << endpoint << "\n") || std::rename((file + ".tmp").c_str(), file.c_str()) != 0)
        throw std::runtime_error("cannot write " + file);
    }

    // Retention: at start-up, then every check_every_hours, on a thread of its own (a prune
    // rebuilds the projections on the writer; tills keep being served meanwhile).
    std::mutex retention_mu;
    std::condition_variable retention_cv;
    bool retention_stop = false;
    std::thread retention;
    if (config.retention_max_age_days > 0) {
      retention = std::thread([&] {
        std::unique_lock lock(retention_mu);
        do {
          lock.unlock();
          try {
            const std::int64_t cutoff = regulars::wire::now_ms() - std::int64_t{config.retention_max_age_days} * 86'400'000;
            gestures.flush();  // offers decided a moment ago are in the log before it is replayed
            const auto r = store.prune(cutoff);
            if (r["pruned"].get<std::int64_t>() > 0) store.audit("regularsd", "retention_prune", r["cutoff"].get<std::string>(), r);
          } catch (const std::exception& e) {
            REGULARS_LOG(err, "retention failed", ({{"error", e.what()}}));
          }
          lock.lock();
        } while (!retention_cv.wait_for(lock, std::chrono::hours(config.retention_check_hours), [&] { return retention_stop; }));
      });
    }

    auto work = asio::make_work_guard(io);
    std::vector<std::thread> threads;
    for (int i = 0; i < config.io_threads; ++i) threads.emplace_back([&io] {
        log::name_thread("rg-io");
        io.run();
      });
    REGULARS_LOG(info, "regularsd started", ({{"version", REGULARS_VERSION_STRING},
                                              {"socket", config.socket_path},
                                              {"store", store.path()},
                                              {"io_threads", config.io_threads},
                                              {"pid", ::getpid()}}));

    const int sig = stop_signal.get_future().get();
    REGULARS_LOG(info, "stopping", ({{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}}));
    // Order matters: no new connections; commit and acknowledge what is queued; then close.
    server.stop_accepting();
    if (admin) admin->stop();
    server.wait_for_owner_tasks();  // an erasure, prune or rebuild under way finishes first
    {
      std::lock_guard lock(retention_mu);
      retention_stop = true;
    }
    retention_cv.notify_all();
    if (retention.joinable()) retention.join();
    gestures.stop();  // its last offers go to the store before the store stops
    store.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the last acknowledgements go out
    server.close_all();
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
    REGULARS_LOG(info, "regularsd stopped", ({{"commits", store.commits()}}));
  } catch (const std::exception& e) {
    REGULARS_LOG(err, "fatal", ({{"error", e.what()}}));
    return fail(e.what());
  }
  ::close(lock_fd);
  return 0;
}
