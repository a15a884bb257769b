#pragma once
// The OCSP responder over HTTP (RFC 6960 appendix A, RFC 5019), on the plain-HTTP listener and
// the HTTPS one, at the path of ca.ocsp_url (/ocsp), which the certificates name:
// - POST /ocsp (also /ocsp/) with Content-Type application/ocsp-request and the DER request as
//   the body (at most kOcspMaxRequestBytes);
// - GET /ocsp/<base64 of the DER request, percent-encoded>: the percent-encoding is decoded
//   strictly (% and two hex digits), then standard base64 with its padding; anything that does
//   not decode is answered malformedRequest like a request that does not parse.
// Answers are application/ocsp-response; a successful GET answer without a nonce carries the
// RFC 5019 caching headers (Cache-Control max-age up to nextUpdate, public, no-transform,
// must-revalidate; Last-Modified = thisUpdate; Expires = nextUpdate; ETag) and honours
// If-None-Match.
//
// The responder (ca::OcspResponder) has a Services of its own (database connections, CA, key
// store): OCSP never takes Shared::services_mutex, so it does not wait for API calls, and the
// pool's threads answer OCSP requests in parallel.
#include <memory>
#include <optional>
#include <string>

#include "jitsuin/api/services.h"
#include "jitsuin/ca/ocsp.h"
#include "server/server.h"

namespace jitsuin::server {

/// Largest POST body accepted at /ocsp: a request of ca::kOcspMaxCertIds CertIDs with a nonce and
/// a signature fits many times over.
inline constexpr std::size_t kOcspMaxRequestBytes = 16 * 1024;

/// The responder jitsuind serves, over `services` (which must be the OCSP's own and outlive it):
/// made at start-up, with its signer issued or renewed now rather than on the first request (a
/// failure there is printed; the requests then answer internalError until it works).
ca::OcspResponder& start_ocsp(api::Services& services);

/// Answers the /ocsp routes on either channel; nullopt for every other path.
std::optional<Response> serve_ocsp(Shared& shared, Channel channel, const Request& req, std::string& principal);

/// The responder's counters in the Prometheus text format (for /metrics): responses by status,
/// SingleResponses by certificate status, signatures made and cache hits.
void render_ocsp_metrics(const ca::OcspResponder& responder, std::string& out);

}  // namespace jitsuin::server
