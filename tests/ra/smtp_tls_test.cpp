// Issue 20 item 8: PINs never cross the network in clear. smtp:// to a relay that is not loopback
// must upgrade with STARTTLS (CURLUSESSL_ALL) and verify the server's certificate; smtps:// is
// TLS from the first byte; mail.allow_plain_smtp lets a local relay without TLS take mail in clear.
// The server is aiosmtpd (tests/ra/smtp_tls_sink.py) on this machine's own non-loopback address,
// with a certificate from a CA made here by openssl; it logs every command and whether it came
// over TLS, so "nothing was sent in clear" is what the server saw, not what the client claims.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/outbox.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPython = "/usr/bin/python3";   // the Debian one, where python3-aiosmtpd lives
const fs::path kTestDir = JITSUIN_RA_TEST_DIR;
constexpr const char* kPin = "K7QF-M2XW-93HD";

/// This machine's first IPv4 address outside 127.0.0.0/8: a relay there is "not loopback" for
/// the outbox although the packets never leave the machine.
std::string own_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) throw std::runtime_error("getifaddrs failed");
  std::string found;
  for (ifaddrs* a = list; a && found.empty(); a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) found = text;
  }
  freeifaddrs(list);
  if (found.empty()) throw std::runtime_error("this machine has no IPv4 address outside 127.0.0.0/8");
  return found;
}

/// A CA and a server certificate for `ip` (subjectAltName IP), made by openssl.
struct Pki {
  fs::path ca, cert, key;
  Pki(const fs::path& dir, const std::string& ip) : ca(dir / "ca.pem"), cert(dir / "server.pem"), key(dir / "server.key") {
    fs::create_directories(dir);
    auto d = sh_quote(dir.string());
    std::string script =
        "set -e; cd " + d +
        "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem"
        " -days 2 -subj '/CN=Mail Test CA' 2>/dev/null"
        "; openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr"
        " -subj '/CN=" + ip + "' 2>/dev/null"
        "; printf 'subjectAltName=IP:" + ip + "\\n' > ext"
        "; openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext"
        " -out server.pem 2>/dev/null";
    auto r = run(script);
    if (r.status != 0) throw std::runtime_error("openssl failed: " + r.output);
  }
};

enum class Tls { none, starttls, implicit };

/// aiosmtpd on `host` offering STARTTLS (required before MAIL), TLS from the first byte, or no
/// TLS at all; stopped at destruction.
class TlsSink {
 public:
  TlsSink(const fs::path& dir, const std::string& host, Tls tls, const Pki* pki = nullptr)
      : store_(dir / "received"), log_(dir / "commands.log"), host_(host) {
    fs::create_directories(dir);
    std::vector<std::string> args{kPython, (kTestDir / "smtp_tls_sink.py").string(), store_.string(), log_.string(), host};
    if (tls != Tls::none) {
      args.push_back(pki->cert.string());
      args.push_back(pki->key.string());
      if (tls == Tls::implicit) args.push_back("implicit");
    }
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(kPython, argv.data());
      _exit(127);
    }
    close(fds[1]);
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&p, 1, 20000) > 0) {
      char buf[64];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    if (line.find('\n') == std::string::npos) {
      stop();
      throw std::runtime_error("the SMTP sink did not start on " + host);
    }
    port_ = std::stoi(line);
  }
  ~TlsSink() { stop(); }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  std::string url(const std::string& scheme = "smtp") const {
    return scheme + "://" + host_ + ":" + std::to_string(port_);
  }
  /// The commands the server received, one "COMMAND tls|clear" a line.
  std::string commands() const { return fs::exists(log_) ? read_file(log_) : ""; }
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(store_ / "new", ec)) out.push_back(read_file(e.path()));
    return out;
  }

 private:
  fs::path store_, log_;
  std::string host_;
  pid_t pid_ = -1;
  int port_ = 0;
};

/// A home with a database, one download-PIN mail queued and a mail section to deliver it with.
struct Outbox {
  TempDir home;
  std::unique_ptr<db::Database> db = db::Database::open(home / "jitsuin.db");
  std::int64_t now = 1'790'000'000;
  std::int64_t id = 0;
  Outbox() {
    db::Transaction tx(*db);
    id = ra::enqueue_mail(*db,
                          {"taro.yamada@example.jp",
                           "download_pin",
                           "ja",
                           {{"name", "山田 太郎"},
                            {"application_number", "A-2026-000123"},
                            {"download_pin", kPin},
                            {"expires_at", 1'790'600'000},
                            {"enrollment_url", "https://ra.example.jp/enroll"}}},
                          now);
    tx.commit();
  }
  ra::DeliveryReport deliver(const json& mail) {
    auto config = config::parse_config(json({{"mail", mail}}).dump(), home.path(), home.path());
    return ra::deliver_outbox(*db, config, [this] { return now; });
  }
  std::string last_error() {
    db::Statement st(*db, "SELECT last_error FROM outbox WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw std::runtime_error("no outbox row");
    return st.text(0);
  }
};

class SmtpTls : public ::testing::Test {
 protected:
  TempDir dir;
  std::string ip = own_address();
  Pki pki{dir / "pki", ip};
};

TEST_F(SmtpTls, RelayWithoutStartTlsIsRefusedAndNothingGoesInClear) {
  TlsSink sink(dir / "plain", ip, Tls::none);
  Outbox o;
  auto r = o.deliver({{"smtp_url", sink.url()}});
  EXPECT_EQ(r.sent, 0);
  EXPECT_EQ(r.deferred, 1);
  EXPECT_TRUE(sink.messages().empty());
  // The server saw the greeting and nothing of the mail: no sender, no recipient, no data.
  auto seen = sink.commands();
  EXPECT_NE(seen.find("EHLO clear"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("MAIL"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("RCPT"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("DATA"), std::string::npos) << seen;
  EXPECT_NE(o.last_error().find("STARTTLS"), std::string::npos) << o.last_error();
  EXPECT_EQ(o.last_error().find(kPin), std::string::npos);
}

TEST_F(SmtpTls, StartTlsOfferedMailGoesOverTls) {
  TlsSink sink(dir / "starttls", ip, Tls::starttls, &pki);
  Outbox o;
  auto r = o.deliver({{"smtp_url", sink.url()}, {"ca_file", pki.ca.string()}});
  EXPECT_EQ(r.sent, 1) << o.last_error();
  auto msgs = sink.messages();
  ASSERT_EQ(msgs.size(), 1u) << sink.commands();
  EXPECT_TRUE(msgs[0].starts_with("X-Sink-TLS: yes")) << msgs[0].substr(0, 200);
  auto seen = sink.commands();
  EXPECT_NE(seen.find("MAIL tls"), std::string::npos) << seen;
  EXPECT_NE(seen.find("DATA tls"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("MAIL clear"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("DATA clear"), std::string::npos) << seen;
}

TEST_F(SmtpTls, StartTlsServerCertificateIsVerified) {
  // The same server, but the outbox trusts only the system store, which does not hold the test CA.
  TlsSink sink(dir / "untrusted", ip, Tls::starttls, &pki);
  Outbox o;
  auto r = o.deliver({{"smtp_url", sink.url()}});
  EXPECT_EQ(r.sent, 0);
  EXPECT_TRUE(sink.messages().empty());
  EXPECT_EQ(sink.commands().find("MAIL"), std::string::npos) << sink.commands();
}

TEST_F(SmtpTls, SmtpsIsTlsFromTheFirstByte) {
  TlsSink sink(dir / "smtps", ip, Tls::implicit, &pki);
  Outbox o;
  auto r = o.deliver({{"smtp_url", sink.url("smtps")}, {"ca_file", pki.ca.string()}});
  EXPECT_EQ(r.sent, 1) << o.last_error();
  auto msgs = sink.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs[0].starts_with("X-Sink-TLS: yes"));
}

TEST_F(SmtpTls, AllowPlainSmtpDeliversToARelayWithoutTls) {
  TlsSink sink(dir / "relay", ip, Tls::none);
  Outbox o;
  auto r = o.deliver({{"smtp_url", sink.url()}, {"allow_plain_smtp", true}});
  EXPECT_EQ(r.sent, 1) << o.last_error();
  auto msgs = sink.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs[0].starts_with("X-Sink-TLS: no"));
}

TEST(SmtpTlsConfig, SettingsValidated) {
  TempDir home;
  auto parse = [&](const json& mail) {
    return config::parse_config(json({{"mail", mail}}).dump(), home.path(), home.path());
  };
  auto c = parse(json::object());
  EXPECT_FALSE(c.mail.allow_plain_smtp);
  EXPECT_TRUE(c.mail.ca_file.empty());
  c = parse({{"smtp_url", "smtp://relay.example.jp:25"}, {"allow_plain_smtp", true}, {"ca_file", "mail-ca.pem"}});
  EXPECT_TRUE(c.mail.allow_plain_smtp);
  EXPECT_EQ(c.mail.ca_file, home.path() / "mail-ca.pem");   // relative to the home
  EXPECT_THROW(parse({{"smtp_url", "smtp://relay.example.jp:25"}, {"allow_plain_smtp", "yes"}}), Error);
  EXPECT_THROW(parse({{"smtp_url", "smtps://mail.example.jp:465"}, {"allow_plain_smtp", true}}), Error);
  EXPECT_THROW(parse({{"allow_plain_smtp", true}}), Error);   // nothing to relay to
  EXPECT_THROW(parse({{"ca_file", ""}}), Error);
}

}  // namespace
}  // namespace jitsuin::test
