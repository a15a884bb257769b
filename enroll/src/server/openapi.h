#pragma once
// GET /api/v1/openapi.json: the API's contract (enroll/openapi.json, embedded in the binary at
// build time, so that what is served is exactly the file in the repository).
#include <optional>
#include <string>

#include "server/server.h"

namespace jitsuin::server {

/// The document when `req` asks for kOpenApiPath (405 for another method), otherwise nullopt.
std::optional<Response> serve_openapi(Shared& shared, Channel channel, const Request& req, std::string& principal);

}  // namespace jitsuin::server
