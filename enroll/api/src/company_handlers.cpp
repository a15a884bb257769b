// company.*: what a company admin (企業ID, RA-8/RA-9) does over the API for its own company, in a
// session of its own: company.login gives a bearer token (ra/company_session.h) that the other
// handlers resolve with authenticate_company(). The company is always the session's: no request
// names one, so nothing of another company can be asked for; ra/ checks every object it is given
// (a certificate or user ID of another company is forbidden).
#include "jitsuin/api/decode.h"
#include "jitsuin/api/handler.h"
#include "jitsuin/api/render.h"
#include "jitsuin/api/request.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/cert_request.h"
#include "jitsuin/ra/company_session.h"
#include "jitsuin/ra/links.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

template <typename List>
json rendered(const List& list) {
  json out = json::array();
  for (const auto& x : list) out.push_back(render(x));
  return out;
}

json login(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string login_id = f.text("login_id"), password = f.text("password");
  f.done();
  limit_login(s, c, "company:" + login_id);
  // The password check (lockout, audit) and the new session are one transaction with one entry.
  auto r = ra::login_company_session(s.ra(), login_id, password);
  if (!r.principal) throw Error(ErrorKind::unauthenticated, r.message);
  return {{"login_id", r.principal->name()}, {"company", r.principal->company_id()}, {"token", r.session->token},
          {"expires_at", format_rfc3339(r.session->expires_at)},
          {"password_change_required", r.password_change_required}};
}

// The company admin's own password (the session allows it with the initial password in force).
json passwd(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string current = f.text("current"), next = f.text("new");
  f.done();
  auto who = authenticate_company(s, c, ra::SessionUse::password_change);
  int ended = ra::change_account_password(s.ra(), who.name(), current, next, who.session_id());
  return {{"changed", true}, {"sessions_ended", ended}};
}

// A user ID's (ユーザID) own password: user IDs have no session, so the request carries the ID and
// its current password, rate limited as a login.
json account_passwd(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string login_id = f.text("login_id"), current = f.text("current"), next = f.text("new");
  f.done();
  limit_login(s, c, "company:" + login_id);
  int ended = ra::change_account_password(s.ra(), login_id, current, next);
  return {{"login_id", login_id}, {"changed", true}, {"sessions_ended", ended}};
}

json logout(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  if (!c.session_token) throw Error(ErrorKind::unauthenticated, "not logged in (no session token)");
  if (!ra::is_company_session(s.ra(), *c.session_token) && ra::session_holder(s.ra(), *c.session_token))
    throw Error(ErrorKind::forbidden, "company.logout ends a company admin's session; operators use session.logout");
  ra::end_company_session(s.ra(), *c.session_token);
  return {{"logged_out", true}};
}

json whoami(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  auto who = authenticate_company(s, c, ra::SessionUse::password_change);
  return {{"login_id", who.name()}, {"kind", ra::principal_kind_name(who.kind())}, {"company", who.company_id()},
          {"password_change_required", who.password_change_only()}};
}

json accounts(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  auto who = authenticate_company(s, c);
  return rendered(ra::list_accounts(s.ra(), who, who.company_id()));
}

json certificates(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  auto who = authenticate_company(s, c);
  return rendered(ra::company_certificates(s.ra(), who, who.company_id()));
}

json cert_requests(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  auto who = authenticate_company(s, c);
  return rendered(ra::list_certificate_requests(s.ra(), who, who.company_id()));
}

// ra.cert_request.add without the password: the session is the company admin's credential.
json cert_request_add(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string user = f.text("user");
  const json* form = f.object("form");
  const json* pin_recipient = f.object("pin_recipient");   // enroll (seed 003)
  const json* contact = f.object("contact");
  f.done();
  auto input = decode_cert_request(user, form, pin_recipient, contact);
  auto who = authenticate_company(s, c);
  return render(ra::request_additional_certificate(s.ra(), who, input));
}

json link(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  ra::LinkChange change{f.text("serial"), f.opt_text("link"), f.opt_text("unlink")};
  f.done();
  auto who = authenticate_company(s, c);
  auto links = ra::change_certificate_link(s.ra(), who, who.company_id(), change);
  return {{"serial", ca::normalize_serial(change.serial)}, {"links", rendered(links)}};
}

json links(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  bool history = f.flag("history");
  f.done();
  auto who = authenticate_company(s, c);
  return rendered(ra::list_links(s.ra(), who, who.company_id(), history));
}

}  // namespace

void add_company_handlers(std::vector<Handler>& out) {
  const auto company = Access::company_session;
  out.insert(out.end(), {
      {"company.login", Access::request_credentials, login},
      {"company.logout", company, logout},
      {"company.passwd", company, passwd},
      {"account.passwd", Access::request_credentials, account_passwd},
      {"company.whoami", company, whoami},
      {"company.accounts", company, accounts},
      {"company.certificates", company, certificates},
      {"company.cert_requests", company, cert_requests},
      {"company.cert_request.add", company, cert_request_add},
      {"company.link", company, link},
      {"company.links", company, links},
  });
}

}  // namespace jitsuin::api
