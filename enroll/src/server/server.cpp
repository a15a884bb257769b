#include "server/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <variant>
#include <vector>
#include <shared_mutex>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>
#include <openssl/err.h>

#include "jitsuin/api/handler.h"
#include "jitsuin/api/status.h"
#include "jitsuin/core/error.h"
#include "jitsuin/core/json.h"
#include "jitsuin/core/util.h"
#include "server/api_pool.h"
#include "server/ocsp.h"
#include "server/openapi.h"
#include "server/ops.h"
#include "server/routes.h"
#include "server/web.h"

namespace jitsuin::server {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using nlohmann::json;

namespace {

// Beast 1.74's string_view is boost's; the rest of jitsuin speaks std::string_view.
std::string_view sv(beast::string_view v) { return {v.data(), v.size()}; }

// ---------------------------------------------------------------- responses

Response json_response(unsigned version, http::status status, const json& body) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  // Never throws on invalid UTF-8 (a parse error's message can quote the client's bytes).
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  res.prepare_payload();
  return res;
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  return timegm(&tm);
}

// A request target is served only when it is a plain absolute path: no percent-encoding (none of
// our routes needs it, so no encoded traversal), no "..", no empty segment, no control characters
// or NUL. The query string (API calls take none) is not part of the route.
bool valid_path(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 256) return false;
  for (unsigned char c : path)
    if (!(std::isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_')) return false;
  return path.find("..") == std::string_view::npos && path.find("//") == std::string_view::npos;
}

// RFC 9112 section 3.2: an HTTP/1.1 request without Host, any request with more than one Host, or
// a Host that is not host[:port] (RFC 3986 reg-name or IP literal characters) is answered 400.
// HTTP/1.0 requests may leave Host out.
bool valid_host(const Request& req) {
  auto [first, last] = req.equal_range(http::field::host);
  if (first == last) return req.version() < 11;
  if (std::next(first) != last) return false;
  for (unsigned char c : sv(first->value()))
    if (!(std::isalnum(c) || std::string_view("-._~!$&'()*+,;=:[]%").find(static_cast<char>(c)) != std::string_view::npos))
      return false;
  return true;
}

std::optional<Response> host_refusal(const Request& req) {
  if (valid_host(req)) return std::nullopt;
  return error_response(req.version(), http::status::bad_request, "invalid_input",
                        "an HTTP/1.1 request needs exactly one Host header, host[:port] (RFC 9112 section 3.2)");
}

// A published file as last seen: its identity (device, inode, size, modification time to the
// nanosecond), the ETag and Last-Modified made from it, and, for a file of at most
// kCachedFileBytes, its content, read once per version. `crl publish` replaces a file by rename, so a
// new CRL is a new inode and is seen at most a second after the rename (current_file). A larger
// file (a CRL of a million entries is 46 MB) is never read whole: each GET streams it from its own
// descriptor (http::file_body), and its ETag and Last-Modified come from that descriptor's fstat.
constexpr off_t kCachedFileBytes = 1024 * 1024;

struct PublishedFile {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{};
  std::shared_ptr<const std::string> body;   // null above kCachedFileBytes; shared with the responses being written
  std::string etag;
  std::string last_modified;   // http_date(mtime), made once per version
  // When a stat last found this version (steady clock, ms): current_file stats again after a second.
  mutable std::atomic<std::int64_t> checked_ms{0};
};

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The ETag of a file version: a hash of its identity (the content is not read for it).
std::string identity_etag(const struct stat& st) {
  std::string id = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
                   std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  return "\"" + to_hex(sha256(id)).substr(0, 32) + "\"";
}

// Throws (io) when a small file cannot be read: the caller answers 500.
std::shared_ptr<const PublishedFile> published(const std::filesystem::path& file, const struct stat& st) {
  static std::shared_mutex mutex;
  static std::map<std::string, std::shared_ptr<const PublishedFile>> cache;
  auto same = [&](const PublishedFile& f) {
    return f.dev == st.st_dev && f.ino == st.st_ino && f.size == st.st_size && f.mtime.tv_sec == st.st_mtim.tv_sec &&
           f.mtime.tv_nsec == st.st_mtim.tv_nsec;
  };
  {
    std::shared_lock lock(mutex);
    if (auto it = cache.find(file.string()); it != cache.end() && same(*it->second)) return it->second;
  }
  auto f = std::make_shared<PublishedFile>();
  if (st.st_size <= kCachedFileBytes)
    f->body = std::make_shared<std::string>(read_file(file, static_cast<std::size_t>(kCachedFileBytes), "published file"));
  f->etag = identity_etag(st);
  // The identity read before the content: if the file changed in between, the next request's
  // stat differs and reads it again.
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  f->size = st.st_size;
  f->mtime = st.st_mtim;
  f->last_modified = http_date(st.st_mtime);
  std::unique_lock lock(mutex);
  cache[file.string()] = f;
  return f;
}

// The published file a route serves as it is now, or null when it is not published: a stat at most
// once a second per file (then the cached identity), not one per request; a file replaced (by
// `crl publish`'s rename) is served from the next check on.
std::shared_ptr<const PublishedFile> current_file(Shared& shared, const StaticRoute& route) {
  static std::shared_mutex mutex;
  static std::map<const char*, std::shared_ptr<const PublishedFile>> last;   // by route.file
  std::int64_t now = steady_ms();
  {
    std::shared_lock lock(mutex);
    if (auto it = last.find(route.file); it != last.end() && now - it->second->checked_ms.load(std::memory_order_relaxed) < 1000)
      return it->second;
  }
  auto file = shared.services.config().ca.crl.publish_dir / route.file;
  struct stat st {};
  std::shared_ptr<const PublishedFile> f;
  if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    f = published(file, st);
    f->checked_ms.store(now, std::memory_order_relaxed);
  }
  std::unique_lock lock(mutex);
  if (f) last[route.file] = f;
  else last.erase(route.file);
  return f;
}

// The route of a published file: one of static_routes(), or a CRL partition's once its file is
// published. A partition's route is kept for the life of the process (current_file keeps the
// pointer route.file), one per partition published: requests for others make none.
const StaticRoute* static_route(Shared& shared, std::string_view path) {
  for (const auto& route : static_routes())
    if (path == route.path) return &route;
  auto file = crl_partition_file(path);
  if (!file) return nullptr;
  struct Partition {
    std::string path, file;
    StaticRoute route;
  };
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Partition>, std::less<>> partitions;
  std::lock_guard lock(mutex);
  if (auto it = partitions.find(path); it != partitions.end()) return &it->second->route;
  struct stat st {};
  if (::stat((shared.services.config().ca.crl.publish_dir / *file).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return nullptr;
  auto p = std::make_unique<Partition>(Partition{std::string(path), *file, {}});
  p->route = {p->path.c_str(), p->file.c_str(), "application/pkix-crl"};
  return &partitions.emplace(p->path, std::move(p)).first->second->route;
}

// A body that is a published file's content, shared (not copied) by every response writing it.
struct SharedBody {
  using value_type = std::shared_ptr<const std::string>;
  static std::uint64_t size(const value_type& v) { return v ? v->size() : 0; }
  class writer {
   public:
    using const_buffers_type = net::const_buffer;
    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& body) : body_(body) {}
    void init(beast::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (!body_ || body_->empty()) return boost::none;
      return {{const_buffers_type(body_->data(), body_->size()), false}};
    }

   private:
    const value_type& body_;
  };
};
using FileResponse = http::response<SharedBody>;          // a small published file, from memory
using StreamResponse = http::response<http::file_body>;   // a large one, streamed from its descriptor
using StaticResponse = std::variant<Response, FileResponse, StreamResponse>;

// A published file that cannot be served (unreadable, gone between stat and open): 500 (503 when
// the process is out of descriptors), the path only in the server's log, never in the answer.
Response unreadable(const Request& req, const StaticRoute& route, const std::string& why) {
  log_limited("jitsuind: " + std::string(route.path) + ": the published file cannot be read: " + why);
  bool no_fds = why.find("Too many open files") != std::string::npos;
  auto res = error_response(req.version(), no_fds ? http::status::service_unavailable : http::status::internal_server_error,
                            no_fds ? "unavailable" : "internal", std::string(route.path) + " cannot be read now");
  if (no_fds) res.set(http::field::retry_after, "1");
  return res;
}

// The published files (exactly what `jitsuin crl publish` wrote: CRLs and CA certificates, DER),
// answered on the I/O thread: GET and HEAD, conditional on If-None-Match / If-Modified-Since; null
// when the target is not a published file's route (or on the metrics listener). Never throws.
std::optional<StaticResponse> serve_static(Shared& shared, Channel channel, const Request& req) {
  if (channel == Channel::metrics) return std::nullopt;
  std::string_view target = sv(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  const StaticRoute* route = static_route(shared, path);
  if (!route) return std::nullopt;
  try {
    if (auto refused = host_refusal(req)) return std::move(*refused);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      auto res = error_response(req.version(), http::status::method_not_allowed, "method_not_allowed",
                                std::string(route->path) + " is GET only");
      res.set(http::field::allow, "GET, HEAD");
      return res;
    }
    std::shared_ptr<const PublishedFile> f;
    try {
      f = current_file(shared, *route);
    } catch (const std::exception& e) {
      return unreadable(req, *route, e.what());
    }
    if (!f)
      return error_response(req.version(), http::status::not_found, "not_found",
                            std::string(route->path) + " is not published yet (run: jitsuin crl publish)");
    std::string etag = f->etag, last_modified = f->last_modified;
    std::time_t mtime = f->mtime.tv_sec;
    std::uint64_t size = static_cast<std::uint64_t>(f->size);
    // A large file's GET: opened now, and its ETag is the opened version's (a rename since the last
    // stat serves the new file whole, with its own ETag).
    std::optional<http::file_body::value_type> stream;
    if (!f->body && req.method() == http::verb::get) {
      auto file = shared.services.config().ca.crl.publish_dir / route->file;
      beast::error_code ec;
      stream.emplace();
      stream->open(file.c_str(), beast::file_mode::scan, ec);
      struct stat st {};
      if (!ec && ::fstat(stream->file().native_handle(), &st) != 0) ec = beast::error_code(errno, beast::system_category());
      if (ec) return unreadable(req, *route, file.string() + ": " + ec.message());
      etag = identity_etag(st);
      last_modified = http_date(st.st_mtime);
      mtime = st.st_mtime;
      size = static_cast<std::uint64_t>(st.st_size);
    }
    bool not_modified = false;
    if (auto inm = req.find(http::field::if_none_match); inm != req.end()) {
      std::string_view v = sv(inm->value());
      not_modified = v == "*" || v.find(etag) != std::string_view::npos;
    } else if (auto ims = req.find(http::field::if_modified_since); ims != req.end()) {
      auto since = parse_http_date(sv(ims->value()));
      not_modified = since && mtime <= *since;
    }
    auto headers = [&](auto& res) {
      res.set(http::field::etag, etag);
      res.set(http::field::last_modified, last_modified);
      res.set(http::field::cache_control, "public, max-age=300");
      if (!not_modified) res.set(http::field::content_type, route->content_type);
    };
    if (not_modified || req.method() == http::verb::head) {
      Response res{not_modified ? http::status::not_modified : http::status::ok, req.version()};
      headers(res);
      if (!not_modified) res.content_length(size);
      return res;
    }
    if (f->body) {
      FileResponse res{http::status::ok, req.version()};
      headers(res);
      res.body() = f->body;
      res.content_length(f->body->size());
      return res;
    }
    StreamResponse res{http::status::ok, req.version()};
    headers(res);
    res.body() = std::move(*stream);
    res.prepare_payload();
    return res;
  } catch (const std::exception& e) {
    return unreadable(req, *route, e.what());
  }
}

// POST /api/v1/<handler name>: the body is the handler's JSON request, the bearer token the
// operator's session. Access::local handlers (the CA host's own user) are never routed.
Response serve_api(Shared& shared, const Request& req, std::string_view name, std::string& principal,
                   const std::string& source) {
  const api::Handler* h = api::find_handler(name);
  if (!h || h->access == api::Access::local)
    return error_response(req.version(), http::status::not_found, "not_found", "no API route /api/v1/" + std::string(name));
  if (req.method() != http::verb::post) {
    auto res = error_response(req.version(), http::status::method_not_allowed, "method_not_allowed",
                              "API calls are POST with a JSON body");
    res.set(http::field::allow, "POST");
    return res;
  }
  json request = json::object();
  if (!req.body().empty()) {
    // The CLI's parser: a key given twice, a number out of range (1e400) or text that is not JSON
    // is invalid_input (400) naming the problem.
    try {
      request = parse_json(req.body(), "the request body");
    } catch (const Error& e) {
      return error_response(req.version(), http::status::bad_request, "invalid_input", e.what());
    }
    if (!request.is_object())
      return error_response(req.version(), http::status::bad_request, "invalid_input",
                            "the request body must be a JSON object, not " + std::string(request.type_name()));
  }
  api::Caller caller;
  caller.actor = "jitsuind";
  caller.source = source;
  if (auto auth = req.find(http::field::authorization); auth != req.end()) {
    std::string_view v = sv(auth->value());
    if (!v.starts_with("Bearer "))
      return error_response(req.version(), http::status::unauthorized, "unauthenticated",
                            "the Authorization header must be 'Bearer <session token>'");
    caller.session_token = std::string(v.substr(7));
  }
  // The access log names who logs in (as typed) or whose session the token is (never the token).
  for (const char* field : {"user", "login_id", "admin"})
    if (h->access == api::Access::request_credentials && request.contains(field) && request[field].is_string())
      principal = request[field].get<std::string>().substr(0, 64);
  api::Response r;
  auto call = [&](api::Services& services) {
    r = api::respond(services, caller, name, request);
    // After the call: the session its authentication just read names the holder (no second lookup).
    if (caller.session_token) principal = api::session_holder(services, *caller.session_token).value_or("");
  };
  if (shared.api_pool) {
    call(*shared.api_pool->acquire());
  } else {
    std::lock_guard lock(shared.services_mutex);
    call(shared.services);
  }
  auto res = json_response(req.version(), static_cast<http::status>(r.status), r.body);
  if (r.status == 401) res.set(http::field::www_authenticate, "Bearer");
  if (r.status == 429 && r.body.contains("retry_after")) res.set(http::field::retry_after, r.body["retry_after"].dump());
  return res;
}

}  // namespace

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

void Shared::stop_sessions() {
  stopping = true;
  std::vector<std::shared_ptr<void>> keep;   // released after the lock (see Idle)
  std::lock_guard lock(sessions_mutex);
  for (auto* s : sessions) keep.push_back(s->close_if_idle());
}

bool Shared::shed_oldest_waiting() {
  std::shared_ptr<void> keep;   // released after the lock (see Idle)
  std::lock_guard lock(sessions_mutex);
  Idle* oldest = nullptr;
  std::int64_t since = 0;
  for (auto* s : sessions) {
    std::int64_t t = s->waiting_since_ms.load(std::memory_order_relaxed);
    if (t > 0 && (!oldest || t < since)) {
      oldest = s;
      since = t;
    }
  }
  if (!oldest) return false;
  oldest->waiting_since_ms = 0;   // asked once; the next shedding picks another
  keep = oldest->close_waiting();
  return true;
}

void log_limited(const std::string& line, const std::string& detail) {
  struct Seen {
    std::int64_t printed_ms = 0;
    std::uint64_t repeated = 0;
  };
  static std::mutex mutex;
  static std::map<std::string, Seen> seen;
  constexpr std::int64_t kWindowMs = 10000;
  std::int64_t now = steady_ms();
  std::string out;
  {
    std::lock_guard lock(mutex);
    if (seen.size() > 1000)   // many distinct lines: forget those not printed within the window
      std::erase_if(seen, [&](const auto& kv) { return now - kv.second.printed_ms >= kWindowMs; });
    auto& s = seen[line];
    if (s.printed_ms != 0 && now - s.printed_ms < kWindowMs) {
      ++s.repeated;
      return;
    }
    out = line + detail;
    if (s.repeated > 0) out += " (repeated " + std::to_string(s.repeated) + " times)";
    s.printed_ms = now;
    s.repeated = 0;
  }
  out += "\n";
  std::cerr << out << std::flush;
}

Response error_response(unsigned version, http::status status, const std::string& code, const std::string& message) {
  return json_response(version, status, {{"error", code}, {"message", message}});
}

Response handle_request(Shared& shared, Channel channel, const Request& req, std::string& principal,
                        const std::string& source) {
  try {
    if (auto refused = host_refusal(req)) return std::move(*refused);
    std::string_view target = sv(req.target());
    std::string_view path = target.substr(0, target.find('?'));
    if (auto ocsp = serve_ocsp(shared, channel, req, principal)) return std::move(*ocsp);   // base64 paths: before valid_path
    if (!valid_path(path))
      return error_response(req.version(), http::status::not_found, "not_found", "no such resource");
    if (auto res = serve_ops(shared, channel, req)) return std::move(*res);
    if (channel == Channel::https) {
      if (auto res = serve_web(shared, channel, req, principal, source)) return std::move(*res);   // web: pages, cookie sessions
      if (auto res = serve_openapi(shared, channel, req, principal)) return std::move(*res);
      constexpr std::string_view kApi = "/api/v1/";
      if (path.starts_with(kApi) && path.size() > kApi.size()) return serve_api(shared, req, path.substr(kApi.size()), principal, source);
    }
    return error_response(req.version(), http::status::not_found, "not_found", "no such resource");
  } catch (const Error& e) {
    // A 500's text (SQL, paths) only in the log, under the id its body gives (api::error_body).
    return json_response(req.version(), static_cast<http::status>(api::http_status(e.kind())), api::error_body(e));
  } catch (const std::exception& e) {
    return json_response(req.version(), http::status::internal_server_error, api::error_body(ErrorKind::internal, e.what()));
  } catch (...) {
    return json_response(req.version(), http::status::internal_server_error, api::internal_error_body("unknown exception"));
  }
}

namespace {

// ---------------------------------------------------------------- sessions

void fail(beast::error_code ec, const char* what) {
  // A peer that closes without close_notify is common and harmless (server-flex does the same).
  if (ec == net::ssl::error::stream_truncated || ec == net::error::operation_aborted || ec == beast::error::timeout ||
      ec == net::error::eof || ec == net::error::connection_reset)
    return;
  log_limited(std::string("jitsuind: ") + what + ": " + ec.message());
}

// An exception that reached an I/O handler: logged with an id (repeats counted), never let out.
void internal_failure(const char* where, const char* what) {
  static std::atomic<std::uint64_t> ids{0};
  log_limited(std::string("jitsuind: internal error in ") + where + ": " + what + "; the connection is closed",
              " (incident " + std::to_string(++ids) + ")");
}

std::string remote_address(const tcp::socket& socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? "unknown" : endpoint.address().to_string();
}

// A JSON string: printable ASCII as is (the common case, no allocation beyond `out`), anything
// else through nlohmann::json (escapes, invalid UTF-8 replaced).
void append_json_string(std::string& out, std::string_view v) {
  bool plain = true;
  for (unsigned char c : v)
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  if (!plain) {
    out += json(std::string(v)).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += v;
  out += '"';
}

// The access log's time, formatted once a second per thread (RFC 3339, UTC).
const std::string& log_time() {
  thread_local std::time_t last = -1;
  thread_local std::string text;
  std::time_t now = std::time(nullptr);
  if (now != last) {
    text = format_rfc3339(now);
    last = now;
  }
  return text;
}

// One JSON line per request, its keys in the order nlohmann::json writes them (sorted), written
// with one write(2) of the whole line: lines from the I/O threads never interleave (a write to a
// pipe of at most PIPE_BUF bytes, or to a file, is atomic) and no lock is shared between them.
void access_log(Shared& shared, const Request* req, const std::string& method, unsigned status, std::size_t bytes,
                std::chrono::steady_clock::time_point start, const std::string& principal) {
  std::string_view target = req ? sv(req->target()) : std::string_view();
  target = target.substr(0, target.find('?'));   // never a query string (it could carry a secret)
  bool cut = target.size() > 256;
  if (cut) target = target.substr(0, 256);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  char number[64];
  std::string line;
  line.reserve(192 + target.size());
  line += "{\"bytes\":";
  line += std::to_string(bytes);
  std::snprintf(number, sizeof number, ",\"duration_ms\":%.3f,\"method\":", std::round(ms * 1000) / 1000);
  line += number;
  append_json_string(line, method);
  if (!principal.empty()) {
    line += ",\"principal\":";
    append_json_string(line, principal);
  }
  line += ",\"status\":";
  line += std::to_string(status);
  line += ",\"target\":";
  append_json_string(line, cut ? std::string(target) + "..." : target);
  line += ",\"time\":\"";
  line += log_time();
  line += "\"}\n";
  ops_record(shared, req, status, start);
  for (std::size_t done = 0; done < line.size();) {
    ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;   // stdout gone: the requests are still served
    done += static_cast<std::size_t>(n);
  }
}

// Whether a request is handled on a worker (server.workers): the API, the web consoles, the OpenAPI
// document — anything that may wait (scrypt, the token, a commit, the API pool). Static files
// (answered before this), OCSP, /health, /ready, /metrics and targets no route can match are
// answered on the I/O thread.
bool on_worker(Channel channel, const Request& req) {
  if (channel != Channel::https) return false;
  std::string_view target = sv(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/ocsp" || path.starts_with("/ocsp/")) return false;
  if (!valid_path(path)) return false;
  return path != "/health" && path != "/ready" && path != "/metrics";
}

// One connection: read a request with a fresh parser, answer it, read the next; at most
// server.keepalive_requests requests per connection, and server.max_pipelined requests in a row that
// the client sent before their answers. Derived supplies stream() and do_eof(). Every completion
// handler runs guarded: an exception is logged (with an incident id) and closes the connection;
// none leaves the handler.
template <class Derived>
class HttpSession : public Shared::Idle {
 public:
  HttpSession(Shared& shared, Channel channel, beast::flat_buffer buffer, const tcp::socket& socket)
      : shared_(shared), channel_(channel), buffer_(std::move(buffer)), source_(remote_address(socket)) {
    waiting_since_ms = steady_ms();   // for its handshake or first request
    ++shared_.connections;
    std::lock_guard lock(shared_.sessions_mutex);
    shared_.sessions.insert(this);
  }
  ~HttpSession() override {
    {
      std::lock_guard lock(shared_.sessions_mutex);
      shared_.sessions.erase(this);
    }
    if (counted_) --shared_.in_flight;
    --shared_.connections;
  }

  // Graceful shutdown (Shared::stop_sessions): a connection that waits for a further keep-alive
  // request, none of it received yet, is closed; the first request of a connection accepted
  // before the signal, and a request partly received, are still read and answered.
  std::shared_ptr<void> close_if_idle() override {
    auto self = derived().weak_from_this().lock();   // null while being destroyed
    if (!self) return nullptr;
    net::post(derived().stream().get_executor(), [self] {
      if (self->reading_ && self->served_ > 0 && !self->parser_->got_some() && self->buffer_.size() == 0)
        beast::get_lowest_layer(self->stream()).cancel();
    });
    return self;
  }

  // The connection cap (Shared::shed_oldest_waiting): closed if it still waits for its client (a
  // handshake, a request not yet complete); a request being handled or answered is left alone.
  std::shared_ptr<void> close_waiting() override {
    auto self = derived().weak_from_this().lock();
    if (!self) return nullptr;
    net::post(derived().stream().get_executor(), [self] {
      if (!self->waiting_) return;
      beast::error_code ec;
      beast::get_lowest_layer(self->stream()).socket().close(ec);   // the pending operation ends: the session goes
    });
    return self;
  }

 protected:
  Derived& derived() { return static_cast<Derived&>(*this); }
  std::chrono::seconds timeout() const { return std::chrono::seconds(shared_.services.config().server.timeout_seconds); }

  // Runs a completion handler's work: an exception closes the connection, logged, never let out.
  template <class F>
  void guard(const char* where, F&& f) noexcept {
    try {
      f();
    } catch (const std::exception& e) {
      internal_failure(where, e.what());
      abandon();
    } catch (...) {
      internal_failure(where, "unknown exception");
      abandon();
    }
  }
  void abandon() noexcept {
    waiting_ = false;
    waiting_since_ms = 0;
    beast::error_code ec;
    beast::get_lowest_layer(derived().stream()).socket().close(ec);
  }

  void waiting(bool on) {
    waiting_ = on;
    waiting_since_ms = on ? steady_ms() : 0;
  }

  void do_read() {
    if (shared_.stopping && served_ > 0) return derived().do_eof();
    // A request already (partly) received when the previous answer is written was sent ahead of
    // it: pipelined. burst_ counts such requests in a row (the first of them included).
    burst_ = buffer_.size() > 0 ? burst_ + 1 : 1;
    const auto& limits = shared_.services.config().server;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits.header_limit_bytes));
    parser_->body_limit(static_cast<std::uint64_t>(limits.body_limit_bytes));
    beast::get_lowest_layer(derived().stream()).expires_after(timeout());
    reading_ = true;
    waiting(true);
    http::async_read(derived().stream(), buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, derived().shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    guard("reading a request", [&] { read_done(ec); });
  }

  void read_done(beast::error_code ec) {
    reading_ = false;
    waiting(false);
    if (ec == http::error::end_of_stream) return derived().do_eof();
    start_ = std::chrono::steady_clock::now();
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      // The rest of the request is not read: answer and close.
      bool body = ec == http::error::body_limit;
      auto res = error_response(11, body ? http::status::payload_too_large : http::status::request_header_fields_too_large,
                                body ? "payload_too_large" : "header_too_large",
                                body ? "the request body is over the limit of " +
                                           std::to_string(shared_.services.config().server.body_limit_bytes) + " bytes"
                                     : "the request headers are over the limit");
      std::string method(sv(parser_->get().method_string()));
      res.keep_alive(false);
      linger_ = true;
      return send(std::move(res), method, nullptr);
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        auto res = error_response(11, http::status::bad_request, "invalid_input", "malformed HTTP request");
        res.keep_alive(false);
        linger_ = true;
        return send(std::move(res), "", nullptr);
      }
      return fail(ec, "read");
    }
    ++shared_.in_flight;
    counted_ = true;
    request_ = parser_->release();
    ++served_;
    // Keep-alive up to server.keepalive_requests requests; requests sent ahead of their answers
    // (pipelined) up to server.max_pipelined in a row.
    const auto& limits = shared_.services.config().server;
    bool keep = request_.keep_alive() && served_ < limits.keepalive_requests && burst_ < limits.max_pipelined &&
                !shared_.stopping;
    if (auto file = serve_static(shared_, channel_, request_)) {
      return std::visit(
          [&](auto& res) {
            res.keep_alive(keep);
            send(std::move(res), std::string(sv(request_.method_string())), &request_);
          },
          *file);
    }
    if (shared_.workers && on_worker(channel_, request_)) {
      // Handled on a worker; the session waits (no read, no timer) and writes on its strand.
      beast::get_lowest_layer(derived().stream()).expires_never();
      net::post(*shared_.workers, [self = derived().shared_from_this(), keep] { self->handle_on_worker(keep); });
      return;
    }
    std::string principal;
    auto res = handle_request(shared_, channel_, request_, principal, source_);
    respond(std::move(res), std::move(principal), keep);
  }

  // On a worker thread: request_ is this session's alone until the answer is posted back.
  void handle_on_worker(bool keep) noexcept {
    auto self = derived().shared_from_this();
    try {
      std::string principal;
      Response res;
      try {
        res = handle_request(shared_, channel_, request_, principal, source_);
      } catch (const std::exception& e) {   // handle_request catches all but an allocation failure
        internal_failure("handling a request", e.what());
        res = error_response(request_.version(), http::status::internal_server_error, "internal", "internal error");
      }
      net::post(derived().stream().get_executor(),
                [self, res = std::move(res), principal = std::move(principal), keep]() mutable {
                  self->guard("answering a request",
                              [&] { self->respond(std::move(res), std::move(principal), keep && !self->shared_.stopping); });
                });
    } catch (const std::exception& e) {
      internal_failure("handing an answer back", e.what());
      net::post(derived().stream().get_executor(), [self] { self->abandon(); });
    } catch (...) {
      internal_failure("handing an answer back", "unknown exception");
    }
  }

  void respond(Response res, std::string principal, bool keep) {
    ops_after_handling(shared_, request_, res);
    res.keep_alive(keep);
    principal_ = std::move(principal);
    send(std::move(res), std::string(sv(request_.method_string())), &request_);
  }

  template <class Body>
  void send(http::response<Body> res, std::string method, const Request* req) {
    auto sp = std::make_shared<http::response<Body>>(std::move(res));
    log_method_ = std::move(method);
    log_request_ = req;
    beast::get_lowest_layer(derived().stream()).expires_after(timeout());
    http::async_write(derived().stream(), *sp,
                      [self = derived().shared_from_this(), sp](beast::error_code ec, std::size_t bytes) {
                        self->guard("writing an answer",
                                    [&] { self->on_write(ec, bytes, sp->need_eof(), sp->result_int()); });
                      });
  }

  void on_write(beast::error_code ec, std::size_t bytes, bool close, unsigned status) {
    if (counted_) {
      --shared_.in_flight;
      counted_ = false;
    }
    access_log(shared_, log_request_, log_method_, status, bytes, start_, principal_);
    log_request_ = nullptr;
    principal_.clear();
    if (ec) return fail(ec, "write");
    if (close && linger_) return linger();
    if (close) return derived().do_eof();
    do_read();
  }

  // After answering a request that was not read to its end (413, 431, 400), read and drop what
  // the client still sends, up to a bound, before closing: closing with unread data makes the
  // kernel reset the connection, and the client would lose the answer.
  void linger() {
    if (drained_ > kMaxDrainBytes) return derived().do_eof();
    beast::get_lowest_layer(derived().stream()).expires_after(timeout());
    derived().stream().async_read_some(
        net::buffer(drain_), [self = derived().shared_from_this()](beast::error_code ec, std::size_t n) {
          self->guard("draining a request", [&] {
            self->drained_ += n;
            if (ec) return self->do_eof();
            self->linger();
          });
        });
  }

  Shared& shared_;
  Channel channel_;
  beast::flat_buffer buffer_;
  std::string source_;   // the client's IP address, for the authentication rate limits
  bool waiting_ = true;   // waiting for the client: its handshake or a request (the cap closes such first)

 private:
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  const Request* log_request_ = nullptr;
  std::string log_method_, principal_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int served_ = 0;
  int burst_ = 0;   // requests in a row read from what the client sent ahead (see do_read)
  bool linger_ = false;
  bool reading_ = false;
  bool counted_ = false;   // this request counts in shared_.in_flight
  static constexpr std::size_t kMaxDrainBytes = 4 * 1024 * 1024;
  std::array<char, 16384> drain_{};
  std::size_t drained_ = 0;
};

class PlainSession : public HttpSession<PlainSession>, public std::enable_shared_from_this<PlainSession> {
 public:
  PlainSession(tcp::socket&& socket, Shared& shared, Channel channel)
      : HttpSession(shared, channel, beast::flat_buffer(), socket), stream_(std::move(socket)) {}
  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->guard("starting", [&] { self->do_read(); }); });
  }
  beast::tcp_stream& stream() { return stream_; }
  void do_eof() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

 private:
  friend class HttpSession<PlainSession>;
  beast::tcp_stream stream_;
};

// A handshake that failed on the server's side (its key could not sign; an internal error), not
// because of what the client sent: the errors OpenSSL raised first come from another library than
// the TLS protocol's own, or are its internal or EVP errors.
bool server_side_handshake_failure(const beast::error_code& ec) {
  if (ec.category() != net::error::get_ssl_category()) return false;
  unsigned long e = static_cast<unsigned long>(ec.value());
  if (ERR_GET_LIB(e) != ERR_LIB_SSL) return true;
  int reason = ERR_GET_REASON(e);
  return reason == ERR_GET_REASON(ERR_R_INTERNAL_ERROR) || reason == ERR_GET_REASON(ERR_R_EVP_LIB) ||
         reason == ERR_GET_REASON(ERR_R_EC_LIB);
}

class TlsSession : public HttpSession<TlsSession>, public std::enable_shared_from_this<TlsSession> {
 public:
  TlsSession(tcp::socket&& socket, ssl::context& ctx, Shared& shared)
      : HttpSession(shared, Channel::https, beast::flat_buffer(), socket), stream_(std::move(socket), ctx) {}
  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->guard("starting", [&] { self->on_run(); }); });
  }
  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  void do_eof() {
    beast::get_lowest_layer(stream_).expires_after(timeout());
    stream_.async_shutdown([self = shared_from_this()](beast::error_code ec) {
      if (ec) fail(ec, "shutdown");
    });
  }

 private:
  friend class HttpSession<TlsSession>;
  void on_run() {
    beast::get_lowest_layer(stream_).expires_after(timeout());
    waiting(true);
    stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                            [self = shared_from_this()](beast::error_code ec, std::size_t used) {
                              self->guard("a TLS handshake", [&] { self->on_handshake(ec, used); });
                            });
  }
  void on_handshake(beast::error_code ec, std::size_t used) {
    waiting(false);
    if (ec) {
      if (server_side_handshake_failure(ec)) {
        // The server's key could not sign (the token's handle gone, the token unreachable): /ready
        // fails until a handshake succeeds again, and the key is opened again.
        ++shared_.tls_server_failures;
        std::int64_t none = 0;
        shared_.tls_failing_since_ms.compare_exchange_strong(none, steady_ms());
        if (shared_.on_tls_key_failure) {
          if (shared_.workers) net::post(*shared_.workers, shared_.on_tls_key_failure);
          else shared_.on_tls_key_failure();
        }
      }
      return fail(ec, "handshake");
    }
    if (shared_.tls_failing_since_ms.load(std::memory_order_relaxed) != 0) shared_.tls_failing_since_ms = 0;
    buffer_.consume(used);
    do_read();
  }
  beast::ssl_stream<beast::tcp_stream> stream_;
};

// ---------------------------------------------------------------- listener

// Accept errors that mean "out of descriptors or memory for now": accepting again at once would
// fail again at once (a busy loop, a log line each time), so the listener waits, and sheds.
bool out_of_resources(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec == net::error::no_buffer_space || ec == net::error::no_memory ||
         (ec.category() == beast::system_category() && (ec.value() == ENFILE || ec.value() == EMFILE));
}

class AcceptingListener : public Listener, public std::enable_shared_from_this<AcceptingListener> {
 public:
  AcceptingListener(net::io_context& ioc, ssl::context* ctx, const tcp::endpoint& endpoint, Channel channel, Shared& shared)
      : ioc_(ioc), ctx_(ctx), acceptor_(net::make_strand(ioc)), timer_(acceptor_.get_executor()), channel_(channel),
        shared_(shared) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw Error(ErrorKind::io, "cannot listen on " + endpoint.address().to_string() + ":" +
                                     std::to_string(endpoint.port()) + ": " + ec.message());
    bound_ = acceptor_.local_endpoint();
  }
  tcp::endpoint endpoint() const override { return bound_; }
  void stop() override {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->timer_.cancel(ec);
    });
  }
  void run() { do_accept(); }

 private:
  void do_accept() {
    // Each connection gets its own strand.
    try {
      acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&AcceptingListener::on_accept, shared_from_this()));
    } catch (const std::exception& e) {
      internal_failure("accepting", e.what());
      back_off();
    }
  }
  // Accepting again after a pause: 50 ms, doubled on each failure in a row up to 500 ms.
  void back_off() {
    backoff_ms_ = std::clamp(backoff_ms_ * 2, 50, 500);
    timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->acceptor_.is_open()) return;
      self->do_accept();
    });
  }
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    bool again = true;
    try {
      again = accepted(ec, std::move(socket));
    } catch (const std::exception& e) {
      internal_failure("accepting a connection", e.what());
    }
    if (again) do_accept();
  }
  // False when accepting goes on after a pause (back_off).
  bool accepted(beast::error_code ec, tcp::socket socket) {
    if (ec) {
      fail(ec, "accept");
      if (out_of_resources(ec)) {
        shared_.shed_oldest_waiting();   // a descriptor back for the next try
        back_off();
        return false;
      }
      return true;
    }
    backoff_ms_ = 0;
    if (shared_.max_connections > 0 && shared_.connections >= shared_.max_connections) {
      // At the cap: the connection waiting longest for its client makes room; with none waiting (or
      // the shedding not keeping up), the new one is closed.
      bool shed = shared_.connections < shared_.max_connections + kShedSlack && shared_.shed_oldest_waiting();
      log_limited("jitsuind: " + std::to_string(shared_.max_connections) + " connections open (server.max_connections): " +
                  (shed ? "the one idle longest is closed" : "a new connection is refused"));
      if (!shed) {
        beast::error_code close_ec;
        socket.close(close_ec);
        return true;
      }
    }
    // As nginx's tcp_nodelay: an answer written in more than one segment (a TLS record after the
    // handshake's, a large body) is not held back waiting for the client's ACK.
    beast::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    if (channel_ == Channel::https && ctx_) {
      std::make_shared<TlsSession>(std::move(socket), *ctx_, shared_)->run();
    } else {
      std::make_shared<PlainSession>(std::move(socket), shared_, channel_)->run();
    }
    return true;
  }

  static constexpr int kShedSlack = 32;   // connections over the cap while those shed are closing
  net::io_context& ioc_;
  ssl::context* ctx_;
  tcp::acceptor acceptor_;
  net::steady_timer timer_;
  int backoff_ms_ = 0;
  Channel channel_;
  Shared& shared_;
  tcp::endpoint bound_;
};

}  // namespace

std::shared_ptr<Listener> listen(net::io_context& ioc, ssl::context* ssl, const tcp::endpoint& endpoint, Channel channel,
                                 Shared& shared) {
  auto l = std::make_shared<AcceptingListener>(ioc, ssl, endpoint, channel, shared);
  l->run();
  return l;
}

}  // namespace jitsuin::server
