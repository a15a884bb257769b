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

/// Every registered command, in registration order.
const std::vector<Command>& all_commands();

/// Each cmd_*.cpp registers its group with a static instance:
///   static const CommandRegistrar reg({{"ca", "init", ...}, ...});
struct CommandRegistrar {
  explicit CommandRegistrar(std::vector<Command> commands);
};

}  // namespace jitsuin::cli
