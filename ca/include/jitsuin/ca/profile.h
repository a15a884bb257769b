#pragma once
// Certificate profiles as data (config/profiles/NAME.json). A profile says which subject fields
// an approved application supplies, the validity allowed, and the extensions of the certificate.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "jitsuin/config/config.h"

namespace jitsuin::ca {

/// No certificate is valid for longer than this, whatever a profile allows (100 years).
inline constexpr std::int64_t kMaxValidityDays = 36525;

struct Profile {
  std::string name;
  std::string description;
  std::vector<std::string> required_fields;   ///< subject fields that must be given
  std::vector<std::string> optional_fields;   ///< subject fields that may be given
  std::string country;                         ///< fixed C= value, empty for none
  bool romaji = false;                         ///< RA-8 romaji character and length rules apply
  int default_days = 365;
  std::vector<int> allowed_days;               ///< when non-empty, validity must be one of these
  int max_days = 0;                            ///< when non-zero, validity must not exceed this
  std::vector<std::string> key_usage;          ///< names as in RFC 5280 (digitalSignature, ...)
  std::vector<std::string> key_usage_rsa;      ///< added for RSA subject keys
  std::vector<std::string> key_usage_ec;       ///< added for EC subject keys
  std::vector<std::string> extended_key_usage; ///< emailProtection, timeStamping, OCSPSigning, ...
  bool extended_key_usage_critical = false;
  bool email_in_san = false;                   ///< the email field goes into subjectAltName rfc822Name
  /// The request's server_names (DNS names, IP addresses) go into subjectAltName; at least one.
  bool server_names_in_san = false;
  bool ocsp_no_check = false;                  ///< id-pkix-ocsp-nocheck (OCSP responder certificates)
  /// enroll: the subject key algorithms an applicant may enroll with this profile ("p256", "p384",
  /// "rsa2048", "rsa3072", "rsa4096"), in the order offered; empty: any the CSR policy accepts.
  std::vector<std::string> key_algorithms;

  /// Checks subject fields against this profile; throws invalid_input naming the field and rule.
  void validate_subject(const config::NameFields& subject) const;
  /// The validity in days for a request (default when none); throws invalid_input if not allowed.
  /// Any whole number is judged as given (never narrowed first), at most kMaxValidityDays.
  int validity_days(std::optional<std::int64_t> requested) const;
  /// The keyUsage a certificate of this profile gets for a subject key algorithm ("p256",
  /// "rsa2048", ...): key_usage plus key_usage_rsa or key_usage_ec.
  std::vector<std::string> key_usage_for(const std::string& key_algorithm) const;
};

/// Loads config/profiles/NAME.json; throws not_found for an unknown profile, config for a bad file.
Profile load_profile(const std::filesystem::path& dir, const std::string& name);

/// Names of every profile in dir.
std::vector<std::string> list_profiles(const std::filesystem::path& dir);

/// Every profile of a folder, loaded and checked together, once: the CA loads its set when it
/// is constructed, so a broken profile stops start-up instead of the first issuance with it.
class ProfileSet {
 public:
  ProfileSet() = default;
  /// The profile called name; throws not_found naming the known profiles.
  const Profile& get(const std::string& name) const;
  /// Names of the profiles, sorted.
  std::vector<std::string> names() const;
  std::size_t size() const { return profiles_.size(); }

 private:
  friend ProfileSet load_profiles(const std::filesystem::path& dir);
  std::map<std::string, Profile> profiles_;
};

/// Loads and checks every *.json in dir. Throws Error(config) naming the file of the first bad
/// profile (unreadable, not JSON, a rule broken, or a file name that is not a profile name),
/// and when dir is not a folder.
ProfileSet load_profiles(const std::filesystem::path& dir);

/// RA-8 romaji rule for one value: half-width letters, digits, space, hyphen and dot only.
bool is_romaji(const std::string& value);

}  // namespace jitsuin::ca
