#include "jitsuin/config/config.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "jitsuin/core/error.h"
#include "jitsuin/core/json.h"
#include "jitsuin/core/util.h"

namespace jitsuin::config {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& msg) {
  throw Error(ErrorKind::config, (where.empty() ? "config: " : "config " + where + ": ") + msg);
}

// Reads one JSON object, remembering which keys were used so leftovers (typos) are reported.
class Section {
 public:
  Section(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) bad(where_, "must be an object");
  }
  ~Section() = default;

  void str(const char* key, std::string& out) {
    if (auto* v = get(key)) {
      if (!v->is_string()) bad(path(key), "must be a string");
      out = v->get<std::string>();
    }
  }
  void path_(const char* key, std::filesystem::path& out) {
    std::string s;
    str(key, s);
    if (j_.contains(key)) {
      if (s.empty()) bad(path(key), "must not be empty");
      out = s;
    }
  }
  void integer(const char* key, int& out) {
    if (auto* v = get(key)) {
      if (!v->is_number_integer()) bad(path(key), "must be an integer");
      // get<int>() would wrap 4294967297 to 1: check the range first.
      if (v->is_number_unsigned() ? v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT_MAX)
                                  : v->get<std::int64_t>() < INT_MIN || v->get<std::int64_t>() > INT_MAX)
        bad(path(key), "is out of range");
      out = v->get<int>();
    }
  }
  void boolean(const char* key, bool& out) {
    if (auto* v = get(key)) {
      if (!v->is_boolean()) bad(path(key), "must be true or false");
      out = v->get<bool>();
    }
  }
  const json* get(const char* key) {
    used_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  std::string path(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }
  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!used_.count(it.key())) bad(where_, "unknown key '" + it.key() + "'");
  }

 private:
  const json& j_;
  std::string where_;
  std::set<std::string> used_;
};

void read_name(const json& j, const std::string& where, NameFields& out) {
  static const std::set<std::string> known{"country", "organization", "department", "title",
                                           "common_name", "email"};
  if (!j.is_object()) bad(where, "must be an object");
  out.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!known.count(it.key())) bad(where, "unknown name attribute '" + it.key() + "'");
    if (!it->is_string() || it->get<std::string>().empty())
      bad(where + "." + it.key(), "must be a non-empty string");
    out[it.key()] = it->get<std::string>();
  }
  if (!out.count("common_name")) bad(where, "common_name is required");
}

// http(s)://host[...]: a scheme, a non-empty host, and no spaces or control characters.
bool is_url(const std::string& s) {
  std::size_t rest;
  if (s.starts_with("http://")) rest = 7;
  else if (s.starts_with("https://")) rest = 8;
  else return false;
  if (rest >= s.size() || s[rest] == '/' || s[rest] == ':' || s[rest] == '?' || s[rest] == '#') return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

void validate_url(const std::string& where, const std::string& value) {
  if (!value.empty() && !is_url(value)) bad(where, "'" + value + "' is not an http(s) URL");
}

void validate_oid(const std::string& where, const std::string& oid) {
  bool ok = !oid.empty() && std::isdigit(static_cast<unsigned char>(oid.front())) &&
            std::isdigit(static_cast<unsigned char>(oid.back())) && oid.find("..") == std::string::npos;
  for (char c : oid) ok = ok && (std::isdigit(static_cast<unsigned char>(c)) || c == '.');
  if (ok) {
    // X.660: the first arc is 0, 1 or 2; under 0 and 1 the second is below 40; no leading zeros.
    std::vector<std::string> arcs;
    for (std::size_t start = 0;;) {
      auto dot = oid.find('.', start);
      arcs.push_back(oid.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    for (const auto& a : arcs) ok = ok && !a.empty() && a.size() <= 18 && (a.size() == 1 || a[0] != '0');
    ok = ok && arcs.size() >= 2 && arcs[0].size() == 1 && arcs[0][0] <= '2';
    if (ok && arcs[0][0] != '2') ok = std::stoll(arcs[1]) < 40;
  }
  if (!ok || oid.find('.') == std::string::npos) bad(where, "'" + oid + "' is not a dotted OID");
}

}  // namespace

bool is_known_key_algorithm(const std::string& name) {
  static const std::set<std::string> known{"rsa2048", "rsa3072", "rsa4096", "p256", "p384"};
  return known.count(name) > 0;
}

std::filesystem::path default_config_path() { return JITSUIN_DEFAULT_CONFIG; }

std::filesystem::path locate_config(const std::filesystem::path& explicit_path,
                                    const std::filesystem::path& home) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* env = std::getenv("JITSUIN_CONFIG"); env && *env) return env;
  if (std::filesystem::exists(home / "jitsuin.json")) return home / "jitsuin.json";
  return default_config_path();
}

// ---------------------------------------------------------------- sections

void DatabaseConfig::decode(const json& j) {
  Section s(j, "database");
  s.str("type", type);
  s.path_("path", path);
  s.str("synchronous", synchronous);
  s.finish();
}

void DatabaseConfig::validate() const {
  if (type != "sqlite") bad("database.type", "'" + type + "' is not supported (sqlite)");
  if (synchronous != "full" && synchronous != "normal") bad("database.synchronous", "must be \"full\" or \"normal\"");
}

const std::vector<std::string>& known_hsm_types() {
  static const std::vector<std::string> types{"pkcs11"};
  return types;
}

void HsmConfig::decode(const json& j) {
  Section s(j, "hsm");
  s.str("type", type);
  s.path_("module", module);
  s.str("token", token);
  s.path_("pin_file", pin_file);
  s.str("pin_env", pin_env);
  s.boolean("embedded_softhsm", embedded_softhsm);
  s.integer("lock_wait_seconds", lock_wait_seconds);
  s.finish();
}

void HsmConfig::validate() const {
  const auto& types = known_hsm_types();
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    std::string list;
    for (const auto& t : types) list += (list.empty() ? "" : ", ") + t;
    bad("hsm.type", "'" + type + "' is not supported (" + list + ")");
  }
  if (!token.starts_with("pkcs11:")) bad("hsm.token", "must be a PKCS#11 URI (pkcs11:token=...)");
  if (lock_wait_seconds < 0 || lock_wait_seconds > 3600) bad("hsm.lock_wait_seconds", "must be between 0 and 3600");
}

void CaKeyConfig::decode(const json& j, const std::string& where) {
  Section s(j, where);
  s.str("key", key);
  if (auto* n = s.get("subject")) read_name(*n, s.path("subject"), subject);
  s.integer("validity_days", validity_days);
  s.finish();
}

void CaKeyConfig::validate(const std::string& where) const {
  if (!is_known_key_algorithm(key))
    bad(where + ".key", "'" + key + "' is not one of rsa2048, rsa3072, rsa4096, p256, p384");
  if (!subject.count("common_name")) bad(where + ".subject", "common_name is required");
  if (validity_days < 1 || validity_days > 36500) bad(where + ".validity_days", "must be between 1 and 36500");
}

void PolicyConfig::decode(const json& j, const std::string& where) {
  Section s(j, where);
  s.str("oid", oid);
  s.str("cps", cps);
  s.finish();
}

void PolicyConfig::validate(const std::string& where) const {
  validate_oid(where + ".oid", oid);
  validate_url(where + ".cps", cps);
}

void CrlConfig::decode(const json& j) {
  Section s(j, "ca.crl");
  s.path_("publish_dir", publish_dir);
  s.integer("validity_hours", validity_hours);
  s.str("distribution_point", distribution_point);
  s.str("root_distribution_point", root_distribution_point);
  s.integer("partition_size", partition_size);
  s.finish();
}

void CrlConfig::validate() const {
  if (validity_hours < 1 || validity_hours > 24 * 31) bad("ca.crl.validity_hours", "must be between 1 and 744");
  validate_url("ca.crl.distribution_point", distribution_point);
  validate_url("ca.crl.root_distribution_point", root_distribution_point);
  if (partition_size < 0 || partition_size > 10000000) bad("ca.crl.partition_size", "must be between 0 (none) and 10000000");
  if (partition_size > 0 && !distribution_point.empty() && !distribution_point.ends_with(".crl"))
    bad("ca.crl.distribution_point", "must end in .crl when ca.crl.partition_size is set (the partitions' URLs are "
                                     "made from it), or set ca.crl.partition_size to 0");
}

void CaConfig::decode(const json& j) {
  Section s(j, "ca");
  if (auto* r = s.get("root")) root.decode(*r, "ca.root");
  if (auto* i = s.get("issuing")) issuing.decode(*i, "ca.issuing");
  s.path_("profiles_dir", profiles_dir);
  s.str("aia_ca_issuers", aia_ca_issuers);
  s.str("root_aia_ca_issuers", root_aia_ca_issuers);
  s.str("ocsp_url", ocsp_url);
  s.integer("ocsp_validity_hours", ocsp_validity_hours);
  if (auto* c = s.get("crl")) crl.decode(*c);
  if (auto* pol = s.get("policies")) {
    if (!pol->is_array()) bad("ca.policies", "must be an array");
    policies.clear();
    for (std::size_t i = 0; i < pol->size(); ++i) {
      PolicyConfig p;
      p.decode((*pol)[i], "ca.policies[" + std::to_string(i) + "]");
      policies.push_back(std::move(p));
    }
  }
  s.finish();
}

void CaConfig::validate() const {
  root.validate("ca.root");
  issuing.validate("ca.issuing");
  crl.validate();
  for (std::size_t i = 0; i < policies.size(); ++i) policies[i].validate("ca.policies[" + std::to_string(i) + "]");
  validate_url("ca.aia_ca_issuers", aia_ca_issuers);
  validate_url("ca.root_aia_ca_issuers", root_aia_ca_issuers);
  validate_url("ca.ocsp_url", ocsp_url);
  if (ocsp_validity_hours < 1 || ocsp_validity_hours > 24 * 7) bad("ca.ocsp_validity_hours", "must be between 1 and 168");
}

void MailConfig::decode(const json& j) {
  Section s(j, "mail");
  s.str("from", from);
  s.str("smtp_url", smtp_url);
  s.boolean("allow_plain_smtp", allow_plain_smtp);
  s.path_("ca_file", ca_file);
  s.path_("maildir", maildir);
  s.integer("max_attempts", max_attempts);
  s.integer("retry_base_seconds", retry_base_seconds);
  s.finish();
}

void MailConfig::validate() const {
  if (from.find('@') == std::string::npos) bad("mail.from", "must hold an e-mail address");
  if (!smtp_url.empty() && !smtp_url.starts_with("smtp://") && !smtp_url.starts_with("smtps://"))
    bad("mail.smtp_url", "'" + smtp_url + "' is not an smtp:// or smtps:// URL");
  if (allow_plain_smtp && !smtp_url.starts_with("smtp://"))
    bad("mail.allow_plain_smtp", "applies to an smtp:// relay only (mail.smtp_url is '" + smtp_url + "')");
  if (maildir.empty()) bad("mail.maildir", "must not be empty");
  if (max_attempts < 1 || max_attempts > 100) bad("mail.max_attempts", "must be between 1 and 100");
  if (retry_base_seconds < 1 || retry_base_seconds > 86400) bad("mail.retry_base_seconds", "must be between 1 and 86400");
}

void RaConfig::decode(const json& j) {
  Section s(j, "ra");
  s.integer("pin_validity_days", pin_validity_days);
  s.integer("pin_max_attempts", pin_max_attempts);
  s.integer("revocation_delay_days", revocation_delay_days);
  s.integer("password_max_failures", password_max_failures);
  s.integer("session_hours", session_hours);
  s.integer("api_key_max_days", api_key_max_days);
  s.str("enrollment_url", enrollment_url);
  if (auto* days = s.get("expiry_notice_days")) {
    if (!days->is_array() || days->empty()) bad("ra.expiry_notice_days", "must be a non-empty array of days");
    expiry_notice_days.clear();
    for (const auto& d : *days) {
      // Range checked before get<int>(), which would wrap 4294967297 to 1.
      bool ok = d.is_number_integer() && (d.is_number_unsigned() ? d.get<std::uint64_t>() <= 366
                                                                 : d.get<std::int64_t>() <= 366) &&
                d.get<std::int64_t>() >= 1;
      if (!ok) bad("ra.expiry_notice_days", "each entry must be a whole number of days between 1 and 366");
      expiry_notice_days.push_back(d.get<int>());
    }
  }
  s.finish();
}

void RaConfig::validate() const {
  if (pin_validity_days < 1 || pin_validity_days > 365) bad("ra.pin_validity_days", "must be between 1 and 365");
  if (pin_max_attempts < 1 || pin_max_attempts > 20) bad("ra.pin_max_attempts", "must be between 1 and 20");
  if (revocation_delay_days < 0 || revocation_delay_days > 30) bad("ra.revocation_delay_days", "must be between 0 and 30");
  if (password_max_failures < 1 || password_max_failures > 20)
    bad("ra.password_max_failures", "must be between 1 and 20");
  if (session_hours < 1 || session_hours > 24) bad("ra.session_hours", "must be between 1 and 24");
  if (api_key_max_days < 1 || api_key_max_days > 365) bad("ra.api_key_max_days", "must be between 1 and 365");
  if (expiry_notice_days.empty()) bad("ra.expiry_notice_days", "must be a non-empty array of days");
  for (int d : expiry_notice_days)
    if (d < 1 || d > 366) bad("ra.expiry_notice_days", "each entry must be a whole number of days between 1 and 366");
  if (enrollment_url.empty()) bad("ra.enrollment_url", "must not be empty");
  if (!enrollment_url.starts_with("https://") || !is_url(enrollment_url))
    bad("ra.enrollment_url", "'" + enrollment_url + "' is not an https URL");
}

void ServerConfig::decode(const json& j) {
  Section s(j, "server");
  s.str("listen", listen);
  s.str("http_listen", http_listen);
  if (auto* names = s.get("server_names")) {
    if (!names->is_array()) bad("server.server_names", "must be an array of DNS names or IP addresses");
    server_names.clear();
    for (const auto& n : *names) {
      if (!n.is_string()) bad("server.server_names", "must be an array of DNS names or IP addresses");
      server_names.push_back(n.get<std::string>());
    }
  }
  s.integer("header_limit_bytes", header_limit_bytes);
  s.integer("body_limit_bytes", body_limit_bytes);
  s.integer("timeout_seconds", timeout_seconds);
  s.integer("max_pipelined", max_pipelined);
  s.integer("threads", threads);
  s.integer("tls_days", tls_days);
  // ops
  s.str("metrics_listen", metrics_listen);
  s.integer("outbox_interval_seconds", outbox_interval_seconds);

  // auth
  s.integer("auth_rate_per_address", auth_rate_per_address);
  s.integer("auth_rate_per_account", auth_rate_per_account);
  s.integer("auth_rate_window_seconds", auth_rate_window_seconds);

  s.str("tls_key", tls_key);
  // i9
  s.integer("keepalive_requests", keepalive_requests);
  s.integer("api_connections", api_connections);
  // robustness
  s.integer("workers", workers);
  s.integer("max_connections", max_connections);

  // web
  s.str("web_root", web_root);
  s.integer("web_idle_minutes", web_idle_minutes);
  s.finish();
}

void ServerConfig::validate() const {
  auto address = [](const std::string& key, const std::string& v) {
    auto colon = v.rfind(':');
    bool ok = colon != std::string::npos && colon > 0 && colon + 1 < v.size() &&
              v.find_first_not_of("0123456789", colon + 1) == std::string::npos && v.size() - colon - 1 <= 5 &&
              std::stoi(v.substr(colon + 1)) <= 65535;
    if (!ok) bad(key, "'" + v + "' is not ADDRESS:PORT");
  };
  address("server.listen", listen);
  address("server.http_listen", http_listen);
  if (server_names.empty()) bad("server.server_names", "must name at least one DNS name or IP address");
  if (header_limit_bytes < 1024 || header_limit_bytes > 65536)
    bad("server.header_limit_bytes", "must be between 1024 and 65536");
  if (body_limit_bytes < 1024 || body_limit_bytes > 64 * 1048576)
    bad("server.body_limit_bytes", "must be between 1024 and 67108864");
  if (timeout_seconds < 1 || timeout_seconds > 3600) bad("server.timeout_seconds", "must be between 1 and 3600");
  if (max_pipelined < 1 || max_pipelined > 10000) bad("server.max_pipelined", "must be between 1 and 10000");
  if (threads < 0 || threads > 256) bad("server.threads", "must be between 0 (one per core) and 256");
  if (tls_days < 1 || tls_days > 398) bad("server.tls_days", "must be between 1 and 398");
  // ops
  if (!metrics_listen.empty()) address("server.metrics_listen", metrics_listen);
  if (outbox_interval_seconds < 0 || outbox_interval_seconds > 86400)
    bad("server.outbox_interval_seconds", "must be between 0 (the server does not deliver) and 86400");

  // auth
  if (auth_rate_per_address < 1 || auth_rate_per_address > 1000000)
    bad("server.auth_rate_per_address", "must be between 1 and 1000000");
  if (auth_rate_per_account < 1 || auth_rate_per_account > 1000000)
    bad("server.auth_rate_per_account", "must be between 1 and 1000000");
  if (auth_rate_window_seconds < 1 || auth_rate_window_seconds > 86400)
    bad("server.auth_rate_window_seconds", "must be between 1 and 86400");

  if (tls_key != "token" && tls_key != "file") bad("server.tls_key", "must be \"token\" or \"file\"");
  // i9
  if (keepalive_requests < 1 || keepalive_requests > 1000000)
    bad("server.keepalive_requests", "must be between 1 and 1000000");
  if (api_connections < 0 || api_connections > 256)
    bad("server.api_connections", "must be between 0 (one per I/O thread) and 256");
  if (workers < 0 || workers > 256) bad("server.workers", "must be between 0 (twice the cores, at least 4) and 256");
  if (max_connections < 0 || max_connections > 1000000)
    bad("server.max_connections", "must be between 0 (from the open-files limit) and 1000000");

  // web
  if (web_idle_minutes < 1 || web_idle_minutes > 1440) bad("server.web_idle_minutes", "must be between 1 and 1440");
}

void EnrollConfig::decode(const json& j) {
  Section s(j, "enroll");
  s.integer("download_pin_minutes", download_pin_minutes);
  s.integer("smime_pin_delay_minutes", smime_pin_delay_minutes);
  s.finish();
}

void EnrollConfig::validate() const {
  if (download_pin_minutes < 5 || download_pin_minutes > 43200)
    bad("enroll.download_pin_minutes", "must be between 5 and 43200 (30 days)");
  if (smime_pin_delay_minutes < 0 || smime_pin_delay_minutes > 1440)
    bad("enroll.smime_pin_delay_minutes", "must be between 0 and 1440");
}

void Config::decode(const json& j) {
  Section top(j, "");
  if (auto* s = top.get("database")) database.decode(*s);
  if (auto* s = top.get("hsm")) hsm.decode(*s);
  if (auto* s = top.get("ca")) ca.decode(*s);
  if (auto* s = top.get("mail")) mail.decode(*s);
  if (auto* s = top.get("ra")) ra.decode(*s);
  if (auto* s = top.get("server")) server.decode(*s);
  if (auto* s = top.get("enroll")) enroll.decode(*s);
  top.finish();
}

void Config::validate() const {
  database.validate();
  hsm.validate();
  ca.validate();
  mail.validate();
  ra.validate();
  server.validate();
  enroll.validate();
}

// ---------------------------------------------------------------- loading

Config parse_config(const std::string& json_text, const std::filesystem::path& home,
                    const std::filesystem::path& base_dir) {
  json root = parse_json(json_text, "config", ErrorKind::config);
  Config c;
  c.home = std::filesystem::absolute(home).lexically_normal();
  c.decode(root);
  c.validate();
  if (!c.ca.profiles_dir.is_absolute()) c.ca.profiles_dir = base_dir / c.ca.profiles_dir;
  c.database.path = c.in_home(c.database.path);
  c.hsm.pin_file = c.in_home(c.hsm.pin_file);
  c.ca.crl.publish_dir = c.in_home(c.ca.crl.publish_dir);
  c.mail.maildir = c.in_home(c.mail.maildir);
  if (!c.mail.ca_file.empty()) c.mail.ca_file = c.in_home(c.mail.ca_file);
  return c;
}

Config load_config(const std::filesystem::path& file, const std::filesystem::path& home) {
  std::string text;
  try {
    text = read_file(file, kMaxConfigFileBytes, "config file");
  } catch (const Error& e) {
    throw Error(ErrorKind::config, std::string("cannot load config: ") + e.what());
  }
  auto base = std::filesystem::absolute(file).parent_path();
  Config c = parse_config(text, home, base);
  c.config_file = std::filesystem::absolute(file);
  return c;
}

}  // namespace jitsuin::config
