#pragma once
// Internals shared by the RA core's .cpp files: audit and state-transition helpers, input checks.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jitsuin/core/text.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/lifecycle.h"

namespace jitsuin::ra {

/// The one place that makes principals (a friend of Principal; private to ra/).
struct PrincipalFactory {
  static Principal make_operator(std::int64_t id, std::string name, Role role) {
    return Principal(PrincipalKind::operator_, id, std::move(name), role, 0);
  }
  static Principal make_account(PrincipalKind kind, std::int64_t id, std::string login_id, std::int64_t company_id) {
    return Principal(kind, id, std::move(login_id), Role::auditor, company_id);
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

/// ASCII lower case, for case-insensitive substring search.
std::string ascii_lower(std::string s);

}  // namespace jitsuin::ra::detail
