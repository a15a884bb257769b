#pragma once
// A company admin's (企業ID) sessions over the API (RA-8, RA-9): the company admin logs in with the
// company ID and its password (login_account(): same lockout and audit) and gets a session token
// that it sends as a bearer token to the company.* handlers. As for operator sessions (operators.h)
// the client keeps the token and the database only its SHA-256; a session lasts
// config.ra.session_hours from login (the same absolute expiry), ends at logout, and stops working
// as soon as the company ID is locked or disabled. User IDs (ユーザID) get no session here.
#include <optional>
#include <string>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

/// login_account() of a company ID and, on success, a session started in the same transaction,
/// with one audit entry "ra.account.login" naming the session. password_change_required: the ID's
/// mailed initial password is still in force, and the session allows only the password change. Wrong passwords, unknown, locked or
/// disabled IDs: no principal and the same message as login_account() (the failure counted and
/// audited there). A user ID with its right password: no principal either ("company IDs only"),
/// and nothing changes.
LoginResult login_company_session(RaContext& ctx, const std::string& login_id, const std::string& password);

/// The company admin of a live company session. Throws unauthenticated when the token is unknown,
/// ended or expired, or the company ID is locked or disabled; forbidden ("password change
/// required", password_change_required()) while the ID's mailed initial password is in force.
Principal resume_company_session(RaContext& ctx, const std::string& token);

/// The principal of a live session of either kind: an operator (resume_session with `use`) or a
/// company admin (resume_company_session). Throws as those do. With SessionUse::password_change a
/// company ID whose mailed initial password is in force gives a password_change_only() principal
/// (company.whoami, company.passwd); SessionUse::any refuses it: the one place this rule lives.
Principal resume_any_session(RaContext& ctx, const std::string& token, SessionUse use = SessionUse::any);

/// True when `token` names a company session (live or not).
bool is_company_session(RaContext& ctx, const std::string& token);

/// Ends a company session (logout), audited as ra.account.logout. Unknown or ended tokens are ignored.
void end_company_session(RaContext& ctx, const std::string& token);

/// Log out everywhere (issue 11): ends every live session of the company admin `who` (kind
/// company_admin; anyone else: forbidden). One transaction, audited as ra.account.logout_all.
/// Returns how many sessions ended.
int end_all_company_sessions(RaContext& ctx, const Principal& who);

/// Who a session token belongs to, for an access log: the operator's name or the company ID, also
/// for an ended or expired session; nullopt for a token that names no session. Reads only.
std::optional<std::string> session_holder(RaContext& ctx, const std::string& token);

}  // namespace jitsuin::ra
