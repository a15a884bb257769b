#include "x509util.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string_view>

#include "jitsuin/core/error.h"

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

Bytes partitioned_serial(std::uint32_t partition) {
  Bytes s = random_bytes(16);
  s[0] = 0x3f;
  for (int i = 0; i < 4; ++i) s[1 + i] = static_cast<std::uint8_t>(partition >> (8 * (3 - i)));
  return s;
}

std::optional<std::uint32_t> serial_partition(std::span<const std::uint8_t> serial) {
  if (serial.size() != 16 || serial[0] != 0x3f) return std::nullopt;
  return (std::uint32_t{serial[1]} << 24) | (std::uint32_t{serial[2]} << 16) | (std::uint32_t{serial[3]} << 8) | serial[4];
}

ossl::Integer serial_integer(const Bytes& serial) {
  ossl::Bignum bn = ossl::check<ossl::Bignum>(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr),
                                              "BN_bin2bn");
  return ossl::check<ossl::Integer>(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER");
}

namespace {

// One extension from its decoded value, owned by the caller of X509V3_EXT_i2d.
ossl::Ext encode(int nid, bool critical, void* value, const char* what) {
  return ossl::check<ossl::Ext>(X509V3_EXT_i2d(nid, critical ? 1 : 0, value), what);
}

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};
using GeneralNames = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

// An IA5String (7-bit ASCII) general name, the value taken as it is: never parsed, so whatever it
// holds stays one name. Refuses what IA5String cannot hold and control characters.
GENERAL_NAME* ia5_name(int type, const std::string& value, const char* what) {
  JITSUIN_ARG_CHECK(!value.empty(), std::string(what) + " is empty");
  for (unsigned char c : value)
    JITSUIN_ARG_CHECK(c >= 0x20 && c < 0x7f, std::string(what) + " '" + value +
                                                   "' must be printable ASCII (an IA5String without control characters)");
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  if (!s || ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
    ASN1_IA5STRING_free(s);
    ossl::throw_openssl("cannot build a general name");
  }
  GENERAL_NAME* name = GENERAL_NAME_new();
  if (!name) {
    ASN1_IA5STRING_free(s);
    ossl::throw_openssl("cannot build a general name");
  }
  GENERAL_NAME_set0_value(name, type, s);
  return name;
}

GeneralNames one_name(GENERAL_NAME* name) {
  GeneralNames names(GENERAL_NAMES_new());
  if (!names || !sk_GENERAL_NAME_push(names.get(), name)) {
    GENERAL_NAME_free(name);
    ossl::throw_openssl("cannot build general names");
  }
  return names;
}

struct KeyUsageBit {
  const char* name;
  int bit;
};
// RFC 5280 4.2.1.3, named as OpenSSL's configuration names them.
const KeyUsageBit kKeyUsageBits[] = {
    {"digitalSignature", 0}, {"nonRepudiation", 1}, {"keyEncipherment", 2}, {"dataEncipherment", 3},
    {"keyAgreement", 4},     {"keyCertSign", 5},    {"cRLSign", 6},         {"encipherOnly", 7},
    {"decipherOnly", 8}};

}  // namespace

ossl::Ext make_basic_constraints_ext(bool ca, std::optional<long> path_length) {
  BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
  if (!bc) ossl::throw_openssl("BASIC_CONSTRAINTS_new");
  bc->ca = ca ? 0xff : 0;
  if (path_length) {
    bc->pathlen = ASN1_INTEGER_new();
    if (!bc->pathlen || ASN1_INTEGER_set(bc->pathlen, *path_length) != 1) {
      BASIC_CONSTRAINTS_free(bc);
      ossl::throw_openssl("cannot build basicConstraints");
    }
  }
  auto ext = encode(NID_basic_constraints, true, bc, "cannot build basicConstraints");
  BASIC_CONSTRAINTS_free(bc);
  return ext;
}

ossl::Ext make_key_usage_ext(const std::vector<std::string>& usages) {
  ASN1_BIT_STRING* bits = ASN1_BIT_STRING_new();
  if (!bits) ossl::throw_openssl("ASN1_BIT_STRING_new");
  for (const auto& u : usages) {
    const KeyUsageBit* found = nullptr;
    for (const auto& k : kKeyUsageBits)
      if (u == k.name) found = &k;
    if (!found || ASN1_BIT_STRING_set_bit(bits, found->bit, 1) != 1) {
      ASN1_BIT_STRING_free(bits);
      throw Error(ErrorKind::config, "unknown key usage '" + u + "'");
    }
  }
  auto ext = encode(NID_key_usage, true, bits, "cannot build keyUsage");
  ASN1_BIT_STRING_free(bits);
  return ext;
}

ossl::Ext make_extended_key_usage_ext(const std::vector<std::string>& purposes, bool critical) {
  EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
  if (!eku) ossl::throw_openssl("cannot build extendedKeyUsage");
  for (const auto& p : purposes) {
    int nid = OBJ_sn2nid(p.c_str());
    ASN1_OBJECT* oid = nid == NID_undef ? nullptr : OBJ_nid2obj(nid);
    if (!oid || !sk_ASN1_OBJECT_push(eku, oid)) {
      sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
      throw Error(ErrorKind::config, "unknown extended key usage '" + p + "'");
    }
  }
  auto ext = encode(NID_ext_key_usage, critical, eku, "cannot build extendedKeyUsage");
  sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  return ext;
}

ossl::Ext make_ocsp_no_check_ext() {
  ASN1_NULL* null = ASN1_NULL_new();
  if (!null) ossl::throw_openssl("ASN1_NULL_new");
  auto ext = encode(NID_id_pkix_OCSP_noCheck, false, null, "cannot build OCSP noCheck");
  ASN1_NULL_free(null);
  return ext;
}

ossl::Ext make_crl_distribution_point_ext(const std::string& uri) {
  GeneralNames names = one_name(ia5_name(GEN_URI, uri, "the CRL distribution point"));
  CRL_DIST_POINTS* points = sk_DIST_POINT_new_null();
  DIST_POINT* point = DIST_POINT_new();
  DIST_POINT_NAME* dp_name = DIST_POINT_NAME_new();
  if (!points || !point || !dp_name) {
    sk_DIST_POINT_free(points);
    DIST_POINT_free(point);
    DIST_POINT_NAME_free(dp_name);
    ossl::throw_openssl("cannot build cRLDistributionPoints");
  }
  dp_name->type = 0;   // fullName
  dp_name->name.fullname = names.release();
  point->distpoint = dp_name;
  if (!sk_DIST_POINT_push(points, point)) {
    DIST_POINT_free(point);
    sk_DIST_POINT_free(points);
    ossl::throw_openssl("cannot build cRLDistributionPoints");
  }
  auto ext = encode(NID_crl_distribution_points, false, points, "cannot build cRLDistributionPoints");
  sk_DIST_POINT_pop_free(points, DIST_POINT_free);
  return ext;
}

ossl::Ext make_ca_issuers_ext(const std::string& uri) { return make_aia_ext(uri, ""); }

ossl::Ext make_aia_ext(const std::string& ca_issuers, const std::string& ocsp) {
  JITSUIN_ARG_CHECK(!ca_issuers.empty() || !ocsp.empty(), "authorityInfoAccess needs an address");
  AUTHORITY_INFO_ACCESS* aia = sk_ACCESS_DESCRIPTION_new_null();
  if (!aia) ossl::throw_openssl("cannot build authorityInfoAccess");
  auto add = [&](int method, const std::string& uri, const char* what) {
    if (uri.empty()) return;
    GENERAL_NAME* location = nullptr;
    try {
      location = ia5_name(GEN_URI, uri, what);
    } catch (...) {
      sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
      throw;
    }
    ACCESS_DESCRIPTION* ad = ACCESS_DESCRIPTION_new();
    if (!ad) {
      GENERAL_NAME_free(location);
      sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
      ossl::throw_openssl("cannot build authorityInfoAccess");
    }
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(method);
    GENERAL_NAME_free(ad->location);
    ad->location = location;
    if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
      ACCESS_DESCRIPTION_free(ad);
      sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
      ossl::throw_openssl("cannot build authorityInfoAccess");
    }
  };
  // RFC 5280 4.2.2.1: one extension; the OCSP responder first, as the CA/Browser profiles list it.
  add(NID_ad_OCSP, ocsp, "the OCSP address");
  add(NID_ad_ca_issuers, ca_issuers, "the caIssuers address");
  auto ext = encode(NID_info_access, false, aia, "cannot build authorityInfoAccess");
  sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
  return ext;
}

ossl::Ext make_email_san_ext(const std::string& address) {
  GeneralNames names = one_name(ia5_name(GEN_EMAIL, address, "the e-mail address"));
  return encode(NID_subject_alt_name, false, names.get(), "cannot build subjectAltName");
}

ossl::Ext make_server_san_ext(const std::vector<std::string>& names) {
  if (names.empty()) throw Error(ErrorKind::invalid_input, "a TLS server certificate needs at least one server name");
  GeneralNames out(GENERAL_NAMES_new());
  if (!out) ossl::throw_openssl("GENERAL_NAMES_new");
  for (const auto& name : names) {
    GENERAL_NAME* gn = nullptr;
    if (ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str())) {
      gn = GENERAL_NAME_new();
      if (!gn) {
        ASN1_OCTET_STRING_free(ip);
        ossl::throw_openssl("GENERAL_NAME_new");
      }
      GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
    } else {
      std::string_view host = name;
      if (host.starts_with("*.")) host.remove_prefix(2);
      bool ok = !host.empty() && host.size() <= 253 && host.front() != '.' && host.back() != '.' &&
                host.find("..") == std::string_view::npos &&
                std::all_of(host.begin(), host.end(), [](unsigned char c) {
                  return std::isalnum(c) || c == '-' || c == '.';
                });
      if (!ok) throw Error(ErrorKind::invalid_input, "server name '" + name + "' is neither a DNS name nor an IP address");
      gn = ia5_name(GEN_DNS, name, "the server name");
    }
    if (!sk_GENERAL_NAME_push(out.get(), gn)) {
      GENERAL_NAME_free(gn);
      ossl::throw_openssl("cannot build subjectAltName");
    }
  }
  return encode(NID_subject_alt_name, false, out.get(), "cannot build subjectAltName");
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
