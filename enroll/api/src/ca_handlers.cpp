// ca.init, ca.issue, ca.revoke, ca.revoke_ca, ca.show, crl.publish, audit.verify, ocsp.respond: the CA's own
// operations. Issuing and revoking on the direct path need an RA administrator's session and act
// as that operator ("ra:<name>"), so nobody with only the home folder goes around the RA; the
// others act as the caller's actor (the CLI's unix user) and are Access::local: first setup
// (ca init), cron (crl publish). The reads ca.show and audit.verify are the CLI's too, and over the
// API an auditor's or administrator's (require_auditor).
#include <algorithm>

#include "jitsuin/api/handler.h"
#include "jitsuin/api/render.h"
#include "jitsuin/api/request.h"
#include "jitsuin/ca/row_check.h"
#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

json ca_init(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto root = hsm::parse_key_algorithm(f.opt_text("root_key").value_or(s.config().ca.root.key));
  auto issuing = hsm::parse_key_algorithm(f.opt_text("issuing_key").value_or(s.config().ca.issuing.key));
  f.done();
  s.init_ca(ca::Actor{c.actor}, root, issuing);
  return {{"root_key", hsm::key_algorithm_name(root)},
          {"issuing_key", hsm::key_algorithm_name(issuing)},
          {"publish_dir", s.config().ca.crl.publish_dir.string()}};
}

config::NameFields decode_subject(const json& j) {
  if (!j.is_object()) throw Error(ErrorKind::invalid_input, "field 'subject' must be an object");
  config::NameFields out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_string()) throw Error(ErrorKind::invalid_input, "subject field '" + it.key() + "' must be a string");
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

// The administrator whose session the caller holds; refuses anyone else before anything is done.
ra::Principal administrator(Services& s, const Caller& c, const std::string& what) {
  ra::Principal who = authenticate(s, c);
  who.require(ra::Permission::administer, what);
  return who;
}

json ca_issue(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  ca::IssueRequest req;
  req.profile = f.text("profile");
  req.csr = f.text("csr");
  const json* subject = f.value("subject");
  if (!subject) throw Error(ErrorKind::invalid_input, f.field("subject") + " is required");
  req.subject = decode_subject(*subject);
  if (auto d = f.opt_whole("days")) req.days = *d;   // judged by the profile as given
  auto idempotency_key = f.opt_text("idempotency_key");   // a retry with it gets the first answer
  f.done();
  auto who = administrator(s, c, "issue certificates on the CA's direct path");
  auto issued = s.ca().issue(req, ca::Actor{who.actor()}, idempotency_key);
  json chain = json::array();
  for (const auto& cert : issued.chain) chain.push_back(ossl::cert_pem(cert.get()));
  return {{"serial", issued.record.serial_hex},
          {"subject", issued.record.subject},
          {"not_after", format_rfc3339(issued.record.not_after)},
          {"certificate", ossl::cert_pem(issued.certificate.get())},
          {"chain", chain}};
}

json ca_revoke(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string serial = f.text("serial");
  auto reason = ca::parse_revocation_reason(f.text("reason"));
  std::optional<UnixTime> effective;
  if (auto e = f.opt_text("effective")) effective = parse_rfc3339(*e);
  f.done();
  auto who = administrator(s, c, "revoke certificates on the CA's direct path");
  auto rec = s.ca().revoke(serial, reason, effective, ca::Actor{who.actor()});
  return {{"serial", rec.serial_hex},
          {"reason", ca::revocation_reason_name(reason)},
          {"revocation_effective", format_rfc3339(*rec.revocation_effective)}};
}

// Revoking the issuing CA's certificate ends the issuing CA: asked for explicitly ("confirm").
json ca_revoke_ca(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto reason = ca::parse_revocation_reason(f.text("reason"));
  bool confirmed = f.flag("confirm");
  f.done();
  auto who = administrator(s, c, "revoke the issuing CA");   // who may ask comes before what is asked
  if (!confirmed)
    throw Error(ErrorKind::invalid_input,
                "revoking the issuing CA's certificate stops all issuance and the issuing CRL for good: confirm it "
                "with --confirm");
  auto rec = s.ca().revoke_issuing_ca(reason, ca::Actor{who.actor()});
  return {{"serial", rec.serial_hex},
          {"subject", rec.subject},
          {"reason", ca::revocation_reason_name(*rec.reason)},
          {"revocation_effective", format_rfc3339(*rec.revocation_effective)}};
}

// Without "serial": the CA's status. With it: one certificate (as PEM when "pem" is true).
// The CA's read-only reports (ca.show, audit.verify): on the CA host (the CLI, Caller::source
// "local") its own user, as before; over the network an auditor's or an administrator's session
// (issue 9: auditors read the CA's state and verify the audit log from the browser console).
void require_auditor(Services& s, const Caller& c, const std::string& what) {
  if (c.source == kLocalSource) return;
  ra::Principal who = authenticate(s, c);
  who.require_operator(what);
  if (who.role() != ra::Role::auditor && who.role() != ra::Role::administrator)
    throw Error(ErrorKind::forbidden, "operator " + who.name() + " (role " + ra::role_name(who.role()) + ") may not " + what +
                                          ": auditors and administrators only");
}

json ca_show(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto serial = f.opt_text("serial");
  bool pem = f.flag("pem");
  f.done();
  require_auditor(s, c, "read the CA's state");
  auto& ca = s.ca();
  UnixTime now = s.clock()();
  if (serial) {
    auto rec = ca.find(*serial);
    if (!rec) throw Error(ErrorKind::not_found, "no certificate with serial " + ca::normalize_serial(*serial));
    if (pem) return {{"pem", ossl::cert_pem(ossl::cert_from_der(rec->der).get())}};
    return render(*rec, now);
  }
  auto counts = ca.counts();
  json j = {{"home", s.config().home.string()},
            {"database", s.config().database.path.string()},
            {"config", s.config().config_file.string()},
            {"certificates_issued", counts.issued},
            {"revoked", counts.revoked},
            {"revocations_pending", counts.pending},
            {"authorities", json::array()}};
  for (const auto& au : ca.authorities()) j["authorities"].push_back(render(au, now));
  return j;
}

json crl_publish(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::optional<std::filesystem::path> out;
  if (auto o = f.opt_text("out")) out = *o;
  f.done();
  json crls = json::array();
  for (const auto& p : s.ca().publish_crls(out, ca::Actor{c.actor})) {
    json one = {{"role", p.role},
                {"crl_number", p.crl_number},
                {"entries", p.entries},
                {"full_entries", p.full_entries},
                {"der_path", p.der_path.string()},
                {"pem_path", p.pem_path.string()},
                {"this_update", format_rfc3339(p.this_update)},
                {"next_update", format_rfc3339(p.next_update)}};
    if (!p.partitions.empty()) {
      one["partitions"] = json::array();
      for (const auto& part : p.partitions)
        one["partitions"].push_back({{"partition", part.partition}, {"entries", part.entries}, {"der_path", part.der_path.string()}});
    }
    crls.push_back(std::move(one));
  }
  json result = {{"crls", crls}};
  if (auto why = s.ca().issuing_ca_revoked()) result["not_published"] = {{{"role", "issuing"}, {"reason", *why}}};
  return result;
}

// One OCSP request (base64 of its DER) answered by the responder: the response (base64) and what
// it says. Access::local: the CLI's way to exercise the responder; the HTTP server serves OCSP to
// anyone on its own route.
json ocsp_respond(Services& s, const Caller&, const json& request) {
  Fields f(request);
  Bytes der = from_base64(f.text("request"));
  f.done();
  if (der.size() > kMaxOcspRequestBytes)
    throw Error(ErrorKind::invalid_input, "the OCSP request is larger than " + std::to_string(kMaxOcspRequestBytes) + " bytes");
  auto a = s.ocsp().respond(der);
  json statuses = json::array();
  for (const auto& one : a.statuses) {
    json j = {{"serial", one.serial_hex}, {"status", one.status}};
    if (one.revocation_time) j["revocation_time"] = format_rfc3339(*one.revocation_time);
    if (one.reason) j["reason"] = ca::revocation_reason_name(*one.reason);
    statuses.push_back(j);
  }
  json out = {{"response", to_base64(a.der)}, {"response_status", a.response_status}, {"statuses", statuses},
              {"nonce", a.nonce}, {"cached", a.cached}};
  if (!a.problem.empty()) out["problem"] = a.problem;
  return out;
}

// The chain (db/) and, when it is whole, the CA's rows against it (ca/, same snapshot): ok only
// when both are.
json audit_verify(Services& s, const Caller& caller, const json& request) {
  Fields(request).done();
  require_auditor(s, caller, "verify the audit log");
  ca::CertificateRowCheck rows;
  auto r = db::verify_audit(s.db(), &rows);
  json j = {{"ok", r.ok}, {"entries", r.entries}};
  if (!r.ok) {
    j["first_bad"] = r.first_bad, j["problem"] = r.problem;
    return j;
  }
  const auto& c = rows.report();
  j["certificates"] = c.certificates;
  j["authorities"] = c.authorities;
  j["legacy_rows"] = c.legacy;
  if (c.ok) {
    j["head"] = r.head_hash;
    return j;
  }
  j["ok"] = false;
  j["first_bad"] = c.entry;   // the entry the row contradicts; 0 when no entry wrote it
  j["row"] = c.row;
  j["bad_rows"] = c.bad_rows;
  j["problem"] = c.problem;
  return j;
}

}  // namespace

void add_ca_handlers(std::vector<Handler>& out) {
  out.push_back({"ca.init", Access::local, ca_init});
  out.push_back({"ca.issue", Access::operator_session, ca_issue});
  out.push_back({"ca.revoke", Access::operator_session, ca_revoke});
  out.push_back({"ca.revoke_ca", Access::operator_session, ca_revoke_ca});
  out.push_back({"ca.show", Access::operator_session, ca_show});   // and the CLI: see require_auditor
  out.push_back({"crl.publish", Access::local, crl_publish});
  out.push_back({"audit.verify", Access::operator_session, audit_verify});   // and the CLI: see require_auditor
  out.push_back({"ocsp.respond", Access::local, ocsp_respond});
}

}  // namespace jitsuin::api
