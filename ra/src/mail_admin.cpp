#include "jitsuin/ra/mail_admin.h"

#include <algorithm>
#include <set>

#include "jitsuin/core/error.h"
#include "mail_templates.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

OutboxEntry entry_of(RaContext& ctx, std::int64_t id) {
  for (auto& e : list_outbox(ctx.db, ctx.config))
    if (e.id == id) return e;
  throw Error(ErrorKind::not_found, "no mail " + std::to_string(id) + " in the outbox");
}

// Addresses that name the company: its IDs' and its request contacts'.
std::set<std::string> addresses(RaContext& ctx, const std::string& sql, std::int64_t company_id) {
  db::Statement st(ctx.db, sql);
  st.bind(1, company_id);
  std::set<std::string> out;
  while (st.step()) out.insert(st.text(0));
  return out;
}

constexpr const char* kOwnAddresses =
    "SELECT email FROM ra_accounts WHERE company_id = ?1 "
    "UNION SELECT contact_email FROM ra_certificate_requests WHERE company_id = ?1";
constexpr const char* kOtherAddresses =
    "SELECT email FROM ra_accounts WHERE company_id <> ?1 "
    "UNION SELECT contact_email FROM ra_certificate_requests WHERE company_id <> ?1";

}  // namespace

std::vector<OutboxEntry> list_mails(RaContext& ctx, const Principal& by, const std::optional<std::string>& state) {
  detail::require_read(by, "read the outbox");
  return list_outbox(ctx.db, ctx.config, state);
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

std::vector<CompanyMail> company_mails(RaContext& ctx, const Principal& by) {
  if (by.kind() != PrincipalKind::company_admin)
    throw Error(ErrorKind::forbidden, principal_kind_name(by.kind()) + " " + by.name() +
                                          " may not read a company's mails: its company admin only");
  auto own = addresses(ctx, kOwnAddresses, by.company_id());
  for (const auto& a : addresses(ctx, kOtherAddresses, by.company_id())) own.erase(a);
  std::vector<CompanyMail> out;
  for (auto& e : list_outbox(ctx.db, ctx.config)) {
    if (!own.contains(e.to)) continue;
    CompanyMail m{std::move(e), std::nullopt, std::nullopt};
    if (!mail::carries_secret(m.entry.template_name)) {
      auto p = ctx.db.cached("SELECT params FROM outbox WHERE id = ?");   // once per listed mail
      p->bind(1, m.entry.id);
      p->step();
      try {
        auto text = mail::render(m.entry.template_name, m.entry.language, json::parse(p->text(0)));
        m.subject = text.subject;
        m.body = text.body;
      } catch (const std::exception&) {
        // A row that no longer renders (a template changed since) is listed without its text.
      }
    }
    out.push_back(std::move(m));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace jitsuin::ra
