// regularsd's configuration: defaults, the config file (JSON with // comments, every key
// documented in packaging/regularsd.conf), then command-line flags, in that order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "wire/error.hpp"

namespace regulars::daemon {

struct Config {
  std::string data_dir;
  std::string socket_path;        // default: data_dir + "/regularsd.sock"
  unsigned socket_mode = 0660;
  // The tills' group: the socket is given to it, and a peer that is neither regularsd's user,
  // root, nor in this group (primary or supplementary) is refused. Empty: no group check.
  std::string socket_group;
  // Lanes on other machines: TCP with TLS, each terminal with its own token (listen.tls).
  // Port 0: any free port, written to DATA_DIR/tls.endpoint.
  bool tls_enabled = false;
  std::string tls_address = "0.0.0.0";
  int tls_port = 7443;
  std::string tls_cert;  // PEM: the server's certificate (chain)
  std::string tls_key;   // PEM: its private key
  // From accept to an accepted hello, TLS handshake included, for any connection: short, so a
  // peer that never says who it is cannot hold a slot for long.
  int tls_handshake_timeout_s = 3;
  int tls_max_connections = 256;     // TLS sessions at most, apart from limits.max_connections
  // Of those, how many may not yet have presented a valid lane token (the rest are kept for
  // lanes that have), and how many of these may come from one address.
  int tls_max_unauthenticated = 32;
  int tls_max_unauthenticated_per_address = 4;
  int io_threads = 2;
  // How long an I/O thread keeps polling after a request before it sleeps (net/io_pool.hpp).
  int io_spin_us = 150;
  std::uint32_t max_frame_bytes = 1u << 20;
  int max_depth = 32;
  int max_connections = 1024;
  // Socket connections one user may hold (regularsd's own user and root excepted), and the
  // socket connections only they may take.
  int max_connections_per_uid = 64;
  int reserved_for_owner = 8;
  int max_in_flight = 256;        // per connection; reading pauses beyond it
  int idle_timeout_s = 600;       // counted from the last request that is not a ping
  // How far ahead of the daemon's clock an event's time may be. A till with a wrong clock
  // must not date a consent into the future where it outranks everything after it.
  std::int64_t max_future_seconds = 300;
  int group_commit_max = 1024;    // events per transaction at most
  int checkpoint_pages = 32000;   // WAL pages that start a checkpoint under load
  std::string log_level = "info";
  std::string log_format = "json";
  int max_hints = 5;
  int max_predictions = 10;
  std::string default_locale = "en";
  std::string currency;  // ISO 4217 code of the shop's money ("EUR"); empty: amounts without a symbol
  bool personalize_requires_consent = true;
  // What withdrawing "remember" does to the history: "erase" it (default) or "keep" it unused.
  std::string on_remember_withdrawn = "erase";
  // Days an erasure's tombstone (keyed hashes of the identifiers, the erased event ids) is kept.
  int erasure_tombstone_days = 365;
  // When the hints say "ask for feedback now" (see packaging/regularsd.conf, "feedback").
  int feedback_ask_every_days = 30;
  int feedback_sample_percent = 25;
  int feedback_quiet_days_after_complaint = 30;
  // Gesture offers in one hints answer at most (the highest-priority rules that apply).
  int max_offers = 2;
  // Within this many minutes of the daemon's clock, a hints request's own `time` counts for
  // gesture limits and cooldowns; otherwise the daemon's clock does.
  int gestures_max_clock_skew_minutes = 15;
  // Retention: behavioural events older than this many days are pruned (0: kept for ever),
  // checked at start-up and then every retention_check_hours.
  int retention_max_age_days = 0;
  int retention_check_hours = 24;
  // The owner's admin API (HTTP/JSON). Port 0: any free port, written to DATA_DIR/admin.endpoint.
  bool admin_enabled = true;
  std::string admin_address = "127.0.0.1";
  int admin_port = 0;
  // Threads for the owner's work (reports, exports, erasures, dry runs, rebuilds), whether asked
  // by regularsctl or the admin API; they never run on the I/O threads that serve the tills.
  int owner_threads = 2;
  // A chain of stores (daemon/chain, CHAIN.md): this store publishes its events to the chain's
  // PostgreSQL hub and applies the other stores' events. Empty hub: no chain.
  std::string chain_hub;       // a libpq connection string or URI
  std::string chain_store_id;  // this store's name in the chain: unique, [A-Za-z0-9_.-], 1-64
  std::string chain_ca_file;   // PEM: the CA the hub's certificate must chain to (verify-full)
  int chain_poll_ms = 200;     // how often the link looks for work when no notification came
  int chain_roi_every_s = 300;  // how often the store sends its gesture ROI sums to the hub
  std::string chain_time_zone = "UTC";  // IANA: the chain's day, for gesture caps across stores
};

// A store's name in a chain (chain.store_id, and a hub row's origin): 1 to 64 of A-Z a-z 0-9 _ . -
bool is_store_id(std::string_view id) noexcept;

// Applies the file's settings onto `config`. Errors name the key at fault.
std::variant<Config, wire::Error> load_config_file(const std::string& path, Config config);
std::variant<Config, wire::Error> parse_config_text(const std::string& text, Config config);

// Checks the final values (after flags); fills derived defaults.
std::variant<Config, wire::Error> finish_config(Config config);

}  // namespace regulars::daemon
