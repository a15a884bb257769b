#pragma once
// The seam between code that signs and where keys live. ca/, and later contract/ and the TSA,
// receive Signers from a KeyStore and never see tokens, slots, PINs or PKCS#11 URIs. The
// implementation is chosen by `hsm.type` through open_key_store(); "pkcs11" (libp11 over any
// PKCS#11 module, SoftHSM2 embedded by default) is the one backend today. A network HSM or a
// cloud KMS would be a second implementation of this interface and one more case in the factory.
#include <memory>
#include <string>

#include <openssl/evp.h>

#include "jitsuin/config/config.h"

namespace jitsuin::hsm {

/// Key algorithms generated in a key store.
enum class KeyAlgorithm { rsa2048, rsa3072, rsa4096, p256, p384 };
KeyAlgorithm parse_key_algorithm(const std::string& name);   ///< throws invalid_input
std::string key_algorithm_name(KeyAlgorithm alg);             ///< "rsa2048", "p256", ...

/// A private key that signs where it lives. pkey() is an EVP_PKEY usable with every OpenSSL
/// signing API (X509_sign_ctx, CMS, TS_RESP, OCSP); the key material never leaves the store.
class Signer {
 public:
  virtual ~Signer() = default;
  /// The key as OpenSSL sees it. Valid while this Signer lives.
  virtual EVP_PKEY* pkey() const = 0;
  /// How the store finds this key again (kept in the database; for PKCS#11 an RFC 7512 URI).
  virtual const std::string& reference() const = 0;
  /// "RSA-3072", "EC P-256".
  virtual const std::string& description() const = 0;
};

/// Where keys are generated and found. Opening a store is cheap and touches no device: the
/// backend opens its session (and logs in) on the first generate() or find(), so commands that
/// never sign never open a token session. Safe to use from several threads.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  /// The backend's type, as in `hsm.type`.
  virtual const std::string& type() const = 0;
  /// Generates a new key pair named `name`; the private key is never extractable.
  virtual std::shared_ptr<Signer> generate(const std::string& name, KeyAlgorithm alg) = 0;
  /// The key a reference (Signer::reference()) names. Throws not_found when it is not there.
  virtual std::shared_ptr<Signer> find(const std::string& reference) = 0;
};

/// The key store that `config.hsm.type` names. With `provision` and the embedded SoftHSM2, a
/// missing token is created on first use (`ca init`). An unknown type is a start-up error
/// (ErrorKind::config).
std::unique_ptr<KeyStore> open_key_store(const config::Config& config, bool provision = false);

/// Which PIN of the CA's token proves custody of the CA.
enum class TokenPin { user, so };

/// Checks a PIN against the CA's token itself (config.hsm): a login as user or security officer and
/// a logout, no key loaded, nothing provisioned. True when the token accepts it, false when it
/// refuses it (wrong PIN); throws for anything else (no token, PIN locked, module failure). For the
/// break-glass and start-up approvals of ra/ (through ca::verify_custody_pin).
bool verify_token_pin(const config::Config& config, TokenPin which, const std::string& pin);

}  // namespace jitsuin::hsm
