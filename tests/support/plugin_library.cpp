#include "plugin_library.hpp"

#include <dlfcn.h>

#include <stdexcept>

namespace regulars::test {

namespace {
template <typename F>
void bind(void* handle, const char* name, F& out) {
  void* sym = ::dlsym(handle, name);
  if (sym == nullptr) throw std::runtime_error(std::string("libregulars lacks ") + name);
  out = reinterpret_cast<F>(sym);
}
}  // namespace

PluginLibrary::PluginLibrary(const std::string& path) {
  handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error(std::string("dlopen failed: ") + ::dlerror());
  bind(handle, "regulars_version", version);
  bind(handle, "regulars_strerror", strerror);
  bind(handle, "regulars_last_error", last_error);
  bind(handle, "regulars_open", open);
  bind(handle, "regulars_close", close);
  bind(handle, "regulars_hints", hints);
  bind(handle, "regulars_record", record);
  bind(handle, "regulars_free", free);
}

PluginLibrary::~PluginLibrary() {
  if (handle != nullptr) ::dlclose(handle);
}

std::string PluginLibrary::hints_text(regulars_client* c, const std::string& request, regulars_status& status) {
  char* out = nullptr;
  status = hints(c, request.c_str(), &out);
  std::string s = out != nullptr ? std::string(out) : std::string();
  free(out);
  return s;
}

}  // namespace regulars::test
