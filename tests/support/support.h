#pragma once
// Shared test harness. Everything real: a SoftHSM2 token in a temp dir, a SQLite file, the built
// jitsuin binary and the independent command-line tools.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "jitsuin/ca/authority.h"
#include "jitsuin/config/config.h"
#include "jitsuin/db/database.h"
#include "jitsuin/hsm/pkcs11.h"

namespace jitsuin::test {

/// A fresh directory, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Output (stdout and stderr together) and exit status of a shell command.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run(const std::string& shell_command);

/// Quotes for /bin/sh.
std::string sh_quote(const std::string& s);

/// The jitsuin binary under test, and "jitsuin --home HOME" ready to append a command.
std::string jitsuin_binary();
std::string jitsuin_cmd(const std::filesystem::path& home);

void write_text(const std::filesystem::path& path, const std::string& text);

/// "JITSUIN_TEST_NOW=t " to put before a jitsuin command line: that command's clock reads t
/// (the CLI's test-only clock hook), so a test runs commands at chosen times, never waiting.
std::string at_time(UnixTime t);

/// Creates the RA's first administrator, "admin" (the bootstrap account), on a jitsuin home and
/// logs it in with the built binary (session in the CLI's default place, or $JITSUIN_SESSION_FILE
/// when set): what `ca issue`, `ca revoke` and `ca revoke-ca` need. `prefix` goes before each
/// command line (e.g. at_time()). Returns the password file (mode 0600, beside the home).
std::filesystem::path login_administrator(const std::filesystem::path& home, const std::string& prefix = "");

/// Sets an environment variable until destroyed, then restores it: every command `run` starts
/// meanwhile inherits it (e.g. JITSUIN_TEST_NOW for a whole test).
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

/// The SoftHSM2 module path.
std::filesystem::path softhsm_module();

/// Points SOFTHSM2_CONF at a token directory private to this test process (once per process),
/// so tests never touch a system token store. Returns the token directory.
std::filesystem::path process_softhsm();

/// Initialises a new SoftHSM2 token in this process's token store and returns it, not logged in.
hsm::Token new_token(const std::string& label, const std::string& so_pin, const std::string& user_pin);

/// A complete CA in a temp home: config (the documented default with a private token), database,
/// key store (which logs in to the token), CA initialised and loaded.
struct CaFixture {
  TempDir home;
  config::Config config;
  std::unique_ptr<db::Database> db;
  std::optional<hsm::Token> token;             ///< the same token, for tests that look at it directly
  std::unique_ptr<hsm::KeyStore> keys;         ///< the key store the CA uses (hsm.type from config)
  std::unique_ptr<ca::CertificateAuthority> ca;
  std::string token_label;

  /// Opens another database connection (e.g. for a second thread).
  std::unique_ptr<db::Database> open_db() const;
};
std::unique_ptr<CaFixture> make_ca(hsm::KeyAlgorithm root = hsm::KeyAlgorithm::rsa3072,
                                   hsm::KeyAlgorithm issuing = hsm::KeyAlgorithm::p256);

/// A CSR made by `openssl req` with a fresh software key: alg is an openssl -newkey argument
/// ("rsa:2048", "ec" + curve). Returns the CSR PEM.
std::string openssl_csr(const std::filesystem::path& dir, const std::string& newkey, const std::string& name = "k");

/// Runs f expecting a jitsuin::Error of kind `expected`; returns its message. Records a test
/// failure when nothing or something else is thrown.
template <typename F>
std::string expect_error(F&& f, ErrorKind expected) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(error_kind_name(e.kind()), std::string(error_kind_name(expected))) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

/// Counts rows of a table (for "nothing changed" checks).
std::int64_t count_rows(db::Database& db, const std::string& table);

/// The params of outbox row `id` as its mail carries them: the stored params with the sealed
/// secrets (an initial password, a download PIN) put back, opened with the outbox key beside the
/// database. Written here from the format (AES-256-GCM; version 1 | nonce 12 | ciphertext | tag 16;
/// associated data "jitsuin outbox v1" and message_id, recipient, template, language, each after a
/// NUL), independently of ra/. Throws when the secret does not open.
nlohmann::json outbox_mail_params(db::Database& db, std::int64_t id);

}  // namespace jitsuin::test
