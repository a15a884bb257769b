#pragma once
// Opening the CA's token as configured, including the embedded default: a SoftHSM2 token with its
// own softhsm2.conf and token directory under the home folder, created on first use, with the
// home's token lock, the verified copy of its state file and the restore from it (key_store.h
// says what each guarantees).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "jitsuin/config/config.h"
#include "jitsuin/hsm/key_store.h"
#include "jitsuin/hsm/pkcs11.h"

namespace jitsuin::hsm {

/// Writes home/softhsm2.conf and home/tokens/ if missing and points SOFTHSM2_CONF at them, so
/// nothing system-wide is touched. Must run before the module is loaded. A softhsm2.conf whose
/// directories.tokendir is not this home's tokens/ (a copied, moved or restored home) is pointed
/// back at this home's tokens/ with a warning on stderr, so a copy never uses the original's
/// token; when this home has no token of its own, it is refused (ErrorKind::config) instead.
void prepare_embedded_softhsm(const std::filesystem::path& home);

namespace detail {
struct HomeLock;
}

/// HOME/token.lock held with flock: serialises the embedded token's use by all jitsuin processes
/// on one home. Held per operation (opening and login, key generation, key lookup, each
/// signature), never for a process's life. Within a process the threads share one flock: a
/// holder count over it, so threads that sign in parallel take it together; the flock is released
/// when the last holder goes. Fairness between processes (flock is not fair): a process that
/// waits announces it with a shared flock on HOME/token.wait, and a process about to take the lock
/// first lets announced waiters in (up to 250 ms); threads join a hold only while it is younger
/// than 50 ms, so a busy process releases the lock at least that often.
class TokenLock final : public KeyHold {
 public:
  /// Waits up to wait_seconds (0: not at all); then throws Error(hsm) naming the lock file.
  static std::unique_ptr<TokenLock> acquire(const std::filesystem::path& home, int wait_seconds);
  ~TokenLock() override;
  TokenLock(const TokenLock&) = delete;
  TokenLock& operator=(const TokenLock&) = delete;

 private:
  explicit TokenLock(std::shared_ptr<detail::HomeLock> home) : home_(std::move(home)) {}
  std::shared_ptr<detail::HomeLock> home_;
};

/// What a SoftHSM2 file-backend state file (token.object) holds, as far as jitsuin checks it.
struct TokenStateFile {
  bool readable = false;
  std::string problem;        ///< why not readable ("empty", "truncated attribute", ...)
  std::string label;          ///< CKA_OS_TOKENLABEL, trailing blanks removed
  std::string identity;       ///< every attribute but the flags and the generation counter, encoded
};

/// Parses the content of a token.object (SoftHSM2 2.x file format): a generation counter, then
/// attributes; readable when it parses to its end and holds the label, serial, flags and SO PIN.
TokenStateFile parse_token_state(const std::string& content);

/// The copy of a token's state file: HOME/token-backup/<token dir name>/token.object.
std::filesystem::path token_backup_file(const std::filesystem::path& home, const std::filesystem::path& token_dir);

/// Writes the verified copy of token_dir/token.object (atomic, synced, read back and compared).
/// Throws Error(hsm) when the live file is not readable or the copy does not read back equal.
void back_up_token_state(const std::filesystem::path& home, const std::filesystem::path& token_dir);

/// The CA token's user PIN: from the environment variable hsm.pin_env if set, else hsm.pin_file.
std::string read_ca_pin(const config::HsmConfig& hsm);

/// Opens and logs in to the CA token. With provision=true and the embedded SoftHSM2, a missing
/// token is created (random user and SO PINs written to files with mode 0600 under home). With the
/// embedded SoftHSM2 the caller holds the home's TokenLock (for this call); the state file is checked and restored
/// before the module is loaded, its copy kept current, and restores are reported to observer.
Token open_ca_token(const config::Config& config, bool provision, const KeyStoreObserver& observer = {});

}  // namespace jitsuin::hsm
