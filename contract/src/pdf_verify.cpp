#include "jitsuin/contract/pdf_verify.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

#include "jitsuin/core/error.h"
#include "pdf_changes.h"
#include "pdf_file.h"

namespace jitsuin::contract {

const char* indication_name(Indication i) {
  switch (i) {
    case Indication::passed: return "PASSED";
    case Indication::indeterminate: return "INDETERMINATE";
    case Indication::failed: return "FAILED";
  }
  return "?";
}

bool PdfReport::all_passed() const {
  if (!problem.empty() || signatures.empty()) return false;
  for (auto& s : signatures)
    if (s.indication != Indication::passed) return false;
  return true;
}

namespace {

using CmsPtr = std::unique_ptr<CMS_ContentInfo, ossl::Deleter<CMS_ContentInfo, CMS_ContentInfo_free>>;
using StorePtr = std::unique_ptr<X509_STORE, ossl::Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, ossl::Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using EssV2Ptr = std::unique_ptr<ESS_SIGNING_CERT_V2, ossl::Deleter<ESS_SIGNING_CERT_V2, ESS_SIGNING_CERT_V2_free>>;
struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using CertStack = std::unique_ptr<STACK_OF(X509), CertStackFree>;

// Records a finding: the report keeps the most severe indication and the sub-indication that
// first gave it; every reason is kept.
void finding(SignatureReport& r, Indication i, const std::string& sub, const std::string& reason) {
  r.reasons.push_back(reason);
  if (static_cast<int>(i) > static_cast<int>(r.indication)) {
    r.indication = i;
    r.sub_indication = sub;
  }
}

std::string subject_of(const X509* cert) { return ossl::name_to_string(X509_get_subject_name(cert)); }

std::string serial_of(const X509* cert) {
  ossl::Bignum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return "";
  char* hex = BN_bn2hex(bn.get());
  std::string s = hex ? hex : "";
  OPENSSL_free(hex);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

struct ByteRange {
  std::int64_t a = 0, b = 0, c = 0, d = 0;
};

// Checks the byte range against the file and returns it, or records why it is not acceptable.
std::optional<ByteRange> check_byte_range(SignatureReport& r, const std::string& data, QPDFObjectHandle sig) {
  QPDFObjectHandle br = sig.getKey("/ByteRange");
  if (!br.isArray() || br.getArrayNItems() != 4) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the /ByteRange is not an array of four integers");
    return std::nullopt;
  }
  std::int64_t v[4];
  for (int i = 0; i < 4; ++i) {
    QPDFObjectHandle x = br.getArrayItem(i);
    if (!x.isInteger() || x.getIntValue() < 0) {
      finding(r, Indication::failed, "FORMAT_FAILURE", "the /ByteRange is not four non-negative integers");
      return std::nullopt;
    }
    v[i] = x.getIntValue();
  }
  ByteRange range{v[0], v[1], v[2], v[3]};
  auto size = static_cast<std::int64_t>(data.size());
  std::string bad;
  if (range.a != 0) bad = "the first byte range does not start at 0";
  else if (range.b < 1 || range.d < 1) bad = "a byte range is empty";
  else if (range.c < range.b) bad = "the byte ranges overlap";
  else if (range.b > size || range.c > size || range.d > size - range.c) bad = "the byte range goes past the end of the file";
  else if (range.c - range.b < 2 || data[range.b] != '<' || data[range.c - 1] != '>')
    bad = "the gap between the byte ranges is not a hex string";
  if (bad.empty()) {
    for (std::int64_t i = range.b + 1; i < range.c - 1; ++i)
      if (!is_hex(data[i])) {
        bad = "the gap between the byte ranges holds more than the /Contents hex string (unsigned bytes at offset " +
              std::to_string(i) + ")";
        break;
      }
  }
  if (bad.empty()) {
    std::string gap = data.substr(range.b + 1, range.c - range.b - 2);
    if (gap.size() % 2 != 0) gap += '0';
    Bytes decoded = from_hex(gap);
    std::string contents = sig.getKey("/Contents").isString() ? sig.getKey("/Contents").getStringValue() : "";
    if (contents.size() != decoded.size() || std::memcmp(contents.data(), decoded.data(), decoded.size()) != 0)
      bad = "the gap between the byte ranges is not this signature's /Contents";
  }
  if (!bad.empty()) {
    finding(r, Indication::failed, "FORMAT_FAILURE",
            bad + " (/ByteRange [" + std::to_string(range.a) + " " + std::to_string(range.b) + " " +
                std::to_string(range.c) + " " + std::to_string(range.d) + "], file of " + std::to_string(size) +
                " bytes)");
    return std::nullopt;
  }
  return range;
}

// The signature dictionary must be an object of the signed revision written in the file itself
// (not in an object stream), and the gap must be its /Contents: a gap elsewhere would leave the
// dictionary's real /Contents, or other bytes, unsigned.
bool gap_is_in_signature_dictionary(SignatureReport& r, PdfDocument& rev, QPDFObjectHandle sig, const ByteRange& range) {
  if (!sig.isIndirect()) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the signature dictionary is not an indirect object");
    return false;
  }
  auto xref = rev.qpdf.getXRefTable();
  auto it = xref.find(sig.getObjGen());
  if (it == xref.end() || it->second.getType() != 1) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the signature dictionary is not written directly in the file");
    return false;
  }
  auto offset = static_cast<std::int64_t>(it->second.getOffset());
  if (offset < 0 || offset >= range.b) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the gap of the byte range is not inside the signature dictionary");
    return false;
  }
  std::string_view before = rev.bytes.substr(offset, range.b - offset);
  std::size_t end = before.find_last_not_of(" \t\r\n\f");
  if (before.find("endobj") != std::string_view::npos || end == std::string_view::npos ||
      before.substr(0, end + 1).size() < 9 || before.substr(end + 1 - 9, 9) != "/Contents") {
    finding(r, Indication::failed, "FORMAT_FAILURE",
            "the gap of the byte range is not the /Contents value of the signature dictionary");
    return false;
  }
  return true;
}

bool weak_digest(int nid) { return nid == NID_md5 || nid == NID_sha1 || nid == NID_md2 || nid == NID_md4; }

const EVP_MD* digest_of(CMS_SignerInfo* si, std::string& name) {
  X509_ALGOR* dig = nullptr;
  X509_ALGOR* sig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig, &sig);
  if (!dig) return nullptr;
  int nid = OBJ_obj2nid(dig->algorithm);
  name = nid == NID_undef ? "unknown" : OBJ_nid2sn(nid);
  return EVP_get_digestbynid(nid);
}

// The digests of the signatures' byte ranges. The signatures of a file nest (each later one
// covers the earlier revisions), so their first ranges [0, b) share prefixes: the prefix is hashed
// once per digest algorithm and each signature's digest continues from a copy of the context at
// its gap. A file with n signatures is hashed about once instead of n times (when the gaps come
// in file order, as signature fields of successive revisions do; else it starts over).
class RangeHasher {
 public:
  explicit RangeHasher(const std::string& data) : data_(data) {}

  Bytes digest(const EVP_MD* md, const ByteRange& range) {
    State& s = states_[EVP_MD_get_type(md)];
    if (!s.ctx || s.pos > range.b) {
      s.ctx.reset(EVP_MD_CTX_new());
      s.pos = 0;
      if (!s.ctx || EVP_DigestInit_ex(s.ctx.get(), md, nullptr) != 1) fail();
    }
    if (EVP_DigestUpdate(s.ctx.get(), data_.data() + s.pos, static_cast<std::size_t>(range.b - s.pos)) != 1) fail();
    s.pos = range.b;
    ossl::MdCtx ctx(EVP_MD_CTX_new());
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned len = 0;
    if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), s.ctx.get()) != 1 ||
        EVP_DigestUpdate(ctx.get(), data_.data() + range.c, static_cast<std::size_t>(range.d)) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1)
      fail();
    out.resize(len);
    return out;
  }

 private:
  [[noreturn]] static void fail() { throw Error(ErrorKind::crypto, "hashing the byte ranges failed"); }
  struct State {
    ossl::MdCtx ctx;
    std::int64_t pos = 0;   // the bytes [0, pos) are in ctx
  };
  const std::string& data_;
  std::map<int, State> states_;
};

// The CMS checks. Returns the signer's certificate and the certificates the CMS carries.
X509* check_cms(SignatureReport& r, CMS_ContentInfo* cms, RangeHasher& hasher, const ByteRange& range,
                CertStack& carried) {
  if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the signature is not a CMS SignedData");
    return nullptr;
  }
  if (CMS_is_detached(cms) != 1) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the CMS carries its content: a PDF signature must be detached");
    return nullptr;
  }
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms);
  int n = infos ? sk_CMS_SignerInfo_num(infos) : 0;
  if (n != 1) {
    finding(r, Indication::failed, "FORMAT_FAILURE",
            "the CMS has " + std::to_string(n) + " SignerInfos; a PDF signature has exactly one");
    return nullptr;
  }
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, 0);
  std::string md_name;
  const EVP_MD* md = digest_of(si, md_name);
  if (!md) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "unknown digest algorithm " + md_name);
    return nullptr;
  }
  int md_nid = EVP_MD_get_type(md);
  if (weak_digest(md_nid)) {
    finding(r, Indication::indeterminate, "CRYPTO_CONSTRAINTS_FAILURE",
            "the signature uses " + md_name + ", which is refused (broken for signatures)");
    return nullptr;
  }
  if (CMS_signed_get_attr_count(si) <= 0) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the CMS has no signed attributes");
    return nullptr;
  }
  if (CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1) < 0) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the signed attributes lack contentType");
    return nullptr;
  }
  auto* digest = static_cast<ASN1_OCTET_STRING*>(
      CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING));
  if (!digest) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the signed attributes lack messageDigest");
    return nullptr;
  }
  Bytes actual = hasher.digest(md, range);
  if (static_cast<std::size_t>(ASN1_STRING_length(digest)) != actual.size() ||
      !std::equal(actual.begin(), actual.end(), ASN1_STRING_get0_data(digest))) {
    finding(r, Indication::failed, "HASH_FAILURE",
            "the signed bytes were changed: their " + md_name + " digest is not the one the signature signs");
    return nullptr;
  }
  carried.reset(CMS_get1_certs(cms));
  X509* signer = nullptr;
  for (int i = 0; carried && i < sk_X509_num(carried.get()); ++i)
    if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(carried.get(), i)) == 0) signer = sk_X509_value(carried.get(), i);
  if (!signer) {
    finding(r, Indication::indeterminate, "NO_SIGNING_CERTIFICATE_FOUND", "the signer's certificate is not in the signature");
    return nullptr;
  }
  r.signer = subject_of(signer);
  r.signer_serial = serial_of(signer);
  CMS_SignerInfo_set1_signer_cert(si, signer);
  if (CMS_SignerInfo_verify(si) != 1) {
    ERR_clear_error();
    finding(r, Indication::failed, "SIG_CRYPTO_FAILURE", "the signature value does not verify with the signer's key");
    return nullptr;
  }
  // ESS signing-certificate(-v2): binds the signer's certificate into what is signed.
  auto* v2 = static_cast<ASN1_STRING*>(
      CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3, V_ASN1_SEQUENCE));
  if (!v2) {
    if (r.sub_filter == "ETSI.CAdES.detached")
      finding(r, Indication::failed, "FORMAT_FAILURE",
              "ETSI.CAdES.detached needs the ESS signing-certificate-v2 signed attribute, which is missing");
    else
      r.reasons.push_back("legacy adbe.pkcs7.detached signature: no ESS signing-certificate-v2 binds the signer");
  } else {
    const unsigned char* p = ASN1_STRING_get0_data(v2);
    EssV2Ptr ess(d2i_ESS_SIGNING_CERT_V2(nullptr, &p, ASN1_STRING_length(v2)));
    CertStack chain(sk_X509_new_null());
    X509_up_ref(signer);
    sk_X509_push(chain.get(), signer);
    if (!ess || OSSL_ESS_check_signing_certs(nullptr, ess.get(), chain.get(), 1) <= 0) {
      ERR_clear_error();
      finding(r, Indication::indeterminate, "NO_SIGNING_CERTIFICATE_FOUND",
              "the ESS signing-certificate-v2 attribute does not name the signer's certificate");
      return nullptr;
    }
  }
  // ETSI EN 319 142-1 (PAdES baseline, B-B) says the CMS signingTime attribute shall not be
  // present in an ETSI.CAdES.detached signature: the claimed time is /M. Many CAdES signers still
  // add it (OpenSSL's CMS_sign, NSS), and it changes nothing about what was signed or by whom, so
  // it is a finding on the PAdES profile, not on the signature: reported, the verdict unchanged.
  // ISO 32000-1's adbe.pkcs7.detached allows it.
  if (r.sub_filter == "ETSI.CAdES.detached" && CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) >= 0)
    r.reasons.push_back(
        "PAdES profile: the CMS carries a signingTime attribute, which PAdES baseline (ETSI EN 319 142-1, B-B)"
        " says shall be absent (the claimed time belongs in /M); not a PAdES baseline signature, valid as"
        " CAdES-detached");
  if (!(X509_get_extension_flags(signer) & EXFLAG_KUSAGE)) {
    finding(r, Indication::indeterminate, "SIG_CONSTRAINTS_FAILURE",
            "the signer's certificate has no keyUsage extension (digitalSignature or nonRepudiation is required)");
  } else if (!(X509_get_key_usage(signer) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
    finding(r, Indication::indeterminate, "SIG_CONSTRAINTS_FAILURE",
            "the signer's certificate lacks keyUsage digitalSignature and nonRepudiation");
  }
  return signer;
}

// A signature timestamp (RFC 3161, unsigned attribute id-aa-signatureTimeStampToken) over the
// signature value: its time is the signing time when it verifies against the trust anchors.
std::optional<UnixTime> signature_timestamp(SignatureReport& r, CMS_ContentInfo* cms, X509_STORE* store) {
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
  auto* token_der = static_cast<ASN1_STRING*>(
      CMS_unsigned_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_timeStampToken), -3, V_ASN1_SEQUENCE));
  if (!token_der) return std::nullopt;
  const unsigned char* p = ASN1_STRING_get0_data(token_der);
  std::unique_ptr<PKCS7, ossl::Deleter<PKCS7, PKCS7_free>> token(d2i_PKCS7(nullptr, &p, ASN1_STRING_length(token_der)));
  std::unique_ptr<TS_TST_INFO, ossl::Deleter<TS_TST_INFO, TS_TST_INFO_free>> info(
      token ? PKCS7_to_TS_TST_INFO(token.get()) : nullptr);
  ASN1_OCTET_STRING* value = CMS_SignerInfo_get0_signature(si);
  std::unique_ptr<TS_VERIFY_CTX, ossl::Deleter<TS_VERIFY_CTX, TS_VERIFY_CTX_free>> ctx(TS_VERIFY_CTX_new());
  bool ok = false;
  if (token && info && ctx && X509_STORE_up_ref(store)) {
    TS_VERIFY_CTX_set_store(ctx.get(), store);
    BIO* data = BIO_new_mem_buf(ASN1_STRING_get0_data(value), ASN1_STRING_length(value));
    TS_VERIFY_CTX_set_data(ctx.get(), data);
    TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
    ok = TS_RESP_verify_token(ctx.get(), token.get()) == 1;
  }
  ERR_clear_error();
  if (!ok) {
    r.reasons.push_back("the signature timestamp does not verify against the trust anchors: it is not used");
    return std::nullopt;
  }
  return unix_time(TS_TST_INFO_get_time(info.get()));
}

StorePtr anchor_store(const ValidationPolicy& policy) {
  StorePtr store(X509_STORE_new());
  if (!store) throw Error(ErrorKind::crypto, "X509_STORE_new failed");
  for (auto& c : policy.anchors) X509_STORE_add_cert(store.get(), c.get());
  ERR_clear_error();   // duplicates
  return store;
}

// A document timestamp (/SubFilter /ETSI.RFC3161, ETSI EN 319 142-1 5.4): /Contents is an RFC 3161
// TimeStampToken whose messageImprint is the digest of the byte ranges. Checked: the token's
// structure and version, the imprint's algorithm (MD5/SHA-1 refused) and value, the token's
// signature and its ESS certificate identifier, and the TSA certificate's path to a configured
// trust anchor at the validation time with the timestamping purpose (extendedKeyUsage
// id-kp-timeStamping only, critical: RFC 3161 2.3). Its genTime becomes the signing time.
void check_document_timestamp(SignatureReport& r, const std::string& der, RangeHasher& hasher,
                              const ByteRange& range, const ValidationPolicy& policy) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<PKCS7, ossl::Deleter<PKCS7, PKCS7_free>> token(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  std::unique_ptr<TS_TST_INFO, ossl::Deleter<TS_TST_INFO, TS_TST_INFO_free>> info(
      token ? PKCS7_to_TS_TST_INFO(token.get()) : nullptr);
  ERR_clear_error();
  if (!info) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the /Contents of the document timestamp is not an RFC 3161 token");
    return;
  }
  if (TS_TST_INFO_get_version(info.get()) != 1) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the timestamp token's TSTInfo is not version 1");
    return;
  }
  TS_MSG_IMPRINT* imprint = TS_TST_INFO_get_msg_imprint(info.get());
  X509_ALGOR* alg = TS_MSG_IMPRINT_get_algo(imprint);
  ASN1_OCTET_STRING* value = TS_MSG_IMPRINT_get_msg(imprint);
  int nid = OBJ_obj2nid(alg->algorithm);
  std::string md_name = nid == NID_undef ? "unknown" : OBJ_nid2sn(nid);
  const EVP_MD* md = EVP_get_digestbynid(nid);
  if (!md) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the timestamp's messageImprint uses unknown digest " + md_name);
    return;
  }
  if (weak_digest(nid)) {
    finding(r, Indication::indeterminate, "CRYPTO_CONSTRAINTS_FAILURE",
            "the timestamp's messageImprint uses " + md_name + ", which is refused (broken for signatures)");
    return;
  }
  Bytes actual = hasher.digest(md, range);
  if (static_cast<std::size_t>(ASN1_STRING_length(value)) != actual.size() ||
      !std::equal(actual.begin(), actual.end(), ASN1_STRING_get0_data(value))) {
    finding(r, Indication::failed, "HASH_FAILURE",
            "the timestamped bytes were changed: their " + md_name + " digest is not the token's messageImprint");
    return;
  }
  StorePtr store = anchor_store(policy);
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(policy.validation_time));
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  CertStack known(sk_X509_new_null());
  for (auto& c : policy.intermediates) {
    X509_up_ref(c.get());
    sk_X509_push(known.get(), c.get());
  }
  X509* tsa = nullptr;
  ERR_clear_error();
  if (TS_RESP_verify_signature(token.get(), known.get(), store.get(), &tsa) != 1) {
    unsigned long e = ERR_peek_last_error();
    std::string why = ERR_reason_error_string(e) ?: "it does not verify";
    const char* extra = nullptr;
    int eflags = 0;
    ERR_peek_last_error_data(&extra, &eflags);
    if (extra && (eflags & ERR_TXT_STRING) && *extra) why += std::string(" (") + extra + ")";
    ERR_clear_error();
    finding(r, Indication::indeterminate, "NO_CERTIFICATE_CHAIN_FOUND",
            "the document timestamp's signature or its TSA's certificate path to a trusted CA at " +
                format_rfc3339(policy.validation_time) + " with the timestamping purpose does not verify: " + why);
    X509_free(tsa);
    return;
  }
  r.signer = subject_of(tsa);
  r.signer_serial = serial_of(tsa);
  X509_free(tsa);
  r.signing_time = unix_time(TS_TST_INFO_get_time(info.get()));
  r.signing_time_source = "document timestamp";
}

// Whether `crl` may be used for certificates `issuer` issued (RFC 5280 6.3.3): its issuer is
// `issuer`'s subject; it is signed by `issuer`'s key or, for a CA that rolled its key over with
// self-issued certificates, by the key of a certificate of the same name further up the validated
// path; that certificate allows cRLSign when it has keyUsage; and it has no critical extension,
// since this validator does not process any (issuing distribution points, delta CRLs: their scope
// would be ignored).
bool usable_crl(X509_CRL* crl, X509* issuer, STACK_OF(X509)* path) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) return false;
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i)
    if (X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, i))) return false;
  bool verified = false;
  for (int i = -1; !verified && i < sk_X509_num(path); ++i) {
    X509* signer = i < 0 ? issuer : sk_X509_value(path, i);
    if (X509_NAME_cmp(X509_get_subject_name(signer), X509_get_subject_name(issuer)) != 0) continue;
    if ((X509_get_extension_flags(signer) & EXFLAG_KUSAGE) && !(X509_get_key_usage(signer) & KU_CRL_SIGN)) continue;
    EVP_PKEY* key = X509_get0_pubkey(signer);
    verified = key && X509_CRL_verify(crl, key) == 1;
  }
  ERR_clear_error();
  return verified;
}

// The revocation of cert (issued by issuer, both on the validated path) at the signing time.
void check_revocation(SignatureReport& r, X509* cert, X509* issuer, STACK_OF(X509)* path, bool is_signer,
                      const ValidationPolicy& policy) {
  std::string who = is_signer ? "the signer's certificate" : "CA certificate " + subject_of(cert);
  std::optional<UnixTime> revoked;
  std::string reason;
  bool ours = false;
  if (policy.own_ca && policy.own_ca->store) {
    for (auto& c : policy.own_ca->certificates)
      if (X509_cmp(c.get(), issuer) == 0) ours = true;
  }
  if (ours) {
    const auto& own = *policy.own_ca;
    bool is_issuing_ca = own.certificates.size() > 1 && X509_cmp(own.certificates[1].get(), cert) == 0;
    std::optional<ca::CertificateRecord> rec;
    if (is_issuing_ca) {
      rec = own.store->issuing_ca_revocation();
      if (!rec) rec = own.store->find(serial_of(cert));
    } else {
      rec = own.store->find(serial_of(cert));
    }
    if (!rec && !is_issuing_ca) {
      finding(r, Indication::indeterminate, "CERTIFICATE_CHAIN_GENERAL_FAILURE",
              who + " (serial " + serial_of(cert) + ") is not in our CA's database");
      return;
    }
    if (rec && rec->revocation_effective) {
      revoked = rec->revocation_effective;
      reason = rec->reason ? ca::revocation_reason_name(*rec->reason) : "unspecified";
    }
    r.revocation += (r.revocation.empty() ? "" : "; ") + who + ": " +
                    (revoked ? "revoked (" + reason + ") effective " + format_rfc3339(*revoked) : "not revoked") +
                    " (our CA's database)";
  } else {
    X509_CRL* best = nullptr;
    for (auto& crl : policy.crls) {
      if (!usable_crl(crl.get(), issuer, path)) continue;
      if (!best || unix_time(X509_CRL_get0_lastUpdate(crl.get())) > unix_time(X509_CRL_get0_lastUpdate(best)))
        best = crl.get();
    }
    if (!best) {
      finding(r, Indication::indeterminate, "TRY_LATER",
              "no CRL from " + subject_of(issuer) + " on file to check " + who +
                  " (none it signed with a key allowed cRLSign and without critical extensions; give one with --crl)");
      return;
    }
    UnixTime next = unix_time(X509_CRL_get0_nextUpdate(best));
    if (next != 0 && next < policy.validation_time)
      finding(r, Indication::indeterminate, "TRY_LATER",
              "the CRL of " + subject_of(issuer) + " is out of date (next update was " + format_rfc3339(next) + ")");
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_cert(best, &entry, cert) == 1 && entry) {
      revoked = unix_time(X509_REVOKED_get0_revocationDate(entry));
      std::unique_ptr<ASN1_ENUMERATED, ossl::Deleter<ASN1_ENUMERATED, ASN1_ENUMERATED_free>> code(
          static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr)));
      reason = code ? ca::revocation_reason_name(static_cast<ca::RevocationReason>(ASN1_ENUMERATED_get(code.get())))
                    : "unspecified";
    }
    r.revocation += (r.revocation.empty() ? "" : "; ") + who + ": " +
                    (revoked ? "revoked (" + reason + ") on " + format_rfc3339(*revoked) : "not revoked") +
                    " (CRL of " + format_rfc3339(unix_time(X509_CRL_get0_lastUpdate(best))) + ")";
  }
  if (!revoked) return;
  UnixTime at = *r.signing_time;
  if (*revoked > at) {
    r.reasons.push_back(who + " was revoked (" + reason + ") effective " + format_rfc3339(*revoked) +
                        ", after the signing time " + format_rfc3339(at));
    return;
  }
  std::string text = who + " was revoked (" + reason + ") effective " + format_rfc3339(*revoked) +
                     ", before the signing time " + format_rfc3339(at) + " (" + r.signing_time_source + ")";
  if (r.signing_time_source == "signature timestamp")
    finding(r, Indication::failed, "REVOKED", text);
  else
    finding(r, Indication::indeterminate, is_signer ? "REVOKED_NO_POE" : "REVOKED_CA_NO_POE",
            text + "; nothing proves the signature is older than the revocation");
}

// The path from the signer to a configured trust anchor, at the signing time.
void check_path(SignatureReport& r, X509* signer, STACK_OF(X509) * carried, const ValidationPolicy& policy,
                X509_STORE* store) {
  CertStack untrusted(sk_X509_new_null());
  for (int i = 0; carried && i < sk_X509_num(carried); ++i) {
    X509_up_ref(sk_X509_value(carried, i));
    sk_X509_push(untrusted.get(), sk_X509_value(carried, i));
  }
  for (auto& c : policy.intermediates) {
    X509_up_ref(c.get());
    sk_X509_push(untrusted.get(), c.get());
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, signer, untrusted.get()) != 1)
    throw Error(ErrorKind::crypto, "X509_STORE_CTX_init failed");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*r.signing_time));
  // Only configured anchors are in the store, so any of them may end a path (a partner's
  // issuing CA given alone); certificates from the PDF are never in it.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  int ok = X509_verify_cert(ctx.get());
  if (ok != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* at = X509_STORE_CTX_get_current_cert(ctx.get());
    std::string where = at ? " (at " + subject_of(at) + ")" : "";
    std::string why = X509_verify_cert_error_string(err);
    ERR_clear_error();
    switch (err) {
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        finding(r, Indication::indeterminate, "NO_CERTIFICATE_CHAIN_FOUND",
                "no path from the signer to a trusted CA: " + why + where);
        break;
      case X509_V_ERR_CERT_HAS_EXPIRED:
        finding(r, Indication::indeterminate, "OUT_OF_BOUNDS_NO_POE",
                "a certificate of the path had expired at the signing time " + format_rfc3339(*r.signing_time) + where);
        break;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        finding(r, Indication::indeterminate, "NOT_YET_VALID",
                "a certificate of the path was not yet valid at the signing time " + format_rfc3339(*r.signing_time) +
                    where);
        break;
      default:
        finding(r, Indication::indeterminate, "CHAIN_CONSTRAINTS_FAILURE",
                "the certificate path does not validate: " + why + where + " (depth " + std::to_string(depth) + ")");
    }
    return;
  }
  CertStack chain(X509_STORE_CTX_get1_chain(ctx.get()));
  for (int i = 0; i < sk_X509_num(chain.get()); ++i) r.chain.push_back(subject_of(sk_X509_value(chain.get(), i)));
  for (int i = 0; i + 1 < sk_X509_num(chain.get()); ++i)
    check_revocation(r, sk_X509_value(chain.get(), i), sk_X509_value(chain.get(), i + 1), chain.get(), i == 0,
                     policy);
}


void check_signature(SignatureReport& r, const std::string& data, PdfDocument& full, const SignatureField& field,
                     const ValidationPolicy& policy, const std::vector<std::size_t>& ends, RangeHasher& hasher) {
  QPDFObjectHandle sig = field.value;
  r.sub_filter = text_of(sig.getKey("/SubFilter"));
  if (r.sub_filter.starts_with("/")) r.sub_filter.erase(0, 1);
  r.claimed_time = text_of(sig.getKey("/M"));
  r.revisions = static_cast<int>(ends.size());
  auto range = check_byte_range(r, data, sig);
  if (!range) return;
  std::size_t end = static_cast<std::size_t>(range->c + range->d);
  for (std::size_t k = 0; k < ends.size(); ++k) {
    std::size_t marker = data.rfind("%%EOF", ends[k] - 1);   // the %%EOF that ends revision k + 1
    if (marker + 5 <= end && end <= ends[k]) {
      r.revision = static_cast<int>(k + 1);
      break;
    }
  }
  if (r.revision == 0) {
    finding(r, Indication::failed, "FORMAT_FAILURE",
            "the byte range ends at offset " + std::to_string(end) + ", which is not the end of a revision");
    return;
  }
  std::string problem;
  auto signed_rev = open_pdf(std::string_view(data).substr(0, end), problem);
  if (!signed_rev) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the revision the signature covers cannot be read: " + problem);
    return;
  }
  bool in_revision = false;
  for (auto& s : signature_fields(signed_rev->qpdf))
    if (s.name == field.name && s.value.isIndirect() && sig.isIndirect() && s.value.getObjGen() == sig.getObjGen())
      in_revision = true;
  if (!in_revision) {
    finding(r, Indication::failed, "FORMAT_FAILURE", "the signed revision does not hold this signature in field " + field.name);
    return;
  }
  if (!gap_is_in_signature_dictionary(r, *signed_rev, sig, *range)) return;

  if (r.sub_filter == "adbe.pkcs7.sha1") {
    finding(r, Indication::indeterminate, "CRYPTO_CONSTRAINTS_FAILURE",
            "adbe.pkcs7.sha1 signs a SHA-1 digest of the document: refused");
  } else if (r.sub_filter == "ETSI.RFC3161") {
    check_document_timestamp(r, sig.getKey("/Contents").getStringValue(), hasher, *range, policy);
  } else if (r.sub_filter != "ETSI.CAdES.detached" && r.sub_filter != "adbe.pkcs7.detached") {
    finding(r, Indication::failed, "FORMAT_FAILURE", "unsupported /SubFilter " + r.sub_filter);
  } else {
    std::string der = sig.getKey("/Contents").getStringValue();
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
    ERR_clear_error();
    if (!cms) {
      finding(r, Indication::failed, "FORMAT_FAILURE", "the /Contents is not a CMS structure");
    } else {
      CertStack carried;
      X509* signer = check_cms(r, cms.get(), hasher, *range, carried);
      if (signer) {
        StorePtr store = anchor_store(policy);
        if (auto ts = signature_timestamp(r, cms.get(), store.get())) {
          r.signing_time = *ts;
          r.signing_time_source = "signature timestamp";
        } else {
          r.signing_time = policy.validation_time;
          r.signing_time_source = "validation time";
        }
        check_path(r, signer, carried.get(), policy, store.get());
      }
    }
  }

  // Changes made after signing.
  if (end < data.size()) {
    ChangePolicy permissions = change_policy(signed_rev->qpdf);
    std::vector<std::string> refused;
    for (auto& c : compare_revisions(signed_rev->qpdf, full.qpdf, permissions)) {
      r.changes_after.push_back(std::string(c.allowed ? "allowed: " : "NOT ALLOWED: ") + c.what);
      if (!c.allowed) refused.push_back(c.what);
    }
    if (!refused.empty()) {
      std::string list;
      for (auto& w : refused) list += (list.empty() ? "" : "; ") + w;
      finding(r, Indication::failed, "FORMAT_FAILURE", "document modified after signing: " + list);
    }
  }
}

}  // namespace

SignerCheck check_signer_certificate(X509* signer, const std::vector<ossl::Cert>& carried, const ValidationPolicy& policy,
                                     UnixTime at) {
  SignatureReport r;
  r.signing_time = at;
  r.signing_time_source = "validation time";
  SignerCheck out;
  UnixTime not_before = unix_time(X509_get0_notBefore(signer)), not_after = unix_time(X509_get0_notAfter(signer));
  if (at < not_before)
    out.refusals.push_back("the signer's certificate is not valid before " + format_rfc3339(not_before));
  if (at > not_after) out.refusals.push_back("the signer's certificate expired on " + format_rfc3339(not_after));
  CertStack stack(sk_X509_new_null());
  for (auto& c : carried) {
    X509_up_ref(c.get());
    sk_X509_push(stack.get(), c.get());
  }
  StorePtr store = anchor_store(policy);
  check_path(r, signer, stack.get(), policy, store.get());
  out.revocation = r.revocation;
  out.indication = r.indication;
  out.sub_indication = r.sub_indication;
  out.reasons = r.reasons;
  // A certificate of the path out of its validity period (the signer's is said above) or revoked
  // by now; an unknown CA or missing revocation data is not a refusal (the verifier says it).
  static const std::set<std::string> refused = {"OUT_OF_BOUNDS_NO_POE", "NOT_YET_VALID", "REVOKED", "REVOKED_NO_POE",
                                                "REVOKED_CA_NO_POE"};
  if (out.refusals.empty() && refused.count(r.sub_indication))
    for (auto& why : r.reasons) out.refusals.push_back(why);
  return out;
}

PdfReport verify_pdf(const std::string& data, const ValidationPolicy& policy) {
  PdfReport report;
  auto full = open_pdf(data, report.problem);
  if (!full) return report;
  std::vector<SignatureField> fields;
  try {
    fields = signature_fields(full->qpdf);
  } catch (const std::exception& e) {
    report.problem = std::string("the PDF's form cannot be read: ") + e.what();
    return report;
  }
  auto ends = revision_ends(data);
  RangeHasher hasher(data);
  for (auto& f : fields) {
    SignatureReport r;
    r.field = f.name;
    try {
      check_signature(r, data, *full, f, policy, ends, hasher);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      finding(r, Indication::failed, "FORMAT_FAILURE", std::string("the signature cannot be read: ") + e.what());
    }
    report.signatures.push_back(std::move(r));
  }
  return report;
}

}  // namespace jitsuin::contract
