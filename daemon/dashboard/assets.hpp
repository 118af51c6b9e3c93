// The dashboard's files (daemon/dashboard/web/), built into the binary by embed_assets.cmake so
// that regularsd needs no path and no network to serve them.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

namespace regulars::daemon::dashboard {

struct Asset {
  std::string_view content_type;
  std::string_view body;
};

// The file at `name` under web/ ("today.html", "texts/en.json"), or null. Only names of files
// that were there at build time are found; nothing is read from the disk.
const Asset* find_asset(std::string_view name);

// (name under web/, content) for every file, from the generated embedded_assets.cpp.
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_assets();

}  // namespace regulars::daemon::dashboard
