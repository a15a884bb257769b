// verify_token_pin (key_store.h): a PIN checked by the CA's token, for proofs of CA custody.
#include "jitsuin/hsm/key_store.h"
#include "jitsuin/hsm/pkcs11.h"
#include "jitsuin/hsm/softhsm.h"

namespace jitsuin::hsm {

bool verify_token_pin(const config::Config& config, TokenPin which, const std::string& pin) {
  JITSUIN_ARG_CHECK(!pin.empty(), "the PIN is empty");
  const auto& hc = config.hsm;
  if (hc.embedded_softhsm) prepare_embedded_softhsm(config.home);
  auto uri = Pkcs11Uri::parse(hc.token);
  auto module = Module::load(uri.module_path ? std::filesystem::path(*uri.module_path) : hc.module);
  Token token = module->open(uri);
  try {
    if (which == TokenPin::so) token.login_so(pin);
    else token.login(pin);
  } catch (const HsmError& e) {
    // A wrong PIN is the token's answer (unauthenticated); a locked PIN (forbidden) or a failure
    // of the module is not, and propagates.
    if (e.kind() != ErrorKind::unauthenticated) throw;
    return false;
  }
  token.logout();
  return true;
}

}  // namespace jitsuin::hsm
