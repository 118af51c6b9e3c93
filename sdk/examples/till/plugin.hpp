// Loads libregulars at run time with dlopen, the way a checkout application would: nothing of
// the plugin is linked in; every regulars_* function is looked up with dlsym. Only the public
// C header is used, for the types.
#pragma once

#include <regulars/regulars.h>

#include <string>
#include <vector>

namespace till {

class Plugin {
 public:
  Plugin() = default;
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // Tries `explicit_path` only when it is not empty; otherwise, in order: the executable's
  // ../lib/libregulars.so.0, the build tree's plugin (compile-time path), then the dynamic
  // linker's search for "libregulars.so.0". On failure returns false and explains every attempt.
  bool load(const std::string& explicit_path, std::string& error);

  const std::string& path() const noexcept { return path_; }

  decltype(&::regulars_version) version = nullptr;
  decltype(&::regulars_strerror) strerror = nullptr;
  decltype(&::regulars_last_error) last_error = nullptr;
  decltype(&::regulars_open) open = nullptr;
  decltype(&::regulars_close) close = nullptr;
  decltype(&::regulars_hints) hints = nullptr;
  decltype(&::regulars_record) record = nullptr;
  decltype(&::regulars_free) free = nullptr;

  // "strerror: last_error" for the status just returned on this thread.
  std::string describe(regulars_status status) const;

 private:
  bool try_path(const std::string& path, std::string& why);

  void* handle_ = nullptr;
  std::string path_;
};

// Candidate paths tried when --plugin is not given, best first.
std::vector<std::string> default_plugin_candidates();

}  // namespace till
