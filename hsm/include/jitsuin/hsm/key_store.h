#pragma once
// The seam between code that signs and where keys live. ca/, and later contract/ and the TSA,
// receive Signers from a KeyStore and never see tokens, slots, PINs or PKCS#11 URIs. The
// implementation is chosen by `hsm.type` through open_key_store(); "pkcs11" (libp11 over any
// PKCS#11 module, SoftHSM2 embedded by default) is the one backend today. A network HSM or a
// cloud KMS would be a second implementation of this interface and one more case in the factory.
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "jitsuin/config/config.h"
#include "jitsuin/core/openssl.h"

namespace jitsuin::hsm {

/// Key algorithms generated in a key store.
enum class KeyAlgorithm { rsa2048, rsa3072, rsa4096, p256, p384 };
KeyAlgorithm parse_key_algorithm(const std::string& name);   ///< throws invalid_input
std::string key_algorithm_name(KeyAlgorithm alg);             ///< "rsa2048", "p256", ...

/// What a key generated on a token may do besides signing: decrypt (RSA: CKA_DECRYPT and
/// CKA_UNWRAP, for a certificate with keyEncipherment, as S/MIME key transport needs) and derive
/// (EC: CKA_DERIVE, for keyAgreement). Each is set explicitly, true or false.
struct KeyUses {
  bool decrypt = false;
  bool derive = false;
  /// The uses a certificate's keyUsage names (RFC 5280 names: keyEncipherment, dataEncipherment,
  /// keyAgreement); signing is always allowed.
  static KeyUses for_key_usage(const std::vector<std::string>& key_usage);
};

/// Keeps a key store usable by the thread that holds it (Signer::hold()); released when destroyed.
class KeyHold {
 public:
  virtual ~KeyHold() = default;
};

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
  /// To be kept alive across each signing call made with pkey() (X509_sign_ctx, X509_CRL_sign_ctx,
  /// EVP_DigestSignFinal, OCSP_basic_sign, CMS ...), and no longer: `auto hold = signer.hold();`.
  /// With the embedded SoftHSM2 it holds the home's token lock (see open_key_store), waiting up
  /// to hsm.lock_wait_seconds and then throwing Error(hsm); other stores return no guard (null).
  /// Using pkey()'s public half (key identifiers, fingerprints) needs no hold.
  [[nodiscard]] virtual std::unique_ptr<KeyHold> hold() const { return nullptr; }
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
  /// Destroys the key pair a reference names (a key replaced by a new one): its private and
  /// public halves; the reference must name the key by id. Returns how many objects went (0 when
  /// it was not there). Signers of that key must not sign again.
  virtual int remove(const std::string& reference) = 0;
};

/// An EVP_PKEY for a caller that cannot hold the store around each signing call, such as a TLS
/// server, which signs inside asynchronous handshakes: every signature made with it takes
/// signer->hold() itself, and fails (as OpenSSL sees it: no signature) when the hold cannot be
/// had. It keeps the signer alive while it lives. EC keys only (throws invalid_input otherwise).
ossl::PKey self_holding_pkey(std::shared_ptr<const Signer> signer);

/// The embedded SoftHSM2 token's state file was found empty or unreadable when the token was
/// opened and was put back from its verified copy. hsm/ has no database: the caller records it.
struct TokenRestored {
  std::string token_file;    ///< the live state file that was restored (HOME/tokens/<dir>/token.object)
  std::string backup_file;   ///< the verified copy it was restored from (HOME/token-backup/<dir>/token.object)
  std::string reason;        ///< what was wrong with the live file ("empty", "unreadable: ...", ...)
  std::string sha256;        ///< hex SHA-256 of the restored content
  std::string restore_id;    ///< random hex; the same if a report is repeated after a crash
};

/// What a key store reports upward while it works. Called on the thread that first uses the
/// store, before anything is signed, while no database transaction of the store's caller is
/// open (keys are used before the write transaction). An exception thrown by a callback fails the
/// operation; the report is then repeated at the next opening of the token.
struct KeyStoreObserver {
  std::function<void(const TokenRestored&)> token_restored;
};

/// The key store that `config.hsm.type` names. With `provision` and the embedded SoftHSM2, a
/// missing token is created on first use (`ca init`). An unknown type is a start-up error
/// (ErrorKind::config).
///
/// The embedded SoftHSM2 token (hsm.embedded_softhsm) gets three protections that a real HSM
/// needs none of, because SoftHSM2's file backend rewrites the token's state file
/// (tokens/<dir>/token.object: truncate, then write, no fsync, no rename) at every login:
/// - One lock per home, HOME/token.lock (flock), serialises every use of the token by jitsuin
///   processes: opening and login (and the checks, restore and copy below), key generation, key
///   lookup, and each signature (Signer::hold()). It is held per operation, not per process: a
///   process keeps its PKCS#11 session and login, and other processes use the token between its
///   operations. The threads of one process share one hold (see TokenLock for the rules that keep
///   a busy process from starving others). A process waits for it up to hsm.lock_wait_seconds,
///   then fails with ErrorKind::hsm. The kernel drops the lock when its process dies, even by
///   kill -9.
/// - A verified copy of the state file, HOME/token-backup/<dir>/token.object (folder 0700, file
///   0600), written atomically (write, fsync, rename, fsync the folder, read back and compared)
///   when the token is created (`ca init`), when none exists yet, and whenever the file's PINs,
///   label or serial differ from the copy's (a PIN changed by any tool is picked up at the next
///   opening).
/// - Under the lock, before the module is loaded: a live state file that is missing, empty or
///   unreadable is restored from the copy (atomically), a warning goes to stderr and
///   `observer.token_restored` is called; also when SoftHSM2 reports the token missing while a
///   copy for its label differs from the live file.
std::unique_ptr<KeyStore> open_key_store(const config::Config& config, bool provision = false,
                                         KeyStoreObserver observer = {});

/// A signing key named by an RFC 7512 URI, and the certificates stored beside it.
struct TokenKey {
  std::shared_ptr<Signer> signer;
  /// DER of the certificates on the key's token whose public key is the key's (empty when the
  /// key was found through the home's key store).
  std::vector<std::vector<std::uint8_t>> certificates;
};

/// A key that signs documents (jitsuin pdf sign): the private key a PKCS#11 URI names (object=
/// and/or id=; token=, serial=... pick the token, module-path= the module, else hsm.module). With
/// `pin`, that token is opened and logged in with it (a person's or a service's token). Without,
/// the key is looked up in the home's own key store (the CA token, with its PIN from hsm.pin_file
/// or hsm.pin_env, under the home's token lock), as the CA's own signing does. Throws not_found
/// when the key is not there, unauthenticated on a wrong PIN.
TokenKey open_token_key(const config::Config& config, const std::string& uri, const std::optional<std::string>& pin);

/// Which PIN of the CA's token proves custody of the CA.
enum class TokenPin { user, so };

/// Checks a PIN against the CA's token itself (config.hsm): a login as user or security officer and
/// a logout, no key loaded, nothing provisioned. True when the token accepts it, false when it
/// refuses it (wrong PIN); throws for anything else (no token, PIN locked, module failure). For the
/// break-glass and start-up approvals of ra/ (through ca::verify_custody_pin).
bool verify_token_pin(const config::Config& config, TokenPin which, const std::string& pin);

}  // namespace jitsuin::hsm
