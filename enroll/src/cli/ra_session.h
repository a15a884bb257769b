#pragma once
// The RA operator running a command: identified by the session token that `jitsuin login` wrote
// (never by a name given on the command line).
#include <filesystem>
#include <string>

#include "cli/context.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::cli {

/// Where the session token lives: $JITSUIN_SESSION_FILE, else HOME/sessions/<unix user>.session.
std::filesystem::path session_file(const Context& ctx);

/// The logged-in operator. Throws unauthenticated with what to do when there is no live session.
ra::Principal current_operator(const Context& ctx, ra::RaContext& rctx);

/// Reads a password: from a file (mode 0600) when given, else from the terminal without echo.
std::string read_password(const std::string& prompt, const std::optional<std::string>& file);

}  // namespace jitsuin::cli
