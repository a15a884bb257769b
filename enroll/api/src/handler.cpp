#include "jitsuin/api/handler.h"

#include <unordered_map>

#include "jitsuin/api/status.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/auth_limits.h"
#include "jitsuin/ra/company_session.h"
#include "jitsuin/ra/read_moment.h"

namespace jitsuin::api {

namespace {

bool limited(const Caller& caller) { return caller.source != kLocalSource; }

// The session behind the caller's token, of either kind, under the rate limits.
ra::Principal resume(Services& services, const Caller& caller, ra::SessionUse use, const char* login_hint) {
  if (!caller.session_token || caller.session_token->empty())
    throw Error(ErrorKind::unauthenticated, std::string("not logged in (no session token): ") + login_hint);
  ra::ReadMoment moment(services.ra());   // the rate-limit row and the session as of one moment
  if (limited(caller)) ra::check_address_limit(services.ra(), caller.source);
  try {
    return ra::resume_any_session(services.ra(), *caller.session_token, use);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::unauthenticated && limited(caller)) ra::count_bearer_failure(services.ra(), caller.source);
    throw;
  }
}

}  // namespace

ra::Principal authenticate(Services& services, const Caller& caller, ra::SessionUse use) {
  auto p = resume(services, caller, use, "run jitsuin login");
  if (!p.is_operator())
    throw Error(ErrorKind::forbidden, ra::principal_kind_name(p.kind()) + " " + p.name() +
                                          " may not make this call: it is for RA operators (company admins use company.*)");
  return p;
}

ra::Principal authenticate_company(Services& services, const Caller& caller, ra::SessionUse use) {
  auto p = resume(services, caller, use, "log in with company.login");
  if (p.kind() != ra::PrincipalKind::company_admin)
    throw Error(ErrorKind::forbidden, "operator " + p.name() + " may not make this call: it is for company admins "
                                          "(企業ID) in their own session (operators use ra.*)");
  return p;
}

void limit_login(Services& services, const Caller& caller, const std::string& account) {
  if (limited(caller)) ra::count_login_attempt(services.ra(), caller.source, account);
}

std::optional<std::string> session_holder(Services& services, const std::string& token) {
  return ra::session_holder(services.ra(), token);
}

const std::vector<Handler>& handlers() {
  static const std::vector<Handler> all = [] {
    std::vector<Handler> out;
    add_ca_handlers(out);
    add_session_handlers(out);
    add_outbox_handlers(out);
    add_ra_handlers(out);
    add_company_handlers(out);
    add_trust_handlers(out);
    add_enroll_handlers(out);
    add_web_handlers(out);   // web
    add_smime_handlers(out);   // smime
    add_webra_handlers(out);   // webra
    add_webadmin_handlers(out);   // webadmin
    return out;
  }();
  return all;
}

const Handler* find_handler(std::string_view name) {
  // Every API request looks its handler up (routing, the call, the metrics' route label).
  static const std::unordered_map<std::string_view, const Handler*> by_name = [] {
    std::unordered_map<std::string_view, const Handler*> m;
    for (const auto& h : handlers()) m.emplace(h.name, &h);   // the first of a name, as the scan found
    return m;
  }();
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

nlohmann::json call(Services& services, const Caller& caller, std::string_view name, const nlohmann::json& request) {
  const Handler* h = find_handler(name);
  if (!h) throw Error(ErrorKind::not_found, "no handler " + std::string(name));
  return h->run(services, caller, request);
}

Response respond(Services& services, const Caller& caller, std::string_view name, const nlohmann::json& request) {
  try {
    return {200, call(services, caller, name, request)};
  } catch (const Error& e) {
    return {http_status(e.kind()), error_body(e)};
  } catch (const std::exception& e) {
    return {500, error_body(ErrorKind::internal, e.what())};   // the text logged, not sent
  } catch (...) {
    return {500, internal_error_body("unknown exception")};
  }
}

}  // namespace jitsuin::api
