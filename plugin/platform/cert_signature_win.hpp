// Whether a certificate is signed by the key of another, checked with CNG from the certificate's
// own bytes. Wine's crypt32 (CryptVerifyCertificateSignatureEx) refuses a good ECDSA signature
// whose r or s has fewer than 32 significant bytes, about one certificate in 128; this check
// reads the DER itself. ECDSA with SHA-256 or SHA-384, RSA PKCS#1 v1.5 with SHA-256 or SHA-384.
#pragma once

// clang-format off
#include <windows.h>
#include <wincrypt.h>
// clang-format on

namespace regulars::plugin::tls {

bool signed_by(PCCERT_CONTEXT subject, PCCERT_CONTEXT issuer);

}  // namespace regulars::plugin::tls
