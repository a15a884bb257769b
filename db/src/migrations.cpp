// Numbered schema migrations. Never edit a migration that has shipped: add a new one.
#include <sqlite3.h>

#include <string>

#include "jitsuin/db/database.h"

namespace jitsuin::db {

namespace {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const Migration kMigrations[] = {
    {1, "ca core",
     R"sql(
CREATE TABLE authorities (
  id INTEGER PRIMARY KEY,
  role TEXT NOT NULL UNIQUE CHECK (role IN ('root', 'issuing')),
  key_uri TEXT NOT NULL,
  key_algorithm TEXT NOT NULL,
  subject TEXT NOT NULL,
  certificate_id INTEGER REFERENCES certificates(id),
  crl_number INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
-- Certificates keyed by rowid with a UNIQUE serial: random serials as the primary key make
-- inserts several times slower (B-tree splits all over the table).
CREATE TABLE certificates (
  id INTEGER PRIMARY KEY,
  serial BLOB NOT NULL UNIQUE,
  issuer_id INTEGER NOT NULL REFERENCES authorities(id),
  profile TEXT NOT NULL,
  subject TEXT NOT NULL,
  spki_sha256 BLOB NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  der BLOB NOT NULL,
  revoked_at INTEGER,
  revocation_effective INTEGER,
  revocation_reason INTEGER,
  CHECK ((revoked_at IS NULL) = (revocation_effective IS NULL))
);
CREATE INDEX certificates_spki ON certificates(spki_sha256);
CREATE INDEX certificates_revoked ON certificates(issuer_id, revocation_effective)
  WHERE revocation_effective IS NOT NULL;
CREATE TABLE crl_publications (
  id INTEGER PRIMARY KEY,
  authority_id INTEGER NOT NULL REFERENCES authorities(id),
  crl_number INTEGER NOT NULL,
  this_update INTEGER NOT NULL,
  next_update INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  sha256 BLOB NOT NULL,
  UNIQUE (authority_id, crl_number)
);
-- Tamper-evident audit log: each row's hash covers its content and the previous row's hash.
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
)sql"},
    {2, "notification outbox",
     R"sql(
-- RA-10: mails queued in the same transaction as the event they announce. Delivery claims a row
-- ('sending' + claimed_at lease), delivers, then marks it 'sent' in a second transaction; a row
-- left in 'sending' past its lease is delivered again under the same message_id.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  template TEXT NOT NULL,
  language TEXT NOT NULL CHECK (language IN ('ja', 'en')),
  params TEXT NOT NULL,
  message_id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  claimed_at INTEGER,
  sent_at INTEGER,
  last_error TEXT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at) WHERE state IN ('pending', 'sending');
)sql"},
    {3, "ra core",
     R"sql(
-- RA-3/RA-4 operators of the registration authority. Passwords as scrypt hashes with a per-user
-- salt; failed logins counted here so a lockout survives restarts.
CREATE TABLE ra_operators (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('operator', 'approver', 'auditor', 'administrator')),
  password_hash TEXT NOT NULL,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_at INTEGER,
  disabled_at INTEGER,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL
);
-- Login sessions: only the SHA-256 of the token is stored.
CREATE TABLE ra_sessions (
  id INTEGER PRIMARY KEY,
  token_sha256 BLOB NOT NULL UNIQUE,
  operator_id INTEGER NOT NULL REFERENCES ra_operators(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at INTEGER
);
-- RA-1 Form 1 (法人利用契約書): the contracting company.
CREATE TABLE ra_companies (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  name_kana TEXT NOT NULL,
  name_romaji TEXT NOT NULL,
  address TEXT NOT NULL,
  representative_name TEXT NOT NULL,
  representative_title TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX ra_companies_name ON ra_companies(name);
-- One paper bundle as received: Form 1 (new contract or change), Form 2 registered seal,
-- Form 3 applicant list with the eToken order, who applies (representative or manager 支配人).
CREATE TABLE ra_bundles (
  id INTEGER PRIMARY KEY,
  company_id INTEGER NOT NULL REFERENCES ra_companies(id),
  contract_kind TEXT NOT NULL CHECK (contract_kind IN ('new', 'change')),
  applied_by TEXT NOT NULL CHECK (applied_by IN ('representative', 'manager')),
  received_on TEXT NOT NULL,
  seal_form_received INTEGER NOT NULL DEFAULT 0,
  seal_description TEXT NOT NULL DEFAULT '',
  applicant_list_received INTEGER NOT NULL DEFAULT 0,
  token_quantity INTEGER NOT NULL DEFAULT 0 CHECK (token_quantity >= 0),
  note TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX ra_bundles_company ON ra_bundles(company_id);
-- Form 4 (担当者申請書): contact person and billing person.
CREATE TABLE ra_contacts (
  id INTEGER PRIMARY KEY,
  bundle_id INTEGER NOT NULL REFERENCES ra_bundles(id),
  role TEXT NOT NULL CHECK (role IN ('contact', 'billing')),
  name TEXT NOT NULL,
  department TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL,
  phone TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  UNIQUE (bundle_id, role)
);
-- Form 5 (電子証明書発行申請書): one certificate application per individual, with its life cycle.
CREATE TABLE ra_applications (
  id INTEGER PRIMARY KEY,
  bundle_id INTEGER NOT NULL REFERENCES ra_bundles(id),
  state TEXT NOT NULL CHECK (state IN ('received', 'incomplete', 'resubmitted', 'checked', 'approved',
    'pin_issued', 'notice_mailed', 'enrolled', 'issued', 'rejected', 'withdrawn')),
  name_kanji TEXT NOT NULL,
  name_kana TEXT NOT NULL,
  name_romaji TEXT NOT NULL,
  organization_romaji TEXT NOT NULL,
  department_romaji TEXT NOT NULL DEFAULT '',
  title_romaji TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL,
  postcode TEXT NOT NULL,
  home_address TEXT NOT NULL,
  validity_years INTEGER NOT NULL CHECK (validity_years IN (1, 2)),
  profile TEXT NOT NULL,
  renewal_of INTEGER REFERENCES ra_applications(id),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  checked_by TEXT,
  approved_by TEXT,
  approved_at INTEGER,
  pin_hash TEXT,
  pin_issued_by TEXT,
  pin_issued_at INTEGER,
  pin_expires_at INTEGER,
  pin_failures INTEGER NOT NULL DEFAULT 0,
  pin_locked_at INTEGER,
  pin_reissue_requested_by TEXT,
  pin_reissue_reason TEXT,
  csr TEXT,
  issuing_at INTEGER,
  certificate_serial TEXT,
  issued_at INTEGER
);
CREATE INDEX ra_applications_bundle ON ra_applications(bundle_id);
CREATE INDEX ra_applications_state ON ra_applications(state);
CREATE UNIQUE INDEX ra_applications_serial ON ra_applications(certificate_serial) WHERE certificate_serial IS NOT NULL;
-- Every life-cycle transition: who, when, from which state to which.
CREATE TABLE ra_application_events (
  id INTEGER PRIMARY KEY,
  application_id INTEGER NOT NULL REFERENCES ra_applications(id),
  from_state TEXT,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ra_application_events_app ON ra_application_events(application_id, id);
-- Form 6 (ユーザID申請書): contract-service users.
CREATE TABLE ra_user_applications (
  id INTEGER PRIMARY KEY,
  bundle_id INTEGER NOT NULL REFERENCES ra_bundles(id),
  name TEXT NOT NULL,
  department TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
-- RA-2 supporting public documents, per bundle or per Form-5 applicant.
CREATE TABLE ra_documents (
  id INTEGER PRIMARY KEY,
  bundle_id INTEGER NOT NULL REFERENCES ra_bundles(id),
  application_id INTEGER REFERENCES ra_applications(id),
  kind TEXT NOT NULL CHECK (kind IN ('registration_current', 'registration_history', 'registration_representative',
    'representative_seal', 'residence_record', 'personal_seal')),
  issued_on TEXT NOT NULL,
  received_on TEXT NOT NULL,
  original INTEGER NOT NULL CHECK (original IN (0, 1)),
  note TEXT NOT NULL DEFAULT '',
  recorded_by TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
);
CREATE INDEX ra_documents_bundle ON ra_documents(bundle_id);
-- Each document check and the reasons it found, so a returned bundle's letter can be reprinted.
CREATE TABLE ra_bundle_checks (
  id INTEGER PRIMARY KEY,
  bundle_id INTEGER NOT NULL REFERENCES ra_bundles(id),
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  complete INTEGER NOT NULL,
  reasons TEXT NOT NULL
);
-- RA-3 restricted-delivery mail (本人限定受取郵便) of the approval notice.
CREATE TABLE ra_mailings (
  id INTEGER PRIMARY KEY,
  application_id INTEGER NOT NULL REFERENCES ra_applications(id),
  tracking_number TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('sent', 'held', 'delivered', 'returned')),
  sent_on TEXT NOT NULL,
  held_on TEXT,
  delivered_on TEXT,
  returned_on TEXT,
  resend_of INTEGER REFERENCES ra_mailings(id),
  charge_yen INTEGER NOT NULL DEFAULT 0 CHECK (charge_yen >= 0),
  recorded_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX ra_mailings_app ON ra_mailings(application_id);
-- RA-6 revocation requests (失効申請), approved by a second operator.
CREATE TABLE ra_revocation_requests (
  id INTEGER PRIMARY KEY,
  serial TEXT NOT NULL,
  application_id INTEGER REFERENCES ra_applications(id),
  reason INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'revoked', 'rejected')),
  requested_by TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  effective_at INTEGER NOT NULL,
  decided_by TEXT,
  decided_at INTEGER,
  rejection_reason TEXT
);
CREATE UNIQUE INDEX ra_revocation_open ON ra_revocation_requests(serial) WHERE state IN ('pending', 'approved');
-- RA-9 company IDs (企業ID, one per company or department) and user IDs (ユーザID) of the
-- contract service, issued from Forms 1 and 6; initial passwords only as scrypt hashes.
CREATE TABLE ra_accounts (
  id INTEGER PRIMARY KEY,
  login_id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('company', 'user')),
  company_id INTEGER NOT NULL REFERENCES ra_companies(id),
  bundle_id INTEGER REFERENCES ra_bundles(id),
  user_application_id INTEGER UNIQUE REFERENCES ra_user_applications(id),
  name TEXT NOT NULL,
  department TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  must_change_password INTEGER NOT NULL DEFAULT 1,
  disabled_at INTEGER,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX ra_accounts_company ON ra_accounts(company_id);
-- RA-8 signing IDs (署名用ID): which certificate a user ID may sign with. History kept: an unlink
-- closes the row.
CREATE TABLE ra_certificate_links (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES ra_accounts(id),
  serial TEXT NOT NULL,
  linked_by TEXT NOT NULL,
  linked_at INTEGER NOT NULL,
  unlinked_by TEXT,
  unlinked_at INTEGER
);
CREATE UNIQUE INDEX ra_certificate_links_open ON ra_certificate_links(account_id, serial) WHERE unlinked_at IS NULL;
CREATE INDEX ra_certificate_links_serial ON ra_certificate_links(serial);
-- RA-7 expiry notices: one row per certificate and offset, so each notice is sent once.
CREATE TABLE ra_expiry_notices (
  id INTEGER PRIMARY KEY,
  serial TEXT NOT NULL,
  days_before INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  UNIQUE (serial, days_before)
);
)sql"},
    {4, "ra additional certificate requests",
     R"sql(
-- RA-8 電子証明書追加発行申請: a company admin (企業ID) asks for a new certificate for one user ID
-- of the company. The Form 5 lives in a bundle of its own (received online: no paper forms) and
-- follows the RA-3 life cycle; when its certificate is issued it is linked to the user ID in the
-- issuing transaction (link_id). user_name and user_email are the holder when asked, so a user ID
-- that changed hands (利用者変更) meanwhile is not linked to someone else's certificate.
CREATE TABLE ra_certificate_requests (
  id INTEGER PRIMARY KEY,
  application_id INTEGER NOT NULL UNIQUE REFERENCES ra_applications(id),
  bundle_id INTEGER NOT NULL UNIQUE REFERENCES ra_bundles(id),
  company_id INTEGER NOT NULL REFERENCES ra_companies(id),
  requested_by INTEGER NOT NULL REFERENCES ra_accounts(id),
  user_account_id INTEGER NOT NULL REFERENCES ra_accounts(id),
  user_name TEXT NOT NULL,
  user_email TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  link_id INTEGER REFERENCES ra_certificate_links(id),
  link_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ra_certificate_requests_company ON ra_certificate_requests(company_id);
CREATE INDEX ra_certificate_requests_user ON ra_certificate_requests(user_account_id);
)sql"},
    {5, "ra issuance in one transaction",
     R"sql(
-- An application's certificate is issued in one transaction with its new state (issuance.cpp), so
-- the claim column and its 10-minute expiry are gone. No index or constraint names the column.
ALTER TABLE ra_applications DROP COLUMN issuing_at;
)sql"},
    {6, "ra account lockout",
     R"sql(
-- Company IDs (企業ID) and user IDs (ユーザID) log in through ra/ (login_account) with the same
-- lockout as operators: wrong passwords are counted here, and at ra.password_max_failures the
-- account locks until an administrator unlocks it.
ALTER TABLE ra_accounts ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ra_accounts ADD COLUMN locked_at INTEGER;
)sql"},
    // issue 8 (revoke)
    {7, "ca compromised keys",
     R"sql(
-- Public keys reported compromised: a certificate revoked for keyCompromise (or cACompromise)
-- puts its key here in the revocation's transaction, and the CA refuses every later CSR with one
-- of them, whatever the subject. Keys of certificates revoked so for earlier versions are added.
CREATE TABLE compromised_keys (
  spki_sha256 BLOB PRIMARY KEY,
  serial BLOB NOT NULL,
  reason INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO compromised_keys (spki_sha256, serial, reason, recorded_at)
  SELECT spki_sha256, serial, revocation_reason, revoked_at FROM certificates
  WHERE revocation_reason IN (1, 2) ORDER BY id;
)sql"},
    // issue 8 (accounts)
    {8, "ra operator approval and temporary passwords",
     R"sql(
-- An approver or administrator account made by an administrator waits for a second
-- administrator's approval (or, while there is only one active administrator, a proof of CA
-- custody) before it can log in. Existing accounts count as approved; approved_by names who did it.
ALTER TABLE ra_operators ADD COLUMN approved_at INTEGER;
ALTER TABLE ra_operators ADD COLUMN approved_by TEXT;
UPDATE ra_operators SET approved_at = created_at, approved_by = created_by;
-- A password someone else set (account creation, break-glass reset) is temporary: the session
-- allows nothing but the password change until the holder has set their own.
ALTER TABLE ra_operators ADD COLUMN password_temporary INTEGER NOT NULL DEFAULT 0;
)sql"},
    // issue 8 (disk)
    {9, "outbox secrets sealed",
     R"sql(
-- RA-10: a queued mail's secrets (download PIN, initial password) are no longer kept in params:
-- they are sealed (AES-256-GCM, bound to the row) under a key file beside the database, and the
-- column is cleared when the mail is sent or given up on.
ALTER TABLE outbox ADD COLUMN sealed BLOB;
)sql"},
    // issue 9 (ocsp)
    {10, "OCSP signing certificates",
     R"sql(
-- The delegated OCSP responder's certificates (profile ocsp-signing, issued by the issuing CA and
-- recorded in certificates like any other) and the token references of their keys. The newest row
-- signs; a new one is added when it nears its expiry. A table of its own, so that the authorities
-- table (the two CA keys, whose rows audit verify checks) keeps its meaning.
CREATE TABLE ocsp_signers (
  id INTEGER PRIMARY KEY,
  certificate_id INTEGER NOT NULL UNIQUE REFERENCES certificates(id),
  key_uri TEXT NOT NULL,
  key_algorithm TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql"},
    // issue 9 (jitsuind)
    {11, "company sessions and authentication rate limits",
     R"sql(
-- A company admin's (企業ID) sessions over the API, like ra_sessions for operators: only the
-- SHA-256 of the token is stored.
CREATE TABLE ra_account_sessions (
  id INTEGER PRIMARY KEY,
  token_sha256 BLOB NOT NULL UNIQUE,
  account_id INTEGER NOT NULL REFERENCES ra_accounts(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at INTEGER
);
-- Authentication attempts counted per source address ("address:<ip>") and per account
-- ("account:<name>") in fixed windows (server.auth_rate_*), so that limits survive a restart.
CREATE TABLE ra_auth_rate (
  key TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  attempts INTEGER NOT NULL
);
)sql"},
    // issue 12 (PDF validator)
    {12, "partner CAs",
     R"sql(
-- CA-7: the partner CAs whose signers `jitsuin pdf verify` trusts besides our own CA. The
-- certificate itself is copied into HOME/trust/<fingerprint>.pem, the newest CRL `crl fetch` got
-- for it beside it (<fingerprint>.crl); crl_urls is a JSON array of http(s) URLs.
CREATE TABLE partner_cas (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  fingerprint TEXT NOT NULL UNIQUE,
  subject TEXT NOT NULL,
  not_after INTEGER NOT NULL,
  crl_urls TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  added_by TEXT NOT NULL
);
)sql"},
    // issue 10 (enroll)
    {13, "download PINs",
     R"sql(
-- EN-2..EN-4: the download PIN (ダウンロードPIN) mailed when an applicant enrolls; scrypt hash only.
-- One row per PIN issued; a re-issue marks the previous row replaced. Failures are counted here,
-- inside the verifying transaction, so restarts and parallel requests win no extra guesses.
CREATE TABLE ra_download_pins (
  id INTEGER PRIMARY KEY,
  application_id INTEGER NOT NULL REFERENCES ra_applications(id),
  pin_hash TEXT NOT NULL,
  mailed_to TEXT NOT NULL,
  outbox_id INTEGER,
  issued_by TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_at INTEGER,
  used_at INTEGER,
  replaced_at INTEGER
);
CREATE INDEX ra_download_pins_application ON ra_download_pins(application_id);
-- The application PIN stays (hashed) after enrollment, spent, so the applicant can still ask for
-- the status with it.
ALTER TABLE ra_applications ADD COLUMN pin_spent_at INTEGER;
-- Wrong application PINs typed for an application number that has no PIN in force (unknown,
-- or not yet mailed): counted like real ones so that the answers look the same.
CREATE TABLE ra_enroll_unknown (
  application_id INTEGER PRIMARY KEY,
  failures INTEGER NOT NULL
);
-- RA-8 (seed 003): where a company admin's additional certificate's PIN mail goes, and whom the
-- RA calls about the request (申請担当者情報).
ALTER TABLE ra_certificate_requests ADD COLUMN pin_recipient_name TEXT;
ALTER TABLE ra_certificate_requests ADD COLUMN pin_recipient_email TEXT;
ALTER TABLE ra_certificate_requests ADD COLUMN contact_name TEXT;
ALTER TABLE ra_certificate_requests ADD COLUMN contact_department TEXT;
ALTER TABLE ra_certificate_requests ADD COLUMN contact_phone TEXT;
ALTER TABLE ra_certificate_requests ADD COLUMN contact_email TEXT;
)sql"},
    // issue 10 (smime)
    {14, "S/MIME coupons",
     R"sql(
-- Seed 004: the S/MIME reseller path. An operator records an order (who bought, where the coupons
-- are delivered, the product); each coupon (クーポン) is a single-use right to one S/MIME
-- certificate, stored only as an scrypt hash of its 80-bit secret (the code is "<id>-XXXX-XXXX-
-- XXXX-XXXX": the id finds the row). Its holder applies online with it; the application lives in
-- the order's own bundle (bundle_id) and follows the RA-3 life cycle from notice_mailed on.
CREATE TABLE smime_orders (
  id INTEGER PRIMARY KEY,
  ordered_by TEXT NOT NULL,
  delivery_email TEXT NOT NULL,
  product TEXT NOT NULL,
  profile TEXT NOT NULL,
  validity_years INTEGER NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  coupons_expire_at INTEGER NOT NULL,
  bundle_id INTEGER NOT NULL REFERENCES ra_bundles(id),
  note TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE smime_coupons (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES smime_orders(id),
  code_hash TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_at INTEGER,
  used_at INTEGER,
  application_id INTEGER REFERENCES ra_applications(id)
);
CREATE INDEX smime_coupons_order ON smime_coupons(order_id);
-- Every application made with a coupon: the first one and its re-issues (reissue_of: the
-- application it replaces; its certificate is revoked, superseded, when the new one is issued).
CREATE TABLE smime_applications (
  application_id INTEGER PRIMARY KEY REFERENCES ra_applications(id),
  coupon_id INTEGER NOT NULL REFERENCES smime_coupons(id),
  reissue_of INTEGER REFERENCES ra_applications(id),
  created_at INTEGER NOT NULL
);
CREATE INDEX smime_applications_coupon ON smime_applications(coupon_id);
)sql"},
    // paging
    {15, "long lists paged by state and by recipient",
     R"sql(
-- The consoles page the long lists newest first (ra/paging.h): by id alone the rowid serves; one
-- state (the failed mails, the pending revocations) and a company's mails (by its addresses) need
-- an index in id order too.
CREATE INDEX outbox_state ON outbox(state, id);
CREATE INDEX outbox_recipient ON outbox(recipient, id);
CREATE INDEX ra_revocation_state ON ra_revocation_requests(state, id);
)sql"},
    // ca (issue 20 items 11 and 15)
    {16, "CRL partitions and issuance idempotency keys",
     R"sql(
-- CRL partitions: a certificate's partition is in its serial (ca/src/x509util.h
-- partitioned_serial); the expression is ca/src/records.h kCrlPartitionKey, the same text, or
-- SQLite does not use these indexes. certificates_crl covers what a CRL reads (no table lookup
-- per entry), in partition order; certificates_partition finds the highest partition.
CREATE INDEX certificates_crl ON certificates(issuer_id,
  (CASE WHEN length(serial) = 16 AND substr(serial, 1, 1) = x'3f' THEN substr(serial, 2, 4) END),
  revocation_effective, serial, revocation_reason) WHERE revocation_effective IS NOT NULL;
CREATE INDEX certificates_partition ON certificates(
  (CASE WHEN length(serial) = 16 AND substr(serial, 1, 1) = x'3f' THEN substr(serial, 2, 4) END));
-- ca.issue's idempotency keys (per actor): a retried request with the same key gets the first
-- answer (the certificate issued then); kept for a day (ca/src/authority.cpp kIdempotencyRetention).
CREATE TABLE ca_idempotency_keys (
  actor TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  request_sha256 BLOB NOT NULL,
  certificate_id INTEGER NOT NULL REFERENCES certificates(id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (actor, idempotency_key)
);
CREATE INDEX ca_idempotency_keys_created ON ca_idempotency_keys(created_at);
)sql"},
    // issue 20 (auth): one attempt counter, unknown numbers counted alike, operator keys
    {17, "attempts at unknown numbers; held PIN mails of coupon applications; operator keys",
     R"sql(
-- Wrong secrets typed for a number that has no secret in force (an unknown application, download
-- PIN or coupon number, or one whose secret was withdrawn) are counted here like real ones, so
-- that the answers (attempts left, locked) do not tell which numbers exist. Never an application.
CREATE TABLE ra_unknown_attempts (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('application_pin', 'download_pin', 'coupon')),
  number INTEGER NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_at INTEGER,
  UNIQUE (kind, number)
);
INSERT INTO ra_unknown_attempts (kind, number, failures)
  SELECT 'application_pin', application_id, failures FROM ra_enroll_unknown;
DROP TABLE ra_enroll_unknown;
-- The held mail carrying a coupon application's PIN: a re-issue that withdraws the application
-- cancels it, so that it does not deliver a dead PIN.
ALTER TABLE smime_applications ADD COLUMN pin_outbox_id INTEGER;
-- Operator keys (scripts' bearer tokens) are sessions of kind 'key': listed and revoked on their
-- own, and kept or ended on a password change as the operator chooses. Keys made before this
-- version are found by their audit entries.
ALTER TABLE ra_sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'login' CHECK (kind IN ('login', 'key'));
ALTER TABLE ra_sessions ADD COLUMN label TEXT NOT NULL DEFAULT '';
UPDATE ra_sessions SET kind = 'key' WHERE id IN
  (SELECT json_extract(details, '$.session') FROM audit_log WHERE action = 'ra.operator.key');
)sql"},
};

}  // namespace

int latest_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

void migrate(Database& db) {
  for (const auto& m : kMigrations) {
    Transaction tx(db);
    // Re-read inside the lock: another process may have migrated meanwhile.
    int current = db.schema_version();
    if (current >= m.version) continue;
    if (current != m.version - 1)
      throw DbError("database schema version " + std::to_string(current) + " cannot be migrated to " +
                        std::to_string(m.version),
                    0);
    db.exec_script(m.sql);
    db.exec_script(("PRAGMA user_version=" + std::to_string(m.version)).c_str());
    tx.commit();
  }
  int current = db.schema_version();
  if (current > latest_schema_version())
    throw DbError("database schema version " + std::to_string(current) +
                      " is newer than this program (" + std::to_string(latest_schema_version()) +
                      "); upgrade jitsuin",
                  0);
}

}  // namespace jitsuin::db
