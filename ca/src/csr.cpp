#include "jitsuin/ca/csr.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <cctype>

#include "subject_key.h"

namespace jitsuin::ca {

namespace {
constexpr std::size_t kMaxCsrBytes = 64 * 1024;
}

namespace {

using AnySequence = std::unique_ptr<ASN1_SEQUENCE_ANY, void (*)(ASN1_SEQUENCE_ANY*)>;

void free_sequence(ASN1_SEQUENCE_ANY* s) { sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free); }

[[noreturn]] void malformed(const char* what) {
  ERR_clear_error();
  throw Error(ErrorKind::invalid_input, std::string("the CSR is not valid DER PKCS#10 (malformed or truncated): ") + what);
}

// The elements of a DER SEQUENCE, each kept as it was encoded. Nothing inside is interpreted, so
// no public key is decoded by OpenSSL's generic decoders (see subject_key.h for why that matters).
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
  // One request per file: after its END line only white space (another block, or anything else
  // appended, would be a second thing the person did not see checked).
  char* rest = nullptr;
  long rest_len = BIO_get_mem_data(bio.get(), &rest);
  for (long i = 0; i < rest_len; ++i)
    JITSUIN_ARG_CHECK(std::isspace(static_cast<unsigned char>(rest[i])),
                      "the CSR file has data after its PEM block (one CERTIFICATE REQUEST per file)");
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
    std::size_t first = data.find("-----BEGIN");
    JITSUIN_ARG_CHECK(data.find("-----BEGIN", first + 1) == std::string_view::npos,
                      "the CSR file holds more than one PEM block (one CERTIFICATE REQUEST per file)");
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
  auto key = detail::SubjectKey::decode(out.key_algorithm.get(), out.key_bits);
  out.key_type = key.is_rsa() ? EVP_PKEY_RSA : EVP_PKEY_EC;
  out.key_description = key.description();

  // The self-signature, over the request info exactly as sent.
  int md_nid = NID_undef, pk_nid = NID_undef;
  if (!OBJ_find_sigid_algs(OBJ_obj2nid(sig_alg->algorithm), &md_nid, &pk_nid) ||
      pk_nid != (key.is_rsa() ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey) ||
      (md_nid != NID_sha256 && md_nid != NID_sha384 && md_nid != NID_sha512))
    throw Error(ErrorKind::invalid_input, "the CSR's self-signature is invalid (unsupported or mismatched signature "
                                          "algorithm; use PKCS#1 v1.5 RSA or ECDSA with SHA-256, SHA-384 or SHA-512)");
  if (!key.verify(md_nid, tbs, std::span(sig->data, static_cast<std::size_t>(sig->length))))
    throw Error(ErrorKind::invalid_input, "the CSR's self-signature is invalid (the request was not signed by its key)");
  out.fingerprint = ossl::public_key_fingerprint(out.key_bits);
  return out;
}

}  // namespace jitsuin::ca
