// Handlers the browser consoles' admin pages need (issue 11, "webadmin"):
//  - ra.outbox.list / ra.outbox.retry: the outbox and its failed mails for RA operators (outbox.list
//    stays the CA host's local command); never a mail's parameters or text, which may hold a PIN;
//  - audit.list: the audit entries for auditors and administrators, beside audit.verify, paged back
//    from the newest (before_seq);
//  - company.account.change_holder, company.mails, company.logout_all: a company admin changes a
//    user ID's holder (seed 003, 利用者変更), reads the notification mails its company was sent,
//    and logs out everywhere. The company is always the session's (company_handlers.cpp).
#include <deque>

#include "jitsuin/api/handler.h"
#include "jitsuin/api/render.h"
#include "jitsuin/api/request.h"
#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/company_session.h"
#include "jitsuin/ra/mail_admin.h"
#include "jitsuin/ra/paging.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

json outbox_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto state = f.opt_text("state");
  auto page = page_of(f, "before_id");
  f.done();
  auto mails = ra::list_mails(s.ra(), authenticate(s, c), state, page);
  json out = json::array();
  for (const auto& e : mails.rows) out.push_back(render_outbox_entry(e));
  return paged(std::move(out), mails.next);
}

json outbox_retry(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  return render_outbox_entry(ra::retry_mail(s.ra(), authenticate(s, c), id));
}

// One page of verified entries, newest first: the `limit` newest with seq < before_seq (a replay
// of audit.verify's walk keeps them: constant memory, at most limit + 1 entries), and the cursor of
// the next page when an older matching entry verified too. A broken chain lists what verified up to
// the break; audit.verify says where.
class Newest : public db::AuditReplay {
 public:
  Newest(const ra::PageRequest& page, std::string action)
      : limit_(static_cast<std::size_t>(page.limit)), before_(ra::before_bound(page)), action_(std::move(action)) {}
  void entry(const db::AuditEntry& e) override {
    if (e.seq >= before_ || (!action_.empty() && !e.action.starts_with(action_))) return;
    json details = json::parse(e.details, nullptr, false);
    kept_.push_back({{"seq", e.seq},
                     {"at", format_rfc3339(e.at)},
                     {"actor", e.actor},
                     {"action", e.action},
                     {"object", e.object},
                     {"details", details.is_discarded() ? json(std::string(e.details)) : details}});
    if (kept_.size() > limit_) {
      kept_.pop_front();
      older_ = true;
    }
  }
  void finish(db::Database&) override {}
  json page() const {
    std::optional<std::int64_t> next;
    if (older_) next = kept_.front()["seq"].get<std::int64_t>();
    return paged(json(std::vector<json>(kept_.rbegin(), kept_.rend())), next);
  }

 private:
  std::size_t limit_;
  std::int64_t before_;
  std::string action_;
  std::deque<json> kept_;
  bool older_ = false;   // a matching entry older than the oldest kept
};

json audit_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto page = page_of(f, "before_seq");
  auto action = f.opt_text("action").value_or("");
  f.done();
  ra::check_page(page, "before_seq");
  auto who = authenticate(s, c);
  who.require_operator("read the audit log");
  if (who.role() != ra::Role::auditor && who.role() != ra::Role::administrator)
    throw Error(ErrorKind::forbidden, "operator " + who.name() + " (role " + ra::role_name(who.role()) +
                                          ") may not read the audit log: auditors and administrators only");
  Newest newest(page, action);
  auto report = db::verify_audit(s.db(), &newest);
  json out = newest.page();
  out["checked"] = report.entries;
  out["ok"] = report.ok;
  return out;
}

json company_change_holder(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string login_id = f.text("login_id"), name = f.text("name");
  std::string department = f.opt_text("department").value_or(""), email = f.text("email");
  f.done();
  return render(ra::change_account_holder(s.ra(), authenticate_company(s, c), login_id, name, department, email));
}

json company_mails(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto page = page_of(f, "before_id");
  f.done();
  auto mails = ra::company_mails(s.ra(), authenticate_company(s, c), page);
  json out = json::array();
  for (const auto& m : mails.rows) {
    json j = render_outbox_entry(m.entry);
    j["subject"] = m.subject ? json(*m.subject) : json(nullptr);
    j["body"] = m.body ? json(*m.body) : json(nullptr);
    out.push_back(j);
  }
  return paged(std::move(out), mails.next);
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
