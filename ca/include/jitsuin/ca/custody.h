#pragma once
// Proof of custody of the CA: whoever holds a PIN of the CA's token holds the CA. ra/ asks for it
// where no person's account can vouch (the break-glass unlock of a locked-out administrator, the
// approval of a second administrator while there is only one). The PIN is checked by the token.
#include <string>

#include "jitsuin/config/config.h"

namespace jitsuin::ca {

/// Which PIN of the CA's token is offered.
enum class CustodyPin {
  user,   ///< the user PIN (hsm.pin_env / hsm.pin_file)
  so,     ///< the security officer's PIN (HOME/ca.so-pin for the embedded token)
};

/// "user" or "so".
std::string custody_pin_name(CustodyPin pin);
/// Throws invalid_input unless "user" or "so".
CustodyPin parse_custody_pin(const std::string& name);

/// True when the CA's token accepts `pin` as the given PIN; false when it refuses it. Throws when
/// the token cannot answer (not present, PIN locked, module failure).
bool verify_custody_pin(const config::Config& config, CustodyPin which, const std::string& pin);

}  // namespace jitsuin::ca
