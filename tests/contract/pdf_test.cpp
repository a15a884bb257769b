// jitsuin pdf sign and pdf verify, end to end with the built binary: a real CA home, signing keys
// on a real SoftHSM2 token, poppler's pdfsig (with an NSS database from certutil/pk12util) and
// openssl cms as independent signers and checkers, and tampered files built here with qpdf and
// byte edits (no checked-in binaries).
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <map>
#include <nlohmann/json.hpp>

#include "jitsuin/contract/pdf_verify.h"
#include "jitsuin/core/util.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kPin = "12345678";

// A PDF written by hand from its objects (numbered from 1), with one cross-reference section.
std::string write_pdf(const std::vector<std::string>& objs) {
  std::string out = "%PDF-1.7\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    offsets.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
  }
  std::size_t xref = out.size();
  out += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
  for (auto o : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", o);
    out += line;
  }
  out += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) +
         "\n%%EOF\n";
  return out;
}

std::string stream(const std::string& data, const std::string& extra = "") {
  return "<< /Length " + std::to_string(data.size()) + extra + " >>\nstream\n" + data + "\nendstream";
}

// One page showing "Amount: 100 EUR". Object 6 is a content stream the signed revision holds but
// no page uses (what a "shadow hide" attack later reveals).
std::string make_base_pdf() {
  return write_pdf({"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
                    " /Contents 5 0 R >>",
                    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                    stream("BT /F1 24 Tf 72 700 Td (Amount: 100 EUR) Tj ET"),
                    stream("BT /F1 24 Tf 72 700 Td (Amount: 900 EUR) Tj ET")});
}

// One page with a text field "amount" (object 7, its appearance object 8); with `certified`, the
// catalog's /Perms names a DocMDP P=1 certification (object 9).
std::string make_form_pdf(bool certified) {
  return write_pdf(
      {std::string("<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R] >>") +
           (certified ? " /Perms << /DocMDP 9 0 R >>" : "") + " >>",
       "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
       "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
       " /Contents 5 0 R /Annots [7 0 R] >>",
       "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", stream("BT /F1 24 Tf 72 700 Td (Contract) Tj ET"),
       stream("BT ET"),
       "<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /V (100 EUR) /Rect [72 650 300 680] /P 3 0 R"
       " /AP << /N 8 0 R >> /F 4 >>",
       stream("BT /F1 12 Tf 2 10 Td (100 EUR) Tj ET",
              " /Type /XObject /Subtype /Form /BBox [0 0 228 30] /Resources << /Font << /F1 4 0 R >> >>"),
       "<< /Type /Sig /Filter /Adobe.PPKLite /Reference [ << /Type /SigRef /TransformMethod /DocMDP"
       " /TransformParams << /Type /TransformParams /P 1 /V /1.2 >> >> ] >>"});
}

// What qpdf says about a file's last revision.
struct Trailer {
  int size = 0;
  std::string root;
  long long startxref = 0;
};
Trailer trailer_of(const std::string& pdf) {
  QPDF q;
  q.setSuppressWarnings(true);
  q.processMemoryFile("in.pdf", pdf.data(), pdf.size());
  Trailer t;
  t.size = static_cast<int>(q.getTrailer().getKey("/Size").getIntValue());
  t.root = q.getTrailer().getKey("/Root").unparse();
  t.startxref = std::atoll(pdf.c_str() + pdf.rfind("startxref") + 9);
  return t;
}

// An incremental update written by hand, as an attacker would: the given objects (new or
// redefining earlier ones), a cross-reference section for them and a trailer back to the last one.
std::string append_update(const std::string& pdf, const std::map<int, std::string>& objects) {
  Trailer t = trailer_of(pdf);
  std::string out = pdf;
  std::map<int, std::size_t> offsets;
  int size = t.size;
  for (auto& [id, body] : objects) {
    offsets[id] = out.size();
    out += std::to_string(id) + " 0 obj\n" + body + "\nendobj\n";
    size = std::max(size, id + 1);
  }
  std::size_t xref = out.size();
  out += "xref\n";
  for (auto& [id, off] : offsets) {
    char line[48];
    std::snprintf(line, sizeof line, "%d 1\n%010zu 00000 n \n", id, off);
    out += line;
  }
  out += "trailer\n<< /Size " + std::to_string(size) + " /Root " + t.root + " /Prev " + std::to_string(t.startxref) +
         " >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return out;
}

// The page dictionary of the file's last revision as qpdf writes it, with `from` replaced by `to`.
std::string page_text(const std::string& pdf, const std::string& from, const std::string& to) {
  QPDF q;
  q.setSuppressWarnings(true);
  q.processMemoryFile("in.pdf", pdf.data(), pdf.size());
  QPDFObjectHandle page = q.getAllPages().at(0);
  std::string text = page.unparseResolved();
  std::size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("page has no " + from + ": " + text);
  return text.replace(at, from.size(), to);
}

int page_id(const std::string& pdf) {
  QPDF q;
  q.setSuppressWarnings(true);
  q.processMemoryFile("in.pdf", pdf.data(), pdf.size());
  return q.getAllPages().at(0).getObjectID();
}

struct Verdict {
  int status = -1;
  json report;
  std::string output;
  std::string indication(std::size_t i = 0) const { return report["signatures"].at(i)["indication"]; }
  std::string sub(std::size_t i = 0) const { return report["signatures"].at(i).value("sub_indication", ""); }
  std::string reasons(std::size_t i = 0) const { return report["signatures"].at(i)["reasons"].dump(); }
};

class PdfTest : public ::testing::Test {
 protected:
  static inline TempDir* dir = nullptr;
  static inline fs::path home;

  static void SetUpTestSuite() {
    dir = new TempDir();
    home = dir->path() / "home";
    process_softhsm();   // SOFTHSM2_CONF for this process and the commands it runs
    auto r = run(jitsuin_cmd(home) + " ca init");
    ASSERT_EQ(r.status, 0) << r.output;
    login_administrator(home);
    r = run("softhsm2-util --init-token --free --label pdf-signer --so-pin 87654321 --pin " + kPin);
    ASSERT_EQ(r.status, 0) << r.output;
    write_text(dir->path() / "pin", kPin + "\n");
    fs::permissions(dir->path() / "pin", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    write_text(dir->path() / "base.pdf", make_base_pdf());
    write_text(dir->path() / "form.pdf", make_form_pdf(false));
    write_text(dir->path() / "certified.pdf", make_form_pdf(true));
    // An outside CA (made with openssl) for the untrusted-signer and key-usage cases.
    r = run("cd " + sh_quote(dir->path().string()) +
            " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key"
            " -subj '/CN=Other CA' -days 30 -addext basicConstraints=critical,CA:TRUE"
            " -addext keyUsage=critical,keyCertSign,cRLSign -out other-ca.pem");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete dir;
    dir = nullptr;
  }

  static fs::path path(const std::string& name) { return dir->path() / name; }
  static std::string in_dir(const std::string& cmd) { return "cd " + sh_quote(dir->path().string()) + " && " + cmd; }

  // A certificate from our CA (profile individual-signing) for a fresh key: NAME.key, NAME.pem,
  // NAME-full.pem (certificate and chain). Returns the serial.
  static std::string issue(const std::string& name, const std::string& cn, const std::string& newkey = "ec") {
    openssl_csr(dir->path(), newkey == "ec" ? "ec" : newkey, name);
    write_text(path(name + ".json"), json{{"common_name", cn}, {"organization", "Example"}}.dump());
    auto r = run(jitsuin_cmd(home) + " ca issue --profile individual-signing --csr " + sh_quote(path(name + ".csr")) +
                 " --subject " + sh_quote(path(name + ".json")) + " --out " + sh_quote(path(name + ".pem")) +
                 " --chain " + sh_quote(path(name + "-chain.pem")));
    EXPECT_EQ(r.status, 0) << r.output;
    write_text(path(name + "-full.pem"), read_file(path(name + ".pem")) + read_file(path(name + "-chain.pem")));
    auto pos = r.output.find("serial ");
    return r.output.substr(pos + 7, r.output.find(' ', pos + 7) - pos - 7);
  }

  // Puts NAME.key on the signer token under the label NAME; returns its PKCS#11 URI.
  static std::string to_token(const std::string& name) {
    auto r = run(in_dir("openssl pkcs8 -topk8 -nocrypt -in " + name + ".key -out " + name + ".p8 && softhsm2-util --import " +
                        name + ".p8 --token pdf-signer --label " + name + " --id " +
                        to_hex(sha256(name)).substr(0, 8) + " --pin " + kPin));
    EXPECT_EQ(r.status, 0) << r.output;
    return "pkcs11:token=pdf-signer;object=" + name;
  }

  static CommandResult sign(const std::string& in, const std::string& out, const std::string& key_name,
                            const std::string& prefix = "", const std::string& extra = "") {
    return run(prefix + jitsuin_cmd(home) + " pdf sign " + sh_quote(path(in)) + " --out " + sh_quote(path(out)) +
               " --key " + sh_quote("pkcs11:token=pdf-signer;object=" + key_name) + " --cert " +
               sh_quote(path(key_name + "-full.pem")) + " --pin-file " + sh_quote(path("pin")) + " --reason 'I agree'" +
               extra);
  }

  static Verdict verify(const std::string& file, const std::string& args = "", const std::string& prefix = "") {
    Verdict v;
    auto r = run(prefix + jitsuin_cmd(home) + " pdf verify " + sh_quote(path(file)) + " --json " + args);
    v.status = r.status;
    v.output = r.output;
    try {
      v.report = json::parse(r.output);
    } catch (const std::exception&) {
      ADD_FAILURE() << "not JSON: " << r.output;
    }
    return v;
  }

  // A file signed by our pdf sign with a key (made once per name) certified by our CA.
  static void signed_file(const std::string& out, const std::string& key_name = "taro",
                          const std::string& in = "base.pdf") {
    if (!fs::exists(path(key_name + ".pem"))) {
      issue(key_name, "Signer " + key_name);
      to_token(key_name);
    }
    auto r = sign(in, out, key_name);
    ASSERT_EQ(r.status, 0) << r.output;
  }

  // The signed file with its CMS replaced by one `openssl cms -sign` makes over the same byte
  // ranges (after the /SubFilter is rewritten to `sub_filter`, padded to the same length).
  static std::string resign_with_openssl(const std::string& signed_pdf, const std::string& sub_filter,
                                         const std::string& openssl_args) {
    std::string pdf = read_file(path(signed_pdf));
    std::size_t sf = pdf.rfind("/SubFilter /ETSI.CAdES.detached");
    std::string repl = "/SubFilter /" + sub_filter;
    repl.resize(std::string("/SubFilter /ETSI.CAdES.detached").size(), ' ');
    pdf.replace(sf, repl.size(), repl);
    std::size_t br = pdf.find("/ByteRange [", sf - 200);
    long long a, b, c, d;
    std::sscanf(pdf.c_str() + br + 12, "%lld %lld %lld %lld", &a, &b, &c, &d);
    write_text(path("ranges.bin"), pdf.substr(0, b) + pdf.substr(c, d));
    auto r = run(in_dir("openssl cms -sign -binary -in ranges.bin -outform DER -out resigned.der " + openssl_args));
    EXPECT_EQ(r.status, 0) << r.output;
    put_contents(pdf, b, c, read_file(path("resigned.der")));
    return pdf;
  }

  // Writes `der` as the hex string of the gap [b, c) of a byte range, padded with zeros.
  static void put_contents(std::string& pdf, long long b, long long c, const std::string& der) {
    std::string hex = to_hex(std::span(reinterpret_cast<const std::uint8_t*>(der.data()), der.size()));
    ASSERT_LT(hex.size(), static_cast<std::size_t>(c - b - 2));
    pdf.replace(b + 1, hex.size(), hex);
    std::fill(pdf.begin() + b + 1 + static_cast<long>(hex.size()), pdf.begin() + c - 1, '0');
  }

  // t-crl.pdf (made once): signed (adbe.pkcs7.detached, by openssl cms) by "Partner Signer", whom
  // the outside CA certified (partner.pem). Returns the signer's serial (hex).
  static std::string partner_signed() {
    if (!fs::exists(path("t-crl.pdf"))) {
      signed_file("t-crl-base.pdf");
      auto r = run("bash -c " + sh_quote(in_dir("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                                                " -keyout partner.key -subj '/CN=Partner Signer' -out partner.csr &&"
                                                " openssl x509 -req -in partner.csr -CA other-ca.pem -CAkey other-ca.key"
                                                " -CAcreateserial -days 10 -extfile <(printf"
                                                " 'keyUsage=critical,digitalSignature') -out partner.pem")));
      EXPECT_EQ(r.status, 0) << r.output;
      write_text(path("t-crl.pdf"), resign_with_openssl("t-crl-base.pdf", "adbe.pkcs7.detached",
                                                        "-md sha256 -signer partner.pem -inkey partner.key"));
    }
    auto serial = run("openssl x509 -noout -serial -in " + sh_quote(path("partner.pem").string())).output;
    return serial.substr(serial.find('=') + 1, serial.find('\n') - serial.find('=') - 1);
  }
};

TEST_F(PdfTest, OurSignatureIsAcceptedByPdfsigOpensslAndOurselves) {
  signed_file("ours.pdf");
  auto v = verify("ours.pdf");
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  EXPECT_EQ(v.report["signatures"][0]["sub_filter"], "ETSI.CAdES.detached");
  EXPECT_EQ(v.report["signatures"][0]["signer"], "CN=Signer taro,O=Example,C=JP");
  EXPECT_EQ(v.report["signatures"][0]["signing_time_source"], "validation time");
  auto p = run("pdfsig " + sh_quote(path("ours.pdf").string()));
  EXPECT_NE(p.output.find("Signature Validation: Signature is Valid."), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("Total document signed"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("Signature Type: ETSI.CAdES.detached"), std::string::npos) << p.output;
  // openssl cms -verify over the byte ranges, with our root as the only trusted certificate.
  std::string pdf = read_file(path("ours.pdf"));
  std::size_t br = pdf.rfind("/ByteRange [");
  long long a, b, c, d;
  ASSERT_EQ(std::sscanf(pdf.c_str() + br + 12, "%lld %lld %lld %lld", &a, &b, &c, &d), 4);
  write_text(path("ours.ranges"), pdf.substr(0, b) + pdf.substr(c, d));
  Bytes cms = from_hex(pdf.substr(b + 1, c - b - 2));
  write_text(path("ours.cms"), std::string(cms.begin(), cms.end()));
  auto root = run(jitsuin_cmd(home) + " ca show --json");
  auto chain = read_file(path("taro-chain.pem"));
  write_text(path("root.pem"), chain.substr(chain.rfind("-----BEGIN CERTIFICATE-----")));
  auto o = run(in_dir("openssl cms -verify -inform DER -in ours.cms -binary -content ours.ranges -CAfile root.pem"
                      " -purpose any -out /dev/null"));
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("Verification successful"), std::string::npos) << o.output;
  auto attrs = run(in_dir("openssl cms -cmsout -print -inform DER -in ours.cms"));
  EXPECT_NE(attrs.output.find("id-smime-aa-signingCertificateV2"), std::string::npos);
  // PAdES baseline B-B: contentType, messageDigest, signing-certificate-v2 and no signingTime
  // (ETSI EN 319 142-1; the claimed time is /M), as openssl's own parsers read the CMS.
  EXPECT_NE(attrs.output.find("contentType"), std::string::npos) << attrs.output;
  EXPECT_NE(attrs.output.find("messageDigest"), std::string::npos) << attrs.output;
  EXPECT_EQ(attrs.output.find("signingTime"), std::string::npos) << attrs.output;
  auto parsed = run(in_dir("openssl asn1parse -inform DER -in ours.cms"));
  EXPECT_EQ(parsed.status, 0) << parsed.output;
  EXPECT_NE(parsed.output.find(":messageDigest"), std::string::npos) << parsed.output;
  EXPECT_EQ(parsed.output.find(":signingTime"), std::string::npos) << parsed.output;
  EXPECT_EQ(v.reasons().find("PAdES profile"), std::string::npos) << v.output;
}

// A CAdES-detached CMS with signingTime (openssl cms -sign -cades adds signing-certificate-v2
// and signingTime) under ETSI.CAdES.detached: PASSED, with a PAdES-profile finding in the reasons.
// The same under adbe.pkcs7.detached (ISO 32000-1 allows signingTime): no such finding.
TEST_F(PdfTest, SigningTimeInAPadesSignatureIsAProfileFindingNotAFailure) {
  signed_file("t-st.pdf");
  write_text(path("t-st-cades.pdf"),
             resign_with_openssl("t-st.pdf", "ETSI.CAdES.detached",
                                 "-md sha256 -cades -signer taro.pem -inkey taro.key -certfile taro-chain.pem"));
  auto printed = run(in_dir("openssl cms -cmsout -print -inform DER -in resigned.der"));
  ASSERT_NE(printed.output.find("signingTime"), std::string::npos) << printed.output;
  auto v = verify("t-st-cades.pdf");
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  EXPECT_NE(v.reasons().find("PAdES profile: the CMS carries a signingTime attribute"), std::string::npos) << v.output;
  write_text(path("t-st-legacy.pdf"),
             resign_with_openssl("t-st.pdf", "adbe.pkcs7.detached",
                                 "-md sha256 -signer taro.pem -inkey taro.key -certfile taro-chain.pem"));
  v = verify("t-st-legacy.pdf");
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  EXPECT_EQ(v.reasons().find("PAdES profile"), std::string::npos) << v.output;
}

TEST_F(PdfTest, CounterSignaturesOfPdfsigAndOursInARow) {
  // pdfsig signs with an NSS database holding a certificate our CA issued and its key (RSA:
  // poppler 22.12 reserves too little room for its EC signatures).
  issue("hanako", "Hanako Sato", "rsa:2048");
  auto r = run(in_dir("mkdir -p nss && certutil -N -d sql:nss --empty-password && openssl pkcs12 -export -inkey hanako.key"
                      " -in hanako.pem -certfile hanako-chain.pem -name hanako -passout pass:pw -out hanako.p12 &&"
                      " pk12util -i hanako.p12 -d sql:nss -W pw"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(in_dir("pdfsig -add-signature -nssdir sql:nss -nick hanako -reason approve -new-signature-field-name Approval"
                 " base.pdf nss1.pdf"));
  ASSERT_TRUE(fs::exists(path("nss1.pdf"))) << r.output;
  auto v = verify("nss1.pdf");
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  EXPECT_EQ(v.report["signatures"][0]["signer"], "CN=Hanako Sato,O=Example,C=JP");
  // Ours on top of pdfsig's, then pdfsig's again: three signers in a row, all PASSED.
  signed_file("unused.pdf", "jiro");
  ASSERT_EQ(sign("nss1.pdf", "nss2.pdf", "jiro").status, 0);
  r = run(in_dir("pdfsig -add-signature -nssdir sql:nss -nick hanako -new-signature-field-name Third nss2.pdf nss3.pdf"));
  ASSERT_TRUE(fs::exists(path("nss3.pdf"))) << r.output;
  v = verify("nss3.pdf");
  EXPECT_EQ(v.status, 0) << v.output;
  ASSERT_EQ(v.report["signatures"].size(), 3u) << v.output;
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(v.indication(i), "PASSED") << v.output;
  EXPECT_EQ(v.report["signatures"][0]["revision"], 2);
  EXPECT_EQ(v.report["signatures"][2]["revision"], 4);
  auto p = run("pdfsig " + sh_quote(path("nss3.pdf").string()));
  EXPECT_EQ(p.output.find("Digest Mismatch"), std::string::npos) << p.output;
  // pdf sign on our own signature: Signature2 beside Signature1.
  signed_file("c1.pdf");
  ASSERT_EQ(sign("c1.pdf", "c2.pdf", "jiro").status, 0);
  v = verify("c2.pdf");
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.report["signatures"][1]["field"], "Signature2");
}

TEST_F(PdfTest, ByteChangedInsideTheSignedRangeFails) {
  signed_file("t-byte.pdf");
  std::string pdf = read_file(path("t-byte.pdf"));
  pdf.replace(pdf.find("Amount: 100"), 11, "Amount: 900");
  write_text(path("t-byte2.pdf"), pdf);
  auto v = verify("t-byte2.pdf");
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "FAILED");
  EXPECT_EQ(v.sub(), "HASH_FAILURE");
  EXPECT_NE(v.reasons().find("signed bytes were changed"), std::string::npos) << v.output;
}

TEST_F(PdfTest, ByteRangeWithAGapOrAnOverlapFails) {
  signed_file("t-range.pdf");
  std::string pdf = read_file(path("t-range.pdf"));
  std::size_t br = pdf.rfind("/ByteRange [");
  std::size_t end = pdf.find("/M ", br) - 2;   // the range and its padding, up to the next key
  long long a, b, c, d;
  std::sscanf(pdf.c_str() + br + 12, "%lld %lld %lld %lld", &a, &b, &c, &d);
  auto with_range = [&](long long b2, long long c2, long long d2) {
    std::string r = "/ByteRange [0 " + std::to_string(b2) + " " + std::to_string(c2) + " " + std::to_string(d2) + "]";
    std::string out = pdf;
    r.resize(end + 1 - br, ' ');
    out.replace(br, r.size(), r);
    return out;
  };
  write_text(path("t-gap.pdf"), with_range(b - 20, c, d));   // 20 bytes before /Contents left unsigned
  auto v = verify("t-gap.pdf");
  ASSERT_EQ(v.report["signatures"].size(), 1u) << v.output;
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "FAILED");
  EXPECT_EQ(v.sub(), "FORMAT_FAILURE");
  EXPECT_NE(v.reasons().find("gap between the byte ranges"), std::string::npos) << v.output;
  write_text(path("t-overlap.pdf"), with_range(c + 10, c, d));
  v = verify("t-overlap.pdf");
  ASSERT_EQ(v.report["signatures"].size(), 1u) << v.output;
  EXPECT_EQ(v.indication(), "FAILED");
  EXPECT_NE(v.reasons().find("the byte ranges overlap"), std::string::npos) << v.output;
  write_text(path("t-outside.pdf"), with_range(b, c, d + 1000));
  v = verify("t-outside.pdf");
  ASSERT_EQ(v.report["signatures"].size(), 1u) << v.output;
  EXPECT_NE(v.reasons().find("past the end of the file"), std::string::npos) << v.output;
}

TEST_F(PdfTest, AppendedUpdatesThatChangeWhatIsShownFail) {
  signed_file("t-upd.pdf");
  std::string pdf = read_file(path("t-upd.pdf"));
  int next = trailer_of(pdf).size;
  int page = page_id(pdf);

  // 1. The page's content stream redefined (a "shadow replace").
  write_text(path("t-content.pdf"), append_update(pdf, {{5, stream("BT /F1 24 Tf 72 700 Td (Amount: 900 EUR) Tj ET")}}));
  auto v = verify("t-content.pdf");
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("document modified after signing"), std::string::npos) << v.output;
  EXPECT_NE(v.reasons().find("page 1 content changed"), std::string::npos) << v.output;
  EXPECT_NE(v.reasons().find("object 5 0 redefined after signing"), std::string::npos) << v.output;

  // 2. The amount changed through a new content stream drawn over the old one: pdfsig still says
  //    the signature is valid; we do not.
  std::string cover = "1 1 1 rg 60 690 300 40 re f 0 0 0 rg BT /F1 24 Tf 72 700 Td (Amount: 900 EUR) Tj ET";
  std::string p2 = page_text(pdf, "/Contents 5 0 R", "/Contents [5 0 R " + std::to_string(next) + " 0 R]");
  write_text(path("t-amount.pdf"), append_update(pdf, {{next, stream(cover)}, {page, p2}}));
  auto pdfsig = run("pdfsig " + sh_quote(path("t-amount.pdf").string()));
  EXPECT_NE(pdfsig.output.find("Signature is Valid"), std::string::npos) << pdfsig.output;
  v = verify("t-amount.pdf");
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("page 1 content changed"), std::string::npos) << v.output;

  // 3. A new annotation covering the amount.
  std::string p3 = page_text(pdf, "/Annots [ ", "/Annots [ " + std::to_string(next) + " 0 R ");
  write_text(path("t-annot.pdf"),
             append_update(pdf, {{next, "<< /Type /Annot /Subtype /FreeText /Rect [60 690 360 730] /Contents (Amount: 900 EUR)"
                                        " /DA (/Helv 24 Tf 0 g) /F 4 >>"},
                                 {page, p3}}));
  v = verify("t-annot.pdf");
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("new /FreeText annotation at [ 60 690 360 730 ] can change what the page shows"),
            std::string::npos)
      << v.output;

  // 4. Shadow hide: the signed revision already held object 6 (unused); the update points the
  //    page at it.
  std::string p4 = page_text(pdf, "/Contents 5 0 R", "/Contents 6 0 R");
  write_text(path("t-hide.pdf"), append_update(pdf, {{page, p4}}));
  v = verify("t-hide.pdf");
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("page 1 content changed"), std::string::npos) << v.output;

  // 5. Shadow replace of a resource: the font object redefined.
  write_text(path("t-font.pdf"), append_update(pdf, {{4, "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>"}}));
  v = verify("t-font.pdf");
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("page 1 resources changed"), std::string::npos) << v.output;
  EXPECT_NE(v.reasons().find("object 4 0 redefined after signing"), std::string::npos) << v.output;

  // 6. Shadow hide-and-replace: a new page tree with a new page, the catalog pointed at it.
  QPDF q;
  q.setSuppressWarnings(true);
  q.processMemoryFile("in.pdf", pdf.data(), pdf.size());
  QPDFObjectHandle root = q.getRoot();
  std::string root_text = root.unparseResolved();
  root_text.replace(root_text.find("/Pages 2 0 R"), 12, "/Pages " + std::to_string(next) + " 0 R");
  std::string new_page = "<< /Type /Page /Parent " + std::to_string(next) + " 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents " +
                         std::to_string(next + 2) + " 0 R >>";
  write_text(path("t-hide-replace.pdf"),
             append_update(pdf, {{next, "<< /Type /Pages /Kids [" + std::to_string(next + 1) + " 0 R] /Count 1 >>"},
                                 {next + 1, new_page},
                                 {next + 2, stream("BT /F1 24 Tf 72 700 Td (Amount: 900 EUR) Tj ET")},
                                 {root.getObjectID(), root_text}}));
  v = verify("t-hide-replace.pdf");
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("page 1 content changed"), std::string::npos) << v.output;
}

TEST_F(PdfTest, SignerFromAnUntrustedCaIsIndeterminate) {
  signed_file("t-untrusted-base.pdf");
  auto r = run(in_dir("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout outsider.key"
                      " -subj '/CN=Outsider' -out outsider.csr"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("bash -c " + sh_quote(in_dir("openssl x509 -req -in outsider.csr -CA other-ca.pem -CAkey other-ca.key"
                                       " -CAcreateserial -days 10 -extfile <(printf"
                                       " 'keyUsage=critical,digitalSignature,nonRepudiation') -out outsider.pem")));
  ASSERT_EQ(r.status, 0) << r.output;
  // The outside CA's certificate travels in the CMS: it must not become an anchor.
  write_text(path("t-untrusted.pdf"), resign_with_openssl("t-untrusted-base.pdf", "adbe.pkcs7.detached",
                                                         "-md sha256 -signer outsider.pem -inkey outsider.key"
                                                         " -certfile other-ca.pem"));
  auto v = verify("t-untrusted.pdf");
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "INDETERMINATE") << v.output;
  EXPECT_EQ(v.sub(), "NO_CERTIFICATE_CHAIN_FOUND") << v.output;
  // Trusted with --trust, its path is found; without a CRL of that CA the revocation is unknown.
  v = verify("t-untrusted.pdf", "--trust " + sh_quote(path("other-ca.pem")));
  EXPECT_EQ(v.sub(), "TRY_LATER") << v.output;
  EXPECT_EQ(v.report["signatures"][0]["chain"].size(), 2u) << v.output;
}

// A CRL of the outside CA (made here with the OpenSSL API and other-ca.key), listing `revoked`
// serials (hex) revoked at `when`; valid from last_update to next_update.
std::string make_other_crl(const fs::path& dir, const std::vector<std::string>& revoked, UnixTime when,
                           UnixTime last_update, UnixTime next_update, long crl_number = -1) {
  std::string ca_pem = read_file(dir / "other-ca.pem"), key_pem = read_file(dir / "other-ca.key");
  ossl::Cert ca = ossl::cert_from_pem(ca_pem);
  ossl::Bio kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  ossl::PKey key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  ossl::Crl crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get()));
  ossl::Time lu(ASN1_TIME_set(nullptr, static_cast<time_t>(last_update)));
  ossl::Time nu(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  X509_CRL_set1_lastUpdate(crl.get(), lu.get());
  X509_CRL_set1_nextUpdate(crl.get(), nu.get());
  for (auto& serial : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, serial.c_str());
    ossl::Integer n(BN_to_ASN1_INTEGER(bn, nullptr));
    BN_free(bn);
    X509_REVOKED_set_serialNumber(r, n.get());
    ossl::Time t(ASN1_TIME_set(nullptr, static_cast<time_t>(when)));
    X509_REVOKED_set_revocationDate(r, t.get());
    X509_CRL_add0_revoked(crl.get(), r);
  }
  if (crl_number >= 0) {
    ossl::Integer n(ASN1_INTEGER_new());
    ASN1_INTEGER_set(n.get(), crl_number);
    X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, n.get(), 0, 0);
  }
  X509_CRL_sort(crl.get());
  X509_CRL_sign(crl.get(), key.get(), EVP_sha256());
  ossl::Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(out.get(), crl.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// A CRL as make_other_crl makes it (valid for a day from a minute ago), claiming the outside CA's
// name but signed by a key of its own.
std::string forged_other_crl(const fs::path& dir, const std::vector<std::string>& revoked, UnixTime now,
                             long crl_number = -1) {
  auto r = run("cd " + sh_quote(dir.string()) + " && cp other-ca.key other-ca.key.real &&"
               " openssl ecparam -genkey -name prime256v1 -noout -out other-ca.key");
  EXPECT_EQ(r.status, 0) << r.output;
  std::string crl = make_other_crl(dir, revoked, now - 60, now - 60, now + 86400, crl_number);
  r = run("cd " + sh_quote(dir.string()) + " && mv other-ca.key.real other-ca.key");
  EXPECT_EQ(r.status, 0) << r.output;
  return crl;
}

// A partner CA given with --trust and its CRL with --crl: not listed PASSED, listed before the
// signing time not, an out-of-date CRL TRY_LATER, a CRL not signed by the CA ignored.
TEST_F(PdfTest, PartnerCaRevocationFromCrlFiles) {
  std::string serial = partner_signed();
  UnixTime now = std::time(nullptr);
  std::string trust = "--trust " + sh_quote(path("other-ca.pem"));
  write_text(path("partner-ok.crl"), make_other_crl(dir->path(), {"0123"}, now - 60, now - 60, now + 86400));
  auto v = verify("t-crl.pdf", trust + " --crl " + sh_quote(path("partner-ok.crl")));
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  EXPECT_NE(v.report["signatures"][0]["revocation"].get<std::string>().find("not revoked (CRL of"), std::string::npos)
      << v.output;
  write_text(path("partner-rev.crl"), make_other_crl(dir->path(), {serial}, now - 60, now - 30, now + 86400));
  v = verify("t-crl.pdf", trust + " --crl " + sh_quote(path("partner-rev.crl")));
  EXPECT_EQ(v.sub(), "REVOKED_NO_POE") << v.output;
  write_text(path("partner-old.crl"), make_other_crl(dir->path(), {"0123"}, now - 7200, now - 7200, now - 3600));
  v = verify("t-crl.pdf", trust + " --crl " + sh_quote(path("partner-old.crl")));
  EXPECT_EQ(v.sub(), "TRY_LATER") << v.output;
  EXPECT_NE(v.reasons().find("out of date"), std::string::npos) << v.output;
  // A CRL that claims the partner CA's name but is signed by another key is not used.
  write_text(path("partner-forged.crl"), forged_other_crl(dir->path(), {"0123"}, now));
  v = verify("t-crl.pdf", trust + " --crl " + sh_quote(path("partner-forged.crl")));
  EXPECT_EQ(v.sub(), "TRY_LATER") << v.output;
  EXPECT_NE(v.reasons().find("no CRL from CN=Other CA"), std::string::npos) << v.output;
}

// A local HTTP server (python3 -m http.server on port 0) over a folder, stopped when destroyed.
class HttpServer {
 public:
  explicit HttpServer(const fs::path& root) {
    auto r = run("cd " + sh_quote(root.string()) +
                 " && (python3 -u -m http.server 0 --bind 127.0.0.1 > ../http.log 2>&1 & echo $!)");
    pid_ = std::stoi(r.output);
    // Waits for the "Serving HTTP on 127.0.0.1 port N" line (a readiness check, not a timing one).
    for (int i = 0; i < 600 && port_ == 0; ++i) {
      std::string log = read_file(root.parent_path() / "http.log");
      auto at = log.find(" port ");
      if (at != std::string::npos && log.find(')', at) != std::string::npos) port_ = std::atoi(log.c_str() + at + 6);
      else run("sleep 0.05");
    }
  }
  ~HttpServer() { run("kill " + std::to_string(pid_)); }
  std::string url(const std::string& file) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + file; }
  int port() const { return port_; }

 private:
  int pid_ = 0;
  int port_ = 0;
};

// CA-7: partner CAs in the home's trust list (administrator session, audited; a non-CA, an expired
// CA, a duplicate and a bad URL refused), pdf verify without --trust using them, and crl fetch from
// a real local HTTP server: keeps a valid newer CRL, refuses a forged and an older one, says stale.
TEST_F(PdfTest, PartnerCasInTheTrustListAndTheirFetchedCrls) {
  std::string serial = partner_signed();
  fs::create_directories(path("crl-site"));
  HttpServer http(path("crl-site"));
  ASSERT_NE(http.port(), 0) << read_file(path("http.log"));
  std::string jitsuin = jitsuin_cmd(home);
  auto v = verify("t-crl.pdf");
  EXPECT_EQ(v.sub(), "NO_CERTIFICATE_CHAIN_FOUND") << v.output;

  // Refused, and nothing listed: not a CA, expired (PKITS' BadnotAfterDateCACert), a bad URL, no session.
  const std::string pkits = "/usr/lib/python3/dist-packages/cryptography_vectors/x509/PKITS_data/certs/";
  auto r = run(jitsuin + " trust add --cert " + sh_quote(path("partner.pem")));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("is not a CA certificate"), std::string::npos) << r.output;
  r = run(jitsuin + " trust add --cert " + pkits + "BadnotAfterDateCACert.crt");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("is not valid now"), std::string::npos) << r.output;
  r = run(jitsuin + " trust add --cert " + sh_quote(path("other-ca.pem")) + " --crl-url ftp://example.org/x.crl");
  EXPECT_NE(r.output.find("is not an http:// or https:// URL"), std::string::npos) << r.output;
  r = run("JITSUIN_SESSION_FILE=" + sh_quote(path("no-session").string()) + " " + jitsuin + " trust add --cert " +
          sh_quote(path("other-ca.pem")));
  EXPECT_NE(r.status, 0);
  r = run(jitsuin + " trust list --json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["partners"].size(), 0u) << r.output;

  // Added: the path is found, but there is no CRL on file yet.
  r = run(jitsuin + " trust add --cert " + sh_quote(path("other-ca.pem")) + " --name 'Other partner' --crl-url " +
          http.url("other.crl"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(jitsuin + " trust add --cert " + sh_quote(path("other-ca.pem")) + " --name again");
  EXPECT_NE(r.output.find("is already a partner CA"), std::string::npos) << r.output;
  r = run(jitsuin + " trust list");
  EXPECT_NE(r.output.find("Other partner: CN=Other CA"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CRL " + http.url("other.crl")), std::string::npos) << r.output;
  v = verify("t-crl.pdf");
  EXPECT_EQ(v.sub(), "TRY_LATER") << v.output;
  EXPECT_NE(v.reasons().find("no CRL from CN=Other CA"), std::string::npos) << v.output;

  // Nothing served yet: a failed download and no CRL on file, exit 1.
  r = run(jitsuin + " crl fetch");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("download failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stale: no CRL on file"), std::string::npos) << r.output;

  // CRL number 2, not listing the signer: kept; the signature PASSES.
  UnixTime now = std::time(nullptr);
  write_text(path("crl-site/other.crl"), make_other_crl(dir->path(), {"0123"}, now - 60, now - 60, now + 86400, 2));
  r = run(jitsuin + " crl fetch");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("kept CRL number 2"), std::string::npos) << r.output;
  v = verify("t-crl.pdf");
  EXPECT_EQ(v.indication(), "PASSED") << v.output;

  // Number 1 (older) and number 9 signed by another key: refused, number 2 stays on file.
  write_text(path("crl-site/other.crl"), make_other_crl(dir->path(), {serial}, now - 60, now - 30, now + 86400, 1));
  r = run(jitsuin + " crl fetch");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("refused: CRL number 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is older than the CRL number 2"), std::string::npos) << r.output;
  write_text(path("crl-site/other.crl"), forged_other_crl(dir->path(), {serial}, now, 9));
  r = run(jitsuin + " crl fetch");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("refused: not signed by CN=Other CA"), std::string::npos) << r.output;
  v = verify("t-crl.pdf");
  EXPECT_EQ(v.indication(), "PASSED") << v.output;

  // Number 3 lists the signer: kept, and the signature is no longer PASSED.
  write_text(path("crl-site/other.crl"), make_other_crl(dir->path(), {serial}, now - 60, now - 30, now + 86400, 3));
  r = run(jitsuin + " crl fetch --json");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(json::parse(r.output)["partners"][0]["updated"].get<bool>()) << r.output;
  v = verify("t-crl.pdf");
  EXPECT_EQ(v.sub(), "REVOKED_NO_POE") << v.output;

  // Two days later the CRL on file is past its nextUpdate: crl fetch says stale, verify says out of date.
  r = run(at_time(now + 2 * 86400) + jitsuin + " crl fetch");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("STALE"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("out of date since its nextUpdate"), std::string::npos) << r.output;
  v = verify("t-crl.pdf", "", at_time(now + 2 * 86400));
  EXPECT_EQ(v.sub(), "TRY_LATER") << v.output;
  EXPECT_NE(v.reasons().find("out of date"), std::string::npos) << v.output;

  // Removed by fingerprint: untrusted again; each change was one audit entry.
  std::string fingerprint = to_hex(sha256(ossl::cert_der(ossl::cert_from_pem(read_file(path("other-ca.pem"))).get())));
  r = run(jitsuin + " trust remove --fingerprint " + fingerprint);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(jitsuin + " trust remove --name 'Other partner'");
  EXPECT_NE(r.output.find("no partner CA with name 'Other partner'"), std::string::npos) << r.output;
  v = verify("t-crl.pdf");
  EXPECT_EQ(v.sub(), "NO_CERTIFICATE_CHAIN_FOUND") << v.output;
  r = run("sqlite3 " + sh_quote((home / "jitsuin.db").string()) +
          " \"SELECT action || ' ' || actor || ' ' || object FROM audit_log WHERE action LIKE 'trust.%' ORDER BY seq\"");
  EXPECT_EQ(r.output, "trust.add ra:admin " + fingerprint + "\ntrust.remove ra:admin " + fingerprint + "\n") << r.output;
  EXPECT_EQ(run(jitsuin + " audit verify").status, 0);
}

// NIST PKITS (the certificates, CRLs and PKCS#12 keys of Debian's python3-cryptography-vectors):
// a PDF signed with each test's end-entity key, validated in-process with PKITS' trust anchor as the
// only anchor, every PKITS CA certificate as a known intermediate and every PKITS CRL on file, at
// 2020-06-01 (inside the 2010-2030 validity of the suite). Expected: the outcome the PKITS document
// states for the test (valid: PASSED; invalid: anything but PASSED). Sections left out: README.
struct PkitsCase {
  const char* section;
  const char* ee;   // pkcs12/<ee>EE.p12
  bool valid;
};
const PkitsCase kPkits[] = {
    // 4.1 Signature Verification (4.1.5, DSA parameter inheritance, left out: OpenSSL does not do it)
    {"4.1.1", "ValidCertificatePathTest1", true},
    {"4.1.2", "InvalidCASignatureTest2", false},
    {"4.1.3", "InvalidEESignatureTest3", false},
    {"4.1.4", "ValidDSASignaturesTest4", true},
    {"4.1.6", "InvalidDSASignatureTest6", false},
    // 4.2 Validity Periods
    {"4.2.1", "InvalidCAnotBeforeDateTest1", false},
    {"4.2.2", "InvalidEEnotBeforeDateTest2", false},
    {"4.2.3", "Validpre2000UTCnotBeforeDateTest3", true},
    {"4.2.4", "ValidGeneralizedTimenotBeforeDateTest4", true},
    {"4.2.5", "InvalidCAnotAfterDateTest5", false},
    {"4.2.6", "InvalidEEnotAfterDateTest6", false},
    {"4.2.7", "Invalidpre2000UTCEEnotAfterDateTest7", false},
    {"4.2.8", "ValidGeneralizedTimenotAfterDateTest8", true},
    // 4.3 Verifying Name Chaining
    {"4.3.1", "InvalidNameChainingTest1", false},
    {"4.3.2", "InvalidNameChainingOrderTest2", false},
    {"4.3.3", "ValidNameChainingWhitespaceTest3", true},
    {"4.3.4", "ValidNameChainingWhitespaceTest4", true},
    {"4.3.5", "ValidNameChainingCapitalizationTest5", true},
    {"4.3.6", "ValidNameUIDsTest6", true},
    {"4.3.7", "ValidRFC3280MandatoryAttributeTypesTest7", true},
    {"4.3.8", "ValidRFC3280OptionalAttributeTypesTest8", true},
    {"4.3.9", "ValidUTF8StringEncodedNamesTest9", true},
    {"4.3.10", "ValidRolloverfromPrintableStringtoUTF8StringTest10", true},
    {"4.3.11", "ValidUTF8StringCaseInsensitiveMatchTest11", true},
    // 4.4 Basic Certificate Revocation Tests
    {"4.4.1", "InvalidMissingCRLTest1", false},
    {"4.4.2", "InvalidRevokedCATest2", false},
    {"4.4.3", "InvalidRevokedEETest3", false},
    {"4.4.4", "InvalidBadCRLSignatureTest4", false},
    {"4.4.5", "InvalidBadCRLIssuerNameTest5", false},
    {"4.4.6", "InvalidWrongCRLTest6", false},
    {"4.4.7", "ValidTwoCRLsTest7", true},
    {"4.4.8", "InvalidUnknownCRLEntryExtensionTest8", false},
    {"4.4.9", "InvalidUnknownCRLExtensionTest9", false},
    {"4.4.10", "InvalidUnknownCRLExtensionTest10", false},
    {"4.4.11", "InvalidOldCRLnextUpdateTest11", false},
    {"4.4.12", "Invalidpre2000CRLnextUpdateTest12", false},
    {"4.4.13", "ValidGeneralizedTimeCRLnextUpdateTest13", true},
    {"4.4.14", "ValidNegativeSerialNumberTest14", true},
    {"4.4.15", "InvalidNegativeSerialNumberTest15", false},
    {"4.4.16", "ValidLongSerialNumberTest16", true},
    {"4.4.17", "ValidLongSerialNumberTest17", true},
    {"4.4.18", "InvalidLongSerialNumberTest18", false},
    // 4.4.19-4.4.21 (CRLs signed by a separate CRL-signing certificate) left out: only CRLs signed
    // by a key on the certificate's own path are used, so 4.4.19 is INDETERMINATE, not valid.
    // 4.5 Verifying Paths with Self-Issued Certificates
    {"4.5.1", "ValidBasicSelfIssuedOldWithNewTest1", true},
    {"4.5.2", "InvalidBasicSelfIssuedOldWithNewTest2", false},
    {"4.5.3", "ValidBasicSelfIssuedNewWithOldTest3", true},
    {"4.5.5", "InvalidBasicSelfIssuedNewWithOldTest5", false},
    // 4.5.4, 4.5.6-4.5.8 left out like 4.4.19-4.4.21: their CRLs are signed by a key whose
    // certificate is not on the end entity's path.
    // 4.6 Verifying Basic Constraints
    {"4.6.1", "InvalidMissingbasicConstraintsTest1", false},
    {"4.6.2", "InvalidcAFalseTest2", false},
    {"4.6.3", "InvalidcAFalseTest3", false},
    {"4.6.4", "ValidbasicConstraintsNotCriticalTest4", true},
    {"4.6.5", "InvalidpathLenConstraintTest5", false},
    {"4.6.6", "InvalidpathLenConstraintTest6", false},
    {"4.6.7", "ValidpathLenConstraintTest7", true},
    {"4.6.8", "ValidpathLenConstraintTest8", true},
    {"4.6.9", "InvalidpathLenConstraintTest9", false},
    {"4.6.10", "InvalidpathLenConstraintTest10", false},
    {"4.6.11", "InvalidpathLenConstraintTest11", false},
    {"4.6.12", "InvalidpathLenConstraintTest12", false},
    {"4.6.13", "ValidpathLenConstraintTest13", true},
    {"4.6.14", "ValidpathLenConstraintTest14", true},
    {"4.6.15", "ValidSelfIssuedpathLenConstraintTest15", true},
    {"4.6.16", "InvalidSelfIssuedpathLenConstraintTest16", false},
    {"4.6.17", "ValidSelfIssuedpathLenConstraintTest17", true},
    // 4.7 Key Usage
    {"4.7.1", "InvalidkeyUsageCriticalkeyCertSignFalseTest1", false},
    {"4.7.2", "InvalidkeyUsageNotCriticalkeyCertSignFalseTest2", false},
    {"4.7.3", "ValidkeyUsageNotCriticalTest3", true},
    {"4.7.4", "InvalidkeyUsageCriticalcRLSignFalseTest4", false},
    {"4.7.5", "InvalidkeyUsageNotCriticalcRLSignFalseTest5", false},
    // 4.16 Private Certificate Extensions
    {"4.16.1", "ValidUnknownNotCriticalCertificateExtensionTest1", true},
    {"4.16.2", "InvalidUnknownCriticalCertificateExtensionTest2", false},
};

ossl::Cert read_der_cert(const fs::path& p) {
  std::string der = read_file(p);
  const unsigned char* q = reinterpret_cast<const unsigned char*>(der.data());
  return ossl::Cert(d2i_X509(nullptr, &q, static_cast<long>(der.size())));
}

TEST_F(PdfTest, PkitsPathValidationVerdicts) {
  const fs::path pkits = "/usr/lib/python3/dist-packages/cryptography_vectors/x509/PKITS_data";
  ASSERT_TRUE(fs::exists(pkits / "certs/TrustAnchorRootCertificate.crt"));
  contract::ValidationPolicy policy;
  policy.anchors.push_back(read_der_cert(pkits / "certs/TrustAnchorRootCertificate.crt"));
  for (auto& e : fs::directory_iterator(pkits / "certs")) {
    std::string name = e.path().filename().string();
    if (name.ends_with("EE.crt") || name.starts_with("TrustAnchorRoot")) continue;
    policy.intermediates.push_back(read_der_cert(e.path()));
  }
  for (auto& e : fs::directory_iterator(pkits / "crls")) {
    std::string der = read_file(e.path());
    const unsigned char* q = reinterpret_cast<const unsigned char*>(der.data());
    policy.crls.emplace_back(d2i_X509_CRL(nullptr, &q, static_cast<long>(der.size())));
  }
  policy.validation_time = parse_rfc3339("2020-06-01T00:00:00Z");
  signed_file("pkits-base.pdf");
  std::string mismatches;
  for (const auto& t : kPkits) {
    fs::path p12 = pkits / "pkcs12" / (std::string(t.ee) + "EE.p12");
    ASSERT_TRUE(fs::exists(p12)) << p12;
    auto r = run("openssl pkcs12 -in " + sh_quote(p12.string()) + " -passin pass:password -nodes -out " +
                 sh_quote(path("pkits-ee.pem").string()));
    ASSERT_EQ(r.status, 0) << r.output;
    std::string pdf = resign_with_openssl("pkits-base.pdf", "adbe.pkcs7.detached",
                                          "-md sha256 -signer pkits-ee.pem -inkey pkits-ee.pem");
    auto report = contract::verify_pdf(pdf, policy);
    ASSERT_EQ(report.signatures.size(), 1u) << t.section << " " << report.problem;
    const auto& s = report.signatures[0];
    bool passed = s.indication == contract::Indication::passed;
    if (passed != t.valid) {
      std::string why;
      for (auto& x : s.reasons) why += " | " + x;
      mismatches += std::string(t.section) + " " + t.ee + ": expected " + (t.valid ? "valid" : "invalid") + ", got " +
                    contract::indication_name(s.indication) + " " + s.sub_indication + why + "\n";
    }
  }
  EXPECT_EQ(mismatches, "");
}

TEST_F(PdfTest, SignerRevokedBeforeAndAfterTheSigningTime) {
  UnixTime now = std::time(nullptr);
  signed_file("t-rev-before.pdf", "revoked-early");
  signed_file("t-rev-after.pdf", "revoked-late");
  std::string early = read_file(path("revoked-early.pem")), late = read_file(path("revoked-late.pem"));
  auto serial_of = [&](const std::string& name) {
    auto r = run("openssl x509 -noout -serial -in " + sh_quote(path(name + ".pem").string()));
    return r.output.substr(r.output.find('=') + 1, r.output.find('\n') - r.output.find('=') - 1);
  };
  auto r = run(jitsuin_cmd(home) + " ca revoke --serial " + serial_of("revoked-early") + " --reason keyCompromise");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(jitsuin_cmd(home) + " ca revoke --serial " + serial_of("revoked-late") + " --reason superseded --effective " +
          format_rfc3339(now + 3 * 86400));
  ASSERT_EQ(r.status, 0) << r.output;
  // Revoked before the signing time (the validation time: no signature timestamp).
  auto v = verify("t-rev-before.pdf", "--at " + format_rfc3339(now + 3600));
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "INDETERMINATE") << v.output;
  EXPECT_EQ(v.sub(), "REVOKED_NO_POE") << v.output;
  EXPECT_NE(v.reasons().find("before the signing time"), std::string::npos) << v.output;
  // Revoked after it: PASSED, and said.
  v = verify("t-rev-after.pdf", "--at " + format_rfc3339(now + 3600));
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  EXPECT_NE(v.reasons().find("after the signing time"), std::string::npos) << v.output;
  // Validated after the revocation took effect, the same file is no longer PASSED.
  v = verify("t-rev-after.pdf", "--at " + format_rfc3339(now + 4 * 86400));
  EXPECT_EQ(v.sub(), "REVOKED_NO_POE") << v.output;
}

TEST_F(PdfTest, WeakOrMalformedCmsIsRefused) {
  signed_file("t-cms.pdf");
  issue("second", "Second Signer");
  // SHA-1.
  write_text(path("t-sha1.pdf"),
             resign_with_openssl("t-cms.pdf", "adbe.pkcs7.detached", "-md sha1 -signer taro.pem -inkey taro.key"));
  auto v = verify("t-sha1.pdf");
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "INDETERMINATE") << v.output;
  EXPECT_EQ(v.sub(), "CRYPTO_CONSTRAINTS_FAILURE") << v.output;
  EXPECT_NE(v.reasons().find("SHA1"), std::string::npos) << v.output;
  // adbe.pkcs7.sha1.
  write_text(path("t-sha1-filter.pdf"),
             resign_with_openssl("t-cms.pdf", "adbe.pkcs7.sha1", "-md sha256 -signer taro.pem -inkey taro.key"));
  v = verify("t-sha1-filter.pdf");
  EXPECT_EQ(v.sub(), "CRYPTO_CONSTRAINTS_FAILURE") << v.output;
  EXPECT_NE(v.reasons().find("adbe.pkcs7.sha1"), std::string::npos) << v.output;
  // Two SignerInfos.
  write_text(path("t-two.pdf"), resign_with_openssl("t-cms.pdf", "adbe.pkcs7.detached",
                                                    "-md sha256 -signer taro.pem -inkey taro.key -signer second.pem"
                                                    " -inkey second.key"));
  v = verify("t-two.pdf");
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("the CMS has 2 SignerInfos"), std::string::npos) << v.output;
  // ETSI.CAdES.detached without signing-certificate-v2 (openssl cms adds none).
  write_text(path("t-noess.pdf"),
             resign_with_openssl("t-cms.pdf", "ETSI.CAdES.detached", "-md sha256 -signer taro.pem -inkey taro.key"));
  v = verify("t-noess.pdf");
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("signing-certificate-v2"), std::string::npos) << v.output;
  // The same CMS as legacy adbe.pkcs7.detached: accepted.
  write_text(path("t-legacy.pdf"), resign_with_openssl("t-cms.pdf", "adbe.pkcs7.detached",
                                                       "-md sha256 -signer taro.pem -inkey taro.key -certfile taro-chain.pem"));
  v = verify("t-legacy.pdf");
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
}

TEST_F(PdfTest, SignerWithoutTheNeededKeyUsageIsIndeterminate) {
  signed_file("t-ku-base.pdf");
  auto r = run("bash -c " + sh_quote(in_dir("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                                            " -keyout noku.key -subj '/CN=No Signing' -out noku.csr && openssl x509 -req"
                                            " -in noku.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 10"
                                            " -extfile <(printf 'keyUsage=critical,keyAgreement') -out noku.pem")));
  ASSERT_EQ(r.status, 0) << r.output;
  write_text(path("t-ku.pdf"), resign_with_openssl("t-ku-base.pdf", "adbe.pkcs7.detached",
                                                   "-md sha256 -signer noku.pem -inkey noku.key"));
  auto v = verify("t-ku.pdf", "--trust " + sh_quote(path("other-ca.pem")));
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "INDETERMINATE") << v.output;
  EXPECT_EQ(v.sub(), "SIG_CONSTRAINTS_FAILURE") << v.output;
  EXPECT_NE(v.reasons().find("lacks keyUsage digitalSignature and nonRepudiation"), std::string::npos) << v.output;
  // No keyUsage extension at all (RFC 5280: any use): kept INDETERMINATE, see README.
  r = run("bash -c " + sh_quote(in_dir("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
                                       " -keyout kuabsent.key -subj '/CN=No Key Usage' -out kuabsent.csr && openssl x509"
                                       " -req -in kuabsent.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial"
                                       " -days 10 -extfile <(printf 'subjectKeyIdentifier=hash') -out kuabsent.pem")));
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(run(in_dir("openssl x509 -noout -ext keyUsage -in kuabsent.pem")).output.find("Key Usage"), std::string::npos);
  write_text(path("t-kuabsent.pdf"), resign_with_openssl("t-ku-base.pdf", "adbe.pkcs7.detached",
                                                         "-md sha256 -signer kuabsent.pem -inkey kuabsent.key"));
  v = verify("t-kuabsent.pdf", "--trust " + sh_quote(path("other-ca.pem")));
  EXPECT_EQ(v.indication(), "INDETERMINATE") << v.output;
  EXPECT_EQ(v.sub(), "SIG_CONSTRAINTS_FAILURE") << v.output;
  EXPECT_NE(v.reasons().find("has no keyUsage extension"), std::string::npos) << v.output;
}

TEST_F(PdfTest, TruncatedFilesAndNonPdfsAreReportedNotCrashedOn) {
  signed_file("t-trunc-base.pdf");
  std::string pdf = read_file(path("t-trunc-base.pdf"));
  for (std::size_t cut : {std::size_t{10}, pdf.size() / 3, pdf.size() / 2, pdf.size() - 40, pdf.size() - 1}) {
    write_text(path("t-trunc.pdf"), pdf.substr(0, cut));
    auto v = verify("t-trunc.pdf");
    EXPECT_EQ(v.status, 1) << cut << ": " << v.output;
    EXPECT_FALSE(v.report.value("all_passed", true)) << v.output;
  }
  write_text(path("t-text.pdf"), "this is not a PDF\n");
  auto v = verify("t-text.pdf");
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.report["problem"], "not a PDF (no %PDF- header)");
  auto r = run(jitsuin_cmd(home) + " pdf verify " + sh_quote(path("t-text.pdf")));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not a PDF"), std::string::npos);
  // No signature at all.
  r = run(jitsuin_cmd(home) + " pdf verify " + sh_quote(path("base.pdf")));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no signature"), std::string::npos) << r.output;
  // Usage errors.
  EXPECT_EQ(run(jitsuin_cmd(home) + " pdf verify").status, 2);
  EXPECT_EQ(run(jitsuin_cmd(home) + " pdf verify " + sh_quote(path("base.pdf")) + " --at tomorrow").status, 2);
}

// Form filling after a signature is allowed (and listed); under a DocMDP P=1 certification it is
// not, and neither is a further signature.
TEST_F(PdfTest, FormFillingFollowsDocMdp) {
  auto fill = [&](const std::string& in, const std::string& out) {
    std::string pdf = read_file(path(in));
    int next = trailer_of(pdf).size;
    write_text(path(out), append_update(pdf, {{7, "<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /V (900 EUR)"
                                                  " /Rect [72 650 300 680] /P 3 0 R /AP << /N " +
                                                      std::to_string(next) + " 0 R >> /F 4 >>"},
                                              {next, stream("BT /F1 12 Tf 2 10 Td (900 EUR) Tj ET",
                                                            " /Type /XObject /Subtype /Form /BBox [0 0 228 30]"
                                                            " /Resources << /Font << /F1 4 0 R >> >>")}}));
  };
  signed_file("form-s.pdf", "taro", "form.pdf");
  fill("form-s.pdf", "form-filled.pdf");
  auto v = verify("form-filled.pdf");
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  EXPECT_NE(v.report["signatures"][0]["changes_after_signing"].dump().find("allowed: form field amount filled in"),
            std::string::npos)
      << v.output;

  signed_file("cert-s.pdf", "taro", "certified.pdf");
  fill("cert-s.pdf", "cert-filled.pdf");
  v = verify("cert-filled.pdf");
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("form field amount changed, which the certification signature (DocMDP P=1) forbids"),
            std::string::npos)
      << v.output;
  ASSERT_EQ(sign("cert-s.pdf", "cert-s2.pdf", "taro").status, 0);
  v = verify("cert-s2.pdf");
  EXPECT_EQ(v.indication(0), "FAILED") << v.output;
  EXPECT_NE(v.reasons(0).find("signature field Signature2 added and signed, which the certification signature"),
            std::string::npos)
      << v.output;
  EXPECT_EQ(v.indication(1), "PASSED") << v.output;
}

// A signature timestamp (RFC 3161 token from a TSA made here with openssl ts) in the SignerInfo's
// unsigned attributes: its time becomes the signing time, so a revocation before it is FAILED
// REVOKED and one after it leaves the signature PASSED even when validated later.
TEST_F(PdfTest, SignatureTimestampSetsTheSigningTime) {
  auto r = run("bash -c " + sh_quote(in_dir(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa.key -subj '/CN=Test TSA'"
      " -out tsa.csr && openssl x509 -req -in tsa.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 10"
      " -extfile <(printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping') -out tsa.pem")));
  ASSERT_EQ(r.status, 0) << r.output;
  write_text(path("tsa.cnf"),
             "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./tsa.serial\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n"
             "signer_digest = sha256\ness_cert_id_alg = sha256\naccuracy = secs:1\n");
  // Adds a timestamp token over the signature value of the file's last signature.
  auto stamp = [&](const std::string& in, const std::string& out) {
    std::string pdf = read_file(path(in));
    std::size_t br = pdf.rfind("/ByteRange [");
    long long a, b, c, d;
    ASSERT_EQ(std::sscanf(pdf.c_str() + br + 12, "%lld %lld %lld %lld", &a, &b, &c, &d), 4);
    Bytes der = from_hex(pdf.substr(b + 1, c - b - 2));
    const unsigned char* p = der.data();
    CMS_ContentInfo* cms = d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size()));
    ASSERT_NE(cms, nullptr);
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    ASN1_OCTET_STRING* value = CMS_SignerInfo_get0_signature(si);
    write_text(path("sigvalue.bin"), std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                                 static_cast<std::size_t>(ASN1_STRING_length(value))));
    auto t = run(in_dir("echo 01 > tsa.serial && openssl ts -query -data sigvalue.bin -sha256 -cert -out ts.tsq &&"
                        " openssl ts -reply -config tsa.cnf -queryfile ts.tsq -inkey tsa.key -signer tsa.pem"
                        " -token_out -out ts.tok"));
    ASSERT_EQ(t.status, 0) << t.output;
    std::string token = read_file(path("ts.tok"));
    ASSERT_EQ(CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, token.data(),
                                            static_cast<int>(token.size())),
              1);
    unsigned char* outder = nullptr;
    int len = i2d_CMS_ContentInfo(cms, &outder);
    std::string hex = to_hex(std::span<const std::uint8_t>(outder, static_cast<std::size_t>(len)));
    OPENSSL_free(outder);
    CMS_ContentInfo_free(cms);
    ASSERT_LT(hex.size(), static_cast<std::size_t>(c - b - 2));
    pdf.replace(b + 1, hex.size(), hex);
    write_text(path(out), pdf);
  };
  auto serial_of = [&](const std::string& name) {
    auto s = run("openssl x509 -noout -serial -in " + sh_quote(path(name + ".pem").string()));
    return s.output.substr(s.output.find('=') + 1, s.output.find('\n') - s.output.find('=') - 1);
  };
  UnixTime now = std::time(nullptr);
  std::string trust = "--trust " + sh_quote(path("other-ca.pem"));

  signed_file("ts-early.pdf", "ts-early");
  r = run(jitsuin_cmd(home) + " ca revoke --serial " + serial_of("ts-early") + " --reason keyCompromise");
  ASSERT_EQ(r.status, 0) << r.output;
  stamp("ts-early.pdf", "ts-early-stamped.pdf");
  auto v = verify("ts-early-stamped.pdf", trust);
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_EQ(v.sub(), "REVOKED") << v.output;
  EXPECT_EQ(v.report["signatures"][0]["signing_time_source"], "signature timestamp") << v.output;

  signed_file("ts-late.pdf", "ts-late");
  stamp("ts-late.pdf", "ts-late-stamped.pdf");
  r = run(jitsuin_cmd(home) + " ca revoke --serial " + serial_of("ts-late") + " --reason superseded --effective " +
          format_rfc3339(now + 86400));
  ASSERT_EQ(r.status, 0) << r.output;
  std::string later = "--at " + format_rfc3339(now + 2 * 86400);
  v = verify("ts-late-stamped.pdf", trust + " " + later);
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  EXPECT_EQ(v.report["signatures"][0]["signing_time_source"], "signature timestamp") << v.output;
  EXPECT_NE(v.reasons().find("after the signing time"), std::string::npos) << v.output;
  // The same file without trusting the TSA: the timestamp is not used, the validation time is.
  v = verify("ts-late-stamped.pdf", later);
  EXPECT_EQ(v.sub(), "REVOKED_NO_POE") << v.output;
  EXPECT_NE(v.reasons().find("signature timestamp does not verify"), std::string::npos) << v.output;
}

// A PDF whose cross-reference data is a stream and whose objects sit in object streams (qpdf
// --object-streams=generate): signed and counter-signed, each update with a cross-reference
// stream of its own; pdfsig, qpdf --check and our verifier accept both.
TEST_F(PdfTest, SigningAPdfWithCrossReferenceStreams) {
  auto r = run(in_dir("qpdf --object-streams=generate base.pdf xs.pdf"));
  ASSERT_EQ(r.status, 0) << r.output;
  std::string base = read_file(path("xs.pdf"));
  ASSERT_NE(base.find("/ObjStm"), std::string::npos);
  ASSERT_EQ(base.find("\nxref"), std::string::npos);   // no cross-reference table at all
  signed_file("xs1.pdf", "taro", "xs.pdf");
  ASSERT_EQ(sign("xs1.pdf", "xs2.pdf", "taro").status, 0);
  std::string signed_pdf = read_file(path("xs2.pdf"));
  std::string update = signed_pdf.substr(base.size());
  EXPECT_EQ(update.find("\nxref"), std::string::npos) << "a cross-reference table after a stream-only file";
  std::size_t streams = 0;
  for (std::size_t at = update.find("/Type /XRef"); at != std::string::npos; at = update.find("/Type /XRef", at + 1))
    ++streams;
  EXPECT_EQ(streams, 2u);
  r = run(in_dir("qpdf --check xs2.pdf"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("No syntax or stream encoding errors found"), std::string::npos) << r.output;
  auto v = verify("xs2.pdf");
  EXPECT_EQ(v.status, 0) << v.output;
  ASSERT_EQ(v.report["signatures"].size(), 2u) << v.output;
  EXPECT_EQ(v.indication(0), "PASSED") << v.output;
  EXPECT_EQ(v.indication(1), "PASSED") << v.output;
  auto p = run("pdfsig " + sh_quote(path("xs2.pdf").string()));
  std::size_t valid = 0;
  for (std::size_t at = p.output.find("Signature is Valid."); at != std::string::npos;
       at = p.output.find("Signature is Valid.", at + 1))
    ++valid;
  EXPECT_EQ(valid, 2u) << p.output;
}

// A TSA certificate NAME.pem (key NAME.key) from the outside CA with the given extensions, and a
// `openssl ts -reply` configuration tsa.cnf.
void make_tsa(const fs::path& dir, const std::string& name, const std::string& extensions) {
  auto r = run("bash -c " + sh_quote("cd " + sh_quote(dir.string()) +
                                     " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                                     name + ".key -subj '/CN=Test TSA " + name + "' -out " + name +
                                     ".csr && openssl x509 -req -in " + name +
                                     ".csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 10"
                                     " -extfile <(printf '" + extensions + "') -out " + name + ".pem"));
  ASSERT_EQ(r.status, 0) << r.output;
  write_text(dir / "tsa.cnf",
             "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./tsa.serial\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n"
             "signer_digest = sha256\ness_cert_id_alg = sha256\naccuracy = secs:1\n");
}

// Document timestamps (/SubFilter /ETSI.RFC3161): the second signature of a counter-signed file
// made into one — /Type /DocTimeStamp, and for /Contents an RFC 3161 token over its byte ranges
// from `openssl ts -reply` with a TSA key and certificate made here.
TEST_F(PdfTest, DocumentTimestampsAreValidated) {
  make_tsa(dir->path(), "tsa-ok", "keyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping");
  make_tsa(dir->path(), "tsa-noeku", "keyUsage=critical,digitalSignature");
  signed_file("dts1.pdf");
  ASSERT_EQ(sign("dts1.pdf", "dts2.pdf", "taro").status, 0);
  auto stamp = [&](const std::string& tsa, const std::string& out) {
    std::string pdf = read_file(path("dts2.pdf"));
    const std::string was = "/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached";
    std::string now = "/Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161";
    now.resize(was.size(), ' ');
    std::size_t at = pdf.rfind(was);
    ASSERT_NE(at, std::string::npos);
    pdf.replace(at, was.size(), now);
    std::size_t br = pdf.find("/ByteRange [", at);
    long long a, b, c, d;
    ASSERT_EQ(std::sscanf(pdf.c_str() + br + 12, "%lld %lld %lld %lld", &a, &b, &c, &d), 4);
    write_text(path("dts.ranges"), pdf.substr(0, b) + pdf.substr(c, d));
    auto t = run(in_dir("echo 01 > tsa.serial && openssl ts -query -data dts.ranges -sha256 -cert -out dts.tsq &&"
                        " openssl ts -reply -config tsa.cnf -queryfile dts.tsq -inkey tsa-ok.key -signer tsa-ok.pem"
                        " -token_out -out dts.tok && openssl ts -verify -token_in -in dts.tok -data dts.ranges"
                        " -CAfile other-ca.pem"));
    ASSERT_EQ(t.status, 0) << t.output;   // openssl agrees the token is good
    if (tsa != "tsa-ok") {
      // openssl ts -reply refuses a TSA certificate without the timestamping purpose: the same
      // TSTInfo signed by `tsa` with openssl cms (ESS signing-certificate-v2 included) instead.
      t = run(in_dir("openssl cms -verify -noverify -inform DER -in dts.tok -out dts.tstinfo && openssl cms -sign"
                     " -binary -nodetach -cades -econtent_type id-smime-ct-TSTInfo -md sha256 -in dts.tstinfo -signer " +
                     tsa + ".pem -inkey " + tsa + ".key -outform DER -out dts.tok"));
      ASSERT_EQ(t.status, 0) << t.output;
    }
    put_contents(pdf, b, c, read_file(path("dts.tok")));
    write_text(path(out), pdf);
  };
  std::string trust = "--trust " + sh_quote(path("other-ca.pem"));
  stamp("tsa-ok", "dts-ok.pdf");
  auto v = verify("dts-ok.pdf", trust);
  EXPECT_EQ(v.status, 0) << v.output;
  ASSERT_EQ(v.report["signatures"].size(), 2u) << v.output;
  EXPECT_EQ(v.indication(0), "PASSED") << v.output;
  EXPECT_EQ(v.indication(1), "PASSED") << v.output;
  EXPECT_EQ(v.report["signatures"][1]["sub_filter"], "ETSI.RFC3161");
  EXPECT_EQ(v.report["signatures"][1]["signer"], "CN=Test TSA tsa-ok");
  EXPECT_EQ(v.report["signatures"][1]["signing_time_source"], "document timestamp") << v.output;
  // A byte of the timestamped revision changed (inside the second byte range's part after the
  // first signature): the imprint no longer matches. Signature1 does not cover it.
  std::string pdf = read_file(path("dts-ok.pdf"));
  std::size_t m = pdf.rfind("/M (D:");
  pdf[m + 8] = pdf[m + 8] == '9' ? '8' : '9';
  write_text(path("dts-changed.pdf"), pdf);
  v = verify("dts-changed.pdf", trust);
  EXPECT_EQ(v.indication(1), "FAILED") << v.output;
  EXPECT_EQ(v.sub(1), "HASH_FAILURE") << v.output;
  EXPECT_NE(v.reasons(1).find("messageImprint"), std::string::npos) << v.output;
  // The TSA's CA not trusted: no path.
  v = verify("dts-ok.pdf");
  EXPECT_EQ(v.indication(1), "INDETERMINATE") << v.output;
  EXPECT_EQ(v.sub(1), "NO_CERTIFICATE_CHAIN_FOUND") << v.output;
  // A TSA certificate without the timestamping extendedKeyUsage: refused.
  stamp("tsa-noeku", "dts-noeku.pdf");
  v = verify("dts-noeku.pdf", trust);
  EXPECT_EQ(v.indication(1), "INDETERMINATE") << v.output;
  EXPECT_NE(v.reasons(1).find("unsuitable certificate purpose"), std::string::npos) << v.output;
  // Not a timestamp token at all (the CMS of a signature under /SubFilter /ETSI.RFC3161).
  pdf = read_file(path("dts2.pdf"));
  std::size_t sf = pdf.rfind("/SubFilter /ETSI.CAdES.detached");
  pdf.replace(sf, 31, "/SubFilter /ETSI.RFC3161       ");
  write_text(path("dts-cms.pdf"), pdf);
  v = verify("dts-cms.pdf", trust);
  EXPECT_EQ(v.indication(1), "FAILED") << v.output;
  EXPECT_NE(v.reasons(1).find("not an RFC 3161 token"), std::string::npos) << v.output;
}

// Thousands of damaged variants of a counter-signed file (bytes changed, removed, inserted, the
// file cut) through the library itself: every one gets a report, none throws or crashes.
TEST_F(PdfTest, DamagedVariantsNeverCrashTheValidator) {
  signed_file("r1.pdf");
  ASSERT_EQ(sign("r1.pdf", "r2.pdf", "taro").status, 0);
  std::string pdf = read_file(path("r2.pdf"));
  contract::ValidationPolicy policy;
  std::string chain = read_file(path("taro-chain.pem"));
  policy.anchors.push_back(ossl::cert_from_pem(chain.substr(chain.rfind("-----BEGIN CERTIFICATE-----"))));
  policy.intermediates.push_back(ossl::cert_from_pem(chain));
  policy.validation_time = std::time(nullptr);
  auto clean = contract::verify_pdf(pdf, policy);
  ASSERT_EQ(clean.signatures.size(), 2u);
  // No CRL and no CA database here: the clean file is INDETERMINATE TRY_LATER, nothing better.
  EXPECT_EQ(clean.signatures[0].sub_indication, "TRY_LATER");
  std::uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  const std::string tokens[] = {"obj", "endobj", "R", "<<", ">>", "[", "]", "/ByteRange", "/Contents", "xref",
                                "startxref", "%%EOF", "stream", "0", "999999999999", "-1", "(", ")"};
  int reports = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string v = pdf;
    int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits && !v.empty(); ++e) {
      std::size_t at = next() % v.size();
      switch (next() % 5) {
        case 0: v[at] = static_cast<char>(next()); break;
        case 1: v.erase(at, 1 + next() % 64); break;
        case 2: v.insert(at, tokens[next() % std::size(tokens)]); break;
        case 3: v.resize(at); break;
        default: v[at] = "0123456789 <>/[]"[next() % 16];
      }
    }
    contract::PdfReport r;
    ASSERT_NO_THROW(r = contract::verify_pdf(v, policy)) << "variant " << i;
    reports += static_cast<int>(r.signatures.size());
  }
  EXPECT_GT(reports, 0);
}

}  // namespace
}  // namespace jitsuin::test

namespace jitsuin::test {
namespace {

// Issue 20 item 4: tagged PDFs as office tools make them (Chromium's print to PDF with its
// document outline, LibreOffice Writer's tagged export), each also rewritten by qpdf with object
// streams and a cross-reference stream, and linearized: NAME.pdf, NAME-objstm.pdf, NAME-lin.pdf.
const char* kTaggedHtml =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Contract</title></head><body>"
    "<h1>Contract</h1><p>Amount: 100 EUR</p><img alt=\"Company logo\" width=\"40\" height=\"40\" src=\"data:image/png;"
    "base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\">"
    "<h2>Terms</h2><ul><li>one</li><li>two</li></ul><p><a href=\"https://example.com/\">example</a></p></body></html>";

// The tagged inputs and the counter-signers of issue 20 item 4 (helpers over PdfTest's folder, home
// and token; not a test suite of its own: one home and token per process).
struct Tagged : PdfTest {
  // Makes the tagged inputs once (in the test's folder), and the keys of the counter-signers: ours
  // ("counter") and pdfsig's (an NSS database holding "nss-signer", RSA: see
  // CounterSignaturesOfPdfsigAndOursInARow).
  static void make_inputs() {
    if (fs::exists(path("libreoffice-lin.pdf"))) return;
    write_text(path("tagged.html"), kTaggedHtml);
    auto r = run(in_dir("chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer"
                        " --generate-pdf-document-outline --print-to-pdf=chromium.pdf tagged.html"));
    ASSERT_TRUE(fs::exists(path("chromium.pdf"))) << r.output;
    r = run(in_dir("HOME=$PWD soffice --headless --convert-to"
                   " 'pdf:writer_pdf_Export:{\"UseTaggedPDF\":{\"type\":\"boolean\",\"value\":\"true\"}}'"
                   " --outdir lo tagged.html && mv lo/tagged.pdf libreoffice.pdf"));
    ASSERT_TRUE(fs::exists(path("libreoffice.pdf"))) << r.output;
    if (!fs::exists(path("taro.pem"))) {
      issue("taro", "Signer taro");
      to_token("taro");
    }
    issue("counter", "Counter Signer");
    to_token("counter");
    issue("nss-signer", "Nss Signer", "rsa:2048");
    r = run(in_dir("mkdir -p nss-tagged && certutil -N -d sql:nss-tagged --empty-password && openssl pkcs12 -export"
                   " -inkey nss-signer.key -in nss-signer.pem -certfile nss-signer-chain.pem -name nss-signer"
                   " -passout pass:pw -out nss-signer.p12 && pk12util -i nss-signer.p12 -d sql:nss-tagged -W pw"));
    ASSERT_EQ(r.status, 0) << r.output;
    for (std::string name : {"chromium", "libreoffice"}) {
      r = run(in_dir("qpdf --object-streams=generate " + name + ".pdf " + name + "-objstm.pdf && qpdf --linearize " +
                     name + ".pdf " + name + "-lin.pdf"));
      ASSERT_EQ(r.status, 0) << r.output;
    }
  }

  static CommandResult pdfsig_sign(const std::string& in, const std::string& out) {
    return run(in_dir("pdfsig -add-signature -nssdir sql:nss-tagged -nick nss-signer -new-signature-field-name Approval " +
                      in + " " + out));
  }

  // Both signatures of `file` PASSED by pdf verify, and valid for pdfsig.
  static void expect_two_valid(const std::string& file) {
    auto v = verify(file);
    EXPECT_EQ(v.status, 0) << file << ": " << v.output;
    ASSERT_EQ(v.report["signatures"].size(), 2u) << file << ": " << v.output;
    for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(v.indication(i), "PASSED") << file << ": " << v.output;
    auto p = run("pdfsig " + sh_quote(path(file).string()));
    std::size_t valid = 0;
    for (std::size_t at = p.output.find("Signature is Valid."); at != std::string::npos;
         at = p.output.find("Signature is Valid.", at + 1))
      ++valid;
    EXPECT_EQ(valid, 2u) << file << ": " << p.output;
  }
};

TEST_F(PdfTest, CounterSigningTaggedPdfsKeepsEverySignatureValid) {
  Tagged::make_inputs();
  ASSERT_FALSE(HasFatalFailure());
  for (std::string source : {"chromium", "libreoffice"}) {
    std::string tagged = read_file(path(source + ".pdf"));
    ASSERT_NE(tagged.find("/StructTreeRoot"), std::string::npos) << source << " made an untagged PDF";
    ASSERT_NE(read_file(path(source + "-objstm.pdf")).find("/ObjStm"), std::string::npos);
    ASSERT_NE(read_file(path(source + "-lin.pdf")).find("/Linearized"), std::string::npos);
    for (std::string variant : {"", "-objstm", "-lin"}) {
      std::string base = source + variant;
      // Ours, counter-signed by ours.
      ASSERT_EQ(sign(base + ".pdf", base + "-1.pdf", "taro").status, 0);
      ASSERT_EQ(sign(base + "-1.pdf", base + "-11.pdf", "counter").status, 0);
      Tagged::expect_two_valid(base + "-11.pdf");
      // Ours, counter-signed by pdfsig (NSS).
      auto r = Tagged::pdfsig_sign(base + "-1.pdf", base + "-1n.pdf");
      ASSERT_TRUE(fs::exists(path(base + "-1n.pdf"))) << r.output;
      Tagged::expect_two_valid(base + "-1n.pdf");
      // pdfsig's, counter-signed by ours.
      r = Tagged::pdfsig_sign(base + ".pdf", base + "-n.pdf");
      ASSERT_TRUE(fs::exists(path(base + "-n.pdf"))) << r.output;
      ASSERT_EQ(sign(base + "-n.pdf", base + "-n1.pdf", "counter").status, 0);
      Tagged::expect_two_valid(base + "-n1.pdf");
    }
  }
  // What the first signature's report says about the counter-signature: the widget and the field.
  auto v = verify("chromium-11.pdf");
  std::string changes = v.report["signatures"][0]["changes_after_signing"].dump();
  EXPECT_NE(changes.find("allowed: page 1: widget of signature field Signature2 added"), std::string::npos) << changes;
  EXPECT_EQ(changes.find("NOT ALLOWED"), std::string::npos) << changes;
}

// The structure tree and the page are still compared after a counter-signature: a changed /Alt
// text, a struct element moved to another page, a changed content stream each FAIL every
// signature they follow.
TEST_F(PdfTest, ChangesToATaggedPdfAfterSigningStillFail) {
  Tagged::make_inputs();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(sign("chromium.pdf", "ct-1.pdf", "taro").status, 0);
  ASSERT_EQ(sign("ct-1.pdf", "ct-2.pdf", "counter").status, 0);
  std::string pdf = read_file(path("ct-2.pdf"));
  QPDF q;
  q.setSuppressWarnings(true);
  q.processMemoryFile("in.pdf", pdf.data(), pdf.size());
  QPDFObjectHandle page = q.getAllPages().at(0), figure;
  QPDFObjectHandle content = page.getKey("/Contents");
  for (auto& o : q.getAllObjects())
    if (o.isDictionary() && o.hasKey("/Alt")) figure = o;
  ASSERT_TRUE(figure.isDictionary()) << "no struct element with /Alt";
  ASSERT_TRUE(content.isIndirect() && content.isStream());

  std::string alt = figure.unparseResolved();
  std::size_t at = alt.find("(Company logo)");
  ASSERT_NE(at, std::string::npos) << alt;
  write_text(path("ct-alt.pdf"), append_update(pdf, {{figure.getObjectID(), alt.replace(at, 14, "(Payee: Mallory)")}}));
  auto v = verify("ct-alt.pdf");
  EXPECT_EQ(v.status, 1);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(v.indication(i), "FAILED") << v.output;
    EXPECT_NE(v.reasons(i).find("document catalog /StructTreeRoot changed"), std::string::npos) << v.output;
  }

  // /Pg of the struct element retargeted (to the same page under another object: a copy).
  std::string moved = figure.unparseResolved();
  std::size_t pg = moved.find("/Pg ");
  ASSERT_NE(pg, std::string::npos) << moved;
  int next = trailer_of(pdf).size;
  std::size_t end = moved.find(" R", pg);
  moved.replace(pg, end + 2 - pg, "/Pg " + std::to_string(next) + " 0 R");
  write_text(path("ct-pg.pdf"), append_update(pdf, {{figure.getObjectID(), moved},
                                                    {next, page.unparseResolved()}}));
  v = verify("ct-pg.pdf");
  EXPECT_EQ(v.status, 1);
  EXPECT_EQ(v.indication(0), "FAILED") << v.output;
  EXPECT_NE(v.reasons(0).find("document catalog /StructTreeRoot changed"), std::string::npos) << v.output;

  write_text(path("ct-content.pdf"),
             append_update(pdf, {{content.getObjectID(), stream("BT /F1 24 Tf 72 700 Td (Amount: 900 EUR) Tj ET")}}));
  v = verify("ct-content.pdf");
  EXPECT_EQ(v.status, 1);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(v.indication(i), "FAILED") << v.output;
    EXPECT_NE(v.reasons(i).find("page 1 content changed"), std::string::npos) << v.output;
  }
}

// Issue 20 item 17: pdf sign judges its signer's certificate now as pdf verify would, and refuses
// one that has expired, is not yet valid or is revoked, unless --force; nothing is written.
TEST_F(PdfTest, SigningWithAnExpiredOrRevokedCertificateIsRefusedUnlessForced) {
  issue("dated", "Dated Signer");
  to_token("dated");
  auto dates = run("openssl x509 -noout -enddate -dateopt iso_8601 -in " + sh_quote(path("dated.pem").string())).output;
  std::string end = dates.substr(dates.find('=') + 1, 19);   // 2027-11-29 12:00:00
  end[10] = 'T';
  UnixTime not_after = parse_rfc3339(end + "Z");
  std::string after = "JITSUIN_TEST_NOW=" + format_rfc3339(not_after + 86400) + " ";
  auto r = sign("base.pdf", "t-expired.pdf", "dated", after);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("refused to sign: the signer's certificate expired on " + format_rfc3339(not_after)),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("--force signs anyway"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("t-expired.pdf")));
  r = sign("base.pdf", "t-expired.pdf", "dated", after, " --force");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: signing with --force although the signer's certificate expired"), std::string::npos)
      << r.output;
  ASSERT_TRUE(fs::exists(path("t-expired.pdf")));
  auto v = verify("t-expired.pdf", "", after);
  EXPECT_EQ(v.status, 1) << v.output;
  EXPECT_EQ(v.sub(), "OUT_OF_BOUNDS_NO_POE") << v.output;
  // Not yet valid: a clock a year before the certificate.
  r = sign("base.pdf", "t-early.pdf", "dated", "JITSUIN_TEST_NOW=" + format_rfc3339(std::time(nullptr) - 366 * 86400) + " ");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("refused to sign: the signer's certificate is not valid before"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("t-early.pdf")));

  // Revoked in our CA's database (what pdf verify consults for our CA).
  issue("revoked-now", "Revoked Signer");
  to_token("revoked-now");
  std::string serial = run("openssl x509 -noout -serial -in " + sh_quote(path("revoked-now.pem").string())).output;
  serial = serial.substr(serial.find('=') + 1, serial.find('\n') - serial.find('=') - 1);
  ASSERT_EQ(sign("base.pdf", "t-before-revocation.pdf", "revoked-now").status, 0);
  r = run(jitsuin_cmd(home) + " ca revoke --serial " + serial + " --reason keyCompromise");
  ASSERT_EQ(r.status, 0) << r.output;
  r = sign("base.pdf", "t-revoked.pdf", "revoked-now");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("refused to sign: the signer's certificate was revoked (keyCompromise) effective"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(path("t-revoked.pdf")));
  r = sign("base.pdf", "t-revoked.pdf", "revoked-now", "", " --force");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: signing with --force although the signer's certificate was revoked"),
            std::string::npos)
      << r.output;
  v = verify("t-revoked.pdf");
  EXPECT_EQ(v.sub(), "REVOKED_NO_POE") << v.output;
  // A valid certificate signs without a word of warning.
  r = sign("base.pdf", "t-valid.pdf", "dated");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
}

// A signer that tags the signature field it adds (as ISO 32000-2 12.8.2.2 allows): a /Form
// struct element whose only kid is an object reference to the new signature widget, appended to
// the document element's kids and to the /ParentTree under the widget's /StructParent. Allowed;
// the same update that also changes an /Alt text, or whose new element also holds marked content,
// is not.
TEST_F(PdfTest, StructElementOfANewSignatureFieldIsAllowedNothingMore) {
  Tagged::make_inputs();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(sign("chromium.pdf", "sf-1.pdf", "taro").status, 0);
  std::string pdf = read_file(path("sf-1.pdf"));
  auto update = [&](bool change_alt, bool marked_content) {
    QPDF q;
    q.setSuppressWarnings(true);
    q.processMemoryFile("in.pdf", pdf.data(), pdf.size());
    QPDFObjectHandle root = q.getRoot(), page = q.getAllPages().at(0);
    QPDFObjectHandle tree = root.getKey("/StructTreeRoot"), parents = tree.getKey("/ParentTree");
    QPDFObjectHandle document = tree.getKey("/K").isArray() ? tree.getKey("/K").getArrayItem(0) : tree.getKey("/K");
    long long key = tree.getKey("/ParentTreeNextKey").getIntValue();
    QPDFObjectHandle widget = q.makeIndirectObject(QPDFObjectHandle::parse(
        "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature9) /F 132 /Rect [0 0 0 0] >>"));
    widget.replaceKey("/P", page);
    widget.replaceKey("/StructParent", QPDFObjectHandle::newInteger(key));
    QPDFObjectHandle objr = QPDFObjectHandle::parse("<< /Type /OBJR >>");
    objr.replaceKey("/Obj", widget);
    objr.replaceKey("/Pg", page);
    QPDFObjectHandle element = q.makeIndirectObject(QPDFObjectHandle::parse("<< /Type /StructElem /S /Form >>"));
    element.replaceKey("/P", document);
    element.replaceKey("/K", marked_content ? QPDFObjectHandle::newArray({objr, QPDFObjectHandle::newInteger(0)}) : objr);
    document.getKey("/K").appendItem(element);
    parents.getKey("/Nums").appendItem(QPDFObjectHandle::newInteger(key));
    parents.getKey("/Nums").appendItem(element);
    tree.replaceKey("/ParentTreeNextKey", QPDFObjectHandle::newInteger(key + 1));
    page.getKey("/Annots").appendItem(widget);
    root.getKey("/AcroForm").getKey("/Fields").appendItem(widget);
    std::map<int, std::string> objects;
    for (auto h : {widget, element, document, parents, tree, page, root}) objects[h.getObjectID()] = h.unparseResolved();
    if (change_alt)
      for (auto& o : q.getAllObjects())
        if (o.isDictionary() && o.hasKey("/Alt")) {
          o.replaceKey("/Alt", QPDFObjectHandle::newString("Payee: Mallory"));
          objects[o.getObjectID()] = o.unparseResolved();
        }
    return append_update(pdf, objects);
  };
  write_text(path("sf-tagged.pdf"), update(false, false));
  auto v = verify("sf-tagged.pdf");
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.indication(), "PASSED") << v.output;
  std::string changes = v.report["signatures"][0]["changes_after_signing"].dump();
  EXPECT_NE(changes.find("allowed: structure tree: struct element of signature field Signature9 added"),
            std::string::npos)
      << changes;
  EXPECT_NE(changes.find("allowed: signature field Signature9 added"), std::string::npos) << changes;
  auto r = run("qpdf --check " + sh_quote(path("sf-tagged.pdf").string()));
  EXPECT_EQ(r.status, 0) << r.output;

  write_text(path("sf-alt.pdf"), update(true, false));
  v = verify("sf-alt.pdf");
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("document catalog /StructTreeRoot changed"), std::string::npos) << v.output;

  write_text(path("sf-mcid.pdf"), update(false, true));
  v = verify("sf-mcid.pdf");
  EXPECT_EQ(v.indication(), "FAILED") << v.output;
  EXPECT_NE(v.reasons().find("document catalog /StructTreeRoot changed"), std::string::npos) << v.output;
}

// Item 17 for a partner's signer: revoked on the partner's CRL that crl fetch kept, as pdf verify
// would find it; refused, then signed with --force.
TEST_F(PdfTest, SigningWithACertificateOnAPartnersCrlIsRefusedUnlessForced) {
  std::string serial = partner_signed();
  to_token("partner");
  write_text(path("partner-full.pem"), read_file(path("partner.pem")));
  fs::create_directories(path("crl-site-sign"));
  HttpServer http(path("crl-site-sign"));
  ASSERT_NE(http.port(), 0);
  std::string jitsuin = jitsuin_cmd(home);
  auto r = run(jitsuin + " trust add --cert " + sh_quote(path("other-ca.pem")) + " --name signing-partner --crl-url " +
               http.url("other.crl"));
  ASSERT_EQ(r.status, 0) << r.output;
  // Not listed on the CRL on file: signs.
  UnixTime now = std::time(nullptr);
  write_text(path("crl-site-sign/other.crl"), make_other_crl(dir->path(), {"0123"}, now - 60, now - 60, now + 86400, 2));
  r = run(jitsuin + " crl fetch");
  ASSERT_EQ(r.status, 0) << r.output;
  r = sign("base.pdf", "t-partner-ok.pdf", "partner");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  // Listed: refused, nothing written; --force signs, and pdf verify says REVOKED_NO_POE.
  write_text(path("crl-site-sign/other.crl"), make_other_crl(dir->path(), {serial}, now - 60, now - 30, now + 86400, 3));
  r = run(jitsuin + " crl fetch");
  ASSERT_EQ(r.status, 0) << r.output;
  r = sign("base.pdf", "t-partner-revoked.pdf", "partner");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("refused to sign: the signer's certificate was revoked (unspecified) effective"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(path("t-partner-revoked.pdf")));
  r = sign("base.pdf", "t-partner-revoked.pdf", "partner", "", " --force");
  EXPECT_EQ(r.status, 0) << r.output;
  auto v = verify("t-partner-revoked.pdf");
  EXPECT_EQ(v.sub(), "REVOKED_NO_POE") << v.output;
  r = run(jitsuin + " trust remove --name signing-partner");
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
}  // namespace jitsuin::test
