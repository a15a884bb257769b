// jitsuin pdf verify|sign, trust add|list|remove: adapters over contract/ (argv → validation policy or
// signing request, report → text or --json) and the trust.* handlers. Neither pdf command needs a
// session: verify reads only the CA's certificates and revocation records and the trust list;
// sign uses a key the caller names and unlocks. Changing the trust list needs an administrator.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "jitsuin/contract/pdf_sign.h"
#include "jitsuin/contract/pdf_verify.h"
#include "jitsuin/contract/trust.h"
#include "jitsuin/core/error.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

// Every object in a PEM file (one or more), or the one object of a DER file.
template <typename T, typename Owned>
std::vector<Owned> read_pem_or_der(const std::string& path, const char* what, const char* file_kind,
                                   T* (*pem)(BIO*, T**, pem_password_cb*, void*),
                                   T* (*der)(T**, const unsigned char**, long)) {
  std::string data = read_file(path, kMaxFileBytes, file_kind);
  std::vector<Owned> out;
  ossl::Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  while (T* x = pem(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();
  if (out.empty()) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
    if (T* x = der(nullptr, &p, static_cast<long>(data.size()))) out.emplace_back(x);
    ERR_clear_error();
  }
  if (out.empty()) throw Error(ErrorKind::invalid_input, path + " holds no " + what + " (PEM or DER)");
  return out;
}

std::vector<ossl::Cert> read_certificates(const std::string& path) {
  return read_pem_or_der<X509, ossl::Cert>(path, "certificate", "certificate file", PEM_read_bio_X509, d2i_X509);
}

std::vector<ossl::Crl> read_crls(const std::string& path) {
  return read_pem_or_der<X509_CRL, ossl::Crl>(path, "CRL", "CRL file", PEM_read_bio_X509_CRL, d2i_X509_CRL);
}

ossl::Cert copy_cert(const X509* x) { return ossl::Cert(X509_dup(const_cast<X509*>(x))); }

json report_json(const contract::SignatureReport& s) {
  json j = {{"field", s.field},
            {"sub_filter", s.sub_filter},
            {"indication", contract::indication_name(s.indication)},
            {"reasons", s.reasons},
            {"revision", s.revision},
            {"revisions", s.revisions},
            {"changes_after_signing", s.changes_after}};
  if (!s.sub_indication.empty()) j["sub_indication"] = s.sub_indication;
  if (!s.signer.empty()) j["signer"] = s.signer;
  if (!s.signer_serial.empty()) j["signer_serial"] = s.signer_serial;
  if (!s.chain.empty()) j["chain"] = s.chain;
  if (!s.claimed_time.empty()) j["claimed_time"] = s.claimed_time;
  if (s.signing_time) {
    j["signing_time"] = format_rfc3339(*s.signing_time);
    j["signing_time_source"] = s.signing_time_source;
  }
  if (!s.revocation.empty()) j["revocation"] = s.revocation;
  return j;
}

void print_report(const std::string& file, const contract::SignatureReport& s) {
  std::cout << s.field << " (" << (s.sub_filter.empty() ? "no /SubFilter" : s.sub_filter) << ")";
  if (s.revision) std::cout << ", covers revision " << s.revision << " of " << s.revisions;
  std::cout << ": " << contract::indication_name(s.indication);
  if (!s.sub_indication.empty()) std::cout << " / " << s.sub_indication;
  std::cout << "\n";
  if (!s.signer.empty()) std::cout << "  signer:       " << s.signer << " (serial " << s.signer_serial << ")\n";
  for (std::size_t i = 0; i < s.chain.size(); ++i)
    std::cout << (i == 0 ? "  chain:        " : "                ") << s.chain[i] << "\n";
  if (s.signing_time)
    std::cout << "  signing time: " << format_rfc3339(*s.signing_time) << " (" << s.signing_time_source << ")"
              << (s.claimed_time.empty() ? "" : "; claimed " + s.claimed_time) << "\n";
  if (!s.revocation.empty()) std::cout << "  revocation:   " << s.revocation << "\n";
  for (auto& c : s.changes_after) std::cout << "  after signing: " << c << "\n";
  for (auto& r : s.reasons) std::cout << "  - " << r << "\n";
  (void)file;
}

// What the home trusts, added to `policy`: its own CA, when there is one (its root an anchor, its
// issuing CA a known intermediate, its database the revocation source for what it issued, kept in
// `store`), and with `trust_list`, every partner CA of the trust list and the CRL `crl fetch`
// kept for it. pdf verify and pdf sign's check of its signer use the same.
void add_home_trust(Context& ctx, contract::ValidationPolicy& policy, std::optional<ca::CertificateStore>& store,
                    bool trust_list) {
  std::error_code ec;
  if (!std::filesystem::exists(ctx.config().database.path, ec)) return;
  if (ctx.services().ca_initialized()) {
    auto& authority = ctx.ca();
    store.emplace(ctx.db(), ctx.clock());
    contract::OwnCa own;
    own.certificates.push_back(copy_cert(authority.root_certificate()));
    own.certificates.push_back(copy_cert(authority.issuing_certificate()));
    own.store = &*store;
    policy.anchors.push_back(copy_cert(authority.root_certificate()));
    policy.intermediates.push_back(copy_cert(authority.issuing_certificate()));
    policy.own_ca = std::move(own);
  }
  if (trust_list) {
    contract::TrustList trust(ctx.db(), ctx.config().in_home("trust"));
    for (auto& p : trust.list()) {
      policy.anchors.push_back(trust.certificate(p));
      if (auto crl = trust.crl(p)) policy.crls.push_back(std::move(crl->crl));
    }
  }
}

int pdf_verify(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"at"}, {"json"}, {"trust", "crl"});
  if (a.positional().size() != 1) throw UsageError("give exactly one PDF file");
  const std::string file = a.positional()[0];
  contract::ValidationPolicy policy;
  for (auto& t : a.all("trust"))
    for (auto& c : read_certificates(t)) policy.anchors.push_back(std::move(c));
  for (auto& c : a.all("crl"))
    for (auto& x : read_crls(c)) policy.crls.push_back(std::move(x));
  Context ctx(g);
  if (auto at = a.get("at")) {
    try {
      policy.validation_time = parse_rfc3339(*at);
    } catch (const Error&) {
      throw UsageError("--at must be an RFC 3339 time (2026-11-24T09:00:00Z)");
    }
  } else {
    policy.validation_time = ctx.clock()();
  }
  // Without --trust: the home's trust list too.
  std::optional<ca::CertificateStore> store;
  add_home_trust(ctx, policy, store, a.all("trust").empty());
  std::string data = read_file(file, contract::kMaxPdfBytes, "PDF file");
  contract::PdfReport report = contract::verify_pdf(data, policy);
  if (a.flag("json")) {
    json j = {{"file", file}, {"validation_time", format_rfc3339(policy.validation_time)}, {"signatures", json::array()}};
    if (!report.problem.empty()) j["problem"] = report.problem;
    for (auto& s : report.signatures) j["signatures"].push_back(report_json(s));
    j["all_passed"] = report.all_passed();
    print_json(j);
  } else if (!report.problem.empty()) {
    std::cout << file << ": " << report.problem << "\n";
  } else if (report.signatures.empty()) {
    std::cout << file << ": no signature\n";
  } else {
    std::cout << file << ": " << report.signatures.size() << " signature(s), validated at "
              << format_rfc3339(policy.validation_time) << "\n";
    for (auto& s : report.signatures) print_report(file, s);
  }
  return report.all_passed() ? 0 : 1;
}

int pdf_sign(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"out", "key", "cert", "reason", "pin-file"}, {"force"});
  if (a.positional().size() != 1) throw UsageError("give exactly one PDF file");
  std::string key_uri = a.required("key"), out_path = a.required("out");
  std::string pdf = read_file(a.positional()[0], contract::kMaxPdfBytes, "PDF file");
  std::vector<ossl::Cert> certs;
  if (auto c = a.get("cert")) certs = read_certificates(*c);
  std::optional<std::string> pin;
  if (auto p = a.get("pin-file")) pin = read_secret_file(*p);
  Context ctx(g);
  OutputFile out(ctx, "--out", out_path);
  hsm::TokenKey key = hsm::open_token_key(ctx.config(), key_uri, pin);
  if (certs.empty()) {
    if (key.certificates.empty())
      throw Error(ErrorKind::invalid_input, "no certificate for the key on its token: give it with --cert");
    certs.push_back(ossl::cert_from_der(key.certificates.front()));
  }
  contract::SignOptions options;
  options.reason = a.get("reason").value_or("");
  options.time = ctx.clock()();
  for (std::size_t i = 1; i < certs.size(); ++i) options.chain.push_back(std::move(certs[i]));
  // The signer's certificate now, by the rules pdf verify applies: expired, not yet valid or
  // revoked is refused unless --force (a signature every validator will reject).
  {
    contract::ValidationPolicy policy;
    policy.validation_time = options.time;
    std::optional<ca::CertificateStore> store;
    add_home_trust(ctx, policy, store, true);
    auto check = contract::check_signer_certificate(certs.front().get(), options.chain, policy, options.time);
    if (!check.refusals.empty()) {
      std::string why;
      for (auto& r : check.refusals) why += (why.empty() ? "" : "; ") + r;
      if (!a.flag("force"))
        throw Error(ErrorKind::invalid_input,
                    "refused to sign: " + why + " (a signature made now would not validate; --force signs anyway)");
      std::cerr << "warning: signing with --force although " << why << "\n";
    }
  }
  std::string signed_pdf = contract::sign_pdf(pdf, *key.signer, certs.front().get(), options);
  out.write(signed_pdf, 0644);
  std::cout << "signed " << a.positional()[0] << " as " << ossl::name_to_string(X509_get_subject_name(certs.front().get()))
            << " into " << out_path << "\n";
  return 0;
}

void print_partner(const json& p) {
  std::cout << str(p, "name") << ": " << str(p, "subject") << "\n  fingerprint " << str(p, "fingerprint")
            << ", until " << str(p, "not_after") << "\n";
  for (auto& u : p["crl_urls"]) std::cout << "  CRL " << u.get<std::string>() << "\n";
}

int trust_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"cert", "name"}, {}, {"crl-url"});
  if (!a.positional().empty()) throw UsageError("trust add takes no positional argument");
  auto certs = read_certificates(a.required("cert"));
  if (certs.size() != 1) throw Error(ErrorKind::invalid_input, "--cert must hold exactly one certificate");
  json req = {{"certificate", ossl::cert_pem(certs.front().get())}, {"crl_urls", a.all("crl-url")}};
  if (auto n = a.get("name")) req["name"] = *n;
  Context ctx(g);
  json r = call_api(ctx, "trust.add", req);
  std::cout << "partner CA added: ";
  print_partner(r);
  return 0;
}

int trust_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {"json"});
  if (!a.positional().empty()) throw UsageError("trust list takes no positional argument");
  Context ctx(g);
  json r = call_api(ctx, "trust.list", json::object());
  if (a.flag("json")) {
    print_json(r);
    return 0;
  }
  if (ctx.services().ca_initialized())
    std::cout << "our CA: " << ossl::name_to_string(X509_get_subject_name(ctx.ca().root_certificate())) << "\n";
  for (auto& p : r["partners"]) print_partner(p);
  if (r["partners"].empty()) std::cout << "no partner CA\n";
  return 0;
}

int trust_remove(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name", "fingerprint"}, {});
  if (!a.positional().empty()) throw UsageError("trust remove takes no positional argument");
  json req = json::object();
  if (auto n = a.get("name")) req["name"] = *n;
  if (auto f = a.get("fingerprint")) req["fingerprint"] = *f;
  if (req.size() != 1) throw UsageError("give --name or --fingerprint");
  Context ctx(g);
  json r = call_api(ctx, "trust.remove", req);
  std::cout << "partner CA removed: " << str(r, "name") << " (" << str(r, "subject") << ")\n";
  return 0;
}

int crl_fetch(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {"json"});
  if (!a.positional().empty()) throw UsageError("crl fetch takes no positional argument");
  Context ctx(g);
  contract::TrustList trust(ctx.db(), ctx.config().in_home("trust"));
  auto outcomes = contract::fetch_partner_crls(trust, ctx.clock()());
  bool trouble = false;
  json j = json::array();
  for (auto& o : outcomes) {
    trouble = trouble || o.problem || o.stale;
    j.push_back({{"partner", o.partner}, {"updated", o.updated}, {"problem", o.problem}, {"stale", o.stale},
                 {"messages", o.messages}});
    if (a.flag("json")) continue;
    std::cout << o.partner << ": " << (o.stale ? "STALE" : o.problem ? "PROBLEM" : o.updated ? "updated" : "up to date")
              << "\n";
    for (auto& m : o.messages) std::cout << "  " << m << "\n";
  }
  if (a.flag("json")) print_json({{"partners", j}, {"ok", !trouble}});
  else if (outcomes.empty()) std::cout << "no partner CA\n";
  return trouble ? 1 : 0;
}

const CommandRegistrar kRegistrar({
    {"pdf", "verify", "pdf verify FILE.pdf [--trust CA.pem ...] [--crl FILE ...] [--at RFC3339] [--json]",
     "Validates every signature of a PDF (ETSI EN 319 102-1 style): PASSED, INDETERMINATE or FAILED with\n"
     "a sub-indication and reasons. Checks the byte range, the CMS (one SignerInfo, messageDigest,\n"
     "no MD5/SHA-1, ESS signing-certificate-v2 for ETSI.CAdES.detached), the signer's key usage, a\n"
     "path to a trust anchor only (the home's root CA when a home exists, plus each --trust file,\n"
     "or without --trust the partner CAs of trust add and their CRLs on file;\n"
     "never a certificate carried in the PDF), revocation at the signing time (our CA's database,\n"
     "--crl files for other CAs) and every change made after each signature. --at sets the\n"
     "validation time. Exit 0 only when every signature PASSED, 1 otherwise (also: no signature,\n"
     "not a PDF), 2 on a usage error.",
     pdf_verify},
    {"pdf", "sign", "pdf sign FILE.pdf --out SIGNED.pdf --key PKCS11-URI [--cert CERT.pem] [--reason TEXT] [--pin-file FILE] [--force]",
     "Signs a PDF (PAdES B-B: ETSI.CAdES.detached with signing-certificate-v2) in an incremental update\n"
     "that adds the next signature field (Signature1, Signature2 ...), so earlier signatures stay\n"
     "valid. The key stays on its token: with --pin-file, the token the URI names is logged in with\n"
     "that PIN; without, the key is looked up on the home's token. --cert: the signer's certificate\n"
     "(PEM; further certificates in the file are carried as its chain); default: the certificate\n"
     "stored with the key on the token. Refused unless --force: a certificate that has expired or is\n"
     "not yet valid, or that is revoked (our CA's database, partner CRLs on file), as pdf verify would\n"
     "judge it now.",
     pdf_sign},
    {"trust", "add", "trust add --cert CA.pem [--crl-url URL ...] [--name NAME]",
     "Adds a partner CA to the home's trust list (CA-7): pdf verify then accepts signers it certified\n"
     "and checks them against its CRLs (fetched from each --crl-url by crl fetch). The certificate is\n"
     "copied into the home. Refused: a certificate that is not a CA's, one not valid now, one already\n"
     "listed, a name already taken. NAME defaults to the subject's CN. Needs an RA administrator's\n"
     "session; audited.",
     trust_add},
    {"trust", "list", "trust list [--json]",
     "Shows the trust list: our own CA (always trusted) and every partner CA with its CRL URLs.",
     trust_list},
    {"trust", "remove", "trust remove --name NAME | --fingerprint SHA256",
     "Removes a partner CA (and its CRL on file) from the trust list. Needs an RA administrator's\n"
     "session; audited.",
     trust_remove},
    {"crl", "fetch", "crl fetch [--json]",
     "Downloads every partner CA's CRLs from its URLs (HTTP/HTTPS) and keeps the newest valid one on\n"
     "file for pdf verify: a CRL must be issued and signed by the partner CA; an older CRL number than\n"
     "the one on file is refused. Exit 1 when a download failed, a CRL was refused, or a partner's CRL\n"
     "on file is missing or past its nextUpdate (stale: its signers are INDETERMINATE). For cron.",
     crl_fetch},
});

}  // namespace

}  // namespace jitsuin::cli
