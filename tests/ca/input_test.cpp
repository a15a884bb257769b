// Issue 8 (input): extensions built as ASN.1 objects (no data through OpenSSL's configuration
// syntax), one PEM block per CSR, and the CA's messages about days and revocation reasons.
#include <gtest/gtest.h>
#include <map>
#include <openssl/x509v3.h>

#include <botan/pkix_types.h>
#include <botan/x509cert.h>

#include "jitsuin/ca/profile.h"
#include "jitsuin/ca/csr.h"
#include "peers.h"
#include "x509util.h"   // ca/src: the extension builders under test

namespace jitsuin::test {
namespace {

const std::string kInjected = "taro@example.jp,DNS:www.bank.example,IP:10.0.0.1";

Bytes ext_der(const X509_EXTENSION* ext) {
  unsigned char* out = nullptr;
  int n = i2d_X509_EXTENSION(const_cast<X509_EXTENSION*>(ext), &out);
  EXPECT_GT(n, 0);
  Bytes der(out, out + std::max(n, 0));
  OPENSSL_free(out);
  return der;
}

// The names of a subjectAltName extension as OpenSSL decodes them: (type, value) pairs.
std::vector<std::pair<int, std::string>> san_names(const X509_EXTENSION* ext) {
  std::vector<std::pair<int, std::string>> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(const_cast<X509_EXTENSION*>(ext)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (n->type == GEN_EMAIL || n->type == GEN_DNS || n->type == GEN_URI)
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.ia5)),
                   static_cast<std::size_t>(ASN1_STRING_length(n->d.ia5)));
    out.emplace_back(n->type, value);
  }
  GENERAL_NAMES_free(names);
  return out;
}

// What the CA used before: the value in OpenSSL's configuration syntax (here only with our own
// constant strings, to show the new builders encode exactly what it did).
ossl::Ext from_config(int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, nullptr, nullptr, nullptr, nullptr, 0);
  return ossl::Ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
}

TEST(Extensions, TheEmailSanBuilderMakesExactlyOneRfc822NameOfAnyString) {
  auto ext = ca::detail::make_email_san_ext(kInjected);
  auto names = san_names(ext.get());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].first, GEN_EMAIL);
  EXPECT_EQ(names[0].second, kInjected);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext.get()), 0);
  // The old route, "email:" + address through the configuration syntax, made three names of it.
  auto old = from_config(NID_subject_alt_name, ("email:" + kInjected).c_str());
  ASSERT_TRUE(old);
  EXPECT_EQ(san_names(old.get()).size(), 3u);

  // Botan, in a certificate: one e-mail address, no DNS name, no IP address.
  auto key = ossl::check<ossl::PKey>(EVP_EC_gen("P-256"), "EVP_EC_gen");
  auto cert = ossl::check<ossl::Cert>(X509_new(), "X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  auto name = ca::detail::make_name({{"common_name", "Taro Yamada"}}, "JP");
  X509_set_subject_name(cert.get(), name.get());
  X509_set_issuer_name(cert.get(), name.get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  ca::detail::add_ext(cert.get(), ext.get());
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  Bytes der = ossl::cert_der(cert.get());
  Botan::X509_Certificate botan(der);
  const Botan::AlternativeName& alt = botan.subject_alt_name();
  const std::multimap<std::string, std::string> expected{{"RFC822", kInjected}};
  EXPECT_EQ(alt.contents(), expected);
  EXPECT_FALSE(alt.has_field("DNS"));
  EXPECT_FALSE(alt.has_field("IP"));
}

TEST(Extensions, TheEmailSanBuilderRefusesWhatAnIa5StringCannotHold) {
  expect_error([] { ca::detail::make_email_san_ext("taro@example.jp\nDNS:x"); }, ErrorKind::invalid_input);
  expect_error([] { ca::detail::make_email_san_ext("tarō@example.jp"); }, ErrorKind::invalid_input);
  expect_error([] { ca::detail::make_email_san_ext(""); }, ErrorKind::invalid_input);
}

// Every builder encodes exactly what the configuration strings the CA used before encoded: same
// DER, so the same criticality and values in each certificate.
TEST(Extensions, TheBuildersEncodeWhatTheConfigurationStringsDid) {
  using namespace ca::detail;
  const std::vector<std::pair<ossl::Ext, ossl::Ext>> pairs = [] {
    std::vector<std::pair<ossl::Ext, ossl::Ext>> v;
    v.emplace_back(make_basic_constraints_ext(false), from_config(NID_basic_constraints, "critical,CA:FALSE"));
    v.emplace_back(make_basic_constraints_ext(true), from_config(NID_basic_constraints, "critical,CA:TRUE"));
    v.emplace_back(make_basic_constraints_ext(true, 0), from_config(NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    v.emplace_back(make_key_usage_ext({"keyCertSign", "cRLSign"}), from_config(NID_key_usage, "critical,keyCertSign,cRLSign"));
    v.emplace_back(make_key_usage_ext({"digitalSignature"}), from_config(NID_key_usage, "critical,digitalSignature"));
    v.emplace_back(make_key_usage_ext({"digitalSignature", "nonRepudiation", "keyEncipherment"}),
                   from_config(NID_key_usage, "critical,digitalSignature,nonRepudiation,keyEncipherment"));
    v.emplace_back(make_key_usage_ext({"digitalSignature", "keyAgreement"}),
                   from_config(NID_key_usage, "critical,digitalSignature,keyAgreement"));
    v.emplace_back(make_extended_key_usage_ext({"emailProtection"}, false), from_config(NID_ext_key_usage, "emailProtection"));
    v.emplace_back(make_extended_key_usage_ext({"timeStamping"}, true), from_config(NID_ext_key_usage, "critical,timeStamping"));
    v.emplace_back(make_extended_key_usage_ext({"serverAuth", "clientAuth"}, false),
                   from_config(NID_ext_key_usage, "serverAuth,clientAuth"));
    v.emplace_back(make_ocsp_no_check_ext(), from_config(NID_id_pkix_OCSP_noCheck, "ignored"));
    v.emplace_back(make_crl_distribution_point_ext("http://crl.example.jp/issuing.crl"),
                   from_config(NID_crl_distribution_points, "URI:http://crl.example.jp/issuing.crl"));
    v.emplace_back(make_ca_issuers_ext("http://ca.example.jp/issuing.crt"),
                   from_config(NID_info_access, "caIssuers;URI:http://ca.example.jp/issuing.crt"));
    v.emplace_back(make_email_san_ext("taro@example.jp"), from_config(NID_subject_alt_name, "email:taro@example.jp"));
    return v;
  }();
  for (const auto& [mine, theirs] : pairs) {
    ASSERT_TRUE(mine && theirs);
    EXPECT_EQ(to_hex(ext_der(mine.get())), to_hex(ext_der(theirs.get())))
        << OBJ_nid2sn(OBJ_obj2nid(X509_EXTENSION_get_object(mine.get())));
  }
  // A comma in a configured address stays in the one URI (the configuration syntax would have
  // split it into two names).
  auto cdp = make_crl_distribution_point_ext("http://crl.example.jp/a,URI:http://evil.example/");
  auto* points = static_cast<CRL_DIST_POINTS*>(X509V3_EXT_d2i(cdp.get()));
  ASSERT_NE(points, nullptr);
  ASSERT_EQ(sk_DIST_POINT_num(points), 1);
  EXPECT_EQ(sk_GENERAL_NAME_num(sk_DIST_POINT_value(points, 0)->distpoint->name.fullname), 1);
  sk_DIST_POINT_pop_free(points, DIST_POINT_free);
}

TEST(Extensions, TheCaBuildsNoExtensionFromConfigurationStrings) {
  // No X509V3_EXT_nconf* call is left in ca/ (the extension test above keeps one, to compare).
  auto r = run("grep -rn 'X509V3_EXT_n\\?conf[_a-z]*(' " + sh_quote(std::string(JITSUIN_SOURCE_DIR) + "/ca") +
               " " + sh_quote(std::string(JITSUIN_SOURCE_DIR) + "/core"));
  EXPECT_NE(r.status, 0) << r.output;
}

TEST(Extensions, AnSmimeAddressWithACommaIsRefusedAndNothingRecorded) {
  auto f = make_ca();
  TempDir dir;
  auto certs = count_rows(*f->db, "certificates"), audit = count_rows(*f->db, "audit_log");
  auto msg = expect_error(
      [&] {
        f->ca->issue({"smime", openssl_csr(dir.path(), "ec"), {{"common_name", "Taro Yamada"}, {"email", kInjected}}, {}, {}},
                     {"test"});
      },
      ErrorKind::invalid_input);
  EXPECT_NE(msg.find("email '" + kInjected + "' is not a valid address"), std::string::npos) << msg;
  EXPECT_EQ(count_rows(*f->db, "certificates"), certs);
  EXPECT_EQ(count_rows(*f->db, "audit_log"), audit);
}

TEST(CsrInput, OnePemBlockPerFile) {
  TempDir dir;
  std::string one = openssl_csr(dir.path(), "ec", "one"), two = openssl_csr(dir.path(), "ec", "two");
  EXPECT_NO_THROW(ca::check_csr(one));
  EXPECT_NO_THROW(ca::check_csr(one + "\n\n"));
  auto msg = expect_error([&] { ca::check_csr(one + two); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("more than one PEM block"), std::string::npos) << msg;
  msg = expect_error([&] { ca::check_csr(one + "trailing text\n"); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("data after its PEM block"), std::string::npos) << msg;
  // A certificate block in front of the request is a second block too.
  auto cert = run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x -keyout " +
                  sh_quote((dir / "x.key").string()) + " -out " + sh_quote((dir / "x.pem").string()) + " 2>&1");
  ASSERT_EQ(cert.status, 0) << cert.output;
  expect_error([&] { ca::check_csr(read_file(dir / "x.pem") + one); }, ErrorKind::invalid_input);
}

TEST(CaMessages, DaysPastTheRangeOfIntAreReportedAsGiven) {
  ca::Profile smime = ca::load_profile(std::filesystem::path(JITSUIN_SOURCE_DIR) / "config" / "profiles", "smime");
  auto msg = expect_error([&] { smime.validity_days(std::int64_t{2147483648}); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("at most 365 days, not 2147483648"), std::string::npos) << msg;
  ca::Profile open = smime;
  open.max_days = 0;
  msg = expect_error([&] { open.validity_days(std::int64_t{1} << 40); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("validity of 1099511627776 days is more than 36525 days"), std::string::npos) << msg;
  EXPECT_EQ(open.validity_days(std::int64_t{3650}), 3650);
}

TEST(CaMessages, UnknownReasonListsOnlyTheAcceptedReasons) {
  auto msg = expect_error([] { ca::parse_revocation_reason("stolen"); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("keyCompromise"), std::string::npos) << msg;
  EXPECT_NE(msg.find("affiliationChanged"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("certificateHold"), std::string::npos) << msg;
}

}  // namespace
}  // namespace jitsuin::test
