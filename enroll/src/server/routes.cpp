#include "server/routes.h"

#include "jitsuin/api/handler.h"
#include "jitsuin/ca/authority.h"

namespace jitsuin::server {

const std::vector<StaticRoute>& static_routes() {
  static const std::vector<StaticRoute> all = {
      {"/crl/issuing.crl", "issuing.crl", "application/pkix-crl"},
      {"/crl/root.crl", "root.crl", "application/pkix-crl"},
      {"/ca/issuing.crt", "issuing.crt", "application/pkix-cert"},
      {"/ca/root.crt", "root.crt", "application/pkix-cert"},
  };
  return all;
}

std::optional<std::string> crl_partition_file(std::string_view path) {
  constexpr std::string_view kFolder = "/crl/";
  if (!path.starts_with(kFolder)) return std::nullopt;
  std::string_view file = path.substr(kFolder.size());
  if (!ca::parse_crl_partition_file(file)) return std::nullopt;
  return std::string(file);
}

std::vector<RouteInfo> routes() {
  const std::vector<std::string> get = {"GET", "HEAD"};
  std::vector<RouteInfo> out;
  for (const auto& s : static_routes()) out.push_back({get, s.path, RouteChannel::both, RouteAuth::none});
  out.push_back({get, kCrlPartitionRoute, RouteChannel::both, RouteAuth::none});
  // Fixed routes, one line each.
  out.push_back({{"POST"}, "/ocsp", RouteChannel::both, RouteAuth::none});
  out.push_back({{"GET"}, "/ocsp/{request}", RouteChannel::both, RouteAuth::none});
  out.push_back({get, "/health", RouteChannel::https, RouteAuth::none});
  out.push_back({get, "/ready", RouteChannel::https, RouteAuth::none});
  out.push_back({get, "/metrics", RouteChannel::https, RouteAuth::none});
  out.push_back({get, kOpenApiPath, RouteChannel::https, RouteAuth::none});
  // The handlers, by name; Access::local ones act as the CA host's user and are never routed.
  for (const auto& h : api::handlers()) {
    if (h.access == api::Access::local) continue;
    out.push_back({{"POST"}, "/api/v1/" + h.name, RouteChannel::https,
                   h.access == api::Access::request_credentials ? RouteAuth::request : RouteAuth::bearer});
  }
  return out;
}

}  // namespace jitsuin::server
