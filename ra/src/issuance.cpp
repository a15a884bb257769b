#include "jitsuin/ra/issuance.h"

#include "jitsuin/core/error.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/outbox.h"
#include "ra_core.h"

namespace jitsuin::ra {

ca::IssuedCertificate issue_for_application(RaContext& ctx, ca::CertificateAuthority& ca, std::int64_t id,
                                            const std::string& actor) {
  Application app = get_application(ctx, id);
  if (app.state != State::enrolled)
    throw Error(ErrorKind::conflict, "application " + std::to_string(id) + " is " + state_name(app.state) +
                                         "; a certificate is issued only for an enrolled application");
  std::string csr;
  {
    db::Statement st(ctx.db, "SELECT csr FROM ra_applications WHERE id = ?");
    st.bind(1, id);
    st.step();
    csr = st.opt_text(0).value_or("");
  }
  if (csr.empty()) throw Error(ErrorKind::internal, "enrolled application " + std::to_string(id) + " has no CSR");
  // Claim the application so two requests cannot both have a certificate issued for it. A claim
  // older than 10 minutes is taken to belong to a crashed process.
  {
    db::Transaction tx(ctx.db);
    UnixTime now = ctx.clock();
    db::Statement claim(ctx.db,
                        "UPDATE ra_applications SET issuing_at = ? WHERE id = ? AND state = 'enrolled' "
                        "AND (issuing_at IS NULL OR issuing_at < ?)");
    claim.bind(1, now).bind(2, id).bind(3, now - 600).exec();
    if (ctx.db.changes() != 1)
      throw Error(ErrorKind::conflict, "the certificate of application " + std::to_string(id) + " is being issued");
    tx.commit();
  }
  auto release = [&] {
    db::Statement up(ctx.db, "UPDATE ra_applications SET issuing_at = NULL WHERE id = ?");
    up.bind(1, id).exec();
  };
  ca::IssueRequest req;
  req.profile = app.form.profile;
  req.csr = csr;
  req.subject = applicant_subject(app.form);
  req.days = app.form.validity_years * 365;
  // The CA records the certificate in its own transaction; the application follows in the next.
  ca::IssuedCertificate issued;
  try {
    issued = ca.issue(req, {actor});
  } catch (...) {
    release();
    throw;
  }
  db::Transaction tx(ctx.db);
  release();
  // A company admin's additional request (RA-8) is linked to its user ID in this transaction; the
  // link is part of the issuance's audit entry.
  nlohmann::json details = {{"serial", issued.record.serial_hex}};
  details.update(detail::link_requested_certificate(ctx, id, issued.record.serial_hex));
  detail::transition(ctx, id, State::issued, actor, "serial " + issued.record.serial_hex, details);
  db::Statement up(ctx.db, "UPDATE ra_applications SET certificate_serial = ?, issued_at = ? WHERE id = ?");
  up.bind(1, issued.record.serial_hex).bind(2, issued.record.issued_at).bind(3, id).exec();
  enqueue_mail(ctx.db,
               {app.form.email, "certificate_issued", "ja",
                {{"name", app.form.name_kanji}, {"serial", issued.record.serial_hex},
                 {"not_after", issued.record.not_after}, {"subject", issued.record.subject}}},
               ctx.clock());
  tx.commit();
  // A renewal replaces the earlier certificate: revoke it as superseded now that the new one exists.
  if (app.renewal_of) {
    Application old = get_application(ctx, *app.renewal_of);
    if (old.certificate_serial) {
      auto rec = ca.find(*old.certificate_serial);
      if (rec && !rec->revoked_at && rec->not_after > ctx.clock()) {
        try {
          ca.revoke(*old.certificate_serial, ca::RevocationReason::superseded, std::nullopt, {actor});
        } catch (const Error& e) {
          throw Error(e.kind(), "certificate " + issued.record.serial_hex + " was issued, but revoking the certificate "
                                "it replaces (" + *old.certificate_serial + ") failed: " + e.what() +
                                "; revoke it with jitsuin ra revocation-request");
        }
      }
    }
  }
  return issued;
}

}  // namespace jitsuin::ra
