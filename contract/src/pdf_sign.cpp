#include "jitsuin/contract/pdf_sign.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <map>

#include "jitsuin/core/error.h"
#include "pdf_file.h"

namespace jitsuin::contract {

namespace {

using CmsPtr = std::unique_ptr<CMS_ContentInfo, ossl::Deleter<CMS_ContentInfo, CMS_ContentInfo_free>>;
using EssV2Ptr = std::unique_ptr<ESS_SIGNING_CERT_V2, ossl::Deleter<ESS_SIGNING_CERT_V2, ESS_SIGNING_CERT_V2_free>>;

// A PDF date (D:YYYYMMDDHHmmSSZ) from the RFC 3339 form.
std::string pdf_date(UnixTime t) {
  std::string date = "D:";
  for (char c : format_rfc3339(t))
    if (std::isdigit(static_cast<unsigned char>(c)) || c == 'Z') date += c;
  return date;
}

// DER of a SET OF attributes: the elements in DER order (RFC 5652 5.4: the signature covers the
// signed attributes encoded as a SET OF with the [0] tag replaced by the SET tag).
Bytes der_set(std::vector<Bytes> elements) {
  std::sort(elements.begin(), elements.end());
  Bytes body;
  for (auto& e : elements) body.insert(body.end(), e.begin(), e.end());
  Bytes out{0x31};
  if (body.size() < 0x80) {
    out.push_back(static_cast<std::uint8_t>(body.size()));
  } else {
    Bytes len;
    for (std::size_t n = body.size(); n; n >>= 8) len.insert(len.begin(), static_cast<std::uint8_t>(n & 0xff));
    out.push_back(static_cast<std::uint8_t>(0x80 | len.size()));
    out.insert(out.end(), len.begin(), len.end());
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes der_of(X509_ATTRIBUTE* a) {
  unsigned char* der = nullptr;
  int len = i2d_X509_ATTRIBUTE(a, &der);
  if (len <= 0) throw Error(ErrorKind::crypto, "encoding a signed attribute failed");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// The CMS SignedData over the signed bytes: one SignerInfo, SHA-256, and exactly the signed
// attributes PAdES baseline B-B asks for: contentType, messageDigest and ESS
// signing-certificate-v2 — no signingTime (ETSI EN 319 142-1 5.2.2: the claimed time is the
// signature dictionary's /M). OpenSSL's CMS_final/CMS_SignerInfo_sign would add signingTime, so
// the attributes are put in DER order, encoded and signed here with the token key.
Bytes make_cms(const std::string& signed_bytes, const hsm::Signer& key, X509* cert, const SignOptions& options) {
  const unsigned flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) throw Error(ErrorKind::crypto, "CMS_sign failed");
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), cert, key.pkey(), EVP_sha256(), flags);
  if (!si) throw Error(ErrorKind::crypto, "CMS_add1_signer failed");
  for (int i = CMS_signed_get_attr_count(si) - 1; i >= 0; --i) X509_ATTRIBUTE_free(CMS_signed_delete_attr(si, i));
  Bytes digest = sha256(signed_bytes);
  EssV2Ptr ess(OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, nullptr, 0));
  unsigned char* der = nullptr;
  int len = ess ? i2d_ESS_SIGNING_CERT_V2(ess.get(), &der) : -1;
  if (len <= 0) throw Error(ErrorKind::crypto, "encoding ESS signing-certificate-v2 failed");
  bool added = CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) == 1 &&
               CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, digest.data(),
                                           static_cast<int>(digest.size())) == 1 &&
               CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, der, len) == 1;
  OPENSSL_free(der);
  if (!added) throw Error(ErrorKind::crypto, "adding the signed attributes failed");
  // Keep the attributes in DER order, so that the SET the signature covers is the one written.
  std::vector<std::pair<Bytes, X509_ATTRIBUTE*>> attrs;
  while (CMS_signed_get_attr_count(si) > 0) {
    X509_ATTRIBUTE* a = CMS_signed_delete_attr(si, 0);
    attrs.emplace_back(der_of(a), a);
  }
  std::sort(attrs.begin(), attrs.end(), [](auto& x, auto& y) { return x.first < y.first; });
  std::vector<Bytes> encoded;
  for (auto& [d, a] : attrs) {
    bool ok = CMS_signed_add1_attr(si, a) == 1;
    X509_ATTRIBUTE_free(a);
    if (!ok) throw Error(ErrorKind::crypto, "adding the signed attributes failed");
    encoded.push_back(d);
  }
  Bytes to_sign = der_set(encoded);
  for (auto& c : options.chain) CMS_add1_cert(cms.get(), c.get());
  Bytes signature;
  {
    auto hold = key.hold();
    ossl::MdCtx ctx(EVP_MD_CTX_new());
    std::size_t sig_len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &sig_len, to_sign.data(), to_sign.size()) != 1)
      throw Error(ErrorKind::crypto, "the token could not sign the PDF: " +
                                         std::string(ERR_reason_error_string(ERR_peek_last_error()) ?: "EVP_DigestSignInit failed"));
    signature.resize(sig_len);
    if (EVP_DigestSign(ctx.get(), signature.data(), &sig_len, to_sign.data(), to_sign.size()) != 1)
      throw Error(ErrorKind::crypto, "the token could not sign the PDF: " +
                                         std::string(ERR_reason_error_string(ERR_peek_last_error()) ?: "EVP_DigestSign failed"));
    signature.resize(sig_len);
  }
  if (ASN1_OCTET_STRING_set(CMS_SignerInfo_get0_signature(si), signature.data(), static_cast<int>(signature.size())) != 1)
    throw Error(ErrorKind::crypto, "setting the signature value failed");
  unsigned char* out = nullptr;
  len = i2d_CMS_ContentInfo(cms.get(), &out);
  if (len <= 0) throw Error(ErrorKind::crypto, "encoding the CMS failed");
  Bytes result(out, out + len);
  OPENSSL_free(out);
  return result;
}

std::string object_text(QPDFObjectHandle h) {
  return std::to_string(h.getObjectID()) + " " + std::to_string(h.getGeneration()) + " obj\n" + h.unparseResolved() +
         "\nendobj\n";
}

}  // namespace

std::string sign_pdf(const std::string& pdf, const hsm::Signer& key, X509* cert, const SignOptions& options) {
  if (X509_check_private_key(cert, key.pkey()) != 1) {
    ERR_clear_error();
    throw Error(ErrorKind::invalid_input, "the certificate is not the key's (its public key differs)");
  }
  if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE) ||
      !(X509_get_key_usage(cert) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
    throw Error(ErrorKind::invalid_input, "the certificate's keyUsage allows neither digitalSignature nor nonRepudiation");
  std::string problem;
  auto doc = open_pdf(pdf, problem);
  if (!doc) throw Error(ErrorKind::invalid_input, problem);
  QPDF& q = doc->qpdf;
  std::size_t startxref = pdf.rfind("startxref");
  if (startxref == std::string::npos || revision_ends(pdf).empty())
    throw Error(ErrorKind::invalid_input, "the PDF has no startxref/%%EOF at its end");
  long long prev = std::atoll(pdf.c_str() + startxref + 9);
  auto& pages = q.getAllPages();
  if (pages.empty()) throw Error(ErrorKind::invalid_input, "the PDF has no pages");

  // The next free field name: Signature1, Signature2 ... (a counter-signature takes the next one).
  std::set<std::string> names;
  for (auto& [name, f] : form_fields(q)) names.insert(name);
  std::string field_name;
  for (int n = 1; field_name.empty(); ++n)
    if (!names.count("Signature" + std::to_string(n))) field_name = "Signature" + std::to_string(n);

  std::string space(2 * kSignatureSpace, '0');
  std::string placeholder_range = "[0 0000000000 0000000000 0000000000]";
  std::string sig_body = "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange " +
                         placeholder_range + " /M " +
                         QPDFObjectHandle::newString(pdf_date(options.time)).unparse();
  if (!options.reason.empty()) sig_body += " /Reason " + QPDFObjectHandle::newUnicodeString(options.reason).unparse();
  sig_body += " /Contents <" + space + "> >>";
  // Reserve the signature dictionary's number (its text is written by hand: the placeholders).
  QPDFObjectHandle sig = q.makeIndirectObject(QPDFObjectHandle::newDictionary());
  QPDFObjectHandle page = pages[0];
  QPDFObjectHandle widget = q.makeIndirectObject(QPDFObjectHandle::parse(
      "<< /Type /Annot /Subtype /Widget /FT /Sig /F 132 /Rect [0 0 0 0] >>"));
  widget.replaceKey("/T", QPDFObjectHandle::newUnicodeString(field_name));
  widget.replaceKey("/V", sig);
  widget.replaceKey("/P", page);

  // The objects the update redefines: the page's annotation list and the form's field list.
  std::map<int, QPDFObjectHandle> changed;
  QPDFObjectHandle annots = page.getKey("/Annots");
  if (annots.isArray() && annots.isIndirect()) {
    annots.appendItem(widget);
    changed[annots.getObjectID()] = annots;
  } else {
    std::vector<QPDFObjectHandle> items = annots.isArray() ? annots.getArrayAsVector() : std::vector<QPDFObjectHandle>{};
    items.push_back(widget);
    page.replaceKey("/Annots", QPDFObjectHandle::newArray(items));
    changed[page.getObjectID()] = page;
  }
  QPDFObjectHandle root = q.getRoot();
  QPDFObjectHandle form = root.getKey("/AcroForm");
  if (!form.isDictionary()) {
    form = QPDFObjectHandle::newDictionary();
    root.replaceKey("/AcroForm", form);
    changed[root.getObjectID()] = root;
  } else if (form.isIndirect()) {
    changed[form.getObjectID()] = form;
  } else {
    changed[root.getObjectID()] = root;
  }
  QPDFObjectHandle fields = form.getKey("/Fields");
  std::vector<QPDFObjectHandle> field_items = fields.isArray() ? fields.getArrayAsVector() : std::vector<QPDFObjectHandle>{};
  field_items.push_back(widget);
  form.replaceKey("/Fields", QPDFObjectHandle::newArray(field_items));
  form.replaceKey("/SigFlags", QPDFObjectHandle::newInteger(3));

  // The incremental update: the new and redefined objects, a cross-reference section for them, a
  // trailer pointing back at the previous one.
  std::string out = pdf;
  if (out.back() != '\n') out += '\n';
  std::map<int, std::size_t> offsets;
  offsets[sig.getObjectID()] = out.size();
  out += std::to_string(sig.getObjectID()) + " 0 obj\n" + sig_body + "\nendobj\n";
  offsets[widget.getObjectID()] = out.size();
  out += object_text(widget);
  for (auto& [id, h] : changed) {
    offsets[id] = out.size();
    out += object_text(h);
  }
  QPDFObjectHandle old_trailer = q.getTrailer();
  long long size = old_trailer.getKey("/Size").isInteger() ? old_trailer.getKey("/Size").getIntValue() : 0;
  size = std::max<long long>(size, std::max(sig.getObjectID(), widget.getObjectID()) + 1);
  std::string trailer_keys = "/Root " + std::to_string(root.getObjectID()) + " " + std::to_string(root.getGeneration()) +
                             " R /Prev " + std::to_string(prev);
  if (old_trailer.getKey("/Info").isIndirect())
    trailer_keys += " /Info " + std::to_string(old_trailer.getKey("/Info").getObjectID()) + " " +
                    std::to_string(old_trailer.getKey("/Info").getGeneration()) + " R";
  if (old_trailer.getKey("/ID").isArray()) trailer_keys += " /ID " + old_trailer.getKey("/ID").unparse();
  auto generation = [&](int id) {
    return id == sig.getObjectID() || id == widget.getObjectID() ? 0 : changed[id].getGeneration();
  };
  std::size_t xref_at = out.size();
  // The update's cross-reference data is of the kind the previous revision used: a section
  // ("xref" table and trailer) after a table, a cross-reference stream after a stream (ISO
  // 32000-1 7.5.8; a table appended to a stream-only file would make it a hybrid that PDF 1.5
  // readers need not accept).
  if (prev < 0 || static_cast<std::size_t>(prev) + 4 > pdf.size() || pdf.compare(prev, 4, "xref") != 0) {
    if (xref_at + 4096 >= (std::size_t{1} << 32))
      throw Error(ErrorKind::invalid_input, "the PDF is too large for the cross-reference stream written (4 GB)");
    long long self = size++;
    offsets[static_cast<int>(self)] = xref_at;
    std::string entries, index;
    for (auto& [id, offset] : offsets) {
      int gen = id == self ? 0 : generation(id);
      std::uint8_t e[7] = {1,
                           static_cast<std::uint8_t>(offset >> 24),
                           static_cast<std::uint8_t>(offset >> 16),
                           static_cast<std::uint8_t>(offset >> 8),
                           static_cast<std::uint8_t>(offset),
                           static_cast<std::uint8_t>(gen >> 8),
                           static_cast<std::uint8_t>(gen)};
      entries.append(reinterpret_cast<const char*>(e), sizeof e);
      index += (index.empty() ? "" : " ") + std::to_string(id) + " 1";
    }
    out += std::to_string(self) + " 0 obj\n<< /Type /XRef /Size " + std::to_string(size) + " /W [1 4 2] /Index [" +
           index + "] " + trailer_keys + " /Length " + std::to_string(entries.size()) + " >>\nstream\n" + entries +
           "\nendstream\nendobj\n";
  } else {
    out += "xref\n";
    for (auto& [id, offset] : offsets) {
      char line[64];
      std::snprintf(line, sizeof line, "%d 1\n%010zu %05d n\r\n", id, offset, generation(id));
      out += line;
    }
    out += "trailer\n<< /Size " + std::to_string(size) + " " + trailer_keys + " >>\n";
  }
  out += "startxref\n" + std::to_string(xref_at) + "\n%%EOF\n";

  // Fill in the byte range, then the signature over it.
  std::size_t range_at = out.find(placeholder_range, offsets[sig.getObjectID()]);
  std::size_t gap_start = out.find("/Contents <", range_at) + 10;
  std::size_t gap_end = gap_start + space.size() + 2;
  std::string range = "[0 " + std::to_string(gap_start) + " " + std::to_string(gap_end) + " " +
                      std::to_string(out.size() - gap_end) + "]";
  range.resize(placeholder_range.size(), ' ');
  out.replace(range_at, placeholder_range.size(), range);
  std::string signed_bytes = out.substr(0, gap_start) + out.substr(gap_end);
  Bytes cms = make_cms(signed_bytes, key, cert, options);
  if (cms.size() > kSignatureSpace)
    throw Error(ErrorKind::internal, "the signature (" + std::to_string(cms.size()) + " bytes) exceeds the space reserved");
  std::string hex = to_hex(cms);
  out.replace(gap_start + 1, hex.size(), hex);
  return out;
}

}  // namespace jitsuin::contract
