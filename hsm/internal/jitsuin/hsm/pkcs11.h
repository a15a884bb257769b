#pragma once
// The only door to PKCS#11 in jitsuin. Built on libp11 (module loading, slots, sessions, login,
// token initialisation, PIN management, certificate objects, private keys as EVP_PKEY), plus one
// raw C_GenerateKeyPair call because libp11 0.4.12 cannot generate EC keys and does not mark the
// keys it generates non-extractable. Nothing outside hsm/ sees libp11 or CK_* types.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/core/error.h"
#include "jitsuin/core/util.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/hsm/key_store.h"
#include "jitsuin/hsm/uri.h"

namespace jitsuin::hsm {

/// A PKCS#11 failure with its CK_RV; the message says what it means to a person.
class HsmError : public Error {
 public:
  HsmError(const std::string& what, unsigned long rv, ErrorKind kind = ErrorKind::hsm)
      : Error(kind, what, static_cast<long>(rv)) {}
  unsigned long rv() const noexcept { return static_cast<unsigned long>(native_code()); }
};

/// Name of a CK_RV ("CKR_PIN_INCORRECT") and a sentence for people.
std::string rv_name(unsigned long rv);

/// PIN policy for user and SO PINs: at least 4 printable ASCII characters (the token may demand more).
void check_pin_policy(const std::string& pin, const char* which);

/// What a token says about itself, read fresh from the module.
struct TokenInfo {
  unsigned long slot_id = 0;
  std::string slot_description;
  std::string label, manufacturer, model, serial;
  bool present = false;
  bool initialized = false;
  bool user_pin_initialized = false;
  bool user_pin_count_low = false;   ///< a wrong user PIN was entered recently
  bool user_pin_final_try = false;   ///< one more wrong user PIN locks it
  bool user_pin_locked = false;
  bool so_pin_count_low = false;
  bool so_pin_final_try = false;
  bool so_pin_locked = false;
  bool so_pin_to_be_changed = false;   ///< CKF_SO_PIN_TO_BE_CHANGED, as reported
  unsigned long min_pin_len = 0, max_pin_len = 0;   ///< as the token reports them (0: not reported)
  std::string uri() const;   ///< pkcs11:model=...;manufacturer=...;serial=...;token=...
};

/// One object on a token, for listings.
struct ObjectInfo {
  std::string kind;    ///< "private key", "public key", "certificate"
  std::string label;
  Bytes id;
  std::string detail;  ///< key type and size, or certificate subject
  Bytes der;           ///< certificates: the DER value
};

namespace detail {
struct ModuleState;
}

/// A private key that lives on a token and signs there. pkey() is an EVP_PKEY usable with every
/// OpenSSL signing API; the key material never leaves the token.
class PrivateKey {
 public:
  /// Throws HsmError(conflict) once the token was logged out, logged in again or initialised since
  /// the key was found: libp11 frees its key objects then, so find the key again after a login.
  EVP_PKEY* pkey() const;
  const std::string& label() const { return label_; }
  const Bytes& id() const { return id_; }
  /// "RSA-2048", "EC P-256".
  const std::string& description() const { return description_; }

 private:
  friend class Token;
  std::shared_ptr<detail::ModuleState> module_;   // keeps libp11 objects alive
  std::size_t slot_index_ = 0;
  std::uint64_t generation_ = 0;                   // login generation the key was found in
  ossl::PKey pkey_;
  std::string label_;
  Bytes id_;
  std::string description_;
};

/// A token in a slot. Cheap to copy; all copies refer to the same slot.
class Token {
 public:
  /// Fresh token information (flags included).
  TokenInfo info() const;

  /// Logs the user in. The PIN is always checked by the token, also when the slot is already logged
  /// in (any earlier login is ended first). A wrong PIN throws HsmError(unauthenticated) saying what
  /// the token reports (tries low, final try, locked). Keys found before must be found again.
  void login(const std::string& pin);
  /// Logs the security officer in (ending any user login first).
  void login_so(const std::string& so_pin);
  /// Ends any login. Keys found before must be found again after the next login.
  void logout();

  /// Initialises the token: destroys every object on it, sets the label and the SO PIN, then the
  /// user PIN. On an initialised token the current SO PIN is required (PKCS#11 C_InitToken).
  void initialize(const std::string& so_pin, const std::string& label, const std::string& user_pin);
  /// Changes the user PIN (logs in with the old one).
  void change_user_pin(const std::string& old_pin, const std::string& new_pin);
  /// Changes the SO PIN.
  void change_so_pin(const std::string& old_so_pin, const std::string& new_so_pin);
  /// Sets a new user PIN with the SO PIN; unblocks a locked user PIN.
  void unblock_user_pin(const std::string& so_pin, const std::string& new_user_pin);

  /// Generates a key pair on the token (needs a user login). The private key is sensitive and
  /// never extractable, signs, and decrypts or derives only as `uses` says. Refuses an id already in use.
  PrivateKey generate_key(KeyAlgorithm alg, const std::string& label, const Bytes& id, KeyUses uses = {});
  /// Whether the token offers the key-pair generation mechanism for alg (C_GetMechanismInfo:
  /// CKF_GENERATE_KEY_PAIR, and for RSA the modulus size within the reported range).
  bool can_generate(KeyAlgorithm alg) const;
  /// Finds a private key by label and/or id (needs a user login). Throws not_found.
  PrivateKey find_key(const std::optional<std::string>& label, const std::optional<Bytes>& id);
  /// Finds a private key named by a URI's object/id attributes.
  PrivateKey find_key(const Pkcs11Uri& uri) { return find_key(uri.object, uri.id); }

  /// Stores a certificate object with the given label and CKA_ID (same id as its key).
  void store_certificate(X509* cert, const std::string& label, const Bytes& id);
  /// Removes every certificate object with this CKA_ID; returns how many.
  int remove_certificates(const Bytes& id);
  /// Destroys the key pair with this CKA_ID: its private and public key objects (needs a user
  /// login); returns how many objects. Keys found before with this id must not be used again.
  int remove_key_pair(const Bytes& id);
  /// DER of every certificate object on the token.
  std::vector<Bytes> certificates();
  /// Everything visible on the token (private objects only after login).
  std::vector<ObjectInfo> objects();

 private:
  friend class Module;
  void login_role(const std::string& pin, bool so);
  // With the module mutex held: logs out and drops libp11's object cache.
  void reset_login_locked();
  // With the module mutex held: C_SetPIN (old to new) or C_InitPIN (new) in the current login.
  void set_pin_locked(const std::string& old_pin, const std::string& new_pin, bool init_pin, const char* what);
  // find_key with the module mutex already held.
  std::optional<PrivateKey> find_key_locked(const std::optional<std::string>& label, const std::optional<Bytes>& id);
  Token(std::shared_ptr<detail::ModuleState> m, std::size_t slot_index) : m_(std::move(m)), slot_index_(slot_index) {}
  std::shared_ptr<detail::ModuleState> m_;
  std::size_t slot_index_;
};

/// A loaded PKCS#11 module. load() returns the same instance for the same path while it is alive,
/// because a module process-wide has one C_Initialize/C_Finalize state.
class Module {
 public:
  static std::shared_ptr<Module> load(const std::filesystem::path& module_path);
  /// Every slot that has a token, with fresh token information.
  std::vector<TokenInfo> tokens() const;
  /// The token a URI names (token label, serial, manufacturer, model, slot-id). Throws not_found
  /// "token not present" when none matches, invalid_input when several do. Uninitialised tokens
  /// are skipped unless with_uninitialized (for an agent that initialises them).
  Token open(const Pkcs11Uri& uri, bool with_uninitialized = false) const;
  /// The first slot with an uninitialised token (SoftHSM2 always offers one).
  Token open_uninitialized() const;
  const std::filesystem::path& path() const;

  explicit Module(std::shared_ptr<detail::ModuleState> m) : m_(std::move(m)) {}

 private:
  std::shared_ptr<detail::ModuleState> m_;
};

}  // namespace jitsuin::hsm
