#include "jitsuin/hsm/key_store.h"

#include <map>
#include <mutex>
#include <optional>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "jitsuin/hsm/pkcs11.h"
#include "jitsuin/hsm/softhsm.h"

namespace jitsuin::hsm {

namespace {

// The logged-in token, shared by every store of this process on the same module and token: a
// PKCS#11 login belongs to the slot, so a second login would end the first store's and
// invalidate the keys it handed out. The session and the login stay open for the token's life;
// with the embedded SoftHSM2, every use of it (opening, generation, lookup, each signature) holds
// the home's token lock only for that use (hold()).
struct SharedToken {
  bool embedded = false;
  std::filesystem::path home;
  int lock_wait_seconds = 0;
  std::mutex mutex;   // guards `token` (its opening)
  std::optional<Token> token;

  std::unique_ptr<KeyHold> hold() const {
    if (!embedded) return nullptr;
    return TokenLock::acquire(home, lock_wait_seconds);
  }

  ~SharedToken() {
    // Closing the sessions and finalising the module happen under the lock too.
    std::unique_ptr<KeyHold> lock;
    if (embedded && token) {
      try {
        lock = hold();
      } catch (const std::exception&) {
        // Nothing is written on close: go on without it rather than throw from a destructor.
      }
    }
    token.reset();
  }
};

// A key on a PKCS#11 token. Holds libp11's key object (and through it the module) alive, and the
// shared token: the key is usable only while its session lives.
class Pkcs11Signer final : public Signer {
 public:
  Pkcs11Signer(PrivateKey key, std::string reference, std::shared_ptr<SharedToken> shared)
      : shared_(std::move(shared)), key_(std::move(key)), reference_(std::move(reference)) {}
  EVP_PKEY* pkey() const override { return key_.pkey(); }
  const std::string& reference() const override { return reference_; }
  const std::string& description() const override { return key_.description(); }
  std::unique_ptr<KeyHold> hold() const override { return shared_->hold(); }

 private:
  std::shared_ptr<SharedToken> shared_;   // first: released after the key
  PrivateKey key_;
  std::string reference_;
};

// The CA token as configured (hsm.token, hsm.module, PIN from hsm.pin_env / hsm.pin_file),
// opened and logged in on first use.
class Pkcs11KeyStore final : public KeyStore {
 public:
  Pkcs11KeyStore(const config::Config& config, bool provision, KeyStoreObserver observer)
      : config_(config), provision_(provision), observer_(std::move(observer)) {}

  const std::string& type() const override { return type_; }

  std::shared_ptr<Signer> generate(const std::string& name, KeyAlgorithm alg) override {
    std::lock_guard lock(mutex_);
    auto hold = shared().hold();
    // A fresh random CKA_ID: a key left by an interrupted earlier attempt can never be confused
    // with this one, even under the same label.
    Bytes id = random_bytes(8);
    PrivateKey key = token().generate_key(alg, name, id);
    return std::make_shared<Pkcs11Signer>(std::move(key), reference_of(name, id), shared_);
  }

  std::shared_ptr<Signer> find(const std::string& reference) override {
    auto uri = Pkcs11Uri::parse(reference);
    if (!uri.object && !uri.id)
      throw Error(ErrorKind::invalid_input, "key reference " + reference + " names no key (object= or id=)");
    std::lock_guard lock(mutex_);
    auto hold = shared().hold();
    PrivateKey key = token().find_key(uri);
    return std::make_shared<Pkcs11Signer>(std::move(key), reference, shared_);
  }

  int remove(const std::string& reference) override {
    auto uri = Pkcs11Uri::parse(reference);
    // By id only: labels are shared by a key's generations (jitsuind-tls), ids never are.
    if (!uri.id || uri.id->empty())
      throw Error(ErrorKind::invalid_input, "key reference " + reference + " names no key id (id=): nothing removed");
    std::lock_guard lock(mutex_);
    auto hold = shared().hold();
    return token().remove_key_pair(*uri.id);
  }

 private:
  SharedToken& shared() {
    if (!shared_) {
      static std::mutex registry_mutex;
      static std::map<std::string, std::weak_ptr<SharedToken>> registry;
      std::string id = config_.hsm.module.string() + "\n" + config_.hsm.token;
      std::lock_guard registry_lock(registry_mutex);
      shared_ = registry[id].lock();
      if (!shared_) {
        registry[id] = shared_ = std::make_shared<SharedToken>();
        shared_->embedded = config_.hsm.embedded_softhsm;
        shared_->home = config_.home;
        shared_->lock_wait_seconds = config_.hsm.lock_wait_seconds;
      }
    }
    return *shared_;
  }

  // The caller holds the token (shared().hold()): the embedded SoftHSM2's files are shared with
  // every jitsuin process on this home, and opening checks, restores and copies its state file.
  Token& token() {
    std::lock_guard token_lock(shared_->mutex);
    if (!shared_->token) shared_->token = open_ca_token(config_, provision_, observer_);
    return *shared_->token;
  }

  std::string reference_of(const std::string& name, const Bytes& id) const {
    auto u = Pkcs11Uri::parse(config_.hsm.token);
    u.object = name;
    u.id = id;
    u.type = "private";
    return u.to_string();
  }

  const config::Config& config_;
  bool provision_;
  KeyStoreObserver observer_;
  const std::string type_ = "pkcs11";
  std::mutex mutex_;
  std::shared_ptr<SharedToken> shared_;
};

}  // namespace

TokenKey open_token_key(const config::Config& config, const std::string& reference, const std::optional<std::string>& pin) {
  auto uri = Pkcs11Uri::parse(reference);
  if (!uri.object && !uri.id)
    throw Error(ErrorKind::invalid_input, "key reference " + reference + " names no key (object= or id=)");
  if (!pin) return {open_key_store(config)->find(reference), {}};
  std::filesystem::path module_path = uri.module_path ? std::filesystem::path(*uri.module_path) : config.hsm.module;
  auto shared = std::make_shared<SharedToken>();
  shared->token = Module::load(module_path)->open(uri);
  shared->token->login(*pin);
  PrivateKey key = shared->token->find_key(uri);
  TokenKey out;
  for (auto& der : shared->token->certificates()) {
    const unsigned char* p = der.data();
    ossl::Cert cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (cert && EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.pkey()) == 1) out.certificates.push_back(der);
  }
  ERR_clear_error();
  out.signer = std::make_shared<Pkcs11Signer>(std::move(key), reference, shared);
  return out;
}

std::unique_ptr<KeyStore> open_key_store(const config::Config& config, bool provision, KeyStoreObserver observer) {
  if (config.hsm.type == "pkcs11") return std::make_unique<Pkcs11KeyStore>(config, provision, std::move(observer));
  throw Error(ErrorKind::config, "hsm.type '" + config.hsm.type + "' is not a known key store (known: pkcs11)");
}

}  // namespace jitsuin::hsm
