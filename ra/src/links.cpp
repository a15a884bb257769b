#include "jitsuin/ra/links.h"

#include <map>

#include "jitsuin/ca/store.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/outbox.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

constexpr const char* kSelect =
    "SELECT l.serial, a.login_id, l.linked_by, l.linked_at, l.unlinked_by, l.unlinked_at "
    "FROM ra_certificate_links l JOIN ra_accounts a ON a.id = l.account_id ";

CertificateLink read(db::Statement& st) {
  return {st.text(0), st.text(1), st.text(2), st.int64(3), st.opt_text(4), st.opt_int64(5)};
}

void notify(RaContext& ctx, std::int64_t company_id, const Account& user, const std::string& serial,
            const std::string& change, const std::string& actor, bool mail_user) {
  UnixTime now = ctx.clock();
  json params = {{"user_id", user.login_id}, {"serial", serial}, {"change", change}, {"changed_by", actor}};
  for (const auto& a : detail::list_accounts(ctx, company_id)) {
    if (a.kind != "company" || a.disabled) continue;
    params["name"] = a.name;
    enqueue_mail(ctx.db, {a.email, "link_changed", "ja", params}, now);
  }
  if (mail_user) {
    params["name"] = user.name;
    enqueue_mail(ctx.db, {user.email, "link_changed", "ja", params}, now);
  }
}

}  // namespace

namespace detail {

Account live_company_admin(RaContext& ctx, const Principal& who) {
  if (who.kind() != PrincipalKind::company_admin)
    throw Error(ErrorKind::forbidden, principal_kind_name(who.kind()) + " '" + who.name() +
                                          "' is not a company admin ID (企業ID)");
  Account a = detail::get_account(ctx, who.name());
  if (a.id != who.id() || a.kind != "company")
    throw Error(ErrorKind::forbidden, "'" + who.name() + "' is not a company admin ID (企業ID)");
  if (a.disabled) throw Error(ErrorKind::forbidden, "company ID " + who.name() + " is disabled");
  if (a.locked) throw Error(ErrorKind::forbidden, "company ID " + who.name() + " is locked");
  return a;
}

Account company_user(RaContext& ctx, std::int64_t company_id, const std::string& login_id) {
  Account a = detail::get_account(ctx, login_id);
  if (a.company_id != company_id) throw Error(ErrorKind::forbidden, "user ID " + login_id + " belongs to another company");
  JITSUIN_ARG_CHECK(a.kind == "user", login_id + " is a company ID; certificates are linked to user IDs");
  if (a.disabled) throw Error(ErrorKind::conflict, "user ID " + login_id + " is disabled");
  return a;
}

std::int64_t link_certificate(RaContext& ctx, const std::string& linked_by, std::int64_t company_id,
                              const Account& user, const std::string& serial) {
  try {
    db::Statement ins(ctx.db,
                      "INSERT INTO ra_certificate_links (account_id, serial, linked_by, linked_at) VALUES (?, ?, ?, ?)");
    ins.bind(1, user.id).bind(2, serial).bind(3, linked_by).bind(4, ctx.clock()).exec();
  } catch (const db::DbError& e) {
    if (e.is_unique_violation())
      throw Error(ErrorKind::conflict, "certificate " + serial + " is already linked to " + user.login_id);
    throw;
  }
  std::int64_t id = ctx.db.last_insert_rowid();
  notify(ctx, company_id, user, serial, "link", linked_by, true);
  return id;
}

}  // namespace detail

std::vector<CertificateLink> change_certificate_link(RaContext& ctx, const Principal& by, std::int64_t company_id,
                                                     const LinkChange& change) {
  // RA-8: the company admin of this company, or an RA operator who may enter data.
  if (by.is_operator())
    by.require(Permission::enter, "change certificate links");
  else if (!by.is_company_admin_of(company_id))
    throw Error(ErrorKind::forbidden, principal_kind_name(by.kind()) + " " + by.name() +
                                          " may not change the certificate links of company " +
                                          std::to_string(company_id));
  const std::string actor = by.actor();
  JITSUIN_ARG_CHECK(change.link || change.unlink, "give a user ID to link, to unlink, or both");
  JITSUIN_ARG_CHECK(!(change.link && change.unlink && *change.link == *change.unlink),
                    "the same user ID cannot be linked and unlinked in one update");
  std::string serial = ca::normalize_serial(change.serial);
  UnixTime now = ctx.clock();
  db::Transaction tx(ctx.db);
  if (!by.is_operator()) detail::live_company_admin(ctx, by);   // still enabled and unlocked
  // The certificate must have been issued through the RA to this company.
  db::Statement own(ctx.db,
                    "SELECT b.company_id FROM ra_applications a JOIN ra_bundles b ON b.id = a.bundle_id "
                    "WHERE a.certificate_serial = ?");
  own.bind(1, serial);
  if (!own.step()) throw Error(ErrorKind::not_found, "no certificate " + serial + " was issued through the RA");
  if (own.int64(0) != company_id)
    throw Error(ErrorKind::forbidden, "certificate " + serial + " was issued to another company");
  json details = json::object();   // one entry for the update, whether it links, unlinks or both
  if (change.unlink) {
    Account u = detail::company_user(ctx, company_id, *change.unlink);
    db::Statement up(ctx.db,
                     "UPDATE ra_certificate_links SET unlinked_by = ?, unlinked_at = ? "
                     "WHERE account_id = ? AND serial = ? AND unlinked_at IS NULL");
    up.bind(1, actor).bind(2, now).bind(3, u.id).bind(4, serial).exec();
    if (ctx.db.changes() != 1)
      throw Error(ErrorKind::conflict, "certificate " + serial + " is not linked to " + u.login_id);
    details["unlink"] = u.login_id;
    notify(ctx, company_id, u, serial, "unlink", actor, false);
  }
  if (change.link) {
    Account u = detail::company_user(ctx, company_id, *change.link);
    auto cert = ca::CertificateStore(ctx.db, ctx.clock).status(serial);
    if (!cert) throw Error(ErrorKind::not_found, "certificate " + serial + " is not in the CA database");
    if (cert->revoked()) throw Error(ErrorKind::conflict, "certificate " + serial + " is revoked; it cannot be linked");
    if (cert->not_after <= now) throw Error(ErrorKind::conflict, "certificate " + serial + " has expired; it cannot be linked");
    detail::link_certificate(ctx, actor, company_id, u, serial);
    details["link"] = u.login_id;
  }
  detail::audit(ctx, actor, "ra.link.change", "certificate:" + serial, details);
  tx.commit();
  std::vector<CertificateLink> out;
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE l.serial = ? AND l.unlinked_at IS NULL ORDER BY l.id");
  st.bind(1, serial);
  while (st.step()) out.push_back(read(st));
  return out;
}

std::vector<CertificateLink> detail::list_links(RaContext& ctx, std::int64_t company_id, bool with_history) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE a.company_id = ? AND (? OR l.unlinked_at IS NULL) ORDER BY l.id");
  st.bind(1, company_id).bind(2, with_history ? 1 : 0);
  std::vector<CertificateLink> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

std::vector<CompanyCertificate> detail::company_certificates(RaContext& ctx, std::int64_t company_id) {
  struct Issued {
    std::int64_t application;
    std::string serial, holder, holder_romaji;
  };
  std::vector<Issued> issued;
  {
    db::Statement st(ctx.db,
                     "SELECT a.id, a.certificate_serial, a.name_kanji, a.name_romaji FROM ra_applications a "
                     "JOIN ra_bundles b ON b.id = a.bundle_id WHERE b.company_id = ? AND a.certificate_serial IS NOT NULL "
                     "ORDER BY a.id");
    st.bind(1, company_id);
    while (st.step()) issued.push_back({st.int64(0), st.text(1), st.text(2), st.text(3)});
  }
  std::vector<std::string> serials;
  for (const auto& i : issued) serials.push_back(i.serial);
  std::map<std::string, ca::CertificateStatus> certs;
  for (auto& c : ca::CertificateStore(ctx.db, ctx.clock).statuses(serials)) certs.emplace(c.serial_hex, std::move(c));
  UnixTime now = ctx.clock();
  auto links = detail::list_links(ctx, company_id);
  std::vector<CompanyCertificate> out;
  for (const auto& i : issued) {
    auto it = certs.find(ca::normalize_serial(i.serial));
    if (it == certs.end()) continue;
    const auto& cert = it->second;
    const auto& revoked = cert.revocation_effective;
    CompanyCertificate c;
    c.application_id = i.application;
    c.serial = i.serial;
    c.holder = i.holder;
    c.holder_romaji = i.holder_romaji;
    c.not_before = cert.not_before;
    c.not_after = cert.not_after;
    c.status = revoked && *revoked <= now ? "revoked"
               : cert.not_after <= now    ? "expired"
               : revoked                  ? "revocation pending"
                                          : "valid";
    for (const auto& l : links)
      if (l.serial == i.serial) c.users.push_back(l.login_id);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<CertificateLink> list_links(RaContext& ctx, const Principal& by, std::int64_t company_id,
                                        bool with_history) {
  detail::require_company_read(by, company_id, "list certificate links");
  return detail::list_links(ctx, company_id, with_history);
}

std::vector<CompanyCertificate> company_certificates(RaContext& ctx, const Principal& by, std::int64_t company_id) {
  detail::require_company_read(by, company_id, "list a company's certificates");
  return detail::company_certificates(ctx, company_id);
}

}  // namespace jitsuin::ra
