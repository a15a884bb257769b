// jitsuin outbox deliver|list: the RA-10 notification outbox.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "jitsuin/ra/outbox.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

int outbox_deliver(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  if (!a.positional().empty()) throw UsageError("outbox deliver takes no arguments");
  Context ctx(g);
  auto report = ra::deliver_outbox(ctx.db(), ctx.config(), ctx.clock());
  std::cout << "sent " << report.sent << ", deferred " << report.deferred << ", failed " << report.failed << "\n";
  if (report.failed > 0)
    std::cerr << "jitsuin: " << report.failed << " mail(s) could not be delivered; see: jitsuin outbox list --state failed\n";
  return report.failed > 0 ? 1 : 0;
}

std::string time_or_dash(const std::optional<UnixTime>& t) { return t ? format_rfc3339(*t) : "-"; }

int outbox_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"state"}, {"json"});
  if (!a.positional().empty()) throw UsageError("outbox list takes no positional arguments");
  Context ctx(g);
  auto entries = ra::list_outbox(ctx.db(), ctx.config(), a.get("state"));
  if (a.flag("json")) {
    json out = json::array();
    for (const auto& e : entries) {
      json j = {{"id", e.id},
                {"created_at", format_rfc3339(e.created_at)},
                {"to", e.to},
                {"template", e.template_name},
                {"language", e.language},
                {"state", e.state},
                {"attempts", e.attempts},
                {"next_attempt_at", format_rfc3339(e.next_attempt_at)},
                {"message_id", e.message_id}};
      j["claimed_at"] = e.claimed_at ? json(format_rfc3339(*e.claimed_at)) : json(nullptr);
      j["sent_at"] = e.sent_at ? json(format_rfc3339(*e.sent_at)) : json(nullptr);
      j["last_error"] = e.last_error ? json(*e.last_error) : json(nullptr);
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (entries.empty()) {
    std::cout << "no mails" << (a.get("state") ? " in state " + *a.get("state") : std::string()) << "\n";
    return 0;
  }
  for (const auto& e : entries) {
    std::cout << e.id << "  " << e.state << "  " << e.template_name << "/" << e.language << "  " << e.to
              << "  queued " << format_rfc3339(e.created_at) << "  attempts " << e.attempts;
    if (e.state == "pending") std::cout << "  next " << format_rfc3339(e.next_attempt_at);
    if (e.state == "sent") std::cout << "  sent " << time_or_dash(e.sent_at);
    if (e.state == "sending") std::cout << "  claimed " << time_or_dash(e.claimed_at);
    std::cout << "\n";
    if (e.last_error) std::cout << "    last error: " << *e.last_error << "\n";
  }
  return 0;
}

const CommandRegistrar kRegistrar({
    {"outbox", "deliver", "outbox deliver",
     "Delivers every due notification mail: by SMTP when mail.smtp_url is set, else into the maildir\n"
     "under home. Failed attempts are retried later with exponential backoff; after mail.max_attempts\n"
     "the mail is marked failed. Meant for cron; exits 1 when a mail was given up on in this run.",
     outbox_deliver},
    {"outbox", "list", "outbox list [--state pending|sending|sent|failed] [--json]",
     "Lists queued and delivered notification mails with their state, attempts and last error\n"
     "(never their content: it may hold a PIN).",
     outbox_list},
});

}  // namespace

}  // namespace jitsuin::cli
