// session.login, session.logout: RA operator sessions. The token is the credential; the database
// keeps only its hash. Where the token is kept (a file, a cookie) is the adapter's business.
#include "jitsuin/api/handler.h"
#include "jitsuin/api/request.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/company_session.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

json login(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string user = f.text("user"), password = f.text("password");
  f.done();
  limit_login(s, c, "operator:" + user);
  // The password check and the new session are one transaction with one audit entry.
  auto r = ra::login_session(s.ra(), user, password);
  if (!r.principal) throw Error(ErrorKind::unauthenticated, r.message);
  const ra::Session& session = *r.session;
  return {{"user", r.principal->name()},
          {"role", ra::role_name(r.principal->role())},
          {"token", session.token},
          {"expires_at", format_rfc3339(session.expires_at)},
          {"password_change_required", r.password_change_required}};
}

json logout(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  if (!c.session_token) throw Error(ErrorKind::unauthenticated, "not logged in (no session token)");
  if (ra::is_company_session(s.ra(), *c.session_token))
    throw Error(ErrorKind::forbidden, "a company admin's session ends with company.logout");
  ra::end_session(s.ra(), *c.session_token);
  return {{"logged_out", true}};
}

}  // namespace

void add_session_handlers(std::vector<Handler>& out) {
  out.push_back({"session.login", Access::request_credentials, login});
  out.push_back({"session.logout", Access::operator_session, logout});
}

}  // namespace jitsuin::api
