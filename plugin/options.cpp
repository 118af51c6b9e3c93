#include "options.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "wire/json_text.hpp"

namespace regulars::plugin {
namespace {
wire::Error bad(std::string field, std::string message) {
  return wire::Error{wire::ErrorCode::invalid_request, "options." + std::move(field), std::move(message)};
}
}  // namespace

std::variant<Options, wire::Error> parse_options(const char* options_json) {
  Options opts;
  if (options_json == nullptr || *options_json == '\0') return opts;
  auto parsed = wire::parse_json(options_json, 8);
  if (auto* err = std::get_if<wire::Error>(&parsed)) return *err;
  const auto& j = std::get<nlohmann::json>(parsed);
  if (!j.is_object()) return bad("", "options must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key == "endpoint") {
      if (!value.is_string()) return bad(key, "must be a string such as \"unix:/var/lib/regulars/regularsd.sock\"");
      const auto& s = value.get_ref<const std::string&>();
      if (s.rfind("unix:", 0) != 0 || s.size() <= 5)
        return bad(key, "must start with unix: followed by the daemon's socket path");
      opts.socket_path = s.substr(5);
      if (opts.socket_path.size() >= 108) return bad(key, "socket path is longer than 107 bytes");
    } else if (key == "spool_dir") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty())
        return bad(key, "must be a non-empty directory path");
      opts.spool_dir = value.get<std::string>();
    } else if (key == "spool_max_bytes") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 4096)
        return bad(key, "must be a whole number of bytes, at least 4096");
      opts.spool_max_bytes = value.get<std::uint64_t>();
    } else if (key == "budget_ms") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1 || value.get<std::int64_t>() > 10000)
        return bad(key, "must be a whole number of milliseconds from 1 to 10000");
      opts.budget_ms = value.get<int>();
    } else if (key == "terminal" || key == "store" || key == "cashier") {
      const bool ok = value.is_string() && !value.get_ref<const std::string&>().empty() &&
                      value.get_ref<const std::string&>().size() <= 64;
      if (!ok) return bad(key, "must be a string of 1 to 64 characters");
      (key == "terminal" ? opts.terminal : key == "store" ? opts.store : opts.cashier) = value.get<std::string>();
    } else {
      return bad(key, "is not a known option (endpoint, spool_dir, spool_max_bytes, budget_ms, terminal, store, cashier)");
    }
  }
  return opts;
}

}  // namespace regulars::plugin
