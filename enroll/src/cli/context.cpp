#include "cli/context.h"

#include <pwd.h>
#include <unistd.h>


namespace jitsuin::cli {

Context::Context(const GlobalOptions& opts) {
  auto file = config::locate_config(opts.config, opts.home);
  config_ = config::load_config(file, opts.home);
}

db::Database& Context::db() {
  if (!db_) {
    std::filesystem::create_directories(config_.database.path.parent_path());
    db_ = db::Database::open(config_.database.path, {.synchronous_full = config_.database.synchronous == "full"});
  }
  return *db_;
}

hsm::KeyStore& Context::keys(bool provision) {
  if (!keys_) keys_ = hsm::open_key_store(config_, provision);
  return *keys_;
}

ca::CertificateAuthority& Context::ca() {
  if (!ca_) {
    if (!ca::CertificateAuthority::initialized(db()))
      throw Error(ErrorKind::not_found, "no CA in " + config_.database.path.string() + " (run: jitsuin ca init)");
    ca_ = std::make_unique<ca::CertificateAuthority>(config_, db(), keys(), clock());
  }
  return *ca_;
}

ca::Actor Context::actor() const {
  const passwd* pw = getpwuid(geteuid());
  return {std::string("cli:") + (pw ? pw->pw_name : std::to_string(geteuid()))};
}

}  // namespace jitsuin::cli
