// RA-10 outbox: queueing in the caller's transaction, delivery to a real SMTP server (aiosmtpd on
// loopback) and to a maildir, crash windows, backoff, secrets blanked, the CLI. Messages are
// decoded by Python's email package, an independent MIME parser.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/outbox.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPython = "/usr/bin/python3";   // the Debian one, where python3-aiosmtpd lives
const fs::path kTestDir = JITSUIN_RA_TEST_DIR;

/// aiosmtpd on 127.0.0.1, storing accepted messages in a maildir; stopped at destruction.
class SmtpSink {
 public:
  explicit SmtpSink(fs::path store, int port = 0) : store_(std::move(store)) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::string script = (kTestDir / "smtp_sink.py").string(), port_arg = std::to_string(port);
      execl(kPython, kPython, script.c_str(), store_.c_str(), port_arg.c_str(), static_cast<char*>(nullptr));
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
      throw std::runtime_error("the SMTP sink did not start (is python3-aiosmtpd installed?)");
    }
    port_ = std::stoi(line);
  }
  ~SmtpSink() { stop(); }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  /// Messages received so far, sorted by file name.
  std::vector<fs::path> messages() const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(store_ / "new", ec)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path store_;
  pid_t pid_ = -1;
  int port_ = 0;
};

/// A loopback port bound but not listening: connections are refused (the SMTP server is down),
/// and no other process can take the port while it is held, so parallel tests cannot collide.
class DownPort {
 public:
  DownPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot bind a loopback port");
    port_ = ntohs(a.sin_port);
  }
  ~DownPort() { release(); }
  /// Frees the port for a server to start on it.
  void release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

json decode(const fs::path& file) {
  auto r = run(std::string(kPython) + " " + sh_quote((kTestDir / "decode_mail.py").string()) + " " +
               sh_quote(file.string()));
  if (r.status != 0) throw std::runtime_error("decode_mail.py failed: " + r.output);
  return json::parse(r.output);
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

config::Config mail_config(const fs::path& home, const json& mail) {
  json root = {{"mail", mail}};
  return config::parse_config(root.dump(), home, home);
}

/// A home with a database and an injected clock.
struct Notify {
  TempDir home;
  config::Config config;
  std::unique_ptr<db::Database> db;
  UnixTime now = 1'790'000'000;   // 2026-09-21
  Clock clock() {
    return [this] { return now; };
  }
  explicit Notify(const json& mail = json::object()) {
    config = mail_config(home.path(), mail);
    db = db::Database::open(home / "jitsuin.db");
  }
  void reconfigure(const json& mail) { config = mail_config(home.path(), mail); }
  std::int64_t queue(const ra::Mail& m) {
    db::Transaction tx(*db);
    auto id = ra::enqueue_mail(*db, m, now);
    tx.commit();
    return id;
  }
  ra::DeliveryReport deliver() { return ra::deliver_outbox(*db, config, clock()); }
  fs::path maildir() const { return config.mail.maildir; }
  ra::OutboxEntry entry(std::int64_t id) {
    for (auto& e : ra::list_outbox(*db, config))
      if (e.id == id) return e;
    throw std::runtime_error("no outbox row " + std::to_string(id));
  }
  std::string stored_params(std::int64_t id) {
    db::Statement st(*db, "SELECT params FROM outbox WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw std::runtime_error("no row");
    return st.text(0);
  }
};

ra::Mail download_pin_mail(const std::string& to = "taro.yamada@example.jp", const std::string& pin = "K7QF-M2XW-93HD") {
  return {to,
          "download_pin",
          "ja",
          {{"name", "山田 太郎"},
           {"application_number", "A-2026-000123"},
           {"download_pin", pin},
           {"expires_at", 1'790'600'000},
           {"enrollment_url", "https://ra.example.jp/enroll"}}};
}

ra::Mail received_mail(const std::string& lang = "ja") {
  return {"hanako@example.jp", "application_received", lang,
          {{"name", "佐藤 花子"}, {"application_number", "A-2026-000124"}, {"received_at", 1'790'000'000}}};
}

void expect_count(const ra::DeliveryReport& r, int sent, int deferred, int failed) {
  EXPECT_EQ(r.sent, sent);
  EXPECT_EQ(r.deferred, deferred);
  EXPECT_EQ(r.failed, failed);
}

// ---- Queueing ----------------------------------------------------------------------------

TEST(Outbox, RefusesToQueueOutsideATransaction) {
  Notify n;
  try {
    ra::enqueue_mail(*n.db, received_mail(), n.now);
    FAIL() << "queued without a transaction";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
  }
  EXPECT_EQ(count_rows(*n.db, "outbox"), 0);
}

TEST(Outbox, UnknownTemplateRefusedAndNothingQueued) {
  Notify n;
  db::Transaction tx(*n.db);
  auto m = received_mail();
  m.template_name = "application_recieved";
  try {
    ra::enqueue_mail(*n.db, m, n.now);
    FAIL() << "unknown template accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("application_recieved"), std::string::npos);
  }
  tx.commit();
  EXPECT_EQ(count_rows(*n.db, "outbox"), 0);
}

TEST(Outbox, BadAddressRefusedAndNothingQueued) {
  Notify n;
  for (std::string to : {"", "taro", "taro@", "@example.jp", "a@b@example.jp", "taro yamada@example.jp",
                         "taro@example.jp\r\nBcc: evil@example.com", "<taro@example.jp>", "taro@exa mple.jp",
                         "taro@-example.jp", "taro@example..jp", "山田@example.jp", "a,b@example.jp"}) {
    db::Transaction tx(*n.db);
    auto m = received_mail();
    m.to = to;
    try {
      ra::enqueue_mail(*n.db, m, n.now);
      ADD_FAILURE() << "accepted address '" << to << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << to;
    }
    tx.commit();
  }
  EXPECT_EQ(count_rows(*n.db, "outbox"), 0);
}

TEST(Outbox, ParamsCheckedAgainstTheTemplate) {
  Notify n;
  auto refused = [&](ra::Mail m, const std::string& why) {
    db::Transaction tx(*n.db);
    EXPECT_THROW(ra::enqueue_mail(*n.db, m, n.now), Error) << why;
  };
  // pin_issued announces the letter; it has no place for the application PIN.
  refused({"t@example.jp", "pin_issued", "ja",
           {{"name", "山田 太郎"}, {"application_number", "A-1"}, {"application_pin", "SECRET123"}}},
          "a PIN in pin_issued");
  refused({"t@example.jp", "download_pin", "ja", {{"name", "山田 太郎"}, {"application_number", "A-1"}}},
          "download_pin without the PIN");
  refused({"t@example.jp", "application_received", "fr", {{"name", "x"}, {"application_number", "A-1"}}},
          "unknown language");
  refused({"t@example.jp", "application_received", "ja", {{"name", "x\r\nBcc: y"}, {"application_number", "A-1"}}},
          "control characters");
  refused({"t@example.jp", "link_changed", "ja",
           {{"name", "x"}, {"user_id", "u1"}, {"serial", "01"}, {"change", "swap"}}},
          "unknown link change");
  refused({"t@example.jp", "application_received", "ja", json::array({"x"})}, "params not an object");
  EXPECT_EQ(count_rows(*n.db, "outbox"), 0);
}

TEST(Outbox, RolledBackEventQueuesNothing) {
  Notify n;
  {
    db::Transaction tx(*n.db);
    ra::enqueue_mail(*n.db, received_mail(), n.now);
    // no commit: the event did not happen, so neither does its mail
  }
  EXPECT_EQ(count_rows(*n.db, "outbox"), 0);
  expect_count(n.deliver(), 0, 0, 0);
  EXPECT_TRUE(files_in(n.maildir() / "new").empty());
}

// ---- SMTP --------------------------------------------------------------------------------

TEST(OutboxSmtp, JapaneseMailArrivesDecodedCorrectly) {
  Notify n;
  SmtpSink sink(n.home / "received");
  n.reconfigure({{"from", "jitsuin 認証局 <ca@jitsuin.example.jp>"}, {"smtp_url", sink.url()}});
  auto id = n.queue(download_pin_mail());
  auto id2 = n.queue(received_mail("en"));
  expect_count(n.deliver(), 2, 0, 0);
  auto msgs = sink.messages();
  ASSERT_EQ(msgs.size(), 2u);
  std::map<std::string, json> by_to;
  for (const auto& m : msgs) {
    json j = decode(m);
    by_to[j["to"].get<std::string>()] = j;
  }
  json ja = by_to.at("taro.yamada@example.jp");
  EXPECT_EQ(ja["subject"], "【jitsuin】ダウンロードPINのお知らせ（申請番号 A-2026-000123）");
  EXPECT_EQ(ja["from"], "jitsuin 認証局 <ca@jitsuin.example.jp>");
  EXPECT_EQ(ja["mail_from"], "ca@jitsuin.example.jp");
  EXPECT_EQ(ja["rcpt_to"], "taro.yamada@example.jp");
  EXPECT_EQ(ja["content_type"], "text/plain");
  EXPECT_EQ(ja["charset"], "utf-8");
  EXPECT_EQ(ja["transfer_encoding"], "base64");
  EXPECT_EQ(ja["date_epoch"], n.now);
  EXPECT_TRUE(ja["defects"].empty()) << ja["defects"].dump();
  EXPECT_LE(ja["max_line"].get<int>(), 78 + 1);   // +1: the CR of CRLF
  std::string body = ja["body"];
  EXPECT_NE(body.find("山田 太郎 様"), std::string::npos) << body;
  EXPECT_NE(body.find("ダウンロードPIN: K7QF-M2XW-93HD"), std::string::npos) << body;
  EXPECT_NE(body.find("有効期限: 2026年9月28日"), std::string::npos) << body;   // 1790600000 in JST
  EXPECT_NE(body.find("https://ra.example.jp/enroll"), std::string::npos);
  auto e = n.entry(id);
  EXPECT_EQ(ja["message_id"], e.message_id);
  EXPECT_TRUE(e.message_id.ends_with("@jitsuin.example.jp>")) << e.message_id;
  EXPECT_EQ(e.state, "sent");
  EXPECT_EQ(e.sent_at, n.now);
  EXPECT_EQ(e.attempts, 1);

  json en = by_to.at("hanako@example.jp");
  EXPECT_EQ(en["subject"], "[jitsuin] Certificate application received (application A-2026-000124)");
  EXPECT_NE(en["body"].get<std::string>().find("Dear 佐藤 花子,"), std::string::npos);
  EXPECT_NE(en["message_id"], ja["message_id"]);
  EXPECT_EQ(n.entry(id2).state, "sent");

  // Sent: the download PIN is no longer stored; nothing is sent again.
  EXPECT_EQ(n.stored_params(id).find("K7QF-M2XW-93HD"), std::string::npos) << n.stored_params(id);
  EXPECT_EQ(json::parse(n.stored_params(id))["download_pin"], "");
  EXPECT_NE(n.stored_params(id2).find("A-2026-000124"), std::string::npos);   // non-secrets kept
  n.now += 100000;
  expect_count(n.deliver(), 0, 0, 0);
  EXPECT_EQ(sink.messages().size(), 2u);
}

TEST(OutboxSmtp, StaleSendingRowIsResentWithTheSameMessageId) {
  Notify n;
  SmtpSink sink(n.home / "received");
  n.reconfigure({{"smtp_url", sink.url()}});
  auto id = n.queue(received_mail());
  expect_count(n.deliver(), 1, 0, 0);
  // The crash: the server accepted the message, the 'sent' mark never reached the database.
  {
    db::Statement st(*n.db, "UPDATE outbox SET state = 'sending', claimed_at = ?, sent_at = NULL WHERE id = ?");
    st.bind(1, n.now).bind(2, id).exec();
  }
  // Within the lease the claim still holds: no second delivery.
  n.now += ra::kClaimLeaseSeconds - 1;
  expect_count(n.deliver(), 0, 0, 0);
  EXPECT_EQ(n.entry(id).state, "sending");
  n.now += 2;
  expect_count(n.deliver(), 1, 0, 0);
  auto msgs = sink.messages();
  ASSERT_EQ(msgs.size(), 2u);
  json first = decode(msgs[0]), second = decode(msgs[1]);
  EXPECT_EQ(first["message_id"], second["message_id"]);
  EXPECT_EQ(first["message_id"], n.entry(id).message_id);
  EXPECT_EQ(first["date_epoch"], second["date_epoch"]);
  EXPECT_EQ(first["body"], second["body"]);
  EXPECT_EQ(n.entry(id).state, "sent");
  EXPECT_EQ(n.entry(id).attempts, 2);
}

TEST(OutboxSmtp, ServerDownDefersWithBackoffThenDelivers) {
  Notify n;
  DownPort down;
  n.reconfigure({{"smtp_url", down.url()}, {"retry_base_seconds", 60},
                 {"max_attempts", 5}});
  UnixTime t0 = n.now;
  auto id = n.queue(download_pin_mail());
  expect_count(n.deliver(), 0, 1, 0);
  auto e = n.entry(id);
  EXPECT_EQ(e.state, "pending");
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.next_attempt_at, t0 + 60);
  ASSERT_TRUE(e.last_error.has_value());
  EXPECT_NE(e.last_error->find("SMTP"), std::string::npos) << *e.last_error;
  EXPECT_EQ(n.stored_params(id).find("K7QF-M2XW-93HD"), std::string::npos);   // never in clear
  EXPECT_EQ(outbox_mail_params(*n.db, id)["download_pin"], "K7QF-M2XW-93HD");   // still there, sealed

  n.now = t0 + 59;
  expect_count(n.deliver(), 0, 0, 0);   // not due yet
  n.now = t0 + 60;
  expect_count(n.deliver(), 0, 1, 0);
  EXPECT_EQ(n.entry(id).next_attempt_at, t0 + 60 + 120);
  n.now = t0 + 180;
  expect_count(n.deliver(), 0, 1, 0);
  EXPECT_EQ(n.entry(id).next_attempt_at, t0 + 180 + 240);

  down.release();
  SmtpSink sink(n.home / "received", down.port());   // the server comes back on the same port
  n.now = t0 + 419;
  expect_count(n.deliver(), 0, 0, 0);
  n.now = t0 + 420;
  expect_count(n.deliver(), 1, 0, 0);
  ASSERT_EQ(sink.messages().size(), 1u);
  EXPECT_NE(decode(sink.messages()[0])["body"].get<std::string>().find("K7QF-M2XW-93HD"), std::string::npos);
  e = n.entry(id);
  EXPECT_EQ(e.state, "sent");
  EXPECT_EQ(e.attempts, 4);
  EXPECT_FALSE(e.last_error.has_value());
  EXPECT_EQ(n.stored_params(id).find("K7QF-M2XW-93HD"), std::string::npos);
}

TEST(OutboxSmtp, GivesUpAfterMaxAttemptsAndBlanksTheSecret) {
  Notify n;
  DownPort down;
  n.reconfigure({{"smtp_url", down.url()}, {"retry_base_seconds", 10},
                 {"max_attempts", 2}});
  auto id = n.queue(download_pin_mail());
  expect_count(n.deliver(), 0, 1, 0);
  n.now += 10;
  expect_count(n.deliver(), 0, 0, 1);
  auto e = n.entry(id);
  EXPECT_EQ(e.state, "failed");
  EXPECT_EQ(e.attempts, 2);
  EXPECT_TRUE(e.last_error.has_value());
  EXPECT_EQ(n.stored_params(id).find("K7QF-M2XW-93HD"), std::string::npos);
  n.now += 100000;
  expect_count(n.deliver(), 0, 0, 0);   // failed rows stay failed
  auto failed = ra::list_outbox(*n.db, n.config, std::string("failed"));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, id);
  EXPECT_TRUE(ra::list_outbox(*n.db, n.config, std::string("pending")).empty());
  EXPECT_THROW(ra::list_outbox(*n.db, n.config, std::string("lost")), Error);
}

// ---- Secrets at rest (issue 8) ------------------------------------------------------------

/// Whether the bytes of a file (absent: none) contain text.
bool file_contains(const fs::path& file, const std::string& text) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return false;
  return read_file(file).find(text) != std::string::npos;
}

ra::Mail user_id_mail(const std::string& password) {
  return {"hanako@example.jp", "user_id", "ja",
          {{"name", "佐藤 花子"}, {"user_id", "U-4711"}, {"password", password}, {"company_id", "C-0815"}}};
}

TEST(OutboxSecrets, SealedAtRestDeliveredBySmtpAndGoneAfterwards) {
  Notify n;
  SmtpSink sink(n.home / "received");
  n.reconfigure({{"smtp_url", sink.url()}});
  const std::string password = "Initial-Pw-7Qx9Zt", pin = "ZQ7R-W4KP-M8TX";
  auto id = n.queue(user_id_mail(password));
  auto id2 = n.queue(download_pin_mail("taro.yamada@example.jp", pin));
  // Neither the database file nor its write-ahead log holds a secret; the key is a private file
  // beside the database, which the database does not hold.
  const fs::path db = n.home / "jitsuin.db", wal = n.home / "jitsuin.db-wal", key = n.home / "outbox.key";
  for (const auto& f : {db, wal}) {
    EXPECT_FALSE(file_contains(f, password)) << f;
    EXPECT_FALSE(file_contains(f, pin)) << f;
  }
  struct stat st {};
  ASSERT_EQ(stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string key_text = read_file(key).substr(0, 64);
  EXPECT_FALSE(file_contains(db, key_text));
  EXPECT_FALSE(file_contains(wal, key_text));

  expect_count(n.deliver(), 2, 0, 0);
  std::map<std::string, std::string> body_to;
  for (const auto& m : sink.messages()) {
    json j = decode(m);
    body_to[j["to"].get<std::string>()] = j["body"].get<std::string>();
  }
  EXPECT_NE(body_to["hanako@example.jp"].find(password), std::string::npos) << body_to["hanako@example.jp"];
  EXPECT_NE(body_to["taro.yamada@example.jp"].find(pin), std::string::npos);
  // Delivered: nothing secret is left in the rows, sealed or not.
  for (auto row : {id, id2}) {
    db::Statement sel(*n.db, "SELECT sealed IS NULL FROM outbox WHERE id = ?");
    sel.bind(1, row);
    ASSERT_TRUE(sel.step());
    EXPECT_EQ(sel.int64(0), 1) << "row " << row;
  }
  EXPECT_EQ(outbox_mail_params(*n.db, id)["password"], "");
  for (const auto& f : {db, wal}) EXPECT_FALSE(file_contains(f, password)) << f;
}

TEST(OutboxSecrets, GivenUpMailKeepsNoSealedSecret) {
  Notify n;
  DownPort down;
  n.reconfigure({{"smtp_url", down.url()}, {"max_attempts", 1}});
  auto id = n.queue(user_id_mail("Initial-Pw-7Qx9Zt"));
  expect_count(n.deliver(), 0, 0, 1);
  db::Statement sel(*n.db, "SELECT sealed IS NULL FROM outbox WHERE id = ?");
  sel.bind(1, id);
  ASSERT_TRUE(sel.step());
  EXPECT_EQ(sel.int64(0), 1);
}

TEST(OutboxSecrets, MissingKeyIsAClearErrorAndNothingIsSent) {
  Notify n;
  SmtpSink sink(n.home / "received");
  n.reconfigure({{"smtp_url", sink.url()}});
  auto id = n.queue(user_id_mail("Initial-Pw-7Qx9Zt"));
  n.queue(received_mail());
  ASSERT_TRUE(fs::remove(n.home / "outbox.key"));
  auto e = expect_error([&] { n.deliver(); }, ErrorKind::config);
  EXPECT_NE(e.find((n.home / "outbox.key").string()), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
  EXPECT_TRUE(sink.messages().empty());
  EXPECT_EQ(n.entry(id).state, "pending");   // nothing claimed, nothing counted
  EXPECT_EQ(n.entry(id).attempts, 0);
}

TEST(OutboxSecrets, WrongKeySendsNoGarbageAndTheRightKeyStillWorks) {
  Notify n;
  SmtpSink sink(n.home / "received");
  n.reconfigure({{"smtp_url", sink.url()}, {"retry_base_seconds", 10}});
  const fs::path key = n.home / "outbox.key";
  auto id = n.queue(user_id_mail("Initial-Pw-7Qx9Zt"));
  const std::string right = read_file(key);
  write_file_atomic(key, to_hex(random_bytes(32)) + "\n", 0600);
  expect_count(n.deliver(), 0, 1, 0);
  EXPECT_TRUE(sink.messages().empty());
  auto e = n.entry(id);
  ASSERT_TRUE(e.last_error.has_value());
  EXPECT_NE(e.last_error->find("does not open"), std::string::npos) << *e.last_error;
  EXPECT_NE(e.last_error->find(key.string()), std::string::npos) << *e.last_error;
  // A key that is not a key, or readable by others, is refused by name.
  write_file_atomic(key, "not a key\n", 0600);
  n.now += 10;
  EXPECT_NE(expect_error([&] { n.deliver(); }, ErrorKind::config).find("is not a key"), std::string::npos);
  write_file_atomic(key, right, 0644);
  EXPECT_NE(expect_error([&] { n.deliver(); }, ErrorKind::config).find("readable by group or others"),
            std::string::npos);
  EXPECT_EQ(n.entry(id).attempts, 1);   // neither run claimed the mail
  // The right key restored: the mail goes out with its password.
  write_file_atomic(key, right, 0600);
  n.now += 1000;
  expect_count(n.deliver(), 1, 0, 0);
  ASSERT_EQ(sink.messages().size(), 1u);
  EXPECT_NE(decode(sink.messages()[0])["body"].get<std::string>().find("Initial-Pw-7Qx9Zt"), std::string::npos);
}

TEST(OutboxSecrets, SealedSecretOpensForItsOwnRowOnly) {
  Notify n;
  SmtpSink sink(n.home / "received");
  n.reconfigure({{"smtp_url", sink.url()}});
  auto a = n.queue(user_id_mail("Password-Of-Hanako"));
  auto b = n.queue(download_pin_mail());
  // Someone with write access to the database moves Hanako's sealed password onto Taro's mail.
  {
    db::Transaction tx(*n.db);
    db::Statement up(*n.db, "UPDATE outbox SET sealed = (SELECT sealed FROM outbox WHERE id = ?1), "
                            "template = 'user_id', params = (SELECT params FROM outbox WHERE id = ?1) WHERE id = ?2");
    up.bind(1, a).bind(2, b);
    up.exec();
    tx.commit();
  }
  expect_count(n.deliver(), 1, 1, 0);
  ASSERT_EQ(sink.messages().size(), 1u);
  EXPECT_EQ(decode(sink.messages()[0])["to"], "hanako@example.jp");
  EXPECT_NE(n.entry(b).last_error->find("does not open"), std::string::npos);
}

// ---- Maildir -----------------------------------------------------------------------------

TEST(OutboxMaildir, WritesOneFilePerMailIntoNew) {
  Notify n;
  auto id = n.queue(download_pin_mail());
  expect_count(n.deliver(), 1, 0, 0);
  auto files = files_in(n.maildir() / "new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files_in(n.maildir() / "tmp").empty());
  EXPECT_TRUE(fs::exists(n.maildir() / "cur"));
  EXPECT_EQ(n.maildir(), n.home / "maildir");   // default: under home
  struct stat st {};
  ASSERT_EQ(stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);   // it holds a PIN
  json j = decode(files[0]);
  EXPECT_EQ(j["subject"], "【jitsuin】ダウンロードPINのお知らせ（申請番号 A-2026-000123）");
  EXPECT_EQ(j["message_id"], n.entry(id).message_id);
  EXPECT_EQ(j["from_addr"], "noreply@localhost");
  EXPECT_NE(j["body"].get<std::string>().find("K7QF-M2XW-93HD"), std::string::npos);
  EXPECT_EQ(n.entry(id).state, "sent");
}

TEST(OutboxMaildir, CrashAfterCommitBeforeDeliveryLosesNothing) {
  Notify n;
  {
    db::Transaction tx(*n.db);
    ra::enqueue_mail(*n.db, download_pin_mail(), n.now);
    tx.commit();
  }
  n.db.reset();   // the process dies here: nothing delivered
  EXPECT_TRUE(files_in(n.maildir() / "new").empty());
  n.db = db::Database::open(n.home / "jitsuin.db");
  n.now += 5;
  expect_count(n.deliver(), 1, 0, 0);
  EXPECT_EQ(files_in(n.maildir() / "new").size(), 1u);
  expect_count(n.deliver(), 0, 0, 0);
  EXPECT_EQ(files_in(n.maildir() / "new").size(), 1u);
}

TEST(OutboxMaildir, StaleSendingRowDeliveredExactlyOnce) {
  Notify n;
  auto id = n.queue(received_mail());
  auto id2 = n.queue(received_mail("en"));
  expect_count(n.deliver(), 2, 0, 0);
  auto before = files_in(n.maildir() / "new");
  ASSERT_EQ(before.size(), 2u);
  // Crash after the file was written, before 'sent' was recorded; meanwhile a mail reader has
  // moved the second message to cur/ and flagged it seen.
  fs::rename(before[1], n.maildir() / "cur" / (before[1].filename().string() + ":2,S"));
  {
    db::Statement st(*n.db, "UPDATE outbox SET state = 'sending', claimed_at = ?, sent_at = NULL");
    st.bind(1, n.now).exec();
  }
  n.now += ra::kClaimLeaseSeconds;
  expect_count(n.deliver(), 2, 0, 0);
  EXPECT_EQ(files_in(n.maildir() / "new").size(), 1u);
  EXPECT_EQ(files_in(n.maildir() / "cur").size(), 1u);
  EXPECT_TRUE(files_in(n.maildir() / "tmp").empty());
  EXPECT_EQ(n.entry(id).state, "sent");
  EXPECT_EQ(n.entry(id2).state, "sent");
}

TEST(OutboxMaildir, ConcurrentRunsDeliverEachMailOnce) {
  Notify n;
  for (int i = 0; i < 20; ++i) n.queue(received_mail(i % 2 ? "en" : "ja"));
  auto db2 = db::Database::open(n.home / "jitsuin.db");
  ra::DeliveryReport r1, r2;
  std::thread other([&] { r2 = ra::deliver_outbox(*db2, n.config, n.clock()); });
  r1 = n.deliver();
  other.join();
  EXPECT_EQ(r1.sent + r2.sent, 20);
  EXPECT_EQ(r1.deferred + r2.deferred + r1.failed + r2.failed, 0);
  EXPECT_EQ(files_in(n.maildir() / "new").size(), 20u);
}

TEST(OutboxMaildir, EveryTemplateRendersInBothLanguages) {
  Notify n;
  const std::vector<std::pair<std::string, json>> cases = {
      {"application_received", {{"name", "山田 太郎"}, {"application_number", "A-9"}}},
      {"pin_issued", {{"name", "山田 太郎"}, {"application_number", "A-9"}, {"pin_expires_at", 1'792'000'000}}},
      {"download_pin", {{"name", "山田 太郎"}, {"application_number", "A-9"}, {"download_pin", "DLPIN-4242"}}},
      {"user_id",
       {{"name", "山田 太郎"}, {"user_id", "yamada01"}, {"company_id", "C0042"}, {"password", "Init-Pass-77"}}},
      {"user_id_contact",
       {{"name", "山田 太郎"}, {"user_name", "利用 一郎"}, {"user_id", "yamada01"}, {"company_id", "C0042"},
        {"password", "Init-Pass-77"}}},
      {"expiry_notice",
       {{"name", "山田 太郎"}, {"serial", "7f01"}, {"not_after", 1'795'000'000}, {"days_left", 30}}},
      {"certificate_issued", {{"name", "山田 太郎"}, {"serial", "7f01"}, {"not_after", 1'795'000'000}}},
      {"link_changed", {{"name", "山田 太郎"}, {"user_id", "yamada01"}, {"serial", "7f01"}, {"change", "unlink"}}},
      {"revocation",
       {{"name", "山田 太郎"}, {"serial", "7f01"}, {"effective_at", 1'790'200'000}, {"reason", "affiliationChanged"}}},
  };
  std::map<std::string, std::pair<std::string, std::string>> expected;   // message id -> template, language
  for (const auto& [name, params] : cases)
    for (std::string lang : {"ja", "en"}) {
      auto id = n.queue({"t@example.jp", name, lang, params});
      expected[n.entry(id).message_id] = {name, lang};
    }
  expect_count(n.deliver(), 18, 0, 0);
  std::set<std::string> subjects;
  for (const auto& f : files_in(n.maildir() / "new")) {
    json j = decode(f);
    auto [name, lang] = expected.at(j["message_id"].get<std::string>());
    std::string body = j["body"], subject = j["subject"];
    SCOPED_TRACE(name + "/" + lang);
    EXPECT_TRUE(j["defects"].empty());
    EXPECT_TRUE(subjects.insert(subject).second) << "subject repeated: " << subject;
    EXPECT_NE(body.find(lang == "ja" ? "山田 太郎 様" : "Dear 山田 太郎,"), std::string::npos) << body;
    EXPECT_EQ(body.find('{'), std::string::npos) << "unfilled placeholder: " << body;
    EXPECT_EQ(subject.find('{'), std::string::npos) << subject;
    if (lang == "ja") {
      EXPECT_NE(subject.find("【jitsuin】"), std::string::npos);
    }
    if (name == "pin_issued") {
      EXPECT_NE(body.find(lang == "ja" ? "本人限定受取郵便" : "restricted delivery"), std::string::npos);
      EXPECT_NE(body.find(lang == "ja" ? "申請PINはこのメールには記載していません" : "not in this mail"),
                std::string::npos);
    }
    if (name == "download_pin") {
      EXPECT_NE(body.find("DLPIN-4242"), std::string::npos);
    }
    if (name == "user_id") {
      EXPECT_NE(body.find("yamada01"), std::string::npos);
      EXPECT_NE(body.find("C0042"), std::string::npos);
      EXPECT_NE(body.find("Init-Pass-77"), std::string::npos);
    }
    if (name == "user_id_contact") {
      EXPECT_NE(body.find("利用 一郎"), std::string::npos);
      EXPECT_NE(subject.find("利用 一郎"), std::string::npos);
      EXPECT_NE(body.find("yamada01"), std::string::npos);
      EXPECT_NE(body.find("Init-Pass-77"), std::string::npos);
    }
    if (name == "link_changed") {
      EXPECT_NE(body.find(lang == "ja" ? "紐付けを解除しました" : "unlinked"), std::string::npos);
    }
    if (name == "expiry_notice") {
      EXPECT_NE(body.find(lang == "ja" ? "残り日数: 30日" : "Days left: 30"), std::string::npos);
    }
    // Optional params left out drop their line instead of printing an empty value.
    if (name == "application_received") {
      EXPECT_EQ(body.find(lang == "ja" ? "受付日時" : "Received:"), std::string::npos);
    }
  }
  // Both secret-carrying templates were blanked after sending.
  db::Statement st(*n.db, "SELECT params FROM outbox");
  while (st.step()) {
    EXPECT_EQ(st.text(0).find("DLPIN-4242"), std::string::npos);
    EXPECT_EQ(st.text(0).find("Init-Pass-77"), std::string::npos);
  }
}

// ---- Config ------------------------------------------------------------------------------

TEST(OutboxConfig, MailSectionValidated) {
  TempDir home;
  auto c = mail_config(home.path(), json::object());
  EXPECT_EQ(c.mail.smtp_url, "");
  EXPECT_EQ(c.mail.maildir, home.path() / "maildir");
  EXPECT_GE(c.mail.max_attempts, 1);
  c = mail_config(home.path(), {{"maildir", "/var/mail/jitsuin"}, {"smtp_url", "smtps://mail.example.jp:465"}});
  EXPECT_EQ(c.mail.maildir, fs::path("/var/mail/jitsuin"));
  EXPECT_THROW(mail_config(home.path(), {{"smtp_host", "x"}}), Error);   // unknown key
  EXPECT_THROW(mail_config(home.path(), {{"smtp_url", "http://x"}}), Error);
  EXPECT_THROW(mail_config(home.path(), {{"from", "nobody"}}), Error);
  EXPECT_THROW(mail_config(home.path(), {{"max_attempts", 0}}), Error);
  EXPECT_THROW(mail_config(home.path(), {{"retry_base_seconds", "60"}}), Error);
  // The documented default config parses with its mail section.
  EXPECT_NO_THROW(config::load_config(config::default_config_path(), home.path()));
}

// ---- CLI ---------------------------------------------------------------------------------

TEST(OutboxCli, DeliverAndListReportFailures) {
  TempDir home;
  DownPort down;
  // Every command checks the certificate profiles at start-up: this config names the shipped ones.
  write_text(home / "jitsuin.json",
             json({{"mail", {{"smtp_url", down.url()}, {"max_attempts", 1}}},
                   {"ca", {{"profiles_dir", std::string(JITSUIN_SOURCE_DIR) + "/config/profiles"}}}})
                 .dump());
  {
    auto db = db::Database::open(home / "jitsuin.db");
    db::Transaction tx(*db);
    ra::enqueue_mail(*db, download_pin_mail(), 1'700'000'000);
    tx.commit();
  }
  auto r = run(jitsuin_cmd(home.path()) + " outbox deliver");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("failed 1"), std::string::npos) << r.output;
  r = run(jitsuin_cmd(home.path()) + " outbox list --state failed --json");
  ASSERT_EQ(r.status, 0) << r.output;
  json list = json::parse(r.output);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "failed");
  EXPECT_EQ(list[0]["template"], "download_pin");
  EXPECT_TRUE(list[0]["last_error"].is_string());
  EXPECT_EQ(r.output.find("K7QF"), std::string::npos);   // never the content
  r = run(jitsuin_cmd(home.path()) + " outbox list");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("last error"), std::string::npos) << r.output;
  r = run(jitsuin_cmd(home.path()) + " outbox list --state bogus");
  EXPECT_NE(r.status, 0);

  // Switched to the maildir, new mail goes out and deliver exits 0.
  write_text(home / "jitsuin.json",
             json({{"mail", {{"maildir", "spool"}}},
                   {"ca", {{"profiles_dir", std::string(JITSUIN_SOURCE_DIR) + "/config/profiles"}}}})
                 .dump());
  {
    auto db = db::Database::open(home / "jitsuin.db");
    db::Transaction tx(*db);
    ra::enqueue_mail(*db, received_mail(), 1'700'000'000);
    tx.commit();
  }
  r = run(jitsuin_cmd(home.path()) + " outbox deliver");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("sent 1"), std::string::npos) << r.output;
  EXPECT_EQ(files_in(home / "spool" / "new").size(), 1u);
}

}  // namespace
}  // namespace jitsuin::test
