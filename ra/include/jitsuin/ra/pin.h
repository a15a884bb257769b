#pragma once
// RA-4 application PIN (申請PIN): printed on the approval notice sent by restricted-delivery mail,
// typed by the applicant into the enrollment page.
//
//  - 80 bits from the system CSPRNG, written as 16 characters of Crockford base32 in groups of
//    four (e.g. "7KQ2-M9XD-4HTB-0RWE"): no I, L, O or U; input is case-insensitive, and O/I/L typed
//    for 0/1 are accepted, as are missing hyphens and spaces;
//  - returned once by issue_pin() and stored only as an scrypt hash;
//  - expires after config.ra.pin_validity_days;
//  - config.ra.pin_max_attempts wrong entries lock it until an approver re-issues it. Attempts are
//    counted in the database inside the verifying transaction, so restarts and parallel requests
//    cannot win extra guesses.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

/// A fresh PIN in display form XXXX-XXXX-XXXX-XXXX.
std::string generate_pin();

/// Canonical form of typed input (upper case, look-alikes mapped, separators dropped), or empty
/// when it cannot be a PIN (wrong length or characters).
std::string normalize_pin(std::string_view typed);

struct IssuedPin {
  std::string pin;          ///< show once, print on the letter, never store
  UnixTime expires_at = 0;
};

/// Issues the PIN: approved → pin_issued. A re-issue (from pin_issued or notice_mailed, e.g. after
/// a lock-out, expiry or returned mail) needs an open request_pin_reissue() by another operator and
/// the approve permission (two-person rule). Mails pin_issued to the applicant (without the PIN).
/// `before_commit`, when given, runs inside the transaction with the new PIN (e.g. to render the
/// approval letter into a staged file): if it throws, no PIN is issued.
struct Application;
IssuedPin issue_pin(RaContext& ctx, const Principal& by, std::int64_t application_id,
                    const std::function<void(const IssuedPin&, const Application&)>& before_commit = {});

/// Asks for a new PIN for an application whose PIN was issued (reason recorded, audited).
void request_pin_reissue(RaContext& ctx, const Principal& by, std::int64_t application_id, const std::string& reason);

enum class PinStatus {
  accepted,    ///< right PIN
  wrong,       ///< wrong PIN; `remaining` attempts left
  locked,      ///< too many wrong attempts: the RA must re-issue
  expired,     ///< past its validity: the RA must re-issue
  not_usable,  ///< no PIN in force for this application (wrong state)
};
std::string pin_status_name(PinStatus s);

// The applicant's checks of the PIN (enroll.status, enroll.start) are in enrollment.h: one
// implementation counts every wrong attempt (issue 20, item 9).

}  // namespace jitsuin::ra
