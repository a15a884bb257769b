#include "jitsuin/ra/accounts.h"

#include <cstdio>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/outbox.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/secret.h"
#include "attempts.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

constexpr const char* kSelect =
    "SELECT id, login_id, kind, company_id, name, department, email, must_change_password, disabled_at IS NOT NULL, "
    "created_at, failed_logins, locked_at IS NOT NULL FROM ra_accounts ";

Account read(db::Statement& st) {
  return {st.int64(0), st.text(1), st.text(2), st.int64(3), st.text(4), st.text(5), st.text(6),
          st.int64(7) != 0, st.int64(8) != 0, st.int64(9), static_cast<int>(st.int64(10)), st.int64(11) != 0};
}

// An initial password (80 bits, same alphabet as PINs) and its hash, made before the write lock.
struct InitialPassword {
  std::string password, hash;
};

InitialPassword new_initial_password() {
  InitialPassword p;
  p.password = generate_pin();
  p.hash = hash_secret(normalize_pin(p.password));   // slow: callers make these before their transaction
  return p;
}

std::string refused_message(const std::string& login_id) {
  return login_id.starts_with("U") ? "wrong user ID or password, or the ID is locked"
                                   : "wrong company ID or password, or the ID is locked";
}

// How many IDs issuing a bundle's IDs makes: the company ID (when the company has none) and one per
// Form-6 user without a user ID. Read before the transaction to prepare the passwords.
std::size_t pending_id_count(RaContext& ctx, std::int64_t company_id, std::int64_t bundle_id) {
  db::Statement has(ctx.db, "SELECT EXISTS (SELECT 1 FROM ra_accounts WHERE company_id = ? AND kind = 'company')");
  has.bind(1, company_id);
  has.step();
  db::Statement users(ctx.db,
                      "SELECT count(*) FROM ra_user_applications u WHERE u.bundle_id = ? "
                      "AND NOT EXISTS (SELECT 1 FROM ra_accounts a WHERE a.user_application_id = u.id)");
  users.bind(1, bundle_id);
  users.step();
  return static_cast<std::size_t>(users.int64(0)) + (has.int64(0) ? 0 : 1);
}

std::string login_id_for(const std::string& kind, std::int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, kind == "company" ? "C%06lld" : "U%07lld", static_cast<long long>(id));
  return buf;
}

struct Holder {
  std::string name, department, email;
};

// RA-9: the company's Form-4 contact person, who receives every user ID with its initial password
// as well as its user: the given bundle's, else that of the company's latest bundle that has one.
std::optional<Holder> form4_contact(RaContext& ctx, std::int64_t company_id, std::optional<std::int64_t> bundle_id) {
  db::Statement st(ctx.db,
                   "SELECT c.name, c.department, c.email FROM ra_contacts c JOIN ra_bundles b ON b.id = c.bundle_id "
                   "WHERE c.role = 'contact' AND b.company_id = ?1 ORDER BY (b.id = ?2) DESC, b.id DESC LIMIT 1");
  st.bind(1, company_id).bind(2, bundle_id.value_or(0));
  if (!st.step()) return std::nullopt;
  return Holder{st.text(0), st.text(1), st.text(2)};
}

// The mails of a user ID's initial password: to its user, and to the Form-4 contact (once, when
// the contact is someone else's address). Returns the addresses, for the audit entry.
std::vector<std::string> mail_user_id(RaContext& ctx, std::int64_t company_id, std::optional<std::int64_t> bundle_id,
                                      const Holder& user, json params, UnixTime now) {
  enqueue_mail(ctx.db, {user.email, "user_id", "ja", params}, now);
  std::vector<std::string> to{user.email};
  auto contact = form4_contact(ctx, company_id, bundle_id);
  if (contact && contact->email != user.email) {
    params["user_name"] = user.name;
    params["name"] = contact->name;
    enqueue_mail(ctx.db, {contact->email, "user_id_contact", "ja", params}, now);
    to.push_back(contact->email);
  }
  return to;
}

Holder validated(const Holder& h) {
  Holder v{detail::text_field(h.name, "name", 64, true), detail::text_field(h.department, "department", 64, false),
           detail::text_field(h.email, "email", 128, true)};
  JITSUIN_ARG_CHECK(is_valid_email(v.email), "email '" + v.email + "' is not a valid address");
  return v;
}

// Inserts an account with its prepared initial password and mails the password (inside the caller's
// transaction), with its audit entry unless the caller writes one for several accounts.
Account insert(RaContext& ctx, const std::string& actor, const std::string& kind, std::int64_t company_id,
               std::optional<std::int64_t> bundle_id, std::optional<std::int64_t> user_application,
               const Holder& h, const InitialPassword& initial,
               detail::TransitionAudit audit_mode = detail::TransitionAudit::entry) {
  const std::string& password = initial.password;
  UnixTime now = ctx.clock();
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_accounts (login_id, kind, company_id, bundle_id, user_application_id, name, "
                    "department, email, password_hash, created_by, created_at, updated_at) "
                    "VALUES ('pending:' || hex(randomblob(8)), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, kind).bind(2, company_id).bind(3, bundle_id).bind(4, user_application).bind(5, h.name);
  ins.bind(6, h.department).bind(7, h.email).bind(8, initial.hash).bind(9, actor).bind(10, now).bind(11, now);
  ins.exec();
  std::int64_t id = ctx.db.last_insert_rowid();
  std::string login = login_id_for(kind, id);
  db::Statement up(ctx.db, "UPDATE ra_accounts SET login_id = ? WHERE id = ?");
  up.bind(1, login).bind(2, id).exec();
  json params = {{"name", h.name}, {"user_id", login}, {"password", password}};
  std::vector<std::string> mailed{h.email};
  if (kind == "user") {
    db::Statement c(ctx.db, "SELECT login_id FROM ra_accounts WHERE company_id = ? AND kind = 'company' ORDER BY id LIMIT 1");
    c.bind(1, company_id);
    if (c.step()) params["company_id"] = c.text(0);
    mailed = mail_user_id(ctx, company_id, bundle_id, h, params, now);
  } else {
    enqueue_mail(ctx.db, {h.email, "user_id", "ja", params}, now);
  }
  if (audit_mode == detail::TransitionAudit::entry)
    detail::audit(ctx, actor, "ra.account.issue", "account:" + login,
                  {{"kind", kind}, {"company", company_id}, {"email", h.email}, {"mailed_to", mailed}});
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE id = ?");
  st.bind(1, id);
  st.step();
  return read(st);
}

}  // namespace

IssuedAccounts issue_bundle_accounts(RaContext& ctx, const Principal& by, std::int64_t bundle_id) {
  by.require(Permission::enter, "issue company and user IDs");
  // The initial passwords are hashed before the write lock (scrypt is slow); the transaction
  // re-reads what is pending and uses them in order.
  std::vector<InitialPassword> prepared;
  {
    Bundle b = detail::get_bundle(ctx, bundle_id);
    for (std::size_t n = pending_id_count(ctx, b.company_id, bundle_id); n > 0; --n)
      prepared.push_back(new_initial_password());
  }
  std::size_t used = 0;
  auto next_password = [&]() -> const InitialPassword& {
    if (used == prepared.size())
      throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) + " changed while its IDs were prepared; "
                                       "issue them again");
    return prepared[used++];
  };
  db::Transaction tx(ctx.db);
  Bundle b = detail::get_bundle(ctx, bundle_id);
  db::Statement chk(ctx.db, "SELECT complete FROM ra_bundle_checks WHERE bundle_id = ? ORDER BY id DESC LIMIT 1");
  chk.bind(1, bundle_id);
  if (!chk.step() || chk.int64(0) == 0)
    throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) +
                                         " has no complete document check; IDs are issued after it (jitsuin ra check)");
  IssuedAccounts out;
  db::Statement has(ctx.db, "SELECT EXISTS (SELECT 1 FROM ra_accounts WHERE company_id = ? AND kind = 'company')");
  has.bind(1, b.company_id);
  has.step();
  if (!has.int64(0)) {
    const ContactInput* contact = nullptr;
    for (const auto& c : b.contacts)
      if (c.role == "contact") contact = &c;
    if (!contact) throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) + " has no Form-4 contact person");
    out.accounts.push_back(insert(ctx, by.actor(), "company", b.company_id, bundle_id, std::nullopt,
                                  {contact->name, contact->department, contact->email}, next_password(),
                                  detail::TransitionAudit::caller));
  }
  db::Statement users(ctx.db,
                      "SELECT u.id, u.name, u.department, u.email FROM ra_user_applications u WHERE u.bundle_id = ? "
                      "AND NOT EXISTS (SELECT 1 FROM ra_accounts a WHERE a.user_application_id = u.id) ORDER BY u.id");
  users.bind(1, bundle_id);
  std::vector<std::pair<std::int64_t, Holder>> pending;
  while (users.step()) pending.push_back({users.int64(0), {users.text(1), users.text(2), users.text(3)}});
  for (const auto& [form6, holder] : pending)
    out.accounts.push_back(insert(ctx, by.actor(), "user", b.company_id, bundle_id, form6, holder, next_password(),
                                  detail::TransitionAudit::caller));
  if (out.accounts.empty())
    throw Error(ErrorKind::conflict, "every ID of bundle " + std::to_string(bundle_id) + " was issued already");
  // One entry for the bundle's IDs, naming each (never a password).
  json issued = json::array();
  for (const auto& a : out.accounts) issued.push_back({{"login_id", a.login_id}, {"kind", a.kind}, {"email", a.email}});
  detail::audit(ctx, by.actor(), "ra.accounts.issue", "bundle:" + std::to_string(bundle_id),
                {{"company", b.company_id}, {"accounts", issued}});
  tx.commit();
  return out;
}

Account add_user_account(RaContext& ctx, const Principal& by, std::int64_t company_id, const std::string& name,
                         const std::string& department, const std::string& email) {
  by.require(Permission::enter, "issue user IDs");
  Holder h = validated({name, department, email});
  InitialPassword initial = new_initial_password();
  db::Transaction tx(ctx.db);
  db::Statement st(ctx.db, "SELECT EXISTS (SELECT 1 FROM ra_accounts WHERE company_id = ? AND kind = 'company')");
  st.bind(1, company_id);
  st.step();
  if (!st.int64(0))
    throw Error(ErrorKind::conflict, "company " + std::to_string(company_id) + " has no company ID yet");
  Account a = insert(ctx, by.actor(), "user", company_id, std::nullopt, std::nullopt, h, initial);
  tx.commit();
  return a;
}

Account change_account_holder(RaContext& ctx, const Principal& by, const std::string& login_id, const std::string& name,
                              const std::string& department, const std::string& email) {
  // An RA operator (Permission::enter), or the company admin of the user ID's company (seed 003,
  // issue 11), checked once the ID is read.
  if (by.kind() != PrincipalKind::company_admin) by.require(Permission::enter, "change user ID holders");
  Holder h = validated({name, department, email});
  InitialPassword initial = new_initial_password();
  const std::string& password = initial.password;
  const std::string& hash = initial.hash;
  db::Transaction tx(ctx.db);
  Account a = detail::get_account(ctx, login_id);
  if (!by.is_operator() && !by.is_company_admin_of(a.company_id))
    throw Error(ErrorKind::forbidden, "company ID " + by.name() + " may not change the holder of " + login_id +
                                          ": a user ID of another company");
  JITSUIN_ARG_CHECK(a.kind == "user", login_id + " is a company ID; only user IDs change hands");
  if (a.disabled) throw Error(ErrorKind::conflict, "user ID " + login_id + " is disabled");
  UnixTime now = ctx.clock();
  db::Statement up(ctx.db,
                   "UPDATE ra_accounts SET name = ?, department = ?, email = ?, password_hash = ?, "
                   "must_change_password = 1, failed_logins = 0, locked_at = NULL, updated_at = ? WHERE id = ?");
  up.bind(1, h.name).bind(2, h.department).bind(3, h.email).bind(4, hash).bind(5, now).bind(6, a.id).exec();
  db::Statement un(ctx.db,
                   "UPDATE ra_certificate_links SET unlinked_by = ?, unlinked_at = ? WHERE account_id = ? AND unlinked_at IS NULL");
  un.bind(1, by.actor()).bind(2, now).bind(3, a.id).exec();
  int unlinked = ctx.db.changes();
  json params = {{"name", h.name}, {"user_id", login_id}, {"password", password}};
  db::Statement c(ctx.db, "SELECT login_id FROM ra_accounts WHERE company_id = ? AND kind = 'company' ORDER BY id LIMIT 1");
  c.bind(1, a.company_id);
  if (c.step()) params["company_id"] = c.text(0);
  auto mailed = mail_user_id(ctx, a.company_id, std::nullopt, h, params, now);
  detail::audit(ctx, by.actor(), "ra.account.change_holder", "account:" + login_id,
                {{"previous_name", a.name}, {"name", h.name}, {"email", h.email}, {"links_removed", unlinked},
                 {"mailed_to", mailed}});
  tx.commit();
  return detail::get_account(ctx, login_id);
}

std::vector<Account> detail::list_accounts(RaContext& ctx, std::optional<std::int64_t> company_id) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE ?1 IS NULL OR company_id = ?1 ORDER BY id");
  st.bind(1, company_id);
  std::vector<Account> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

Account detail::get_account(RaContext& ctx, const std::string& login_id) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE login_id = ?");
  st.bind(1, login_id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no company or user ID '" + login_id + "'");
  return read(st);
}

LoginResult login_account(RaContext& ctx, const std::string& login_id, const std::string& password,
                          const std::function<void(const Principal&)>& then) {
  // The one password login (attempts.h), as for operators. Initial passwords are mailed in PIN
  // form: accepted as typed (case, look-alikes, hyphens) as well as exactly.
  const std::string as_pin = normalize_pin(password);
  std::vector<std::string> forms{as_pin};
  if (as_pin != password) forms.push_back(password);
  detail::PasswordCheck checked = detail::check_password(ctx, detail::kAccounts, login_id, forms);
  db::Transaction tx(ctx.db);
  const std::string object = "account:" + (login_id.size() <= 32 ? login_id : login_id.substr(0, 32));
  if (!detail::settle_password(ctx, detail::kAccounts, checked, ctx.config.ra.password_max_failures,
                               {"anonymous", object, "ra.account.login_failure", "ra.account.locked"})) {
    tx.commit();
    return LoginResult{std::nullopt, refused_message(login_id), std::nullopt};
  }
  const std::int64_t* id = &*checked.id;
  db::Statement st(ctx.db, "SELECT kind, company_id, must_change_password FROM ra_accounts WHERE id = ?");
  st.bind(1, *id);
  st.step();
  const std::string kind = st.text(0);
  const std::int64_t company_id = st.int64(1);
  const bool must_change = st.int64(2) != 0;
  Principal p = PrincipalFactory::make_account(
      kind == "company" ? PrincipalKind::company_admin : PrincipalKind::company_user, *id, login_id, company_id);
  if (then) then(p);   // the request's own entry names the principal
  else detail::audit(ctx, p.actor(), "ra.account.login", object, {{"kind", kind}, {"company", company_id}});
  tx.commit();
  LoginResult out{p, "", std::nullopt};
  out.password_change_required = must_change;
  return out;
}

std::string password_change_required(const std::string& login_id) {
  return "password change required: " + std::string(login_id.starts_with("U") ? "user ID " : "company ID ") + login_id +
         " still has its mailed initial password; set your own first (company.passwd, or the company pages)";
}

int change_account_password(RaContext& ctx, const std::string& login_id, const std::string& current,
                            const std::string& next, std::int64_t keep_session) {
  detail::check_password_policy(next);
  JITSUIN_ARG_CHECK(next != current && next != normalize_pin(current), "the new password must differ from the current one");
  // As login_account(): both scrypt runs (the current password in its accepted forms, the new
  // hash) before the write lock; then one transaction that counts a wrong current password (with
  // the lockout) or stores the new hash — one audit entry either way.
  const std::string as_pin = normalize_pin(current);
  std::vector<std::string> forms{as_pin};
  if (as_pin != current) forms.push_back(current);
  detail::PasswordCheck checked = detail::check_password(ctx, detail::kAccounts, login_id, forms);
  const std::string hash = checked.match ? hash_secret(next) : "";
  const std::string object = "account:" + (login_id.size() <= 32 ? login_id : login_id.substr(0, 32));
  const std::string actor = (login_id.starts_with("U") ? "user:" : "company:") + object.substr(8);
  db::Transaction tx(ctx.db);
  if (!detail::settle_password(ctx, detail::kAccounts, checked, ctx.config.ra.password_max_failures,
                               {actor, object, "ra.account.login_failure", "ra.account.locked",
                                {{"for", "password change"}}})) {
    tx.commit();
    throw Error(ErrorKind::unauthenticated, refused_message(login_id));
  }
  const std::int64_t id = *checked.id;
  db::Statement was(ctx.db, "SELECT must_change_password FROM ra_accounts WHERE id = ?");
  was.bind(1, id);
  was.step();
  const bool was_initial = was.int64(0) != 0;
  const UnixTime now = ctx.clock();
  db::Statement up(ctx.db, "UPDATE ra_accounts SET password_hash = ?, must_change_password = 0, failed_logins = 0, "
                           "updated_at = ? WHERE id = ?");
  up.bind(1, hash).bind(2, now).bind(3, id).exec();
  // Whoever knew the old password is out: every other session of the ID ends.
  db::Statement end(ctx.db, "UPDATE ra_account_sessions SET ended_at = ? WHERE account_id = ? AND ended_at IS NULL "
                            "AND id != ?");
  end.bind(1, now).bind(2, id).bind(3, keep_session).exec();
  const int ended = ctx.db.changes();
  detail::audit(ctx, actor, "ra.account.password", object, {{"was_initial", was_initial}, {"sessions_ended", ended}});
  tx.commit();
  return ended;
}

void unlock_account(RaContext& ctx, const Principal& by, const std::string& login_id) {
  by.require(Permission::administer, "unlock company and user IDs");
  db::Transaction tx(ctx.db);
  Account a = detail::get_account(ctx, login_id);
  if (!a.locked && a.failed_logins == 0) throw Error(ErrorKind::conflict, "ID " + login_id + " is not locked");
  db::Statement up(ctx.db, "UPDATE ra_accounts SET failed_logins = 0, locked_at = NULL, updated_at = ? WHERE id = ?");
  up.bind(1, ctx.clock()).bind(2, a.id).exec();
  detail::audit(ctx, by.actor(), "ra.account.unlock", "account:" + login_id, {{"failed_logins", a.failed_logins}});
  tx.commit();
}

std::vector<Account> list_accounts(RaContext& ctx, const Principal& by, std::optional<std::int64_t> company_id) {
  detail::require_company_read(by, company_id, "list company and user IDs");
  return detail::list_accounts(ctx, company_id);
}

Account get_account(RaContext& ctx, const Principal& by, const std::string& login_id) {
  // Operators are checked before the lookup, so an unknown ID is not_found only for those who may read.
  if (by.is_operator()) by.require(Permission::read, "show a company or user ID");
  Account a = detail::get_account(ctx, login_id);
  if (!by.is_operator()) detail::require_company_read(by, a.company_id, "show a company or user ID");
  return a;
}

}  // namespace jitsuin::ra
