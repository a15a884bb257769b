// enroll.*: the applicant's own steps (issue 10, ra/enrollment.h). Each request carries its own
// credentials (the application PIN, the download PIN), so there is no session: every call is a
// login attempt for the rate limits, counted per source address and per application number.
// ra.download_pin.reissue is the RA operator's side of the same steps.
#include "jitsuin/api/handler.h"
#include "jitsuin/api/request.h"
#include "jitsuin/core/error.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/ra/enrollment.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

std::string actor_of(const Caller& c) { return "enroll:" + c.source; }

// The application number and a PIN (field `pin_field`) of a request without other fields,
// counted for the rate limits.
struct Credentials {
  std::int64_t id = 0;
  std::string pin;
};
Credentials credentials(Services& s, const Caller& c, const json& request, const char* pin_field) {
  Fields f(request);
  Credentials out{f.whole("application_id"), f.text(pin_field)};
  f.done();
  limit_login(s, c, "application:" + std::to_string(out.id));
  return out;
}

json status(Services& s, const Caller& c, const json& request) {
  auto [id, pin] = credentials(s, c, request, "application_pin");
  auto st = ra::enrollment_status(s.ra(), id, pin, actor_of(c));
  json out = {{"application_id", st.application_id}, {"state", ra::state_name(st.state)},
              {"state_ja", ra::state_name_ja(st.state)}, {"message", st.message}, {"message_ja", st.message_ja},
              {"key_algorithms", st.key_algorithms}, {"key_usage", st.key_usage}};
  if (st.download_pin_expires_at) out["download_pin_expires_at"] = format_rfc3339(*st.download_pin_expires_at);
  if (st.certificate_serial) out["certificate_serial"] = *st.certificate_serial;
  return out;
}

json start(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("application_id");
  auto pin = f.text("application_pin");
  auto csr = f.text("csr");
  f.done();
  limit_login(s, c, "application:" + std::to_string(id));
  auto r = ra::start_enrollment(s.ra(), id, pin, csr, actor_of(c));
  json out = {{"application_id", r.application_id}, {"state", "enrolled"},
              {"download_pin_expires_at", format_rfc3339(r.download_pin_expires_at)}, {"mailed_to", r.mailed_to}};
  if (r.mail_not_before) out["mail_not_before"] = format_rfc3339(*r.mail_not_before);
  return out;
}

json collect(Services& s, const Caller& c, const json& request) {
  auto [id, pin] = credentials(s, c, request, "download_pin");
  auto issued = ra::collect_certificate(s.ra(), s.ca(), id, pin, actor_of(c));
  json chain = json::array();
  for (const auto& cert : issued.chain) chain.push_back(ossl::cert_pem(cert.get()));
  return {{"application_id", id}, {"state", "issued"}, {"serial", issued.record.serial_hex},
          {"certificate", ossl::cert_pem(issued.certificate.get())}, {"chain", chain},
          {"not_after", format_rfc3339(issued.record.not_after)}};
}

json download_pin_reissue(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  auto who = authenticate(s, c);
  return {{"id", id}, {"download_pin_expires_at", format_rfc3339(ra::reissue_download_pin(s.ra(), who, id))}};
}

}  // namespace

json render_download_pins(Services& s, const ra::Principal& who, std::int64_t application_id) {
  json out = json::array();
  for (const auto& p : ra::download_pins(s.ra(), who, application_id)) {
    json j = {{"status", p.status},         {"issued_at", format_rfc3339(p.issued_at)},
              {"issued_by", p.issued_by},   {"expires_at", format_rfc3339(p.expires_at)},
              {"mailed_to", p.mailed_to},   {"failures", p.failures}};
    if (p.used_at) j["used_at"] = format_rfc3339(*p.used_at);
    if (p.locked_at) j["locked_at"] = format_rfc3339(*p.locked_at);
    if (p.replaced_at) j["replaced_at"] = format_rfc3339(*p.replaced_at);
    out.push_back(std::move(j));
  }
  return out;
}

void add_enroll_handlers(std::vector<Handler>& out) {
  out.insert(out.end(), {
                            {"enroll.status", Access::request_credentials, status},
                            {"enroll.start", Access::request_credentials, start},
                            {"enroll.collect", Access::request_credentials, collect},
                            {"ra.download_pin.reissue", Access::operator_session, download_pin_reissue},
                        });
}

}  // namespace jitsuin::api
