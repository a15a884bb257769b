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
  Clock clock() const { return system_clock(); }

 private:
  config::Config config_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<hsm::KeyStore> keys_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
};

}  // namespace jitsuin::cli
