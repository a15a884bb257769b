#pragma once
// The applicant's token as the local agent `jitsuin token` (EN-3, EN-4) uses it: any PKCS#11
// module (SoftHSM2 by default, OpenSC's or a vendor's eToken module in real use), a token chosen
// by label, serial or RFC 7512 URI, its PINs, a key pair generated on it with a PKCS#10 request
// signed there, and the certificates written beside the key. The second door into hsm/ besides
// the key-store seam (key_store.h): plain types only, no libp11 or CK_* (tests/layering.sh).
// Errors say what an applicant should do (token not found, PIN wrong with the tries the token
// reports, PIN locked → `jitsuin token unblock`, token full, token not initialised).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "jitsuin/core/openssl.h"
#include "jitsuin/core/util.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::hsm {

class Token;

/// PIN policy for user and SO PINs: at least 4 half-width printable ASCII characters (the token may
/// demand more). Throws invalid_input naming `which`. (Also declared in pkcs11.h.)
void check_pin_policy(const std::string& pin, const char* which);

namespace agent {

/// SoftHSM2's module, the default of `--module`.
inline constexpr const char* kDefaultModule = "/usr/lib/softhsm/libsofthsm2.so";

/// One token as its module reports it (flags read fresh).
struct TokenState {
  unsigned long slot_id = 0;
  std::string slot_description, label, manufacturer, model, serial;
  bool initialized = false, user_pin_initialized = false;
  bool user_pin_count_low = false, user_pin_final_try = false, user_pin_locked = false;
  bool so_pin_count_low = false, so_pin_final_try = false, so_pin_locked = false;
  /// CKF_SO_PIN_TO_BE_CHANGED as the token reports it: opencryptoki because its admin PIN is the
  /// maker's default, SoftHSM2 on every new token (which has no admin PIN yet). Not a rule to act on.
  bool so_pin_to_be_changed = false;
  unsigned long min_pin_len = 0, max_pin_len = 0;   ///< PIN lengths the token accepts (0: not reported)
  std::string uri;   ///< RFC 7512: pkcs11:model=...;manufacturer=...;serial=...;token=...
};

/// One object on a token.
struct TokenObject {
  std::string kind;       ///< "private key", "public key", "certificate"
  std::string label;
  Bytes id;               ///< CKA_ID
  std::string detail;     ///< key type and size, or certificate subject
  std::string not_after;  ///< certificates: end of validity (RFC 3339, UTC)
  Bytes der;              ///< certificates: the DER value
};

/// What an applicant does when the token is full (CKR_DEVICE_MEMORY, or a write that did not stay):
/// free space, then run the same enrollment again (English, then Japanese).
std::string token_full_message(const std::string& token_label);

/// Every token the module offers (initialised or not).
std::vector<TokenState> list_tokens(const std::filesystem::path& module);

/// A key pair just generated on the token and the PKCS#10 request its private key signed.
struct NewKey {
  Bytes id;                  ///< fresh random CKA_ID shared by both halves (and later the certificate)
  std::string label;
  std::string description;   ///< "EC P-256", "RSA-2048"
  std::string csr_pem;
};

/// A token of a module, chosen by a selector: an RFC 7512 URI ("pkcs11:token=...;serial=..."),
/// "serial=XXXX", or a token label; empty selects the only initialised token (an error when there
/// are none or several). Not-found errors list the tokens that are there.
class AgentToken {
 public:
  /// with_uninitialized: also an uninitialised token (for `token init`); an empty selector then
  /// means the first uninitialised one when no initialised token matches.
  static AgentToken open(const std::filesystem::path& module, const std::string& selector,
                         bool with_uninitialized = false);
  ~AgentToken();
  AgentToken(AgentToken&&) noexcept;
  AgentToken& operator=(AgentToken&&) noexcept;

  TokenState state() const;
  /// The module the token was opened through (--module, or the selector URI's module-path).
  const std::filesystem::path& module() const { return module_; }
  /// Public objects; with a user PIN also the private ones (logs in).
  std::vector<TokenObject> objects(const std::optional<std::string>& user_pin);

  /// Initialises the token: every object is destroyed, the label set, the user PIN set. An
  /// initialised token, or a new one whose maker set an SO PIN (opencryptoki, many smart cards),
  /// needs its current SO PIN (PKCS#11 C_InitToken); new_so_pin then replaces it. A new token that
  /// refuses new_so_pin gets a message naming `token init --factory-admin-pin`. PINs outside the
  /// token's reported length range are refused before the token is touched.
  void initialize(const std::optional<std::string>& current_so_pin, const std::string& new_so_pin,
                  const std::string& label, const std::string& user_pin);
  void change_user_pin(const std::string& old_pin, const std::string& new_pin);
  void change_so_pin(const std::string& old_so_pin, const std::string& new_so_pin);
  /// SO login + C_InitPIN: a new user PIN, also for a locked one.
  void unblock(const std::string& so_pin, const std::string& new_user_pin);

  /// Logs the user in (needed by the calls below).
  void login(const std::string& user_pin);
  /// Generates a key pair on the token (sensitive, never extractable, token objects, a fresh
  /// random CKA_ID, the label; decrypting or deriving only as `uses` says) and a PKCS#10 request
  /// with subject CN=common_name signed by it.
  NewKey generate_key_and_csr(KeyAlgorithm alg, const std::string& label, const std::string& common_name,
                              KeyUses uses = {});
  /// Whether the token can generate a key pair of this algorithm (opencryptoki's soft token of
  /// Debian 12 has no EC mechanisms, for one).
  bool can_generate(KeyAlgorithm alg) const;
  /// Whether the certificate's public key is that of the private key with this CKA_ID.
  bool key_matches(const Bytes& id, X509* cert);
  /// Writes the end-entity certificate with the key's CKA_ID and `label`, and each chain
  /// certificate with its subject key identifier as CKA_ID and its subject's CN as label (a
  /// certificate already on the token with the same DER is not written twice).
  void store_certificates(const Bytes& key_id, const std::string& label, X509* cert, const std::vector<X509*>& chain);
  /// DER of every certificate on the token.
  std::vector<Bytes> certificates();

 private:
  AgentToken(std::unique_ptr<Token> t, std::filesystem::path module);
  std::unique_ptr<Token> t_;
  std::filesystem::path module_;
};

}  // namespace agent
}  // namespace jitsuin::hsm
