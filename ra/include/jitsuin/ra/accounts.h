#pragma once
// RA-9 company IDs (企業ID) and user IDs (ユーザID) of the contract service. A company ID is issued
// from Form 1 (one per company, or per department) and mailed with its initial password to the
// Form-4 contact person; a user ID is issued from each Form 6 and mailed to its user and (RA-9) to
// the Form-4 contact person. Additional
// user IDs can be issued later, and a user ID can change hands on a staff transfer (利用者変更):
// new holder, new initial password, and its certificate links are removed (a certificate belongs
// to one person).
//
// The accounts log in through login_account(), which makes a Principal of kind company_admin or
// company_user (operators.h) with the same lockout and audit as an operator login; ra/ functions
// that a company admin may call (cert_request.h, links.h) take that principal and check it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

struct Account {
  std::int64_t id = 0;
  std::string login_id;   ///< "C000012" (company) or "U0000034" (user)
  std::string kind;       ///< "company" or "user"
  std::int64_t company_id = 0;
  std::string name, department, email;
  /// Set with every initial password (mailed, never shown to an operator). Enforced by the contract
  /// service's sign-in, where IDs do their work; in ra/ the password only authenticates a company
  /// admin's one-shot requests (RA-8), and no one but the holder (and, for user IDs, the Form-4
  /// contact, RA-9) ever receives it.
  bool must_change_password = true;
  bool disabled = false;
  UnixTime created_at = 0;
  int failed_logins = 0;   ///< wrong passwords since the last success or unlock
  bool locked = false;     ///< locked after config.ra.password_max_failures wrong passwords
};

/// What was issued; initial passwords are not returned (they went out by mail only).
struct IssuedAccounts {
  std::vector<Account> accounts;
};

/// Issues the company ID (when the company has none) and a user ID for every Form 6 of a bundle
/// not yet issued, once the bundle's latest document check was complete. One transaction; every
/// ID audited; initial passwords mailed (user_id template) and stored only hashed.
IssuedAccounts issue_bundle_accounts(RaContext& ctx, const Principal& by, std::int64_t bundle_id);

/// An additional user ID for a company (charged per the seeds; the charge is not modelled here).
Account add_user_account(RaContext& ctx, const Principal& by, std::int64_t company_id, const std::string& name,
                         const std::string& department, const std::string& email);

/// 利用者変更: the user ID passes to another person; new initial password mailed to them; every
/// certificate link of the ID removed. `by`: an RA operator with Permission::enter, or the company
/// admin of the ID's company (issue 11); a user ID of another company: forbidden.
Account change_account_holder(RaContext& ctx, const Principal& by, const std::string& login_id,
                              const std::string& name, const std::string& department, const std::string& email);

/// Accounts of one company, or of all. `by`: an RA operator with Permission::read (any company, or
/// all), or the company admin of company_id (its own company only, RA-8); anyone else: forbidden.
std::vector<Account> list_accounts(RaContext& ctx, const Principal& by, std::optional<std::int64_t> company_id);
/// One account; throws not_found. `by`: an RA operator with Permission::read, or the company admin
/// of the account's company (RA-8); anyone else: forbidden.
Account get_account(RaContext& ctx, const Principal& by, const std::string& login_id);

/// Logs a company ID (企業ID) or user ID (ユーザID) in: a Principal of kind company_admin or
/// company_user on success. Initial passwords are accepted as typed in PIN form (case, look-alikes,
/// hyphens). Like login() for operators: scrypt runs before the write lock, each failure is counted
/// and audited (ra.account.login_failure), at config.ra.password_max_failures the account locks
/// (ra.account.locked) until an administrator unlocks it (unlock_account); success is audited as
/// ra.account.login. Unknown IDs, wrong passwords and locked or disabled IDs give the same message.
/// A fault of scrypt itself throws (ErrorKind::crypto) and counts nothing.
/// `then`, when given, is a request that carries these credentials (a company admin's request):
/// it runs on success inside the same transaction and writes the one audit entry of the request,
/// which names the principal; the login then writes none. What it throws rolls everything back.
LoginResult login_account(RaContext& ctx, const std::string& login_id, const std::string& password,
                          const std::function<void(const Principal&)>& then = {});

/// The message of a call refused (forbidden) because the ID's mailed initial password is still in
/// force: a company session then allows only company.passwd, company.whoami and company.logout.
std::string password_change_required(const std::string& login_id);

/// Changes the password of a company or user ID after checking the current one: the same login
/// check (attempts.h; initial passwords accepted in PIN form), so a wrong current password counts
/// toward the lockout and is refused like a wrong login. The new password follows the operators'
/// policy and must differ from the current one. In one transaction: the new hash, the mailed
/// initial password no longer in force (must_change_password cleared), every other session of the
/// ID ended (all but `keep_session`, the caller's own), and one audit entry "ra.account.password"
/// (never a password). Returns how many sessions ended.
int change_account_password(RaContext& ctx, const std::string& login_id, const std::string& current,
                            const std::string& next, std::int64_t keep_session = 0);

/// Clears the lockout of a company or user ID (Permission::administer; audited as ra.account.unlock).
/// Throws not_found for an unknown ID, conflict when it is not locked and has no failures.
void unlock_account(RaContext& ctx, const Principal& by, const std::string& login_id);

}  // namespace jitsuin::ra
