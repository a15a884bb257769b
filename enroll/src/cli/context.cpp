#include "cli/context.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace jitsuin::cli {

namespace {

// Test-only hook: $JITSUIN_TEST_NOW fixes "now" for every command of this process, given as
// RFC 3339 or as Unix seconds. Read here and nowhere else; unset, the system clock is used.
std::optional<UnixTime> test_now_from_environment() {
  const char* v = std::getenv("JITSUIN_TEST_NOW");
  if (!v || !*v) return std::nullopt;
  std::string text = v;
  if (text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 12) return std::stoll(text);
  try {
    return parse_rfc3339(text);
  } catch (const Error&) {
    throw Error(ErrorKind::config, "JITSUIN_TEST_NOW='" + text + "' is neither RFC 3339 nor Unix seconds");
  }
}

}  // namespace

Context::Context(const GlobalOptions& opts) : test_now_(test_now_from_environment()) {
  auto file = config::locate_config(opts.config, opts.home);
  services_ = std::make_unique<api::Services>(config::load_config(file, opts.home), clock());
}

Clock Context::clock() const {
  if (test_now_) return [t = *test_now_] { return t; };
  return system_clock();
}

ca::Actor Context::actor() const {
  const passwd* pw = getpwuid(geteuid());
  return {std::string("cli:") + (pw ? pw->pw_name : std::to_string(geteuid()))};
}

}  // namespace jitsuin::cli
