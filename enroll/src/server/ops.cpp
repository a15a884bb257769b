#include "server/ops.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "jitsuin/api/handler.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/outbox.h"
#include "server/routes.h"

namespace jitsuin::server {

using nlohmann::json;

namespace {

std::string_view sv(boost::beast::string_view v) { return {v.data(), v.size()}; }

// A sample value as the exposition format writes it.
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels, const std::string& value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ' + value + '\n';
}

Response text_response(unsigned version, http::status status, std::string content_type, std::string body) {
  Response res{status, version};
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string error_text(const std::exception& e) {
  if (auto* err = dynamic_cast<const Error*>(&e)) return std::string(error_kind_name(err->kind())) + ": " + e.what();
  return e.what();
}

}  // namespace

// ---------------------------------------------------------------- routes

std::string route_label(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  static constexpr std::string_view kFixed[] = {"/crl/issuing.crl", "/crl/root.crl", "/ca/issuing.crt", "/ca/root.crt",
                                                "/health", "/ready", "/metrics", "/api/v1/openapi.json", "/ocsp"};
  for (auto r : kFixed)
    if (path == r) return std::string(r);
  if (path.starts_with("/ocsp/")) return "/ocsp";
  if (crl_partition_file(path)) return kCrlPartitionRoute;   // one label for every partition
  constexpr std::string_view kApi = "/api/v1/";
  if (path.starts_with(kApi)) {
    const api::Handler* h = api::find_handler(path.substr(kApi.size()));
    if (h && h->access != api::Access::local) return "/api/v1/" + h->name;
  }
  return "other";
}

// ---------------------------------------------------------------- metrics

const std::vector<double>& Metrics::latency_buckets() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return b;
}

void Metrics::observe(const std::string& route, unsigned status, double seconds) {
  const auto& bounds = latency_buckets();
  std::lock_guard lock(mutex_);
  RouteStats& r = routes_[route];
  if (r.buckets.empty()) r.buckets.assign(bounds.size(), 0);
  ++r.by_status[status];
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) {
      ++r.buckets[i];
      break;
    }
  r.sum += seconds;
  ++r.count;
}

void Metrics::count_token_sign_error() {
  std::lock_guard lock(mutex_);
  ++token_sign_errors_;
}

void Metrics::count_delivery(int sent, int deferred, int failed) {
  std::lock_guard lock(mutex_);
  sent_ += static_cast<std::uint64_t>(sent);
  deferred_ += static_cast<std::uint64_t>(deferred);
  failed_ += static_cast<std::uint64_t>(failed);
}

void Metrics::add_source(std::function<void(std::string&)> source) {
  std::lock_guard lock(mutex_);
  sources_.push_back(std::move(source));
}

void Metrics::render(std::string& out) const {
  std::vector<std::function<void(std::string&)>> sources;
  {
    std::lock_guard lock(mutex_);
    family(out, "jitsuind_http_requests_total", "counter", "HTTP requests answered, by route pattern and status.");
    for (const auto& [route, r] : routes_)
      for (const auto& [status, n] : r.by_status)
        sample(out, "jitsuind_http_requests_total", "route=\"" + route + "\",status=\"" + std::to_string(status) + "\"",
               std::to_string(n));
    family(out, "jitsuind_http_request_duration_seconds", "histogram",
           "Time from a request read to its response written, by route pattern.");
    const auto& bounds = latency_buckets();
    for (const auto& [route, r] : routes_) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += r.buckets[i];
        sample(out, "jitsuind_http_request_duration_seconds_bucket",
               "route=\"" + route + "\",le=\"" + number(bounds[i]) + "\"", std::to_string(cumulative));
      }
      sample(out, "jitsuind_http_request_duration_seconds_bucket", "route=\"" + route + "\",le=\"+Inf\"",
             std::to_string(r.count));
      sample(out, "jitsuind_http_request_duration_seconds_sum", "route=\"" + route + "\"", number(r.sum));
      sample(out, "jitsuind_http_request_duration_seconds_count", "route=\"" + route + "\"", std::to_string(r.count));
    }
    family(out, "jitsuind_token_sign_errors_total", "counter",
           "Requests that failed on the CA's token (error kind hsm: signature, token lock, session).");
    sample(out, "jitsuind_token_sign_errors_total", "", std::to_string(token_sign_errors_));
    family(out, "jitsuind_outbox_delivered_total", "counter",
           "Mails handled by the server's outbox worker, by result (sent, deferred for a retry, failed for good).");
    sample(out, "jitsuind_outbox_delivered_total", "result=\"sent\"", std::to_string(sent_));
    sample(out, "jitsuind_outbox_delivered_total", "result=\"deferred\"", std::to_string(deferred_));
    sample(out, "jitsuind_outbox_delivered_total", "result=\"failed\"", std::to_string(failed_));
    sources = sources_;
  }
  for (const auto& s : sources) s(out);
}

// ---------------------------------------------------------------- readiness, database figures

Ops::Ops(const config::Config& config, Clock clock) : config_(config), clock_(std::move(clock)) {}

Ops::~Ops() { stop_outbox_worker(); }

// An open SQLite connection keeps reading a file that was removed or replaced under it: readiness
// looks at the path, and a file that is not the one open (or none) means a fresh connection.
void Ops::check_probe_file() {
  struct stat st {};
  bool same = ::stat(config_.database.path.c_str(), &st) == 0 && probe_file_ == std::pair{st.st_dev, st.st_ino};
  if (!same) probe_.reset();
}

json Ops::ready() {
  std::lock_guard lock(probe_mutex_);
  json db = {{"ready", false}}, token = {{"ready", false}};
  std::string issuing_key;
  try {
    if (probe_) check_probe_file();
    if (!probe_) {
      struct stat st {};
      if (::stat(config_.database.path.c_str(), &st) == 0) probe_file_ = {st.st_dev, st.st_ino};
      probe_ = std::make_unique<api::Services>(config_, clock_, api::HomeCreation::refused);
    }
    if (!probe_->ca_initialized()) throw Error(ErrorKind::not_found, "no CA in the database (run: jitsuin ca init)");
    for (const auto& a : probe_->ca().authorities())
      if (a.role == "issuing") issuing_key = a.key_uri;
    db["ready"] = true;
  } catch (const std::exception& e) {
    db["error"] = error_text(e);
    token["error"] = "not checked: the database names the CA's keys";
    probe_.reset();   // a fresh connection next time
  }
  if (db["ready"].get<bool>()) {
    try {
      // A key lookup on the token: with the embedded SoftHSM2 it takes the token's lock for the
      // lookup only (waiting up to hsm.lock_wait_seconds), like any other use of the token.
      if (!keys_) keys_ = hsm::open_key_store(config_);
      keys_->find(issuing_key);
      token["ready"] = true;
    } catch (const std::exception& e) {
      token["error"] = error_text(e);
    }
  }
  bool ok = db["ready"].get<bool>() && token["ready"].get<bool>();
  return {{"ready", ok}, {"database", db}, {"token", token}};
}

std::string Ops::metrics_text() {
  std::string out;
  metrics.render(out);
  std::lock_guard lock(probe_mutex_);
  try {
    if (!probe_) probe_ = std::make_unique<api::Services>(config_, clock_, api::HomeCreation::refused);
    auto mails = ra::count_outbox(probe_->db());
    std::optional<ca::CertificateAuthority::Counts> certs;
    if (probe_->ca_initialized()) certs = probe_->ca().counts();
    family(out, "jitsuin_outbox_mails", "gauge", "Mails in the outbox by state: pending and sending are the backlog.");
    sample(out, "jitsuin_outbox_mails", "state=\"pending\"", std::to_string(mails.pending));
    sample(out, "jitsuin_outbox_mails", "state=\"sending\"", std::to_string(mails.sending));
    sample(out, "jitsuin_outbox_mails", "state=\"failed\"", std::to_string(mails.failed));
    if (certs) {
      family(out, "jitsuin_certificates_issued_total", "counter", "Certificates the issuing CA has issued.");
      sample(out, "jitsuin_certificates_issued_total", "", std::to_string(certs->issued));
      family(out, "jitsuin_certificates_revoked_total", "counter",
             "Certificates of the issuing CA revoked, with the revocation in effect.");
      sample(out, "jitsuin_certificates_revoked_total", "", std::to_string(certs->revoked));
    }
  } catch (const std::exception& e) {
    std::cerr << "jitsuind: metrics: the database figures are left out: " << error_text(e) << "\n";
    probe_.reset();
  }
  return out;
}

// ---------------------------------------------------------------- outbox worker

void Ops::start_outbox_worker() {
  if (config_.server.outbox_interval_seconds <= 0 || worker_.joinable()) return;
  worker_ = std::thread([this] { outbox_loop(); });
}

void Ops::notify_outbox() {
  // Only the first call after a run wakes the worker: on a busy server every API call comes here,
  // and waking it each time (it sleeps out its 100 ms between runs) would cost a context switch
  // per call.
  {
    std::lock_guard lock(worker_mutex_);
    if (worker_notified_) return;
    worker_notified_ = true;
  }
  worker_cv_.notify_one();
}

void Ops::stop_outbox_worker() {
  {
    std::lock_guard lock(worker_mutex_);
    worker_stop_ = true;
  }
  worker_cv_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void Ops::outbox_loop() {
  // The same delivery as `jitsuin outbox deliver` (the handler outbox.deliver), on a Services and
  // database connection of its own: SMTP never runs under the API's mutex, and the delivery's
  // claims make it safe beside a cron run of `outbox deliver`. Its clock is the one the API calls
  // queue mails with (api::clock_from_environment(): JITSUIN_TEST_NOW in tests), so a mail queued
  // at "now" is due now for the worker too, not only for a cron run.
  const Clock clock = api::clock_from_environment();
  std::unique_ptr<api::Services> services;
  api::Caller caller;
  caller.actor = "jitsuind";
  std::string last_error;
  const auto interval = std::chrono::seconds(config_.server.outbox_interval_seconds);
  std::unique_lock lock(worker_mutex_);
  while (!worker_stop_) {
    worker_notified_ = false;   // a call from now on wakes the next run
    lock.unlock();
    try {
      if (!services) services = std::make_unique<api::Services>(config_, clock, api::HomeCreation::refused);
      json r = api::call(*services, caller, "outbox.deliver", json::object());
      int sent = r.value("sent", 0), deferred = r.value("deferred", 0), failed = r.value("failed", 0);
      metrics.count_delivery(sent, deferred, failed);
      if (sent || deferred || failed)
        std::cerr << "jitsuind: outbox: sent " << sent << ", deferred " << deferred << ", failed " << failed << "\n";
      last_error.clear();
    } catch (const std::exception& e) {
      std::string text = error_text(e);
      if (text != last_error) std::cerr << "jitsuind: outbox: delivery failed: " << text << "\n";
      last_error = text;
      services.reset();
    }
    lock.lock();
    // At most ten runs a second however many API calls wake it (a busy server coalesces them).
    worker_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return worker_stop_; });
    worker_cv_.wait_for(lock, interval, [this] { return worker_stop_ || worker_notified_; });
  }
}

// ---------------------------------------------------------------- routing hooks

std::optional<Response> serve_ops(Shared& shared, Channel channel, const Request& req) {
  std::string_view target = sv(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  bool ops_path = path == "/health" || path == "/ready" || path == "/metrics";
  bool separate = !shared.services.config().server.metrics_listen.empty();
  if (channel != Channel::metrics && (!ops_path || separate || channel != Channel::https)) return std::nullopt;
  if (!ops_path) return error_response(req.version(), http::status::not_found, "not_found", "no such resource");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = error_response(req.version(), http::status::method_not_allowed, "method_not_allowed",
                              std::string(path) + " is GET only");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  Response res;
  if (path == "/health") {
    res = text_response(req.version(), http::status::ok, "application/json", "{\"status\":\"ok\"}\n");   // i9: no JSON built per request
  } else if (path == "/ready") {
    json r = shared.ops ? shared.ops->ready() : json{{"ready", false}};
    // robustness: TLS handshakes failing on the server's side (its key cannot sign) make the server
    // not ready, said under "token" (where the TLS key is, with server.tls_key "token"), until a
    // handshake succeeds again (server.cpp, TlsIdentity::reopen_key).
    if (std::int64_t since = shared.tls_failing_since_ms.load(); since != 0) {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
      r["ready"] = false;
      r["token"] = {{"ready", false},
                    {"error", "TLS handshakes fail on the server's side (its key cannot sign), for " +
                                  std::to_string((now - since) / 1000) + " s"}};
    }
    res = text_response(req.version(), r["ready"].get<bool>() ? http::status::ok : http::status::service_unavailable,
                        "application/json", r.dump() + "\n");
  } else {
    res = text_response(req.version(), http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                        shared.ops ? shared.ops->metrics_text() : std::string());
  }
  if (req.method() == http::verb::head) {
    auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
}

void ops_after_handling(Shared& shared, const Request& req, const Response& res) {
  if (!shared.ops) return;
  if (res.result_int() >= 500 && res.body().find("\"error\":\"hsm\"") != std::string::npos)
    shared.ops->metrics.count_token_sign_error();
  if (res.result_int() < 300 && req.method() == http::verb::post && sv(req.target()).starts_with("/api/v1/"))
    shared.ops->notify_outbox();
}

void ops_record(Shared& shared, const Request* req, unsigned status, std::chrono::steady_clock::time_point start) {
  if (!shared.ops) return;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  shared.ops->metrics.observe(req ? route_label(sv(req->target())) : "other", status, seconds);
}

}  // namespace jitsuin::server
