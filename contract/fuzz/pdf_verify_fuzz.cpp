// libFuzzer target over the PDF signature validator (contract::verify_pdf, what `jitsuin pdf
// verify` runs): any bytes in, a report out, never a crash, a sanitizer report or an exception
// other than bad_alloc. Built with clang (-fsanitize=fuzzer,address) by tests/contract/fuzz.sh,
// which also runs it over a seed corpus of signed PDFs made there.
//
// JITSUIN_FUZZ_TRUST (optional): a PEM file of trust anchors, so that inputs reach the path and
// revocation checks (the seeds' signers chain to it). The validation time is fixed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>

#include <openssl/pem.h>

#include "jitsuin/contract/pdf_verify.h"

namespace {

jitsuin::contract::ValidationPolicy& policy() {
  static jitsuin::contract::ValidationPolicy p = [] {
    jitsuin::contract::ValidationPolicy made;
    made.validation_time = 1798761600;   // 2027-01-01T00:00:00Z
    if (const char* file = std::getenv("JITSUIN_FUZZ_TRUST")) {
      if (BIO* bio = BIO_new_file(file, "r")) {
        while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) made.anchors.emplace_back(cert);
        BIO_free(bio);
      }
    }
    return made;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    jitsuin::contract::verify_pdf(bytes, policy());
  } catch (const std::bad_alloc&) {
    // the one failure verify_pdf may pass on (the machine's, not the input's)
  }
  return 0;
}
