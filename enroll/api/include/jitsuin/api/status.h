#pragma once
// One mapping from an error kind to what a caller sees: the CLI's exit status, the HTTP status and
// the JSON error body. The CLI and the HTTPS server both use it; nothing else decides a status.
#include <nlohmann/json.hpp>

#include "jitsuin/core/error.h"

namespace jitsuin::api {

/// The HTTP status of an error kind: invalid_input 400, unauthenticated 401, forbidden 403,
/// not_found 404, conflict 409, rate_limited 429 (the adapter adds Retry-After
/// from the body's retry_after), hsm 503 (the token is unavailable: retrying later may work),
/// config/database/crypto/io/internal 500.
int http_status(ErrorKind kind);

/// The CLI's exit status of an error kind. The CLI's documented contract is 1 for every failure a
/// command reports (2 is kept for usage errors, which never reach a handler), so this is 1 for
/// every kind; it is a function so that the contract lives in one place.
int exit_status(ErrorKind kind);

/// The error body every adapter sends: {"error": error_kind_name(kind), "message": text}; for a
/// RateLimitedError also "retry_after": seconds. A kind whose status is 500 gets
/// internal_error_body(kind: text) instead: the client never sees its text.
nlohmann::json error_body(ErrorKind kind, const std::string& message);
nlohmann::json error_body(const Error& e);

/// The body of every 500: {"error": "internal", "message": "internal error", "id": ID}, ID 16
/// random hex digits, never the exception's text (it can hold SQL, file paths, library details).
/// `detail` goes to stderr as one line "jitsuind: internal error ID: detail" (control characters
/// replaced, at most 2000 bytes), written with one write(2), so the operator finds it by the id.
nlohmann::json internal_error_body(std::string_view detail);

}  // namespace jitsuin::api
