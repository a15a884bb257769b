// Handlers the browser consoles need beyond the CLI's (issue 11). session.logout_all: "log out
// everywhere" — every live session of the calling operator ends (browser logins, CLI logins and
// operator keys alike), for an operator who left a browser logged in somewhere.
#include "jitsuin/api/handler.h"
#include "jitsuin/api/request.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

json logout_all(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  auto who = authenticate(s, c);
  return {{"logged_out", true}, {"sessions_ended", ra::end_all_sessions(s.ra(), who)}};
}

}  // namespace

void add_web_handlers(std::vector<Handler>& out) {
  out.push_back({"session.logout_all", Access::operator_session, logout_all});
}

}  // namespace jitsuin::api
