#pragma once
// The last step of RA-3: an enrolled application's certificate is issued by the CA with the
// subject from the approved Form 5 (never from the CSR), and the application becomes issued.
#include <cstdint>
#include <functional>
#include <string>

#include "jitsuin/ca/authority.h"
#include "jitsuin/ra/context.h"

namespace jitsuin::ra {

/// Issues the certificate of an enrolled application and records it: enrolled → issued. The CA
/// signs first, without the write lock; then one transaction records the certificate, the
/// application's new state, the link of a company admin's request (cert_request.h), for a
/// renewal (RA-7) the revocation of the certificate it replaces (reason superseded), the mail,
/// and one audit entry "ra.application.issued" (the CA's details under "certificate", the
/// superseded revocation under "superseded").
/// Idempotent: for an application that is already issued it returns that certificate and issues
/// none, also when another process issued it while this one was signing. Any other state:
/// conflict. `actor` names the channel ("enroll:web", "ra:<operator>").
/// `in_transaction`, when given, runs inside the issuing transaction before anything is recorded
/// (e.g. to spend the download PIN, enrollment.h); what it returns names the credential in the
/// audit entry's details ("credential"); if it throws, nothing is issued. It does not run when the certificate exists already.
/// An S/MIME certificate (profile smime) is one per e-mail address (seed 004): the earlier valid
/// certificates of applications for the same address are revoked as superseded with it.
ca::IssuedCertificate issue_for_application(RaContext& ctx, ca::CertificateAuthority& ca, std::int64_t application_id,
                                            const std::string& actor,
                                            const std::function<std::string()>& in_transaction = {});

}  // namespace jitsuin::ra
