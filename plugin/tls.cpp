#include "tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "dynlib.hpp"

namespace regulars::plugin::tls {

// The OpenSSL functions used here, typed from OpenSSL's own headers (only the headers are used
// at build time; the library is found at run time). Macros such as SSL_set_tlsext_host_name
// expand to SSL_ctrl, so that is what is loaded.
struct Api {
  decltype(&::OPENSSL_init_ssl) init_ssl;
  decltype(&::TLS_client_method) client_method;
  decltype(&::SSL_CTX_new) ctx_new;
  decltype(&::SSL_CTX_free) ctx_free;
  decltype(&::SSL_CTX_ctrl) ctx_ctrl;
  decltype(&::SSL_CTX_set_options) ctx_set_options;
  decltype(&::SSL_CTX_set_verify) ctx_set_verify;
  decltype(&::SSL_CTX_load_verify_locations) ctx_load_verify_locations;
  decltype(&::SSL_new) ssl_new;
  decltype(&::SSL_free) ssl_free;
  decltype(&::SSL_set_fd) set_fd;
  decltype(&::SSL_ctrl) ctrl;
  decltype(&::SSL_get0_param) get0_param;
  decltype(&::X509_VERIFY_PARAM_set1_host) param_set1_host;
  decltype(&::X509_VERIFY_PARAM_set1_ip_asc) param_set1_ip_asc;
  decltype(&::SSL_connect) connect;
  decltype(&::SSL_read) read;
  decltype(&::SSL_write) write;
  decltype(&::SSL_get_error) get_error;
  decltype(&::SSL_shutdown) shutdown;
  decltype(&::SSL_get_verify_result) get_verify_result;
  decltype(&::X509_verify_cert_error_string) verify_error_string;
  decltype(&::ERR_get_error) err_get;
  decltype(&::ERR_clear_error) err_clear;
  decltype(&::ERR_error_string_n) err_string;
};

namespace {

const Api* load_api(std::string& why) {
  auto fill = [](DynLib& lib, Api& api) {
    auto get = [&](auto& fn, const char* name) { lib.bind(fn, name); };
    get(api.init_ssl, "OPENSSL_init_ssl");
    get(api.client_method, "TLS_client_method");
    get(api.ctx_new, "SSL_CTX_new");
    get(api.ctx_free, "SSL_CTX_free");
    get(api.ctx_ctrl, "SSL_CTX_ctrl");
    get(api.ctx_set_options, "SSL_CTX_set_options");
    get(api.ctx_set_verify, "SSL_CTX_set_verify");
    get(api.ctx_load_verify_locations, "SSL_CTX_load_verify_locations");
    get(api.ssl_new, "SSL_new");
    get(api.ssl_free, "SSL_free");
    get(api.set_fd, "SSL_set_fd");
    get(api.ctrl, "SSL_ctrl");
    get(api.get0_param, "SSL_get0_param");
    get(api.param_set1_host, "X509_VERIFY_PARAM_set1_host");
    get(api.param_set1_ip_asc, "X509_VERIFY_PARAM_set1_ip_asc");
    get(api.connect, "SSL_connect");
    get(api.read, "SSL_read");
    get(api.write, "SSL_write");
    get(api.get_error, "SSL_get_error");
    get(api.shutdown, "SSL_shutdown");
    get(api.get_verify_result, "SSL_get_verify_result");
    get(api.verify_error_string, "X509_verify_cert_error_string");
    get(api.err_get, "ERR_get_error");
    get(api.err_clear, "ERR_clear_error");
    get(api.err_string, "ERR_error_string_n");
    if (!lib.failure().empty()) return lib.failure();
    return api.init_ssl(0, nullptr) == 1 ? std::string() : std::string("OpenSSL could not be initialised");
  };
  return load_once<Api>({"libssl.so.3", "libssl.so"}, "a tls: endpoint", fill, why);
}

// OpenSSL's error queue (per thread) as one line, emptied.
std::string drain_errors(const Api* api) {
  std::string out;
  for (unsigned long e = api->err_get(); e != 0; e = api->err_get()) {
    char buf[256];
    api->err_string(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// OpenSSL writes to the socket with write(), which raises SIGPIPE when the daemon has gone:
// that would kill the checkout. While OpenSSL works, SIGPIPE is blocked on this thread, and one
// it raised is taken back before the mask is restored (as PostgreSQL's libpq does).
class NoSigpipe {
 public:
  NoSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    if (!was_pending_) ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~NoSigpipe() {
    if (was_pending_) return;  // someone else's SIGPIPE: leave it alone
    const int saved = errno;
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{0, 0};
      while (::sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    errno = saved;
  }
  NoSigpipe(const NoSigpipe&) = delete;
  NoSigpipe& operator=(const NoSigpipe&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

}  // namespace

std::shared_ptr<Context> Context::create(const std::string& ca_file, std::string& why) {
  const Api* api = load_api(why);
  if (api == nullptr) return nullptr;
  api->err_clear();
  SSL_CTX* ctx = api->ctx_new(api->client_method());
  if (ctx == nullptr) {
    why = "cannot create a TLS context: " + drain_errors(api);
    return nullptr;
  }
  api->ctx_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, nullptr);
  // regularsd closes a lane's socket without a close_notify (revocation, idle timeout,
  // shutdown): that is an end of stream, not a TLS error. The frames carry their own lengths,
  // so a truncation is still seen as one.
  api->ctx_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  api->ctx_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (api->ctx_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    why = "options.ca_file: cannot use " + ca_file + " as the store's CA certificate (" + drain_errors(api) +
          "); give the PEM file made with the daemon's certificate";
    api->ctx_free(ctx);
    return nullptr;
  }
  return std::shared_ptr<Context>(new Context(api, ctx));
}

Context::~Context() { api_->ctx_free(static_cast<SSL_CTX*>(ctx_)); }

std::unique_ptr<Channel> Channel::connect(std::shared_ptr<Context> context, net::Socket fd, const std::string& server_name,
                                          Deadline deadline, std::string& why) {
  const Api* api = context->api_;
  api->err_clear();
  SSL* ssl = api->ssl_new(static_cast<SSL_CTX*>(context->ctx_));
  if (ssl == nullptr) {
    why = "cannot create a TLS connection: " + drain_errors(api);
    return nullptr;
  }
  std::unique_ptr<Channel> channel(new Channel(std::move(context), ssl));
  api->set_fd(ssl, fd);
  // The certificate must name the server: as an IP address when the endpoint gives one.
  X509_VERIFY_PARAM* param = api->get0_param(ssl);
  in6_addr scratch{};
  const bool is_ip = ::inet_pton(AF_INET, server_name.c_str(), &scratch) == 1 ||
                     ::inet_pton(AF_INET6, server_name.c_str(), &scratch) == 1;
  if (is_ip ? api->param_set1_ip_asc(param, server_name.c_str()) != 1
            : (api->param_set1_host(param, server_name.c_str(), server_name.size()) != 1 ||
               api->ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(server_name.c_str())) != 1)) {
    why = "cannot check the server's name '" + server_name + "': " + drain_errors(api);
    return nullptr;
  }
  for (;;) {
    int ret = 0;
    {
      NoSigpipe guard;
      ret = api->connect(ssl);
    }
    if (ret == 1) return channel;
    const int err = api->get_error(ssl, ret);
    net::Want want = net::Want::nothing;
    if (err == SSL_ERROR_WANT_READ) want = net::Want::read;
    else if (err == SSL_ERROR_WANT_WRITE) want = net::Want::write;
    if (want == net::Want::nothing) {
      const long verify = api->get_verify_result(ssl);
      const std::string errors = drain_errors(api);
      if (verify != X509_V_OK)
        why = "the server's certificate was refused: " + std::string(api->verify_error_string(verify)) +
              " (is options.ca_file the store's CA, and does the certificate name " + server_name + "?)";
      else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
        why = "the server closed the connection during the TLS handshake (is it a regularsd TLS port?)";
      else
        why = "TLS handshake failed: " + (errors.empty() ? std::string("unknown error") : errors);
      return nullptr;
    }
    const int pr = net::wait_until_ready(fd, want, millis_left(deadline));
    if (pr == 0) {
      why = "the TLS handshake did not finish within the time budget";
      return nullptr;
    }
    if (pr < 0) {
      why = std::string("waiting for the socket failed during the TLS handshake: ") + std::strerror(errno);
      return nullptr;
    }
  }
}

Channel::~Channel() {
  const Api* api = context_->api_;
  std::lock_guard lock(mu_);
  api->ssl_free(static_cast<SSL*>(ssl_));  // no close_notify: the socket is being shut down anyway
}

Channel::Io Channel::classify(int ret) {
  const Api* api = context_->api_;
  switch (api->get_error(static_cast<SSL*>(ssl_), ret)) {
    case SSL_ERROR_WANT_READ: return Io::want_read;
    case SSL_ERROR_WANT_WRITE: return Io::want_write;
    case SSL_ERROR_ZERO_RETURN: return Io::closed;
    case SSL_ERROR_SYSCALL:
      if (errno == 0 || errno == ECONNRESET || errno == EPIPE) return Io::closed;
      error_ = std::string("socket error: ") + std::strerror(errno);
      api->err_clear();
      return Io::failed;
    default:
      error_ = "TLS error: " + drain_errors(api);
      return Io::failed;
  }
}

Channel::Io Channel::read(char* buf, std::size_t cap, std::size_t& n) {
  const Api* api = context_->api_;
  std::lock_guard lock(mu_);
  api->err_clear();
  errno = 0;
  NoSigpipe guard;  // reading may send (an alert, a key update)
  const int ret = api->read(static_cast<SSL*>(ssl_), buf, static_cast<int>(std::min<std::size_t>(cap, INT_MAX)));
  if (ret > 0) {
    n = static_cast<std::size_t>(ret);
    return Io::ok;
  }
  return classify(ret);
}

Channel::Io Channel::write(const char* buf, std::size_t len, std::size_t& n) {
  const Api* api = context_->api_;
  std::lock_guard lock(mu_);
  api->err_clear();
  errno = 0;
  NoSigpipe guard;
  const int ret = api->write(static_cast<SSL*>(ssl_), buf, static_cast<int>(std::min<std::size_t>(len, INT_MAX)));
  if (ret > 0) {
    n = static_cast<std::size_t>(ret);
    return Io::ok;
  }
  return classify(ret);
}

std::string Channel::last_error() {
  std::lock_guard lock(mu_);
  return error_;
}

}  // namespace regulars::plugin::tls
