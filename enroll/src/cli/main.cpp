// jitsuin: the command line of the CA, RA and token agent.
#include <sys/stat.h>

#include <iostream>

#include "cli/commands.h"
#include "jitsuin/api/status.h"
#include "jitsuin/core/error.h"

namespace {

using jitsuin::cli::all_commands;
using jitsuin::cli::Command;


void print_usage(std::ostream& out) {
  out << "usage: jitsuin [--home DIR] [--config FILE] COMMAND [options]\n\n"
         "  --home DIR      state folder: database, embedded SoftHSM2 token, PIN files, CRLs (default ./var)\n"
         "  --config FILE   configuration (default: $JITSUIN_CONFIG, DIR/jitsuin.json, or config/jitsuin.json)\n\n"
         "commands:\n";
  for (const auto& c : all_commands()) out << "  jitsuin " << c.usage << "\n";
  out << "\nRun 'jitsuin COMMAND --help' for details.\n";
}

// True when group names a group of sub-commands (ra, ca, crl ...), not a single-word command.
bool is_group(const std::string& group) {
  for (const auto& c : all_commands())
    if (group == c.group && *c.name != '\0') return true;
  return false;
}

// The commands of one group: `jitsuin ra --help`.
void print_group_usage(std::ostream& out, const std::string& group) {
  out << "usage: jitsuin [--home DIR] [--config FILE] " << group << " COMMAND [options]\n\n"
      << "commands of '" << group << "':\n";
  for (const auto& c : all_commands())
    if (group == c.group) out << "  jitsuin " << c.usage << "\n";
  out << "\nRun 'jitsuin " << group << " COMMAND --help' for details.\n";
}

}  // namespace

namespace jitsuin::cli {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace

const std::vector<Command>& all_commands() { return registry(); }

CommandRegistrar::CommandRegistrar(std::vector<Command> commands) {
  registry().insert(registry().end(), commands.begin(), commands.end());
}

}  // namespace jitsuin::cli

int main(int argc, char** argv) {
  // Whatever jitsuin creates (home, database and its journals, letters, session files, maildir) is
  // private to its user, whatever umask the caller has. Files meant to be public (CRLs, a
  // certificate written with --out) are given their mode explicitly.
  ::umask(077);
  std::vector<std::string> args(argv + 1, argv + argc);
  jitsuin::cli::GlobalOptions global;
  std::size_t i = 0;
  try {
    for (; i < args.size() && args[i].starts_with("--"); ++i) {
      if (args[i] == "--help" || args[i] == "-h") {
        print_usage(std::cout);
        return 0;
      }
      auto take = [&](const char* name) -> std::string {
        std::string a = args[i], prefix = std::string(name) + "=";
        if (a.starts_with(prefix)) return a.substr(prefix.size());
        if (i + 1 >= args.size()) throw jitsuin::cli::UsageError(std::string(name) + " needs a value");
        return args[++i];
      };
      if (args[i] == "--home" || args[i].starts_with("--home=")) global.home = take("--home");
      else if (args[i] == "--config" || args[i].starts_with("--config=")) global.config = take("--config");
      else throw jitsuin::cli::UsageError("unknown option " + args[i]);
    }
    // Single-word commands (jitsuin login) are registered with an empty name.
    const Command* single = nullptr;
    if (i < args.size())
      for (const auto& c : all_commands())
        if (args[i] == c.group && *c.name == '\0') single = &c;
    if (!single && i < args.size() && is_group(args[i])) {
      // `jitsuin ra --help`, `jitsuin ra help`: the group's commands; `jitsuin ra` alone: the same,
      // as a usage error.
      bool asked = i + 1 < args.size() && (args[i + 1] == "--help" || args[i + 1] == "-h" || args[i + 1] == "help");
      if (asked || i + 1 >= args.size()) {
        print_group_usage(asked ? std::cout : std::cerr, args[i]);
        return asked ? 0 : 2;
      }
    }
    if (!single && i + 1 >= args.size() && !(i < args.size() && args[i] == "help")) {
      print_usage(i < args.size() ? std::cerr : std::cout);
      return i < args.size() ? 2 : (args.empty() ? 2 : 0);
    }
    if (args[i] == "help") {
      print_usage(std::cout);
      return 0;
    }
    const Command* cmd = single;
    if (!cmd)
      for (const auto& c : all_commands())
        if (args[i] == c.group && args[i + 1] == c.name) cmd = &c;
    if (!cmd) {
      std::cerr << "jitsuin: unknown command '" << args[i] << " " << args[i + 1] << "'\n\n";
      print_usage(std::cerr);
      return 2;
    }
    std::vector<std::string> rest(args.begin() + static_cast<long>(i) + (single ? 1 : 2), args.end());
    for (const auto& a : rest)
      if (a == "--help" || a == "-h") {
        std::cout << "usage: jitsuin [--home DIR] " << cmd->usage << "\n\n" << cmd->help << "\n";
        return 0;
      }
    try {
      return cmd->run(global, rest);
    } catch (const jitsuin::cli::UsageError& e) {
      std::cerr << "jitsuin: " << e.what() << "\nusage: jitsuin [--home DIR] " << cmd->usage << "\n";
      return 2;
    }
  } catch (const jitsuin::cli::UsageError& e) {
    std::cerr << "jitsuin: " << e.what() << "\n";
    print_usage(std::cerr);
    return 2;
  } catch (const jitsuin::Error& e) {
    std::cerr << "jitsuin: error (" << jitsuin::error_kind_name(e.kind()) << "): " << e.what() << "\n";
    return jitsuin::api::exit_status(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "jitsuin: error: " << e.what() << "\n";
    return 1;
  }
}
