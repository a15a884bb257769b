// RA-10 durable outbox: queueing inside the caller's transaction, delivery by SMTP (net/) or
// into a maildir, retries with exponential backoff. The delivery guarantee is described in outbox.h.
#include "jitsuin/ra/outbox.h"

#include <openssl/crypto.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include "jitsuin/core/error.h"
#include "jitsuin/net/transfer.h"
#include "mail_templates.h"
#include "outbox_seal.h"

namespace jitsuin::ra {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::int64_t kMaxBackoffSeconds = 24 * 3600;

/// A delivery attempt that did not work. Permanent ones (the server refused the message with a
/// 5xx reply, the stored row cannot be rendered) are not retried.
struct DeliveryFailure {
  bool permanent;
  std::string reason;
};

std::string message_id_header(const std::string& token, const config::Config& config) {
  return "<" + token + "@" + mail::domain_of(mail::address_of(config.mail.from)) + ">";
}

// ---- SMTP ----------------------------------------------------------------------------------

/// By net/ (libcurl), whose TLS rule for mail is the one in net::SmtpServer: smtp:// upgrades with
/// STARTTLS and verifies the server, unless the relay is loopback or mail.allow_plain_smtp.
void send_smtp(const config::MailConfig& mc, const std::string& to, const std::string& message) {
  // 120 s: well inside the claim lease, so a slow server never lets a second run deliver meanwhile.
  net::Transfer t = net::send_mail({mc.smtp_url, mc.allow_plain_smtp, mc.ca_file}, mail::address_of(mc.from), to,
                                   message, 120);
  if (t.ok) return;
  if (t.failure == net::Transfer::Failure::no_starttls)
    throw DeliveryFailure{false, "SMTP: the server does not offer STARTTLS; nothing was sent in clear "
                                 "(mail.allow_plain_smtp allows it for a local relay without TLS)"};
  std::string reason = "SMTP: " + t.error;
  if (t.reply) reason += " (reply " + std::to_string(t.reply) + ")";
  throw DeliveryFailure{t.reply >= 500 && t.reply < 600, reason};
}

// ---- Maildir -------------------------------------------------------------------------------

std::string errno_text(const std::string& what, const fs::path& p) {
  return what + " " + p.string() + ": " + std::strerror(errno);
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw DeliveryFailure{false, errno_text("cannot open", dir)};
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw DeliveryFailure{false, errno_text("cannot sync", dir)};
}

bool already_in_maildir(const fs::path& root, const std::string& name) {
  std::error_code ec;
  if (fs::exists(root / "new" / name, ec)) return true;
  // A mail reader moves seen messages to cur/ and appends ":2,FLAGS" to the name.
  for (const auto& e : fs::directory_iterator(root / "cur", ec)) {
    std::string n = e.path().filename().string();
    if (n == name || n.starts_with(name + ":")) return true;
  }
  return false;
}

/// Writes into tmp/, then link(2)s into new/ under a name fixed by the Message-ID: link refuses
/// an existing name, so two runs delivering the same row leave exactly one file.
void deliver_maildir(const fs::path& root, const std::string& name, const std::string& message) {
  std::error_code ec;
  for (const char* sub : {"tmp", "new", "cur"}) {
    fs::create_directories(root / sub, ec);
    if (ec) throw DeliveryFailure{false, "cannot create " + (root / sub).string() + ": " + ec.message()};
  }
  if (already_in_maildir(root, name)) return;
  fs::path tmp = root / "tmp" / (name + "." + std::to_string(::getpid()) + "." + to_hex(random_bytes(4)));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw DeliveryFailure{false, errno_text("cannot create", tmp)};
  std::size_t done = 0;
  bool ok = true;
  while (ok && done < message.size()) {
    ssize_t n = ::write(fd, message.data() + done, message.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  std::string failure = ok ? "" : errno_text("cannot write", tmp);
  if (ok && ::fsync(fd) != 0) failure = errno_text("cannot sync", tmp);
  ::close(fd);
  if (failure.empty() && ::link(tmp.c_str(), (root / "new" / name).c_str()) != 0 && errno != EEXIST)
    failure = errno_text("cannot link into", root / "new");
  ::unlink(tmp.c_str());
  if (!failure.empty()) throw DeliveryFailure{false, failure};
  fsync_dir(root / "new");
}

// ---- Rows ----------------------------------------------------------------------------------

struct Claimed {
  std::int64_t id = 0;
  UnixTime created_at = 0;
  std::string to, template_name, language, params, token;
  int attempts = 0;
  UnixTime claimed_at = 0;
  std::optional<Bytes> sealed;   ///< the mail's secrets, sealed (outbox_seal.h)
};

constexpr const char* kDueCondition =
    "((state = 'pending' AND next_attempt_at <= ?1) OR (state = 'sending' AND claimed_at <= ?2))";

/// Claims one due row in its own transaction; nullopt when another run took it meanwhile.
std::optional<Claimed> claim(db::Database& db, std::int64_t id, UnixTime now) {
  db::Transaction tx(db);
  db::Statement up(db, std::string("UPDATE outbox SET state = 'sending', claimed_at = ?1, attempts = attempts + 1 "
                                   "WHERE id = ?3 AND ") +
                           kDueCondition);
  up.bind(1, now).bind(2, now - kClaimLeaseSeconds).bind(3, id);
  up.exec();
  if (db.changes() != 1) return std::nullopt;
  db::Statement sel(db,
                    "SELECT created_at, recipient, template, language, params, message_id, attempts, sealed "
                    "FROM outbox WHERE id = ?");
  sel.bind(1, id);
  if (!sel.step()) return std::nullopt;
  Claimed c{id,           sel.int64(0), sel.text(1), sel.text(2), sel.text(3), sel.text(4), sel.text(5),
            static_cast<int>(sel.int64(6)), now, std::nullopt};
  if (!sel.is_null(7)) c.sealed = sel.blob(7);
  tx.commit();
  return c;
}

/// Records the outcome, unless another run re-claimed the row after our lease ran out (then its
/// outcome is the one that counts).
void finish(db::Database& db, const Claimed& c, const std::string& state, UnixTime now, UnixTime next_attempt,
            const std::optional<std::string>& error) {
  db::Transaction tx(db);
  std::string params = c.params;
  if (state == "sent" || state == "failed") {
    // The secret has done its job (or never will): do not keep it.
    try {
      params = mail::without_secrets(c.template_name, json::parse(c.params)).dump();
    } catch (const std::exception&) {
      params = "{}";
    }
  }
  db::Statement up(db,
                   "UPDATE outbox SET state = ?1, params = ?2, next_attempt_at = ?3, last_error = ?4, "
                   "sent_at = ?5, claimed_at = NULL, "
                   "sealed = CASE WHEN ?1 IN ('sent', 'failed') THEN NULL ELSE sealed END "
                   "WHERE id = ?6 AND state = 'sending' AND claimed_at = ?7");
  up.bind(1, state).bind(2, params).bind(3, next_attempt).bind(4, error);
  if (state == "sent") up.bind(5, now);
  else up.bind_null(5);
  up.bind(6, c.id).bind(7, c.claimed_at);
  up.exec();
  tx.commit();
}

}  // namespace

bool cancel_mail(db::Database& db, std::int64_t outbox_id, const std::string& why) {
  if (!db.in_transaction())
    throw Error(ErrorKind::internal, "mails are cancelled inside the transaction of the event that cancels them");
  db::Statement up(db, "UPDATE outbox SET state = 'failed', sealed = NULL, last_error = ?, claimed_at = NULL "
                       "WHERE id = ? AND state = 'pending'");
  up.bind(1, "cancelled: " + why).bind(2, outbox_id).exec();
  return db.changes() == 1;
}

std::int64_t enqueue_mail(db::Database& db, const Mail& mail, UnixTime now, std::optional<UnixTime> not_before) {
  if (!db.in_transaction())
    throw Error(ErrorKind::internal, "mails must be queued inside the transaction of the event they announce");
  JITSUIN_ARG_CHECK(mail::is_valid_address(mail.to), "'" + mail.to + "' is not a valid e-mail address");
  mail::validate(mail.template_name, mail.language, mail.params);
  // Rendering once here catches a template problem at the event, not at delivery time.
  mail::render(mail.template_name, mail.language, mail.params);
  json params = mail.params.is_null() ? json::object() : mail.params;
  // The secrets never reach the database in clear: the row keeps the params with them blanked,
  // and the secrets sealed under the outbox key (created on the first mail that has one).
  std::string token = to_hex(random_bytes(16));
  json secrets = mail::secrets_of(mail.template_name, params);
  std::optional<Bytes> sealed;
  if (!secrets.empty()) {
    Bytes key = seal::load_key(seal::key_file(db.path()), true);
    std::string plain = secrets.dump();
    sealed = seal::seal(key, plain, seal::row_binding(token, mail.to, mail.template_name, mail.language));
    OPENSSL_cleanse(plain.data(), plain.size());
    OPENSSL_cleanse(key.data(), key.size());
  }
  db::Statement ins(db,
                    "INSERT INTO outbox (created_at, recipient, template, language, params, message_id, state, "
                    "attempts, next_attempt_at, sealed) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)");
  ins.bind(1, now).bind(2, mail.to).bind(3, mail.template_name).bind(4, mail.language);
  ins.bind(5, mail::without_secrets(mail.template_name, params).dump());
  ins.bind(6, token).bind(7, std::max(now, not_before.value_or(now)));
  if (sealed) ins.bind_blob(8, *sealed);
  else ins.bind_null(8);
  ins.exec();
  return db.last_insert_rowid();
}

DeliveryReport deliver_outbox(db::Database& db, const config::Config& config, const Clock& clock) {
  DeliveryReport report;
  std::vector<std::int64_t> due;
  {
    UnixTime now = clock();
    db::Statement sel(db, std::string("SELECT id FROM outbox WHERE ") + kDueCondition + " ORDER BY id");
    sel.bind(1, now).bind(2, now - kClaimLeaseSeconds);
    while (sel.step()) due.push_back(sel.int64(0));
  }
  // The key is read before any row is claimed: when it is missing, this run fails with that
  // error and leaves every row as it was.
  std::optional<Bytes> key;
  {
    UnixTime now = clock();
    db::Statement sel(db, std::string("SELECT 1 FROM outbox WHERE sealed IS NOT NULL AND ") + kDueCondition);
    sel.bind(1, now).bind(2, now - kClaimLeaseSeconds);
    if (sel.step()) key = seal::load_key(seal::key_file(db.path()), false);
  }
  for (std::int64_t id : due) {
    auto row = claim(db, id, clock());
    if (!row) continue;
    std::optional<DeliveryFailure> failure;
    try {
      mail::Envelope env{config.mail.from, row->to, message_id_header(row->token, config), row->created_at,
                         row->template_name};
      std::string message;
      json params;
      try {
        params = json::parse(row->params);
      } catch (const std::exception& e) {
        throw DeliveryFailure{true, std::string("cannot build the message: ") + e.what()};
      }
      if (row->sealed) {
        // A secret that does not open (wrong key, altered row) is never sent as garbage: the attempt
        // fails and is retried like any other (up to mail.max_attempts), so the right key file,
        // restored meanwhile, sends it.
        if (!key) key = seal::load_key(seal::key_file(db.path()), false);
        std::string plain;
        try {
          plain = seal::open(*key, *row->sealed,
                             seal::row_binding(row->token, row->to, row->template_name, row->language));
        } catch (const Error& e) {
          throw DeliveryFailure{false, std::string(e.what()) + " (" + seal::key_file(db.path()).string() + ")"};
        }
        json secrets = json::parse(plain);
        OPENSSL_cleanse(plain.data(), plain.size());
        for (auto& [name, value] : secrets.items()) params[name] = value;
      }
      try {
        mail::validate(row->template_name, row->language, params);
        message = mail::build_message(env, mail::render(row->template_name, row->language, params));
      } catch (const std::exception& e) {
        throw DeliveryFailure{true, std::string("cannot build the message: ") + e.what()};
      }
      if (!config.mail.smtp_url.empty()) {
        send_smtp(config.mail, row->to, message);
      } else {
        // Maildir files use the local line end; the name is fixed by the Message-ID token.
        message.erase(std::remove(message.begin(), message.end(), '\r'), message.end());
        deliver_maildir(config.mail.maildir, std::to_string(row->created_at) + "." + row->token + ".jitsuin",
                        message);
      }
    } catch (const DeliveryFailure& f) {
      failure = f;
    } catch (const std::exception& e) {
      failure = DeliveryFailure{false, e.what()};
    }
    UnixTime now = clock();
    if (!failure) {
      finish(db, *row, "sent", now, now, std::nullopt);
      ++report.sent;
    } else if (failure->permanent || row->attempts >= config.mail.max_attempts) {
      finish(db, *row, "failed", now, now, failure->reason);
      ++report.failed;
    } else {
      std::int64_t delay = config.mail.retry_base_seconds;
      for (int i = 1; i < row->attempts && delay < kMaxBackoffSeconds; ++i) delay *= 2;
      finish(db, *row, "pending", now, now + std::min(delay, kMaxBackoffSeconds), failure->reason);
      ++report.deferred;
    }
  }
  return report;
}

void check_outbox_state(const std::string& state) {
  JITSUIN_ARG_CHECK(state == "pending" || state == "sending" || state == "sent" || state == "failed",
                    "unknown outbox state '" + state + "' (pending, sending, sent, failed)");
}

OutboxEntry read_outbox_entry(const db::Statement& row, const config::Config& config) {
  OutboxEntry e;
  e.id = row.int64(0);
  e.created_at = row.int64(1);
  e.to = row.text(2);
  e.template_name = row.text(3);
  e.language = row.text(4);
  e.state = row.text(5);
  e.attempts = static_cast<int>(row.int64(6));
  e.next_attempt_at = row.int64(7);
  e.claimed_at = row.opt_int64(8);
  e.sent_at = row.opt_int64(9);
  e.last_error = row.opt_text(10);
  e.message_id = message_id_header(row.text(11), config);
  return e;
}

std::vector<OutboxEntry> list_outbox(db::Database& db, const config::Config& config,
                                     const std::optional<std::string>& state) {
  if (state) check_outbox_state(*state);
  db::Statement sel(db, std::string("SELECT ") + kOutboxEntryColumns +
                            " FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id");
  sel.bind(1, state);
  std::vector<OutboxEntry> out;
  while (sel.step()) out.push_back(read_outbox_entry(sel, config));
  return out;
}

OutboxCounts count_outbox(db::Database& db) {
  db::Statement sel(db,
                    "SELECT count(state = 'pending' OR NULL), count(state = 'sending' OR NULL), "
                    "count(state = 'sent' OR NULL), count(state = 'failed' OR NULL) FROM outbox");
  sel.step();
  return {sel.int64(0), sel.int64(1), sel.int64(2), sel.int64(3)};
}

}  // namespace jitsuin::ra
