#pragma once
// Helpers for the hsm tests: software keys and certificates made with OpenSSL, signing with a
// token key, and pkcs11-tool (OpenSC) as an independent view of what is on a token.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "jitsuin/core/openssl.h"
#include "jitsuin/hsm/pkcs11.h"
#include "support/support.h"

namespace jitsuin::test {

/// A fresh software EC P-256 key (for CA certificates of a test chain).
ossl::PKey software_key();

/// A certificate for subject_key's public key, signed by signer (self-signed when they are the same).
ossl::Cert make_cert(EVP_PKEY* subject_key, const std::string& cn, EVP_PKEY* signer, const std::string& issuer_cn,
                     bool ca);

/// Signs data with a key (SHA-256; PKCS#1 v1.5 for RSA, ECDSA for EC).
Bytes sign(EVP_PKEY* key, const std::string& data);

/// Verifies with the `openssl` command line, given the public key as PEM; returns its exit status
/// and output.
CommandResult openssl_verify(const TempDir& dir, EVP_PKEY* key, const std::string& data, const Bytes& signature);

/// The public half of a key as PEM.
std::string public_pem(EVP_PKEY* key);

/// pkcs11-tool on the SoftHSM2 module, logged in to the token with the label; args appended.
CommandResult pkcs11_tool(const std::string& token_label, const std::string& pin, const std::string& args);

/// The "Private Key Object" / "Certificate Object" blocks of `pkcs11-tool --list-objects`, one string each.
std::vector<std::string> pkcs11_tool_objects(const std::string& token_label, const std::string& pin,
                                             const std::string& kind);

}  // namespace jitsuin::test
