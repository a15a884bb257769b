#include "cli/context.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstdio>
#include <iostream>

namespace jitsuin::cli {

namespace {

// The home holds personal data, password hashes, PIN files and the token: jitsuin creates it
// 0700, and says so when an existing one is open to others (it does not change it: that is the
// owner's decision, e.g. a group of operators).
void warn_if_home_is_open(const std::filesystem::path& home) {
  struct stat st {};
  if (::stat(home.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 077) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  std::cerr << "jitsuin: warning: the home " << home.string() << " is open to group or others (mode " << mode
            << "); it holds personal data and secrets: chmod 700 " << home.string() << "\n";
}

}  // namespace

Context::Context(const GlobalOptions& opts, api::HomeCreation home) : clock_(api::clock_from_environment()) {
  auto file = config::locate_config(opts.config, opts.home);
  auto config = config::load_config(file, opts.home);
  warn_if_home_is_open(config.home);
  services_ = std::make_unique<api::Services>(std::move(config), clock(), home);
}

Clock Context::clock() const { return clock_; }

ca::Actor Context::actor() const {
  const passwd* pw = getpwuid(geteuid());
  return {std::string("cli:") + (pw ? pw->pw_name : std::to_string(geteuid()))};
}

}  // namespace jitsuin::cli
