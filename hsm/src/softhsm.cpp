#include "jitsuin/hsm/softhsm.h"

#include <sys/stat.h>

#include <cstdlib>

namespace jitsuin::hsm {

namespace {

std::string random_pin() {
  // 20 characters from a 32-symbol alphabet without look-alikes: 100 bits.
  static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  Bytes r = random_bytes(20);
  std::string pin;
  for (auto b : r) pin.push_back(alphabet[b & 31]);
  return pin;
}

}  // namespace

void prepare_embedded_softhsm(const std::filesystem::path& home) {
  std::filesystem::create_directories(home);
  auto tokens = home / "tokens";
  auto conf = home / "softhsm2.conf";
  if (!std::filesystem::exists(tokens)) {
    std::filesystem::create_directories(tokens);
    ::chmod(tokens.c_str(), 0700);
  }
  if (!std::filesystem::exists(conf)) {
    write_file_atomic(conf,
                      "# SoftHSM2 configuration of jitsuin's embedded CA token (created on first use).\n"
                      "directories.tokendir = " +
                          std::filesystem::absolute(tokens).string() +
                          "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                      0600);
  }
  ::setenv("SOFTHSM2_CONF", std::filesystem::absolute(conf).c_str(), 1);
}

std::string read_ca_pin(const config::HsmConfig& hsm) {
  if (!hsm.pin_env.empty())
    if (const char* v = std::getenv(hsm.pin_env.c_str()); v && *v) return v;
  return read_secret_file(hsm.pin_file);
}

Token open_ca_token(const config::Config& config, bool provision) {
  const auto& hc = config.hsm;
  if (hc.embedded_softhsm) prepare_embedded_softhsm(config.home);
  auto uri = Pkcs11Uri::parse(hc.token);
  auto module = Module::load(uri.module_path ? std::filesystem::path(*uri.module_path) : hc.module);
  try {
    Token t = module->open(uri);
    t.login(read_ca_pin(hc));
    return t;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::not_found || !provision || !hc.embedded_softhsm) throw;
  }
  if (!uri.token) throw Error(ErrorKind::config, "hsm.token must name the token label (token=...) to create it");
  std::string user_pin, so_pin;
  auto so_file = config.home / "ca.so-pin";
  if (std::filesystem::exists(hc.pin_file)) {
    user_pin = read_secret_file(hc.pin_file);
  } else {
    user_pin = random_pin();
    write_file_atomic(hc.pin_file, user_pin + "\n", 0600);
  }
  if (std::filesystem::exists(so_file)) {
    so_pin = read_secret_file(so_file);
  } else {
    so_pin = random_pin();
    write_file_atomic(so_file, so_pin + "\n", 0600);
  }
  module->open_uninitialized().initialize(so_pin, *uri.token, user_pin);
  Token t = module->open(uri);
  t.login(read_ca_pin(hc));
  return t;
}

}  // namespace jitsuin::hsm
