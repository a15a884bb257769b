#pragma once
// What handlers need from the process that runs them (the CLI for one command, the server for its
// lifetime): the configuration, the database, the clock and the CA. The CA is opened on first use
// only, so handlers that do not sign never open a token session.
#include <memory>
#include <optional>

#include "jitsuin/ca/authority.h"
#include "jitsuin/ca/ocsp.h"
#include "jitsuin/config/config.h"
#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"
#include "jitsuin/hsm/key_store.h"
#include "jitsuin/ra/context.h"

namespace jitsuin::api {

/// Whether opening the database may create the home folder and a new database.
enum class HomeCreation {
  allowed,   ///< commands that create state (ca init, the first operator-add) and library users
  refused,   ///< every other command: a missing home is an error naming it, and nothing is created
};

/// The system clock, or the fixed time $JITSUIN_TEST_NOW names (RFC 3339 or Unix seconds; tests
/// only), read once here. Throws config when it is neither.
Clock clock_from_environment();

class Services {
 public:
  /// Takes a loaded configuration and the clock every handler uses, and loads and checks every
  /// certificate profile (fail fast: a broken profile stops start-up, whichever request comes).
  Services(config::Config config, Clock clock, HomeCreation home = HomeCreation::allowed);
  ~Services();
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  const config::Config& config() const { return config_; }
  Clock clock() const { return clock_; }
  /// The database, opened on first use. With HomeCreation::allowed a missing folder is created
  /// private (0700) and a new database 0600; with refused a missing database is not_found.
  db::Database& db();
  /// The RA's context over db(), config() and clock().
  ra::RaContext& ra();
  /// Whether a CA exists in the database.
  bool ca_initialized();
  /// The CA, loaded from the database and its keys on first use; not_found when there is none.
  ca::CertificateAuthority& ca();
  /// The OCSP responder over ca(), made on first use (its signing certificate on its first answer).
  ca::OcspResponder& ocsp();
  /// Creates the CA (keys, root and issuing certificates); conflict when one exists.
  void init_ca(const ca::Actor& actor, hsm::KeyAlgorithm root, hsm::KeyAlgorithm issuing);

 private:
  config::Config config_;
  Clock clock_;
  HomeCreation home_creation_;
  ca::ProfileSet profiles_;   // loaded and checked at start-up, handed to the CA
  std::unique_ptr<db::Database> db_;
  std::optional<ra::RaContext> ra_;
  // How the CA gets its keys: ca_keys() and nothing else.
  hsm::KeyStore& ca_keys(bool provision);
  std::unique_ptr<hsm::KeyStore> keys_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
  std::unique_ptr<ca::OcspResponder> ocsp_;
};

}  // namespace jitsuin::api
