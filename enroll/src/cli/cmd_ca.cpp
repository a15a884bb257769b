// jitsuin ca init|issue|revoke|show, crl publish, audit verify: adapters over the ca.*, crl.* and
// audit.* handlers of jitsuin_api (argv → request, response → text or --json).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "jitsuin/core/error.h"
#include "jitsuin/core/json.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

int ca_init(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"root-key", "issuing-key"}, {});
  Context ctx(g, api::HomeCreation::allowed);
  json req = json::object();
  if (auto k = a.get("root-key")) req["root_key"] = *k;
  if (auto k = a.get("issuing-key")) req["issuing_key"] = *k;
  json r = call_api(ctx, "ca.init", req);
  std::cout << "CA created: root " << str(r, "root_key") << ", issuing " << str(r, "issuing_key") << "\n"
            << "CA certificates published to " << str(r, "publish_dir") << " (root.crt, issuing.crt)\n";
  return 0;
}

// The subject file must parse and hold an object; its fields are checked by the handler.
json read_subject_file(const std::string& path) {
  json j = parse_json(read_file(path, kMaxJsonInputBytes, "subject file"), "subject file " + path);
  if (!j.is_object()) throw Error(ErrorKind::invalid_input, "subject file " + path + " must hold a JSON object");
  return j;
}

int ca_issue(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"profile", "csr", "subject", "days", "out", "chain", "idempotency-key"}, {});
  json req = {{"profile", a.required("profile")}};
  std::string csr_path = a.required("csr"), subject_path = a.required("subject");
  req["csr"] = read_file(csr_path, kMaxCsrFileBytes, "CSR file");
  req["subject"] = read_subject_file(subject_path);
  if (auto d = a.opt_whole_number("days")) req["days"] = *d;
  if (auto k = a.get("idempotency-key")) req["idempotency_key"] = *k;
  Context ctx(g);
  // Checked before the certificate exists: a path that cannot be written costs no certificate.
  OutputFile out(ctx, "--out", a.required("out"));
  std::optional<OutputFile> chain;
  if (auto c = a.get("chain")) chain.emplace(ctx, "--chain", *c);
  if (chain && std::filesystem::weakly_canonical(chain->path()) == std::filesystem::weakly_canonical(out.path()))
    throw Error(ErrorKind::invalid_input, "--out and --chain name the same file");
  json r = call_api(ctx, "ca.issue", req);
  out.write(r["certificate"].get<std::string>(), 0644);
  if (chain) {
    std::string pem;
    for (const auto& c : r["chain"]) pem += c.get<std::string>();
    chain->write(pem, 0644);
  }
  std::cout << "issued serial " << str(r, "serial") << " to " << str(r, "subject") << " until " << str(r, "not_after")
            << "\n";
  return 0;
}

int ca_revoke(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"serial", "reason", "effective"}, {});
  json req = {{"serial", a.required("serial")}, {"reason", a.required("reason")}};
  if (auto e = a.get("effective")) req["effective"] = *e;
  Context ctx(g);
  json r = call_api(ctx, "ca.revoke", req);
  std::cout << "revoked serial " << str(r, "serial") << " (" << str(r, "reason") << "), effective "
            << str(r, "revocation_effective") << "\n";
  return 0;
}

int ca_revoke_ca(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"reason"}, {"confirm"});
  json req = {{"reason", a.required("reason")}, {"confirm", a.flag("confirm")}};
  Context ctx(g);
  json r = call_api(ctx, "ca.revoke_ca", req);
  std::cout << "revoked the issuing CA " << str(r, "subject") << " (serial " << str(r, "serial") << ", "
            << str(r, "reason") << "), effective " << str(r, "revocation_effective")
            << ": it signs nothing more; run jitsuin crl publish to put it on the root CRL\n";
  return 0;
}

int ca_show(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"serial"}, {"json", "pem"});
  if (a.flag("pem") && !a.get("serial")) throw UsageError("--pem needs --serial (the certificate to print)");
  Context ctx(g);
  json req = json::object();
  if (auto serial = a.get("serial")) {
    req["serial"] = *serial;
    if (a.flag("pem")) req["pem"] = true;
  }
  json j = call_api(ctx, "ca.show", req);
  if (a.get("serial")) {
    if (a.flag("pem")) {
      std::cout << j["pem"].get<std::string>();
      return 0;
    }
    if (a.flag("json")) {
      print_json(j);
    } else {
      for (auto it = j.begin(); it != j.end(); ++it) std::cout << it.key() << ": " << it->get<std::string>() << "\n";
    }
    return 0;
  }
  if (a.flag("json")) {
    print_json(j);
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
  std::cout << "  certificates issued: " << j["certificates_issued"] << ", revoked: " << j["revoked"]
            << ", revocations pending: " << j["revocations_pending"] << "\n";
  return 0;
}

int crl_publish(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"out"}, {});
  Context ctx(g);
  json req = json::object();
  if (auto o = a.get("out")) req["out"] = *o;
  // CRLs and CA certificates are public: a publication folder made here is readable by all (under
  // the process's umask of 077 it would be private). An existing folder is left as it is.
  std::filesystem::path dir = a.get("out") ? std::filesystem::path(*a.get("out")) : ctx.config().ca.crl.publish_dir;
  if (std::error_code ec; !std::filesystem::exists(dir, ec) && std::filesystem::exists(ctx.config().database.path, ec)) {
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::replace);
  }
  json r = call_api(ctx, "crl.publish", req);
  for (const auto& p : r["crls"])
    std::cout << "published " << str(p, "role") << " CRL #" << p["crl_number"] << " with " << p["entries"]
              << " entries to " << str(p, "der_path") << " (next update " << str(p, "next_update") << ")\n";
  for (const auto& p : r["crls"])
    if (p.contains("partitions") && !p["partitions"].empty())
      std::cout << "  " << p["full_entries"] << " on the full CRL, the others on " << p["partitions"].size()
                << " partition CRLs (" << str(p["partitions"].front(), "der_path") << " .. "
                << str(p["partitions"].back(), "der_path") << ")\n";
  if (r.contains("not_published"))
    for (const auto& n : r["not_published"])
      std::cerr << "not published: " << str(n, "role") << " CRL: " << str(n, "reason") << "\n";
  return 0;
}

int audit_verify(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  Context ctx(g);
  json r = call_api(ctx, "audit.verify", json::object());
  if (!r["ok"].get<bool>()) {
    if (r.contains("row")) {   // the chain is whole; a row of the CA contradicts it
      std::cerr << "audit log FAILED verification: " << str(r, "problem");
      if (r["bad_rows"].get<std::int64_t>() > 1) std::cerr << " (and " << r["bad_rows"].get<std::int64_t>() - 1 << " more rows)";
      std::cerr << "\n";
    } else {
      std::cerr << "audit log FAILED verification at entry " << r["first_bad"] << ": " << str(r, "problem") << "\n";
    }
    return 1;
  }
  std::cout << "audit log OK: " << r["entries"] << " entries, head " << str(r, "head") << "; " << r["certificates"]
            << " certificate and " << r["authorities"] << " authority rows match it";
  if (r["legacy_rows"].get<std::int64_t>() > 0)
    std::cout << " (" << r["legacy_rows"] << " written before row digests: checked on what their entries say)";
  std::cout << "\n";
  return 0;
}

int ocsp_respond(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"request", "out"}, {"json"});
  std::string request = read_file(a.required("request"), kMaxOcspRequestBytes, "OCSP request file");
  Context ctx(g);
  OutputFile out(ctx, "--out", a.required("out"));
  json r = call_api(ctx, "ocsp.respond", {{"request", to_base64(request)}});
  Bytes der = from_base64(r["response"].get<std::string>());
  out.write(std::string_view(reinterpret_cast<const char*>(der.data()), der.size()), 0644);
  if (a.flag("json")) {
    r.erase("response");
    print_json(r);
    return 0;
  }
  if (str(r, "response_status") != "successful") {
    std::cout << str(r, "response_status");
    if (r.contains("problem")) std::cout << ": " << str(r, "problem");
    std::cout << "\n";
    return 0;
  }
  for (const auto& one : r["statuses"]) {
    std::cout << str(one, "serial") << ": " << str(one, "status");
    if (one.contains("revocation_time")) std::cout << " at " << str(one, "revocation_time");
    if (one.contains("reason")) std::cout << " (" << str(one, "reason") << ")";
    std::cout << "\n";
  }
  return 0;
}

const CommandRegistrar kRegistrar({
      {"ca", "init", "ca init [--root-key ALG] [--issuing-key ALG]",
       "Generates the root and issuing CA keys on the HSM, self-signs the root and issues the issuing CA\n"
       "certificate. ALG: rsa2048, rsa3072, rsa4096, p256, p384 (defaults from config: rsa3072 root,\n"
       "p256 issuing). With the embedded SoftHSM2 the token is created on first use. Refuses to run\n"
       "over an existing CA.",
       ca_init},
      {"ca", "issue",
       "ca issue --profile NAME --csr FILE --subject FILE.json [--days N] --out CERT.pem [--chain FILE] "
       "[--idempotency-key KEY]",
       "Issues a certificate from a PKCS#10 CSR (PEM or DER). The CSR proves possession of the key; the\n"
       "subject comes from the approved data in the JSON file (organization, department, title,\n"
       "common_name, email), checked against the profile. --chain writes the issuing and root CA\n"
       "certificates. Needs an RA administrator's session (jitsuin login); a key reported compromised\n"
       "is refused. --out and --chain are checked before the certificate exists: their folder must\n"
       "exist, and they may not name one of jitsuin's own files. Both are written atomically.\n"
       "--idempotency-key: run again with the same key (e.g. after a timeout) and the same request\n"
       "within a day, it writes the certificate issued the first time instead of issuing another; the\n"
       "same key with a different request is refused.",
       ca_issue},
      {"ca", "revoke", "ca revoke --serial HEX --reason NAME [--effective RFC3339]",
       "Revokes a certificate. NAME: unspecified, keyCompromise, cACompromise, affiliationChanged,\n"
       "superseded, cessationOfOperation, privilegeWithdrawn, aACompromise. --effective may be in the\n"
       "future (e.g. 2026-11-24T09:00:00+09:00): the certificate appears in CRLs from then on.\n"
       "keyCompromise replaces a revocation not yet in effect (taking effect now) and marks the key\n"
       "compromised. Needs an RA administrator's session; CA certificates: see ca revoke-ca.",
       ca_revoke},
      {"ca", "revoke-ca", "ca revoke-ca --reason NAME --confirm",
       "Revokes the issuing CA's own certificate, now, on the root's CRL (a root-CA operation). NAME:\n"
       "cACompromise, affiliationChanged, superseded, cessationOfOperation. From then on the issuing\n"
       "CA signs nothing: issuance and the issuing CRL are refused. Needs an RA administrator's\n"
       "session. The root itself is never revoked: retire it.",
       ca_revoke_ca},
      {"ca", "show", "ca show [--serial HEX [--pem]] [--json]",
       "Shows the CA's status, or one certificate.", ca_show},
      {"crl", "publish", "crl publish [--out DIR]",
       "Writes full CRLs of the issuing and root CA (DER and PEM, atomically) with the next CRL number,\n"
       "into DIR (default: the configured publish dir). Meant for cron; safe to run at any time.",
       crl_publish},
      {"audit", "verify", "audit verify",
       "Checks the audit log's hash chain (names the first entry edited, deleted or reordered) and then\n"
       "that every certificate and CA row is what the latest audit entry that wrote it says (names the\n"
       "first row changed, inserted or deleted behind the log's back, and the entry it contradicts);\n"
       "exits 1 on either.",
       audit_verify},
      {"ocsp", "respond", "ocsp respond --request FILE --out FILE [--json]",
       "Answers one OCSP request (DER, as openssl ocsp -reqout writes it) as the responder would over\n"
       "HTTP and writes the DER response (openssl ocsp -respin reads it); prints each certificate's\n"
       "status. Signed by the delegated OCSP-signing certificate, issued on first use and renewed\n"
       "30 days before it expires. A request that does not decode is answered malformedRequest.",
       ocsp_respond},
});

}  // namespace

}  // namespace jitsuin::cli
