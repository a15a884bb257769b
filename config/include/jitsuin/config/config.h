#pragma once
// jitsuin's configuration: one JSON file decoded into typed structs, defaults filled,
// every section validated at start-up (unknown keys are errors, so typos fail fast).
// Each section decodes itself (`decode`: keys present override the defaults, unknown keys and
// wrong types refused) and checks its values (`validate`); errors name the section and key,
// e.g. "config ra.session_hours: must be between 1 and 24".
// Secrets are never in this file: PINs come from files with mode 0600 or the environment.
#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace jitsuin::config {

struct DatabaseConfig {
  std::string type = "sqlite";                   ///< only "sqlite" for now
  std::filesystem::path path = "jitsuin.db";     ///< relative to home
  std::string synchronous = "full";              ///< SQLite synchronous: "full" or "normal"

  /// Decodes the "database" object over the defaults. Throws Error(config) naming the key.
  void decode(const nlohmann::json& j);
  /// Checks the values. Throws Error(config) naming "database.<key>".
  void validate() const;
};

/// Key-store backends `hsm.type` may name (the hsm/ factory switches on these).
const std::vector<std::string>& known_hsm_types();

struct HsmConfig {
  std::string type = "pkcs11";                            ///< only "pkcs11"
  std::filesystem::path module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token = "pkcs11:token=jitsuin-ca";          ///< RFC 7512 URI of the CA token
  std::filesystem::path pin_file = "ca.pin";              ///< user PIN, mode 0600, relative to home
  std::string pin_env = "JITSUIN_CA_PIN";                 ///< overrides pin_file when set
  /// Embedded default: a SoftHSM2 token with its own softhsm2.conf under home, created on first use.
  bool embedded_softhsm = true;
  /// Embedded SoftHSM2 only: how long a process waits for HOME/token.lock, which serialises the
  /// token sessions of jitsuin processes on one home, before it gives up with an hsm error.
  int lock_wait_seconds = 30;

  /// Decodes the "hsm" object over the defaults. Throws Error(config) naming the key.
  void decode(const nlohmann::json& j);
  /// Checks the values (type one of known_hsm_types()). Throws Error(config) naming "hsm.<key>".
  void validate() const;
};

/// A distinguished name given as named attributes (country, organization, department, title,
/// common_name, email).
using NameFields = std::map<std::string, std::string>;

struct CaKeyConfig {
  std::string key;             ///< rsa2048, rsa3072, rsa4096, p256, p384
  NameFields subject;
  int validity_days = 0;

  /// Decodes one CA key object ("ca.root", "ca.issuing": given as `where`) over the defaults.
  void decode(const nlohmann::json& j, const std::string& where);
  /// Checks the values. Throws Error(config) naming "<where>.<key>".
  void validate(const std::string& where) const;
};

struct PolicyConfig {
  std::string oid;
  std::string cps;   ///< optional CPS URI qualifier

  /// Decodes one entry of ca.policies (`where` is e.g. "ca.policies[0]").
  void decode(const nlohmann::json& j, const std::string& where);
  /// Checks the OID and the CPS URL. Throws Error(config) naming "<where>.<key>".
  void validate(const std::string& where) const;
};

struct CrlConfig {
  std::filesystem::path publish_dir = "crl";   ///< relative to home
  int validity_hours = 48;                      ///< nextUpdate - thisUpdate
  std::string distribution_point;              ///< URL put into issued end-entity certificates
  std::string root_distribution_point;         ///< URL put into the issuing CA certificate
  /// Certificates per CRL partition (0: none, every certificate names the full CRL). With a
  /// distribution_point ending in ".crl", each end-entity certificate issued names the CRL of its
  /// partition (issuance order: partition = certificates so far / partition_size): partition 0
  /// names distribution_point itself (issuing.crl, which also keeps the certificates issued
  /// before partitions were on), partition n > 0 distribution_point with "-<n>" before ".crl"
  /// (issuing-<n>.crl). On by default, so that no CRL grows without bound.
  int partition_size = 100000;

  /// Decodes the "ca.crl" object over the defaults.
  void decode(const nlohmann::json& j);
  /// Checks the values. Throws Error(config) naming "ca.crl.<key>".
  void validate() const;
};

struct CaConfig {
  CaKeyConfig root{"rsa3072", {{"country", "JP"}, {"organization", "Jitsuin"}, {"common_name", "Jitsuin Root CA"}}, 7300};
  CaKeyConfig issuing{"p256", {{"country", "JP"}, {"organization", "Jitsuin"}, {"common_name", "Jitsuin Issuing CA 1"}}, 3650};
  std::filesystem::path profiles_dir = "profiles";   ///< relative to the config file's folder
  CrlConfig crl;
  std::string aia_ca_issuers;        ///< URL of the issuing CA certificate
  std::string root_aia_ca_issuers;   ///< URL of the root certificate (in the issuing CA cert)
  /// URL of the OCSP responder, put into issued end-entity certificates (AIA id-ad-ocsp); empty: none.
  std::string ocsp_url = "http://localhost:8080/ocsp";
  int ocsp_validity_hours = 24;      ///< OCSP response nextUpdate - thisUpdate
  std::vector<PolicyConfig> policies;

  /// Decodes the "ca" object (with ca.root, ca.issuing, ca.crl, ca.policies) over the defaults.
  void decode(const nlohmann::json& j);
  /// Checks the values, sub-sections included. Throws Error(config) naming "ca.<key>".
  void validate() const;
};

/// RA-10 notifications: how queued mails leave (jitsuin outbox deliver).
struct MailConfig {
  std::string from = "Jitsuin CA <noreply@localhost>";  ///< From header: "addr" or "Name <addr>"
  std::string smtp_url;                    ///< smtp://host:port or smtps://...; empty: write to maildir
  /// smtp:// to a host other than loopback must upgrade with STARTTLS unless this is true (a
  /// local relay on a trusted network that speaks no TLS); smtps:// is always TLS.
  bool allow_plain_smtp = false;
  std::filesystem::path ca_file;           ///< CA certificates (PEM) for the SMTP server; empty: the system store
  std::filesystem::path maildir = "maildir";   ///< relative to home; used when smtp_url is empty
  int max_attempts = 8;                    ///< delivery attempts before a mail is marked failed
  int retry_base_seconds = 60;             ///< backoff: base * 2^(attempts-1), capped at one day

  /// Decodes the "mail" object over the defaults.
  void decode(const nlohmann::json& j);
  /// Checks the values. Throws Error(config) naming "mail.<key>".
  void validate() const;
};

/// The registration authority's rules (RA-3, RA-4, RA-6, RA-7).
struct RaConfig {
  int pin_validity_days = 30;                   ///< an application PIN expires this long after issue
  int pin_max_attempts = 5;                     ///< wrong PINs before the PIN locks until re-issued
  int revocation_delay_days = 2;                ///< default effective time: request + this
  std::vector<int> expiry_notice_days{60, 30};  ///< expiry notices this many days before notAfter
  int password_max_failures = 5;                ///< wrong operator passwords before the account locks
  int session_hours = 8;                        ///< a `jitsuin login` session lasts this long
  int api_key_max_days = 90;                    ///< an operator key (`ra operator-key`) lasts at most this long (1..365)
  /// RA-5: the enrollment page printed on the approval notice (an https URL).
  std::string enrollment_url = "https://localhost:8443/enroll";

  /// Decodes the "ra" object over the defaults.
  void decode(const nlohmann::json& j);
  /// Checks the values. Throws Error(config) naming "ra.<key>".
  void validate() const;
};

/// jitsuind, the HTTPS server (issue 9): where it listens, its limits, its own TLS certificate.
struct ServerConfig {
  std::string listen = "127.0.0.1:8443";        ///< HTTPS: the JSON API, health
  std::string http_listen = "127.0.0.1:8080";   ///< plain HTTP: CRLs and CA certificates only
  /// subjectAltName of the server's certificate (profile tls-server): DNS names and IP addresses.
  std::vector<std::string> server_names{"localhost", "127.0.0.1"};
  int header_limit_bytes = 8192;      ///< request line and headers
  int body_limit_bytes = 1048576;     ///< request body (413 above it)
  int timeout_seconds = 30;           ///< TLS handshake, each read and each write
  int max_pipelined = 16;             ///< requests a client may send ahead of their answers (pipelined) before the connection is closed
  int threads = 0;                    ///< I/O threads; 0: one per core
  int tls_days = 90;                  ///< validity of the server's certificate (<= 398)
  // ops: health, readiness, metrics and the outbox worker (enroll/src/server/ops.h)
  /// Plain-HTTP ADDR:PORT serving /health, /ready and /metrics (and no longer the public listeners);
  /// empty: /health, /ready and /metrics on the HTTPS listener.
  std::string metrics_listen;
  int outbox_interval_seconds = 5;    ///< the server delivers the outbox this often (0: never; cron does)

  // auth: rate limits on authentication over the API (session.login, company.login,
  // ra.cert_request.add's credentials, Bearer tokens that do not resolve), in fixed windows of
  // auth_rate_window_seconds, counted in the database so they survive a restart. Over a limit: 429.
  int auth_rate_per_address = 60;        ///< attempts per source address per window
  int auth_rate_per_account = 20;        ///< attempts per account name per window
  int auth_rate_window_seconds = 60;     ///< the window

  // load: where the server's TLS key lives: "token" (generated on the CA's token, the default) or
  // "file" (HOME/server/tls.key, 0600: for a token too slow for handshakes).
  std::string tls_key = "token";

  // i9: keep-alive requests per connection, apart from the pipelining cap (max_pipelined): a client
  // that waits for each answer is served this many requests on one connection (nginx's
  // keepalive_requests, default 1000 there too), then the connection is closed.
  int keepalive_requests = 1000;
  // API calls in parallel, each on a database connection of its own: at most this many at once
  // (0: as many as there are I/O threads; 1: one call at a time).
  int api_connections = 0;
  // robustness: API, web and login requests run on this many worker threads, never on the I/O
  // threads (0: twice the cores, at least 4); and at most max_connections connections at once (0:
  // from the open-files limit, (RLIMIT_NOFILE - 128) / 2; at the cap the connection idle longest is closed).
  int workers = 0;
  int max_connections = 0;

  // web: the browser consoles (enroll/src/server/web.h). Where the pages are (empty: "web" beside
  // the jitsuind executable, where the build and the install put them), and how long a browser
  // session may sit unused before it is ended (the session's absolute expiry, ra.session_hours, holds too).
  std::string web_root;
  int web_idle_minutes = 30;

  /// Decodes the "server" object over the defaults.
  void decode(const nlohmann::json& j);
  /// Checks the values. Throws Error(config) naming "server.<key>".
  void validate() const;
};

// enroll: the applicant's enrollment steps over the API (issue 10, ra/enrollment.h).
struct EnrollConfig {
  int download_pin_minutes = 4320;   ///< a download PIN expires this long after it is mailed (3 days)
  /// S/MIME reseller path (seed 004): the download PIN mail of an application with the smime
  /// profile leaves this long after the request (0: at once).
  int smime_pin_delay_minutes = 15;

  /// Decodes the "enroll" object over the defaults.
  void decode(const nlohmann::json& j);
  /// Checks the values. Throws Error(config) naming "enroll.<key>".
  void validate() const;
};

struct Config {
  std::filesystem::path home;          ///< state directory (default ./var)
  std::filesystem::path config_file;   ///< where this config came from
  DatabaseConfig database;
  HsmConfig hsm;
  CaConfig ca;
  MailConfig mail;
  RaConfig ra;
  ServerConfig server;
  EnrollConfig enroll;   // enroll (issue 10)

  /// Decodes the whole document over the defaults: each section decodes itself; unknown
  /// top-level keys are refused. Paths are not resolved here (parse_config does that).
  void decode(const nlohmann::json& j);
  /// Runs every section's validate(). Throws Error(config) naming the section and key.
  void validate() const;

  /// Absolute path of something configured relative to home.
  std::filesystem::path in_home(const std::filesystem::path& p) const {
    return p.is_absolute() ? p : home / p;
  }
};

/// The documented default config (config/jitsuin.json in the source tree).
std::filesystem::path default_config_path();

/// Finds the config to use: explicit path, else $JITSUIN_CONFIG, else home/jitsuin.json if it
/// exists, else the documented default.
std::filesystem::path locate_config(const std::filesystem::path& explicit_path,
                                    const std::filesystem::path& home);

/// Loads, fills defaults, validates every section, resolves paths. Throws Error(config) with a
/// clear message.
Config load_config(const std::filesystem::path& file, const std::filesystem::path& home);

/// Decodes config JSON text (for tests and tools). base_dir resolves profiles_dir.
Config parse_config(const std::string& json_text, const std::filesystem::path& home,
                    const std::filesystem::path& base_dir);

/// Key algorithms the CA accepts for its own keys.
bool is_known_key_algorithm(const std::string& name);

}  // namespace jitsuin::config
