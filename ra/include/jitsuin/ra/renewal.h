#pragma once
// RA-7 renewal: expiry notices before the end of validity (config.ra.expiry_notice_days, e.g. 60
// and 30 days, each sent once per certificate by a cron job), renewal applications that re-use the
// earlier Form-5 data, and the rule of who may renew: certificates whose expiry notice was sent, or
// that expired less than one year ago (never revoked ones: a new person needs a new application).
// When the renewal's certificate is issued, the replaced one is revoked as superseded
// (see issuance.h). No refund for unused validity.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ra/application.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

struct ExpiryNotice {
  std::int64_t application_id = 0;
  std::string serial;
  std::string email;
  int days_before = 0;   ///< the configured offset this notice is for
  UnixTime not_after = 0;
};

/// Cron: mails expiry_notice (to the holder's Form-5 address and the company's admins) for every
/// issued, unrevoked certificate that has entered a notice
/// window and has not had that window's notice. Only the nearest window counts, so a job that
/// first runs 20 days before expiry sends the 30-day notice, not the 60-day one too. One
/// transaction and one audit entry per notice; running it twice sends nothing twice.
std::vector<ExpiryNotice> send_expiry_notices(RaContext& ctx, const std::string& actor);

/// Why an issued application may (or may not) be renewed now.
struct RenewalEligibility {
  bool eligible = false;
  std::string reason;
};
RenewalEligibility renewal_eligibility(RaContext& ctx, const Principal& by, std::int64_t application_id);

/// Creates a renewal application in `bundle_id` (a bundle of the same company, still being
/// checked) with the Form-5 data of the earlier application, `changes` applied. Refused unless
/// renewal_eligibility() holds. `changes` may touch department, title, e-mail, validity, profile
/// and organisation, never the person (names, kana, romaji name, postcode, home address):
/// invalid_input naming the fields. Returns the new id.
std::int64_t create_renewal(RaContext& ctx, const Principal& by, std::int64_t from_application_id,
                            std::int64_t bundle_id, const ApplicantChanges& changes = {});

// webra (issue 11): the RA console's list of certificates coming up for renewal.

/// One issued, unrevoked certificate whose end of validity is near (or passed less than a year ago).
struct ExpiringCertificate {
  std::int64_t application_id = 0;
  std::int64_t bundle_id = 0;
  std::int64_t company_id = 0;
  std::string company_name;
  std::string name_kanji, name_kana, name_romaji, email;
  std::string serial;
  UnixTime not_after = 0;
  struct Notice {
    int days_before = 0;
    UnixTime sent_at = 0;
  };
  std::vector<Notice> notices;               ///< expiry notices sent, oldest first
  RenewalEligibility eligibility;            ///< whether ra.renewal.create would take it now, and why
  std::optional<std::int64_t> renewal_id;    ///< a renewal application already under way
};

/// The certificates of issued applications that end within `within_days` days from now or ended
/// less than a year ago, not revoked, soonest end first. Needs read permission.
std::vector<ExpiringCertificate> list_expiring(RaContext& ctx, const Principal& by, int within_days);

}  // namespace jitsuin::ra
