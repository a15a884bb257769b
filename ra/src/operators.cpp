#include "jitsuin/ra/operators.h"

#include <algorithm>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/secret.h"
#include "attempts.h"
#include "ra_core.h"
#include "session_cache.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {


const char* kLoginRefused = "wrong operator name or password, or the account is locked";

void check_name(const std::string& name) {
  bool ok = name.size() >= 3 && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
            });
  JITSUIN_ARG_CHECK(ok, "operator name '" + name + "' must be 3-32 characters of a-z, 0-9, '.', '_' and '-'");
}

void check_password(const std::string& password) { detail::check_password_policy(password); }

OperatorInfo read_info(db::Statement& st) {
  OperatorInfo o;
  o.id = st.int64(0);
  o.name = st.text(1);
  o.display_name = st.text(2);
  o.role = parse_role(st.text(3));
  o.failed_logins = static_cast<int>(st.int64(4));
  o.locked = !st.is_null(5);
  o.disabled = !st.is_null(6);
  o.created_at = st.int64(7);
  o.created_by = st.text(8);
  o.approved_at = st.opt_int64(9);
  o.pending = !o.approved_at.has_value();
  o.approved_by = st.is_null(10) ? "" : st.text(10);
  o.password_temporary = st.int64(11) != 0;
  return o;
}

constexpr const char* kInfoSelect =
    "SELECT id, name, display_name, role, failed_logins, locked_at, disabled_at, created_at, created_by, "
    "approved_at, approved_by, password_temporary FROM ra_operators ";

// Roles whose accounts a second administrator approves: they can approve or administer.
bool needs_approval(Role role) { return role == Role::approver || role == Role::administrator; }

// Administrators that can act: approved and not disabled (a locked one still counts: another
// administrator, or the break-glass, unlocks it).
std::int64_t active_administrators(RaContext& ctx) {
  db::Statement n(ctx.db,
                  "SELECT count(*) FROM ra_operators WHERE role = 'administrator' AND disabled_at IS NULL "
                  "AND approved_at IS NOT NULL");
  n.step();
  return n.int64(0);
}

const char* kTemporaryPassword = "has a temporary password: set your own first with jitsuin ra passwd";

std::optional<OperatorInfo> find_operator(RaContext& ctx, const std::string& name) {
  db::Statement st(ctx.db, std::string(kInfoSelect) + "WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_info(st);
}

}  // namespace

std::string role_name(Role role) {
  switch (role) {
    case Role::operator_: return "operator";
    case Role::approver: return "approver";
    case Role::auditor: return "auditor";
    case Role::administrator: return "administrator";
  }
  return "?";
}

Role parse_role(const std::string& name) {
  for (Role r : {Role::operator_, Role::approver, Role::auditor, Role::administrator})
    if (role_name(r) == name) return r;
  throw Error(ErrorKind::invalid_input,
              "unknown role '" + name + "' (known: operator, approver, auditor, administrator)");
}

std::string principal_kind_name(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::operator_: return "operator";
    case PrincipalKind::company_admin: return "company admin";
    case PrincipalKind::company_user: return "company user";
  }
  return "?";
}

std::string Principal::actor() const {
  switch (kind_) {
    case PrincipalKind::operator_: return "ra:" + name_;
    case PrincipalKind::company_admin: return "company:" + name_;
    case PrincipalKind::company_user: return "user:" + name_;
  }
  return "?";
}

bool Principal::can(Permission p) const {
  if (kind_ != PrincipalKind::operator_) return false;
  switch (p) {
    case Permission::read: return true;
    case Permission::enter: return role_ != Role::auditor;
    case Permission::approve: return role_ == Role::approver || role_ == Role::administrator;
    case Permission::administer: return role_ == Role::administrator;
  }
  return false;
}

void Principal::require(Permission p, const std::string& what) const {
  require_operator(what);
  if (!can(p))
    throw Error(ErrorKind::forbidden, "operator " + name_ + " (role " + role_name(role_) + ") may not " + what);
}

void Principal::require_operator(const std::string& what) const {
  if (kind_ != PrincipalKind::operator_)
    throw Error(ErrorKind::forbidden, principal_kind_name(kind_) + " " + name_ + " is not an RA operator and may not " + what);
  if (password_change_only_)
    throw Error(ErrorKind::forbidden, "operator " + name_ + " " + kTemporaryPassword + "; until then it may not " + what);
}

bool any_operator(RaContext& ctx) {
  db::Statement st(ctx.db, "SELECT EXISTS (SELECT 1 FROM ra_operators)");
  st.step();
  return st.int64(0) != 0;
}

OperatorInfo add_operator(RaContext& ctx, const Principal* by, const std::string& name, const std::string& display_name,
                          Role role, const std::string& password, bool temporary_password) {
  // Who may ask comes before what is asked: someone who may not create accounts learns nothing
  // about the rules of names and passwords.
  if (by) by->require(Permission::administer, "create operator accounts");
  check_name(name);
  std::string display = detail::text_field(display_name.empty() ? name : display_name, "display name", 64, true);
  check_password(password);
  std::string hash = hash_secret(password);   // slow: outside the write lock
  db::Transaction tx(ctx.db);
  if (!by) {
    if (any_operator(ctx))
      throw Error(ErrorKind::unauthenticated,
                  "operators exist already: log in as an administrator (jitsuin login) to add more");
    JITSUIN_ARG_CHECK(role == Role::administrator, "the first operator must be an administrator");
  }
  std::string creator = by ? by->actor() : "bootstrap";
  UnixTime now = ctx.clock();
  // The bootstrap account chose its own password and has no one to approve it; every other
  // account's password was set by its creator (temporary), and approver and administrator
  // accounts wait for a second administrator. A generated bootstrap password is temporary too.
  const bool pending = by && needs_approval(role);
  const bool temporary = by != nullptr || temporary_password;
  try {
    db::Statement ins(ctx.db,
                      "INSERT INTO ra_operators (name, display_name, role, password_hash, created_at, created_by, "
                      "approved_at, approved_by, password_temporary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, name).bind(2, display).bind(3, role_name(role)).bind(4, hash).bind(5, now).bind(6, creator);
    if (pending) ins.bind_null(7).bind_null(8);
    else ins.bind(7, now).bind(8, creator);
    ins.bind(9, temporary ? 1 : 0).exec();
  } catch (const db::DbError& e) {
    if (e.is_unique_violation()) throw Error(ErrorKind::conflict, "operator '" + name + "' exists already");
    throw;
  }
  std::int64_t id = ctx.db.last_insert_rowid();
  detail::audit(ctx, creator, "ra.operator.add", "operator:" + name,
                {{"role", role_name(role)}, {"id", id}, {"pending_approval", pending}, {"temporary_password", temporary}});
  tx.commit();
  return *find_operator(ctx, name);
}

std::vector<OperatorInfo> list_operators(RaContext& ctx, const Principal& by) {
  by.require(Permission::read, "list operators");
  db::Statement st(ctx.db, std::string(kInfoSelect) + "ORDER BY name");
  std::vector<OperatorInfo> out;
  while (st.step()) out.push_back(read_info(st));
  return out;
}

void unlock_operator(RaContext& ctx, const Principal& by, const std::string& name) {
  by.require(Permission::administer, "unlock operator accounts");
  db::Transaction tx(ctx.db);
  auto op = find_operator(ctx, name);
  if (!op) throw Error(ErrorKind::not_found, "no operator '" + name + "'");
  if (!op->locked && op->failed_logins == 0) throw Error(ErrorKind::conflict, "operator '" + name + "' is not locked");
  db::Statement up(ctx.db, "UPDATE ra_operators SET failed_logins = 0, locked_at = NULL WHERE id = ?");
  up.bind(1, op->id).exec();
  detail::audit(ctx, by.actor(), "ra.operator.unlock", "operator:" + name, {{"failed_logins", op->failed_logins}});
  tx.commit();
}

void approve_operator(RaContext& ctx, const Principal& by, const std::string& name) {
  by.require(Permission::administer, "approve operator accounts");
  db::Transaction tx(ctx.db);
  auto op = find_operator(ctx, name);
  if (!op) throw Error(ErrorKind::not_found, "no operator '" + name + "'");
  if (!op->pending) throw Error(ErrorKind::conflict, "operator '" + name + "' is not waiting for approval");
  if (op->disabled) throw Error(ErrorKind::conflict, "operator '" + name + "' is disabled");
  if (op->created_by == by.actor())
    throw Error(ErrorKind::forbidden, "operator " + by.name() + " created '" + name +
                                          "' and may not approve it: a second administrator approves it");
  db::Statement up(ctx.db, "UPDATE ra_operators SET approved_at = ?, approved_by = ? WHERE id = ?");
  up.bind(1, ctx.clock()).bind(2, by.actor()).bind(3, op->id).exec();
  detail::audit(ctx, by.actor(), "ra.operator.approve", "operator:" + name,
                {{"role", role_name(op->role)}, {"created_by", op->created_by}, {"approved_by", by.actor()}});
  tx.commit();
}

namespace {

// The slow part of a custody proof, outside the write lock: the token checks the PIN. A refused
// PIN is audited (one entry, its own transaction) and throws unauthenticated.
void prove_custody(RaContext& ctx, const std::string& actor, const std::string& object, const char* purpose,
                   ca::CustodyPin pin_kind, const std::string& pin) {
  if (ca::verify_custody_pin(ctx.config, pin_kind, pin)) return;
  db::Transaction tx(ctx.db);
  detail::audit(ctx, actor, "ra.custody.failure", object, {{"for", purpose}, {"pin", ca::custody_pin_name(pin_kind)}});
  tx.commit();
  throw Error(ErrorKind::unauthenticated, "the CA token refused the " +
                                              std::string(pin_kind == ca::CustodyPin::so ? "SO PIN" : "user PIN"));
}

std::string custody_actor(const std::string& actor, ca::CustodyPin pin_kind) {
  return "ca-custody:" + actor + " (" + ca::custody_pin_name(pin_kind) + " PIN)";
}

}  // namespace

void approve_operator_by_custody(RaContext& ctx, const std::string& actor, const std::string& name,
                                 ca::CustodyPin pin_kind, const std::string& pin) {
  // Refuse what the PIN cannot change before asking the token.
  auto precheck = [&] {
    auto op = find_operator(ctx, name);
    if (!op) throw Error(ErrorKind::not_found, "no operator '" + name + "'");
    if (!op->pending) throw Error(ErrorKind::conflict, "operator '" + name + "' is not waiting for approval");
    if (op->disabled) throw Error(ErrorKind::conflict, "operator '" + name + "' is disabled");
    std::int64_t admins = active_administrators(ctx);
    if (admins > 1)
      throw Error(ErrorKind::conflict, "there are " + std::to_string(admins) +
                                           " active administrators: one who did not create '" + name +
                                           "' approves it (jitsuin ra operator-approve)");
    return *op;
  };
  precheck();
  prove_custody(ctx, actor, "operator:" + name, "operator approval", pin_kind, pin);
  db::Transaction tx(ctx.db);
  OperatorInfo op = precheck();
  std::string approver = custody_actor(actor, pin_kind);
  db::Statement up(ctx.db, "UPDATE ra_operators SET approved_at = ?, approved_by = ? WHERE id = ?");
  up.bind(1, ctx.clock()).bind(2, approver).bind(3, op.id).exec();
  detail::audit(ctx, actor, "ra.operator.approve", "operator:" + name,
                {{"role", role_name(op.role)}, {"created_by", op.created_by}, {"approved_by", approver},
                 {"proof", "ca-custody"}, {"pin", ca::custody_pin_name(pin_kind)}});
  tx.commit();
}

void break_glass_unlock(RaContext& ctx, const std::string& actor, const std::string& name, ca::CustodyPin pin_kind,
                        const std::string& pin, const std::optional<std::string>& new_password) {
  if (new_password) check_password(*new_password);
  auto precheck = [&] {
    auto op = find_operator(ctx, name);
    if (!op) throw Error(ErrorKind::not_found, "no operator '" + name + "'");
    JITSUIN_ARG_CHECK(op->role == Role::administrator,
                      "'" + name + "' is " + role_name(op->role) + ", not an administrator: an administrator unlocks it");
    if (op->pending) throw Error(ErrorKind::conflict, "administrator '" + name + "' is still waiting for approval");
    if (op->disabled) throw Error(ErrorKind::conflict, "administrator '" + name + "' is disabled");
    if (!new_password && !op->locked && op->failed_logins == 0)
      throw Error(ErrorKind::conflict, "administrator '" + name + "' is not locked (give a new password to reset it)");
    return *op;
  };
  precheck();
  prove_custody(ctx, actor, "operator:" + name, "break-glass", pin_kind, pin);
  const std::string hash = new_password ? hash_secret(*new_password) : "";   // slow: outside the write lock
  db::Transaction tx(ctx.db);
  OperatorInfo op = precheck();
  UnixTime now = ctx.clock();
  db::Statement up(ctx.db, "UPDATE ra_operators SET failed_logins = 0, locked_at = NULL WHERE id = ?");
  up.bind(1, op.id).exec();
  if (new_password) {
    db::Statement pw(ctx.db, "UPDATE ra_operators SET password_hash = ?, password_temporary = 1 WHERE id = ?");
    pw.bind(1, hash).bind(2, op.id).exec();
    db::Statement end(ctx.db, "UPDATE ra_sessions SET ended_at = ? WHERE operator_id = ? AND ended_at IS NULL");
    end.bind(1, now).bind(2, op.id).exec();
  }
  detail::audit(ctx, actor, "ra.operator.break_glass", "operator:" + name,
                {{"proof", "ca-custody"}, {"pin", ca::custody_pin_name(pin_kind)}, {"failed_logins", op.failed_logins},
                 {"was_locked", op.locked}, {"password_reset", new_password.has_value()}});
  tx.commit();
}

void disable_operator(RaContext& ctx, const Principal& by, const std::string& name) {
  by.require(Permission::administer, "disable operator accounts");
  db::Transaction tx(ctx.db);
  auto op = find_operator(ctx, name);
  if (!op) throw Error(ErrorKind::not_found, "no operator '" + name + "'");
  if (op->disabled) throw Error(ErrorKind::conflict, "operator '" + name + "' is disabled already");
  if (op->role == Role::administrator && !op->pending && active_administrators(ctx) <= 1)
    throw Error(ErrorKind::conflict, "'" + name + "' is the last administrator");
  UnixTime now = ctx.clock();
  db::Statement up(ctx.db, "UPDATE ra_operators SET disabled_at = ? WHERE id = ?");
  up.bind(1, now).bind(2, op->id).exec();
  db::Statement end(ctx.db, "UPDATE ra_sessions SET ended_at = ? WHERE operator_id = ? AND ended_at IS NULL");
  end.bind(1, now).bind(2, op->id).exec();
  detail::audit(ctx, by.actor(), "ra.operator.disable", "operator:" + name, json::object());
  tx.commit();
}

int change_password(RaContext& ctx, const Principal& who, const std::string& current, const std::string& next,
                    KeepKeys keep_keys) {
  // Not require_operator(): a principal that may only change its temporary password comes here.
  if (!who.is_operator())
    throw Error(ErrorKind::forbidden, principal_kind_name(who.kind()) + " " + who.name() +
                                          " is not an RA operator and may not change an operator password");
  check_password(next);
  JITSUIN_ARG_CHECK(next != current, "the new password must differ from the current one");
  // As login(): both scrypt runs (checking the current password, hashing the next) before the write
  // lock; then one transaction that re-reads the account and either counts a wrong current
  // password (with the lockout) or stores the new hash — one audit entry either way.
  detail::PasswordCheck checked = detail::check_password(ctx, detail::kOperators, who.id(), {current});
  const std::string hash = checked.match ? hash_secret(next) : "";
  const std::string object = "operator:" + who.name();
  db::Transaction tx(ctx.db);
  if (!detail::settle_password(ctx, detail::kOperators, checked, ctx.config.ra.password_max_failures,
                               {who.actor(), object, "ra.login.failure", "ra.operator.locked",
                                {{"for", "password change"}}})) {
    tx.commit();
    throw Error(ErrorKind::unauthenticated, kLoginRefused);
  }
  db::Statement tmp(ctx.db, "SELECT password_temporary FROM ra_operators WHERE id = ?");
  tmp.bind(1, who.id());
  tmp.step();
  const bool was_temporary = tmp.int64(0) != 0;
  db::Statement up(ctx.db,
                   "UPDATE ra_operators SET password_hash = ?, failed_logins = 0, password_temporary = 0 WHERE id = ?");
  up.bind(1, hash).bind(2, who.id()).exec();
  // Whoever knew the old password is out: every other session ends, and the keys unless kept.
  db::Statement end(ctx.db, "UPDATE ra_sessions SET ended_at = ?1 WHERE operator_id = ?2 AND ended_at IS NULL "
                            "AND id != ?3 AND (kind = 'login' OR ?4 = 0)");
  end.bind(1, ctx.clock()).bind(2, who.id()).bind(3, who.session_id()).bind(4, keep_keys == KeepKeys::yes ? 1 : 0).exec();
  const int ended = ctx.db.changes();
  detail::audit(ctx, who.actor(), "ra.operator.password", object,
                {{"was_temporary", was_temporary}, {"sessions_ended", ended}, {"keys_kept", keep_keys == KeepKeys::yes}});
  tx.commit();
  return ended;
}

namespace {

// A new session row for an operator, inside the caller's transaction. Returns the session and
// its row id.
std::pair<Session, std::int64_t> insert_session(RaContext& ctx, std::int64_t operator_id, UnixTime lifetime,
                                                const char* kind = "login", const std::string& label = "") {
  Bytes token = random_bytes(32);
  Session s{to_hex(token), ctx.clock() + lifetime};
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_sessions (token_sha256, operator_id, created_at, expires_at, kind, label) "
                    "VALUES (?, ?, ?, ?, ?, ?)");
  ins.bind_blob(1, sha256(s.token)).bind(2, operator_id).bind(3, ctx.clock()).bind(4, s.expires_at);
  ins.bind(5, kind).bind(6, label).exec();
  return {s, ctx.db.last_insert_rowid()};
}

LoginResult login_impl(RaContext& ctx, const std::string& name, const std::string& password, bool with_session) {
  // The one password login (attempts.h): scrypt before the write lock, the outcome counted under it.
  detail::PasswordCheck checked = detail::check_password(ctx, detail::kOperators, name, {password});
  db::Transaction tx(ctx.db);
  std::string object = "operator:" + (name.size() <= 64 ? name : name.substr(0, 64));
  if (!detail::settle_password(ctx, detail::kOperators, checked, ctx.config.ra.password_max_failures,
                               {"anonymous", object, "ra.login.failure", "ra.operator.locked"})) {
    tx.commit();
    return {std::nullopt, kLoginRefused, std::nullopt};
  }
  const std::int64_t* id = &*checked.id;
  db::Statement st(ctx.db, "SELECT role, approved_at IS NULL, password_temporary FROM ra_operators WHERE id = ?");
  st.bind(1, *id);
  st.step();
  Role role = parse_role(st.text(0));
  const bool pending = st.int64(1) != 0, temporary = st.int64(2) != 0;
  if (pending) {
    // The right password of an account not yet approved: say why (this reveals nothing to someone
    // who does not know the password).
    detail::audit(ctx, "anonymous", "ra.login.failure", object, {{"why", "pending approval"}});
    tx.commit();
    return {std::nullopt,
            "operator " + name + " is waiting for a second administrator's approval (jitsuin ra operator-approve)",
            std::nullopt};
  }
  LoginResult out{PrincipalFactory::make_operator(*id, name, role, temporary), "", std::nullopt};
  out.password_change_required = temporary;
  json details = json::object();
  if (temporary) details["temporary_password"] = true;
  if (with_session) {
    auto [session, row] = insert_session(ctx, *id, static_cast<UnixTime>(ctx.config.ra.session_hours) * 3600);
    details["expires"] = format_rfc3339(session.expires_at);
    details["session"] = row;
    out.session = session;
  }
  detail::audit(ctx, "ra:" + name, "ra.login", object, details);
  tx.commit();
  return out;
}

Session new_session(RaContext& ctx, const Principal& who, UnixTime lifetime, const char* action) {
  who.require_operator("start an RA session");
  db::Transaction tx(ctx.db);
  auto [s, row] = insert_session(ctx, who.id(), lifetime);
  detail::audit(ctx, who.actor(), action, "operator:" + who.name(),
                {{"expires", format_rfc3339(s.expires_at)}, {"session", row}});
  tx.commit();
  return s;
}

}  // namespace

LoginResult login(RaContext& ctx, const std::string& name, const std::string& password) {
  return login_impl(ctx, name, password, false);
}

LoginResult login_session(RaContext& ctx, const std::string& name, const std::string& password) {
  return login_impl(ctx, name, password, true);
}

Session start_session(RaContext& ctx, const Principal& who) {
  return new_session(ctx, who, static_cast<UnixTime>(ctx.config.ra.session_hours) * 3600, "ra.session.start");
}

Session issue_operator_key(RaContext& ctx, const Principal& who, int days, const std::string& password,
                           const std::string& label) {
  who.require_operator("make operator keys");
  if (who.via_key())
    throw Error(ErrorKind::forbidden, "an operator key cannot make operator keys: log in (jitsuin login) and make it "
                                      "from that session");
  const int max = ctx.config.ra.api_key_max_days;
  JITSUIN_ARG_CHECK(days >= 1 && days <= max,
                    "an operator key lasts 1 to " + std::to_string(max) + " days (ra.api_key_max_days)");
  const std::string what = detail::text_field(label, "label", 64, false);
  // The password again: a session left open (or stolen) does not make long-lived keys by itself.
  detail::PasswordCheck checked = detail::check_password(ctx, detail::kOperators, who.id(), {password});
  db::Transaction tx(ctx.db);
  const std::string object = "operator:" + who.name();
  if (!detail::settle_password(ctx, detail::kOperators, checked, ctx.config.ra.password_max_failures,
                               {who.actor(), object, "ra.login.failure", "ra.operator.locked", {{"for", "operator key"}}})) {
    tx.commit();
    throw Error(ErrorKind::unauthenticated, kLoginRefused);
  }
  auto [key, row] = insert_session(ctx, who.id(), static_cast<UnixTime>(days) * 86400, "key", what);
  detail::audit(ctx, who.actor(), "ra.operator.key", object,
                {{"expires", format_rfc3339(key.expires_at)}, {"session", row}, {"label", what}});
  tx.commit();
  return key;
}

std::vector<OperatorKey> list_operator_keys(RaContext& ctx, const Principal& who) {
  who.require_operator("list operator keys");
  db::Statement st(ctx.db, "SELECT id, label, created_at, expires_at FROM ra_sessions WHERE operator_id = ? "
                           "AND kind = 'key' AND ended_at IS NULL AND expires_at > ? ORDER BY id");
  st.bind(1, who.id()).bind(2, ctx.clock());
  std::vector<OperatorKey> out;
  while (st.step()) out.push_back({st.int64(0), st.text(1), st.int64(2), st.int64(3)});
  return out;
}

void revoke_operator_key(RaContext& ctx, const Principal& who, std::int64_t key_id) {
  who.require_operator("revoke operator keys");
  db::Transaction tx(ctx.db);
  db::Statement up(ctx.db, "UPDATE ra_sessions SET ended_at = ? WHERE id = ? AND operator_id = ? AND kind = 'key' "
                           "AND ended_at IS NULL AND expires_at > ?");
  up.bind(1, ctx.clock()).bind(2, key_id).bind(3, who.id()).bind(4, ctx.clock()).exec();
  if (ctx.db.changes() != 1)
    throw Error(ErrorKind::not_found, "operator " + who.name() + " has no live operator key " + std::to_string(key_id));
  detail::audit(ctx, who.actor(), "ra.operator.key_revoke", "operator:" + who.name(), {{"session", key_id}});
  tx.commit();
}

Principal resume_session(RaContext& ctx, const std::string& token, SessionUse use) {
  UnixTime expires_at = 0;
  return detail::resume_operator_session(ctx, token, use, expires_at);
}

Principal detail::resume_operator_session(RaContext& ctx, const std::string& token, SessionUse use, UnixTime& expires_at) {
  auto st = ctx.db.cached(
                   "SELECT o.id, o.name, o.role, s.expires_at, s.ended_at IS NOT NULL, o.locked_at IS NOT NULL, "
                   "o.disabled_at IS NOT NULL OR o.approved_at IS NULL, o.password_temporary, s.id, s.kind = 'key' "
                   "FROM ra_sessions s JOIN ra_operators o ON o.id = s.operator_id WHERE s.token_sha256 = ?");
  st->bind_blob(1, sha256(token));
  if (!st->step()) throw Error(ErrorKind::unauthenticated, "not logged in (unknown session): run jitsuin login");
  if (st->int64(4)) throw Error(ErrorKind::unauthenticated, "the session has ended: run jitsuin login");
  if (st->int64(3) <= ctx.clock()) throw Error(ErrorKind::unauthenticated, "the session has expired: run jitsuin login");
  if (st->int64(5) || st->int64(6))
    throw Error(ErrorKind::unauthenticated, "operator " + st->text(1) + " is locked or disabled");
  const bool temporary = st->int64(7) != 0;
  if (temporary && use == SessionUse::any) throw Error(ErrorKind::forbidden, "operator " + st->text(1) + " " + kTemporaryPassword);
  expires_at = st->int64(3);
  return PrincipalFactory::make_operator(st->int64(0), st->text(1), parse_role(st->text(2)), temporary, st->int64(8),
                                        st->int64(9) != 0);
}

void end_session(RaContext& ctx, const std::string& token) {
  db::Transaction tx(ctx.db);
  db::Statement st(ctx.db,
                   "SELECT s.id, o.name FROM ra_sessions s JOIN ra_operators o ON o.id = s.operator_id "
                   "WHERE s.token_sha256 = ? AND s.ended_at IS NULL");
  st.bind_blob(1, sha256(token));
  if (!st.step()) return;
  std::int64_t id = st.int64(0);
  std::string name = st.text(1);
  db::Statement up(ctx.db, "UPDATE ra_sessions SET ended_at = ? WHERE id = ?");
  up.bind(1, ctx.clock()).bind(2, id).exec();
  detail::audit(ctx, "ra:" + name, "ra.session.end", "operator:" + name, {{"session", id}});
  tx.commit();
}

int end_all_sessions(RaContext& ctx, const Principal& who) {
  who.require_operator("end its sessions");
  db::Transaction tx(ctx.db);
  db::Statement up(ctx.db, "UPDATE ra_sessions SET ended_at = ? WHERE operator_id = ? AND ended_at IS NULL");
  up.bind(1, ctx.clock()).bind(2, who.id()).exec();
  int ended = ctx.db.changes();
  detail::audit(ctx, who.actor(), "ra.session.end_all", "operator:" + who.name(), {{"sessions", ended}});
  tx.commit();
  return ended;
}

namespace detail {

void require_read(const Principal& by, const std::string& what) { by.require(Permission::read, what); }

void require_company_read(const Principal& by, std::optional<std::int64_t> company_id, const std::string& what) {
  if (by.is_operator()) {
    by.require(Permission::read, what);
    return;
  }
  if (company_id && by.is_company_admin_of(*company_id)) return;
  throw Error(ErrorKind::forbidden, principal_kind_name(by.kind()) + " " + by.name() + " may not " + what +
                                        (by.kind() != PrincipalKind::company_admin ? ""
                                         : company_id ? " of another company"
                                                      : " of every company"));
}

}  // namespace detail

}  // namespace jitsuin::ra
