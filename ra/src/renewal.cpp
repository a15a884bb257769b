#include "jitsuin/ra/renewal.h"

#include <algorithm>
#include <set>

#include "jitsuin/ca/store.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/outbox.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

constexpr UnixTime kDay = 86400;
constexpr UnixTime kRenewAfterExpiry = 365 * kDay;   // "expired less than one year ago"

struct CertState {
  UnixTime not_after = 0;
  bool revoked = false;
};

// The certificate's validity as the CA recorded it.
std::optional<CertState> certificate_state(RaContext& ctx, const std::string& serial_hex) {
  auto cert = ca::CertificateStore(ctx.db, ctx.clock).status(serial_hex);
  if (!cert) return std::nullopt;
  return CertState{cert->not_after, cert->revoked()};
}

bool notice_sent(RaContext& ctx, const std::string& serial) {
  db::Statement st(ctx.db, "SELECT EXISTS (SELECT 1 FROM ra_expiry_notices WHERE serial = ?)");
  st.bind(1, serial);
  st.step();
  return st.int64(0) != 0;
}

}  // namespace

std::vector<ExpiryNotice> send_expiry_notices(RaContext& ctx, const std::string& actor) {
  std::vector<int> offsets = ctx.config.ra.expiry_notice_days;
  std::sort(offsets.begin(), offsets.end());   // nearest window first
  struct Candidate {
    std::int64_t app;
    std::string serial, email, name;
  };
  std::vector<Candidate> issued;
  {
    db::Statement st(ctx.db,
                     "SELECT id, certificate_serial, email, name_kanji FROM ra_applications "
                     "WHERE state = 'issued' AND certificate_serial IS NOT NULL ORDER BY id");
    while (st.step()) issued.push_back({st.int64(0), st.text(1), st.text(2), st.text(3)});
  }
  std::vector<ExpiryNotice> sent;
  for (const auto& c : issued) {
    UnixTime now = ctx.clock();
    auto cert = certificate_state(ctx, c.serial);
    if (!cert || cert->revoked || cert->not_after <= now) continue;
    std::optional<int> window;
    for (int d : offsets)
      if (cert->not_after - now <= static_cast<UnixTime>(d) * kDay) {
        window = d;
        break;
      }
    if (!window) continue;
    db::Transaction tx(ctx.db);
    db::Statement ins(ctx.db,
                      "INSERT INTO ra_expiry_notices (serial, days_before, sent_at) VALUES (?, ?, ?) "
                      "ON CONFLICT (serial, days_before) DO NOTHING");
    ins.bind(1, c.serial).bind(2, *window).bind(3, now).exec();
    if (ctx.db.changes() == 0) continue;   // this window's notice went out already
    long days_left = static_cast<long>((cert->not_after - now + kDay - 1) / kDay);
    json params = {{"name", c.name}, {"serial", c.serial}, {"not_after", cert->not_after},
                   {"days_left", std::to_string(days_left)}};
    enqueue_mail(ctx.db, {c.email, "expiry_notice", "ja", params}, now);
    // The company admins (企業ID holders) renew on the holder's behalf: they are told too.
    db::Statement admins(ctx.db,
                         "SELECT DISTINCT ac.name, ac.email FROM ra_accounts ac JOIN ra_bundles b ON b.company_id = ac.company_id "
                         "JOIN ra_applications a ON a.bundle_id = b.id WHERE a.id = ? AND ac.kind = 'company' "
                         "AND ac.disabled_at IS NULL AND ac.email <> ?");
    admins.bind(1, c.app).bind(2, c.email);
    while (admins.step()) {
      params["name"] = admins.text(0);
      enqueue_mail(ctx.db, {admins.text(1), "expiry_notice", "ja", params}, now);
    }
    detail::audit(ctx, actor, "ra.expiry_notice", "application:" + std::to_string(c.app),
                  {{"serial", c.serial}, {"days_before", *window}, {"not_after", format_rfc3339(cert->not_after)}});
    tx.commit();
    sent.push_back({c.app, c.serial, c.email, *window, cert->not_after});
  }
  return sent;
}

RenewalEligibility detail::renewal_eligibility(RaContext& ctx, std::int64_t id) {
  Application app = detail::get_application(ctx, id);
  if (app.state != State::issued || !app.certificate_serial)
    return {false, "application " + std::to_string(id) + " is " + state_name(app.state) + ", not issued"};
  auto cert = certificate_state(ctx, *app.certificate_serial);
  if (!cert) return {false, "certificate " + *app.certificate_serial + " is not in the CA database"};
  if (cert->revoked)
    return {false, "certificate " + *app.certificate_serial + " is revoked; a new application is needed"};
  UnixTime now = ctx.clock();
  if (cert->not_after <= now) {
    if (now - cert->not_after < kRenewAfterExpiry)
      return {true, "expired on " + format_rfc3339(cert->not_after) + ", less than a year ago"};
    return {false, "certificate " + *app.certificate_serial + " expired on " + format_rfc3339(cert->not_after) +
                       ", more than a year ago; a new application is needed"};
  }
  if (notice_sent(ctx, *app.certificate_serial)) return {true, "the expiry notice was sent"};
  return {false, "certificate " + *app.certificate_serial + " is valid until " + format_rfc3339(cert->not_after) +
                     " and its expiry notice has not been sent yet"};
}

std::int64_t create_renewal(RaContext& ctx, const Principal& by, std::int64_t from, std::int64_t bundle_id,
                            const ApplicantChanges& changes) {
  by.require(Permission::enter, "enter renewal applications");
  db::Transaction tx(ctx.db);
  auto e = detail::renewal_eligibility(ctx, from);
  if (!e.eligible) throw Error(ErrorKind::conflict, "application " + std::to_string(from) + " cannot be renewed: " + e.reason);
  Application old = detail::get_application(ctx, from);
  Bundle b = detail::get_bundle(ctx, bundle_id);
  detail::require_paper_bundle(ctx, bundle_id, "take a renewal application");
  if (b.company_id != old.company_id)
    throw Error(ErrorKind::invalid_input, "bundle " + std::to_string(bundle_id) + " belongs to another company");
  for (const auto& a : b.applications)
    if (a.state != State::received && a.state != State::incomplete && a.state != State::resubmitted &&
        a.state != State::rejected && a.state != State::withdrawn)
      throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) + " has been checked already");
  db::Statement dup(ctx.db,
                    "SELECT id FROM ra_applications WHERE renewal_of = ? AND state NOT IN ('rejected', 'withdrawn')");
  dup.bind(1, from);
  if (dup.step())
    throw Error(ErrorKind::conflict, "application " + std::to_string(from) + " is already being renewed by application " +
                                         std::to_string(dup.int64(0)));
  std::vector<std::string> changed;
  ApplicantInput a = changes.apply(old.form, &changed);
  // A renewal is the same person's certificate again (RA-7): department, title and e-mail may
  // change (and validity, profile, the company's romaji name), never who the person is or where
  // the restricted-delivery mail reaches them. Another person needs a new application (RA-6).
  static const std::set<std::string> kPersonal = {"name_kanji", "name_kana", "name_romaji", "postcode", "home_address"};
  std::string personal;
  for (const auto& field : changed)
    if (kPersonal.count(field)) personal += (personal.empty() ? "" : ", ") + field;
  JITSUIN_ARG_CHECK(personal.empty(), "a renewal may change department, title and e-mail, never the person (" + personal +
                                          " changed): the new holder needs a new application");
  validate_applicant(ctx, a);
  // One entry: the application's creation, naming what it renews.
  std::int64_t id = detail::insert_application(
      ctx, by.actor(), bundle_id, a, from,
      {{"renewal_of", from}, {"serial", *old.certificate_serial}, {"eligible", e.reason}});
  tx.commit();
  return id;
}

RenewalEligibility renewal_eligibility(RaContext& ctx, const Principal& by, std::int64_t application_id) {
  detail::require_read(by, "check renewal eligibility");
  return detail::renewal_eligibility(ctx, application_id);
}

// webra (issue 11)
std::vector<ExpiringCertificate> list_expiring(RaContext& ctx, const Principal& by, int within_days) {
  detail::require_read(by, "list expiring certificates");
  JITSUIN_ARG_CHECK(within_days >= 1 && within_days <= 3660, "within_days must be between 1 and 3660");
  UnixTime now = ctx.clock();
  std::vector<ExpiringCertificate> out;
  db::Statement st(ctx.db,
                   "SELECT a.id, a.bundle_id, b.company_id, c.name, a.name_kanji, a.name_kana, a.name_romaji, a.email, "
                   "a.certificate_serial FROM ra_applications a JOIN ra_bundles b ON b.id = a.bundle_id "
                   "JOIN ra_companies c ON c.id = b.company_id "
                   "WHERE a.state = 'issued' AND a.certificate_serial IS NOT NULL ORDER BY a.id");
  while (st.step()) {
    ExpiringCertificate e;
    e.application_id = st.int64(0);
    e.bundle_id = st.int64(1);
    e.company_id = st.int64(2);
    e.company_name = st.text(3);
    e.name_kanji = st.text(4);
    e.name_kana = st.text(5);
    e.name_romaji = st.text(6);
    e.email = st.text(7);
    e.serial = st.text(8);
    auto cert = certificate_state(ctx, e.serial);
    if (!cert || cert->revoked) continue;
    if (cert->not_after - now > static_cast<UnixTime>(within_days) * kDay) continue;
    if (now - cert->not_after >= kRenewAfterExpiry) continue;
    e.not_after = cert->not_after;
    out.push_back(std::move(e));
  }
  db::Statement notices(ctx.db, "SELECT days_before, sent_at FROM ra_expiry_notices WHERE serial = ? ORDER BY sent_at, id");
  db::Statement renewal(ctx.db,
                        "SELECT id FROM ra_applications WHERE renewal_of = ? AND state NOT IN ('rejected', 'withdrawn') "
                        "ORDER BY id DESC LIMIT 1");
  for (auto& e : out) {
    notices.reset();
    notices.bind(1, e.serial);
    while (notices.step()) e.notices.push_back({static_cast<int>(notices.int64(0)), notices.int64(1)});
    renewal.reset();
    renewal.bind(1, e.application_id);
    if (renewal.step()) e.renewal_id = renewal.int64(0);
    e.eligibility = detail::renewal_eligibility(ctx, e.application_id);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.not_after < y.not_after; });
  return out;
}

}  // namespace jitsuin::ra
