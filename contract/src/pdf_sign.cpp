#include "jitsuin/contract/pdf_sign.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/x509v3.h>

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

// The CMS SignedData over the signed bytes: one SignerInfo, SHA-256, signed attributes
// contentType, messageDigest and ESS signing-certificate-v2; the signer's certificate and chain.
Bytes make_cms(const std::string& signed_bytes, const hsm::Signer& key, X509* cert, const SignOptions& options) {
  const unsigned flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) throw Error(ErrorKind::crypto, "CMS_sign failed");
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), cert, key.pkey(), EVP_sha256(), flags);
  if (!si) throw Error(ErrorKind::crypto, "CMS_add1_signer failed");
  EssV2Ptr ess(OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, nullptr, 0));
  unsigned char* der = nullptr;
  int len = ess ? i2d_ESS_SIGNING_CERT_V2(ess.get(), &der) : -1;
  if (len <= 0) throw Error(ErrorKind::crypto, "encoding ESS signing-certificate-v2 failed");
  int added = CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, der, len);
  OPENSSL_free(der);
  if (added != 1) throw Error(ErrorKind::crypto, "adding ESS signing-certificate-v2 failed");
  for (auto& c : options.chain) CMS_add1_cert(cms.get(), c.get());
  ossl::Bio data(BIO_new_mem_buf(signed_bytes.data(), static_cast<int>(signed_bytes.size())));
  {
    auto hold = key.hold();
    if (CMS_final(cms.get(), data.get(), nullptr, CMS_DETACHED | CMS_BINARY) != 1)
      throw Error(ErrorKind::crypto, "the token could not sign the PDF: " +
                                         std::string(ERR_reason_error_string(ERR_peek_last_error()) ?: "CMS_final failed"));
  }
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
  std::size_t xref_at = out.size();
  out += "xref\n";
  for (auto& [id, offset] : offsets) {
    int gen = id == sig.getObjectID() || id == widget.getObjectID() ? 0 : changed[id].getGeneration();
    char line[64];
    std::snprintf(line, sizeof line, "%d 1\n%010zu %05d n\r\n", id, offset, gen);
    out += line;
  }
  QPDFObjectHandle old_trailer = q.getTrailer();
  long long size = old_trailer.getKey("/Size").isInteger() ? old_trailer.getKey("/Size").getIntValue() : 0;
  size = std::max<long long>(size, std::max(sig.getObjectID(), widget.getObjectID()) + 1);
  out += "trailer\n<< /Size " + std::to_string(size) + " /Root " + std::to_string(root.getObjectID()) + " " +
         std::to_string(root.getGeneration()) + " R /Prev " + std::to_string(prev);
  if (old_trailer.getKey("/Info").isIndirect())
    out += " /Info " + std::to_string(old_trailer.getKey("/Info").getObjectID()) + " " +
           std::to_string(old_trailer.getKey("/Info").getGeneration()) + " R";
  if (old_trailer.getKey("/ID").isArray()) out += " /ID " + old_trailer.getKey("/ID").unparse();
  out += " >>\nstartxref\n" + std::to_string(xref_at) + "\n%%EOF\n";

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
