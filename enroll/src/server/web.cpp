#include "server/web.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "jitsuin/api/handler.h"
#include "jitsuin/core/error.h"
#include "jitsuin/core/json.h"
#include "jitsuin/core/util.h"

namespace jitsuin::server {

namespace {

namespace beast = boost::beast;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kCookie = "__Host-jitsuin";
constexpr std::string_view kApi = "/api/v1/";
// The page folders under server.web_root, each served at /<name>/.
constexpr const char* kPageFolders[] = {"/ra", "/company", "/enroll", "/common"};

std::string_view sv(beast::string_view v) { return {v.data(), v.size()}; }

// ---------------------------------------------------------------- state of this process

// The browser sessions this process opened, by the SHA-256 of their token, with their last use;
// and the CSRF key, drawn at start. Neither outlives the process: after a restart the browser logs
// in again (a cookie that names no session here is refused).
struct BrowserSession {
  bool company = false;
  Clock::time_point last;
};

struct WebState {
  Bytes csrf_key = random_bytes(32);
  std::mutex mutex;
  std::map<std::string, BrowserSession> sessions;
};

WebState& state() {
  static WebState s;
  return s;
}

std::string token_key(const std::string& token) { return to_hex(sha256(token)); }

std::string csrf_token(const std::string& session_token) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const auto& key = state().csrf_key;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(session_token.data()), session_token.size(), mac, &len);
  return to_hex(std::span<const std::uint8_t>(mac, len));
}

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---------------------------------------------------------------- responses

void security_headers(Response& res) {
  res.set("Content-Security-Policy",
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Strict-Transport-Security", "max-age=31536000");
}

Response web_json(unsigned version, http::status status, const json& body) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  res.prepare_payload();
  security_headers(res);
  return res;
}

Response web_error(unsigned version, http::status status, const std::string& code, const std::string& message) {
  auto res = error_response(version, status, code, message);
  security_headers(res);
  return res;
}

void set_cookie(Response& res, const std::string& token) {
  res.insert(http::field::set_cookie,
             std::string(kCookie) + "=" + token + "; Secure; HttpOnly; SameSite=Strict; Path=/");
}

void clear_cookie(Response& res) {
  res.insert(http::field::set_cookie, std::string(kCookie) + "=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

// ---------------------------------------------------------------- request checks

std::optional<std::string> session_cookie(const Request& req) {
  auto [first, last] = req.equal_range(http::field::cookie);
  for (auto it = first; it != last; ++it) {
    std::string_view v = sv(it->value());
    while (!v.empty()) {
      auto semi = v.find(';');
      std::string_view part = v.substr(0, semi);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      if (part.starts_with(kCookie) && part.size() > kCookie.size() && part[kCookie.size()] == '=') {
        std::string_view value = part.substr(kCookie.size() + 1);
        // A session token is 64 hex digits (ra/); anything else names no session.
        if (value.size() == 64 && value.find_first_not_of("0123456789abcdef") == std::string_view::npos)
          return std::string(value);
        return std::string();
      }
      if (semi == std::string_view::npos) break;
      v.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

// A state-changing request from a page: when the browser says where the page came from (Origin),
// it must be this server. Browsers send Origin with every cross-site POST.
bool same_origin(const Request& req) {
  auto origin = req.find(http::field::origin);
  if (origin == req.end()) return true;
  auto host = req.find(http::field::host);
  return host != req.end() && sv(origin->value()) == "https://" + std::string(sv(host->value()));
}

bool json_request(const Request& req) {
  auto ct = req.find(http::field::content_type);
  return ct != req.end() && sv(ct->value()).starts_with("application/json");
}

// ---------------------------------------------------------------- handlers, as the API runs them

api::Response call(Shared& shared, const std::string& source, std::optional<std::string> token, std::string_view name,
                   const json& request, std::string* holder = nullptr) {
  api::Caller caller;
  caller.actor = "jitsuind";
  caller.source = source;
  caller.session_token = std::move(token);
  std::lock_guard lock(shared.services_mutex);
  if (holder && caller.session_token) *holder = api::session_holder(shared.services, *caller.session_token).value_or("");
  return api::respond(shared.services, caller, name, request);
}

// Takes the browser session of `token` out of this process's table (logout, a new login).
std::optional<BrowserSession> forget(const std::string& token) {
  auto& st = state();
  std::lock_guard lock(st.mutex);
  auto it = st.sessions.find(token_key(token));
  if (it == st.sessions.end()) return std::nullopt;
  BrowserSession s = it->second;
  st.sessions.erase(it);
  return s;
}

// The live browser session of the cookie: known to this process and not idle for longer than
// server.web_idle_minutes (an idle one is ended in the database too). Touches its last use.
std::optional<BrowserSession> live_session(Shared& shared, const std::string& token, const std::string& source) {
  auto& st = state();
  const auto idle = std::chrono::minutes(shared.services.config().server.web_idle_minutes);
  std::optional<BrowserSession> ended;
  {
    std::lock_guard lock(st.mutex);
    auto it = st.sessions.find(token_key(token));
    if (it == st.sessions.end()) return std::nullopt;
    if (Clock::now() - it->second.last <= idle) {
      it->second.last = Clock::now();
      return it->second;
    }
    ended = it->second;
    st.sessions.erase(it);
  }
  call(shared, source, token, ended->company ? "company.logout" : "session.logout", json::object());
  return std::nullopt;
}

Response session_gone(unsigned version) {
  auto res = web_error(version, http::status::unauthorized, "unauthenticated",
                       "the browser session has ended (logged out, idle too long, or the server restarted): log in again");
  clear_cookie(res);
  return res;
}

Response refused_csrf(unsigned version) {
  return web_error(version, http::status::forbidden, "forbidden",
                   "refused: a page's request must carry the session's X-CSRF-Token header and come from this server");
}

// A state-changing request with the cookie of `token`: the X-CSRF-Token header must be the
// session's and the Origin, when sent, this server. The refusal to send, or nullopt when it passes.
std::optional<Response> csrf_refusal(const Request& req, const std::string& token) {
  auto csrf = req.find("X-CSRF-Token");
  if (csrf == req.end() || !same_secret(std::string(sv(csrf->value())), csrf_token(token)) || !same_origin(req))
    return refused_csrf(req.version());
  return std::nullopt;
}

// ---------------------------------------------------------------- /web/*

Response login(Shared& shared, const Request& req, std::string& principal, const std::string& source) {
  // JSON only (a cross-site HTML form cannot send it without a CORS preflight, which is never
  // granted) and from this server's pages: no login CSRF.
  if (req.method() != http::verb::post) return web_error(req.version(), http::status::method_not_allowed, "method_not_allowed", "POST only");
  if (!json_request(req) || !same_origin(req)) return refused_csrf(req.version());
  json body;
  try {
    body = parse_json(req.body(), "the request body");   // the API's parser: a key given twice is refused
  } catch (const Error& e) {
    return web_error(req.version(), http::status::bad_request, "invalid_input", e.what());
  }
  if (!body.is_object() || !body.contains("kind") || !body["kind"].is_string())
    return web_error(req.version(), http::status::bad_request, "invalid_input", "give kind: \"operator\" or \"company\"");
  std::string kind = body["kind"];
  if (kind != "operator" && kind != "company")
    return web_error(req.version(), http::status::bad_request, "invalid_input", "kind must be \"operator\" or \"company\"");
  body.erase("kind");
  const bool company = kind == "company";
  for (const char* field : {"user", "login_id"})
    if (body.contains(field) && body[field].is_string()) principal = body[field].get<std::string>().substr(0, 64);
  auto r = call(shared, source, std::nullopt, company ? "company.login" : "session.login", body);
  if (r.status != 200) return web_json(req.version(), static_cast<http::status>(r.status), r.body);
  std::string token = r.body["token"];
  r.body.erase("token");
  r.body["kind"] = kind;
  r.body["csrf_token"] = csrf_token(token);
  {
    auto& st = state();
    std::lock_guard lock(st.mutex);
    const auto idle = std::chrono::minutes(shared.services.config().server.web_idle_minutes);
    std::erase_if(st.sessions, [&](const auto& kv) { return Clock::now() - kv.second.last > idle; });
    st.sessions[token_key(token)] = {company, Clock::now()};
  }
  // A session the browser held before is ended: one browser, one session.
  if (auto old = session_cookie(req); old && !old->empty())
    if (auto was = forget(*old)) call(shared, source, *old, was->company ? "company.logout" : "session.logout", json::object());
  auto res = web_json(req.version(), http::status::ok, r.body);
  set_cookie(res, token);
  return res;
}

Response session_info(Shared& shared, const Request& req, std::string& principal, const std::string& source) {
  if (req.method() != http::verb::get) return web_error(req.version(), http::status::method_not_allowed, "method_not_allowed", "GET only");
  auto token = session_cookie(req);
  if (!token || token->empty()) return session_gone(req.version());
  auto s = live_session(shared, *token, source);
  if (!s) return session_gone(req.version());
  auto r = call(shared, source, *token, s->company ? "company.whoami" : "ra.whoami", json::object(), &principal);
  if (r.status != 200) {
    auto res = web_json(req.version(), static_cast<http::status>(r.status), r.body);
    if (r.status == 401) clear_cookie(res);
    return res;
  }
  r.body["kind"] = s->company ? "company" : "operator";
  r.body["csrf_token"] = csrf_token(*token);
  r.body["idle_minutes"] = shared.services.config().server.web_idle_minutes;
  return web_json(req.version(), http::status::ok, r.body);
}

Response logout(Shared& shared, const Request& req, std::string& principal, const std::string& source) {
  if (req.method() != http::verb::post) return web_error(req.version(), http::status::method_not_allowed, "method_not_allowed", "POST only");
  auto token = session_cookie(req);
  if (!token || token->empty()) return session_gone(req.version());
  if (auto refused = csrf_refusal(req, *token)) return *refused;
  bool everywhere = false;
  if (!req.body().empty()) {
    json body;
    try {
      body = parse_json(req.body(), "the request body");
    } catch (const Error& e) {
      return web_error(req.version(), http::status::bad_request, "invalid_input", e.what());
    }
    if (!body.is_object() || (body.contains("everywhere") && !body["everywhere"].is_boolean()))
      return web_error(req.version(), http::status::bad_request, "invalid_input",
                       "the request body is a JSON object, {\"everywhere\": true or false}");
    everywhere = body.value("everywhere", false);
  }
  auto s = forget(*token);
  if (!s) return session_gone(req.version());
  std::string_view handler = s->company ? (everywhere ? "company.logout_all" : "company.logout")
                                         : (everywhere ? "session.logout_all" : "session.logout");
  auto r = call(shared, source, *token, handler, json::object(), &principal);
  auto res = web_json(req.version(), static_cast<http::status>(r.status), r.body);
  if (r.status == 200) clear_cookie(res);
  return res;
}

// /api/v1/<handler> with the cookie: the same route as with a bearer token, once the CSRF header
// matches. The request is answered by handle_request as a bearer request (the cookie taken out).
Response cookie_api(Shared& shared, Channel channel, const Request& req, const std::string& token, std::string& principal,
                    const std::string& source) {
  if (token.empty()) return session_gone(req.version());
  if (auto refused = csrf_refusal(req, token)) return *refused;
  if (!live_session(shared, token, source)) return session_gone(req.version());
  Request bearer = req;
  bearer.erase(http::field::cookie);
  bearer.set(http::field::authorization, "Bearer " + token);
  auto res = handle_request(shared, channel, bearer, principal, source);
  security_headers(res);
  return res;
}

// ---------------------------------------------------------------- static files

std::filesystem::path web_root(Shared& shared) {
  const std::string& configured = shared.services.config().server.web_root;
  if (!configured.empty()) return configured;
  static const std::filesystem::path beside = [] {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path("web") : exe.parent_path() / "web";
  }();
  return beside;
}

const char* content_type(const std::filesystem::path& file) {
  static const std::map<std::string, const char*> types = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"},
  };
  auto it = types.find(file.extension().string());
  return it == types.end() ? nullptr : it->second;
}

Response serve_asset(Shared& shared, const Request& req, std::string_view path) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = web_error(req.version(), http::status::method_not_allowed, "method_not_allowed", "pages are GET only");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  std::string rel(path.substr(1));
  if (rel.ends_with('/')) rel += "index.html";
  auto file = web_root(shared) / rel;
  struct stat st {};
  const char* type = content_type(file);
  // lstat: a symbolic link inside the asset folder is not followed out of it.
  if (!type || ::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return web_error(req.version(), http::status::not_found, "not_found", "no such page");
  std::string body = read_file(file, kMaxFileBytes, "page");
  std::string etag = "\"" + to_hex(sha256(body)).substr(0, 32) + "\"";
  bool not_modified = false;
  if (auto inm = req.find(http::field::if_none_match); inm != req.end())
    not_modified = sv(inm->value()).find(etag) != std::string_view::npos;
  Response res{not_modified ? http::status::not_modified : http::status::ok, req.version()};
  res.set(http::field::etag, etag);
  res.set(http::field::cache_control, "no-cache");
  security_headers(res);
  if (not_modified) return res;
  res.set(http::field::content_type, type);
  if (req.method() == http::verb::head) {
    res.content_length(body.size());
    return res;
  }
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace

std::vector<RouteInfo> web_routes() {
  const std::vector<std::string> get = {"GET", "HEAD"};
  std::vector<RouteInfo> out = {
      {{"POST"}, "/web/login", RouteChannel::https, RouteAuth::request},
      {{"GET"}, "/web/session", RouteChannel::https, RouteAuth::cookie},
      {{"POST"}, "/web/logout", RouteChannel::https, RouteAuth::cookie},
  };
  for (const char* top : kPageFolders) out.push_back({get, std::string(top) + "/{page}", RouteChannel::https, RouteAuth::none});
  return out;
}

std::optional<Response> serve_web(Shared& shared, Channel channel, const Request& req, std::string& principal,
                                  const std::string& source) {
  if (channel != Channel::https) return std::nullopt;
  std::string_view target = sv(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with(kApi)) {
    // Bearer callers (and callers with neither) are served by the API as before.
    if (req.find(http::field::authorization) != req.end()) return std::nullopt;
    auto token = session_cookie(req);
    if (!token) return std::nullopt;
    return cookie_api(shared, channel, req, *token, principal, source);
  }
  if (path == "/web/login") return login(shared, req, principal, source);
  if (path == "/web/session") return session_info(shared, req, principal, source);
  if (path == "/web/logout") return logout(shared, req, principal, source);
  for (std::string_view top : kPageFolders) {
    if (path == top) {
      Response res{http::status::moved_permanently, req.version()};
      res.set(http::field::location, std::string(top) + "/");
      security_headers(res);
      res.prepare_payload();
      return res;
    }
    if (path.starts_with(top) && path.size() > top.size() && path[top.size()] == '/') return serve_asset(shared, req, path);
  }
  return std::nullopt;
}

}  // namespace jitsuin::server
