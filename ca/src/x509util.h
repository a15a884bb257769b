#pragma once
// Internal helpers of ca/ for building certificates.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

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

/// A random serial of a certificate in CRL partition `partition` (see kCrlPartitionKey): 16 bytes,
/// the marker byte 0x3f (which random_serial() never starts with), the partition number (4 bytes,
/// big-endian), then 11 random bytes (88 bits of entropy, above the 64 bits CAs use at least).
Bytes partitioned_serial(std::uint32_t partition);
/// The partition a serial (its magnitude, as stored) names, or nullopt for any other serial.
std::optional<std::uint32_t> serial_partition(std::span<const std::uint8_t> serial);

/// ASN1_INTEGER from serial content bytes.
ossl::Integer serial_integer(const Bytes& serial);

// Extensions, each built from ASN.1 objects: no value ever passes through OpenSSL's configuration
// syntax (X509V3_EXT_nconf), where a comma or a "DNS:" inside data would add names of its own.
// Criticality as RFC 5280 and the profiles want it: basicConstraints and keyUsage critical,
// extendedKeyUsage as asked, the others not.

/// basicConstraints (critical): cA, and pathLenConstraint when given.
ossl::Ext make_basic_constraints_ext(bool ca, std::optional<long> path_length = std::nullopt);
/// keyUsage (critical) from OpenSSL's names of the bits (digitalSignature ... decipherOnly).
ossl::Ext make_key_usage_ext(const std::vector<std::string>& usages);
/// extendedKeyUsage from OpenSSL's short names of the purposes (serverAuth, emailProtection ...).
ossl::Ext make_extended_key_usage_ext(const std::vector<std::string>& purposes, bool critical);
/// id-pkix-ocsp-nocheck (NULL).
ossl::Ext make_ocsp_no_check_ext();
/// cRLDistributionPoints: one distribution point whose fullName is the one URI.
ossl::Ext make_crl_distribution_point_ext(const std::string& uri);
/// authorityInfoAccess with one caIssuers URI.
ossl::Ext make_ca_issuers_ext(const std::string& uri);
/// authorityInfoAccess with an id-ad-ocsp URI and a caIssuers URI, each left out when empty (not both).
ossl::Ext make_aia_ext(const std::string& ca_issuers, const std::string& ocsp);
/// subjectAltName holding exactly one rfc822Name: the address as given, an IA5String, whatever
/// characters it holds (printable ASCII only; the address is checked by is_valid_email before).
ossl::Ext make_email_san_ext(const std::string& address);
/// subjectAltName of a TLS server: each name an iPAddress when it parses as IPv4/IPv6, else a
/// dNSName (letters, digits, '-', '.', a leading "*." allowed). Throws invalid_input naming a bad one.
ossl::Ext make_server_san_ext(const std::vector<std::string>& names);
ossl::Ext make_key_id_ext(int nid, const Bytes& key_id);   ///< SKI or AKI(keyid)
ossl::Ext make_policies_ext(const std::vector<config::PolicyConfig>& policies);
void add_ext(X509* cert, const X509_EXTENSION* ext);

/// Signs the certificate with the CA key (on the token).
void sign(X509* cert, EVP_PKEY* key);

}  // namespace jitsuin::ca::detail
