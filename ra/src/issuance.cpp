#include "jitsuin/ra/issuance.h"

#include "jitsuin/core/error.h"
#include "jitsuin/core/fault.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/outbox.h"
#include "jitsuin/ca/profile.h"
#include "ra_core.h"

namespace jitsuin::ra {

namespace {

// The certificate an issued application already has (the idempotent answer to a repeated request).
ca::IssuedCertificate existing_certificate(ca::CertificateAuthority& ca, std::int64_t id, const std::string& serial) {
  auto rec = ca.store().find(serial);
  if (!rec)
    throw Error(ErrorKind::internal, "application " + std::to_string(id) + " is issued with certificate " + serial +
                                         ", which is not in the CA database");
  return ca.with_chain(std::move(*rec));
}

Error not_enrolled(std::int64_t id, State state) {
  return Error(ErrorKind::conflict, "application " + std::to_string(id) + " is " + state_name(state) +
                                        "; a certificate is issued only for an enrolled application");
}

}  // namespace

ca::IssuedCertificate issue_for_application(RaContext& ctx, ca::CertificateAuthority& ca, std::int64_t id,
                                            const std::string& actor,
                                            const std::function<std::string()>& in_transaction) {
  Application app = detail::get_application(ctx, id);
  if (app.state == State::issued && app.certificate_serial) return existing_certificate(ca, id, *app.certificate_serial);
  if (app.state != State::enrolled) throw not_enrolled(id, app.state);
  std::string csr;
  {
    db::Statement st(ctx.db, "SELECT csr FROM ra_applications WHERE id = ?");
    st.bind(1, id);
    st.step();
    csr = st.opt_text(0).value_or("");
  }
  if (csr.empty()) throw Error(ErrorKind::internal, "enrolled application " + std::to_string(id) + " has no CSR");
  ca::IssueRequest req;
  req.profile = app.form.profile;
  req.csr = csr;
  req.subject = detail::profile_subject(ca::load_profile(ctx.config.ca.profiles_dir, app.form.profile), app.form);
  req.days = app.form.validity_years * 365;
  // A coupon's re-issue ends with what the coupon bought, not a fresh full term (issue 20, item 12):
  // whole days, so never past that end.
  if (auto end = detail::coupon_reissue_end(ctx, id)) {
    const std::int64_t left = (*end - ctx.clock()) / 86400;
    if (left < 1)
      throw Error(ErrorKind::conflict, "the certificate S/MIME coupon application " + std::to_string(id) +
                                           " re-issues would end on " + format_rfc3339(*end) +
                                           ", less than a day from now; a new certificate needs a new coupon");
    req.days = std::min<std::int64_t>(*req.days, left);
  }
  // The slow part (CSR checks, the token's signature) before the write lock. Two requests for one
  // application may both sign; only the first to take the lock records its certificate.
  ca::PreparedCertificate prepared = ca.sign_certificate(req);
  test_crash_point("issue.after_sign");

  // One transaction: the certificate, the application's new state, the link of a company admin's
  // request, the superseded revocation of a renewal, the mail and one audit entry. A crash before
  // the commit leaves nothing; after it, everything.
  db::Transaction tx(ctx.db);
  app = detail::get_application(ctx, id);   // again, under the write lock
  if (app.state == State::issued && app.certificate_serial) return existing_certificate(ca, id, *app.certificate_serial);
  if (app.state != State::enrolled) throw not_enrolled(id, app.state);
  std::string credential = in_transaction ? in_transaction() : std::string();
  nlohmann::json ca_details;
  ca::CertificateRecord record = ca.record_certificate(prepared, ca_details);
  const std::string& serial = record.serial_hex;
  nlohmann::json details = {{"serial", serial}, {"certificate", ca_details}};
  // A company admin's additional request (RA-8) is linked to its user ID here.
  details.update(detail::link_requested_certificate(ctx, id, serial));
  // A renewal replaces the earlier certificate: it is revoked as superseded with the new one. So
  // does a new S/MIME certificate for an address (one certificate per address, seed 004).
  std::vector<std::string> superseded;
  if (app.renewal_of) {
    Application old = detail::get_application(ctx, *app.renewal_of);
    if (old.certificate_serial) superseded.push_back(*old.certificate_serial);
  }
  if (app.form.profile == "smime") {
    db::Statement st(ctx.db, "SELECT certificate_serial FROM ra_applications WHERE profile = 'smime' AND id != ? "
                             "AND lower(email) = lower(?) AND certificate_serial IS NOT NULL ORDER BY id");
    st.bind(1, id).bind(2, app.form.email);
    while (st.step()) superseded.push_back(st.text(0));
  }
  for (const auto& old_serial : superseded) {
    auto status = ca.store().status(old_serial);
    if (status && !status->revoked() && status->not_after > ctx.clock()) {
      nlohmann::json revocation = {{"serial", old_serial}};
      ca.store().record_revocation({old_serial, ca::RevocationReason::superseded, std::nullopt}, revocation);
      if (!details.contains("superseded")) details["superseded"] = revocation;
      else {
        if (!details["superseded"].is_array()) details["superseded"] = nlohmann::json::array({details["superseded"]});
        details["superseded"].push_back(revocation);
      }
    }
  }
  if (!credential.empty()) details["credential"] = credential;
  detail::transition(ctx, id, State::issued, actor, "serial " + serial, details);
  db::Statement up(ctx.db, "UPDATE ra_applications SET certificate_serial = ?, issued_at = ? WHERE id = ?");
  up.bind(1, serial).bind(2, record.issued_at).bind(3, id).exec();
  enqueue_mail(ctx.db,
               {app.form.email, "certificate_issued", "ja",
                {{"name", app.form.name_kanji}, {"serial", serial}, {"not_after", record.not_after},
                 {"subject", record.subject}}},
               ctx.clock());
  test_crash_point("issue.before_commit");
  tx.commit();
  test_crash_point("issue.after_commit");
  return ca.with_chain(std::move(record), std::move(prepared.certificate));
}

}  // namespace jitsuin::ra
