#include "support/support.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>

#include <openssl/evp.h>

#include "jitsuin/core/util.h"

namespace jitsuin::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "jitsuin-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult run(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string jitsuin_binary() { return JITSUIN_BINARY; }

std::string jitsuin_cmd(const std::filesystem::path& home) {
  return sh_quote(jitsuin_binary()) + " --home " + sh_quote(home.string());
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::filesystem::path login_administrator(const std::filesystem::path& home, const std::string& prefix) {
  auto pw = home.parent_path() / (home.filename().string() + "-admin.pw");
  write_file_atomic(pw, "passphrase of the RA administrator\n", 0600);
  for (const char* cmd : {" ra operator-add --name admin --role administrator --password-file ",
                          " login --user admin --password-file "}) {
    auto r = run(prefix + jitsuin_cmd(home) + cmd + sh_quote(pw.string()));
    if (r.status != 0) throw std::runtime_error(std::string("jitsuin") + cmd + "failed: " + r.output);
  }
  return pw;
}

std::string at_time(UnixTime t) { return "JITSUIN_TEST_NOW=" + std::to_string(t) + " "; }

ScopedEnv::ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
  if (const char* v = getenv(name_.c_str())) saved_ = v;
  setenv(name_.c_str(), value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (saved_) setenv(name_.c_str(), saved_->c_str(), 1);
  else unsetenv(name_.c_str());
}

std::filesystem::path softhsm_module() { return "/usr/lib/softhsm/libsofthsm2.so"; }

namespace {
// SoftHSM2 offers a new free slot only at C_Initialize, so tokens for one process are made up
// front with softhsm2-util, before the module is loaded; new_token() re-initialises one of them
// with C_InitToken (which wipes it) under the label and PINs the test asks for.
constexpr int kTokenPool = 8;
const char* const kPoolSoPin = "pool-so-pin";
int next_pool_token = 0;
}  // namespace

std::filesystem::path process_softhsm() {
  static TempDir* dir = [] {
    auto* d = new TempDir();   // lives for the process
    std::filesystem::create_directories(d->path() / "tokens");
    write_text(d->path() / "softhsm2.conf", "directories.tokendir = " + (d->path() / "tokens").string() +
                                                "\nobjectstore.backend = file\nlog.level = ERROR\n");
    setenv("SOFTHSM2_CONF", (d->path() / "softhsm2.conf").c_str(), 1);
    for (int i = 1; i <= kTokenPool; ++i) {
      auto r = run("softhsm2-util --init-token --free --label pool-" + std::to_string(i) + " --so-pin " + kPoolSoPin +
                   " --pin pool-user-pin");
      if (r.status != 0) throw std::runtime_error("softhsm2-util failed: " + r.output);
    }
    return d;
  }();
  return dir->path() / "tokens";
}

hsm::Token new_token(const std::string& label, const std::string& so_pin, const std::string& user_pin) {
  process_softhsm();
  if (next_pool_token >= kTokenPool) throw std::runtime_error("test token pool exhausted; raise kTokenPool");
  auto module = hsm::Module::load(softhsm_module());
  hsm::Pkcs11Uri pool;
  pool.token = "pool-" + std::to_string(++next_pool_token);
  hsm::Token t = module->open(pool);
  t.initialize(kPoolSoPin, label, user_pin);
  if (so_pin != kPoolSoPin) t.change_so_pin(kPoolSoPin, so_pin);
  hsm::Pkcs11Uri uri;
  uri.token = label;
  return module->open(uri);
}

std::unique_ptr<db::Database> CaFixture::open_db() const {
  return db::Database::open(config.database.path, {.synchronous_full = config.database.synchronous == "full"});
}

std::unique_ptr<CaFixture> make_ca(hsm::KeyAlgorithm root, hsm::KeyAlgorithm issuing) {
  static int counter = 0;
  auto f = std::make_unique<CaFixture>();
  f->token_label = "test-ca-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  auto src = std::filesystem::path(JITSUIN_SOURCE_DIR) / "config";
  f->config = config::parse_config(read_file(src / "jitsuin.json"), f->home.path(), src);
  f->config.hsm.embedded_softhsm = false;
  f->config.hsm.token = "pkcs11:token=" + f->token_label;
  f->config.hsm.pin_env = "";
  const std::string pin = "user-pin-1234";
  write_file_atomic(f->config.hsm.pin_file, pin + "\n", 0600);
  f->token = new_token(f->token_label, "so-pin-1234", pin);
  f->keys = hsm::open_key_store(f->config);
  f->db = f->open_db();
  ca::CertificateAuthority::init(f->config, *f->db, *f->keys, {"test"}, system_clock(), root, issuing);
  f->ca = std::make_unique<ca::CertificateAuthority>(f->config, *f->db, *f->keys, system_clock());
  return f;
}

std::string openssl_csr(const std::filesystem::path& dir, const std::string& newkey, const std::string& name) {
  auto key = dir / (name + ".key"), csr = dir / (name + ".csr");
  std::string cmd = "openssl req -new -newkey " + newkey + " -nodes -keyout " + sh_quote(key.string()) +
                    " -subj /CN=from-csr -out " + sh_quote(csr.string());
  if (newkey == "ec") cmd = "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                            sh_quote(key.string()) + " -subj /CN=from-csr -out " + sh_quote(csr.string());
  auto r = run(cmd);
  if (r.status != 0) throw std::runtime_error("openssl req failed: " + r.output);
  return read_file(csr);
}

std::int64_t count_rows(db::Database& db, const std::string& table) {
  db::Statement st(db, "SELECT count(*) FROM " + table);
  st.step();
  return st.int64(0);
}

nlohmann::json outbox_mail_params(db::Database& db, std::int64_t id) {
  db::Statement st(db, "SELECT params, sealed, message_id, recipient, template, language FROM outbox WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) throw std::runtime_error("no outbox row " + std::to_string(id));
  auto params = nlohmann::json::parse(st.text(0));
  if (st.is_null(1)) return params;
  Bytes sealed = st.blob(1);
  std::string aad = "jitsuin outbox v1";
  for (int col : {2, 3, 4, 5}) aad += std::string(1, '\0') + st.text(col);
  Bytes key = from_hex(read_secret_file(db.path().parent_path() / "outbox.key"));
  if (key.size() != 32 || sealed.size() < 29 || sealed[0] != 1) throw std::runtime_error("malformed sealed secret");
  std::size_t n = sealed.size() - 29;
  std::string plain(n, '\0');
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), nullptr, key.data(), sealed.data() + 1) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(c, reinterpret_cast<unsigned char*>(plain.data()), &len, sealed.data() + 13,
                              static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, sealed.data() + 13 + n) == 1 &&
            EVP_DecryptFinal_ex(c, reinterpret_cast<unsigned char*>(plain.data()) + len, &len) == 1;
  EVP_CIPHER_CTX_free(c);
  if (!ok) throw std::runtime_error("the sealed secret of outbox row " + std::to_string(id) + " does not open");
  auto secrets = nlohmann::json::parse(plain);
  for (auto& [name, value] : secrets.items()) params[name] = value;
  return params;
}

}  // namespace jitsuin::test
