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
      if (s.rfind("tls:", 0) == 0) {
        // tls:HOST:PORT, or tls:[IPv6]:PORT
        const std::string rest = s.substr(4);
        const auto colon = rest.rfind(':');
        std::string host = colon == std::string::npos ? "" : rest.substr(0, colon);
        const std::string port = colon == std::string::npos ? "" : rest.substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        int p = 0;
        bool port_ok = !port.empty() && port.size() <= 5;
        for (char c : port) {
          port_ok = port_ok && c >= '0' && c <= '9';
          if (port_ok) p = p * 10 + (c - '0');
        }
        if (host.empty() || host.size() > 253 || !port_ok || p < 1 || p > 65535)
          return bad(key, "a TLS endpoint is tls:HOST:PORT, such as tls:192.168.1.10:7443");
        opts.tls = true;
        opts.host = host;
        opts.port = static_cast<std::uint16_t>(p);
        continue;
      }
      if (s.rfind("unix:", 0) != 0 || s.size() <= 5)
        return bad(key, "must be unix: followed by the daemon's socket path, or tls:HOST:PORT for a daemon on another machine");
      opts.tls = false;
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
    } else if (key == "wait_spin_us") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > 5000)
        return bad(key, "must be a whole number of microseconds from 0 to 5000");
      opts.wait_spin_us = value.get<int>();
    } else if (key == "terminal" || key == "store" || key == "cashier") {
      const bool ok = value.is_string() && !value.get_ref<const std::string&>().empty() &&
                      value.get_ref<const std::string&>().size() <= 64;
      if (!ok) return bad(key, "must be a string of 1 to 64 characters");
      (key == "terminal" ? opts.terminal : key == "store" ? opts.store : opts.cashier) = value.get<std::string>();
    } else if (key == "ca_file" || key == "token" || key == "server_name") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty() || value.get_ref<const std::string&>().size() > 4096)
        return bad(key, "must be a non-empty string");
      (key == "ca_file" ? opts.ca_file : key == "token" ? opts.token : opts.server_name) = value.get<std::string>();
    } else {
      return bad(key, "is not a known option (endpoint, spool_dir, spool_max_bytes, budget_ms, wait_spin_us, terminal, "
                      "store, cashier, ca_file, token, server_name)");
    }
  }
  if (opts.tls) {
    if (opts.ca_file.empty())
      return bad("ca_file", "is required with a tls: endpoint: the store's CA certificate (PEM), to check the daemon is the store's");
    if (opts.token.empty())
      return bad("token", "is required with a tls: endpoint: this lane's token, from regularsctl tokens issue --terminal NAME");
    if (opts.server_name.empty()) opts.server_name = opts.host;
  } else if (!opts.ca_file.empty() || !opts.token.empty() || !opts.server_name.empty()) {
    return bad(!opts.ca_file.empty() ? "ca_file" : !opts.token.empty() ? "token" : "server_name",
               "applies to tls: endpoints only; over the Unix socket the daemon checks the process's user instead");
  }
  return opts;
}

}  // namespace regulars::plugin
