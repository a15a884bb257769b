#pragma once
// The PDF structure as qpdf reads it, for validation and signing: a file held in memory and opened
// without recovery (a damaged cross-reference table is a finding, not something to repair), its
// revisions (incremental updates) and its signature fields.
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/asn1.h>

#include "jitsuin/core/util.h"

namespace jitsuin::contract {

/// A PDF opened by qpdf over (a prefix of) the file's bytes, which are not copied: they must
/// outlive it.
struct PdfDocument {
  std::string_view bytes;
  QPDF qpdf;
};

/// Opens `bytes` (the whole file or a prefix ending a revision). Returns null and sets `problem`
/// when qpdf cannot read it (not a PDF, damaged or truncated cross-reference data, encrypted).
std::unique_ptr<PdfDocument> open_pdf(std::string_view bytes, std::string& problem);

/// True when the first 1024 bytes hold the %PDF- header.
bool has_pdf_header(std::string_view bytes);

/// The offsets just past each "%%EOF" marker (and its end of line) in the file: where each
/// revision ends, in order.
std::vector<std::size_t> revision_ends(const std::string& bytes);

/// One signature field whose value is a signature dictionary.
struct SignatureField {
  std::string name;            ///< fully qualified field name
  QPDFObjectHandle field;      ///< the field dictionary (terminal field)
  QPDFObjectHandle value;      ///< its /V: the signature dictionary
};

/// Every signed signature field of the document (fields with /FT /Sig and a dictionary /V).
std::vector<SignatureField> signature_fields(QPDF& pdf);

/// Every field of the document (terminal fields), by fully qualified name.
std::vector<std::pair<std::string, QPDFObjectHandle>> form_fields(QPDF& pdf);

/// The string value of a name or string object, or "".
std::string text_of(QPDFObjectHandle h);

/// An ASN.1 time as seconds since the epoch (0 when absent or unreadable).
UnixTime unix_time(const ASN1_TIME* t);

}  // namespace jitsuin::contract
