#include "crl_builder.h"

#include <openssl/evp.h>

#include <ctime>

namespace jitsuin::ca::detail {

namespace {

constexpr std::uint8_t kSequence = 0x30, kInteger = 0x02, kOctetString = 0x04, kOid = 0x06, kEnumerated = 0x0a,
                       kBitString = 0x03, kUtcTime = 0x17, kGeneralizedTime = 0x18, kContext0 = 0xa0,
                       kContextPrim0 = 0x80;

// id-ce-cRLReasons 2.5.29.21, id-ce-cRLNumber 2.5.29.20, id-ce-authorityKeyIdentifier 2.5.29.35
const std::string kOidReason("\x55\x1d\x15", 3);
const std::string kOidCrlNumber("\x55\x1d\x14", 3);
const std::string kOidAki("\x55\x1d\x23", 3);
// id-ce-issuingDistributionPoint 2.5.29.28
const std::string kOidIdp("\x55\x1d\x1c", 3);
constexpr std::uint8_t kBoolean = 0x01, kContextPrim6 = 0x86;

std::string tlv(std::uint8_t tag, std::string_view content) {
  std::string out;
  der_append_tlv(out, tag, content);
  return out;
}

std::string der_integer(std::int64_t v) {
  std::string content;
  for (int i = 7; i >= 0; --i) content.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  std::size_t i = 0;
  while (i + 1 < content.size() && content[i] == 0 && !(content[i + 1] & 0x80)) ++i;
  return tlv(kInteger, content.substr(i));
}

// AlgorithmIdentifier matching the digest_for() choice for this key.
std::string signature_algorithm(EVP_PKEY* key, const EVP_MD** md) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    *md = EVP_sha256();
    // sha256WithRSAEncryption, NULL parameters
    return std::string("\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00", 15);
  }
  if (EVP_PKEY_get_bits(key) > 256) {
    *md = EVP_sha384();
    return std::string("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x03", 12);  // ecdsa-with-SHA384
  }
  *md = EVP_sha256();
  return std::string("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 12);    // ecdsa-with-SHA256
}

std::string pem_encode(std::string_view der, const char* label) {
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = std::string("-----BEGIN ") + label + "-----\n";
  out.reserve(out.size() + der.size() * 4 / 3 + der.size() / 48 + 64);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::size_t n = der.size(), col = 0;
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = static_cast<std::uint32_t>(p[i]) << 16;
    if (i + 1 < n) v |= static_cast<std::uint32_t>(p[i + 1]) << 8;
    if (i + 2 < n) v |= p[i + 2];
    out.push_back(b64[(v >> 18) & 63]);
    out.push_back(b64[(v >> 12) & 63]);
    out.push_back(i + 1 < n ? b64[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? b64[v & 63] : '=');
    if ((col += 4) == 64) {
      out.push_back('\n');
      col = 0;
    }
  }
  if (col) out.push_back('\n');
  out += std::string("-----END ") + label + "-----\n";
  return out;
}

}  // namespace

void der_append_length(std::string& out, std::size_t len) {
  if (len < 0x80) {
    out.push_back(static_cast<char>(len));
    return;
  }
  char buf[8];
  int n = 0;
  for (std::size_t l = len; l; l >>= 8) buf[n++] = static_cast<char>(l & 0xff);
  out.push_back(static_cast<char>(0x80 | n));
  while (n) out.push_back(buf[--n]);
}

void der_append_tlv(std::string& out, std::uint8_t tag, std::string_view content) {
  out.push_back(static_cast<char>(tag));
  der_append_length(out, content.size());
  out.append(content);
}

void der_append_time(std::string& out, UnixTime t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  if (tm.tm_year + 1900 < 2050) {
    std::snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    der_append_tlv(out, kUtcTime, buf);
  } else {
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    der_append_tlv(out, kGeneralizedTime, buf);
  }
}

CrlBuilder::CrlBuilder(const CrlInput& in) : in_(in) {}

void CrlBuilder::add(const Bytes& serial_content, UnixTime revocation_date, int reason) {
  std::string entry;
  der_append_tlv(entry, kInteger,
                 std::string_view(reinterpret_cast<const char*>(serial_content.data()), serial_content.size()));
  der_append_time(entry, revocation_date);
  if (reason != 0) {
    std::string ext;
    der_append_tlv(ext, kOid, kOidReason);
    std::string enumerated = tlv(kEnumerated, std::string(1, static_cast<char>(reason)));
    der_append_tlv(ext, kOctetString, enumerated);
    der_append_tlv(entry, kSequence, tlv(kSequence, ext));   // Extensions ::= SEQUENCE OF Extension
  }
  der_append_tlv(revoked_, kSequence, entry);
  ++entries_;
}

CrlFiles CrlBuilder::finish() {
  const EVP_MD* md = nullptr;
  std::string sig_alg = signature_algorithm(in_.key, &md);

  std::string issuer;
  {
    int len = i2d_X509_NAME(X509_get_subject_name(in_.issuer), nullptr);
    issuer.resize(static_cast<std::size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(issuer.data());
    i2d_X509_NAME(X509_get_subject_name(in_.issuer), &p);
  }
  std::string exts;
  {
    std::string aki_ext;
    der_append_tlv(aki_ext, kOid, kOidAki);
    std::string keyid = tlv(kContextPrim0, std::string_view(reinterpret_cast<const char*>(in_.authority_key_id.data()),
                                                            in_.authority_key_id.size()));
    der_append_tlv(aki_ext, kOctetString, tlv(kSequence, keyid));
    std::string num_ext;
    der_append_tlv(num_ext, kOid, kOidCrlNumber);
    der_append_tlv(num_ext, kOctetString, der_integer(in_.crl_number));
    std::string all = tlv(kSequence, aki_ext) + tlv(kSequence, num_ext);
    if (!in_.distribution_point.empty()) {
      // IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] { fullName [0] { URI [6] } } }
      std::string uri = tlv(kContextPrim6, in_.distribution_point);
      std::string idp = tlv(kSequence, tlv(kContext0, tlv(kContext0, uri)));
      std::string idp_ext;
      der_append_tlv(idp_ext, kOid, kOidIdp);
      der_append_tlv(idp_ext, kBoolean, std::string(1, '\xff'));   // critical (RFC 5280 5.2.5)
      der_append_tlv(idp_ext, kOctetString, idp);
      all += tlv(kSequence, idp_ext);
    }
    exts = tlv(kSequence, all);
  }
  std::string head;
  head += der_integer(1);   // v2
  head += sig_alg;
  head += issuer;
  der_append_time(head, in_.this_update);
  der_append_time(head, in_.next_update);
  std::string revoked_header;
  if (entries_ > 0) {
    revoked_header.push_back(static_cast<char>(kSequence));
    der_append_length(revoked_header, revoked_.size());
  }
  std::string tail = tlv(kContext0, exts);
  std::size_t tbs_content = head.size() + revoked_header.size() + revoked_.size() + tail.size();
  std::string tbs_header(1, static_cast<char>(kSequence));
  der_append_length(tbs_header, tbs_content);

  // Sign the TBSCertList in pieces: the big entry list is never copied.
  ossl::MdCtx ctx = ossl::check<ossl::MdCtx>(EVP_MD_CTX_new(), "EVP_MD_CTX_new");
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, in_.key) != 1) ossl::throw_openssl("cannot start CRL signature");
  for (std::string_view part : {std::string_view(tbs_header), std::string_view(head), std::string_view(revoked_header),
                                std::string_view(revoked_), std::string_view(tail)})
    if (EVP_DigestSignUpdate(ctx.get(), part.data(), part.size()) != 1) ossl::throw_openssl("cannot hash the CRL");
  // The token is held for the signature only, not while the entries are encoded and hashed.
  std::unique_ptr<hsm::KeyHold> hold;
  if (in_.hold) hold = in_.hold();
  std::size_t sig_len = 0;
  if (EVP_DigestSignFinal(ctx.get(), nullptr, &sig_len) != 1) ossl::throw_openssl("cannot size the CRL signature");
  std::string sig(sig_len, '\0');
  if (EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len) != 1)
    ossl::throw_openssl("the CA key on the token could not sign the CRL", ErrorKind::hsm);
  hold.reset();
  sig.resize(sig_len);
  std::string bitstring = tlv(kBitString, std::string(1, '\0') + sig);

  CrlFiles files;
  std::size_t outer = tbs_header.size() + tbs_content + sig_alg.size() + bitstring.size();
  files.der.reserve(outer + 8);
  files.der.push_back(static_cast<char>(kSequence));
  der_append_length(files.der, outer);
  files.der += tbs_header;
  files.der += head;
  files.der += revoked_header;
  files.der += revoked_;
  std::string().swap(revoked_);   // release before the PEM copy: keeps the peak low
  files.der += tail;
  files.der += sig_alg;
  files.der += bitstring;
  files.sha256 = sha256(files.der);
  files.pem = pem_encode(files.der, "X509 CRL");
  return files;
}

}  // namespace jitsuin::ca::detail
