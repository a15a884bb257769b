#pragma once
// What every command needs: the home folder, the configuration, the database and the CA's key store.
#include <filesystem>
#include <memory>
#include <optional>

#include "jitsuin/ca/authority.h"
#include "jitsuin/config/config.h"
#include "jitsuin/db/database.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::cli {

struct GlobalOptions {
  std::filesystem::path home = "var";
  std::filesystem::path config;   ///< empty: located by config::locate_config
};

class Context {
 public:
  explicit Context(const GlobalOptions& opts);
  const config::Config& config() const { return config_; }
  db::Database& db();
  /// The CA's key store (opens no token session until a key is used); provision creates the
  /// embedded SoftHSM2 token on first use.
  hsm::KeyStore& keys(bool provision = false);
  /// The CA, loaded from the database; its keys are opened only when it signs.
  ca::CertificateAuthority& ca();
  /// The person running the command, for the audit log.
  ca::Actor actor() const;
  /// The clock every command takes its time from: the system clock, or, for tests only, the
  /// fixed time in $JITSUIN_TEST_NOW (RFC 3339 or Unix seconds), so a test can run commands at
  /// chosen times instead of waiting for the wall clock. Not for production use.
  Clock clock() const;

 private:
  config::Config config_;
  std::optional<UnixTime> test_now_;   ///< $JITSUIN_TEST_NOW, read once in the constructor
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<hsm::KeyStore> keys_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
};

}  // namespace jitsuin::cli
