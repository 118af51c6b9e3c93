// The real libregulars.so, loaded with dlopen as a checkout would load it.
#pragma once

#include <regulars/regulars.h>

#include <string>

namespace regulars::test {

struct PluginLibrary {
  // Loads LIBREGULARS_PATH (or `path`) with RTLD_NOW|RTLD_LOCAL; throws if a symbol is missing.
  explicit PluginLibrary(const std::string& path = LIBREGULARS_PATH);
  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  void* handle = nullptr;
  const char* (*version)(void) = nullptr;
  const char* (*strerror)(regulars_status) = nullptr;
  const char* (*last_error)(void) = nullptr;
  regulars_status (*open)(const char*, regulars_client**) = nullptr;
  void (*close)(regulars_client*) = nullptr;
  regulars_status (*hints)(regulars_client*, const char*, char**) = nullptr;
  regulars_status (*record)(regulars_client*, const char*) = nullptr;
  void (*free)(void*) = nullptr;

  // Convenience: hints as a string; status in `status`.
  std::string hints_text(regulars_client* c, const std::string& request, regulars_status& status);
};

}  // namespace regulars::test
