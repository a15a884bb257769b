#include "jitsuin/ca/profile.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "jitsuin/core/error.h"
#include "jitsuin/core/json.h"
#include "jitsuin/core/text.h"
#include "jitsuin/core/util.h"

namespace jitsuin::ca {

namespace {

using nlohmann::json;

const std::set<std::string> kFields{"organization", "department", "title", "common_name", "email"};
const std::set<std::string> kKeyUsages{"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
                                       "keyAgreement"};
const std::set<std::string> kExtendedKeyUsages{"serverAuth", "clientAuth", "codeSigning", "emailProtection",
                                               "timeStamping", "OCSPSigning"};

// X.520 upper bounds.
constexpr std::size_t kMaxCommonName = 64;
constexpr std::size_t kMaxOrganization = 64;
// RA-8: company name in romaji at most 40 characters; department + title together at most 60.
constexpr std::size_t kMaxRomajiCompany = 40;
constexpr std::size_t kMaxRomajiDepartmentTitle = 60;

// Legal-form words that RA-8 says not to enter ("株式会社等、企業形態の入力は不要です").
const char* const kLegalForms[] = {"co ltd", "co. ltd", "co. ltd.", "co.ltd", "co.ltd.", "ltd", "ltd.",
                                   "k.k.", "k.k", "kk", "kabushiki kaisha", "kabushiki gaisha",
                                   "kabushikikaisha", "kabushikigaisha", "inc", "inc.", "yugen kaisha",
                                   "godo kaisha", "g.k.", "llc"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool has_legal_form(const std::string& org) {
  std::string o = lower(org);
  for (const char* form : kLegalForms) {
    std::string f = form;
    if (o == f) return true;
    if (o.size() > f.size() && o.ends_with(f) && o[o.size() - f.size() - 1] == ' ') return true;
    if (o.size() > f.size() && o.starts_with(f) && o[f.size()] == ' ') return true;
  }
  return false;
}

std::vector<std::string> strings(const json& j, const std::string& where, const std::set<std::string>& allowed) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array()) throw Error(ErrorKind::config, where + " must be an array");
  for (const auto& v : j) {
    if (!v.is_string()) throw Error(ErrorKind::config, where + " must hold strings");
    auto s = v.get<std::string>();
    if (!allowed.empty() && !allowed.count(s)) throw Error(ErrorKind::config, where + ": unknown value '" + s + "'");
    out.push_back(s);
  }
  return out;
}

}  // namespace

bool is_romaji(const std::string& value) {
  if (value.empty()) return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' || c == '-' ||
           c == '.';
  });
}

void Profile::validate_subject(const config::NameFields& subject) const {
  for (const auto& [k, v] : subject) {
    bool known = std::count(required_fields.begin(), required_fields.end(), k) ||
                 std::count(optional_fields.begin(), optional_fields.end(), k);
    if (!known) {
      if (k == "country")
        throw Error(ErrorKind::invalid_input, "subject field 'country' is set by profile " + name + ", not by the request");
      throw Error(ErrorKind::invalid_input, "subject field '" + k + "' is not used by profile " + name);
    }
    JITSUIN_ARG_CHECK(!v.empty(), "subject field '" + k + "' is empty");
    JITSUIN_ARG_CHECK(v.front() != ' ' && v.back() != ' ', "subject field '" + k + "' has leading or trailing spaces");
    for (unsigned char c : v) JITSUIN_ARG_CHECK(c >= 0x20 && c != 0x7f, "subject field '" + k + "' has control characters");
  }
  for (const auto& f : required_fields)
    JITSUIN_ARG_CHECK(subject.count(f), "subject field '" + f + "' is required by profile " + name);
  auto get = [&](const char* k) -> std::string {
    auto it = subject.find(k);
    return it == subject.end() ? std::string() : it->second;
  };
  if (romaji) {
    for (const auto& [k, v] : subject) {
      if (k == "email") continue;
      JITSUIN_ARG_CHECK(is_romaji(v), "subject field '" + k + "' must be romaji: half-width letters, digits, space, "
                                      "hyphen and dot only (got '" + v + "')");
    }
    JITSUIN_ARG_CHECK(get("organization").size() <= kMaxRomajiCompany,
                      "organization (company name) in romaji must be at most 40 characters");
    JITSUIN_ARG_CHECK(!has_legal_form(get("organization")),
                      "organization must not include the company form (Co., Ltd., K.K., Kabushiki Kaisha ...)");
    JITSUIN_ARG_CHECK(get("department").size() + get("title").size() <= kMaxRomajiDepartmentTitle,
                      "department and title together must be at most 60 characters");
  }
  JITSUIN_ARG_CHECK(get("common_name").size() <= kMaxCommonName, "common_name must be at most 64 characters");
  JITSUIN_ARG_CHECK(get("organization").size() <= kMaxOrganization, "organization must be at most 64 characters");
  JITSUIN_ARG_CHECK(get("department").size() <= kMaxOrganization, "department must be at most 64 characters");
  JITSUIN_ARG_CHECK(get("title").size() <= kMaxOrganization, "title must be at most 64 characters");
  if (auto e = get("email"); !e.empty()) {
    JITSUIN_ARG_CHECK(is_valid_email(e), "email '" + e + "' is not a valid address");
  }
}

std::vector<std::string> Profile::key_usage_for(const std::string& key_algorithm) const {
  std::vector<std::string> out = key_usage;
  const auto& more = key_algorithm.starts_with("rsa") ? key_usage_rsa : key_usage_ec;
  for (const auto& u : more)
    if (std::find(out.begin(), out.end(), u) == out.end()) out.push_back(u);
  return out;
}

int Profile::validity_days(std::optional<std::int64_t> requested) const {
  std::int64_t days = requested.value_or(default_days);
  JITSUIN_ARG_CHECK(days >= 1, "validity must be at least 1 day");
  if (!allowed_days.empty() && !std::count(allowed_days.begin(), allowed_days.end(), days)) {
    std::string list;
    for (int d : allowed_days) list += (list.empty() ? "" : ", ") + std::to_string(d);
    throw Error(ErrorKind::invalid_input, "profile " + name + " allows validity of " + list + " days, not " +
                                              std::to_string(days));
  }
  if (max_days && days > max_days)
    throw Error(ErrorKind::invalid_input, "profile " + name + " allows at most " + std::to_string(max_days) +
                                              " days, not " + std::to_string(days));
  if (days > kMaxValidityDays)
    throw Error(ErrorKind::invalid_input, "validity of " + std::to_string(days) + " days is more than " +
                                              std::to_string(kMaxValidityDays) + " days (100 years)");
  return static_cast<int>(days);
}

std::vector<std::string> list_profiles(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

bool is_profile_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// where: the object's key, empty for the whole profile.
void refuse_unknown_keys(const json& j, const std::string& where, const std::set<std::string>& keys) {
  if (!j.is_object()) throw Error(ErrorKind::config, (where.empty() ? "the profile" : where) + " must be an object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!keys.count(it.key()))
      throw Error(ErrorKind::config, (where.empty() ? "" : where + ": ") + "unknown key '" + it.key() + "'");
}

Profile decode_profile(const json& j, const std::string& name) {
  refuse_unknown_keys(j, "", {"description", "subject", "validity", "key_usage", "key_usage_rsa", "key_usage_ec",
                                     "extended_key_usage", "extended_key_usage_critical", "email_in_san",
                                     "server_names_in_san", "ocsp_no_check", "key_algorithms"});
  Profile p;
  p.name = name;
  p.description = j.value("description", "");
  const json& s = j.at("subject");
  refuse_unknown_keys(s, "subject", {"required", "optional", "country", "romaji"});
  p.required_fields = strings(s.value("required", json::array()), "subject.required", kFields);
  p.optional_fields = strings(s.value("optional", json::array()), "subject.optional", kFields);
  p.country = s.value("country", "");
  p.romaji = s.value("romaji", false);
  const json& v = j.at("validity");
  refuse_unknown_keys(v, "validity", {"default_days", "allowed_days", "max_days"});
  p.default_days = v.value("default_days", 365);
  if (v.contains("allowed_days")) p.allowed_days = v.at("allowed_days").get<std::vector<int>>();
  p.max_days = v.value("max_days", 0);
  p.key_usage = strings(j.value("key_usage", json::array()), "key_usage", kKeyUsages);
  p.key_usage_rsa = strings(j.value("key_usage_rsa", json::array()), "key_usage_rsa", kKeyUsages);
  p.key_usage_ec = strings(j.value("key_usage_ec", json::array()), "key_usage_ec", kKeyUsages);
  p.extended_key_usage = strings(j.value("extended_key_usage", json::array()), "extended_key_usage", kExtendedKeyUsages);
  p.extended_key_usage_critical = j.value("extended_key_usage_critical", false);
  p.email_in_san = j.value("email_in_san", false);
  p.server_names_in_san = j.value("server_names_in_san", false);
  p.ocsp_no_check = j.value("ocsp_no_check", false);
  p.key_algorithms = strings(j.value("key_algorithms", json::array()), "key_algorithms",
                             {"p256", "p384", "rsa2048", "rsa3072", "rsa4096"});
  if (std::find(p.required_fields.begin(), p.required_fields.end(), "common_name") == p.required_fields.end())
    throw Error(ErrorKind::config, "common_name must be required");
  if (p.key_usage.empty()) throw Error(ErrorKind::config, "key_usage must not be empty");
  if (p.email_in_san && std::count(p.required_fields.begin(), p.required_fields.end(), "email") == 0)
    throw Error(ErrorKind::config, "email_in_san needs email among the required fields");
  p.validity_days(std::nullopt);  // the default must itself be allowed
  return p;
}

// Reads, decodes and checks the profile in file `path`, called `name`. Every failure is a config
// error naming the file.
Profile parse_profile(const std::filesystem::path& path, const std::string& name) {
  std::string text;
  try {
    text = read_file(path, kMaxProfileFileBytes, "profile");
  } catch (const Error& e) {
    throw Error(ErrorKind::config, e.what());
  }
  json j = parse_json(text, "profile " + path.string(), ErrorKind::config);
  try {
    return decode_profile(j, name);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::config, "profile " + path.string() + ": " + e.what());
  } catch (const Error& e) {
    throw Error(ErrorKind::config, "profile " + path.string() + ": " + e.what());
  }
}

}  // namespace

Profile load_profile(const std::filesystem::path& dir, const std::string& name) {
  auto path = dir / (name + ".json");
  if (!is_profile_name(name) || !std::filesystem::exists(path)) {
    std::string known;
    for (const auto& n : list_profiles(dir)) known += (known.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::not_found, "unknown profile '" + name + "' (known: " + known + ")");
  }
  return parse_profile(path, name);
}

const Profile& ProfileSet::get(const std::string& name) const {
  auto it = profiles_.find(name);
  if (it == profiles_.end()) {
    std::string known;
    for (const auto& [n, p] : profiles_) known += (known.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::not_found, "unknown profile '" + name + "' (known: " + known + ")");
  }
  return it->second;
}

std::vector<std::string> ProfileSet::names() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : profiles_) out.push_back(name);
  return out;
}

ProfileSet load_profiles(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir))
    throw Error(ErrorKind::config, "profiles folder " + dir.string() + " (ca.profiles_dir) does not exist");
  ProfileSet set;
  for (const auto& name : list_profiles(dir)) {
    auto path = dir / (name + ".json");
    // Named as the file, so the message points at what to fix whichever check failed.
    if (!is_profile_name(name))
      throw Error(ErrorKind::config, "profile " + path.string() +
                                         ": the file name must be lowercase letters, digits and hyphens");
    set.profiles_.emplace(name, parse_profile(path, name));
  }
  return set;
}

}  // namespace jitsuin::ca
