#pragma once
// RA-6 revocation requests (失効申請), e.g. on a staff transfer: recorded with an RFC 5280 reason
// and an effective time (default: request + config.ra.revocation_delay_days), approved by a second
// operator, then carried out by the CA with that effective time, so the certificate appears in
// CRLs from then on. Rejections carry a reason.
//
// Approval and the CA's revocation record are one transaction (with the request's new state, the
// holder's mail and one audit entry); the CA's certificate records are reached through
// ca::CertificateStore on the RA's database, so none of these needs the CA's keys.
// execute_revocation() carries out requests left "approved" by earlier versions, which
// approved and revoked in separate transactions.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ca/store.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/paging.h"

namespace jitsuin::ra {

struct RevocationRequest {
  std::int64_t id = 0;
  std::string serial;
  std::optional<std::int64_t> application_id;
  ca::RevocationReason reason = ca::RevocationReason::unspecified;
  std::string note;
  std::string state;   ///< pending, approved, revoked, rejected
  std::string requested_by;
  UnixTime requested_at = 0;
  UnixTime effective_at = 0;
  std::optional<std::string> decided_by;
  std::optional<UnixTime> decided_at;
  std::optional<std::string> rejection_reason;
};

/// Records a request for a certificate the CA issued and has not revoked; one open request per
/// certificate. `effective` defaults to now + revocation_delay_days (now for keyCompromise) and
/// must not be in the past. A keyCompromise request is also taken for a certificate whose
/// revocation is not yet in effect (it replaces it, taking effect earlier) or is in effect for
/// another reason (the reason becomes keyCompromise), as ca::replaces_revocation() says.
RevocationRequest request_revocation(RaContext& ctx, const Principal& by, const std::string& serial,
                                     ca::RevocationReason reason, std::optional<UnixTime> effective,
                                     const std::string& note);

/// Approves (a different person with the approve permission) and revokes at the requested time
/// (now when that has passed), in one transaction with one audit entry "ra.revocation.approve".
RevocationRequest approve_revocation(RaContext& ctx, const Principal& by, std::int64_t request_id);

/// Carries out an approved request (left by an earlier version) in one transaction with one
/// audit entry "ra.revocation.revoked"; a certificate the CA revoked meanwhile is recorded as it is.
RevocationRequest execute_revocation(RaContext& ctx, const Principal& by, std::int64_t request_id);

/// Rejects a pending request with a reason.
RevocationRequest reject_revocation(RaContext& ctx, const Principal& by, std::int64_t request_id,
                                    const std::string& reason);

RevocationRequest get_revocation(RaContext& ctx, const Principal& by, std::int64_t request_id);
/// One page of revocation requests (optionally one state), newest first (paging.h; the cursor is a
/// request id, field name "before_id"). Throws invalid_input for a bad page or an unknown state.
Page<RevocationRequest> list_revocations(RaContext& ctx, const Principal& by, const std::string& state = "",
                                         const PageRequest& page = {});

}  // namespace jitsuin::ra
