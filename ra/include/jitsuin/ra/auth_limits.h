#pragma once
// Rate limits on authentication over the network (issue 9): login attempts (operator and company
// logins, a company admin's request carrying its password) count against their source address and
// the account they name; bearer tokens that do not resolve count against their source address.
// Counted in fixed windows of config.server.auth_rate_window_seconds, in the database (so a
// restart does not reset them): once a counter reaches its limit (server.auth_rate_per_address,
// server.auth_rate_per_account), further attempts it counts are refused with RateLimitedError
// (ErrorKind::rate_limited, HTTP 429) until its window ends. The password lockout (operators.h,
// accounts.h) is separate and unchanged. The first refusal of a window is audited once
// (ra.auth.rate_limited). Callers on the CA host itself (the CLI) are not limited: they pass no
// address here.
#include <optional>
#include <string>

#include "jitsuin/ra/context.h"

namespace jitsuin::ra {

/// Counts a login attempt from `address` for `account` (e.g. "operator:alice", "company:C000001"),
/// after checking both are under their limits; throws RateLimitedError (counting nothing) when one
/// is not. One transaction.
void count_login_attempt(RaContext& ctx, const std::string& address, const std::string& account);

/// Throws RateLimitedError when `address` is at its limit (counts nothing): checked before a
/// bearer token is resolved.
void check_address_limit(RaContext& ctx, const std::string& address);

/// Counts a bearer token from `address` that did not resolve to a live session. One transaction.
void count_bearer_failure(RaContext& ctx, const std::string& address);

}  // namespace jitsuin::ra
