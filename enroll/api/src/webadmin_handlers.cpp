// Handlers the browser consoles' admin pages need (issue 11, "webadmin"):
//  - ra.outbox.list / ra.outbox.retry: the outbox and its failed mails for RA operators (outbox.list
//    stays the CA host's local command); never a mail's parameters or text, which may hold a PIN;
//  - audit.list: the newest audit entries for auditors and administrators, beside audit.verify;
//  - company.account.change_holder, company.mails, company.logout_all: a company admin changes a
//    user ID's holder (seed 003, 利用者変更), reads the notification mails its company was sent,
//    and logs out everywhere. The company is always the session's (company_handlers.cpp).
#include <algorithm>
#include <deque>

#include "jitsuin/api/handler.h"
#include "jitsuin/api/render.h"
#include "jitsuin/api/request.h"
#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/company_session.h"
#include "jitsuin/ra/mail_admin.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

json outbox_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto state = f.opt_text("state");
  f.done();
  json out = json::array();
  for (const auto& e : ra::list_mails(s.ra(), authenticate(s, c), state)) out.push_back(render_outbox_entry(e));
  return out;
}

json outbox_retry(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  return render_outbox_entry(ra::retry_mail(s.ra(), authenticate(s, c), id));
}

// The newest `limit` verified entries, newest first (a replay of audit.verify's walk keeps them:
// constant memory). A broken chain lists what verified up to the break; audit.verify says where.
class Newest : public db::AuditReplay {
 public:
  Newest(std::size_t limit, std::string action) : limit_(limit), action_(std::move(action)) {}
  void entry(const db::AuditEntry& e) override {
    if (!action_.empty() && !e.action.starts_with(action_)) return;
    json details = json::parse(e.details, nullptr, false);
    kept_.push_back({{"seq", e.seq},
                     {"at", format_rfc3339(e.at)},
                     {"actor", e.actor},
                     {"action", e.action},
                     {"object", e.object},
                     {"details", details.is_discarded() ? json(std::string(e.details)) : details}});
    if (kept_.size() > limit_) kept_.pop_front();
  }
  void finish(db::Database&) override {}
  json newest_first() const { return json(std::vector<json>(kept_.rbegin(), kept_.rend())); }

 private:
  std::size_t limit_;
  std::string action_;
  std::deque<json> kept_;
};

json audit_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto limit = f.opt_whole("limit").value_or(100);
  auto action = f.opt_text("action").value_or("");
  f.done();
  if (limit < 1 || limit > 1000) throw Error(ErrorKind::invalid_input, "field 'limit' must be 1 to 1000");
  auto who = authenticate(s, c);
  who.require_operator("read the audit log");
  if (who.role() != ra::Role::auditor && who.role() != ra::Role::administrator)
    throw Error(ErrorKind::forbidden, "operator " + who.name() + " (role " + ra::role_name(who.role()) +
                                          ") may not read the audit log: auditors and administrators only");
  Newest newest(static_cast<std::size_t>(limit), action);
  auto report = db::verify_audit(s.db(), &newest);
  return {{"entries", newest.newest_first()}, {"checked", report.entries}, {"ok", report.ok}};
}

json company_change_holder(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string login_id = f.text("login_id"), name = f.text("name");
  std::string department = f.opt_text("department").value_or(""), email = f.text("email");
  f.done();
  return render(ra::change_account_holder(s.ra(), authenticate_company(s, c), login_id, name, department, email));
}

json company_mails(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  json out = json::array();
  for (const auto& m : ra::company_mails(s.ra(), authenticate_company(s, c))) {
    json j = render_outbox_entry(m.entry);
    j["subject"] = m.subject ? json(*m.subject) : json(nullptr);
    j["body"] = m.body ? json(*m.body) : json(nullptr);
    out.push_back(j);
  }
  return out;
}

json company_logout_all(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  // As company.logout: an operator's token (live or not) is told to use session.logout_all.
  if (c.session_token && !ra::is_company_session(s.ra(), *c.session_token) && ra::session_holder(s.ra(), *c.session_token))
    throw Error(ErrorKind::forbidden, "company.logout_all ends a company admin's sessions; operators use session.logout_all");
  return {{"logged_out", true}, {"sessions_ended", ra::end_all_company_sessions(s.ra(), authenticate_company(s, c))}};
}

}  // namespace

void add_webadmin_handlers(std::vector<Handler>& out) {
  out.insert(out.end(), {
                            {"ra.outbox.list", Access::operator_session, outbox_list},
                            {"ra.outbox.retry", Access::operator_session, outbox_retry},
                            {"audit.list", Access::operator_session, audit_list},
                            {"company.account.change_holder", Access::company_session, company_change_holder},
                            {"company.mails", Access::company_session, company_mails},
                            {"company.logout_all", Access::company_session, company_logout_all},
                        });
}

}  // namespace jitsuin::api
