// jitsuin ca init|issue|revoke|show, crl publish, audit verify.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "jitsuin/db/audit.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

int ca_init(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"root-key", "issuing-key"}, {});
  Context ctx(g);
  auto root_alg = hsm::parse_key_algorithm(a.get("root-key").value_or(ctx.config().ca.root.key));
  auto issuing_alg = hsm::parse_key_algorithm(a.get("issuing-key").value_or(ctx.config().ca.issuing.key));
  if (ca::CertificateAuthority::initialized(ctx.db()))
    throw Error(ErrorKind::conflict,
                "a CA already exists in " + ctx.config().database.path.string() + "; refusing to create another");
  ca::CertificateAuthority::init(ctx.config(), ctx.db(), ctx.keys(true), ctx.actor(), ctx.clock(), root_alg,
                                 issuing_alg);
  std::cout << "CA created: root " << hsm::key_algorithm_name(root_alg) << ", issuing "
            << hsm::key_algorithm_name(issuing_alg) << "\n";
  return 0;
}

config::NameFields read_subject_file(const std::string& path) {
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    throw Error(ErrorKind::invalid_input, "subject file " + path + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(ErrorKind::invalid_input, "subject file " + path + " must hold a JSON object");
  config::NameFields out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_string())
      throw Error(ErrorKind::invalid_input, "subject field '" + it.key() + "' must be a string");
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

int ca_issue(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"profile", "csr", "subject", "days", "out", "chain"}, {});
  ca::IssueRequest req;
  req.profile = a.required("profile");
  std::string csr_path = a.required("csr"), subject_path = a.required("subject"), out = a.required("out");
  req.csr = read_file(csr_path);
  req.subject = read_subject_file(subject_path);
  if (auto d = a.opt_whole_number("days")) req.days = static_cast<int>(std::min<std::int64_t>(*d, 1 << 20));
  Context ctx(g);
  auto issued = ctx.ca().issue(req, ctx.actor());
  write_file_atomic(out, ossl::cert_pem(issued.certificate.get()), 0644);
  if (auto chain = a.get("chain")) {
    std::string pem;
    for (const auto& c : issued.chain) pem += ossl::cert_pem(c.get());
    write_file_atomic(*chain, pem, 0644);
  }
  std::cout << "issued serial " << issued.record.serial_hex << " to " << issued.record.subject << " until "
            << format_rfc3339(issued.record.not_after) << "\n";
  return 0;
}

int ca_revoke(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"serial", "reason", "effective"}, {});
  std::string serial = a.required("serial");
  auto reason = ca::parse_revocation_reason(a.required("reason"));
  std::optional<UnixTime> effective;
  if (auto e = a.get("effective")) effective = parse_rfc3339(*e);
  Context ctx(g);
  auto rec = ctx.ca().revoke(serial, reason, effective, ctx.actor());
  std::cout << "revoked serial " << rec.serial_hex << " (" << ca::revocation_reason_name(reason) << "), effective "
            << format_rfc3339(*rec.revocation_effective) << "\n";
  return 0;
}

json record_json(const ca::CertificateRecord& r, UnixTime now) {
  json j = {{"serial", r.serial_hex},         {"issuer", r.issuer_role},
            {"profile", r.profile},           {"subject", r.subject},
            {"not_before", format_rfc3339(r.not_before)}, {"not_after", format_rfc3339(r.not_after)},
            {"issued_at", format_rfc3339(r.issued_at)},   {"status", r.status(now)}};
  if (r.revocation_effective) {
    j["revoked_at"] = format_rfc3339(*r.revoked_at);
    j["revocation_effective"] = format_rfc3339(*r.revocation_effective);
    j["revocation_reason"] = ca::revocation_reason_name(*r.reason);
  }
  return j;
}

int ca_show(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"serial"}, {"json", "pem"});
  Context ctx(g);
  auto& ca = ctx.ca();
  UnixTime now = ctx.clock()();
  if (auto serial = a.get("serial")) {
    auto rec = ca.find(*serial);
    if (!rec) throw Error(ErrorKind::not_found, "no certificate with serial " + ca::normalize_serial(*serial));
    if (a.flag("pem")) {
      std::cout << ossl::cert_pem(ossl::cert_from_der(rec->der).get());
      return 0;
    }
    json j = record_json(*rec, now);
    if (a.flag("json")) {
      std::cout << j.dump(2) << "\n";
    } else {
      for (auto it = j.begin(); it != j.end(); ++it) std::cout << it.key() << ": " << it->get<std::string>() << "\n";
    }
    return 0;
  }
  auto counts = ca.counts();
  json j = {{"home", ctx.config().home.string()},
            {"database", ctx.config().database.path.string()},
            {"config", ctx.config().config_file.string()},
            {"certificates_issued", counts.issued},
            {"revoked", counts.revoked},
            {"revocations_pending", counts.pending},
            {"authorities", json::array()}};
  for (const auto& au : ca.authorities()) {
    j["authorities"].push_back({{"role", au.role},
                                {"subject", au.subject},
                                {"key", au.key_uri},
                                {"key_algorithm", au.key_algorithm},
                                {"serial", au.certificate.serial_hex},
                                {"not_before", format_rfc3339(au.certificate.not_before)},
                                {"not_after", format_rfc3339(au.certificate.not_after)},
                                {"status", au.certificate.status(now)},
                                {"last_crl_number", au.crl_number}});
  }
  if (a.flag("json")) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "jitsuin CA (home " << j["home"].get<std::string>() << ")\n";
  for (const auto& au : j["authorities"]) {
    std::cout << "  " << au["role"].get<std::string>() << " CA: " << au["subject"].get<std::string>() << "\n"
              << "    key:      " << au["key_algorithm"].get<std::string>() << "  " << au["key"].get<std::string>() << "\n"
              << "    serial:   " << au["serial"].get<std::string>() << "\n"
              << "    valid:    " << au["not_before"].get<std::string>() << " .. " << au["not_after"].get<std::string>()
              << " (" << au["status"].get<std::string>() << ")\n"
              << "    last CRL: #" << au["last_crl_number"].get<std::int64_t>() << "\n";
  }
  std::cout << "  certificates issued: " << counts.issued << ", revoked: " << counts.revoked
            << ", revocations pending: " << counts.pending << "\n";
  return 0;
}

int crl_publish(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"out"}, {});
  Context ctx(g);
  std::optional<std::filesystem::path> out;
  if (auto o = a.get("out")) out = *o;
  for (const auto& p : ctx.ca().publish_crls(out, ctx.actor()))
    std::cout << "published " << p.role << " CRL #" << p.crl_number << " with " << p.entries << " entries to "
              << p.der_path.string() << " (next update " << format_rfc3339(p.next_update) << ")\n";
  return 0;
}

int audit_verify(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  Context ctx(g);
  auto r = db::verify_audit(ctx.db());
  if (!r.ok) {
    std::cerr << "audit log FAILED verification at entry " << r.first_bad << ": " << r.problem << "\n";
    return 1;
  }
  std::cout << "audit log OK: " << r.entries << " entries, head " << r.head_hash << "\n";
  return 0;
}

const CommandRegistrar kRegistrar({
      {"ca", "init", "ca init [--root-key ALG] [--issuing-key ALG]",
       "Generates the root and issuing CA keys on the HSM, self-signs the root and issues the issuing CA\n"
       "certificate. ALG: rsa2048, rsa3072, rsa4096, p256, p384 (defaults from config: rsa3072 root,\n"
       "p256 issuing). With the embedded SoftHSM2 the token is created on first use. Refuses to run\n"
       "over an existing CA.",
       ca_init},
      {"ca", "issue", "ca issue --profile NAME --csr FILE --subject FILE.json [--days N] --out CERT.pem [--chain FILE]",
       "Issues a certificate from a PKCS#10 CSR (PEM or DER). The CSR proves possession of the key; the\n"
       "subject comes from the approved data in the JSON file (organization, department, title,\n"
       "common_name, email), checked against the profile. --chain writes the issuing and root CA\n"
       "certificates.",
       ca_issue},
      {"ca", "revoke", "ca revoke --serial HEX --reason NAME [--effective RFC3339]",
       "Revokes a certificate. NAME: unspecified, keyCompromise, cACompromise, affiliationChanged,\n"
       "superseded, cessationOfOperation, privilegeWithdrawn, aACompromise. --effective may be in the\n"
       "future (e.g. 2026-11-24T09:00:00+09:00): the certificate appears in CRLs from then on.",
       ca_revoke},
      {"ca", "show", "ca show [--serial HEX [--pem]] [--json]",
       "Shows the CA's status, or one certificate.", ca_show},
      {"crl", "publish", "crl publish [--out DIR]",
       "Writes full CRLs of the issuing and root CA (DER and PEM, atomically) with the next CRL number,\n"
       "into DIR (default: the configured publish dir). Meant for cron; safe to run at any time.",
       crl_publish},
      {"audit", "verify", "audit verify",
       "Checks the audit log's hash chain; names the first entry edited, deleted or reordered and exits 1.",
       audit_verify},
});

}  // namespace

}  // namespace jitsuin::cli
