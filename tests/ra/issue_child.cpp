// TEST ONLY: a process that issues the certificate of one enrolled application, as the enrollment
// server will: opens the CA home made by test::make_ca (config from the source tree, the token by
// label from the inherited SOFTHSM2_CONF, the PIN from the home's pin file) and calls
// ra::issue_for_application. Crash tests run it with JITSUIN_TEST_CRASH_AT set (core/fault.h).
//
// Usage: ra_issue_child HOME TOKEN_LABEL APPLICATION_ID
// Prints the serial and exits 0; prints the error and exits 1.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "jitsuin/ca/authority.h"
#include "jitsuin/core/error.h"
#include "jitsuin/hsm/key_store.h"
#include "jitsuin/ra/issuance.h"

int main(int argc, char** argv) {
  using namespace jitsuin;
  if (argc != 4) {
    std::cerr << "usage: ra_issue_child HOME TOKEN_LABEL APPLICATION_ID\n";
    return 2;
  }
  try {
    std::filesystem::path home = argv[1];
    auto src = std::filesystem::path(JITSUIN_SOURCE_DIR) / "config";
    // The same configuration as test::make_ca.
    config::Config config = config::parse_config(read_file(src / "jitsuin.json"), home, src);
    config.hsm.embedded_softhsm = false;
    config.hsm.token = std::string("pkcs11:token=") + argv[2];
    config.hsm.pin_env = "";
    auto db = db::Database::open(config.database.path, {.synchronous_full = config.database.synchronous == "full"});
    auto keys = hsm::open_key_store(config);
    ca::CertificateAuthority authority(config, *db, *keys, system_clock());
    // Open the token now (the CA would on its first signature): the crash and concurrency tests
    // start a second issuer only once this one has its token session.
    for (const auto& a : authority.authorities())
      if (a.role == "issuing") keys->find(a.key_uri);
    ra::RaContext ctx{*db, config, system_clock()};
    // With RA_ISSUE_CHILD_BARRIER=DIR: report ready in DIR, then wait for DIR/go, so a test can
    // start two issuers at the same moment.
    if (const char* barrier = std::getenv("RA_ISSUE_CHILD_BARRIER")) {
      std::filesystem::path dir = barrier;
      write_file_atomic(dir / ("ready." + std::to_string(getpid())), "", 0600);
      while (!std::filesystem::exists(dir / "go")) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    auto issued = ra::issue_for_application(ctx, authority, std::stoll(argv[3]), "enroll:web");
    std::cout << issued.record.serial_hex << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ra_issue_child: " << e.what() << "\n";
    return 1;
  }
}
