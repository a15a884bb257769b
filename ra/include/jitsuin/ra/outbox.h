#pragma once
// RA-10 notifications: a durable outbox. Mails are queued in the same database transaction as the
// event they announce; a separate delivery step (cron: jitsuin outbox deliver) sends them by SMTP
// when configured, else writes RFC 5322 files into a maildir under the home folder. Retries with
// backoff; nothing lost or sent twice across crashes.
//
// Delivery guarantee. Each row carries a Message-ID fixed when it is queued. deliver_outbox()
// claims a row (state 'sending', claimed_at = now) in one transaction, delivers it, and marks it
// 'sent' in a second one. A crash after the queueing transaction commits loses nothing: the row
// stays 'pending'. A crash between delivery and the 'sent' mark leaves the row 'sending'; once
// its claim is older than the lease (kClaimLeaseSeconds) the next run delivers it again under
// the SAME Message-ID (and Date, and body: the message is rebuilt byte for byte from the row).
// So SMTP delivery is at-least-once with a de-duplication key: the Message-ID lets receiving
// systems and people recognise the duplicate. Maildir delivery is exactly-once: the file name is
// derived from the Message-ID and placed with link(2), which refuses an existing name, and a
// copy already moved to cur/ by a mail reader is recognised too.
//
// Secrets (the download PIN, an initial password) never reach the database in clear: the row keeps
// the other parameters, and the secrets sealed (AES-256-GCM, bound to the row) under a key file
// beside the database, outbox.key (mode 0600, created with the first mail that carries a secret).
// Delivery opens them only to build the message, and clears them once the mail has been sent or
// has finally failed. Without the key file deliver_outbox() throws config before claiming a row;
// a secret that does not open (wrong key, altered row) is not sent, and is retried like a failed
// delivery.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jitsuin/config/config.h"
#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"

namespace jitsuin::ra {

/// One notification to send.
///
/// Templates and their params (all strings unless said; "time" params take a UnixTime integer,
/// rendered in Japan time, or a preformatted string; [opt] may be left out):
///  - application_received: name, application_number, received_at [opt, time]
///  - pin_issued: name, application_number, pin_expires_at [opt, time]. Says the approval notice
///    (承認通知書) with the application PIN went out by restricted delivery; never the PIN itself.
///  - download_pin: name, application_number, download_pin (secret), expires_at [opt, time],
///    enrollment_url [opt]
///  - user_id: name, user_id, password (secret: the initial password), company_id [opt],
///    service_url [opt]
///  - expiry_notice: name, serial, not_after (time), days_left [opt], renewal_url [opt]
///  - certificate_issued: name, serial, not_after (time), subject [opt]
///  - link_changed: name, user_id, serial, change ("link" or "unlink"), changed_by [opt]
///  - revocation: name, serial, effective_at (time), reason [opt]
/// Any other param is refused, so nothing (a PIN, say) slips into a mail that should not carry it.
struct Mail {
  std::string to;               ///< recipient address
  std::string template_name;    ///< e.g. "application_received", "pin_issued", "download_pin", "user_id",
                                ///< "expiry_notice", "certificate_issued", "link_changed", "revocation"
  std::string language = "ja";  ///< "ja" or "en"
  nlohmann::json params;        ///< values the template fills in (never a secret unless the mail's purpose
                                ///< is to carry it, e.g. the download PIN)
};

/// Queues a mail inside the caller's open transaction; returns its outbox id.
/// Throws invalid_input for an unknown template or a malformed address.
/// `not_before` (enroll): the mail leaves no earlier than then (default: at once).
std::int64_t enqueue_mail(db::Database& db, const Mail& mail, UnixTime now, std::optional<UnixTime> not_before = {});

/// Cancels a mail still waiting to leave (state pending, e.g. held until its not_before) inside the
/// caller's transaction: it becomes 'failed' with `why` as its error and its sealed secrets are
/// dropped, so it can neither leave nor be resent. Returns false (changing nothing) for a mail
/// that is no longer pending.
bool cancel_mail(db::Database& db, std::int64_t outbox_id, const std::string& why);

/// What one delivery run did.
struct DeliveryReport {
  int sent = 0;       ///< delivered (SMTP accepted or maildir file written)
  int deferred = 0;   ///< failed this time, will be retried later
  int failed = 0;     ///< gave up after the last retry
};

/// How long a claim on a row in 'sending' holds before another run may deliver it again.
inline constexpr std::int64_t kClaimLeaseSeconds = 600;

/// Delivers every due mail (see outbox.h header comment).
DeliveryReport deliver_outbox(db::Database& db, const config::Config& config, const Clock& clock);

/// One outbox row as an operator sees it (no parameters: they may hold secrets).
struct OutboxEntry {
  std::int64_t id = 0;
  UnixTime created_at = 0;
  std::string to;
  std::string template_name;
  std::string language;
  std::string state;              ///< pending, sending, sent, failed
  int attempts = 0;
  UnixTime next_attempt_at = 0;
  std::optional<UnixTime> claimed_at;
  std::optional<UnixTime> sent_at;
  std::optional<std::string> last_error;
  std::string message_id;         ///< the stable Message-ID header value, e.g. "<hex@example.jp>"
};

/// Lists outbox rows, oldest first, optionally only those in one state. Throws invalid_input for
/// an unknown state name.
std::vector<OutboxEntry> list_outbox(db::Database& db, const config::Config& config,
                                     const std::optional<std::string>& state = std::nullopt);

/// Throws invalid_input for a state name other than pending, sending, sent, failed.
void check_outbox_state(const std::string& state);

/// The columns read_outbox_entry() reads, in its order: "SELECT " + kOutboxEntryColumns + " FROM outbox ...".
inline constexpr const char* kOutboxEntryColumns =
    "id, created_at, recipient, template, language, state, attempts, next_attempt_at, claimed_at, sent_at, "
    "last_error, message_id";
OutboxEntry read_outbox_entry(const db::Statement& row, const config::Config& config);

/// How many outbox rows are in each state (jitsuind's /metrics: the backlog).
struct OutboxCounts {
  std::int64_t pending = 0, sending = 0, sent = 0, failed = 0;
};
OutboxCounts count_outbox(db::Database& db);

}  // namespace jitsuin::ra
