#include "jitsuin/core/openssl.h"

#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

namespace jitsuin::ossl {

void throw_openssl(const std::string& what, ErrorKind kind) {
  unsigned long first = ERR_peek_error();
  std::string detail;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!detail.empty()) detail += "; ";
    detail += buf;
  }
  std::string msg = detail.empty() ? what : what + " (" + detail + ")";
  if (kind == ErrorKind::crypto) throw CryptoError(msg, first);
  throw Error(kind, msg, static_cast<long>(first));
}

Bytes cert_der(const X509* cert) {
  int len = i2d_X509(cert, nullptr);
  if (len <= 0) throw_openssl("cannot encode certificate");
  Bytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  i2d_X509(cert, &p);
  return out;
}

std::string cert_pem(const X509* cert) {
  Bio bio = check<Bio>(BIO_new(BIO_s_mem()), "BIO_new");
  if (PEM_write_bio_X509(bio.get(), const_cast<X509*>(cert)) != 1) throw_openssl("cannot encode certificate as PEM");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Cert cert_from_der(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x || p != der.data() + der.size()) {
    X509_free(x);
    throw_openssl("not a DER certificate", ErrorKind::invalid_input);
  }
  return Cert(x);
}

Cert cert_from_pem(std::string_view pem) {
  Bio bio = check<Bio>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), "BIO_new_mem_buf");
  X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!x) throw_openssl("not a PEM certificate", ErrorKind::invalid_input);
  return Cert(x);
}

Bytes public_key_fingerprint(std::span<const std::uint8_t> subject_public_key_bits) {
  JITSUIN_ARG_CHECK(!subject_public_key_bits.empty(), "the public key is empty");
  return sha256(subject_public_key_bits);
}

Bytes public_key_fingerprint(const X509_PUBKEY* spki) {
  const unsigned char* bits = nullptr;
  int len = 0;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, spki) != 1 || !bits || len <= 0)
    throw_openssl("cannot read the public key", ErrorKind::invalid_input);
  return public_key_fingerprint(std::span(bits, static_cast<std::size_t>(len)));
}

Bytes public_key_fingerprint(EVP_PKEY* key) {
  X509_PUBKEY* pub = nullptr;
  if (X509_PUBKEY_set(&pub, key) != 1) throw_openssl("cannot encode public key");
  std::unique_ptr<X509_PUBKEY, Deleter<X509_PUBKEY, X509_PUBKEY_free>> owned(pub);
  return public_key_fingerprint(pub);
}

std::string name_to_string(const X509_NAME* name) {
  Bio bio = check<Bio>(BIO_new(BIO_s_mem()), "BIO_new");
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Bytes key_identifier(EVP_PKEY* key) {
  X509_PUBKEY* pub = nullptr;
  if (X509_PUBKEY_set(&pub, key) != 1) throw_openssl("cannot encode public key");
  const unsigned char* bits = nullptr;
  int len = 0;
  X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, pub);
  Bytes out(20);
  unsigned int outlen = 0;
  bool ok = EVP_Digest(bits, static_cast<std::size_t>(len), out.data(), &outlen, EVP_sha1(), nullptr) == 1;
  X509_PUBKEY_free(pub);
  if (!ok) throw_openssl("cannot hash public key");
  return out;
}

std::string describe_key(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA-" + std::to_string(EVP_PKEY_get_bits(key));
    case EVP_PKEY_EC: {
      char curve[64] = {0};
      size_t len = 0;
      std::string c;
      if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &len) == 1) {
        c.assign(curve, len);
      } else if (const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key)) {
        // A legacy EC_KEY (a key on a token, through libp11) has no provider params.
        int nid = EC_GROUP_get_curve_name(EC_KEY_get0_group(ec));
        if (nid != NID_undef) c = OBJ_nid2sn(nid);
      }
      ERR_clear_error();
      if (c == "prime256v1" || c == "P-256") return "EC P-256";
      if (c == "secp384r1" || c == "P-384") return "EC P-384";
      return c.empty() ? "EC" : "EC " + c;
    }
    default:
      return "";
  }
}

}  // namespace jitsuin::ossl
