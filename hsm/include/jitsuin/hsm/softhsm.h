#pragma once
// Opening the CA's token as configured, including the embedded default: a SoftHSM2 token with its
// own softhsm2.conf and token directory under the home folder, created on first use.
#include <filesystem>

#include "jitsuin/config/config.h"
#include "jitsuin/hsm/pkcs11.h"

namespace jitsuin::hsm {

/// Writes home/softhsm2.conf and home/tokens/ if missing and points SOFTHSM2_CONF at them, so
/// nothing system-wide is touched. Must run before the module is loaded.
void prepare_embedded_softhsm(const std::filesystem::path& home);

/// The CA token's user PIN: from the environment variable hsm.pin_env if set, else hsm.pin_file.
std::string read_ca_pin(const config::HsmConfig& hsm);

/// Opens and logs in to the CA token. With provision=true and the embedded SoftHSM2, a missing
/// token is created (random user and SO PINs written to files with mode 0600 under home).
Token open_ca_token(const config::Config& config, bool provision);

}  // namespace jitsuin::hsm
