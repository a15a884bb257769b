#pragma once
// Internal helpers of ca/ for building certificates.
#include <string>

#include "jitsuin/config/config.h"
#include "jitsuin/core/openssl.h"

namespace jitsuin::ca::detail {

/// X.500 name from named fields, in the order C, O, OU, title, CN (emailAddress never: RFC 5280
/// puts e-mail into subjectAltName).
ossl::Name make_name(const config::NameFields& fields, const std::string& country);

/// Digest used with a CA key: SHA-384 for P-384, SHA-256 otherwise.
const EVP_MD* digest_for(EVP_PKEY* key);

/// A random positive serial: 16 bytes, the first in 0x40..0x7f (positive, no leading zero), so
/// 126 bits of entropy.
Bytes random_serial();

/// ASN1_INTEGER from serial content bytes.
ossl::Integer serial_integer(const Bytes& serial);

/// Adds an extension built from OpenSSL's config syntax (value is ours, never caller data).
ossl::Ext make_ext(int nid, const std::string& value);
ossl::Ext make_key_id_ext(int nid, const Bytes& key_id);   ///< SKI or AKI(keyid)
ossl::Ext make_policies_ext(const std::vector<config::PolicyConfig>& policies);
void add_ext(X509* cert, const X509_EXTENSION* ext);

/// Signs the certificate with the CA key (on the token).
void sign(X509* cert, EVP_PKEY* key);

}  // namespace jitsuin::ca::detail
