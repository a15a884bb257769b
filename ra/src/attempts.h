#pragma once
// The two security rules behind every secret the RA checks (issue 20, item 9), written once:
//
//  - count_wrong_attempt(): a wrong secret (application PIN, download PIN, coupon code, password)
//    counts one failure in the database inside the verifying transaction, and locks the secret at
//    the maximum; one audit entry.
//  - the password login (check_password, settle_password): the hash read and scrypt run before the
//    write lock, then under the lock the row is read again and the outcome counted; used by the
//    operators' login and password change (operators.cpp) and by company and user IDs
//    (accounts.cpp).
//
// A number with no secret in force (unknown, or withdrawn) is answered and counted like a wrong
// secret: the caller runs the same scrypt work (verify_secret_or_dummy) and counts the attempt on
// the row unknown_counter() gives it, so `remaining` counts down and locks alike.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jitsuin/ra/context.h"

namespace jitsuin::ra::detail {

/// Where wrong attempts at one kind of secret are counted: rows of `table` by id, with a failure
/// count and the time the secret locked (NULL while it is not).
struct AttemptCounter {
  const char* table;
  const char* failures;
  const char* locked_at;
};
inline constexpr AttemptCounter kApplicationPinCounter{"ra_applications", "pin_failures", "pin_locked_at"};
inline constexpr AttemptCounter kDownloadPinCounter{"ra_download_pins", "failures", "locked_at"};
inline constexpr AttemptCounter kCouponCounter{"smime_coupons", "failures", "locked_at"};
inline constexpr AttemptCounter kOperatorCounter{"ra_operators", "failed_logins", "locked_at"};
inline constexpr AttemptCounter kAccountCounter{"ra_accounts", "failed_logins", "locked_at"};
/// Numbers with no secret in force (unknown_counter()).
inline constexpr AttemptCounter kUnknownCounter{"ra_unknown_attempts", "failures", "locked_at"};

/// Who and what the audit entry of a counted attempt names: `wrong` below the maximum, `locked`
/// when this attempt locks; `details` get "failures" added.
struct AttemptAudit {
  std::string actor, object, wrong, locked;
  nlohmann::json details = nlohmann::json::object();
};

struct Attempt {
  int failures = 0;
  bool locked = false;
  int remaining = 0;   ///< max - failures, at least 0
};

/// Counts one wrong attempt on row `id` (inside the caller's transaction), locking at `max`.
Attempt count_wrong_attempt(RaContext& ctx, const AttemptCounter& counter, std::int64_t id, int max,
                            const AttemptAudit& audit);

/// The counter row (in kUnknownCounter) of `number` of `kind` ("application_pin", "download_pin",
/// "coupon") while it has no secret in force; made at the first attempt, inside the caller's
/// transaction. Never creates anything else.
struct UnknownCounter {
  std::int64_t id = 0;
  int failures = 0;
  bool locked = false;
};
UnknownCounter unknown_counter(RaContext& ctx, const std::string& kind, std::int64_t number);

/// A table of password holders: operators (by name) or company and user IDs (by login ID). Both
/// have password_hash, failed_logins, locked_at and disabled_at.
struct PasswordTable {
  const char* table;
  const char* name_column;
  AttemptCounter counter;
};
inline constexpr PasswordTable kOperators{"ra_operators", "name", kOperatorCounter};
inline constexpr PasswordTable kAccounts{"ra_accounts", "login_id", kAccountCounter};

/// The one policy for a password its holder chooses (operators and company and user IDs): at
/// least 12 and at most 256 characters. Throws invalid_input.
void check_password_policy(const std::string& password);

/// The slow half of a password check, before any write lock: the row and its hash, and whether
/// one of `forms` (the password as typed, and other accepted spellings) matches. An unknown holder
/// costs the same scrypt work as a known one.
struct PasswordCheck {
  std::optional<std::int64_t> id;
  std::string hash;
  bool match = false;
};
PasswordCheck check_password(RaContext& ctx, const PasswordTable& table, const std::string& name,
                             const std::vector<std::string>& forms);
/// The same for a holder known by id (a password change).
PasswordCheck check_password(RaContext& ctx, const PasswordTable& table, std::int64_t id,
                             const std::vector<std::string>& forms);

/// The counting half, inside the caller's transaction: the row is read again; an unknown holder, a
/// locked or disabled one, or a password changed during the check is refused (audited as
/// `audit.wrong` with the reason); a wrong password is counted (count_wrong_attempt, locking at
/// `max`); the right one resets the failure count and writes nothing else (the caller writes the
/// success entry). Returns true for the right password of a usable holder.
bool settle_password(RaContext& ctx, const PasswordTable& table, const PasswordCheck& check, int max,
                     const AttemptAudit& audit);

}  // namespace jitsuin::ra::detail
