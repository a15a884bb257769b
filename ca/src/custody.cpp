#include "jitsuin/ca/custody.h"

#include "jitsuin/core/error.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::ca {

std::string custody_pin_name(CustodyPin pin) { return pin == CustodyPin::so ? "so" : "user"; }

CustodyPin parse_custody_pin(const std::string& name) {
  if (name == "so") return CustodyPin::so;
  if (name == "user") return CustodyPin::user;
  throw Error(ErrorKind::invalid_input, "unknown CA token PIN '" + name + "' (known: so, user)");
}

bool verify_custody_pin(const config::Config& config, CustodyPin which, const std::string& pin) {
  return hsm::verify_token_pin(config, which == CustodyPin::so ? hsm::TokenPin::so : hsm::TokenPin::user, pin);
}

}  // namespace jitsuin::ca
