// outbox.deliver, outbox.list: the RA-10 notification outbox (cron and the operator's view).
#include "jitsuin/api/handler.h"
#include "jitsuin/api/request.h"
#include "jitsuin/ra/outbox.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

json deliver(Services& s, const Caller&, const json& request) {
  Fields(request).done();
  auto report = ra::deliver_outbox(s.db(), s.config(), s.clock());
  return {{"sent", report.sent}, {"deferred", report.deferred}, {"failed", report.failed}};
}

// The mails' content is never shown: it may hold a PIN.
json list(Services& s, const Caller&, const json& request) {
  Fields f(request);
  auto state = f.opt_text("state");
  f.done();
  json out = json::array();
  for (const auto& e : ra::list_outbox(s.db(), s.config(), state)) out.push_back(render_outbox_entry(e));
  return out;
}

}  // namespace

json render_outbox_entry(const ra::OutboxEntry& e) {
  auto time_or_null = [](const std::optional<UnixTime>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); };
  json j = {{"id", e.id},
            {"created_at", format_rfc3339(e.created_at)},
            {"to", e.to},
            {"template", e.template_name},
            {"language", e.language},
            {"state", e.state},
            {"attempts", e.attempts},
            {"next_attempt_at", format_rfc3339(e.next_attempt_at)},
            {"message_id", e.message_id}};
  j["claimed_at"] = time_or_null(e.claimed_at);
  j["sent_at"] = time_or_null(e.sent_at);
  j["last_error"] = e.last_error ? json(*e.last_error) : json(nullptr);
  return j;
}

void add_outbox_handlers(std::vector<Handler>& out) {
  out.push_back({"outbox.deliver", Access::local, deliver});
  out.push_back({"outbox.list", Access::local, list});
}

}  // namespace jitsuin::api
