#pragma once
// The server's routes as one list: what handle_request answers, what `jitsuind --routes` prints and
// what enroll/openapi.json must describe (CTest jitsuind_openapi checks both ways). No Boost here,
// so that the list can be read without a server.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jitsuin::server {

/// A file `jitsuin crl publish` writes, served byte for byte at `path`.
struct StaticRoute {
  const char* path;
  const char* file;
  const char* content_type;
};

/// The published CRLs and CA certificates (the table serve_static in server.cpp serves from).
const std::vector<StaticRoute>& static_routes();

/// The published CRL partitions (ca/authority.h): `/crl/issuing-<partition>.crl`, listed by
/// routes() as kCrlPartitionRoute. For a path of that form, the file name in the publish folder
/// (`issuing-<partition>.crl`); nullopt for any other path.
inline constexpr const char* kCrlPartitionRoute = "/crl/issuing-{partition}.crl";
std::optional<std::string> crl_partition_file(std::string_view path);

/// Where a route is served: plain HTTP serves only what relying parties fetch.
enum class RouteChannel { https, both };

/// Who may call a route: anyone, an operator's bearer session token, or credentials in the body;
/// cookie: a browser session (web.h), not an API route.
enum class RouteAuth { none, bearer, request, cookie };

struct RouteInfo {
  std::vector<std::string> methods;   // "GET", "HEAD" or "POST"
  std::string path;
  RouteChannel channel = RouteChannel::https;
  RouteAuth auth = RouteAuth::none;
};

/// Every route the server answers: the static files, the fixed routes and `POST /api/v1/<name>`
/// for every handler whose Access is not local. A new fixed route is one line in routes.cpp.
std::vector<RouteInfo> routes();

/// webadmin: the browser routes (web.h: /web/login, /web/session, /web/logout and the page folders).
/// They are not API routes: `jitsuind --routes` prints them after the API's, each line ending in
/// " web", and enroll/openapi.json does not describe them.
std::vector<RouteInfo> web_routes();

/// The API document (enroll/openapi.json, embedded at build time), served at kOpenApiPath.
inline constexpr const char* kOpenApiPath = "/api/v1/openapi.json";
std::string_view openapi_document();

}  // namespace jitsuin::server
