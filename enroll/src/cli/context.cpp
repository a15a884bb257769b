#include "cli/context.h"

#include <pwd.h>
#include <unistd.h>

namespace jitsuin::cli {

Context::Context(const GlobalOptions& opts) {
  auto file = config::locate_config(opts.config, opts.home);
  services_ = std::make_unique<api::Services>(config::load_config(file, opts.home), clock());
}

ca::Actor Context::actor() const {
  const passwd* pw = getpwuid(geteuid());
  return {std::string("cli:") + (pw ? pw->pw_name : std::to_string(geteuid()))};
}

}  // namespace jitsuin::cli
