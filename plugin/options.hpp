// Client options, parsed strictly from the JSON given to regulars_open.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "wire/error.hpp"

namespace regulars::plugin {

struct Options {
  std::string socket_path = "/var/lib/regulars/regularsd.sock";  // from "endpoint": "unix:PATH"
  // "endpoint": "tls:HOST:PORT" (a lane on another machine): TCP with TLS, the store's CA in
  // ca_file, the lane's own token, and the name the server's certificate must carry
  // (server_name, default HOST).
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string ca_file;
  std::string token;
  std::string server_name;
  std::string spool_dir;                                          // empty: no spool
  std::uint64_t spool_max_bytes = 64ull << 20;
  int budget_ms = 50;
  int wait_spin_us = 0;  // how long a call polls for its answer before it sleeps
  std::string terminal;
  std::string store;
  std::string cashier;
};

std::variant<Options, wire::Error> parse_options(const char* options_json);

}  // namespace regulars::plugin
