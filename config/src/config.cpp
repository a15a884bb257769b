#include "jitsuin/config/config.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "jitsuin/config/error.h"
#include "jitsuin/config/util.h"

namespace jitsuin::config {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& msg) {
  throw Error(ErrorKind::config, "config " + where + ": " + msg);
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
    if (j_.contains(key)) out = s;
  }
  void integer(const char* key, int& out) {
    if (auto* v = get(key)) {
      if (!v->is_number_integer()) bad(path(key), "must be an integer");
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
  std::string path(const std::string& key) const { return where_ + "." + key; }
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

void read_ca_key(Section& parent, const char* key, CaKeyConfig& out) {
  const json* j = parent.get(key);
  if (!j) return;
  Section s(*j, parent.path(key));
  s.str("key", out.key);
  if (auto* n = s.get("subject")) read_name(*n, s.path("subject"), out.subject);
  s.integer("validity_days", out.validity_days);
  s.finish();
  if (!is_known_key_algorithm(out.key))
    bad(s.path("key"), "'" + out.key + "' is not one of rsa2048, rsa3072, rsa4096, p256, p384");
  if (out.validity_days < 1 || out.validity_days > 36500)
    bad(s.path("validity_days"), "must be between 1 and 36500");
}

bool is_url(const std::string& s) { return s.starts_with("http://") || s.starts_with("https://"); }

void validate_url(const std::string& where, const std::string& value) {
  if (!value.empty() && !is_url(value)) bad(where, "'" + value + "' is not an http(s) URL");
}

void validate_oid(const std::string& where, const std::string& oid) {
  bool ok = !oid.empty() && std::isdigit(static_cast<unsigned char>(oid.front())) &&
            std::isdigit(static_cast<unsigned char>(oid.back())) && oid.find("..") == std::string::npos;
  for (char c : oid) ok = ok && (std::isdigit(static_cast<unsigned char>(c)) || c == '.');
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

Config parse_config(const std::string& json_text, const std::filesystem::path& home,
                    const std::filesystem::path& base_dir) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorKind::config, std::string("config is not valid JSON: ") + e.what());
  }
  Config c;
  c.home = std::filesystem::absolute(home).lexically_normal();
  Section top(root, "");
  if (auto* j = top.get("database")) {
    Section s(*j, "database");
    s.str("type", c.database.type);
    s.path_("path", c.database.path);
    s.str("synchronous", c.database.synchronous);
    s.finish();
    if (c.database.type != "sqlite") bad("database.type", "'" + c.database.type + "' is not supported (sqlite)");
    if (c.database.synchronous != "full" && c.database.synchronous != "normal")
      bad("database.synchronous", "must be \"full\" or \"normal\"");
  }
  if (auto* j = top.get("hsm")) {
    Section s(*j, "hsm");
    s.str("type", c.hsm.type);
    s.path_("module", c.hsm.module);
    s.str("token", c.hsm.token);
    s.path_("pin_file", c.hsm.pin_file);
    s.str("pin_env", c.hsm.pin_env);
    s.boolean("embedded_softhsm", c.hsm.embedded_softhsm);
    s.finish();
    if (c.hsm.type != "pkcs11") bad("hsm.type", "'" + c.hsm.type + "' is not supported (pkcs11)");
    if (!c.hsm.token.starts_with("pkcs11:")) bad("hsm.token", "must be a PKCS#11 URI (pkcs11:token=...)");
  }
  if (auto* j = top.get("ca")) {
    Section s(*j, "ca");
    read_ca_key(s, "root", c.ca.root);
    read_ca_key(s, "issuing", c.ca.issuing);
    s.path_("profiles_dir", c.ca.profiles_dir);
    s.str("aia_ca_issuers", c.ca.aia_ca_issuers);
    s.str("root_aia_ca_issuers", c.ca.root_aia_ca_issuers);
    if (auto* crl = s.get("crl")) {
      Section cs(*crl, "ca.crl");
      cs.path_("publish_dir", c.ca.crl.publish_dir);
      cs.integer("validity_hours", c.ca.crl.validity_hours);
      cs.str("distribution_point", c.ca.crl.distribution_point);
      cs.str("root_distribution_point", c.ca.crl.root_distribution_point);
      cs.finish();
      if (c.ca.crl.validity_hours < 1 || c.ca.crl.validity_hours > 24 * 31)
        bad("ca.crl.validity_hours", "must be between 1 and 744");
      validate_url("ca.crl.distribution_point", c.ca.crl.distribution_point);
      validate_url("ca.crl.root_distribution_point", c.ca.crl.root_distribution_point);
    }
    if (auto* pol = s.get("policies")) {
      if (!pol->is_array()) bad("ca.policies", "must be an array");
      for (std::size_t i = 0; i < pol->size(); ++i) {
        std::string where = "ca.policies[" + std::to_string(i) + "]";
        Section ps((*pol)[i], where);
        PolicyConfig p;
        ps.str("oid", p.oid);
        ps.str("cps", p.cps);
        ps.finish();
        validate_oid(where + ".oid", p.oid);
        validate_url(where + ".cps", p.cps);
        c.ca.policies.push_back(p);
      }
    }
    s.finish();
    validate_url("ca.aia_ca_issuers", c.ca.aia_ca_issuers);
    validate_url("ca.root_aia_ca_issuers", c.ca.root_aia_ca_issuers);
  }
  top.finish();
  if (!c.ca.profiles_dir.is_absolute()) c.ca.profiles_dir = base_dir / c.ca.profiles_dir;
  c.database.path = c.in_home(c.database.path);
  c.hsm.pin_file = c.in_home(c.hsm.pin_file);
  c.ca.crl.publish_dir = c.in_home(c.ca.crl.publish_dir);
  return c;
}

Config load_config(const std::filesystem::path& file, const std::filesystem::path& home) {
  std::string text;
  try {
    text = read_file(file);
  } catch (const Error& e) {
    throw Error(ErrorKind::config, std::string("cannot load config: ") + e.what());
  }
  auto base = std::filesystem::absolute(file).parent_path();
  Config c = parse_config(text, home, base);
  c.config_file = std::filesystem::absolute(file);
  return c;
}

}  // namespace jitsuin::config
