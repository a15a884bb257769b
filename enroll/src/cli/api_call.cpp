#include "cli/api_call.h"

#include <iostream>

#include "cli/ra_session.h"
#include "jitsuin/api/handler.h"
#include "jitsuin/core/error.h"
#include "jitsuin/core/json.h"

namespace jitsuin::cli {

using nlohmann::json;

json call_api(Context& ctx, std::string_view name, const json& request) {
  // The database first: on a home that does not exist, that is the error to see (and, unless the
  // command may create a home, nothing is created), before "not logged in" or any other.
  ctx.db();
  api::Caller caller;
  caller.actor = ctx.actor().name;
  caller.source = api::kLocalSource;   // the CA host's own user: not rate limited
  const api::Handler* h = api::find_handler(name);
  std::filesystem::path file;
  if (h && h->access == api::Access::operator_session) {
    file = session_file(ctx);
    if (std::filesystem::exists(file)) caller.session_token = read_secret_file(file);
  }
  try {
    return api::call(ctx.services(), caller, name, request);
  } catch (const Error& e) {
    // Without a token the handler cannot know where the CLI looked for one: say it.
    if (e.kind() == ErrorKind::unauthenticated && !file.empty() && !caller.session_token)
      throw Error(ErrorKind::unauthenticated, "not logged in: run jitsuin login (no session file " + file.string() + ")");
    throw;
  }
}

json read_json_file(const std::string& path) {
  return parse_json(read_file(path, kMaxJsonInputBytes, "JSON file"), path);
}

void print_json(const json& j) { std::cout << j.dump(2) << "\n"; }

std::string str(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

}  // namespace jitsuin::cli
