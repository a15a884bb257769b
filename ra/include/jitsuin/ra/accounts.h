#pragma once
// RA-9 company IDs (企業ID) and user IDs (ユーザID) of the contract service. A company ID is issued
// from Form 1 (one per company, or per department) and mailed with its initial password to the
// Form-4 contact person; a user ID is issued from each Form 6 and mailed to its user. Additional
// user IDs can be issued later, and a user ID can change hands on a staff transfer (利用者変更):
// new holder, new initial password, and its certificate links are removed (a certificate belongs
// to one person).
//
// The contract service (contract/) authenticates these accounts; the RA only issues them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

struct Account {
  std::int64_t id = 0;
  std::string login_id;   ///< "C000012" (company) or "U0000034" (user)
  std::string kind;       ///< "company" or "user"
  std::int64_t company_id = 0;
  std::string name, department, email;
  bool must_change_password = true;
  bool disabled = false;
  UnixTime created_at = 0;

  nlohmann::json to_json() const;
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
/// certificate link of the ID removed.
Account change_account_holder(RaContext& ctx, const Principal& by, const std::string& login_id,
                              const std::string& name, const std::string& department, const std::string& email);

std::vector<Account> list_accounts(RaContext& ctx, std::optional<std::int64_t> company_id);
Account get_account(RaContext& ctx, const std::string& login_id);

/// Checks an account password (for the contract service's login); constant-time, never throws for
/// a wrong password.
bool verify_account_password(RaContext& ctx, const std::string& login_id, const std::string& password);

}  // namespace jitsuin::ra
