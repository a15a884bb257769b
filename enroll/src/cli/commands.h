#pragma once
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/context.h"

namespace jitsuin::cli {

/// One sub-command: "ca init", "crl publish" ...
struct Command {
  const char* group;
  const char* name;
  const char* usage;   ///< one line of synopsis
  const char* help;    ///< what it does, options explained
  int (*run)(const GlobalOptions& global, const std::vector<std::string>& args);
};

/// Commands of the CA, CRL and audit groups.
const std::vector<Command>& ca_commands();

}  // namespace jitsuin::cli
