#pragma once
// What every command needs: the home folder, the configuration and the handlers' services
// (database, clock, CA) — see jitsuin/api/services.h.
#include <filesystem>
#include <memory>
#include <optional>

#include "jitsuin/api/services.h"
#include "jitsuin/ca/authority.h"
#include "jitsuin/config/config.h"
#include "jitsuin/db/database.h"

namespace jitsuin::cli {

struct GlobalOptions {
  std::filesystem::path home = "var";
  std::filesystem::path config;   ///< empty: located by config::locate_config
};

class Context {
 public:
  /// Loads the configuration; warns on stderr when the home exists and is open to group or others.
  /// Only commands that create state (ca init, the first operator-add) pass HomeCreation::allowed:
  /// every other command on a home that does not exist fails naming it, and creates nothing.
  explicit Context(const GlobalOptions& opts, api::HomeCreation home = api::HomeCreation::refused);
  const config::Config& config() const { return services_->config(); }
  db::Database& db() { return services_->db(); }
  /// The CA, loaded from the database and its keys.
  ca::CertificateAuthority& ca() { return services_->ca(); }
  /// What the handlers of jitsuin_api run on.
  api::Services& services() { return *services_; }
  /// The person running the command, for the audit log.
  ca::Actor actor() const;
  /// The command's clock: the system clock, or the fixed time of $JITSUIN_TEST_NOW (tests only).
  Clock clock() const;

 private:
  Clock clock_;   ///< api::clock_from_environment() ($JITSUIN_TEST_NOW), read once in the constructor
  std::unique_ptr<api::Services> services_;
};

}  // namespace jitsuin::cli
