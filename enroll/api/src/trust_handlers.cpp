// trust.add, trust.list, trust.remove: the partner CAs `jitsuin pdf verify` trusts besides our own
// CA (CA-7). Adding and removing need an RA administrator's session and act as that operator;
// the list is a read of public certificates (Access::local, like ca.show).
#include "jitsuin/api/handler.h"
#include "jitsuin/api/request.h"
#include "jitsuin/contract/trust.h"
#include "jitsuin/core/error.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

contract::TrustList trust_list(Services& s) { return contract::TrustList(s.db(), s.config().in_home("trust")); }

json render(const contract::PartnerCa& p) {
  return {{"name", p.name},
          {"fingerprint", p.fingerprint},
          {"subject", p.subject},
          {"not_after", format_rfc3339(p.not_after)},
          {"crl_urls", p.crl_urls},
          {"added_at", format_rfc3339(p.added_at)},
          {"added_by", p.added_by}};
}

json trust_add(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string pem = f.text("certificate");
  std::vector<std::string> urls;
  if (const json* a = f.array("crl_urls"))
    for (auto& u : *a) {
      if (!u.is_string()) throw Error(ErrorKind::invalid_input, f.field("crl_urls") + " must hold strings");
      urls.push_back(u.get<std::string>());
    }
  std::string name = f.opt_text("name").value_or("");
  f.done();
  // Who may ask comes before what is asked: the certificate is read only for an administrator.
  ra::Principal who = authenticate(s, c);
  who.require(ra::Permission::administer, "add partner CAs to the trust list");
  ossl::Cert cert = ossl::cert_from_pem(pem);
  return render(trust_list(s).add(cert.get(), urls, name, who.actor(), s.clock()()));
}

json trust_list_handler(Services& s, const Caller&, const json& request) {
  Fields(request).done();
  json out = json::array();
  for (auto& p : trust_list(s).list()) out.push_back(render(p));
  return {{"partners", out}};
}

json trust_remove(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto name = f.opt_text("name");
  auto fingerprint = f.opt_text("fingerprint");
  f.done();
  ra::Principal who = authenticate(s, c);
  who.require(ra::Permission::administer, "remove partner CAs from the trust list");
  if (name.has_value() == fingerprint.has_value())
    throw Error(ErrorKind::invalid_input, "give either a name or a fingerprint");
  return render(trust_list(s).remove(name ? *name : *fingerprint, !name, who.actor(), s.clock()()));
}

}  // namespace

void add_trust_handlers(std::vector<Handler>& out) {
  out.push_back({"trust.add", Access::operator_session, trust_add});
  out.push_back({"trust.list", Access::local, trust_list_handler});
  out.push_back({"trust.remove", Access::operator_session, trust_remove});
}

}  // namespace jitsuin::api
