// Issue 8: the embedded SoftHSM2 token survives what a crash, a second process or a copied home
// does to its files — the home's token lock, the verified copy of the token's state file, its
// restore (with a warning and an audit entry) and softhsm2.conf's token folder. Driven through
// the built jitsuin binary on real homes; the kill loop and the concurrency run are
// tests/hsm/kill_loop.sh and tests/hsm/concurrent.sh.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "jitsuin/ca/authority.h"
#include "jitsuin/config/config.h"
#include "jitsuin/db/database.h"
#include "jitsuin/hsm/softhsm.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

namespace fs = std::filesystem;

class EmbeddedToken : public ::testing::Test {
 protected:
  fs::path home() const { return dir.path() / "home"; }
  CommandResult jitsuin(const std::string& args, const fs::path& h = {}) {
    return run(jitsuin_cmd(h.empty() ? home() : h) + " " + args);
  }
  std::string p(const fs::path& f) { return sh_quote(f.string()); }
  void init() {
    auto r = jitsuin("ca init --root-key p256 --issuing-key p256");
    ASSERT_EQ(r.status, 0) << r.output;
    login_administrator(home());   // ca issue needs an administrator's session
  }
  // The one token folder of a home (HOME/tokens/<dir>/).
  static fs::path token_dir(const fs::path& h) {
    for (const auto& d : fs::directory_iterator(h / "tokens"))
      if (d.is_directory()) return d.path();
    throw std::runtime_error("no token under " + h.string());
  }
  static std::string sql(const fs::path& h, const std::string& query) {
    auto r = run("sqlite3 " + sh_quote((h / "jitsuin.db").string()) + " " + sh_quote(query));
    if (r.status != 0) throw std::runtime_error("sqlite3: " + r.output);
    while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
    return r.output;
  }
  static int mode_of(const fs::path& f) {
    struct stat st {};
    ::stat(f.c_str(), &st);
    return st.st_mode & 0777;
  }
  // A command that signs (both CRLs), and one that issues.
  CommandResult publish(const fs::path& h = {}) { return jitsuin("crl publish", h); }
  CommandResult issue(const fs::path& h = {}) {
    if (!fs::exists(dir.path() / "ee.csr")) {
      openssl_csr(dir.path(), "ec", "ee");
      write_text(dir.path() / "ee.json", R"({"organization": "Token Test", "common_name": "Token Test TSA"})");
    }
    return jitsuin("ca issue --profile tsa --csr " + p(dir.path() / "ee.csr") + " --subject " + p(dir.path() / "ee.json") +
                       " --out " + p(dir.path() / "ee.pem"),
                   h);
  }
  TempDir dir;
};

TEST_F(EmbeddedToken, CaInitWritesAVerifiedPrivateCopyOfTheStateFile) {
  init();
  auto live = token_dir(home()) / "token.object";
  auto copy = hsm::token_backup_file(home(), token_dir(home()));
  ASSERT_TRUE(fs::exists(copy)) << copy;
  EXPECT_EQ(mode_of(copy), 0600);
  EXPECT_EQ(mode_of(copy.parent_path()), 0700);
  EXPECT_EQ(mode_of(home() / "token-backup"), 0700);
  auto a = hsm::parse_token_state(read_file(live)), b = hsm::parse_token_state(read_file(copy));
  ASSERT_TRUE(a.readable) << a.problem;
  ASSERT_TRUE(b.readable) << b.problem;
  EXPECT_EQ(b.label, "jitsuin-ca");
  EXPECT_EQ(a.identity, b.identity);   // same label, serial and PINs; only flags and counter may differ
  EXPECT_FALSE(fs::exists(copy.parent_path() / "restore.pending"));
}

TEST_F(EmbeddedToken, EmptyStateFileIsRestoredWithAWarningAndOneAuditEntry) {
  init();
  auto live = token_dir(home()) / "token.object";
  ASSERT_EQ(publish().status, 0);
  fs::resize_file(live, 0);   // what a kill -9 between SoftHSM2's truncate and write leaves

  auto r = publish();
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: the embedded token's state file " + live.string() + " was empty; restored it"),
            std::string::npos)
      << r.output;
  EXPECT_GT(fs::file_size(live), 0u);
  EXPECT_EQ(sql(home(), "SELECT count(*) FROM audit_log WHERE action = 'hsm.token.restore'"), "1");
  EXPECT_EQ(sql(home(), "SELECT actor || ' ' || object FROM audit_log WHERE action = 'hsm.token.restore'"),
            "system " + live.string());
  auto details = sql(home(), "SELECT details FROM audit_log WHERE action = 'hsm.token.restore'");
  EXPECT_NE(details.find(R"("reason":"empty")"), std::string::npos) << details;
  EXPECT_NE(details.find(to_hex(sha256(read_file(hsm::token_backup_file(home(), token_dir(home())))))),
            std::string::npos)
      << details;

  // The CA works on: it issues, publishes again, and nothing more is restored or audited.
  r = issue();
  EXPECT_EQ(r.status, 0) << r.output;
  r = publish();
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  EXPECT_EQ(sql(home(), "SELECT count(*) FROM audit_log WHERE action = 'hsm.token.restore'"), "1");
  r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(EmbeddedToken, HalfWrittenStateFileIsRestoredToo) {
  init();
  auto live = token_dir(home()) / "token.object";
  std::string content = read_file(live);
  write_file_atomic(live, content.substr(0, content.size() / 2), 0600);   // a torn write
  auto r = issue();
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("was unreadable (truncated attribute"), std::string::npos) << r.output;
  EXPECT_EQ(sql(home(), "SELECT count(*) FROM audit_log WHERE action = 'hsm.token.restore'"), "1");
  EXPECT_EQ(jitsuin("audit verify").status, 0);
}

TEST_F(EmbeddedToken, AHomeFromBeforeTheCopyGetsOneAtItsFirstSigningCommand) {
  init();
  fs::remove_all(home() / "token-backup");   // as a home created before issue 8
  ASSERT_EQ(publish().status, 0);
  EXPECT_TRUE(fs::exists(hsm::token_backup_file(home(), token_dir(home()))));
}

TEST_F(EmbeddedToken, APinChangedOutsideJitsuinRenewsTheCopy) {
  init();
  auto tdir = token_dir(home());
  auto copy = hsm::token_backup_file(home(), tdir);
  std::string before = hsm::parse_token_state(read_file(copy)).identity;
  // The user PIN changed with an independent tool (OpenSC), and ca.pin with it.
  std::string old_pin = read_secret_file(home() / "ca.pin");
  auto r = run("SOFTHSM2_CONF=" + p(home() / "softhsm2.conf") + " pkcs11-tool --module " +
               p(softhsm_module()) + " --token-label jitsuin-ca --login --pin " + old_pin +
               " --change-pin --new-pin NEW-PIN-23456789");
  ASSERT_EQ(r.status, 0) << r.output;
  write_file_atomic(home() / "ca.pin", "NEW-PIN-23456789\n", 0600);
  r = publish();
  ASSERT_EQ(r.status, 0) << r.output;
  std::string after = hsm::parse_token_state(read_file(copy)).identity;
  EXPECT_NE(before, after);
  EXPECT_EQ(after, hsm::parse_token_state(read_file(tdir / "token.object")).identity);
  // A restore now brings back the new PIN, not the old one.
  fs::resize_file(tdir / "token.object", 0);
  r = issue();
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(EmbeddedToken, TheHomesTokenLockMakesOthersWaitThenFailClearly) {
  init();
  // HOME/jitsuin.json: the default config with a one-second wait for the lock.
  auto src = fs::path(JITSUIN_SOURCE_DIR) / "config";
  std::string conf = read_file(src / "jitsuin.json");
  auto at = conf.find("\"lock_wait_seconds\": 30");
  ASSERT_NE(at, std::string::npos);
  conf.replace(at, std::string("\"lock_wait_seconds\": 30").size(), "\"lock_wait_seconds\": 1");
  at = conf.find("\"profiles_dir\": \"profiles\"");
  ASSERT_NE(at, std::string::npos);
  conf.replace(at, std::string("\"profiles_dir\": \"profiles\"").size(), "\"profiles_dir\": \"" + (src / "profiles").string() + "\"");
  write_text(home() / "jitsuin.json", conf);
  // Another process holds the lock: here this test process, as a running jitsuin would.
  int fd = ::open((home() / "token.lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  std::string token_before = read_file(token_dir(home()) / "token.object");
  auto r = publish();
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("hsm"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the embedded token is busy: another jitsuin process has held " +
                          (home() / "token.lock").string() + " for more than 1 s (hsm.lock_wait_seconds)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(read_file(token_dir(home()) / "token.object"), token_before);   // the token was not opened
  // Commands that sign nothing do not need the lock.
  r = jitsuin("ca show");
  EXPECT_EQ(r.status, 0) << r.output;
  ::close(fd);
  r = publish();
  EXPECT_EQ(r.status, 0) << r.output;
}

// Issue 9: the lock is held per use of the token (opening, lookup, each signature), not for a
// process's life. A process that keeps its CA open and issues in a loop — as jitsuind does — and
// the CLI's signing commands on the same home all get their turns. (Before, the process held
// HOME/token.lock while its CA was open, and every CLI signing command waited
// hsm.lock_wait_seconds and failed with "the embedded token is busy".)
TEST_F(EmbeddedToken, ACaKeptOpenInAProcessLetsCliSigningCommandsThrough) {
  init();
  // HOME/jitsuin.json: the default config with a 10-second wait for the lock (the CLI and the
  // in-process CA below both read it).
  auto src = fs::path(JITSUIN_SOURCE_DIR) / "config";
  std::string conf = read_file(src / "jitsuin.json");
  auto at = conf.find("\"lock_wait_seconds\": 30");
  ASSERT_NE(at, std::string::npos);
  conf.replace(at, std::string("\"lock_wait_seconds\": 30").size(), "\"lock_wait_seconds\": 10");
  at = conf.find("\"profiles_dir\": \"profiles\"");
  ASSERT_NE(at, std::string::npos);
  conf.replace(at, std::string("\"profiles_dir\": \"profiles\"").size(), "\"profiles_dir\": \"" + (src / "profiles").string() + "\"");
  write_text(home() / "jitsuin.json", conf);
  auto config = config::load_config(config::locate_config({}, home()), home());
  ASSERT_EQ(config.hsm.lock_wait_seconds, 10);
  ASSERT_TRUE(config.hsm.embedded_softhsm);

  ca::IssueRequest request;
  request.profile = "tsa";
  request.csr = openssl_csr(dir.path(), "ec", "server");
  request.subject = {{"organization", "Token Test"}, {"common_name", "Token Test Server"}};

  // The "server": this process loads the CA from the home and issues in a loop on a thread,
  // keeping its key store, token session and login for the whole run.
  std::atomic<bool> stop{false}, opened{false};
  std::atomic<long> issued{0}, failed{0};
  std::mutex error_mutex;
  std::string first_error;
  auto note = [&](const std::string& e) {
    ++failed;
    std::lock_guard l(error_mutex);
    if (first_error.empty()) first_error = e;
  };
  std::thread server([&] {
    try {
      auto db = db::Database::open(config.database.path);
      auto keys = hsm::open_key_store(config);
      ca::CertificateAuthority authority(config, *db, *keys, system_clock());
      while (!stop) {
        try {
          authority.issue(request, {"test:server"});
          ++issued;
          opened = true;
        } catch (const std::exception& e) {
          note(e.what());
        }
      }
    } catch (const std::exception& e) {
      note(std::string("opening the CA: ") + e.what());
    }
    opened = true;
  });
  // The CLI starts once the server has signed (it has its token session and login open).
  while (!opened) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  long before = issued;
  int cli_ok = 0;
  for (int i = 0; i < 4 && failed == 0; ++i) {
    auto r = publish();
    EXPECT_EQ(r.status, 0) << r.output;
    cli_ok += r.status == 0;
    r = issue();
    EXPECT_EQ(r.status, 0) << r.output;
    cli_ok += r.status == 0;
  }
  long during = issued - before;
  stop = true;
  server.join();
  EXPECT_EQ(failed, 0) << first_error;
  EXPECT_EQ(cli_ok, 8);
  EXPECT_GT(during, 0);   // the server kept issuing while the CLI signed
  std::cout << "   in-process issuances while the CLI ran 4 crl publish + 4 ca issue: " << during
            << " (total " << issued << ", failures " << failed << ")\n";
  // Everything is recorded: the server's and the CLI's certificates, and one intact audit chain.
  EXPECT_EQ(sql(home(), "SELECT count(*) FROM certificates WHERE profile = 'tsa'"),
            std::to_string(issued + 4));
  auto r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 0) << r.output;
  // The token's state file is intact after all of it.
  EXPECT_TRUE(hsm::parse_token_state(read_file(token_dir(home()) / "token.object")).readable);
}

TEST_F(EmbeddedToken, ACopiedHomeUsesItsOwnTokenNeverTheOriginals) {
  init();
  auto copy = dir.path() / "copy";
  ASSERT_EQ(run("cp -a " + p(home()) + " " + p(copy)).status, 0);
  auto original_state = token_dir(home()) / "token.object";
  std::string original_before = read_file(original_state);

  auto r = publish(copy);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: " + (copy / "softhsm2.conf").string() + " named the token folder " +
                          (home() / "tokens").string() + ", not this home's"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("it now names " + (copy / "tokens").string()), std::string::npos) << r.output;
  // The copy logged in to its own token: the original's state file is untouched (a login
  // rewrites it), the copy's conf names the copy's folder, and the next command says nothing.
  EXPECT_EQ(read_file(original_state), original_before);
  EXPECT_NE(read_file(copy / "softhsm2.conf").find("directories.tokendir = " + (copy / "tokens").string() + "\n"),
            std::string::npos);
  r = issue(copy);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(original_state), original_before);

  // A copy without the token folder is refused, and its conf is left alone.
  auto bare = dir.path() / "bare";
  fs::create_directories(bare);
  for (const char* f : {"jitsuin.db", "softhsm2.conf", "ca.pin", "ca.so-pin"}) fs::copy(home() / f, bare / f);
  std::string conf_before = read_file(bare / "softhsm2.conf");
  r = publish(bare);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("names the token folder " + (home() / "tokens").string() + ", not this home's " +
                          (bare / "tokens").string()),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("this home has no token of its own there"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(bare / "softhsm2.conf"), conf_before);
  EXPECT_EQ(read_file(original_state), original_before);
}

TEST(TokenStateFile, ParsesSoftHsmFilesAndNamesWhatIsWrong) {
  EXPECT_EQ(hsm::parse_token_state("").problem, "empty");
  EXPECT_EQ(hsm::parse_token_state("\x01\x02").problem, "truncated generation counter");
  std::string gen(8, '\0');
  EXPECT_EQ(hsm::parse_token_state(gen).problem, "no label");
  auto number = [](std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
    return s;
  };
  const std::uint64_t base = 0x80000000ULL + 0x5348ULL;
  auto bytes = [&](std::uint64_t type, const std::string& v) { return number(type) + number(3) + number(v.size()) + v; };
  std::string ok = gen + bytes(base + 1, "my-token" + std::string(24, ' ')) + bytes(base + 2, "0123456789abcdef") +
                   number(base + 3) + number(2) + number(0x40d) + bytes(base + 4, "so-blob") + bytes(base + 5, "user-blob");
  auto s = hsm::parse_token_state(ok);
  ASSERT_TRUE(s.readable) << s.problem;
  EXPECT_EQ(s.label, "my-token");
  EXPECT_NE(hsm::parse_token_state(ok.substr(0, ok.size() - 3)).problem.find("truncated attribute at byte"),
            std::string::npos);
  EXPECT_EQ(hsm::parse_token_state(ok + number(base + 9) + number(77)).problem.find("unknown attribute kind 77"), 0u);
  // Flags and the generation counter are not part of the identity; PINs are.
  std::string other_flags = number(5) + ok.substr(8);
  other_flags.replace(other_flags.find(number(0x40d)), 8, number(0x40f));
  EXPECT_EQ(hsm::parse_token_state(other_flags).identity, s.identity);
  std::string other_pin = ok;
  other_pin.replace(other_pin.find("user-blob"), 9, "user-blop");
  EXPECT_NE(hsm::parse_token_state(other_pin).identity, s.identity);
}

}  // namespace
}  // namespace jitsuin::test
