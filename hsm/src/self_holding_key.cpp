// self_holding_pkey(): an EC key whose every signature takes the store's hold (see key_store.h).
// It is a second EC_KEY with the signer's public key and an EC_KEY_METHOD whose sign functions
// take Signer::hold() and then sign with the signer's own EC_KEY (libp11's, which signs on the
// token). Verification and the rest are OpenSSL's defaults.
#include <openssl/ec.h>
#include <openssl/err.h>

#include "jitsuin/core/error.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::hsm {

namespace {

struct Held {
  std::shared_ptr<const Signer> signer;   // keeps the signer's EVP_PKEY, and so `inner`, alive
  EC_KEY* inner;
};

void free_held(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<Held*>(ptr); }

// An EC_KEY_dup (OpenSSL may copy a key) gets its own Held.
int dup_held(CRYPTO_EX_DATA*, const CRYPTO_EX_DATA*, void** from, int, long, void*) {
  if (*from) *from = new Held(*static_cast<Held*>(*from));
  return 1;
}

int held_index() {
  static const int index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, dup_held, free_held);
  return index;
}

const Held* held_of(const EC_KEY* key) { return static_cast<const Held*>(EC_KEY_get_ex_data(key, held_index())); }

int sign(int type, const unsigned char* dgst, int dlen, unsigned char* sig, unsigned int* siglen, const BIGNUM* kinv,
         const BIGNUM* r, EC_KEY* key) {
  const Held* held = held_of(key);
  if (!held) return 0;
  try {
    auto hold = held->signer->hold();
    return ECDSA_sign_ex(type, dgst, dlen, sig, siglen, kinv, r, held->inner);
  } catch (const std::exception&) {
    ERR_raise_data(ERR_LIB_EC, ERR_R_INTERNAL_ERROR, "the key store could not be held for a signature");
    return 0;
  }
}

ECDSA_SIG* sign_sig(const unsigned char* dgst, int dlen, const BIGNUM* kinv, const BIGNUM* r, EC_KEY* key) {
  const Held* held = held_of(key);
  if (!held) return nullptr;
  try {
    auto hold = held->signer->hold();
    return ECDSA_do_sign_ex(dgst, dlen, kinv, r, held->inner);
  } catch (const std::exception&) {
    ERR_raise_data(ERR_LIB_EC, ERR_R_INTERNAL_ERROR, "the key store could not be held for a signature");
    return nullptr;
  }
}

const EC_KEY_METHOD* holding_method() {
  static const EC_KEY_METHOD* method = [] {
    EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (m) EC_KEY_METHOD_set_sign(m, sign, nullptr, sign_sig);
    return m;
  }();
  return method;
}

}  // namespace

ossl::PKey self_holding_pkey(std::shared_ptr<const Signer> signer) {
  const EC_KEY* inner = EVP_PKEY_get0_EC_KEY(signer->pkey());
  if (!inner)
    throw Error(ErrorKind::invalid_input, "a self-holding key must be an EC key, not " + signer->description());
  const EC_KEY_METHOD* method = holding_method();
  EC_KEY* key = EC_KEY_new();
  bool ok = method && key && EC_KEY_set_method(key, method) && EC_KEY_set_group(key, EC_KEY_get0_group(inner)) &&
            EC_KEY_set_public_key(key, EC_KEY_get0_public_key(inner));
  auto* held = ok ? new Held{std::move(signer), const_cast<EC_KEY*>(inner)} : nullptr;
  if (ok && !EC_KEY_set_ex_data(key, held_index(), held)) {
    delete held;
    ok = false;
  }
  ossl::PKey pkey(ok ? EVP_PKEY_new() : nullptr);
  if (!pkey || !EVP_PKEY_assign_EC_KEY(pkey.get(), key)) {
    EC_KEY_free(key);   // frees `held` through free_held
    throw Error(ErrorKind::crypto, "cannot build a self-holding EC key");
  }
  return pkey;
}

}  // namespace jitsuin::hsm
