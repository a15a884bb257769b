#pragma once
// A subject's public key as a CSR carries it, decoded and checked against the key policy of CA-3,
// for verifying the CSR's self-signature.
#include <openssl/x509.h>

#include <memory>
#include <span>
#include <string>

#include "jitsuin/core/util.h"

namespace jitsuin::ca::detail {

/// An RSA or EC P-256/P-384 public key decoded from the parts of a SubjectPublicKeyInfo.
///
/// OpenSSL's RSA and EC_KEY objects are used directly, with one EC_GROUP per curve built once per
/// process. OpenSSL 3.0's EVP route (d2i_PUBKEY, EVP_DigestVerifyInit) builds a provider decoder
/// chain for the key, exports it to a provider and creates a fresh EC_GROUP several times per key
/// (each computing a Montgomery inverse): together more than the verification itself, and more
/// than the CA's own signature on the token.
class SubjectKey {
 public:
  /// Decodes algorithm + subjectPublicKey and applies the key policy: RSA 2048..8192 bits with an
  /// odd public exponent >= 3, or EC on P-256/P-384 (named curve, uncompressed point on the curve).
  /// Throws Error(invalid_input) naming what is wrong.
  static SubjectKey decode(const X509_ALGOR* algorithm, std::span<const std::uint8_t> key_bits);

  SubjectKey(SubjectKey&&) noexcept;
  SubjectKey& operator=(SubjectKey&&) noexcept;
  ~SubjectKey();

  bool is_rsa() const;
  /// "RSA-2048", "EC P-256".
  const std::string& description() const;
  /// Whether sig is this key's PKCS#1 v1.5 RSA or ECDSA signature over data with the digest md_nid
  /// (SHA-256, SHA-384 or SHA-512; anything else is false).
  bool verify(int md_nid, std::span<const std::uint8_t> data, std::span<const std::uint8_t> sig) const;

 private:
  struct Impl;
  explicit SubjectKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jitsuin::ca::detail
