// jitsuind: the HTTPS server — the JSON API over the shared handlers (enroll/api), and the CRLs
// and CA certificates over plain HTTP. See README "jitsuind".
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "jitsuin/api/services.h"
#include "jitsuin/config/config.h"
#include "jitsuin/core/error.h"
#include "server/api_pool.h"
#include "server/ocsp.h"
#include "server/ops.h"
#include "server/routes.h"
#include "server/server.h"
#include "server/tls_identity.h"

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using namespace jitsuin;

namespace {

// 0, or 75 when jitsuind stops because its TLS key cannot sign any more (see on_tls_key_failure).
std::atomic<int> exit_status{0};

constexpr const char* kUsage =
    "usage: jitsuind [--home DIR] [--config FILE] [--listen ADDR:PORT] [--http-listen ADDR:PORT]\n"
    "       jitsuind --routes\n"
    "  --home DIR               state folder (default ./var), as for jitsuin\n"
    "  --config FILE            configuration (default: $JITSUIN_CONFIG, DIR/jitsuin.json, or config/jitsuin.json)\n"
    "  --listen ADDR:PORT       HTTPS: JSON API under /api/v1/, OCSP, /health, /ready, /metrics (default\n"
    "                           server.listen, 127.0.0.1:8443; with server.metrics_listen set, the last three are served there)\n"
    "  --http-listen ADDR:PORT  plain HTTP: CRLs, CA certificates and OCSP only (default server.http_listen, 127.0.0.1:8080)\n"
    "  --routes                 print every route served, one 'METHOD PATH' a line (the browser's end in 'web'), and exit\n"
    "Port 0 takes a free port. The bound addresses are printed on the first line of standard output\n"
    "(and metrics=ADDR:PORT when server.metrics_listen is set).\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

tcp::endpoint parse_endpoint(const std::string& text, const char* what) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size() ||
      text.find_first_not_of("0123456789", colon + 1) != std::string::npos || text.size() - colon - 1 > 5)
    throw UsageError(std::string(what) + " '" + text + "' is not ADDRESS:PORT");
  int port = std::stoi(text.substr(colon + 1));
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec || port > 65535) throw UsageError(std::string(what) + " '" + text + "' is not a numeric ADDRESS:PORT");
  return {address, static_cast<unsigned short>(port)};
}

// The open-files limit, its soft value raised to the hard one (systemd's LimitNOFILE sets both;
// a shell's ulimit often leaves the soft one at 1024), and the connection cap it allows: each
// connection may hold two descriptors (its socket, a published file it streams), and 128 are kept
// for the rest (database connections, the token's files, logs).
int connection_cap(int configured) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return configured > 0 ? configured : 448;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? std::max<rlim_t>(rl.rlim_cur, 1 << 20) : rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  long long soft = rl.rlim_cur == RLIM_INFINITY ? (1LL << 20) : static_cast<long long>(rl.rlim_cur);
  int derived = static_cast<int>(std::clamp<long long>((soft - 128) / 2, 16, 1000000));
  if (configured <= 0) return derived;
  if (configured > derived)
    std::cerr << "jitsuind: server.max_connections " << configured << " is over what the open-files limit (" << soft
              << ") allows: " << derived << " are used\n";
  return std::min(configured, derived);
}

std::string show(const tcp::endpoint& e) {
  std::string a = e.address().to_string();
  if (e.address().is_v6()) a = "[" + a + "]";
  return a + ":" + std::to_string(e.port());
}

}  // namespace

int main(int argc, char** argv) {
  ::umask(077);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::filesystem::path home = "var", config_file;
  std::optional<std::string> listen_at, http_listen_at;
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&](const char* name) -> std::string {
        std::string prefix = std::string(name) + "=";
        if (a.starts_with(prefix)) return a.substr(prefix.size());
        if (a != name) return {};
        if (i + 1 >= args.size()) throw UsageError(std::string(name) + " needs a value");
        return args[++i];
      };
      if (a == "--help" || a == "-h") {
        std::cout << kUsage;
        return 0;
      } else if (a == "--routes") {
        for (const auto& r : server::routes())
          for (const auto& m : r.methods) std::cout << m << " " << r.path << "\n";
        for (const auto& r : server::web_routes())   // webadmin: the browser's, marked
          for (const auto& m : r.methods) std::cout << m << " " << r.path << " web\n";
        return 0;
      } else if (a == "--home" || a.starts_with("--home=")) home = value("--home");
      else if (a == "--config" || a.starts_with("--config=")) config_file = value("--config");
      else if (a == "--listen" || a.starts_with("--listen=")) listen_at = value("--listen");
      else if (a == "--http-listen" || a.starts_with("--http-listen=")) http_listen_at = value("--http-listen");
      else throw UsageError("unknown argument " + a);
    }
    auto config = config::load_config(config::locate_config(config_file, home), home);
    auto https_endpoint = parse_endpoint(listen_at.value_or(config.server.listen), "--listen");
    auto http_endpoint = parse_endpoint(http_listen_at.value_or(config.server.http_listen), "--http-listen");
    std::optional<tcp::endpoint> metrics_endpoint;
    if (!config.server.metrics_listen.empty())
      metrics_endpoint = parse_endpoint(config.server.metrics_listen, "server.metrics_listen");
    int threads = config.server.threads > 0 ? config.server.threads
                                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    int workers = config.server.workers > 0 ? config.server.workers
                                            : std::max(4, 2 * static_cast<int>(std::thread::hardware_concurrency()));
    int max_connections = connection_cap(config.server.max_connections);
    api::Services services(std::move(config), api::clock_from_environment(), api::HomeCreation::refused);
    // The server's own certificate, from our CA (first start, or when a third of it is left), its
    // key on the token (the token's lock is taken per signature, so `jitsuin crl publish` from
    // cron signs while jitsuind runs); renewed while running, see tls_identity.h.
    server::TlsIdentity identity(services);
    ssl::context ctx(ssl::context::tls_server);
    identity.serve(ctx);

    server::Shared shared(services);
    shared.max_connections = max_connections;
    // The TLS key on the token is found again when handshakes fail on the server's side (a token
    // handle gone invalid); at most every two seconds, on a worker. When they still fail, with no
    // handshake succeeding, kTlsGiveUpMs after the first failure, the token's session cannot be
    // mended from here: jitsuind stops as on SIGTERM and exits 75 (EX_TEMPFAIL), and the service
    // manager starts it again with a fresh session (the unit's Restart=on-failure).
    shared.on_tls_key_failure = [&identity, &shared] {
      identity.reopen_key();
      constexpr std::int64_t kTlsGiveUpMs = 10000;
      std::int64_t since = shared.tls_failing_since_ms.load();
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
      if (since != 0 && now - since >= kTlsGiveUpMs && exit_status.exchange(75) == 0) {
        std::cerr << "jitsuind: TLS handshakes have failed on the server's side for " << (now - since) / 1000
                  << " s and opening the key again did not help: stopping, exit status 75 (to be restarted)\n";
        ::kill(::getpid(), SIGTERM);
      }
    };
    shared.ops = std::make_shared<server::Ops>(services.config(), system_clock());
    shared.api_pool = std::make_shared<server::ServicesPool>(services.config(), services.clock(),   // API calls in parallel
                                                             services.config().server.api_connections);
    // OCSP (server/ocsp.h): a Services of its own, so OCSP requests never queue behind API calls.
    api::Services ocsp_services(services.config(), system_clock(), api::HomeCreation::refused);
    shared.ocsp = &server::start_ocsp(ocsp_services);
    shared.ops->metrics.add_source([ocsp = shared.ocsp](std::string& out) { server::render_ocsp_metrics(*ocsp, out); });
    net::io_context ioc{threads};
    // The workers (server.workers): API, web and login requests, so that a slow one (scrypt, the
    // token, a commit) never holds up the I/O threads. Declared after ioc: destroyed first, with the
    // sessions their handlers may still hold.
    net::io_context worker_ioc{workers};
    auto worker_guard = net::make_work_guard(worker_ioc);
    shared.workers = &worker_ioc;
    auto https = server::listen(ioc, &ctx, https_endpoint, server::Channel::https, shared);
    auto http = server::listen(ioc, nullptr, http_endpoint, server::Channel::http, shared);
    std::shared_ptr<server::Listener> metrics;
    if (metrics_endpoint)
      metrics = server::listen(ioc, nullptr, *metrics_endpoint, server::Channel::metrics, shared);
    std::cout << "jitsuind: https=" << show(https->endpoint()) << " http=" << show(http->endpoint())
              << (metrics ? " metrics=" + show(metrics->endpoint()) : "") << std::endl;
    shared.ops->start_outbox_worker();
    std::cerr << "jitsuind: serving with " << threads << " I/O threads, " << workers << " workers, at most "
              << max_connections << " connections; TLS certificate " << identity.chain_file().string()
              << " (serial " << identity.serial() << (identity.issued_now() ? ", issued now" : "") << ")" << "; the root to trust: " << identity.root_file().string()
              << "\n";
    {
      std::string api = "https://" + show(https->endpoint()), plain = "http://" + show(http->endpoint());
      std::string ops = metrics ? "http://" + show(metrics->endpoint()) : api;
      std::cerr << "jitsuind: API " << api << "/api/v1/ (curl --cacert " << identity.root_file().string() << ")\n"
                << "jitsuind: CRLs " << plain << "/crl/issuing.crl " << plain << "/crl/root.crl, CA certificates "
                << plain << "/ca/issuing.crt " << plain << "/ca/root.crt, OCSP " << plain << "/ocsp\n"
                << "jitsuind: health " << ops << "/health, readiness " << ops << "/ready, metrics " << ops << "/metrics\n";
    }
    identity.renew_while_running(ioc, shared.services_mutex);

    // Graceful shutdown: stop accepting, let the requests in flight finish (each connection closes
    // after its current response), then stop; after server.timeout_seconds anyway.
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    net::steady_timer drain(ioc);
    auto deadline = std::chrono::steady_clock::now();
    std::function<void()> wait_drained = [&] {
      if (shared.connections == 0 || std::chrono::steady_clock::now() > deadline) return ioc.stop();
      drain.expires_after(std::chrono::milliseconds(20));
      drain.async_wait([&](const boost::system::error_code&) { wait_drained(); });
    };
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      std::cerr << "jitsuind: stopping: no new connections, finishing the requests in flight\n";
      https->stop();
      http->stop();
      if (metrics) metrics->stop();
      shared.stop_sessions();
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(services.config().server.timeout_seconds);
      wait_drained();
    });

    // No exception leaves a handler (server.cpp guards them); one that did anyway is logged and
    // the thread goes on serving.
    auto run = [](net::io_context& io, const char* what) {
      for (;;) {
        try {
          io.run();
          return;
        } catch (const std::exception& e) {
          server::log_limited(std::string("jitsuind: internal error on ") + what + ": " + e.what());
        } catch (...) {
          server::log_limited(std::string("jitsuind: internal error on ") + what);
        }
      }
    };
    std::vector<std::thread> pool;
    for (int i = 0; i < workers; ++i)
      pool.emplace_back([&] {
        // Workers yield to the I/O threads when the cores are busy (nice 5: about a third of an I/O
        // thread's share): CRLs, OCSP and /health stay quick under a burst of logins.
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 5);
        run(worker_ioc, "a worker");
      });
    for (int i = 1; i < threads; ++i) pool.emplace_back([&] { run(ioc, "an I/O thread"); });
    run(ioc, "an I/O thread");
    worker_guard.reset();
    worker_ioc.stop();
    for (auto& t : pool) t.join();
    shared.ops->stop_outbox_worker();   // a delivery under way finishes first
    std::cerr << "jitsuind: stopped\n";
    return exit_status.load();
  } catch (const UsageError& e) {
    std::cerr << "jitsuind: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const Error& e) {
    std::cerr << "jitsuind: error (" << error_kind_name(e.kind()) << "): " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "jitsuind: error: " << e.what() << "\n";
    return 1;
  }
}
