#include "server/ocsp.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <iostream>

#include "jitsuin/core/error.h"
#include "jitsuin/core/util.h"

namespace jitsuin::server {

namespace {

constexpr std::string_view kPath = "/ocsp";

std::string_view sv(boost::beast::string_view v) { return {v.data(), v.size()}; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding, strictly: '%' must be followed by two hex digits. Throws invalid_input.
std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    int hi = i + 2 < in.size() ? hex_digit(in[i + 1]) : -1;
    int lo = i + 2 < in.size() ? hex_digit(in[i + 2]) : -1;
    JITSUIN_ARG_CHECK(hi >= 0 && lo >= 0, "a '%' in the request path is not followed by two hex digits");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// The media type of a Content-Type value: before any parameter, trimmed, lower case.
std::string media_type(std::string_view value) {
  std::string t(value.substr(0, value.find(';')));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

Response method_not_allowed(const Request& req, const char* allow) {
  auto res = error_response(req.version(), http::status::method_not_allowed, "method_not_allowed",
                            std::string("this OCSP route takes ") + allow);
  res.set(http::field::allow, allow);
  return res;
}

// The OCSP answer as an HTTP response. A GET answer that caches (successful, no nonce) carries the
// RFC 5019 headers; every other answer is not to be stored.
Response ocsp_response(const Request& req, const ca::OcspAnswer& a, bool get) {
  const bool cacheable = get && a.response_status == "successful" && !a.nonce;
  std::string etag;
  if (cacheable) {
    etag = "\"" + to_hex(sha256(a.der)).substr(0, 32) + "\"";
    if (auto inm = req.find(http::field::if_none_match); inm != req.end()) {
      std::string_view v = sv(inm->value());
      if (v == "*" || v.find(etag) != std::string_view::npos) {
        Response res{http::status::not_modified, req.version()};
        res.set(http::field::etag, etag);
        return res;
      }
    }
  }
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/ocsp-response");
  if (cacheable) {
    auto max_age = std::max<UnixTime>(0, a.next_update - static_cast<UnixTime>(std::time(nullptr)));
    res.set(http::field::cache_control,
            "max-age=" + std::to_string(max_age) + ", public, no-transform, must-revalidate");
    res.set(http::field::last_modified, http_date(static_cast<std::time_t>(a.this_update)));
    res.set(http::field::expires, http_date(static_cast<std::time_t>(a.next_update)));
    res.set(http::field::etag, etag);
  } else if (get) {
    res.set(http::field::cache_control, "no-store");
  }
  res.body().assign(a.der.begin(), a.der.end());
  res.prepare_payload();
  return res;
}

// A responder failure the client sees only as internalError: its reason goes to the server's log.
void log_problem(Shared& shared, const ca::OcspAnswer& a) {
  if (a.response_status != "internalError") return;
  std::lock_guard lock(shared.log_mutex);
  std::cerr << "jitsuind: OCSP internalError: " << a.problem << "\n";
}

Response answer(Shared& shared, const Request& req, const ca::OcspAnswer& a, bool get) {
  log_problem(shared, a);
  return ocsp_response(req, a, get);
}

}  // namespace

ca::OcspResponder& start_ocsp(api::Services& services) {
  ca::OcspResponder& responder = services.ocsp();
  try {
    responder.signer();
  } catch (const std::exception& e) {
    std::cerr << "jitsuind: the OCSP signer could not be made now (OCSP answers internalError until it can): "
              << e.what() << "\n";
  }
  return responder;
}

std::optional<Response> serve_ocsp(Shared& shared, Channel, const Request& req, std::string&) {
  std::string_view target = sv(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  if (path != kPath && !path.starts_with(std::string(kPath) + "/")) return std::nullopt;
  if (!shared.ocsp)
    return error_response(req.version(), http::status::service_unavailable, "unavailable", "no OCSP responder");
  ca::OcspResponder& responder = *shared.ocsp;
  std::string_view encoded = path.size() > kPath.size() ? path.substr(kPath.size() + 1) : std::string_view();

  if (req.method() == http::verb::post) {
    if (!encoded.empty()) return method_not_allowed(req, "GET");
    auto type = req.find(http::field::content_type);
    if (type == req.end() || media_type(sv(type->value())) != "application/ocsp-request")
      return error_response(req.version(), http::status::unsupported_media_type, "unsupported_media_type",
                            "an OCSP request is POSTed as Content-Type: application/ocsp-request");
    if (req.body().size() > kOcspMaxRequestBytes)
      return error_response(req.version(), http::status::payload_too_large, "payload_too_large",
                            "an OCSP request is at most " + std::to_string(kOcspMaxRequestBytes) + " bytes");
    const auto* der = reinterpret_cast<const std::uint8_t*>(req.body().data());
    return answer(shared, req, responder.respond({der, req.body().size()}), false);
  }
  if (req.method() != http::verb::get) return method_not_allowed(req, "GET, POST");
  Bytes der;
  try {
    der = from_base64(percent_decode(encoded));
  } catch (const Error& e) {
    return answer(shared, req, responder.malformed(std::string("GET path: ") + e.what()), true);
  }
  return answer(shared, req, responder.respond(der), true);
}

void render_ocsp_metrics(const ca::OcspResponder& responder, std::string& out) {
  const ca::OcspCounters& c = responder.counters();
  auto line = [&](const char* name, const char* labels, std::uint64_t v) {
    out += name;
    out += labels;
    out += " " + std::to_string(v) + "\n";
  };
  out += "# HELP jitsuind_ocsp_responses_total OCSP responses sent, by response status.\n"
         "# TYPE jitsuind_ocsp_responses_total counter\n";
  line("jitsuind_ocsp_responses_total", "{status=\"successful\"}", c.successful);
  line("jitsuind_ocsp_responses_total", "{status=\"malformedRequest\"}", c.malformed_request);
  line("jitsuind_ocsp_responses_total", "{status=\"internalError\"}", c.internal_error);
  out += "# HELP jitsuind_ocsp_certificate_status_total Certificate statuses in successful OCSP responses.\n"
         "# TYPE jitsuind_ocsp_certificate_status_total counter\n";
  line("jitsuind_ocsp_certificate_status_total", "{status=\"good\"}", c.good);
  line("jitsuind_ocsp_certificate_status_total", "{status=\"revoked\"}", c.revoked);
  line("jitsuind_ocsp_certificate_status_total", "{status=\"unknown\"}", c.unknown);
  out += "# HELP jitsuind_ocsp_signatures_total Successful OCSP responses signed on the token (the rest were pre-signed).\n"
         "# TYPE jitsuind_ocsp_signatures_total counter\n";
  line("jitsuind_ocsp_signatures_total", "", c.signatures);
  out += "# HELP jitsuind_ocsp_cache_hits_total Successful OCSP responses served pre-signed from the cache.\n"
         "# TYPE jitsuind_ocsp_cache_hits_total counter\n";
  line("jitsuind_ocsp_cache_hits_total", "", c.cache_hits);
}

}  // namespace jitsuin::server
