#pragma once
// The CLI as an adapter over jitsuin_api: a command builds a request, calls a handler by name with
// the caller's credentials, and prints the response as text or (--json) as JSON.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/context.h"

namespace jitsuin::cli {

/// Calls the handler `name` as the person running the command: the unix user for the audit log
/// and, for handlers that need an RA operator, the session token from session_file() when present.
nlohmann::json call_api(Context& ctx, std::string_view name, const nlohmann::json& request);

/// A JSON file given on the command line; invalid_input naming the file when it does not parse.
nlohmann::json read_json_file(const std::string& path);

/// Prints JSON as --json does: two-space indent and a newline.
void print_json(const nlohmann::json& j);

/// A string member of a response, "" when absent, other types as their JSON text.
std::string str(const nlohmann::json& j, const char* key);

}  // namespace jitsuin::cli
