#include "dashboard/assets.hpp"

#include <map>
#include <string>

namespace regulars::daemon::dashboard {

namespace {

std::string_view content_type_of(std::string_view name) {
  const std::string_view ext = name.substr(name.rfind('.') + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "json") return "application/json; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  return "application/octet-stream";
}

const std::map<std::string_view, Asset>& table() {
  static const std::map<std::string_view, Asset> assets = [] {
    std::map<std::string_view, Asset> m;
    for (const auto& [name, body] : embedded_assets()) m.emplace(name, Asset{content_type_of(name), body});
    return m;
  }();
  return assets;
}

}  // namespace

const Asset* find_asset(std::string_view name) {
  const auto it = table().find(name);
  return it == table().end() ? nullptr : &it->second;
}

}  // namespace regulars::daemon::dashboard
