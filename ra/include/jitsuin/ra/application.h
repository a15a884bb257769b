#pragma once
// RA-1 Form 5 (電子証明書発行申請書): one certificate application per individual, and the steps of
// its life cycle that are decisions of the RA (approve, reject, withdraw).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/config/config.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

/// What the applicant wrote on Form 5.
struct ApplicantInput {
  std::string name_kanji;           ///< 氏名 (kanji)
  std::string name_kana;            ///< フリガナ (katakana or hiragana)
  std::string name_romaji;          ///< certificate CN
  std::string organization_romaji;  ///< certificate O: company name without its legal form, <= 40
  std::string department_romaji;    ///< certificate OU (optional); with title <= 60
  std::string title_romaji;         ///< certificate title (optional)
  std::string email;                ///< where the download PIN is mailed
  std::string postcode;             ///< NNN-NNNN, of the home address
  std::string home_address;         ///< address on the residence record: restricted delivery goes here
  int validity_years = 1;           ///< 1 or 2
  std::string profile = "individual-signing";
};

/// Changes to a Form 5: each field given replaces the stored one (an edit while the application is
/// being checked, the changes a renewal makes to the earlier form). Decoded from JSON by jitsuin_api.
struct ApplicantChanges {
  std::optional<std::string> name_kanji, name_kana, name_romaji, organization_romaji, department_romaji,
      title_romaji, email, postcode, home_address, profile;
  std::optional<int> validity_years;

  bool empty() const;
  /// `form` with the given fields replaced. `changed`, when given, receives the names of the fields
  /// whose value differs from `form`'s, in alphabetical order.
  ApplicantInput apply(ApplicantInput form, std::vector<std::string>* changed = nullptr) const;
};

/// Checks a Form 5 against the RA rules and the certificate profile (romaji characters and lengths
/// of RA-8, validity allowed). Throws invalid_input naming the field.
void validate_applicant(RaContext& ctx, const ApplicantInput& a);

/// The certificate subject an application asks for.
config::NameFields applicant_subject(const ApplicantInput& a);

/// An application as stored.
struct Application {
  std::int64_t id = 0;
  std::int64_t bundle_id = 0;
  std::int64_t company_id = 0;
  std::string company_name;
  State state = State::received;
  ApplicantInput form;
  std::optional<std::int64_t> renewal_of;
  std::string created_by;
  UnixTime created_at = 0, updated_at = 0;
  std::optional<std::string> checked_by, approved_by, pin_issued_by;
  std::optional<UnixTime> approved_at, pin_issued_at, pin_expires_at, pin_locked_at, issued_at;
  int pin_failures = 0;
  std::optional<std::string> pin_reissue_requested_by;
  std::optional<std::string> certificate_serial;

};

/// Loads one application; throws not_found.
Application get_application(RaContext& ctx, const Principal& by, std::int64_t id);

/// Search criteria; empty fields match everything. Text matches are substrings, case-insensitive
/// for ASCII.
struct ApplicationFilter {
  std::optional<std::int64_t> bundle_id;
  std::optional<std::int64_t> company_id;
  std::string company;     ///< company name, kana or romaji
  std::string applicant;   ///< applicant name in kanji, kana or romaji
  std::optional<State> state;
  int limit = 1000;
};
std::vector<Application> find_applications(RaContext& ctx, const Principal& by, const ApplicationFilter& filter);

/// Adds a Form 5 to a bundle that is still being checked. Returns the new application's id.
std::int64_t add_application(RaContext& ctx, const Principal& by, std::int64_t bundle_id, const ApplicantInput& form);

/// Changes Form-5 fields while the application is received, incomplete or resubmitted; after the
/// check the data is frozen. Refuses empty changes. Audited with the changed field names.
Application edit_application(RaContext& ctx, const Principal& by, std::int64_t id, const ApplicantChanges& changes);

/// checked → approved. Needs Permission::approve and a different person from whoever entered or
/// checked the application (two-person rule).
void approve_application(RaContext& ctx, const Principal& by, std::int64_t id);

/// Approves every checked application of a bundle in one transaction (ra approve --bundle): all
/// of them or, when one is refused (two-person rule), none. One audit entry "ra.bundle.approve"
/// naming the applications; each application's transition is in its history. Throws conflict when
/// the bundle has no checked application. Returns the approved ids, ascending.
std::vector<std::int64_t> approve_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id);

/// → rejected, with a reason for the company.
void reject_application(RaContext& ctx, const Principal& by, std::int64_t id, const std::string& reason);

/// → withdrawn (the company cancels), with a note.
void withdraw_application(RaContext& ctx, const Principal& by, std::int64_t id, const std::string& note);

}  // namespace jitsuin::ra
