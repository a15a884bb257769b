#pragma once
// The credentials of the person running a command: the RA operator's session token that
// `jitsuin login` wrote (never a name given on the command line), and passwords typed or read from files.
#include <filesystem>
#include <string>

#include "cli/context.h"

namespace jitsuin::cli {

/// Where the session token lives: $JITSUIN_SESSION_FILE, else HOME/sessions/<unix user>.session.
std::filesystem::path session_file(const Context& ctx);

/// Reads a password: from a file (mode 0600) when given, else from the terminal without echo.
std::string read_password(const std::string& prompt, const std::optional<std::string>& file);

}  // namespace jitsuin::cli
