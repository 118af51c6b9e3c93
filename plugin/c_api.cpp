// The C ABI: thin wrappers that check handles, convert exceptions into statuses and keep the
// last error message per thread. No exception leaves this file.
#include <pthread.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "client.hpp"
#include "regulars/regulars.h"

struct regulars_client {
  static constexpr std::uint32_t kMagic = 0x52474C52;  // "RGLR"
  std::uint32_t magic = kMagic;
  regulars::plugin::Client* rep = nullptr;
};

namespace {

// The calling thread's last error message, under a pthread key rather than thread_local: the
// library then has no TLS block of its own, which a host that dlopens it must otherwise place in
// dynamic TLS. Tools mishandle that block: LeakSanitizer's exit-time scan of it crashed the host.
class LastError {
 public:
  LastError() { ready_ = ::pthread_key_create(&key_, [](void* s) { delete static_cast<std::string*>(s); }) == 0; }
  // Unloading the library must not leave a destructor pointing into unmapped code.
  ~LastError() {
    if (ready_) ::pthread_key_delete(key_);
  }
  void set(std::string message) noexcept {
    try {
      std::string* s = mine(true);
      if (s != nullptr) *s = std::move(message);
    } catch (...) {  // out of memory: no message, the status still says what failed
    }
  }
  void clear() noexcept {
    if (std::string* s = mine(false)) s->clear();
  }
  const char* text() noexcept {
    const std::string* s = mine(false);
    return s != nullptr ? s->c_str() : "";
  }

 private:
  std::string* mine(bool create) {
    if (!ready_) return nullptr;
    auto* s = static_cast<std::string*>(::pthread_getspecific(key_));
    if (s == nullptr && create) {
      auto made = std::make_unique<std::string>();
      if (::pthread_setspecific(key_, made.get()) != 0) return nullptr;
      s = made.release();
    }
    return s;
  }
  pthread_key_t key_{};
  bool ready_ = false;
};
LastError last_error;

regulars_status fail(regulars_status status, std::string message) noexcept {
  last_error.set(std::move(message));
  return status;
}

bool valid(const regulars_client* c) noexcept { return c != nullptr && c->magic == regulars_client::kMagic; }

char* copy_out(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

}  // namespace

#define REGULARS_GUARD_BEGIN try {
#define REGULARS_GUARD_END                                                  \
  }                                                                         \
  catch (const std::bad_alloc&) {                                           \
    return fail(REGULARS_INTERNAL, "out of memory");                        \
  }                                                                         \
  catch (const std::exception& e) {                                         \
    return fail(REGULARS_INTERNAL, std::string("internal error: ") + e.what()); \
  }                                                                         \
  catch (...) {                                                             \
    return fail(REGULARS_INTERNAL, "internal error");                       \
  }

extern "C" {

const char* REGULARS_CALL regulars_version(void) { return REGULARS_VERSION_STRING; }

const char* REGULARS_CALL regulars_strerror(regulars_status status) {
  switch (status) {
    case REGULARS_OK: return "ok";
    case REGULARS_INVALID_INPUT: return "invalid input";
    case REGULARS_UNAVAILABLE: return "regularsd unavailable";
    case REGULARS_TIMEOUT: return "time budget exceeded";
    case REGULARS_NOT_FOUND: return "not found";
    case REGULARS_DENIED: return "denied";
    case REGULARS_SPOOL_FULL: return "spool full";
    case REGULARS_INTERNAL: return "internal error";
    case REGULARS_INVALID_ARGUMENT: return "invalid argument";
    case REGULARS_PROTOCOL: return "protocol error";
    case REGULARS_IO: return "spool i/o error";
  }
  return "unknown status";
}

const char* REGULARS_CALL regulars_last_error(void) { return last_error.text(); }

regulars_status REGULARS_CALL regulars_open(const char* options_json, regulars_client** out) {
  if (out == nullptr) return fail(REGULARS_INVALID_ARGUMENT, "out must not be NULL");
  *out = nullptr;
  REGULARS_GUARD_BEGIN
  auto parsed = regulars::plugin::parse_options(options_json);
  if (auto* err = std::get_if<regulars::wire::Error>(&parsed)) return fail(REGULARS_INVALID_INPUT, err->describe());
  regulars::plugin::Client* rep = nullptr;
  try {
    rep = new regulars::plugin::Client(std::move(std::get<regulars::plugin::Options>(parsed)));
  } catch (const std::system_error& e) {
    return fail(REGULARS_IO, e.what());
  } catch (const std::invalid_argument& e) {  // a tls: endpoint whose CA or OpenSSL cannot be used
    return fail(REGULARS_INVALID_INPUT, e.what());
  }
  auto* c = new (std::nothrow) regulars_client;
  if (c == nullptr) {
    delete rep;
    return fail(REGULARS_INTERNAL, "out of memory");
  }
  c->rep = rep;
  *out = c;
  last_error.clear();
  return REGULARS_OK;
  REGULARS_GUARD_END
}

void REGULARS_CALL regulars_close(regulars_client* client) {
  if (!valid(client)) return;
  client->magic = 0;
  try {
    delete client->rep;
  } catch (...) {  // destructors do not throw; this only keeps the promise of convention 7
  }
  delete client;
}

regulars_status REGULARS_CALL regulars_hints(regulars_client* client, const char* request_json, char** response_json) {
  if (response_json != nullptr) *response_json = nullptr;
  if (!valid(client)) return fail(REGULARS_INVALID_ARGUMENT, "client is NULL or not an open regulars_client");
  if (request_json == nullptr || response_json == nullptr)
    return fail(REGULARS_INVALID_ARGUMENT, "request_json and response_json must not be NULL");
  REGULARS_GUARD_BEGIN
  std::string response, why;
  const regulars_status s = client->rep->hints(request_json, response, why);
  if (s != REGULARS_OK) return fail(s, why);
  *response_json = copy_out(response);
  last_error.clear();
  return REGULARS_OK;
  REGULARS_GUARD_END
}

regulars_status REGULARS_CALL regulars_record(regulars_client* client, const char* event_json) {
  if (!valid(client)) return fail(REGULARS_INVALID_ARGUMENT, "client is NULL or not an open regulars_client");
  if (event_json == nullptr) return fail(REGULARS_INVALID_ARGUMENT, "event_json must not be NULL");
  REGULARS_GUARD_BEGIN
  std::string why;
  const regulars_status s = client->rep->record(event_json, why);
  if (s != REGULARS_OK) return fail(s, why);
  last_error.clear();
  return REGULARS_OK;
  REGULARS_GUARD_END
}

void REGULARS_CALL regulars_free(void* p) { std::free(p); }

}  // extern "C"
