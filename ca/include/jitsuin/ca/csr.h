#pragma once
// PKCS#10 requests: parsing (PEM or DER), self-signature check and the key policy of CA-3.
#include <string>
#include <string_view>

#include "jitsuin/hsm/openssl.h"

namespace jitsuin::ca {

/// A parsed and checked CSR: its self-signature verified, its key allowed by policy. Only the
/// key matters: the subject and attributes of a request are never used.
struct CheckedCsr {
  ossl::PKey key;               ///< the public key
  ossl::Algor key_algorithm;    ///< SubjectPublicKeyInfo.algorithm as the request encodes it
  Bytes key_bits;               ///< SubjectPublicKeyInfo.subjectPublicKey as the request encodes it
  std::string key_description;  ///< "RSA-2048", "EC P-256"
  Bytes fingerprint;            ///< ossl::public_key_fingerprint of key_bits
};

/// Parses a CSR in PEM or DER and checks it. Throws Error(invalid_input) with a clear reason:
/// not a CSR, trailing data, bad self-signature, or a key outside policy (RSA >= 2048 bits,
/// EC P-256 / P-384 only, points uncompressed).
CheckedCsr check_csr(std::string_view pem_or_der);

/// The key policy alone, for keys that did not come in a CSR.
void check_key_policy(EVP_PKEY* key);

}  // namespace jitsuin::ca
