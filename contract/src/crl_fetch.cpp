// jitsuin crl fetch: the partner CAs' CRLs over HTTP(S) (net/, where libcurl enters jitsuin).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mutex>

#include "jitsuin/contract/trust.h"
#include "jitsuin/core/error.h"
#include "jitsuin/net/transfer.h"

namespace jitsuin::contract {

namespace {

constexpr std::size_t kMaxCrlBytes = 64u * 1024 * 1024;

// The body of a 2xx answer, or an error message in `error`.
std::optional<std::string> download(const std::string& url, std::string& error) {
  net::Transfer t = net::http_get(url, kMaxCrlBytes);
  if (!t.ok) {
    error = t.error;
    return std::nullopt;
  }
  return std::move(t.body);
}

ossl::Crl parse_crl(const std::string& data) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
  ossl::Crl crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size())));
  if (!crl) {
    ossl::Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  }
  ERR_clear_error();
  return crl;
}

// Whether `a` is newer than `b`: by CRL number when both have one, else by thisUpdate.
bool newer(const CrlOnFile& a, const CrlOnFile& b) {
  if (a.number && b.number) return *a.number > *b.number;
  return a.this_update > b.this_update;
}

std::string describe(const CrlOnFile& c) {
  return (c.number ? "CRL number " + std::to_string(*c.number) : std::string("CRL without number")) + ", thisUpdate " +
         format_rfc3339(c.this_update);
}

}  // namespace

std::vector<CrlFetchOutcome> fetch_partner_crls(TrustList& trust, UnixTime now) {
  std::vector<CrlFetchOutcome> out;
  for (auto& partner : trust.list()) {
    CrlFetchOutcome o;
    o.partner = partner.name;
    ossl::Cert ca = trust.certificate(partner);
    std::optional<CrlOnFile> best = trust.crl(partner);
    for (auto& url : partner.crl_urls) {
      std::string error;
      auto body = download(url, error);
      if (!body) {
        o.problem = true;
        o.messages.push_back(url + ": download failed: " + error);
        continue;
      }
      ossl::Crl crl = parse_crl(*body);
      if (!crl) {
        o.problem = true;
        o.messages.push_back(url + ": refused: not a CRL (DER or PEM)");
        continue;
      }
      EVP_PKEY* key = X509_get0_pubkey(ca.get());
      bool signed_by_ca = X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.get())) == 0 &&
                          key && X509_CRL_verify(crl.get(), key) == 1;
      ERR_clear_error();
      if (!signed_by_ca) {
        o.problem = true;
        o.messages.push_back(url + ": refused: not signed by " + partner.subject + " (issuer " +
                             ossl::name_to_string(X509_CRL_get_issuer(crl.get())) + ")");
        continue;
      }
      CrlOnFile got = describe_crl(std::move(crl));
      if (got.this_update > now + 300) {
        o.problem = true;
        o.messages.push_back(url + ": refused: thisUpdate " + format_rfc3339(got.this_update) + " is in the future");
      } else if (!best || newer(got, *best)) {
        o.messages.push_back(url + ": kept " + describe(got) + (best ? " (replaces " + describe(*best) + ")" : ""));
        best = std::move(got);
        o.updated = true;
      } else if (newer(*best, got)) {
        o.problem = true;
        o.messages.push_back(url + ": refused: " + describe(got) + " is older than the " + describe(*best) + " on file");
      } else {
        o.messages.push_back(url + ": unchanged (" + describe(got) + ")");
      }
    }
    if (o.updated) trust.store_crl(partner, best->crl.get());
    if (!best) {
      o.stale = true;
      o.messages.push_back("stale: no CRL on file: signers of " + partner.subject + " cannot be validated");
    } else if (best->next_update && *best->next_update < now) {
      o.stale = true;
      o.messages.push_back("stale: the CRL on file is out of date since its nextUpdate " +
                           format_rfc3339(*best->next_update) + ": signers of " + partner.subject +
                           " are INDETERMINATE until a newer one is fetched");
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace jitsuin::contract
