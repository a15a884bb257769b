#pragma once
// PKCS#10 requests: parsing (PEM or DER), self-signature check and the key policy of CA-3.
#include <string>
#include <string_view>

#include "jitsuin/hsm/openssl.h"

namespace jitsuin::ca {

/// A parsed and checked CSR: its self-signature verified, its key allowed by policy.
struct CheckedCsr {
  ossl::Req req;
  EVP_PKEY* key = nullptr;      ///< owned by req
  const X509_PUBKEY* spki = nullptr;   ///< the SubjectPublicKeyInfo as encoded; owned by req
  std::string key_description;  ///< "RSA-2048", "EC P-256"
  Bytes fingerprint;            ///< ossl::public_key_fingerprint of the key
};

/// Parses a CSR in PEM or DER and checks it. Throws Error(invalid_input) with a clear reason:
/// not a CSR, trailing data, bad self-signature, or a key outside policy (RSA >= 2048 bits,
/// EC P-256 / P-384 only, points uncompressed).
CheckedCsr check_csr(std::string_view pem_or_der);

/// The key policy alone, for keys that did not come in a CSR.
void check_key_policy(EVP_PKEY* key);

}  // namespace jitsuin::ca
