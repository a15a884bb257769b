#include "jitsuin/hsm/agent.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <ctime>

#include "jitsuin/hsm/pkcs11.h"
#include "jitsuin/hsm/uri.h"

namespace jitsuin::hsm::agent {

namespace {

TokenState to_state(const TokenInfo& i) {
  TokenState s;
  s.slot_id = i.slot_id;
  s.slot_description = i.slot_description;
  s.label = i.label;
  s.manufacturer = i.manufacturer;
  s.model = i.model;
  s.serial = i.serial;
  s.initialized = i.initialized;
  s.user_pin_initialized = i.user_pin_initialized;
  s.user_pin_count_low = i.user_pin_count_low;
  s.user_pin_final_try = i.user_pin_final_try;
  s.user_pin_locked = i.user_pin_locked;
  s.so_pin_count_low = i.so_pin_count_low;
  s.so_pin_final_try = i.so_pin_final_try;
  s.so_pin_locked = i.so_pin_locked;
  s.so_pin_to_be_changed = i.so_pin_to_be_changed;
  s.min_pin_len = i.min_pin_len;
  s.max_pin_len = i.max_pin_len;
  s.uri = i.uri();
  return s;
}

// Which PIN a call logs in with: a locked user PIN is unblocked with the admin PIN, a locked admin
// PIN cannot be (hsm/ says so).
enum class WithPin { user, admin };

// What an applicant should do about a token's refusal, appended to hsm/'s own message.
template <typename F>
auto guarded(F&& f, WithPin pin = WithPin::user) -> decltype(f()) {
  try {
    return f();
  } catch (const HsmError& e) {
    std::string hint;
    switch (e.rv()) {
      case CKR_PIN_LOCKED:
        if (pin == WithPin::user)
          hint = " -- use `jitsuin token unblock` with the admin (SO) PIN to set a new user PIN\n"
                 "  トークンのユーザーPINがロックされています。管理者(SO)PINを使って `jitsuin token unblock` で"
                 "新しいユーザーPINを設定してください。";
        break;
      case CKR_PIN_INCORRECT:
        hint = " -- check the PIN (and Caps Lock): after too many wrong PINs the token locks it";
        break;
      case CKR_DEVICE_MEMORY:
        hint = " -- " + token_full_message("");
        break;
      case CKR_USER_PIN_NOT_INITIALIZED:
        hint = " -- initialise the token first: `jitsuin token init`";
        break;
      default: break;
    }
    if (hint.empty()) throw;
    throw HsmError(e.what() + hint, e.rv(), e.kind());
  }
}

// A new PIN: the project's policy, then the token's own length range (opencryptoki's soft token
// takes 4-8 characters, many smart cards up to 16), checked before anything is sent to the token:
// a clear message, nothing changed.
void check_new_pin(const TokenInfo& t, const std::string& pin, const std::string& which) {
  check_pin_policy(pin, which.c_str());
  bool too_short = t.min_pin_len && pin.size() < t.min_pin_len, too_long = t.max_pin_len && pin.size() > t.max_pin_len;
  if (!too_short && !too_long) return;
  std::string range = t.max_pin_len ? std::to_string(t.min_pin_len) + " to " + std::to_string(t.max_pin_len)
                                    : "at least " + std::to_string(t.min_pin_len);
  throw Error(ErrorKind::invalid_input, "the " + which + " must be " + range + " characters on this token (" +
                                            t.manufacturer + " " + t.model + "); nothing was changed");
}

std::string describe_tokens(const std::vector<TokenInfo>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    out += out.empty() ? "" : ", ";
    if (t.initialized)
      out += "'" + t.label + "' (serial " + t.serial + ")";
    else
      out += "an uninitialised token in slot " + std::to_string(t.slot_id);
  }
  return out.empty() ? "none (is the token plugged in?)" : out;
}

Pkcs11Uri parse_selector(const std::string& selector) {
  Pkcs11Uri uri;
  if (selector.starts_with("pkcs11:")) return Pkcs11Uri::parse(selector);
  if (selector.starts_with("serial=")) {
    uri.serial = selector.substr(7);
  } else if (!selector.empty()) {
    uri.token = selector;
  }
  return uri;
}

bool matches(const Pkcs11Uri& uri, const TokenInfo& t) {
  return (!uri.token || *uri.token == t.label) && (!uri.serial || *uri.serial == t.serial) &&
         (!uri.manufacturer || *uri.manufacturer == t.manufacturer) && (!uri.model || *uri.model == t.model) &&
         (!uri.slot_id || *uri.slot_id == t.slot_id);
}

std::string rfc3339_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "";
  return format_rfc3339(static_cast<UnixTime>(timegm(&tm)));
}

std::string common_name(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "CA certificate";
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) return "CA certificate";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

std::string token_full_message(const std::string& token_label) {
  const std::string token = token_label.empty() ? "the token" : "token '" + token_label + "'";
  return "the token is full: " + token +
         " has no room left, and what was written on it did not stay. Free space on it: `jitsuin token show` "
         "lists what it holds; remove what you no longer need (with the token maker's tool), or initialise it "
         "with `jitsuin token init` if nothing on it is needed any more (this also erases a key just made for "
         "your application: then ask the RA to issue the application again). Then run the same `jitsuin token "
         "enroll` again: a certificate already collected is fetched again with the same download PIN.\n"
         "  トークンの空き容量が不足しています（書き込んだ内容が保存されていません）。`jitsuin token show` で"
         "中身を確認し、不要なものを削除するか、何も必要なければ `jitsuin token init` で初期化してください"
         "（申請用に作った鍵も消えるため、その場合は登録局に申請の再発行を依頼してください）。その後、同じ "
         "`jitsuin token enroll` をもう一度実行してください。受け取り済みの証明書は同じダウンロードPINで再取得されます。";
}

std::vector<TokenState> list_tokens(const std::filesystem::path& module) {
  std::vector<TokenState> out;
  for (const auto& t : Module::load(module)->tokens()) out.push_back(to_state(t));
  return out;
}

AgentToken::AgentToken(std::unique_ptr<Token> t, std::filesystem::path module)
    : t_(std::move(t)), module_(std::move(module)) {}
AgentToken::~AgentToken() = default;
AgentToken::AgentToken(AgentToken&&) noexcept = default;
AgentToken& AgentToken::operator=(AgentToken&&) noexcept = default;

AgentToken AgentToken::open(const std::filesystem::path& module_path, const std::string& selector,
                            bool with_uninitialized) {
  Pkcs11Uri uri = parse_selector(selector);
  const std::filesystem::path path = uri.module_path ? std::filesystem::path(*uri.module_path) : module_path;
  auto module = Module::load(path);
  auto tokens = module->tokens();
  std::vector<TokenInfo> initialised, uninitialised;
  for (const auto& t : tokens) {
    if (!matches(uri, t)) continue;
    (t.initialized ? initialised : uninitialised).push_back(t);
  }
  const std::string named = selector.empty() ? "any token" : "'" + selector + "'";
  if (initialised.size() > 1)
    throw Error(ErrorKind::invalid_input, "several tokens match " + named + ": " + describe_tokens(initialised) +
                                              "; choose one with --token LABEL, serial=SERIAL or a pkcs11: URI");
  Pkcs11Uri exact;
  if (initialised.size() == 1) {
    exact.slot_id = initialised[0].slot_id;
    return AgentToken(std::make_unique<Token>(module->open(exact)), path);
  }
  if (!uninitialised.empty()) {
    if (with_uninitialized) {
      exact.slot_id = uninitialised[0].slot_id;
      return AgentToken(std::make_unique<Token>(module->open(exact, true)), path);
    }
    if (!selector.empty())
      throw HsmError("token " + named + " is not initialised -- run `jitsuin token init` first",
                     CKR_TOKEN_NOT_RECOGNIZED, ErrorKind::not_found);
  }
  throw HsmError("token not found: no initialised token matches " + named + " in " + module->path().string() +
                     "; tokens present: " + describe_tokens(tokens),
                 CKR_TOKEN_NOT_PRESENT, ErrorKind::not_found);
}

TokenState AgentToken::state() const { return to_state(t_->info()); }

std::vector<TokenObject> AgentToken::objects(const std::optional<std::string>& user_pin) {
  return guarded([&] {
    if (user_pin)
      t_->login(*user_pin);
    else
      t_->logout();
    std::vector<TokenObject> out;
    for (auto& o : t_->objects()) {
      TokenObject t{o.kind, o.label, o.id, o.detail, "", o.der};
      if (!o.der.empty()) {
        try {
          t.not_after = rfc3339_of(X509_get0_notAfter(ossl::cert_from_der(o.der).get()));
        } catch (const Error&) {
        }
      }
      out.push_back(std::move(t));
    }
    return out;
  });
}

void AgentToken::initialize(const std::optional<std::string>& current_so_pin, const std::string& new_so_pin,
                            const std::string& label, const std::string& user_pin) {
  auto info = t_->info();
  check_new_pin(info, new_so_pin, "admin (SO) PIN");
  check_new_pin(info, user_pin, "user PIN");
  JITSUIN_ARG_CHECK(!info.initialized || current_so_pin, "the token is initialised: its current admin (SO) PIN is needed");
  try {
    guarded(
        [&] {
          t_->initialize(current_so_pin.value_or(new_so_pin), label, user_pin);
          if (current_so_pin && *current_so_pin != new_so_pin) t_->change_so_pin(*current_so_pin, new_so_pin);
        },
        WithPin::admin);
  } catch (const HsmError& e) {
    // A new token that does not take the applicant's admin PIN in C_InitToken has one from its maker.
    if (info.initialized || current_so_pin || e.rv() != CKR_PIN_INCORRECT) throw;
    throw HsmError("the new token in slot " + std::to_string(info.slot_id) + " (" + info.manufacturer + " " + info.model +
                       ") did not take a new admin (SO) PIN: its maker has set one (opencryptoki's soft token: "
                       "87654321; see the token's documentation). Run `jitsuin token init --factory-admin-pin`: it "
                       "asks for that PIN first, then sets yours. Nothing was changed.",
                   e.rv(), ErrorKind::unauthenticated);
  }
}

void AgentToken::change_user_pin(const std::string& old_pin, const std::string& new_pin) {
  check_new_pin(t_->info(), new_pin, "new user PIN");
  guarded([&] { t_->change_user_pin(old_pin, new_pin); });
}

void AgentToken::change_so_pin(const std::string& old_so_pin, const std::string& new_so_pin) {
  check_new_pin(t_->info(), new_so_pin, "new admin (SO) PIN");
  guarded([&] { t_->change_so_pin(old_so_pin, new_so_pin); }, WithPin::admin);
}

void AgentToken::unblock(const std::string& so_pin, const std::string& new_user_pin) {
  check_new_pin(t_->info(), new_user_pin, "new user PIN");
  guarded([&] { t_->unblock_user_pin(so_pin, new_user_pin); }, WithPin::admin);
}

void AgentToken::login(const std::string& user_pin) {
  guarded([&] { t_->login(user_pin); });
}

bool AgentToken::can_generate(KeyAlgorithm alg) const { return t_->can_generate(alg); }

NewKey AgentToken::generate_key_and_csr(KeyAlgorithm alg, const std::string& label, const std::string& cn,
                                        KeyUses uses) {
  JITSUIN_ARG_CHECK(alg == KeyAlgorithm::p256 || alg == KeyAlgorithm::rsa2048,
                    "the agent generates P-256 or RSA-2048 keys only");
  return guarded([&] {
    NewKey k;
    k.id.resize(16);
    if (RAND_bytes(k.id.data(), static_cast<int>(k.id.size())) != 1) ossl::throw_openssl("no random bytes");
    k.label = label;
    auto key = t_->generate_key(alg, label, k.id, uses);
    k.description = key.description();
    ossl::Req req(X509_REQ_new());
    if (!req) ossl::throw_openssl("cannot make a request");
    X509_REQ_set_version(req.get(), 0);
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1)
      ossl::throw_openssl("cannot set the request's subject", ErrorKind::invalid_input);
    if (X509_REQ_set_pubkey(req.get(), key.pkey()) != 1) ossl::throw_openssl("cannot put the key in the request");
    if (X509_REQ_sign(req.get(), key.pkey(), EVP_sha256()) <= 0)
      ossl::throw_openssl("the token could not sign the request", ErrorKind::hsm);
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509_REQ(bio.get(), req.get());
    char* p = nullptr;
    long n = BIO_get_mem_data(bio.get(), &p);
    k.csr_pem.assign(p, static_cast<std::size_t>(n));
    return k;
  });
}

bool AgentToken::key_matches(const Bytes& id, X509* cert) {
  auto key = guarded([&] { return t_->find_key(std::nullopt, id); });
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  return pub && ossl::public_key_fingerprint(pub) == ossl::public_key_fingerprint(key.pkey());
}

void AgentToken::store_certificates(const Bytes& key_id, const std::string& label, X509* cert,
                                    const std::vector<X509*>& chain) {
  guarded([&] {
    auto present = t_->certificates();
    auto stored = [&](X509* c) { return std::find(present.begin(), present.end(), ossl::cert_der(c)) != present.end(); };
    if (!stored(cert)) t_->store_certificate(cert, label, key_id);
    for (X509* ca : chain) {
      if (stored(ca)) continue;
      Bytes id;
      if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca))
        id.assign(ASN1_STRING_get0_data(ski), ASN1_STRING_get0_data(ski) + ASN1_STRING_length(ski));
      if (id.empty()) id = ossl::key_identifier(X509_get0_pubkey(ca));
      t_->store_certificate(ca, common_name(ca), id);
    }
  });
}

std::vector<Bytes> AgentToken::certificates() {
  return guarded([&] { return t_->certificates(); });
}

}  // namespace jitsuin::hsm::agent
