#include "platform/cert_signature_win.hpp"

// clang-format off
#include <bcrypt.h>
// clang-format on

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace regulars::plugin::tls {

namespace {

using Bytes = std::basic_string_view<std::uint8_t>;

// One DER element at the front of `in`: its tag, its contents, and the whole element; `in` moves
// past it. False for anything malformed or longer than what is there.
struct Element {
  std::uint8_t tag = 0;
  Bytes contents, whole;
};

bool next_element(Bytes& in, Element& e) {
  if (in.size() < 2) return false;
  std::size_t len = in[1], header = 2;
  if (len & 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n) return false;
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = len << 8 | in[2 + i];
    header = 2 + n;
  }
  if (in.size() - header < len) return false;
  e.tag = in[0];
  e.contents = in.substr(header, len);
  e.whole = in.substr(0, header + len);
  in.remove_prefix(header + len);
  return true;
}

enum class Scheme { ecdsa, rsa };
struct Algorithm {
  Scheme scheme;
  const wchar_t* hash;
};

// The signature algorithm's OID (its contents), or false for one not handled here.
bool algorithm_of(Bytes oid, Algorithm& a) {
  static const std::uint8_t ecdsa_sha256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
  static const std::uint8_t ecdsa_sha384[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
  static const std::uint8_t rsa_sha256[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b};
  static const std::uint8_t rsa_sha384[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c};
  auto is = [&](const std::uint8_t* known, std::size_t n) { return oid.size() == n && std::memcmp(oid.data(), known, n) == 0; };
  if (is(ecdsa_sha256, sizeof ecdsa_sha256)) a = {Scheme::ecdsa, BCRYPT_SHA256_ALGORITHM};
  else if (is(ecdsa_sha384, sizeof ecdsa_sha384)) a = {Scheme::ecdsa, BCRYPT_SHA384_ALGORITHM};
  else if (is(rsa_sha256, sizeof rsa_sha256)) a = {Scheme::rsa, BCRYPT_SHA256_ALGORITHM};
  else if (is(rsa_sha384, sizeof rsa_sha384)) a = {Scheme::rsa, BCRYPT_SHA384_ALGORITHM};
  else return false;
  return true;
}

// The certificate's to-be-signed bytes, its signature algorithm and its signature value.
bool split_certificate(PCCERT_CONTEXT cert, Bytes& tbs, Algorithm& algorithm, Bytes& signature) {
  Bytes der(cert->pbCertEncoded, cert->cbCertEncoded);
  Element outer, tbs_e, alg_e, sig_e, oid_e;
  if (!next_element(der, outer) || outer.tag != 0x30) return false;
  Bytes body = outer.contents;
  if (!next_element(body, tbs_e) || !next_element(body, alg_e) || !next_element(body, sig_e) || sig_e.tag != 0x03) return false;
  Bytes alg = alg_e.contents;
  if (!next_element(alg, oid_e) || oid_e.tag != 0x06 || !algorithm_of(oid_e.contents, algorithm)) return false;
  if (sig_e.contents.empty() || sig_e.contents[0] != 0) return false;  // whole bytes only
  tbs = tbs_e.whole;
  signature = sig_e.contents.substr(1);
  return true;
}

// r | s, each left-padded to `size` bytes, from a DER ECDSA-Sig-Value.
bool raw_ecdsa(Bytes der, std::size_t size, std::vector<std::uint8_t>& raw) {
  Element seq, r, s;
  if (!next_element(der, seq) || seq.tag != 0x30) return false;
  Bytes ints = seq.contents;
  if (!next_element(ints, r) || !next_element(ints, s) || r.tag != 0x02 || s.tag != 0x02) return false;
  raw.assign(2 * size, 0);
  for (const auto& [value, at] : {std::pair{r.contents, std::size_t{0}}, std::pair{s.contents, size}}) {
    Bytes v = value;
    while (!v.empty() && v[0] == 0) v.remove_prefix(1);
    if (v.size() > size) return false;
    std::memcpy(raw.data() + at + size - v.size(), v.data(), v.size());
  }
  return true;
}

bool digest(const wchar_t* algorithm, Bytes data, std::vector<std::uint8_t>& out) {
  BCRYPT_ALG_HANDLE alg = nullptr;
  BCRYPT_HASH_HANDLE hash = nullptr;
  DWORD size = 0;
  ULONG got = 0;
  bool ok = ::BCryptOpenAlgorithmProvider(&alg, algorithm, nullptr, 0) >= 0 &&
            ::BCryptGetProperty(alg, BCRYPT_HASH_LENGTH, reinterpret_cast<PUCHAR>(&size), sizeof size, &got, 0) >= 0 &&
            ::BCryptCreateHash(alg, &hash, nullptr, 0, nullptr, 0, 0) >= 0;
  if (ok) {
    out.assign(size, 0);
    ok = ::BCryptHashData(hash, const_cast<PUCHAR>(data.data()), static_cast<ULONG>(data.size()), 0) >= 0 &&
         ::BCryptFinishHash(hash, out.data(), size, 0) >= 0;
  }
  if (hash != nullptr) ::BCryptDestroyHash(hash);
  if (alg != nullptr) ::BCryptCloseAlgorithmProvider(alg, 0);
  return ok;
}

}  // namespace

bool signed_by(PCCERT_CONTEXT subject, PCCERT_CONTEXT issuer) {
  Bytes tbs, signature;
  Algorithm algorithm{};
  std::vector<std::uint8_t> hash;
  if (!split_certificate(subject, tbs, algorithm, signature) || !digest(algorithm.hash, tbs, hash)) return false;
  CERT_PUBLIC_KEY_INFO* spki = &issuer->pCertInfo->SubjectPublicKeyInfo;
  BCRYPT_KEY_HANDLE key = nullptr;
  if (!::CryptImportPublicKeyInfoEx2(X509_ASN_ENCODING, spki, 0, nullptr, &key)) return false;
  NTSTATUS s = -1;
  if (algorithm.scheme == Scheme::ecdsa) {
    // The issuer's point is 04 | X | Y: each coordinate, and so r and s, takes half the rest.
    const std::size_t size = (spki->PublicKey.cbData - 1) / 2;
    std::vector<std::uint8_t> raw;
    if (raw_ecdsa(signature, size, raw))
      s = ::BCryptVerifySignature(key, nullptr, hash.data(), static_cast<ULONG>(hash.size()), raw.data(), static_cast<ULONG>(raw.size()), 0);
  } else {
    BCRYPT_PKCS1_PADDING_INFO padding{algorithm.hash};
    s = ::BCryptVerifySignature(key, &padding, hash.data(), static_cast<ULONG>(hash.size()), const_cast<PUCHAR>(signature.data()),
                                static_cast<ULONG>(signature.size()), BCRYPT_PAD_PKCS1);
  }
  ::BCryptDestroyKey(key);
  return s >= 0;
}

}  // namespace regulars::plugin::tls
