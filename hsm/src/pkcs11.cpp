#include "jitsuin/hsm/pkcs11.h"

#include <dlfcn.h>
#include <libp11.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

namespace jitsuin::hsm {

namespace detail {

// Everything one loaded module owns. Destroyed when the last Module, Token or PrivateKey goes.
struct ModuleState {
  std::filesystem::path path;
  PKCS11_CTX* ctx = nullptr;
  PKCS11_SLOT* slots = nullptr;
  unsigned int nslots = 0;
  void* dl = nullptr;                       // our own reference for the raw calls
  CK_FUNCTION_LIST_PTR fl = nullptr;
  std::mutex mu;                            // serialises object management on this module
  // Per slot: bumped whenever libp11's object cache is dropped (logout, login, initialisation),
  // which frees the libp11 key objects that earlier PrivateKeys point into.
  std::unique_ptr<std::atomic<std::uint64_t>[]> generation;

  ~ModuleState() {
    if (slots) PKCS11_release_all_slots(ctx, slots, nslots);
    if (ctx) {
      PKCS11_CTX_unload(ctx);
      PKCS11_CTX_free(ctx);
    }
    if (dl) dlclose(dl);
  }
  PKCS11_SLOT* slot(std::size_t i) const { return &slots[i]; }
};

}  // namespace detail

namespace {

using detail::ModuleState;

struct RvName {
  CK_RV rv;
  const char* name;
  const char* meaning;
};

const RvName kRvNames[] = {
    {CKR_OK, "CKR_OK", "success"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR", "the token reported a general error"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED", "the token could not do it"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD", "bad arguments"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID", "an attribute value is invalid"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR", "the token device failed"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED", "the token was removed"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID", "the key is gone"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID", "the token does not support this algorithm"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT", "wrong PIN"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID", "the PIN contains characters the token refuses"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE", "the PIN is too short or too long for this token"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED", "the PIN has expired and must be changed"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED", "the PIN is locked (too many wrong tries); unblock it with the admin (SO) PIN"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY", "the session is read-only"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT", "no token is present in the slot"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED", "the token is not recognised"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED", "the token is write-protected"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN", "already logged in"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN", "not logged in to the token"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED", "the user PIN has not been set; initialise the token"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID", "invalid user type"},
    {CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN", "another user (SO or user) is logged in"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT", "inconsistent key template"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID", "the token does not support this curve"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED", "the module is not initialised"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID", "no such slot"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID", "the session is no longer valid"},
    {CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS", "the token is in use by another session"},
    {CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS", "a read-only session prevents the admin (SO) login"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT", "the token has too many open sessions"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID", "the object is gone"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE", "the attribute is sensitive and cannot be read"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE", "incomplete object template"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE", "the token does not support this key size"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY", "the token is full: no room for more objects"},
};

// libp11 reports failures through OpenSSL's error queue: the reason of a PKCS#11-level error is
// the CK_RV itself. Take the last one and clear the queue.
CK_RV take_libp11_rv() {
  unsigned long e, last = 0;
  while ((e = ERR_get_error()) != 0) last = e;
  return last ? static_cast<CK_RV>(ERR_GET_REASON(last)) : CKR_FUNCTION_FAILED;
}

[[noreturn]] void fail(const std::string& what, CK_RV rv, ErrorKind kind = ErrorKind::hsm) {
  throw HsmError(what + ": " + rv_name(rv), rv, kind);
}

void check_rv(CK_RV rv, const std::string& what) {
  if (rv != CKR_OK) fail(what, rv);
}

std::string trim_padded(const unsigned char* p, std::size_t n) {
  std::string s(reinterpret_cast<const char*>(p), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// An RW session of our own for the raw calls. Login state is per application and token, so
// libp11's login covers it; libp11 keeps its own session open, so closing ours does not log out.
class RawSession {
 public:
  RawSession(ModuleState& m, CK_SLOT_ID slot) : m_(m) {
    check_rv(m_.fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h_),
             "cannot open a session on the token");
  }
  ~RawSession() { m_.fl->C_CloseSession(h_); }
  CK_SESSION_HANDLE handle() const { return h_; }

 private:
  ModuleState& m_;
  CK_SESSION_HANDLE h_ = 0;
};

TokenInfo read_info(ModuleState& m, std::size_t i) {
  PKCS11_SLOT* s = m.slot(i);
  TokenInfo t;
  t.slot_id = PKCS11_get_slotid_from_slot(s);
  t.slot_description = s->description ? s->description : "";
  CK_TOKEN_INFO ti{};
  if (m.fl->C_GetTokenInfo(t.slot_id, &ti) != CKR_OK) return t;
  t.present = true;
  t.label = trim_padded(ti.label, sizeof ti.label);
  t.manufacturer = trim_padded(ti.manufacturerID, sizeof ti.manufacturerID);
  t.model = trim_padded(ti.model, sizeof ti.model);
  t.serial = trim_padded(ti.serialNumber, sizeof ti.serialNumber);
  t.initialized = ti.flags & CKF_TOKEN_INITIALIZED;
  t.user_pin_initialized = ti.flags & CKF_USER_PIN_INITIALIZED;
  t.user_pin_count_low = ti.flags & CKF_USER_PIN_COUNT_LOW;
  t.user_pin_final_try = ti.flags & CKF_USER_PIN_FINAL_TRY;
  t.user_pin_locked = ti.flags & CKF_USER_PIN_LOCKED;
  t.so_pin_count_low = ti.flags & CKF_SO_PIN_COUNT_LOW;
  t.so_pin_final_try = ti.flags & CKF_SO_PIN_FINAL_TRY;
  t.so_pin_locked = ti.flags & CKF_SO_PIN_LOCKED;
  t.so_pin_to_be_changed = ti.flags & CKF_SO_PIN_TO_BE_CHANGED;
  if (ti.ulMinPinLen != CK_UNAVAILABLE_INFORMATION) t.min_pin_len = ti.ulMinPinLen;
  if (ti.ulMaxPinLen != CK_UNAVAILABLE_INFORMATION && ti.ulMaxPinLen >= ti.ulMinPinLen) t.max_pin_len = ti.ulMaxPinLen;
  return t;
}

std::string pin_state(const TokenInfo& t, bool so) {
  if (so ? t.so_pin_locked : t.user_pin_locked) return "the PIN is now locked";
  if (so ? t.so_pin_final_try : t.user_pin_final_try) return "one try left before the PIN locks";
  if (so ? t.so_pin_count_low : t.user_pin_count_low) return "few tries left before the PIN locks";
  return "the token does not report how many tries are left";
}

std::vector<std::uint8_t> curve_der(KeyAlgorithm alg) {
  // DER OBJECT IDENTIFIER of the named curve, as CKA_EC_PARAMS wants it.
  if (alg == KeyAlgorithm::p256) return {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  return {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};  // secp384r1
}

std::string describe(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
    // libp11's EC keys are legacy EC_KEYs; ask the EC_KEY for its curve.
    const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
    int nid = ec ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : 0;
    if (nid == NID_X9_62_prime256v1) return "EC P-256";
    if (nid == NID_secp384r1) return "EC P-384";
    return "EC";
  }
  return ossl::describe_key(pkey);
}

std::map<std::filesystem::path, std::weak_ptr<ModuleState>>& registry() {
  static std::map<std::filesystem::path, std::weak_ptr<ModuleState>> r;
  return r;
}
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::string rv_name(unsigned long rv) {
  for (const auto& n : kRvNames)
    if (n.rv == rv) return std::string(n.name) + " (" + n.meaning + ")";
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%08lx", rv);
  return buf;
}

KeyUses KeyUses::for_key_usage(const std::vector<std::string>& key_usage) {
  auto has = [&](const char* u) { return std::find(key_usage.begin(), key_usage.end(), u) != key_usage.end(); };
  return {has("keyEncipherment") || has("dataEncipherment"), has("keyAgreement")};
}

KeyAlgorithm parse_key_algorithm(const std::string& name) {
  if (name == "rsa2048") return KeyAlgorithm::rsa2048;
  if (name == "rsa3072") return KeyAlgorithm::rsa3072;
  if (name == "rsa4096") return KeyAlgorithm::rsa4096;
  if (name == "p256") return KeyAlgorithm::p256;
  if (name == "p384") return KeyAlgorithm::p384;
  throw Error(ErrorKind::invalid_input,
              "unknown key algorithm '" + name + "' (use rsa2048, rsa3072, rsa4096, p256 or p384)");
}

std::string key_algorithm_name(KeyAlgorithm alg) {
  switch (alg) {
    case KeyAlgorithm::rsa2048: return "rsa2048";
    case KeyAlgorithm::rsa3072: return "rsa3072";
    case KeyAlgorithm::rsa4096: return "rsa4096";
    case KeyAlgorithm::p256: return "p256";
    case KeyAlgorithm::p384: return "p384";
  }
  return "?";
}

void check_pin_policy(const std::string& pin, const char* which) {
  JITSUIN_ARG_CHECK(pin.size() >= 4, std::string(which) + " must be at least 4 characters");
  JITSUIN_ARG_CHECK(pin.size() <= 64, std::string(which) + " must be at most 64 characters");
  for (unsigned char c : pin)
    JITSUIN_ARG_CHECK(c >= 0x20 && c < 0x7f,
                      std::string(which) + " must be half-width printable ASCII characters only");
}

std::string TokenInfo::uri() const {
  Pkcs11Uri u;
  u.model = model;
  u.manufacturer = manufacturer;
  u.serial = serial;
  u.token = label;
  return u.to_string();
}

// ---------------------------------------------------------------- Module

std::shared_ptr<Module> Module::load(const std::filesystem::path& module_path) {
  std::lock_guard lock(registry_mutex());
  auto& reg = registry();
  auto canon = std::filesystem::weakly_canonical(module_path);
  std::shared_ptr<ModuleState> m;
  if (auto it = reg.find(canon); it != reg.end()) m = it->second.lock();
  if (!m) {
    if (!std::filesystem::exists(canon))
      throw HsmError("PKCS#11 module " + module_path.string() + " does not exist", CKR_GENERAL_ERROR,
                     ErrorKind::config);
    m = std::make_shared<ModuleState>();
    m->path = canon;
    m->ctx = PKCS11_CTX_new();
    if (!m->ctx) throw HsmError("cannot create a libp11 context", CKR_HOST_MEMORY);
    if (PKCS11_CTX_load(m->ctx, canon.c_str()) != 0) {
      CK_RV rv = take_libp11_rv();
      PKCS11_CTX_free(m->ctx);
      m->ctx = nullptr;
      fail("cannot load PKCS#11 module " + canon.string(), rv);
    }
    m->dl = dlopen(canon.c_str(), RTLD_NOW | RTLD_LOCAL);
    auto get_list = m->dl ? reinterpret_cast<CK_C_GetFunctionList>(dlsym(m->dl, "C_GetFunctionList")) : nullptr;
    if (!get_list || get_list(&m->fl) != CKR_OK || !m->fl)
      throw HsmError("PKCS#11 module " + canon.string() + " has no usable C_GetFunctionList", CKR_GENERAL_ERROR);
    if (PKCS11_enumerate_slots(m->ctx, &m->slots, &m->nslots) != 0)
      fail("cannot list the slots of " + canon.string(), take_libp11_rv());
    m->generation.reset(new std::atomic<std::uint64_t>[m->nslots]());
    reg[canon] = m;
  }
  return std::make_shared<Module>(m);
}

const std::filesystem::path& Module::path() const { return m_->path; }

std::vector<TokenInfo> Module::tokens() const {
  std::vector<TokenInfo> out;
  for (std::size_t i = 0; i < m_->nslots; ++i) {
    auto t = read_info(*m_, i);
    if (t.present) out.push_back(t);
  }
  return out;
}

Token Module::open(const Pkcs11Uri& uri, bool with_uninitialized) const {
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < m_->nslots; ++i) {
    auto t = read_info(*m_, i);
    if (!t.present || (!t.initialized && !with_uninitialized)) continue;
    if (uri.token && *uri.token != t.label) continue;
    if (uri.serial && *uri.serial != t.serial) continue;
    if (uri.manufacturer && *uri.manufacturer != t.manufacturer) continue;
    if (uri.model && *uri.model != t.model) continue;
    if (uri.slot_id && *uri.slot_id != t.slot_id) continue;
    if (found)
      throw Error(ErrorKind::invalid_input,
                  "several tokens match " + uri.to_string() + "; add serial= to the URI to choose one");
    found = i;
  }
  if (!found)
    throw HsmError("token not present: no initialised token matches " + uri.to_string(), CKR_TOKEN_NOT_PRESENT,
                   ErrorKind::not_found);
  return Token(m_, *found);
}

Token Module::open_uninitialized() const {
  for (std::size_t i = 0; i < m_->nslots; ++i) {
    auto t = read_info(*m_, i);
    if (t.present && !t.initialized) return Token(m_, i);
  }
  throw HsmError("no slot with an uninitialised token", CKR_TOKEN_NOT_PRESENT, ErrorKind::not_found);
}

// ---------------------------------------------------------------- PrivateKey

EVP_PKEY* PrivateKey::pkey() const {
  if (module_) {
    if (module_->generation[slot_index_].load() != generation_)
      throw HsmError("the key '" + label_ + "' was found before the token was logged out or in again; find it again",
                     CKR_KEY_HANDLE_INVALID, ErrorKind::conflict);
  }
  return pkey_.get();
}

// ---------------------------------------------------------------- Token

TokenInfo Token::info() const { return read_info(*m_, slot_index_); }

// Login state in PKCS#11 belongs to the application and the token, across all its sessions. libp11
// caches it: PKCS11_login returns success without asking the token once its slot is marked logged
// in (whatever the role), so a wrong PIN would go unnoticed. Every login therefore starts from a
// clean state (logged out, libp11's object cache dropped, libp11 on a fresh R/W session so that an
// SO login is possible) and the PIN goes to the token with a raw C_Login.
void Token::reset_login_locked() {
  PKCS11_SLOT* s = m_->slot(slot_index_);
  // Drops libp11's cached keys and certificates: they belong to the old login state.
  PKCS11_logout(s);
  ERR_clear_error();
  ++m_->generation[slot_index_];
  auto slot_id = PKCS11_get_slotid_from_slot(s);
  {
    RawSession raw(*m_, slot_id);
    CK_SESSION_INFO si{};
    if (m_->fl->C_GetSessionInfo(raw.handle(), &si) == CKR_OK && si.state != CKS_RO_PUBLIC_SESSION &&
        si.state != CKS_RW_PUBLIC_SESSION)
      m_->fl->C_Logout(raw.handle());
  }
  // A fresh R/W session for libp11 (the one it opens for a user login is read-only, and the token
  // refuses an SO login while a read-only session exists). It keeps the login alive between calls.
  if (PKCS11_open_session(s, 1) != 0) fail("cannot open a session on the token", take_libp11_rv());
}

void Token::login_role(const std::string& pin, bool so) {
  std::lock_guard lock(m_->mu);
  reset_login_locked();
  PKCS11_SLOT* s = m_->slot(slot_index_);
  CK_RV rv;
  {
    RawSession raw(*m_, PKCS11_get_slotid_from_slot(s));
    rv = m_->fl->C_Login(raw.handle(), so ? CKU_SO : CKU_USER,
                         reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())), pin.size());
  }
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
    // Tell libp11 (the token answers "already logged in", so this checks nothing more).
    PKCS11_login(s, so ? 1 : 0, pin.c_str());
    ERR_clear_error();
    return;
  }
  auto t = read_info(*m_, slot_index_);
  std::string who = so ? "cannot log in as admin (SO) to token '" : "cannot log in to token '";
  if (rv == CKR_PIN_INCORRECT)
    fail(who + t.label + "' (" + pin_state(t, so) + ")", rv, ErrorKind::unauthenticated);
  if (rv == CKR_PIN_LOCKED)
    fail(who + t.label + "'" + (so ? ": the admin (SO) PIN is locked; the token must be replaced" : ""), rv,
         ErrorKind::forbidden);
  if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
    fail(who + t.label + "'", rv, ErrorKind::unauthenticated);
  fail(who + t.label + "'", rv);
}

void Token::login(const std::string& pin) { login_role(pin, false); }

void Token::login_so(const std::string& so_pin) { login_role(so_pin, true); }

void Token::logout() {
  std::lock_guard lock(m_->mu);
  reset_login_locked();
}

void Token::initialize(const std::string& so_pin, const std::string& label, const std::string& user_pin) {
  check_pin_policy(so_pin, "admin (SO) PIN");
  check_pin_policy(user_pin, "user PIN");
  JITSUIN_ARG_CHECK(!label.empty() && label.size() <= 32, "token label must be 1-32 characters");
  std::lock_guard lock(m_->mu);
  PKCS11_SLOT* s = m_->slot(slot_index_);
  if (!s->token) fail("cannot initialise", CKR_TOKEN_NOT_PRESENT, ErrorKind::not_found);
  auto slot_id = PKCS11_get_slotid_from_slot(s);
  PKCS11_logout(s);
  ERR_clear_error();
  ++m_->generation[slot_index_];
  // C_InitToken refuses while any session is open on the token (CKR_SESSION_EXISTS), libp11's included.
  m_->fl->C_CloseAllSessions(slot_id);
  // The label is exactly 32 bytes, blank-padded, not NUL-terminated.
  CK_UTF8CHAR padded[32];
  std::fill(std::begin(padded), std::end(padded), ' ');
  std::copy(label.begin(), label.end(), padded);
  CK_RV rv = m_->fl->C_InitToken(slot_id, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(so_pin.data())),
                                 so_pin.size(), padded);
  // Give libp11 a valid session again (its old one was closed above), whatever happened.
  PKCS11_open_session(s, 1);
  ERR_clear_error();
  if (rv != CKR_OK) {
    auto t = read_info(*m_, slot_index_);
    if (rv == CKR_PIN_INCORRECT)
      fail("cannot initialise token '" + t.label + "': the admin (SO) PIN is wrong (" + pin_state(t, true) + ")", rv,
           ErrorKind::unauthenticated);
    if (rv == CKR_PIN_LOCKED)
      fail("cannot initialise token '" + t.label + "': the admin (SO) PIN is locked; the token must be replaced", rv,
           ErrorKind::forbidden);
    fail("cannot initialise token '" + t.label + "'", rv);
  }
  RawSession raw(*m_, slot_id);
  rv = m_->fl->C_Login(raw.handle(), CKU_SO, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(so_pin.data())),
                       so_pin.size());
  if (rv != CKR_OK) fail("cannot log in as admin (SO) to the initialised token", rv);
  rv = m_->fl->C_InitPIN(raw.handle(), reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(user_pin.data())),
                         user_pin.size());
  m_->fl->C_Logout(raw.handle());
  if (rv != CKR_OK) fail("cannot set the user PIN", rv);
}

void Token::set_pin_locked(const std::string& old_pin, const std::string& new_pin, bool init_pin, const char* what) {
  RawSession raw(*m_, PKCS11_get_slotid_from_slot(m_->slot(slot_index_)));
  auto p = [](const std::string& v) { return reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(v.data())); };
  CK_RV rv = init_pin ? m_->fl->C_InitPIN(raw.handle(), p(new_pin), new_pin.size())
                      : m_->fl->C_SetPIN(raw.handle(), p(old_pin), old_pin.size(), p(new_pin), new_pin.size());
  if (rv != CKR_OK)
    fail(what, rv, rv == CKR_PIN_INCORRECT ? ErrorKind::unauthenticated
                   : rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID ? ErrorKind::invalid_input
                                                                      : ErrorKind::hsm);
}

void Token::change_user_pin(const std::string& old_pin, const std::string& new_pin) {
  check_pin_policy(new_pin, "new user PIN");
  login(old_pin);
  std::lock_guard lock(m_->mu);
  set_pin_locked(old_pin, new_pin, false, "cannot change the user PIN");
}

void Token::change_so_pin(const std::string& old_so_pin, const std::string& new_so_pin) {
  check_pin_policy(new_so_pin, "new admin (SO) PIN");
  login_so(old_so_pin);
  std::lock_guard lock(m_->mu);
  try {
    set_pin_locked(old_so_pin, new_so_pin, false, "cannot change the admin (SO) PIN");
  } catch (...) {
    reset_login_locked();
    throw;
  }
  reset_login_locked();
}

void Token::unblock_user_pin(const std::string& so_pin, const std::string& new_user_pin) {
  check_pin_policy(new_user_pin, "new user PIN");
  login_so(so_pin);
  std::lock_guard lock(m_->mu);
  try {
    set_pin_locked(so_pin, new_user_pin, true, "cannot set a new user PIN");
  } catch (...) {
    reset_login_locked();
    throw;
  }
  reset_login_locked();
}

bool Token::can_generate(KeyAlgorithm alg) const {
  CK_ULONG bits = alg == KeyAlgorithm::rsa2048 ? 2048 : alg == KeyAlgorithm::rsa3072 ? 3072
                  : alg == KeyAlgorithm::rsa4096 ? 4096 : 0;
  std::lock_guard lock(m_->mu);
  CK_MECHANISM_INFO mi{};
  CK_RV rv = m_->fl->C_GetMechanismInfo(PKCS11_get_slotid_from_slot(m_->slot(slot_index_)),
                                        bits ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, &mi);
  if (rv != CKR_OK || !(mi.flags & CKF_GENERATE_KEY_PAIR)) return false;
  return !bits || mi.ulMaxKeySize == 0 || (mi.ulMinKeySize <= bits && bits <= mi.ulMaxKeySize);
}

PrivateKey Token::generate_key(KeyAlgorithm alg, const std::string& label, const Bytes& id, KeyUses uses) {
  JITSUIN_ARG_CHECK(!id.empty() && id.size() <= 64, "key id must be 1-64 bytes");
  JITSUIN_ARG_CHECK(!label.empty(), "key label must not be empty");
  std::lock_guard lock(m_->mu);
  if (find_key_locked(std::nullopt, id))
    throw Error(ErrorKind::conflict, "a key with id " + to_hex(id) + " already exists on the token");
  auto info = read_info(*m_, slot_index_);
  RawSession session(*m_, info.slot_id);
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ULONG bits = 0;
  CK_BYTE exponent[] = {0x01, 0x00, 0x01};
  std::vector<std::uint8_t> params;
  std::string lbl = label;
  Bytes key_id = id;
  std::vector<CK_ATTRIBUTE> pub = {
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_LABEL, lbl.data(), lbl.size()},
      {CKA_ID, key_id.data(), key_id.size()},
  };
  std::vector<CK_ATTRIBUTE> priv = {
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_LABEL, lbl.data(), lbl.size()},
      {CKA_ID, key_id.data(), key_id.size()},
  };
  CK_MECHANISM mech{};
  switch (alg) {
    case KeyAlgorithm::rsa2048: bits = 2048; break;
    case KeyAlgorithm::rsa3072: bits = 3072; break;
    case KeyAlgorithm::rsa4096: bits = 4096; break;
    case KeyAlgorithm::p256:
    case KeyAlgorithm::p384: break;
  }
  // Every usage attribute is set, true or false: where a template is silent the token's defaults
  // apply, and SoftHSM's make an EC signing key "decrypt, sign, unwrap". A key signs (and its
  // public half verifies); it decrypts and unwraps only as an RSA key whose certificate names
  // keyEncipherment, and derives only as an EC key whose certificate names keyAgreement.
  // Signatures with message recovery are never used.
  CK_BBOOL* decrypt = bits && uses.decrypt ? &yes : &no;
  CK_BBOOL* derive = !bits && uses.derive ? &yes : &no;
  pub.insert(pub.end(), {{CKA_VERIFY, &yes, sizeof yes},
                         {CKA_VERIFY_RECOVER, &no, sizeof no},
                         {CKA_ENCRYPT, decrypt, sizeof yes},
                         {CKA_WRAP, decrypt, sizeof yes},
                         {CKA_DERIVE, &no, sizeof no}});
  priv.insert(priv.end(), {{CKA_SIGN, &yes, sizeof yes},
                           {CKA_SIGN_RECOVER, &no, sizeof no},
                           {CKA_DECRYPT, decrypt, sizeof yes},
                           {CKA_UNWRAP, decrypt, sizeof yes},
                           {CKA_DERIVE, derive, sizeof yes}});
  if (bits) {
    mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
    pub.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
    pub.push_back({CKA_PUBLIC_EXPONENT, exponent, sizeof exponent});
  } else {
    mech.mechanism = CKM_EC_KEY_PAIR_GEN;
    params = curve_der(alg);
    pub.push_back({CKA_EC_PARAMS, params.data(), params.size()});
  }
  CK_OBJECT_HANDLE hpub = 0, hpriv = 0;
  CK_RV rv = m_->fl->C_GenerateKeyPair(session.handle(), &mech, pub.data(), pub.size(), priv.data(), priv.size(),
                                       &hpub, &hpriv);
  if (rv != CKR_OK)
    fail("cannot generate a " + key_algorithm_name(alg) + " key on token '" + info.label + "'", rv,
         rv == CKR_USER_NOT_LOGGED_IN ? ErrorKind::unauthenticated : ErrorKind::hsm);
  auto key = find_key_locked(std::nullopt, id);
  if (!key) fail("the generated key cannot be found on the token", CKR_KEY_HANDLE_INVALID);
  return std::move(*key);
}

PrivateKey Token::find_key(const std::optional<std::string>& label, const std::optional<Bytes>& id) {
  std::lock_guard lock(m_->mu);
  if (auto key = find_key_locked(label, id)) return std::move(*key);
  std::string what = "no private key";
  if (label) what += " labelled '" + *label + "'";
  if (id) what += " with id " + to_hex(*id);
  throw HsmError(what + " on the token (or not logged in)", CKR_KEY_HANDLE_INVALID, ErrorKind::not_found);
}

std::optional<PrivateKey> Token::find_key_locked(const std::optional<std::string>& label,
                                                 const std::optional<Bytes>& id) {
  PKCS11_SLOT* s = m_->slot(slot_index_);
  PKCS11_KEY* keys = nullptr;
  unsigned int n = 0;
  if (PKCS11_enumerate_keys(s->token, &keys, &n) != 0) fail("cannot list the keys on the token", take_libp11_rv());
  for (unsigned int i = 0; i < n; ++i) {
    PKCS11_KEY* k = &keys[i];
    if (!k->isPrivate) continue;
    if (label && (!k->label || *label != k->label)) continue;
    if (id && (k->id_len != id->size() || !std::equal(id->begin(), id->end(), k->id))) continue;
    PrivateKey out;
    out.module_ = m_;
    out.slot_index_ = slot_index_;
    out.generation_ = m_->generation[slot_index_];
    out.pkey_.reset(PKCS11_get_private_key(k));
    if (!out.pkey_) fail("cannot use the private key", take_libp11_rv());
    out.label_ = k->label ? k->label : "";
    out.id_.assign(k->id, k->id + k->id_len);
    out.description_ = describe(out.pkey_.get());
    return out;
  }
  ERR_clear_error();
  return std::nullopt;
}

// Certificates are handled with raw calls: libp11 0.4.12 keeps removed certificates in its cache
// (a second removal then fails with CKR_OBJECT_HANDLE_INVALID) and never sees objects others add.
void Token::store_certificate(X509* cert, const std::string& label, const Bytes& id) {
  JITSUIN_ARG_CHECK(cert != nullptr, "no certificate to store");
  JITSUIN_ARG_CHECK(!id.empty() && id.size() <= 64, "certificate id must be 1-64 bytes");
  auto der_of = [](auto* obj, auto i2d) {
    int len = i2d(obj, nullptr);
    if (len <= 0) ossl::throw_openssl("cannot encode the certificate");
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* q = out.data();
    i2d(obj, &q);
    return out;
  };
  Bytes value = ossl::cert_der(cert);
  Bytes subject = der_of(X509_get_subject_name(cert), i2d_X509_NAME);
  Bytes issuer = der_of(X509_get_issuer_name(cert), i2d_X509_NAME);
  Bytes serial = der_of(X509_get0_serialNumber(cert), i2d_ASN1_INTEGER);
  Bytes key_id = id;
  std::string lbl = label;
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  std::vector<CK_ATTRIBUTE> tmpl = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_CERTIFICATE_TYPE, &type, sizeof type},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &no, sizeof no},
      {CKA_LABEL, lbl.data(), lbl.size()},
      {CKA_ID, key_id.data(), key_id.size()},
      {CKA_SUBJECT, subject.data(), subject.size()},
      {CKA_ISSUER, issuer.data(), issuer.size()},
      {CKA_SERIAL_NUMBER, serial.data(), serial.size()},
      {CKA_VALUE, value.data(), value.size()},
  };
  std::lock_guard lock(m_->mu);
  RawSession raw(*m_, PKCS11_get_slotid_from_slot(m_->slot(slot_index_)));
  CK_OBJECT_HANDLE h = 0;
  CK_RV rv = m_->fl->C_CreateObject(raw.handle(), tmpl.data(), tmpl.size(), &h);
  if (rv != CKR_OK) fail("cannot store the certificate on the token", rv);
}

namespace {

std::vector<CK_OBJECT_HANDLE> find_objects(ModuleState& m, CK_SESSION_HANDLE h, std::vector<CK_ATTRIBUTE> tmpl) {
  check_rv(m.fl->C_FindObjectsInit(h, tmpl.data(), tmpl.size()), "cannot search the token");
  std::vector<CK_OBJECT_HANDLE> out;
  CK_OBJECT_HANDLE batch[32];
  CK_ULONG n = 0;
  CK_RV rv;
  while ((rv = m.fl->C_FindObjects(h, batch, 32, &n)) == CKR_OK && n > 0) out.insert(out.end(), batch, batch + n);
  m.fl->C_FindObjectsFinal(h);
  check_rv(rv, "cannot search the token");
  return out;
}

Bytes get_attribute(ModuleState& m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  if (m.fl->C_GetAttributeValue(h, obj, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) return {};
  Bytes out(a.ulValueLen);
  a.pValue = out.data();
  if (m.fl->C_GetAttributeValue(h, obj, &a, 1) != CKR_OK) return {};
  out.resize(a.ulValueLen);
  return out;
}

struct CertObject {
  CK_OBJECT_HANDLE handle;
  Bytes der, id;
  std::string label;
};

std::vector<CertObject> list_certs(ModuleState& m, CK_SESSION_HANDLE h) {
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  std::vector<CertObject> out;
  for (auto obj : find_objects(m, h, {{CKA_CLASS, &cls, sizeof cls}})) {
    CertObject c{obj, get_attribute(m, h, obj, CKA_VALUE), get_attribute(m, h, obj, CKA_ID), {}};
    Bytes label = get_attribute(m, h, obj, CKA_LABEL);
    c.label.assign(label.begin(), label.end());
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

int Token::remove_certificates(const Bytes& id) {
  std::lock_guard lock(m_->mu);
  RawSession raw(*m_, PKCS11_get_slotid_from_slot(m_->slot(slot_index_)));
  int removed = 0;
  for (const auto& c : list_certs(*m_, raw.handle())) {
    if (c.id != id) continue;
    CK_RV rv = m_->fl->C_DestroyObject(raw.handle(), c.handle);
    if (rv != CKR_OK) fail("cannot remove a certificate", rv);
    ++removed;
  }
  return removed;
}

// Raw calls, as for certificates: libp11 0.4.12 keeps what it enumerated. Its cache may still
// list the destroyed key; keys are found by an id (CKA_ID, random per key), never reused.
int Token::remove_key_pair(const Bytes& id) {
  JITSUIN_ARG_CHECK(!id.empty(), "no key id to remove");
  std::lock_guard lock(m_->mu);
  RawSession raw(*m_, PKCS11_get_slotid_from_slot(m_->slot(slot_index_)));
  int removed = 0;
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    Bytes key_id = id;
    for (auto obj : find_objects(*m_, raw.handle(), {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, key_id.data(), key_id.size()}})) {
      CK_RV rv = m_->fl->C_DestroyObject(raw.handle(), obj);
      if (rv != CKR_OK) fail("cannot remove a key from the token", rv);
      ++removed;
    }
  }
  return removed;
}

std::vector<Bytes> Token::certificates() {
  std::lock_guard lock(m_->mu);
  RawSession raw(*m_, PKCS11_get_slotid_from_slot(m_->slot(slot_index_)));
  std::vector<Bytes> out;
  for (auto& c : list_certs(*m_, raw.handle()))
    if (!c.der.empty()) out.push_back(std::move(c.der));
  return out;
}

std::vector<ObjectInfo> Token::objects() {
  std::lock_guard lock(m_->mu);
  PKCS11_SLOT* s = m_->slot(slot_index_);
  std::vector<ObjectInfo> out;
  auto add_keys = [&](bool pub) {
    PKCS11_KEY* keys = nullptr;
    unsigned int n = 0;
    int rc = pub ? PKCS11_enumerate_public_keys(s->token, &keys, &n) : PKCS11_enumerate_keys(s->token, &keys, &n);
    if (rc != 0) {
      ERR_clear_error();
      return;
    }
    for (unsigned int i = 0; i < n; ++i) {
      ObjectInfo o;
      o.kind = pub ? "public key" : "private key";
      o.label = keys[i].label ? keys[i].label : "";
      o.id.assign(keys[i].id, keys[i].id + keys[i].id_len);
      EVP_PKEY* pk = PKCS11_get_public_key(&keys[i]);
      if (pk) {
        o.detail = describe(pk);
        EVP_PKEY_free(pk);
      }
      ERR_clear_error();
      out.push_back(std::move(o));
    }
  };
  add_keys(false);
  add_keys(true);
  RawSession raw(*m_, PKCS11_get_slotid_from_slot(s));
  for (const auto& c : list_certs(*m_, raw.handle())) {
    ObjectInfo o;
    o.kind = "certificate";
    o.label = c.label;
    o.id = c.id;
    o.der = c.der;
    try {
      o.detail = ossl::name_to_string(X509_get_subject_name(ossl::cert_from_der(c.der).get()));
    } catch (const Error&) {
      o.detail = "(not an X.509 certificate)";
    }
    out.push_back(std::move(o));
  }
  ERR_clear_error();
  return out;
}

}  // namespace jitsuin::hsm
