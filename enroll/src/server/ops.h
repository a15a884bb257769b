#pragma once
// Running jitsuind for real: liveness (/health), readiness (/ready: the database answers a read
// and the CA's token a key lookup), metrics (/metrics, Prometheus text format 0.0.4) and the
// outbox worker that delivers queued mail while the server runs. See README "Health and metrics".
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "jitsuin/api/services.h"
#include "jitsuin/hsm/key_store.h"
#include "server/server.h"

namespace jitsuin::server {

/// The route a request is counted under: its route pattern, never the raw target, so the label
/// set is bounded (the published files, /health, /ready, /metrics, /ocsp, /api/v1/<handler> of a
/// routed handler); anything else is "other".
std::string route_label(std::string_view target);

/// The counters behind /metrics. Thread-safe; observe() takes a short mutex.
class Metrics {
 public:
  /// Histogram bucket upper bounds of the request latency, in seconds.
  static const std::vector<double>& latency_buckets();

  /// One answered request: its route (route_label), status and duration (read to written).
  void observe(const std::string& route, unsigned status, double seconds);
  /// An API or OCSP request that failed on the CA's token (error kind hsm: a signature, the
  /// token's lock, its session).
  void count_token_sign_error();
  /// One outbox delivery run of the worker.
  void count_delivery(int sent, int deferred, int failed);
  /// More exposition text, appended at each scrape (e.g. the OCSP responder's counters): the
  /// source appends complete families (# HELP, # TYPE, samples), each line ending in "\n".
  void add_source(std::function<void(std::string&)> source);

  /// The process's own families (requests, latency, token errors, deliveries), then every source.
  void render(std::string& out) const;

 private:
  struct RouteStats {
    std::map<unsigned, std::uint64_t> by_status;
    std::vector<std::uint64_t> buckets;   // cumulative at render, per bucket here
    double sum = 0;
    std::uint64_t count = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, RouteStats> routes_;
  std::uint64_t token_sign_errors_ = 0;
  std::uint64_t sent_ = 0, deferred_ = 0, failed_ = 0;
  std::vector<std::function<void(std::string&)>> sources_;
};

/// Readiness, metrics from the database and the outbox worker, each on a Services of its own
/// (a database connection of its own), never under Shared::services_mutex.
class Ops {
 public:
  Ops(const config::Config& config, Clock clock);
  ~Ops();

  Metrics metrics;

  /// /ready: {"ready": bool, "database": {"ready", "error"?}, "token": {"ready", "error"?}}.
  nlohmann::json ready();
  /// /metrics: metrics.render() and the database's figures (certificates, outbox backlog).
  std::string metrics_text();

  /// Starts the outbox worker (server.outbox_interval_seconds; 0: none): it delivers at once,
  /// then every interval and whenever notify_outbox() is called.
  void start_outbox_worker();
  /// An API call may have queued mail: deliver now.
  void notify_outbox();
  /// Stops the worker (a delivery under way finishes) and waits for it.
  void stop_outbox_worker();

 private:
  void outbox_loop();

  config::Config config_;
  Clock clock_;
  std::mutex probe_mutex_;                  // guards probe_ and keys_
  std::unique_ptr<api::Services> probe_;    // readiness and metrics reads
  std::unique_ptr<hsm::KeyStore> keys_;     // readiness: the issuing key's lookup

  std::mutex worker_mutex_;
  std::condition_variable worker_cv_;
  bool worker_stop_ = false, worker_notified_ = false;
  std::thread worker_;

  // i9: the database file probe_ opened (device, inode): /ready checks the file at
  // database.path is still that one (not removed, moved away or replaced), else opens afresh.
  std::pair<dev_t, ino_t> probe_file_{0, 0};
  void check_probe_file();
};

/// /health, /ready and /metrics on the channel they belong to: the metrics listener when
/// server.metrics_listen is set, else HTTPS. nullopt for every other request (and for these paths
/// on a channel that does not serve them).
std::optional<Response> serve_ops(Shared& shared, Channel channel, const Request& req);

/// After a request was handled: counts token errors (error "hsm") and wakes the outbox worker
/// after a successful API call (it may have queued mail).
void ops_after_handling(Shared& shared, const Request& req, const Response& res);

/// When a response was written (the access log's moment): requests by route and status, latency.
void ops_record(Shared& shared, const Request* req, unsigned status, std::chrono::steady_clock::time_point start);

}  // namespace jitsuin::server
