#include "jitsuin/ca/csr.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
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

namespace {

using AnySequence = std::unique_ptr<ASN1_SEQUENCE_ANY, void (*)(ASN1_SEQUENCE_ANY*)>;

void free_sequence(ASN1_SEQUENCE_ANY* s) { sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free); }

[[noreturn]] void malformed(const char* what) {
  ERR_clear_error();
  throw Error(ErrorKind::invalid_input, std::string("the CSR is not valid DER PKCS#10 (malformed or truncated): ") + what);
}

// The elements of a DER SEQUENCE, each kept as it was encoded. Nothing inside is interpreted, so
// no public key is decoded (see ossl::decode_rsa_or_ec_public_key for why that matters).
AnySequence elements(std::span<const std::uint8_t> der, const char* what, bool whole) {
  const unsigned char* p = der.data();
  AnySequence seq(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, static_cast<long>(der.size())), free_sequence);
  if (!seq) malformed(what);
  if (whole && p != der.data() + der.size())
    throw Error(ErrorKind::invalid_input, "the CSR has trailing data after the DER structure");
  return seq;
}

// The complete encoding of a constructed element (ASN1_ANY keeps tag and length for these).
std::span<const std::uint8_t> encoding(const ASN1_TYPE* t, int type, const char* what) {
  if (!t || ASN1_TYPE_get(t) != type) malformed(what);
  const ASN1_STRING* s = t->value.sequence;
  return {ASN1_STRING_get0_data(s), static_cast<std::size_t>(ASN1_STRING_length(s))};
}

ossl::Algor algorithm(std::span<const std::uint8_t> der, const char* what) {
  const unsigned char* p = der.data();
  ossl::Algor a(d2i_X509_ALGOR(nullptr, &p, static_cast<long>(der.size())));
  if (!a || p != der.data() + der.size()) malformed(what);
  return a;
}

Bytes pem_to_der(std::string_view pem) {
  ossl::Bio bio = ossl::check<ossl::Bio>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), "BIO");
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1)
    ossl::throw_openssl("the CSR is not valid PEM PKCS#10", ErrorKind::invalid_input);
  std::string label = name;
  Bytes der(data, data + len);
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  JITSUIN_ARG_CHECK(label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST",
                    "the PEM data is not a CERTIFICATE REQUEST");
  return der;
}

}  // namespace

CheckedCsr check_csr(std::string_view data) {
  JITSUIN_ARG_CHECK(!data.empty(), "the CSR is empty");
  JITSUIN_ARG_CHECK(data.size() <= kMaxCsrBytes, "the CSR is larger than 64 KiB");
  Bytes der;
  if (data.find("-----BEGIN") != std::string_view::npos) {
    JITSUIN_ARG_CHECK(data.find("-----BEGIN CERTIFICATE REQUEST-----") != std::string_view::npos ||
                          data.find("-----BEGIN NEW CERTIFICATE REQUEST-----") != std::string_view::npos,
                      "the PEM data is not a CERTIFICATE REQUEST");
    der = pem_to_der(data);
  } else {
    der.assign(data.begin(), data.end());
  }
  // CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }
  auto outer = elements(der, "outer structure", true);
  if (sk_ASN1_TYPE_num(outer.get()) != 3) malformed("CertificationRequest must have 3 fields");
  auto tbs = encoding(sk_ASN1_TYPE_value(outer.get(), 0), V_ASN1_SEQUENCE, "certificationRequestInfo");
  auto sig_alg = algorithm(encoding(sk_ASN1_TYPE_value(outer.get(), 1), V_ASN1_SEQUENCE, "signatureAlgorithm"),
                           "signatureAlgorithm");
  const ASN1_TYPE* sig_type = sk_ASN1_TYPE_value(outer.get(), 2);
  if (ASN1_TYPE_get(sig_type) != V_ASN1_BIT_STRING) malformed("signature");
  const ASN1_BIT_STRING* sig = sig_type->value.bit_string;
  if (sig->flags & 0x07) malformed("signature has unused bits");

  // CertificationRequestInfo ::= SEQUENCE { version, subject, subjectPKInfo, [0] attributes }
  auto info = elements(tbs, "certificationRequestInfo", true);
  int n = sk_ASN1_TYPE_num(info.get());
  if (n != 3 && n != 4) malformed("certificationRequestInfo must have 3 or 4 fields");
  const ASN1_TYPE* version = sk_ASN1_TYPE_value(info.get(), 0);
  if (ASN1_TYPE_get(version) != V_ASN1_INTEGER || ASN1_INTEGER_get(version->value.integer) != 0)
    malformed("version must be 0 (v1)");
  encoding(sk_ASN1_TYPE_value(info.get(), 1), V_ASN1_SEQUENCE, "subject");
  auto spki_der = encoding(sk_ASN1_TYPE_value(info.get(), 2), V_ASN1_SEQUENCE, "subjectPKInfo");

  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }
  auto spki = elements(spki_der, "subjectPKInfo", true);
  if (sk_ASN1_TYPE_num(spki.get()) != 2) malformed("subjectPKInfo must have 2 fields");
  CheckedCsr out;
  out.key_algorithm = algorithm(encoding(sk_ASN1_TYPE_value(spki.get(), 0), V_ASN1_SEQUENCE, "key algorithm"),
                                "key algorithm");
  const ASN1_TYPE* bits = sk_ASN1_TYPE_value(spki.get(), 1);
  if (ASN1_TYPE_get(bits) != V_ASN1_BIT_STRING || (bits->value.bit_string->flags & 0x07)) malformed("subjectPublicKey");
  const ASN1_BIT_STRING* key_bits = bits->value.bit_string;
  out.key_bits.assign(key_bits->data, key_bits->data + key_bits->length);
  out.key = ossl::decode_rsa_or_ec_public_key(spki_der);

  // The self-signature, over the request info exactly as sent.
  int md_nid = NID_undef, pk_nid = NID_undef;
  if (!OBJ_find_sigid_algs(OBJ_obj2nid(sig_alg->algorithm), &md_nid, &pk_nid) || md_nid == NID_undef ||
      pk_nid != EVP_PKEY_get_base_id(out.key.get()))
    throw Error(ErrorKind::invalid_input, "the CSR's self-signature is invalid (unsupported or mismatched signature "
                                          "algorithm; use PKCS#1 v1.5 RSA or ECDSA with SHA-2)");
  const EVP_MD* md = EVP_get_digestbynid(md_nid);
  ossl::MdCtx ctx = ossl::check<ossl::MdCtx>(EVP_MD_CTX_new(), "EVP_MD_CTX_new");
  if (!md || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, out.key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), sig->data, static_cast<std::size_t>(sig->length), tbs.data(), tbs.size()) != 1)
    ossl::throw_openssl("the CSR's self-signature is invalid (the request was not signed by its key)",
                        ErrorKind::invalid_input);

  check_key_policy(out.key.get());
  if (EVP_PKEY_get_base_id(out.key.get()) == EVP_PKEY_EC) {
    // One encoding per key: the certificate copies the request's SubjectPublicKeyInfo, and the
    // key-reuse check fingerprints those bytes, so a compressed form of a key must not slip past it.
    JITSUIN_ARG_CHECK(!out.key_bits.empty() && out.key_bits[0] == 0x04,
                      "the CSR's EC public key is not in uncompressed form (04 || x || y), which is required");
  }
  out.key_description = ossl::describe_key(out.key.get());
  out.fingerprint = ossl::public_key_fingerprint(out.key_bits);
  return out;
}

}  // namespace jitsuin::ca
