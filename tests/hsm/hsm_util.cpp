#include "hsm_util.h"

#include <openssl/pem.h>

#include <stdexcept>

namespace jitsuin::test {

ossl::PKey software_key() {
  return ossl::check<ossl::PKey>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), "EVP_PKEY_Q_keygen");
}

ossl::Cert make_cert(EVP_PKEY* subject_key, const std::string& cn, EVP_PKEY* signer, const std::string& issuer_cn,
                     bool ca) {
  auto cert = ossl::check<ossl::Cert>(X509_new(), "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(random_bytes(1)[0]) + 1);
  auto set_cn = [](X509_NAME* name, const std::string& v) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1,
                               0);
  };
  set_cn(X509_get_subject_name(cert.get()), cn);
  set_cn(X509_get_issuer_name(cert.get()), issuer_cn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 365);
  if (X509_set_pubkey(cert.get(), subject_key) != 1) ossl::throw_openssl("X509_set_pubkey");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  auto ext = ossl::check<ossl::Ext>(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE"),
      "basicConstraints");
  X509_add_ext(cert.get(), ext.get(), -1);
  if (X509_sign(cert.get(), signer, EVP_sha256()) <= 0) ossl::throw_openssl("X509_sign");
  return cert;
}

Bytes sign(EVP_PKEY* key, const std::string& data) {
  auto ctx = ossl::check<ossl::MdCtx>(EVP_MD_CTX_new(), "EVP_MD_CTX_new");
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) ossl::throw_openssl("DigestSignInit");
  std::size_t len = 0;
  auto p = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, p, data.size()) != 1) ossl::throw_openssl("DigestSign (size)");
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, p, data.size()) != 1) ossl::throw_openssl("DigestSign");
  sig.resize(len);
  return sig;
}

std::string public_pem(EVP_PKEY* key) {
  auto bio = ossl::check<ossl::Bio>(BIO_new(BIO_s_mem()), "BIO_new");
  if (PEM_write_bio_PUBKEY(bio.get(), key) != 1) ossl::throw_openssl("PEM_write_bio_PUBKEY");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

CommandResult openssl_verify(const TempDir& dir, EVP_PKEY* key, const std::string& data, const Bytes& signature) {
  write_text(dir / "pub.pem", public_pem(key));
  write_text(dir / "data.bin", data);
  write_text(dir / "sig.bin", std::string(signature.begin(), signature.end()));
  return run("openssl dgst -sha256 -verify " + sh_quote((dir / "pub.pem").string()) + " -signature " +
             sh_quote((dir / "sig.bin").string()) + " " + sh_quote((dir / "data.bin").string()));
}

CommandResult pkcs11_tool(const std::string& token_label, const std::string& pin, const std::string& args) {
  return run("pkcs11-tool --module " + sh_quote(softhsm_module().string()) + " --token-label " +
             sh_quote(token_label) + " --login --pin " + sh_quote(pin) + " " + args);
}

std::vector<std::string> pkcs11_tool_objects(const std::string& token_label, const std::string& pin,
                                             const std::string& kind) {
  auto r = pkcs11_tool(token_label, pin, "--list-objects");
  if (r.status != 0) throw std::runtime_error("pkcs11-tool --list-objects failed: " + r.output);
  // Blocks start at a line that does not begin with a space.
  std::vector<std::string> blocks;
  std::string current;
  std::size_t pos = 0;
  while (pos < r.output.size()) {
    auto end = r.output.find('\n', pos);
    if (end == std::string::npos) end = r.output.size();
    std::string line = r.output.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line[0] != ' ') {
      if (!current.empty()) blocks.push_back(current);
      current.clear();
    }
    current += line + "\n";
  }
  if (!current.empty()) blocks.push_back(current);
  std::vector<std::string> out;
  for (auto& b : blocks)
    if (b.starts_with(kind)) out.push_back(b);
  return out;
}

}  // namespace jitsuin::test
