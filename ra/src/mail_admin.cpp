#include "jitsuin/ra/mail_admin.h"

#include "jitsuin/core/error.h"
#include "mail_templates.h"
#include "page_query.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

OutboxEntry entry_of(RaContext& ctx, std::int64_t id) {
  db::Statement st(ctx.db, std::string("SELECT ") + kOutboxEntryColumns + " FROM outbox WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no mail " + std::to_string(id) + " in the outbox");
  return read_outbox_entry(st, ctx.config);
}

// Pages newest first: "id < ?2" (the cursor) in descending id order, one row more than the page
// (?3) to know whether there is a next one. By rowid, by outbox_state (state, id), or, for a
// company, by outbox_recipient (recipient, id) for each of its addresses.
const std::string kAllPage =
    std::string("SELECT ") + kOutboxEntryColumns + " FROM outbox WHERE id < ?2 ORDER BY id DESC LIMIT ?3";
const std::string kStatePage = std::string("SELECT ") + kOutboxEntryColumns +
                               " FROM outbox WHERE state = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3";
// The company's addresses (its IDs' and its request contacts') that no other company has.
const std::string kCompanyPage =
    std::string("SELECT ") + kOutboxEntryColumns +
    ", params FROM outbox WHERE id < ?2 AND recipient IN ("
    "SELECT email FROM ra_accounts WHERE company_id = ?1 "
    "UNION SELECT contact_email FROM ra_certificate_requests WHERE company_id = ?1 "
    "EXCEPT SELECT email FROM ra_accounts WHERE company_id <> ?1 "
    "EXCEPT SELECT contact_email FROM ra_certificate_requests WHERE company_id <> ?1) "
    "ORDER BY id DESC LIMIT ?3";

}  // namespace

std::vector<std::string> mail_page_queries() { return {kAllPage, kStatePage, kCompanyPage}; }

Page<OutboxEntry> list_mails(RaContext& ctx, const Principal& by, const std::optional<std::string>& state,
                             const PageRequest& page) {
  detail::require_read(by, "read the outbox");
  check_page(page, "before_id");
  if (state) check_outbox_state(*state);
  db::Statement st(ctx.db, state ? kStatePage : kAllPage);
  if (state) st.bind(1, *state);
  return detail::read_page<OutboxEntry>(
      st, 2, 3, page, [&](const db::Statement& row) { return read_outbox_entry(row, ctx.config); },
      [](const OutboxEntry& e) { return e.id; });
}

OutboxEntry retry_mail(RaContext& ctx, const Principal& by, std::int64_t id) {
  by.require(Permission::enter, "send failed mails again");
  db::Transaction tx(ctx.db);
  db::Statement st(ctx.db, "SELECT state, template, recipient FROM outbox WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no mail " + std::to_string(id) + " in the outbox");
  const std::string state = st.text(0), template_name = st.text(1), to = st.text(2);
  if (state != "failed")
    throw Error(ErrorKind::conflict, "mail " + std::to_string(id) + " is " + state + "; only failed mails are sent again");
  if (mail::carries_secret(template_name))
    throw Error(ErrorKind::conflict, "mail " + std::to_string(id) + " (" + template_name +
                                         ") carried a secret, discarded when its delivery gave up: issue the PIN "
                                         "or password again instead");
  db::Statement up(ctx.db,
                   "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, claimed_at = NULL "
                   "WHERE id = ? AND state = 'failed'");
  up.bind(1, ctx.clock()).bind(2, id).exec();
  detail::audit(ctx, by.actor(), "ra.mail.retry", "outbox:" + std::to_string(id),
                {{"template", template_name}, {"to", to}});
  tx.commit();
  return entry_of(ctx, id);
}

Page<CompanyMail> company_mails(RaContext& ctx, const Principal& by, const PageRequest& page) {
  if (by.kind() != PrincipalKind::company_admin)
    throw Error(ErrorKind::forbidden, principal_kind_name(by.kind()) + " " + by.name() +
                                          " may not read a company's mails: its company admin only");
  check_page(page, "before_id");
  db::Statement st(ctx.db, kCompanyPage);
  st.bind(1, by.company_id());
  return detail::read_page<CompanyMail>(st, 2, 3, page, [&](const db::Statement& row) {
    CompanyMail m{read_outbox_entry(row, ctx.config), std::nullopt, std::nullopt};
    if (!mail::carries_secret(m.entry.template_name)) {
      try {
        auto text = mail::render(m.entry.template_name, m.entry.language, json::parse(row.text(12)));
        m.subject = text.subject;
        m.body = text.body;
      } catch (const std::exception&) {
        // A row that no longer renders (a template changed since) is listed without its text.
      }
    }
    return m;
  }, [](const CompanyMail& m) { return m.entry.id; });
}

}  // namespace jitsuin::ra
