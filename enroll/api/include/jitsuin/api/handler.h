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
#include "jitsuin/ra/outbox.h"

namespace jitsuin::api {

/// Caller::source of the CLI and in-process callers, which are not rate limited.
inline constexpr const char* kLocalSource = "local";

/// Who is asking, as the adapter learnt it from its transport.
struct Caller {
  /// Who acts when no operator session does, for the audit log: "cli:alice", later the server's
  /// name for a bootstrap or cron caller.
  std::string actor = "system";
  /// An RA operator's or a company admin's session token (the CLI's session file, the server's
  /// bearer token).
  std::optional<std::string> session_token;
  /// Where the call came from, for the authentication rate limits (ra/auth_limits.h): the client's
  /// IP address, which a network adapter must set (the server does, from the connection), or
  /// kLocalSource: the CLI and in-process callers on the CA host, which are not limited.
  std::string source = kLocalSource;
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
  /// A live company admin session (company.login; resolved with ra::resume_company_session).
  company_session,
};

/// The logged-in operator. Throws unauthenticated when the caller has no session or it is unknown,
/// ended or expired; forbidden while the operator's password is temporary, unless `use` is
/// ra::SessionUse::password_change (whoami and the password change).
/// A company admin's session token is forbidden here (RA operators only).
/// Over the network (Caller::source not "local") a token that does not resolve counts against the
/// source address, and an address over its limit gets rate_limited before its token is looked at.
ra::Principal authenticate(Services& services, const Caller& caller, ra::SessionUse use = ra::SessionUse::any);

/// The company admin of a live company session (company.* handlers): unauthenticated as
/// authenticate(), forbidden for an operator's session token; rate limited like authenticate().
/// Forbidden ("password change required") while the company ID's mailed initial password is in
/// force, unless `use` is ra::SessionUse::password_change (company.whoami and company.passwd).
ra::Principal authenticate_company(Services& services, const Caller& caller,
                                   ra::SessionUse use = ra::SessionUse::any);

/// Counts a login attempt (a request carrying a password) for `account` ("operator:<name>",
/// "company:<login ID>") against the caller's source address and the account; throws
/// rate_limited when either is over its limit. Nothing for Caller::source "local".
void limit_login(Services& services, const Caller& caller, const std::string& account);

/// Who holds a session token (operator name or company ID), for the access log; nullopt if none.
std::optional<std::string> session_holder(Services& services, const std::string& token);

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
/// http_status() (a 429's body carries retry_after, the seconds for Retry-After). Never throws for
/// a jitsuin::Error or std::exception.
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
void add_company_handlers(std::vector<Handler>& out);
void add_trust_handlers(std::vector<Handler>& out);
void add_enroll_handlers(std::vector<Handler>& out);   // enroll (issue 10)

/// enroll: the download PINs of an application for the RA's application view (never the PIN).
nlohmann::json render_download_pins(Services& services, const ra::Principal& who, std::int64_t application_id);
void add_web_handlers(std::vector<Handler>& out);   // web
void add_smime_handlers(std::vector<Handler>& out);   // smime (issue 10, seed 004)

void add_webra_handlers(std::vector<Handler>& out);   // webra (issue 11): ra.expiry.list

/// webadmin: the consoles' outbox, audit and company pages (issue 11); an outbox row as the API
/// shows it (never a mail's parameters: they may hold a secret).
void add_webadmin_handlers(std::vector<Handler>& out);
nlohmann::json render_outbox_entry(const ra::OutboxEntry& entry);

}  // namespace jitsuin::api
