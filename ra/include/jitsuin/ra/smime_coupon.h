#pragma once
// Seed 004: the S/MIME reseller path (issue 10). What the reseller sells is coupons (クーポン), not
// certificates: whoever orders gets the coupons at the order's delivery address, and whoever
// holds a coupon applies with it for one certificate for ONE e-mail address.
//
//   order     an operator records it (who ordered, the delivery address, the product, how many);
//             the coupon codes are returned once and mailed (outbox) to the delivery address;
//   apply     coupon + name + one e-mail address → an application with the smime profile, ready
//             to enroll (notice_mailed); its application PIN is mailed to THAT address
//             enroll.smime_pin_delay_minutes later (the seed's "about 15 minutes"), which proves
//             control of the address; then enroll.start / enroll.collect (enrollment.h) as usual;
//   re-issue  the same coupon again (wrong address, lost PIN mail, failed retrieval): a new
//             application that replaces the coupon's last one; the certificate it replaces is
//             revoked (superseded) in the transaction that issues the new one (issuance.h).
//
// A coupon code is "<coupon number>-XXXX-XXXX-XXXX-XXXX": the number finds the row, the 80-bit
// secret in the application PIN's format (pin.h) is stored only as an scrypt hash. Single use
// (re-issues aside), expires with its order, locks after config.ra.pin_max_attempts wrong codes
// (counted inside the verifying transaction). An unknown number answers like a wrong code.
// Refusals the holder can act on are ReasonedError (core/error.h) with a stable reason.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

/// What an operator records for an order.
struct CouponOrderInput {
  std::string ordered_by;        ///< the buyer (person or company), as on the order
  std::string delivery_email;    ///< where the coupons are mailed (not necessarily a holder)
  std::string product = "secure-mail-1y";   ///< secure-mail-1y | secure-mail-2y (if the profile allows)
  int quantity = 1;              ///< 1..50 coupons
  int coupon_days = 180;         ///< the coupons expire this many days after the order (1..730)
  std::string note;
};

/// One coupon as the RA sees it (never the code).
struct CouponRecord {
  std::int64_t id = 0;
  std::string status;   ///< "unused", "used", "expired", "locked"
  int failures = 0;
  std::optional<UnixTime> used_at;
  std::vector<std::int64_t> applications;   ///< the first application and its re-issues, oldest first
};

struct CouponOrder {
  std::int64_t id = 0;
  std::string ordered_by, delivery_email, product, profile, note, created_by;
  int validity_years = 1, quantity = 0;
  std::int64_t bundle_id = 0;
  UnixTime created_at = 0, coupons_expire_at = 0;
  std::vector<CouponRecord> coupons;
};

/// create_coupon_order's answer: the order and its codes, in coupon order. Show once: only
/// their hashes are kept.
struct CreatedCouponOrder {
  CouponOrder order;
  std::vector<std::string> codes;
};

/// Records an order (Permission::enter): its own company and bundle (the buyer; received online, no
/// paper forms), the coupons, and their mail to the delivery address, in one transaction with one
/// audit entry ("ra.smime_order.create"). The scrypt hashes are made before the transaction.
/// invalid_input for a product the smime profile does not allow, a bad address or quantity.
CreatedCouponOrder create_coupon_order(RaContext& ctx, const Principal& by, const CouponOrderInput& input);

/// An order with its coupons' status (Permission::read); not_found.
CouponOrder get_coupon_order(RaContext& ctx, const Principal& by, std::int64_t order_id);

/// The orders, newest first (Permission::read).
std::vector<CouponOrder> list_coupon_orders(RaContext& ctx, const Principal& by, int limit = 100);

/// The coupon number of a typed code ("17-7KQ2-…" → 17), for the rate limits; nullopt when it
/// cannot be a coupon code.
std::optional<std::int64_t> coupon_number(std::string_view code);

/// What the holder types on the application page.
struct CouponApplicationInput {
  std::string coupon;
  std::string name_romaji;           ///< certificate CN: RA-8 romaji rules
  std::string name;                  ///< for the mails (kanji allowed); default name_romaji
  std::string organization_romaji;   ///< optional certificate O (individuals may leave it out)
  std::string email;                 ///< the ONE address the certificate carries
};

struct CouponApplied {
  std::int64_t application_id = 0;
  std::string mailed_to;               ///< masked, "t***@example.jp"
  UnixTime mail_not_before = 0;        ///< the application PIN mail leaves then
  UnixTime pin_expires_at = 0;
  std::optional<std::int64_t> reissue_of;     ///< re-issue: the application it replaces
  std::optional<std::string> replaces_serial; ///< re-issue: the certificate revoked when the new one is issued
};

/// A new application with an unused coupon; one transaction: the coupon is spent, the
/// application recorded (received → … → notice_mailed, the coupon standing for the RA's check,
/// approval and notice), its application PIN hashed and mailed with the delay, one audit entry
/// ("smime.coupon.apply"). A coupon already used is refused (`coupon_used`: re-issue instead).
/// `actor` names the channel ("enroll:<address>").
CouponApplied apply_with_coupon(RaContext& ctx, const CouponApplicationInput& input, const std::string& actor);

/// A re-issue with a used coupon (seed 004: wrong address, PIN mail lost, retrieval failed): as
/// apply_with_coupon, and the coupon's last application is replaced: if it is still waiting for
/// enrollment it is withdrawn, if enrolled its download PIN stops working, and the newest
/// certificate of the coupon is revoked (superseded) when the new one is issued. Allowed while
/// the certificate the coupon bought would still be valid (validity from the first use), at most
/// kMaxCouponReissues times. Audit entry "smime.coupon.reissue".
inline constexpr int kMaxCouponReissues = 5;
CouponApplied reissue_with_coupon(RaContext& ctx, const CouponApplicationInput& input, const std::string& actor);

}  // namespace jitsuin::ra
