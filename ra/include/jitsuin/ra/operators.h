#pragma once
// RA operators (RA-3): accounts with a role, passwords stored as scrypt hashes, a lockout after
// too many wrong passwords (persisted, so it survives restarts), and login sessions whose token is
// held by the client and stored here only as a SHA-256.
//
// Roles:
//   operator       enters applications and documents, runs checks, issues PINs, records mail
//   approver       what an operator does, plus approvals (two-person rule: never their own entries)
//   auditor        read-only
//   administrator  everything, plus operator accounts
//
// Controls one person cannot get around (issue 8): an approver or administrator account made by an
// administrator is pending until a second administrator approves it (approve_operator; never its
// creator), or, while there is only one active administrator, until someone proves custody of the
// CA (approve_operator_by_custody). A password set by someone else is temporary: the holder's
// sessions allow nothing but the password change until they set their own. An administrator
// locked out (or who forgot the password) comes back through break_glass_unlock, again by proof of
// CA custody. Every one of these steps is one transaction with one audit entry.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ca/custody.h"
#include "jitsuin/ra/context.h"

namespace jitsuin::ra {

enum class Role { operator_, approver, auditor, administrator };

/// "operator", "approver", "auditor", "administrator".
std::string role_name(Role role);
/// Throws invalid_input listing the known roles.
Role parse_role(const std::string& name);

/// What an operation needs the caller to be allowed to do.
enum class Permission {
  read,        ///< look at applications, documents, history
  enter,       ///< data entry and clerical steps
  approve,     ///< approvals: applications, revocations, PIN re-issues
  administer,  ///< operator accounts
};

/// Who a principal is: an RA operator, or an account of the contract service (accounts.h).
enum class PrincipalKind {
  operator_,       ///< an RA operator, with a Role
  company_admin,   ///< the holder of a company ID (企業ID): the company's admin
  company_user,    ///< the holder of a user ID (ユーザID)
};

/// "operator", "company admin", "company user".
std::string principal_kind_name(PrincipalKind kind);

/// An authenticated person. Only ra/ makes one — login(), resume_session() for operators,
/// login_account() for company and user IDs — so an identity can never come from a value someone
/// typed. Every ra/ function that acts for a person takes one and checks it itself. Reads (get_*,
/// find_*, list_*, application_history, last_check_reasons, renewal_eligibility, company_certificates)
/// need Permission::read of an RA operator; where RA-8 lets a company admin see its own company's
/// data (accounts, certificate links, company certificates, additional certificate requests) the
/// company admin of that company may read them too. User IDs read nothing through ra/.
class Principal {
 public:
  PrincipalKind kind() const { return kind_; }
  /// The operator's id (ra_operators) or the account's id (ra_accounts).
  std::int64_t id() const { return id_; }
  /// The operator name, or the login ID of an account ("C000012", "U0000034").
  const std::string& name() const { return name_; }
  /// The operator's role. Accounts have no role: Role::auditor, and can() refuses them anyway.
  Role role() const { return role_; }
  /// The company of a company or user ID; 0 for operators.
  std::int64_t company_id() const { return company_id_; }
  bool is_operator() const { return kind_ == PrincipalKind::operator_; }
  /// True for the company admin (企業ID) of `company`.
  bool is_company_admin_of(std::int64_t company) const {
    return kind_ == PrincipalKind::company_admin && company_id_ == company;
  }
  /// Name recorded in history and audit entries: "ra:<name>", "company:<login ID>" or "user:<login ID>".
  std::string actor() const;
  /// An operator's role permission; always false for company and user IDs (they act only where a
  /// function says so, e.g. request_additional_certificate, change_certificate_link).
  bool can(Permission p) const;
  /// Throws forbidden naming the principal, their role or kind, and what was refused.
  void require(Permission p, const std::string& what) const;
  /// Throws forbidden unless this is an RA operator.
  void require_operator(const std::string& what) const;
  /// True for an operator whose password is temporary, in a session opened for the password change
  /// (resume_session with SessionUse::password_change): require() and require_operator() refuse
  /// everything; only change_password() accepts such a principal.
  bool password_change_only() const { return password_change_only_; }
  /// True for an operator authenticated by an operator key (a script's bearer token): such a
  /// principal cannot mint keys (issue_operator_key).
  bool via_key() const { return via_key_; }
  /// The session (ra_sessions row) this principal was resumed from; 0 for a bare login().
  std::int64_t session_id() const { return session_id_; }

 private:
  friend struct PrincipalFactory;
  Principal(PrincipalKind kind, std::int64_t id, std::string name, Role role, std::int64_t company_id,
            bool password_change_only = false)
      : kind_(kind), id_(id), name_(std::move(name)), role_(role), company_id_(company_id),
        password_change_only_(password_change_only) {}
  PrincipalKind kind_;
  std::int64_t id_;
  std::string name_;
  Role role_;
  std::int64_t company_id_;
  bool password_change_only_ = false;
  bool via_key_ = false;
  std::int64_t session_id_ = 0;
};

/// An operator account as listed (never the password hash).
struct OperatorInfo {
  std::int64_t id = 0;
  std::string name;
  std::string display_name;
  Role role = Role::operator_;
  int failed_logins = 0;
  bool locked = false;
  bool disabled = false;
  UnixTime created_at = 0;
  std::string created_by;
  /// Waiting for a second administrator's approval (approver and administrator accounts made by
  /// an administrator); a pending account cannot log in.
  bool pending = false;
  /// Who approved it ("ra:<name>", "bootstrap", or "ca-custody:<actor>"); empty while pending.
  std::string approved_by;
  std::optional<UnixTime> approved_at;
  /// The password was set by someone else and must be changed at the next login.
  bool password_temporary = false;
};

/// True when at least one operator account exists.
bool any_operator(RaContext& ctx);

/// Creates an operator. `by` must be an administrator, except for the very first account, which
/// may be created with by == nullptr and must then be an administrator (bootstrap).
/// Names: 3-32 characters of a-z, 0-9, '.', '_', '-'. Passwords: at least 12 characters.
/// An account made by an administrator gets a temporary password (changed at the first login);
/// an approver or administrator account made by an administrator is pending until approved
/// (approve_operator, approve_operator_by_custody). The bootstrap account is neither, unless
/// `temporary_password` (./run.sh generates the first administrator's password and shows it once:
/// the holder sets their own at the first login).
OperatorInfo add_operator(RaContext& ctx, const Principal* by, const std::string& name, const std::string& display_name,
                          Role role, const std::string& password, bool temporary_password = false);

/// Every operator account, by name.
std::vector<OperatorInfo> list_operators(RaContext& ctx, const Principal& by);

/// Clears the lockout of an account (administrator only; audited).
void unlock_operator(RaContext& ctx, const Principal& by, const std::string& name);

/// Approves a pending account: `by` is an administrator other than the one who created it
/// (forbidden otherwise). Audited as ra.operator.approve naming creator and approver. Throws
/// not_found for an unknown name, conflict when the account is not pending or is disabled.
void approve_operator(RaContext& ctx, const Principal& by, const std::string& name);

/// Approves a pending account by proof of CA custody: a PIN of the CA's token (user PIN, or the SO
/// PIN of HOME/ca.so-pin for the embedded token), checked on the token itself. Only while there is
/// at most one active administrator (otherwise conflict: another administrator approves), so that
/// an installation can get started. `actor` is who runs it (the CLI's "cli:<unix user>").
/// A refused PIN is audited (ra.custody.failure) and throws unauthenticated; success is audited as
/// ra.operator.approve with the proof.
void approve_operator_by_custody(RaContext& ctx, const std::string& actor, const std::string& name,
                                 ca::CustodyPin pin_kind, const std::string& pin);

/// Break-glass: clears the lockout of an administrator account by proof of CA custody (as above),
/// and with `new_password` also sets a temporary password and ends the account's sessions. Audited
/// as ra.operator.break_glass (a refused PIN as ra.custody.failure, throwing unauthenticated).
/// Throws not_found for an unknown name, invalid_input for an account that is not an
/// administrator, conflict when it is pending or disabled, or neither locked nor given a password.
void break_glass_unlock(RaContext& ctx, const std::string& actor, const std::string& name, ca::CustodyPin pin_kind,
                        const std::string& pin, const std::optional<std::string>& new_password);

/// Disables an account and ends its sessions (administrator only; never the last administrator).
void disable_operator(RaContext& ctx, const Principal& by, const std::string& name);

/// What a password change does to the operator's operator keys.
enum class KeepKeys { no, yes };

/// Changes the caller's own password after checking the current one (operators only; the check
/// counts toward the lockout like a login). Accepts a password_change_only() principal, and makes
/// the password the holder's own (no longer temporary). Every other login session of the operator
/// ends (browsers, CLIs: whoever knew the old password is out), and so do the operator keys unless
/// `keep_keys`; the caller's own session stays. Returns how many sessions and keys ended.
int change_password(RaContext& ctx, const Principal& who, const std::string& current, const std::string& next,
                    KeepKeys keep_keys = KeepKeys::no);

/// A login session: the token (256 bits, hex) the client keeps; the database keeps its SHA-256.
struct Session {
  std::string token;
  UnixTime expires_at = 0;
};

/// Outcome of a login attempt: a value, because a wrong password is an ordinary event.
struct LoginResult {
  std::optional<Principal> principal;   ///< set on success
  std::string message;                  ///< why not, for the person at the keyboard
  std::optional<Session> session;       ///< set on success of login_session()
  /// On success: the password is temporary; the session allows only the password change.
  bool password_change_required = false;
};

/// Checks a password. Each failure is counted and audited; at config.ra.password_max_failures the
/// account locks until an administrator unlocks it. Unknown names, wrong passwords and locked
/// accounts give the same message, so the answer does not reveal which names exist.
LoginResult login(RaContext& ctx, const std::string& name, const std::string& password);

/// login() and, on success, a session (config.ra.session_hours) started in the same transaction,
/// with one audit entry "ra.login" naming the session: what `jitsuin login` and the console's login
/// page do.
LoginResult login_session(RaContext& ctx, const std::string& name, const std::string& password);

/// Starts a session for a logged-in operator (not for company or user IDs); returns the token to
/// keep on the client. Expires after config.ra.session_hours.
Session start_session(RaContext& ctx, const Principal& who);

/// An operator key for unattended use (scripts): a session of kind 'key' of the calling operator
/// lasting `days` (1..config.ra.api_key_max_days), audited as ra.operator.key. Minting one needs
/// the operator's current password (checked like a login: a wrong one counts toward the lockout,
/// throwing unauthenticated) and a caller that is not itself authenticated by a key (forbidden):
/// a stolen session or key cannot breed keys. `label` says what the key is for (at most 64
/// characters). Kept in a file of mode 0600 like a login session.
Session issue_operator_key(RaContext& ctx, const Principal& who, int days, const std::string& password,
                           const std::string& label = "");

/// A live operator key as listed (never the token).
struct OperatorKey {
  std::int64_t id = 0;
  std::string label;
  UnixTime created_at = 0, expires_at = 0;
};

/// The caller's live operator keys, oldest first.
std::vector<OperatorKey> list_operator_keys(RaContext& ctx, const Principal& who);

/// Revokes one of the caller's operator keys (ra.operator.key_revoke); not_found for a key that is
/// not the caller's or not live.
void revoke_operator_key(RaContext& ctx, const Principal& who, std::int64_t key_id);

/// What a session is resumed for.
enum class SessionUse {
  any,               ///< everything the role allows; refused while the password is temporary
  password_change,   ///< whoami and the password change: also with a temporary password
};

/// The operator of a live session. Throws unauthenticated when the token is unknown, expired or
/// ended, or its account is locked or disabled; forbidden for SessionUse::any while the account's
/// password is temporary (saying to change it). With SessionUse::password_change a temporary
/// password gives a password_change_only() principal.
Principal resume_session(RaContext& ctx, const std::string& token, SessionUse use = SessionUse::any);

/// Ends a session (logout). Unknown tokens are ignored.
void end_session(RaContext& ctx, const std::string& token);

/// "Log out everywhere": ends every live session of the operator `who` (logins on every browser and
/// CLI, and operator keys), audited as ra.session.end_all with the count. Returns how many ended.
int end_all_sessions(RaContext& ctx, const Principal& who);

}  // namespace jitsuin::ra
