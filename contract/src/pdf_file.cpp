#include "pdf_file.h"

#include <openssl/asn1.h>

#include <qpdf/QPDFAcroFormDocumentHelper.hh>
#include <qpdf/QPDFExc.hh>

#include <ctime>
#include <exception>

namespace jitsuin::contract {

std::unique_ptr<PdfDocument> open_pdf(std::string_view bytes, std::string& problem) {
  if (!has_pdf_header(bytes)) {
    problem = "not a PDF (no %PDF- header)";
    return nullptr;
  }
  auto doc = std::make_unique<PdfDocument>();
  doc->bytes = bytes;
  try {
    doc->qpdf.setSuppressWarnings(true);
    // Recovery rebuilds a damaged cross-reference table from a scan of the file: for a signed
    // document that would validate something other than what the file says. Refused instead.
    doc->qpdf.setAttemptRecovery(false);
    doc->qpdf.processMemoryFile("document.pdf", doc->bytes.data(), doc->bytes.size());
    if (doc->qpdf.isEncrypted()) {
      problem = "the PDF is encrypted (not supported)";
      return nullptr;
    }
    // Resolve the catalog now so that a broken trailer shows up here.
    if (!doc->qpdf.getRoot().isDictionary()) {
      problem = "the PDF has no document catalog";
      return nullptr;
    }
  } catch (const std::exception& e) {
    problem = std::string("the PDF cannot be read: ") + e.what();
    return nullptr;
  }
  return doc;
}

bool has_pdf_header(std::string_view bytes) {
  return bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos;
}

std::vector<std::size_t> revision_ends(const std::string& bytes) {
  std::vector<std::size_t> ends;
  for (std::size_t at = bytes.find("%%EOF"); at != std::string::npos; at = bytes.find("%%EOF", at + 5)) {
    std::size_t end = at + 5;
    if (end < bytes.size() && bytes[end] == '\r') ++end;
    if (end < bytes.size() && bytes[end] == '\n') ++end;
    ends.push_back(end);
  }
  return ends;
}

std::vector<std::pair<std::string, QPDFObjectHandle>> form_fields(QPDF& pdf) {
  std::vector<std::pair<std::string, QPDFObjectHandle>> out;
  QPDFAcroFormDocumentHelper acro(pdf);
  for (auto& f : acro.getFormFields()) out.emplace_back(f.getFullyQualifiedName(), f.getObjectHandle());
  return out;
}

std::vector<SignatureField> signature_fields(QPDF& pdf) {
  std::vector<SignatureField> out;
  QPDFAcroFormDocumentHelper acro(pdf);
  for (auto& f : acro.getFormFields()) {
    if (f.getFieldType() != "/Sig") continue;
    QPDFObjectHandle v = f.getValue();
    if (!v.isDictionary()) continue;   // an empty signature field: nothing signed
    out.push_back({f.getFullyQualifiedName(), f.getObjectHandle(), v});
  }
  return out;
}

std::string text_of(QPDFObjectHandle h) {
  if (h.isName()) return h.getName();
  if (h.isString()) return h.getUTF8Value();
  return "";
}

UnixTime unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

}  // namespace jitsuin::contract
