// A library the plugin loads only when a feature needs it (OpenSSL for tls: endpoints and for
// sealing the spool), so ldd of libregulars.so shows libc and libstdc++ alone.
#pragma once

#include <dlfcn.h>

#include <initializer_list>
#include <mutex>
#include <string>
#include <type_traits>

namespace regulars::plugin {

class DynLib {
 public:
  // Loads the first of `sonames` found. A library once loaded stays loaded: unloading OpenSSL
  // is not safe.
  DynLib(std::initializer_list<const char*> sonames, std::string what_for) : what_for_(std::move(what_for)) {
    for (const char* name : sonames) {
      handle_ = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (handle_ != nullptr) break;
    }
    if (handle_ == nullptr)
      failure_ = what_for_ + " needs OpenSSL 3 (" + *sonames.begin() + "), which is not installed: apt-get install libssl3";
  }

  // Points `fn` at the symbol `name`, whose type is that of `fn` (taken from the library's own
  // header); the first missing symbol is remembered as the failure.
  template <class Fn>
  void bind(Fn& fn, const char* name) {
    static_assert(std::is_pointer_v<Fn>);
    fn = handle_ != nullptr ? reinterpret_cast<Fn>(::dlsym(handle_, name)) : nullptr;
    if (fn == nullptr && failure_.empty())
      failure_ = std::string("the installed OpenSSL lacks ") + name + "; OpenSSL 3 is needed: " + what_for_;
  }

  // Empty when the library loaded and every bound symbol was found.
  const std::string& failure() const noexcept { return failure_; }

 private:
  std::string what_for_;
  void* handle_ = nullptr;
  std::string failure_;
};

// The functions of a library, loaded once per process: `fill(lib, api)` binds each member of
// `api` and returns "" or why the library cannot be used. Later calls return the same answer.
template <class Api, class Fill>
const Api* load_once(std::initializer_list<const char*> sonames, const char* what_for, Fill fill, std::string& why) {
  static std::once_flag once;
  static Api api{};
  static const Api* loaded = nullptr;
  static std::string failure;
  std::call_once(once, [&] {
    DynLib lib(sonames, what_for);
    failure = fill(lib, api);
    if (failure.empty()) failure = lib.failure();
    if (failure.empty()) loaded = &api;
  });
  if (loaded == nullptr) why = failure;
  return loaded;
}

}  // namespace regulars::plugin
