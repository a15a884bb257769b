#include "jitsuin/ca/csr.h"

#include <openssl/pem.h>

namespace jitsuin::ca {

namespace {
constexpr std::size_t kMaxCsrBytes = 64 * 1024;
}

void check_key_policy(EVP_PKEY* key) {
  std::string d = ossl::describe_key(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_get_bits(key);
      JITSUIN_ARG_CHECK(bits >= 2048, "key " + d + " is too weak: RSA keys must have at least 2048 bits");
      JITSUIN_ARG_CHECK(bits <= 8192, "key " + d + " is too large: RSA keys may have at most 8192 bits");
      return;
    }
    case EVP_PKEY_EC:
      JITSUIN_ARG_CHECK(d == "EC P-256" || d == "EC P-384",
                        "key " + d + " is not allowed: EC keys must be on P-256 or P-384");
      return;
    default:
      throw Error(ErrorKind::invalid_input, "key type is not allowed: use RSA (2048+ bits) or EC P-256/P-384");
  }
}

CheckedCsr check_csr(std::string_view data) {
  JITSUIN_ARG_CHECK(!data.empty(), "the CSR is empty");
  JITSUIN_ARG_CHECK(data.size() <= kMaxCsrBytes, "the CSR is larger than 64 KiB");
  CheckedCsr out;
  if (data.find("-----BEGIN") != std::string_view::npos) {
    JITSUIN_ARG_CHECK(data.find("-----BEGIN CERTIFICATE REQUEST-----") != std::string_view::npos ||
                          data.find("-----BEGIN NEW CERTIFICATE REQUEST-----") != std::string_view::npos,
                      "the PEM data is not a CERTIFICATE REQUEST");
    ossl::Bio bio = ossl::check<ossl::Bio>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), "BIO");
    out.req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    if (!out.req) ossl::throw_openssl("the CSR is not valid PEM PKCS#10", ErrorKind::invalid_input);
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
    out.req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size())));
    if (!out.req) ossl::throw_openssl("the CSR is not valid DER PKCS#10 (malformed or truncated)", ErrorKind::invalid_input);
    JITSUIN_ARG_CHECK(p == reinterpret_cast<const unsigned char*>(data.data()) + data.size(),
                      "the CSR has trailing data after the DER structure");
  }
  out.key = X509_REQ_get0_pubkey(out.req.get());
  if (!out.key) ossl::throw_openssl("the CSR's public key cannot be decoded", ErrorKind::invalid_input);
  if (X509_REQ_verify(out.req.get(), out.key) != 1)
    ossl::throw_openssl("the CSR's self-signature is invalid (the request was not signed by its key)",
                        ErrorKind::invalid_input);
  check_key_policy(out.key);
  out.spki = X509_REQ_get_X509_PUBKEY(out.req.get());
  if (EVP_PKEY_get_base_id(out.key) == EVP_PKEY_EC) {
    // One encoding per key: the certificate copies the request's SubjectPublicKeyInfo, and the
    // key-reuse check fingerprints those bytes, so a compressed form of a key must not slip past it.
    const unsigned char* point = nullptr;
    int len = 0;
    X509_PUBKEY_get0_param(nullptr, &point, &len, nullptr, out.spki);
    JITSUIN_ARG_CHECK(point && len > 0 && point[0] == 0x04,
                      "the CSR's EC public key is not in uncompressed form (04 || x || y), which is required");
  }
  out.key_description = ossl::describe_key(out.key);
  out.fingerprint = ossl::public_key_fingerprint(out.spki);
  return out;
}

}  // namespace jitsuin::ca
