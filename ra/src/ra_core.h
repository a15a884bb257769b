#pragma once
// Internals shared by the RA core's .cpp files: audit and state-transition helpers, input checks.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jitsuin/ca/profile.h"
#include "jitsuin/core/text.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/cert_request.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/links.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/renewal.h"
#include "jitsuin/ra/revocation.h"

namespace jitsuin::ra {

/// The one place that makes principals (a friend of Principal; private to ra/).
struct PrincipalFactory {
  static Principal make_operator(std::int64_t id, std::string name, Role role, bool password_change_only = false,
                                 std::int64_t session_id = 0, bool via_key = false) {
    Principal p(PrincipalKind::operator_, id, std::move(name), role, 0, password_change_only);
    p.session_id_ = session_id;
    p.via_key_ = via_key;
    return p;
  }
  static Principal make_account(PrincipalKind kind, std::int64_t id, std::string login_id, std::int64_t company_id,
                                bool password_change_only = false, std::int64_t session_id = 0) {
    Principal p(kind, id, std::move(login_id), Role::auditor, company_id, password_change_only);
    p.session_id_ = session_id;
    return p;
  }
};

}  // namespace jitsuin::ra

namespace jitsuin::ra::detail {

/// Appends an audit entry at ctx.clock() (inside the caller's transaction).
void audit(RaContext& ctx, const std::string& actor, const std::string& action, const std::string& object,
           const nlohmann::json& details);

/// The current state of an application; throws not_found.
State current_state(RaContext& ctx, std::int64_t application_id);

/// Whether transition() writes the audit entry of the change itself or leaves it to its caller,
/// who writes one entry for a request that moves several applications (approve_bundle).
enum class TransitionAudit { entry, caller };

/// Moves an application to `to` if the state machine allows it, else throws conflict naming the
/// current state and the allowed next states. Records the event and (TransitionAudit::entry) an
/// audit entry "ra.application.<to>" with `details`, from and to. Must run inside the caller's
/// transaction. Returns the previous state.
State transition(RaContext& ctx, std::int64_t application_id, State to, const std::string& actor,
                 const std::string& note, nlohmann::json details = nlohmann::json::object(),
                 TransitionAudit audit = TransitionAudit::entry);

/// Records the creation event of an application (no previous state).
void record_created(RaContext& ctx, std::int64_t application_id, const std::string& actor);

/// Checks free text from a form: valid UTF-8, no control characters, not longer than max_chars
/// code points; trims surrounding spaces. Empty is refused when required. Throws invalid_input.
std::string text_field(const std::string& value, const std::string& field, std::size_t max_chars, bool required);

/// Inserts a validated Form 5 in state received, with its creation event and (TransitionAudit::entry)
/// its audit entry "ra.application.create" (inside the caller's transaction). Returns its id.
/// `audit_details` are added to the audit entry's details (e.g. who asked, for a company admin's
/// request), so the creation stays one entry. With TransitionAudit::caller the caller writes the one
/// entry of its request (a bundle of several applications).
std::int64_t insert_application(RaContext& ctx, const std::string& actor, std::int64_t bundle_id,
                                const ApplicantInput& form, std::optional<std::int64_t> renewal_of,
                                const nlohmann::json& audit_details = nlohmann::json::object(),
                                TransitionAudit audit = TransitionAudit::entry);

/// The account of a company admin principal, read again (inside the caller's transaction): it may
/// have been disabled or locked since it logged in. Throws forbidden when the principal is not a
/// company admin, or its company ID is no longer that account, or is disabled or locked.
Account live_company_admin(RaContext& ctx, const Principal& who);

/// A user ID of the company, enabled; throws forbidden (another company), invalid_input (a company
/// ID) or conflict (disabled).
Account company_user(RaContext& ctx, std::int64_t company_id, const std::string& login_id);

/// Stores a link of `serial` to `user` and queues the link_changed mails (company admins and the
/// user), inside the caller's transaction, without an audit entry (the caller writes it). Returns
/// the link's id; throws conflict when the link exists.
std::int64_t link_certificate(RaContext& ctx, const std::string& linked_by, std::int64_t company_id,
                              const Account& user, const std::string& serial);

/// For an application filed by a company admin (cert_request.h): links its newly issued
/// certificate to the requested user ID, inside the issuing transaction. Returns what to add to
/// the issuance's audit details (empty for other applications).
nlohmann::json link_requested_certificate(RaContext& ctx, std::int64_t application_id, const std::string& serial);

/// Throws conflict when `bundle_id` holds a company admin's additional certificate request, which
/// has no paper forms: `what` names the refused operation.
void require_paper_bundle(RaContext& ctx, std::int64_t bundle_id, const std::string& what);

/// The certificate subject of a Form 5 under `profile`: applicant_subject() plus the e-mail
/// address when the profile names one (S/MIME, seed 004).
config::NameFields profile_subject(const ca::Profile& profile, const ApplicantInput& a);

// The application PIN (pin.cpp), for the applicant's enrollment steps (enrollment.cpp).

/// The slow half of a PIN check, before any write lock: the stored hash and whether the typed PIN
/// matches it (scrypt, ~0.1 s).
struct PinMatch {
  std::optional<std::string> hash;
  bool match = false;
};
PinMatch match_pin(RaContext& ctx, std::int64_t application_id, std::string_view typed);

/// An applicant's PIN check (enroll.status, enroll.start), inside the caller's transaction: a
/// locked PIN is refused untried; a wrong one counts (locking at ra.pin_max_attempts); a number
/// without a PIN in force answers like a wrong PIN (counted in ra_unknown_attempts, attempts.h). Accepted also
/// when spent or expired or in any state: the caller decides with `state`, `expires_at`, `spent`.
/// Writes audit entries for refusals only.
struct ApplicantPin {
  PinStatus status = PinStatus::wrong;
  int remaining = 0;
  State state = State::received;
  std::optional<UnixTime> expires_at;
  bool spent = false;
};
ApplicantPin check_applicant_pin(RaContext& ctx, std::int64_t application_id, const PinMatch& checked,
                                 const std::string& actor);

/// notice_mailed → enrolled inside the caller's transaction: stores the CSR, spends the PIN (its
/// hash kept for status checks) and writes the transition's one audit entry with `details`.
void record_enrollment(RaContext& ctx, std::int64_t application_id, const std::string& csr_pem,
                       const std::string& actor, nlohmann::json details = nlohmann::json::object());

/// ASCII lower case, for case-insensitive substring search.
std::string ascii_lower(std::string s);

/// Read permission of a person (RA-3, RA-8): an RA operator whose role can read. Throws forbidden
/// naming `what` for anyone else (company and user IDs included).
void require_read(const Principal& by, const std::string& what);

/// Read permission on one company's data (RA-8): an RA operator who can read, or the company admin
/// (企業ID) of `company_id`. User IDs, and company admins of another company (or of none, when
/// `company_id` is empty: every company), get forbidden.
void require_company_read(const Principal& by, std::optional<std::int64_t> company_id, const std::string& what);

// The unchecked reads behind the public, permission-checked functions of the same name (see their
// public headers for what they return). For ra/'s own use after the caller's permission has been
// checked, and for work no person asks for (issuance, expiry notices, held-mail expiry).
std::vector<Account> list_accounts(RaContext& ctx, std::optional<std::int64_t> company_id);
Account get_account(RaContext& ctx, const std::string& login_id);
Application get_application(RaContext& ctx, std::int64_t id);
std::vector<Application> find_applications(RaContext& ctx, const ApplicationFilter& filter);
Bundle get_bundle(RaContext& ctx, std::int64_t bundle_id);
std::vector<Bundle> find_bundles(RaContext& ctx, const std::string& company, int limit);
std::optional<CertificateRequest> find_certificate_request(RaContext& ctx, std::int64_t application_id);
std::vector<Mailing> list_mailings(RaContext& ctx, std::optional<std::int64_t> application_id);
std::optional<Mailing> find_mailing(RaContext& ctx, const std::string& tracking);
std::vector<Document> list_documents(RaContext& ctx, std::int64_t bundle_id);
std::vector<Deficiency> last_check_reasons(RaContext& ctx, std::int64_t bundle_id);
// Whether the application was made with an S/MIME coupon (smime_coupon.h): no postal address.
bool coupon_application(RaContext& ctx, std::int64_t id);
// For a re-issue made with an S/MIME coupon: the end of the certificate the coupon bought (its
// first use + the product's validity), which no re-issued certificate may pass (issue 20, item 12).
std::optional<UnixTime> coupon_reissue_end(RaContext& ctx, std::int64_t id);
std::vector<StateEvent> application_history(RaContext& ctx, std::int64_t application_id);
std::vector<CertificateLink> list_links(RaContext& ctx, std::int64_t company_id, bool with_history = false);
std::vector<CompanyCertificate> company_certificates(RaContext& ctx, std::int64_t company_id);
RenewalEligibility renewal_eligibility(RaContext& ctx, std::int64_t application_id);
RevocationRequest get_revocation(RaContext& ctx, std::int64_t id);

}  // namespace jitsuin::ra::detail
