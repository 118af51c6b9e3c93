// TLS on Windows through the system's Schannel (SSPI), so a Windows till ships no OpenSSL.
//
// The server is checked by hand (SCH_CRED_MANUAL_CRED_VALIDATION) against the store's CA from
// ca_file, as the Linux build checks it: the server's certificate must be signed by that CA's key,
// be within its validity, and name the server (DNS name or IP address in subjectAltName). The
// store's certificate is issued straight by its CA (packaging/make-tls.sh), so no chain engine is
// needed, and Wine, which lacks a custom chain engine, checks it the same way.
#include "tls.hpp"

#include "platform/cert_signature_win.hpp"
#include "platform/files.hpp"

// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#define SECURITY_WIN32
#include <security.h>
#include <schannel.h>
#include <sspi.h>
#include <wincrypt.h>
// clang-format on

#include <algorithm>
#include <cstring>
#include <vector>

namespace regulars::plugin::tls {

struct Api {};  // Schannel is a system library: nothing is loaded by hand

namespace {

constexpr std::size_t kMaxRecord = 16 * 1024 + 2048;  // one TLS record, with room for its header and MAC

struct CaCertificate {
  PCCERT_CONTEXT cert = nullptr;
  CredHandle credentials{};
  ~CaCertificate() {
    ::FreeCredentialsHandle(&credentials);
    if (cert != nullptr) ::CertFreeCertificateContext(cert);
  }
};

struct Session {
  net::Socket socket = net::kNoSocket;
  CtxtHandle context{};
  bool has_context = false;
  SecPkgContext_StreamSizes sizes{};
  std::string incoming;   // ciphertext read and not yet decrypted
  std::string plaintext;  // decrypted and not yet handed out
  std::string outgoing;   // one encrypted record not yet fully sent
  std::size_t outgoing_plain = 0;  // the plaintext bytes it carries
  ~Session() {
    if (has_context) ::DeleteSecurityContext(&context);
  }
};

std::string status_text(SECURITY_STATUS s) {
  char text[256] = {};
  const DWORD n = ::FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, static_cast<DWORD>(s), 0, text,
                                   sizeof text, nullptr);
  std::string out(text, n);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '.')) out.pop_back();
  char code[16];
  std::snprintf(code, sizeof code, "0x%08lx", static_cast<unsigned long>(s));
  return (out.empty() ? std::string("Schannel error") : out) + " (" + code + ")";
}

// The first certificate of a PEM file, or nullptr.
PCCERT_CONTEXT read_pem_certificate(const std::string& path, std::string& why) {
  std::string pem;
  if (!files::read_small_file(path, pem)) {
    why = "cannot read it";
    return nullptr;
  }
  DWORD der_size = 0;
  if (!::CryptStringToBinaryA(pem.c_str(), static_cast<DWORD>(pem.size()), CRYPT_STRING_BASE64HEADER, nullptr, &der_size, nullptr,
                              nullptr)) {
    why = "it holds no PEM certificate";
    return nullptr;
  }
  std::vector<BYTE> der(der_size);
  ::CryptStringToBinaryA(pem.c_str(), static_cast<DWORD>(pem.size()), CRYPT_STRING_BASE64HEADER, der.data(), &der_size, nullptr, nullptr);
  PCCERT_CONTEXT cert = ::CertCreateCertificateContext(X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, der.data(), der_size);
  if (cert == nullptr) why = "its certificate cannot be decoded";
  return cert;
}

// The sends of a handshake token, whole, within the deadline.
bool send_all(net::Socket s, const char* data, std::size_t len, Deadline deadline, std::string& why) {
  std::size_t off = 0;
  while (off < len) {
    std::size_t n = 0;
    switch (net::send_some(s, data + off, len - off, n, why)) {
      case net::Io::ok: off += n; continue;
      case net::Io::would_block:
        if (net::wait_until_ready(s, net::Want::write, millis_left(deadline)) <= 0 && millis_left(deadline) <= 0) {
          why = "the TLS handshake did not finish within the time budget";
          return false;
        }
        continue;
      case net::Io::closed: why = "the server closed the connection during the TLS handshake (is it a regularsd TLS port?)"; return false;
      case net::Io::failed: return false;
    }
  }
  return true;
}

// More handshake bytes from the server, waiting until the deadline.
bool receive_more(net::Socket s, std::string& into, Deadline deadline, std::string& why) {
  char buf[8192];
  for (;;) {
    std::size_t n = 0;
    switch (net::recv_some(s, buf, sizeof buf, n, why)) {
      case net::Io::ok:
        if (n == 0) continue;
        into.append(buf, n);
        return true;
      case net::Io::would_block:
        if (millis_left(deadline) <= 0) {
          why = "the TLS handshake did not finish within the time budget";
          return false;
        }
        net::wait_until_ready(s, net::Want::read, millis_left(deadline));
        continue;
      case net::Io::closed: why = "the server closed the connection during the TLS handshake (is it a regularsd TLS port?)"; return false;
      case net::Io::failed: return false;
    }
  }
}

bool is_ip_address(const std::string& name, std::vector<BYTE>& bytes) {
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, name.c_str(), &v4) == 1) {
    bytes.assign(reinterpret_cast<BYTE*>(&v4), reinterpret_cast<BYTE*>(&v4) + sizeof v4);
    return true;
  }
  if (::inet_pton(AF_INET6, name.c_str(), &v6) == 1) {
    bytes.assign(reinterpret_cast<BYTE*>(&v6), reinterpret_cast<BYTE*>(&v6) + sizeof v6);
    return true;
  }
  return false;
}

bool same_dns_name(const wchar_t* in_cert, const std::string& name) {
  std::string ascii;
  for (const wchar_t* p = in_cert; *p != 0; ++p) {
    if (*p > 0x7f) return false;
    ascii.push_back(static_cast<char>(*p >= L'A' && *p <= L'Z' ? *p + 32 : *p));
  }
  std::string wanted = name;
  std::transform(wanted.begin(), wanted.end(), wanted.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return ascii == wanted;
}

// Whether the certificate's subjectAltName holds `server_name`.
bool names_server(PCCERT_CONTEXT cert, const std::string& server_name) {
  const CERT_EXTENSION* ext =
      ::CertFindExtension(szOID_SUBJECT_ALT_NAME2, cert->pCertInfo->cExtension, cert->pCertInfo->rgExtension);
  if (ext == nullptr) return false;
  CERT_ALT_NAME_INFO* names = nullptr;
  DWORD size = 0;
  if (!::CryptDecodeObjectEx(X509_ASN_ENCODING, X509_ALTERNATE_NAME, ext->Value.pbData, ext->Value.cbData, CRYPT_DECODE_ALLOC_FLAG,
                             nullptr, &names, &size))
    return false;
  std::vector<BYTE> ip;
  const bool want_ip = is_ip_address(server_name, ip);
  bool found = false;
  for (DWORD i = 0; i < names->cAltEntry && !found; ++i) {
    const CERT_ALT_NAME_ENTRY& e = names->rgAltEntry[i];
    if (want_ip && e.dwAltNameChoice == CERT_ALT_NAME_IP_ADDRESS)
      found = e.IPAddress.cbData == ip.size() && std::memcmp(e.IPAddress.pbData, ip.data(), ip.size()) == 0;
    else if (!want_ip && e.dwAltNameChoice == CERT_ALT_NAME_DNS_NAME)
      found = same_dns_name(e.pwszDNSName, server_name);
  }
  ::LocalFree(names);
  return found;
}

// The server's certificate against the store's CA: signed by it, in date, naming the server.
bool check_server(const Session& session, PCCERT_CONTEXT ca, const std::string& server_name, std::string& why) {
  PCCERT_CONTEXT server = nullptr;
  if (::QueryContextAttributesA(const_cast<CtxtHandle*>(&session.context), SECPKG_ATTR_REMOTE_CERT_CONTEXT, &server) != SEC_E_OK ||
      server == nullptr) {
    why = "the server sent no certificate";
    return false;
  }
  const std::string hint = " (is options.ca_file the store's CA, and does the certificate name " + server_name + "?)";
  bool ok = true;
  if (!::CertCompareCertificateName(X509_ASN_ENCODING, &server->pCertInfo->Issuer, &ca->pCertInfo->Subject) ||
      !signed_by(server, ca)) {
    why = "the server's certificate was refused: it is not signed by the store's CA" + hint;
    ok = false;
  } else if (::CertVerifyTimeValidity(nullptr, server->pCertInfo) != 0 || ::CertVerifyTimeValidity(nullptr, ca->pCertInfo) != 0) {
    why = "the server's certificate was refused: it, or the store's CA, is expired or not yet valid" + hint;
    ok = false;
  } else if (!names_server(server, server_name)) {
    why = "the server's certificate was refused: it does not name " + server_name + hint;
    ok = false;
  }
  ::CertFreeCertificateContext(server);
  return ok;
}

// One step of the handshake: feeds what came from the server (if anything), sends what Schannel
// answers. SEC_E_OK when done, SEC_I_CONTINUE_NEEDED or SEC_E_INCOMPLETE_MESSAGE to go on.
SECURITY_STATUS handshake_step(CredHandle& credentials, Session& session, const std::string& server_name, Deadline deadline,
                               std::string& why) {
  const DWORD wanted = ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | ISC_REQ_EXTENDED_ERROR |
                       ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM | ISC_REQ_MANUAL_CRED_VALIDATION;
  SecBuffer in[2] = {{static_cast<unsigned long>(session.incoming.size()), SECBUFFER_TOKEN, session.incoming.data()},
                     {0, SECBUFFER_EMPTY, nullptr}};
  SecBufferDesc in_desc{SECBUFFER_VERSION, 2, in};
  SecBuffer out[1] = {{0, SECBUFFER_TOKEN, nullptr}};
  SecBufferDesc out_desc{SECBUFFER_VERSION, 1, out};
  std::vector<BYTE> unused;
  std::vector<BYTE> ip;
  // SNI carries a DNS name only; an address is checked against the certificate all the same.
  std::string target = is_ip_address(server_name, ip) ? std::string() : server_name;
  ULONG got = 0;
  const SECURITY_STATUS s = ::InitializeSecurityContextA(
      &credentials, session.has_context ? &session.context : nullptr, target.empty() ? nullptr : target.data(), wanted, 0, 0,
      session.has_context ? &in_desc : nullptr, 0, session.has_context ? nullptr : &session.context, &out_desc, &got, nullptr);
  session.has_context = true;
  if (out[0].pvBuffer != nullptr) {
    const bool sent = out[0].cbBuffer == 0 || send_all(session.socket, static_cast<const char*>(out[0].pvBuffer), out[0].cbBuffer, deadline, why);
    ::FreeContextBuffer(out[0].pvBuffer);
    if (!sent) return SEC_E_INTERNAL_ERROR;
  }
  if (s == SEC_E_INCOMPLETE_MESSAGE) return s;
  if (s == SEC_E_OK || s == SEC_I_CONTINUE_NEEDED) {
    // What the server sent beyond this step stays for the next one (or for the first read).
    if (in[1].BufferType == SECBUFFER_EXTRA && in[1].cbBuffer > 0)
      session.incoming.erase(0, session.incoming.size() - in[1].cbBuffer);
    else
      session.incoming.clear();
    return s;
  }
  why = "TLS handshake failed: " + status_text(s);
  return s;
}

}  // namespace

std::shared_ptr<Context> Context::create(const std::string& ca_file, std::string& why) {
  auto ca = std::make_unique<CaCertificate>();
  std::string problem;
  ca->cert = read_pem_certificate(ca_file, problem);
  if (ca->cert == nullptr) {
    why = "options.ca_file: cannot use " + ca_file + " as the store's CA certificate (" + problem +
          "); give the PEM file made with the daemon's certificate";
    return nullptr;
  }
  SCHANNEL_CRED cred{};
  cred.dwVersion = SCHANNEL_CRED_VERSION;
  cred.grbitEnabledProtocols = SP_PROT_TLS1_2_CLIENT;
  cred.dwFlags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
  TimeStamp expiry{};
  const SECURITY_STATUS s = ::AcquireCredentialsHandleA(nullptr, const_cast<char*>(UNISP_NAME_A), SECPKG_CRED_OUTBOUND, nullptr, &cred,
                                                        nullptr, nullptr, &ca->credentials, &expiry);
  if (s != SEC_E_OK) {
    ca->cert = (::CertFreeCertificateContext(ca->cert), nullptr);
    why = "cannot set up TLS (Schannel): " + status_text(s);
    return nullptr;
  }
  return std::shared_ptr<Context>(new Context(nullptr, ca.release()));
}

Context::~Context() { delete static_cast<CaCertificate*>(ctx_); }

std::unique_ptr<Channel> Channel::connect(std::shared_ptr<Context> context, net::Socket fd, const std::string& server_name,
                                          Deadline deadline, std::string& why) {
  auto* ca = static_cast<CaCertificate*>(context->ctx_);
  auto session = std::make_unique<Session>();
  session->socket = fd;
  SECURITY_STATUS s = handshake_step(ca->credentials, *session, server_name, deadline, why);
  while (s == SEC_I_CONTINUE_NEEDED || s == SEC_E_INCOMPLETE_MESSAGE) {
    if ((s == SEC_E_INCOMPLETE_MESSAGE || session->incoming.empty()) && !receive_more(fd, session->incoming, deadline, why)) return nullptr;
    s = handshake_step(ca->credentials, *session, server_name, deadline, why);
  }
  if (s != SEC_E_OK) return nullptr;
  if (!check_server(*session, ca->cert, server_name, why)) return nullptr;
  const SECURITY_STATUS q = ::QueryContextAttributesA(&session->context, SECPKG_ATTR_STREAM_SIZES, &session->sizes);
  if (q != SEC_E_OK) {
    why = "TLS handshake failed: " + status_text(q);
    return nullptr;
  }
  return std::unique_ptr<Channel>(new Channel(std::move(context), session.release()));
}

Channel::~Channel() { delete static_cast<Session*>(ssl_); }

Channel::Io Channel::classify(int) { return Io::failed; }  // OpenSSL's error queue: not used with Schannel

namespace {

// Decrypts one record of session.incoming into session.plaintext. ok when it did, want_read when
// the record is not whole yet.
Channel::Io decrypt_one(Session& session, std::string& error) {
  SecBuffer b[4] = {{static_cast<unsigned long>(session.incoming.size()), SECBUFFER_DATA, session.incoming.data()},
                    {0, SECBUFFER_EMPTY, nullptr},
                    {0, SECBUFFER_EMPTY, nullptr},
                    {0, SECBUFFER_EMPTY, nullptr}};
  SecBufferDesc desc{SECBUFFER_VERSION, 4, b};
  const SECURITY_STATUS s = ::DecryptMessage(&session.context, &desc, 0, nullptr);
  if (s == SEC_E_INCOMPLETE_MESSAGE) return Channel::Io::want_read;
  if (s == SEC_I_CONTEXT_EXPIRED) return Channel::Io::closed;  // the server's close_notify
  if (s != SEC_E_OK) {
    error = "TLS error: " + status_text(s);
    return Channel::Io::failed;
  }
  std::size_t extra = 0;
  for (const SecBuffer& x : b) {
    if (x.BufferType == SECBUFFER_DATA) session.plaintext.append(static_cast<const char*>(x.pvBuffer), x.cbBuffer);
    if (x.BufferType == SECBUFFER_EXTRA) extra = x.cbBuffer;
  }
  session.incoming.erase(0, session.incoming.size() - extra);
  return Channel::Io::ok;
}

// Sends what is left of the record being written. ok once all of it has gone.
Channel::Io flush_outgoing(Session& session, std::string& error) {
  while (!session.outgoing.empty()) {
    std::size_t n = 0;
    switch (net::send_some(session.socket, session.outgoing.data(), session.outgoing.size(), n, error)) {
      case net::Io::ok: session.outgoing.erase(0, n); continue;
      case net::Io::would_block: return Channel::Io::want_write;
      case net::Io::closed: return Channel::Io::closed;
      case net::Io::failed: return Channel::Io::failed;
    }
  }
  return Channel::Io::ok;
}

}  // namespace

Channel::Io Channel::read(char* buf, std::size_t cap, std::size_t& n) {
  auto& session = *static_cast<Session*>(ssl_);
  std::lock_guard lock(mu_);
  n = 0;
  while (session.plaintext.empty()) {
    if (!session.incoming.empty()) {
      const Io io = decrypt_one(session, error_);
      if (io == Io::ok) continue;
      if (io != Io::want_read) return io;
    }
    char chunk[kMaxRecord];
    std::size_t got = 0;
    switch (net::recv_some(session.socket, chunk, sizeof chunk, got, error_)) {
      case net::Io::ok: session.incoming.append(chunk, got); break;
      case net::Io::would_block: return Io::want_read;
      case net::Io::closed: return Io::closed;
      case net::Io::failed: return Io::failed;
    }
  }
  n = std::min(cap, session.plaintext.size());
  std::memcpy(buf, session.plaintext.data(), n);
  session.plaintext.erase(0, n);
  return Io::ok;
}

// Like SSL_write: when it answers want_write, the caller calls again with the same bytes, and
// the record already made of them is sent on before ok says how many it carried.
Channel::Io Channel::write(const char* buf, std::size_t len, std::size_t& n) {
  auto& session = *static_cast<Session*>(ssl_);
  std::lock_guard lock(mu_);
  n = 0;
  if (session.outgoing.empty()) {
    const std::size_t take = std::min<std::size_t>(len, session.sizes.cbMaximumMessage);
    session.outgoing.resize(session.sizes.cbHeader + take + session.sizes.cbTrailer);
    char* header = session.outgoing.data();
    std::memcpy(header + session.sizes.cbHeader, buf, take);
    SecBuffer b[4] = {{session.sizes.cbHeader, SECBUFFER_STREAM_HEADER, header},
                      {static_cast<unsigned long>(take), SECBUFFER_DATA, header + session.sizes.cbHeader},
                      {session.sizes.cbTrailer, SECBUFFER_STREAM_TRAILER, header + session.sizes.cbHeader + take},
                      {0, SECBUFFER_EMPTY, nullptr}};
    SecBufferDesc desc{SECBUFFER_VERSION, 4, b};
    const SECURITY_STATUS s = ::EncryptMessage(&session.context, 0, &desc, 0);
    if (s != SEC_E_OK) {
      session.outgoing.clear();
      error_ = "TLS error: " + status_text(s);
      return Io::failed;
    }
    session.outgoing.resize(b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer);
    session.outgoing_plain = take;
  }
  const Io io = flush_outgoing(session, error_);
  if (io != Io::ok) return io;
  n = session.outgoing_plain;
  return Io::ok;
}

std::string Channel::last_error() {
  std::lock_guard lock(mu_);
  return error_;
}

}  // namespace regulars::plugin::tls
