#pragma once
// jitsuind's HTTP side, in the shape of Beast 1.74's advanced server-flex example: a listener per
// address, one session per connection on its own strand, a fresh parser per request with the
// configured header and body limits, a timeout before every handshake, read and write.
#include <atomic>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>

#include "jitsuin/api/services.h"

namespace jitsuin::server {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/// Which listener a request came in on: plain HTTP serves only the CRLs and CA certificates; the
/// metrics listener (server.metrics_listen, when set) only /health, /ready and /metrics.
enum class Channel { https, http, metrics };

class Ops;
class ServicesPool;

/// What every session shares: the handlers' services (used by one request at a time: the
/// database connection and the CA are not shared between threads), the limits and the counters
/// graceful shutdown waits on.
struct Shared {
  explicit Shared(api::Services& s) : services(s) {}
  api::Services& services;
  std::mutex services_mutex;
  std::mutex log_mutex;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  // ops: readiness, metrics and the outbox worker (server/ops.h); set by main before serving
  std::shared_ptr<Ops> ops;
  // ocsp: the responder of /ocsp (server/ocsp.h), over a Services of its own: never under services_mutex.
  ca::OcspResponder* ocsp = nullptr;

  // load: graceful shutdown. Open connections (graceful shutdown waits for none to be left), and
  // the sessions to tell, at shutdown, to close when they wait for a further keep-alive request.
  struct Idle {
    virtual ~Idle() = default;
    // Both return the session (null when it is being destroyed), to be released by the caller
    // after sessions_mutex: a session's last reference may be this one, and its destructor takes
    // sessions_mutex.
    virtual std::shared_ptr<void> close_if_idle() = 0;
    /// Closes the connection if it waits for its client (its TLS handshake, or a request not yet
    /// complete): the connection cap's shedding (below).
    virtual std::shared_ptr<void> close_waiting() = 0;
    /// Since when (steady clock, ms) the connection waits for the client; 0 while a request is
    /// being handled or answered.
    std::atomic<std::int64_t> waiting_since_ms{0};
  };
  std::atomic<int> connections{0};
  std::mutex sessions_mutex;
  std::unordered_set<Idle*> sessions;
  /// Stops serving: no further request on any connection; the ones that wait for a further
  /// keep-alive request are closed, a request being read or handled is answered (Connection: close).
  void stop_sessions();

  // robustness: at most max_connections open at once (server.max_connections, or derived from
  // RLIMIT_NOFILE by main). A connection accepted at the cap makes the one that has waited longest
  // for the client close (a new client is never refused for idle ones); with none waiting, the new
  // connection is closed at once.
  int max_connections = 0;   ///< 0: no cap
  /// At the cap: asks the connection that has waited longest for its client to close; false when
  /// none waits.
  bool shed_oldest_waiting();

  // robustness: API, web and login requests are handled on these threads (server.workers), not on
  // the I/O threads, which answer static files, OCSP, /health, /ready and /metrics themselves and
  // write every response; set by main (null: everything on the I/O threads, as before).
  boost::asio::io_context* workers = nullptr;

  // robustness: TLS handshakes failing on the server's side (its key could not sign): /ready answers
  // 503 until a handshake succeeds again; on_tls_key_failure (set by main) re-opens the TLS key.
  std::atomic<std::int64_t> tls_failing_since_ms{0};
  std::atomic<std::uint64_t> tls_server_failures{0};
  std::function<void()> on_tls_key_failure;

  // i9: API calls run in parallel, each on a Services of this pool (server/api_pool.h), not under
  // services_mutex; set by main before serving (null: one at a time on `services`, as before).
  std::shared_ptr<ServicesPool> api_pool;
};

/// Answers one request (never throws): routing, target checks, OCSP, ops, the JSON API and web (the
/// published files are the session's: serve_static in server.cpp, streamed).
/// `principal` is set, for the access log, to the user a login names, or to the holder of the
/// bearer token's session (operator name or company ID; never the token). `source` is the client's
/// IP address (the authentication rate limits count per address).
Response handle_request(Shared& shared, Channel channel, const Request& req, std::string& principal,
                        const std::string& source = "");

/// Writes `line` (no newline) to stderr, unless the same line was written less than 10 seconds ago:
/// then it is counted, and the next time it is written it says "(repeated N times)". For lines a
/// client can make the server repeat (accept errors, handshake failures). `detail` (an incident id)
/// is written after the line but is not part of what counts as the same line.
void log_limited(const std::string& line, const std::string& detail = "");

/// An HTTP date (RFC 9110 IMF-fixdate), as in Last-Modified and Expires.
std::string http_date(std::time_t t);

/// An error response {"error": code, "message": text}.
Response error_response(unsigned version, http::status status, const std::string& code, const std::string& message);

/// Accepts connections on one address and starts a session for each (TLS when given a context).
class Listener {
 public:
  virtual ~Listener() = default;
  /// The bound address (port 0 in the configuration gets a free port).
  virtual boost::asio::ip::tcp::endpoint endpoint() const = 0;
  /// Closes the acceptor: no new connections; sessions already running go on.
  virtual void stop() = 0;
};

/// Binds `endpoint` and starts accepting; ssl == nullptr: plain HTTP. Throws io when it cannot bind.
std::shared_ptr<Listener> listen(boost::asio::io_context& ioc, boost::asio::ssl::context* ssl,
                                 const boost::asio::ip::tcp::endpoint& endpoint, Channel channel, Shared& shared);

}  // namespace jitsuin::server
