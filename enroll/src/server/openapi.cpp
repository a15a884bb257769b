#include "server/openapi.h"

#include "server/routes.h"

namespace jitsuin::server {

std::optional<Response> serve_openapi(Shared&, Channel channel, const Request& req, std::string&) {
  auto target = req.target();
  if (channel != Channel::https || target.substr(0, target.find('?')) != kOpenApiPath) return std::nullopt;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = error_response(req.version(), http::status::method_not_allowed, "method_not_allowed",
                              std::string(kOpenApiPath) + " is GET only");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  std::string_view doc = openapi_document();
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-cache");
  if (req.method() == http::verb::head) {
    res.content_length(doc.size());
    return res;
  }
  res.body() = std::string(doc);
  res.prepare_payload();
  return res;
}

}  // namespace jitsuin::server
