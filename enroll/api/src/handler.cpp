#include "jitsuin/api/handler.h"

#include "jitsuin/api/status.h"
#include "jitsuin/core/error.h"

namespace jitsuin::api {

ra::Principal authenticate(Services& services, const Caller& caller, ra::SessionUse use) {
  if (!caller.session_token || caller.session_token->empty())
    throw Error(ErrorKind::unauthenticated, "not logged in (no session token): run jitsuin login");
  return ra::resume_session(services.ra(), *caller.session_token, use);
}

const std::vector<Handler>& handlers() {
  static const std::vector<Handler> all = [] {
    std::vector<Handler> out;
    add_ca_handlers(out);
    add_session_handlers(out);
    add_outbox_handlers(out);
    add_ra_handlers(out);
    add_trust_handlers(out);   // issue 12 (pdf2)
    return out;
  }();
  return all;
}

const Handler* find_handler(std::string_view name) {
  for (const auto& h : handlers())
    if (h.name == name) return &h;
  return nullptr;
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
    return {500, error_body(ErrorKind::internal, e.what())};
  }
}

}  // namespace jitsuin::api
