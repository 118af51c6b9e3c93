#include "plugin.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>

namespace till {
namespace {

// dlsym returns an object pointer; POSIX guarantees it converts to the function's type.
template <typename Fn>
bool resolve(void* handle, const char* name, Fn& out, std::string& why) {
  ::dlerror();
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) {
    const char* e = ::dlerror();
    why = std::string("missing symbol ") + name + (e != nullptr ? std::string(": ") + e : std::string());
    return false;
  }
  out = reinterpret_cast<Fn>(symbol);
  return true;
}

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string path(buf, static_cast<std::size_t>(n));
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace

std::vector<std::string> default_plugin_candidates() {
  std::vector<std::string> out;
  if (const std::string dir = executable_dir(); !dir.empty()) {
    out.push_back(dir + "/../lib/libregulars.so.0");
#ifdef REGULARS_TILL_LIBDIR  // the install's libdir when it is not plain "lib" (e.g. lib/x86_64-linux-gnu)
    if (std::string(REGULARS_TILL_LIBDIR) != "lib") out.push_back(dir + "/../" REGULARS_TILL_LIBDIR "/libregulars.so.0");
#endif
  }
#ifdef REGULARS_TILL_BUILD_PLUGIN
  out.emplace_back(REGULARS_TILL_BUILD_PLUGIN);
#endif
  out.emplace_back("libregulars.so.0");
  return out;
}

Plugin::~Plugin() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

bool Plugin::try_path(const std::string& path, std::string& why) {
  // A path with a slash that does not exist is skipped quietly; the reason is still reported.
  if (path.find('/') != std::string::npos && ::access(path.c_str(), F_OK) != 0) {
    why = "not found";
    return false;
  }
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = ::dlerror();
    why = e != nullptr ? e : "dlopen failed";
    return false;
  }
  const bool ok = resolve(handle, "regulars_version", version, why) &&
                  resolve(handle, "regulars_strerror", strerror, why) &&
                  resolve(handle, "regulars_last_error", last_error, why) &&
                  resolve(handle, "regulars_open", open, why) && resolve(handle, "regulars_close", close, why) &&
                  resolve(handle, "regulars_hints", hints, why) && resolve(handle, "regulars_record", record, why) &&
                  resolve(handle, "regulars_free", free, why);
  if (!ok) {
    ::dlclose(handle);
    return false;
  }
  handle_ = handle;
  path_ = path;
  return true;
}

bool Plugin::load(const std::string& explicit_path, std::string& error) {
  const std::vector<std::string> candidates =
      explicit_path.empty() ? default_plugin_candidates() : std::vector<std::string>{explicit_path};
  error.clear();
  for (const auto& candidate : candidates) {
    std::string why;
    if (try_path(candidate, why)) return true;
    error += "\n  " + candidate + ": " + why;
  }
  error = "cannot load the Regulars plugin (give its path with --plugin):" + error;
  return false;
}

std::string Plugin::describe(regulars_status status) const {
  // Copy the detail first: it is only valid until the next regulars_* call on this thread.
  const char* raw = last_error();
  const std::string detail = raw != nullptr ? raw : "";
  std::string out = strerror(status);
  if (!detail.empty()) out += ": " + detail;
  return out;
}

}  // namespace till
