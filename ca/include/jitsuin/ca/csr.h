#pragma once
// PKCS#10 requests: parsing (PEM or DER), self-signature check and the key policy of CA-3.
#include <string>
#include <string_view>

#include "jitsuin/core/openssl.h"

namespace jitsuin::ca {

/// A parsed and checked CSR: its self-signature verified, its key allowed by policy. Only the
/// key matters: the subject and attributes of a request are never used.
struct CheckedCsr {
  int key_type = EVP_PKEY_NONE;  ///< EVP_PKEY_RSA or EVP_PKEY_EC
  ossl::Algor key_algorithm;    ///< SubjectPublicKeyInfo.algorithm as the request encodes it
  Bytes key_bits;               ///< SubjectPublicKeyInfo.subjectPublicKey as the request encodes it
  std::string key_description;  ///< "RSA-2048", "EC P-256"
  Bytes fingerprint;            ///< ossl::public_key_fingerprint of key_bits
};

/// Parses a CSR in PEM or DER and checks it. Throws Error(invalid_input) with a clear reason:
/// not a CSR, trailing data, bad self-signature (PKCS#1 v1.5 RSA or ECDSA with SHA-256/384/512),
/// or a key outside policy (RSA 2048..8192 bits with an odd exponent >= 3; EC P-256 / P-384 with a
/// named curve and an uncompressed point).
CheckedCsr check_csr(std::string_view pem_or_der);

}  // namespace jitsuin::ca
