// jitsuin outbox deliver|list: the RA-10 notification outbox; adapters over outbox.deliver and
// outbox.list of jitsuin_api.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_call.h"
#include "cli/commands.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

int outbox_deliver(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  if (!a.positional().empty()) throw UsageError("outbox deliver takes no arguments");
  Context ctx(g);
  json r = call_api(ctx, "outbox.deliver", json::object());
  auto failed = r["failed"].get<int>();
  std::cout << "sent " << r["sent"] << ", deferred " << r["deferred"] << ", failed " << failed << "\n";
  if (failed > 0)
    std::cerr << "jitsuin: " << failed << " mail(s) could not be delivered; see: jitsuin outbox list --state failed\n";
  return failed > 0 ? 1 : 0;
}

std::string time_or_dash(const json& t) { return t.is_string() ? t.get<std::string>() : "-"; }

int outbox_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"state"}, {"json"});
  if (!a.positional().empty()) throw UsageError("outbox list takes no positional arguments");
  Context ctx(g);
  json req = json::object();
  if (auto s = a.get("state")) req["state"] = *s;
  json entries = call_api(ctx, "outbox.list", req);
  if (a.flag("json")) {
    print_json(entries);
    return 0;
  }
  if (entries.empty()) {
    std::cout << "no mails" << (a.get("state") ? " in state " + *a.get("state") : std::string()) << "\n";
    return 0;
  }
  for (const auto& e : entries) {
    std::string state = str(e, "state");
    std::cout << e["id"] << "  " << state << "  " << str(e, "template") << "/" << str(e, "language") << "  "
              << str(e, "to") << "  queued " << str(e, "created_at") << "  attempts " << e["attempts"];
    if (state == "pending") std::cout << "  next " << str(e, "next_attempt_at");
    if (state == "sent") std::cout << "  sent " << time_or_dash(e["sent_at"]);
    if (state == "sending") std::cout << "  claimed " << time_or_dash(e["claimed_at"]);
    std::cout << "\n";
    if (e["last_error"].is_string()) std::cout << "    last error: " << str(e, "last_error") << "\n";
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
