#pragma once
// Restricted-delivery mail (本人限定受取郵便) of the approval notice: the letter can only be
// handed to the applicant in person at the post office. Recorded per mailing: tracking number
// (unique), sent, held at the post office (at most one week), delivered, returned; a re-send after
// a return or loss is chargeable and its charge recorded.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/date.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

/// How long a post office holds restricted-delivery mail before returning it.
inline constexpr int kPostOfficeHoldDays = 7;

struct Mailing {
  std::int64_t id = 0;
  std::int64_t application_id = 0;
  std::string tracking_number;
  std::string state;   ///< sent, held, delivered, returned
  Date sent_on;
  std::optional<Date> held_on, delivered_on, returned_on;
  std::optional<std::int64_t> resend_of;
  int charge_yen = 0;
  std::string recorded_by;

  /// Last day of the hold when held.
  std::optional<Date> hold_ends() const;
};

/// Tracking numbers: 8-20 characters of digits and hyphens (Japan Post numbers are 11-13 digits).
/// Returned normalised (hyphens removed). Throws invalid_input.
std::string normalize_tracking_number(const std::string& typed);

/// The first mailing of the approval notice: pin_issued → notice_mailed. A duplicate tracking
/// number is refused (conflict).
Mailing record_mailing(RaContext& ctx, const Principal& by, std::int64_t application_id, const std::string& tracking,
                       const Date& sent_on);

/// A postal event for a tracking number: "held" (from sent), "delivered" (from sent or held, not
/// after the hold ended), "returned" (from sent or held). Dates must not precede the previous event.
Mailing record_postal_event(RaContext& ctx, const Principal& by, const std::string& tracking, const std::string& event,
                            const Date& on);

/// Marks every held mailing whose week at the post office is over (as of `today`) returned.
std::vector<Mailing> expire_holds(RaContext& ctx, const std::string& actor, const Date& today);

/// Sends the notice again after a return (or loss after delivery), under a new tracking number,
/// with the charge in yen (0 allowed only for a return the RA caused: say so in `note`).
Mailing resend_notice(RaContext& ctx, const Principal& by, std::int64_t application_id, const std::string& tracking,
                      const Date& sent_on, int charge_yen, const std::string& note);

std::vector<Mailing> list_mailings(RaContext& ctx, const Principal& by, std::optional<std::int64_t> application_id);
std::optional<Mailing> find_mailing(RaContext& ctx, const Principal& by, const std::string& tracking);

}  // namespace jitsuin::ra
