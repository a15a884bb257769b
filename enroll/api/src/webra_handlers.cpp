// webra (issue 11): what the RA console's renewal page needs beyond the CLI's handlers.
// ra.expiry.list: the certificates coming up for renewal (RA-7), with the expiry notices sent and
// whether ra.renewal.create would take each one now (and why not).
#include <algorithm>

#include "jitsuin/api/handler.h"
#include "jitsuin/api/request.h"
#include "jitsuin/ra/renewal.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

json expiry_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  const auto& offsets = s.config().ra.expiry_notice_days;
  // Default: the widest notice window, so that whatever has had (or is due) a notice is listed.
  std::int64_t within = f.opt_whole("within_days").value_or(*std::max_element(offsets.begin(), offsets.end()));
  f.done();
  JITSUIN_ARG_CHECK(within >= 1 && within <= 3660, "within_days must be between 1 and 3660");
  auto who = authenticate(s, c);
  json out = json::array();
  for (const auto& e : ra::list_expiring(s.ra(), who, static_cast<int>(within))) {
    json notices = json::array();
    for (const auto& n : e.notices) notices.push_back({{"days_before", n.days_before}, {"sent_at", format_rfc3339(n.sent_at)}});
    json j = {{"application", e.application_id}, {"bundle", e.bundle_id},   {"company_id", e.company_id},
              {"company", e.company_name},       {"name_kanji", e.name_kanji}, {"name_kana", e.name_kana},
              {"name_romaji", e.name_romaji},    {"email", e.email},         {"serial", e.serial},
              {"not_after", format_rfc3339(e.not_after)}, {"notices", notices},
              {"eligible", e.eligibility.eligible}, {"reason", e.eligibility.reason}};
    if (e.renewal_id) j["renewal"] = *e.renewal_id;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

void add_webra_handlers(std::vector<Handler>& out) {
  out.push_back({"ra.expiry.list", Access::operator_session, expiry_list});
}

}  // namespace jitsuin::api
