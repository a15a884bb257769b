#pragma once
// Request handlers shared by the CLI and the HTTPS server. A handler decodes and validates its
// request (JSON in), authenticates and authorises the caller, calls ra/ or ca/ and renders the
// typed result as JSON. Handlers are found by name ("ca.show", "ra.bundle.create"), so an adapter
// routes to them without knowing what they do.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "jitsuin/api/services.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::api {

/// Who is asking, as the adapter learnt it from its transport.
struct Caller {
  /// Who acts when no operator session does, for the audit log: "cli:alice", later the server's
  /// name for a bootstrap or cron caller.
  std::string actor = "system";
  /// An RA operator's session token (the CLI's session file, the server's bearer token).
  std::optional<std::string> session_token;
};

/// What a handler needs from its caller, so that an adapter knows which handlers it may route to.
enum class Access {
  /// Acts as the machine's own user (ca init/issue/revoke, crl publish, cron jobs): trusted because
  /// the adapter runs on the CA host as that user. A network adapter must not route to these.
  local,
  /// The request carries its own credentials (session.login's password, a company admin's ID and
  /// password for ra.cert_request.add); the handler checks them.
  request_credentials,
  /// A live RA operator session (Caller::session_token, resolved with ra::resume_session).
  operator_session,
};

/// The logged-in operator. Throws unauthenticated when the caller has no session or it is unknown,
/// ended or expired; forbidden while the operator's password is temporary, unless `use` is
/// ra::SessionUse::password_change (whoami and the password change).
ra::Principal authenticate(Services& services, const Caller& caller, ra::SessionUse use = ra::SessionUse::any);

struct Handler {
  std::string name;
  Access access = Access::operator_session;
  std::function<nlohmann::json(Services&, const Caller&, const nlohmann::json& request)> run;
};

/// Every handler, in registration order.
const std::vector<Handler>& handlers();

/// The handler called `name`, or nullptr.
const Handler* find_handler(std::string_view name);

/// Runs the handler `name` (not_found when there is none). Errors propagate as jitsuin::Error.
nlohmann::json call(Services& services, const Caller& caller, std::string_view name, const nlohmann::json& request);

/// What an HTTP adapter sends: a status and a JSON body; errors become error_body() with
/// http_status(). Never throws for a jitsuin::Error or std::exception.
struct Response {
  int status = 200;
  nlohmann::json body;
};
Response respond(Services& services, const Caller& caller, std::string_view name, const nlohmann::json& request);

// Registration, one function per group (explicit rather than static registrars, which a static
// library would drop at link time).
void add_ca_handlers(std::vector<Handler>& out);
void add_session_handlers(std::vector<Handler>& out);
void add_outbox_handlers(std::vector<Handler>& out);
void add_ra_handlers(std::vector<Handler>& out);
void add_trust_handlers(std::vector<Handler>& out);   // issue 12 (pdf2)

}  // namespace jitsuin::api
