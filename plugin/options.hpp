// Client options, parsed strictly from the JSON given to regulars_open.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "wire/error.hpp"

namespace regulars::plugin {

struct Options {
  std::string socket_path = "/var/lib/regulars/regularsd.sock";  // from "endpoint": "unix:PATH"
  std::string spool_dir;                                          // empty: no spool
  std::uint64_t spool_max_bytes = 64ull << 20;
  int budget_ms = 50;
  std::string terminal;
  std::string store;
  std::string cashier;
};

std::variant<Options, wire::Error> parse_options(const char* options_json);

}  // namespace regulars::plugin
