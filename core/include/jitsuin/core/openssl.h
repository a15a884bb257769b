#pragma once
// RAII for OpenSSL handles: each type owned by a unique_ptr with its deleter, made in one place.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "jitsuin/core/error.h"
#include "jitsuin/core/util.h"

namespace jitsuin::ossl {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};

using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using Crl = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Algor = std::unique_ptr<X509_ALGOR, Deleter<X509_ALGOR, X509_ALGOR_free>>;
using OcspRequest = std::unique_ptr<OCSP_REQUEST, Deleter<OCSP_REQUEST, OCSP_REQUEST_free>>;
using OcspResponse = std::unique_ptr<OCSP_RESPONSE, Deleter<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using OcspBasic = std::unique_ptr<OCSP_BASICRESP, Deleter<OCSP_BASICRESP, OCSP_BASICRESP_free>>;

/// An OpenSSL failure; the message includes OpenSSL's own error text. Clears the error queue.
class CryptoError : public Error {
 public:
  CryptoError(const std::string& what, unsigned long code) : Error(ErrorKind::crypto, what, static_cast<long>(code)) {}
};

/// Throws CryptoError(what + OpenSSL's queued errors), clearing the queue.
[[noreturn]] void throw_openssl(const std::string& what, ErrorKind kind = ErrorKind::crypto);

/// Takes ownership, throwing when OpenSSL returned null.
template <typename P, typename T>
P check(T* raw, const char* what) {
  if (!raw) throw_openssl(what);
  return P(raw);
}

/// DER of a certificate.
Bytes cert_der(const X509* cert);
/// PEM of a certificate.
std::string cert_pem(const X509* cert);
/// Parses a DER certificate.
Cert cert_from_der(std::span<const std::uint8_t> der);
/// Parses one PEM certificate.
Cert cert_from_pem(std::string_view pem);

/// A key's identity: SHA-256 of the subjectPublicKey bits (RSAPublicKey DER, or the EC point).
/// Taken from the encoded SubjectPublicKeyInfo as it is, so it costs a hash and no re-encoding,
/// and does not depend on how the algorithm parameters were written.
Bytes public_key_fingerprint(const X509_PUBKEY* spki);
/// The same for a key object (encodes it first: slow with OpenSSL 3.0, fine for CA keys).
Bytes public_key_fingerprint(EVP_PKEY* key);
/// The same from the subjectPublicKey bits themselves.
Bytes public_key_fingerprint(std::span<const std::uint8_t> subject_public_key_bits);

/// The X.500 name in RFC 2253 form (as `openssl x509 -nameopt RFC2253` prints it).
std::string name_to_string(const X509_NAME* name);

/// The RFC 5280 key identifier: SHA-1 of the subjectPublicKey bit string.
Bytes key_identifier(EVP_PKEY* key);

/// A short description of a key, e.g. "RSA-2048" or "EC P-256"; empty for anything else.
std::string describe_key(EVP_PKEY* key);

}  // namespace jitsuin::ossl
