#include "x509util.h"

#include <openssl/objects.h>

namespace jitsuin::ca::detail {

ossl::Name make_name(const config::NameFields& fields, const std::string& country) {
  auto name = ossl::check<ossl::Name>(X509_NAME_new(), "X509_NAME_new");
  auto add = [&](int nid, const std::string& value, int type) {
    if (value.empty()) return;
    if (X509_NAME_add_entry_by_NID(name.get(), nid, type, reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1)
      ossl::throw_openssl("cannot build subject name", ErrorKind::invalid_input);
  };
  auto get = [&](const char* k) {
    auto it = fields.find(k);
    return it == fields.end() ? std::string() : it->second;
  };
  add(NID_countryName, country.empty() ? get("country") : country, V_ASN1_PRINTABLESTRING);
  add(NID_organizationName, get("organization"), MBSTRING_UTF8);
  add(NID_organizationalUnitName, get("department"), MBSTRING_UTF8);
  add(NID_title, get("title"), MBSTRING_UTF8);
  add(NID_commonName, get("common_name"), MBSTRING_UTF8);
  return name;
}

const EVP_MD* digest_for(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && EVP_PKEY_get_bits(key) > 256) return EVP_sha384();
  return EVP_sha256();
}

Bytes random_serial() {
  Bytes s = random_bytes(16);
  s[0] = static_cast<std::uint8_t>((s[0] & 0x3f) | 0x40);
  return s;
}

ossl::Integer serial_integer(const Bytes& serial) {
  ossl::Bignum bn = ossl::check<ossl::Bignum>(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr),
                                              "BN_bin2bn");
  return ossl::check<ossl::Integer>(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER");
}

ossl::Ext make_ext(int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, nullptr, nullptr, nullptr, nullptr, 0);
  return ossl::check<ossl::Ext>(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()),
                                ("cannot build extension " + std::string(OBJ_nid2sn(nid))).c_str());
}

ossl::Ext make_key_id_ext(int nid, const Bytes& key_id) {
  if (nid == NID_subject_key_identifier) {
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, key_id.data(), static_cast<int>(key_id.size()));
    X509_EXTENSION* ext = X509V3_EXT_i2d(nid, 0, os);
    ASN1_OCTET_STRING_free(os);
    return ossl::check<ossl::Ext>(ext, "cannot build subjectKeyIdentifier");
  }
  AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
  akid->keyid = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(akid->keyid, key_id.data(), static_cast<int>(key_id.size()));
  X509_EXTENSION* ext = X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid);
  AUTHORITY_KEYID_free(akid);
  return ossl::check<ossl::Ext>(ext, "cannot build authorityKeyIdentifier");
}

ossl::Ext make_policies_ext(const std::vector<config::PolicyConfig>& policies) {
  CERTIFICATEPOLICIES* cps = CERTIFICATEPOLICIES_new();
  for (const auto& p : policies) {
    POLICYINFO* pi = POLICYINFO_new();
    pi->policyid = OBJ_txt2obj(p.oid.c_str(), 1);
    if (!p.cps.empty()) {
      pi->qualifiers = sk_POLICYQUALINFO_new_null();
      POLICYQUALINFO* q = POLICYQUALINFO_new();
      q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
      q->d.cpsuri = ASN1_IA5STRING_new();
      ASN1_STRING_set(q->d.cpsuri, p.cps.data(), static_cast<int>(p.cps.size()));
      sk_POLICYQUALINFO_push(pi->qualifiers, q);
    }
    sk_POLICYINFO_push(cps, pi);
  }
  X509_EXTENSION* ext = X509V3_EXT_i2d(NID_certificate_policies, 0, cps);
  CERTIFICATEPOLICIES_free(cps);
  return ossl::check<ossl::Ext>(ext, "cannot build certificatePolicies");
}

void add_ext(X509* cert, const X509_EXTENSION* ext) {
  if (X509_add_ext(cert, const_cast<X509_EXTENSION*>(ext), -1) != 1) ossl::throw_openssl("cannot add extension");
}

void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, digest_for(key)) <= 0) ossl::throw_openssl("the CA key on the token could not sign", ErrorKind::hsm);
}

}  // namespace jitsuin::ca::detail
