#include "jitsuin/api/services.h"

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"

namespace jitsuin::api {

// Test-only hook: $JITSUIN_TEST_NOW fixes "now" for every command of this process (jitsuin and
// jitsuind), given as RFC 3339 or as Unix seconds. Read here and nowhere else.
Clock clock_from_environment() {
  const char* v = std::getenv("JITSUIN_TEST_NOW");
  if (!v || !*v) return system_clock();
  std::string text = v;
  UnixTime t = 0;
  if (text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 12) {
    t = std::stoll(text);
  } else {
    try {
      t = parse_rfc3339(text);
    } catch (const Error&) {
      throw Error(ErrorKind::config, "JITSUIN_TEST_NOW='" + text + "' is neither RFC 3339 nor Unix seconds");
    }
  }
  return [t] { return t; };
}

Services::Services(config::Config config, Clock clock, HomeCreation home)
    : config_(std::move(config)),
      clock_(std::move(clock)),
      home_creation_(home),
      profiles_(ca::load_profiles(config_.ca.profiles_dir)) {}

Services::~Services() = default;

db::Database& Services::db() {
  if (!db_) {
    const auto& path = config_.database.path;
    std::error_code ec;
    if (home_creation_ == HomeCreation::refused && !std::filesystem::exists(path, ec)) {
      std::string home = config_.home.string();
      throw Error(ErrorKind::not_found,
                  (std::filesystem::exists(config_.home, ec) ? "no jitsuin database " + path.string()
                                                              : "no jitsuin home " + home + " (no database " +
                                                                    path.string() + ")") +
                      "; nothing was created. To create it, run: jitsuin ca init (a new CA) or jitsuin ra "
                      "operator-add (the first RA administrator) with --home " +
                      home + ", or ./run.sh");
    }
    create_private_directories(path.parent_path());
    db_ = db::Database::open(config_.database.path, {.synchronous_full = config_.database.synchronous == "full"});
  }
  return *db_;
}

ra::RaContext& Services::ra() {
  if (!ra_) ra_.emplace(ra::RaContext{db(), config_, clock_});
  return *ra_;
}

bool Services::ca_initialized() { return ca::CertificateAuthority::initialized(db()); }

// The one place that gives the CA its keys: the key store hsm.type names. Opening it touches no
// token; the CA asks it for a key only when it signs. With `provision` (ca init) the embedded
// SoftHSM2 token is created on first use. A restore of the embedded token's state file from its
// verified copy becomes one audit entry, hsm.token.restore, in a transaction of its own on a
// connection of its own: the token may be opened inside the caller's read snapshot (CRL signing).
hsm::KeyStore& Services::ca_keys(bool provision) {
  if (!keys_) {
    hsm::KeyStoreObserver observer;
    observer.token_restored = [this](const hsm::TokenRestored& r) {
      nlohmann::json details = {{"token_file", r.token_file}, {"backup_file", r.backup_file}, {"reason", r.reason},
                                {"sha256", r.sha256}, {"restore_id", r.restore_id}};
      auto own = db::Database::open(config_.database.path,
                                    {.synchronous_full = config_.database.synchronous == "full"});
      db::Transaction tx(*own);
      db::append_audit(*own, {"system", "hsm.token.restore", r.token_file, details.dump()}, clock_());
      tx.commit();
    };
    keys_ = hsm::open_key_store(config_, provision, std::move(observer));
  }
  return *keys_;
}

ca::CertificateAuthority& Services::ca() {
  if (!ca_) {
    if (!ca_initialized())
      throw Error(ErrorKind::not_found, "no CA in " + config_.database.path.string() + " (run: jitsuin ca init)");
    ca_ = std::make_unique<ca::CertificateAuthority>(config_, db(), ca_keys(false), clock_, profiles_);
  }
  return *ca_;
}

ca::OcspResponder& Services::ocsp() {
  if (!ocsp_) ocsp_ = std::make_unique<ca::OcspResponder>(config_, db(), ca_keys(false), clock_, ca());
  return *ocsp_;
}

void Services::init_ca(const ca::Actor& actor, hsm::KeyAlgorithm root, hsm::KeyAlgorithm issuing) {
  if (ca_initialized())
    throw Error(ErrorKind::conflict,
                "a CA already exists in " + config_.database.path.string() + "; refusing to create another");
  ca::CertificateAuthority::init(config_, db(), ca_keys(true), actor, clock_, root, issuing);
}

}  // namespace jitsuin::api
