#pragma once
// The browser side of jitsuind (issues 10 and 11): the pages, and browser sessions held in a cookie.
//
// Pages: static files from server.web_root (default: "web" beside the executable; the build copies
// enroll/web there) under /ra/ (RA operator console), /company/ (company admins), /enroll/
// (applicants) and /common/ (shared scripts, styles, dictionaries). Only regular files with a known
// type; a path ending in "/" is its index.html; no directory listing; the request target is already
// a plain path (server.cpp's valid_path: no "..", no percent-encoding). Every answer carries a
// Content-Security-Policy without 'unsafe-inline', X-Content-Type-Options, Referrer-Policy and
// frame-ancestors 'none'.
//
// Browser sessions: POST /web/login {"kind": "operator"|"company", user or login_id, password} runs
// session.login or company.login and puts the session token in the cookie __Host-jitsuin (Secure;
// HttpOnly; SameSite=Strict; Path=/), never in the page; the answer carries a CSRF token, HMAC-SHA256
// of the session token under a key the server draws at start. GET /web/session gives it again (and who
// is logged in) to a page that was reloaded. A page calls the API at the same /api/v1/<handler> routes
// with the cookie instead of a bearer token: the server maps cookie -> Caller::session_token only when
// the X-CSRF-Token header matches (and an Origin header, when sent, is this server's); bearer callers
// are unchanged. POST /web/logout ends the session ({"everywhere": true}: every session of the
// operator). A browser session unused for server.web_idle_minutes is ended; sessions opened before a
// restart of jitsuind are not resumed by the browser (log in again).
#include <optional>
#include <string>

#include "server/routes.h"
#include "server/server.h"

namespace jitsuin::server {

/// The browser routes above, or nullopt when the request is not one of them (the API with a bearer
/// token or without the cookie, the published files, ...).
std::optional<Response> serve_web(Shared& shared, Channel channel, const Request& req, std::string& principal,
                                  const std::string& source);

}  // namespace jitsuin::server
