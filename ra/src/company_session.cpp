#include "jitsuin/ra/company_session.h"

#include "jitsuin/core/error.h"
#include "jitsuin/ra/accounts.h"
#include "ra_core.h"
#include "session_cache.h"

namespace jitsuin::ra {

using nlohmann::json;

LoginResult login_company_session(RaContext& ctx, const std::string& login_id, const std::string& password) {
  std::optional<Session> session;
  bool user_id = false;
  // The session row and the login's one audit entry are written by `then`, inside login_account's
  // transaction; a user ID is refused there, rolling back (its password was right: nothing counts).
  auto started = [&](const Principal& p) {
    if (p.kind() != PrincipalKind::company_admin) {
      user_id = true;
      throw Error(ErrorKind::unauthenticated, "company ID sessions only");
    }
    Bytes token = random_bytes(32);
    Session s{to_hex(token), ctx.clock() + static_cast<UnixTime>(ctx.config.ra.session_hours) * 3600};
    db::Statement ins(ctx.db,
                      "INSERT INTO ra_account_sessions (token_sha256, account_id, created_at, expires_at) "
                      "VALUES (?, ?, ?, ?)");
    ins.bind_blob(1, sha256(s.token)).bind(2, p.id()).bind(3, ctx.clock()).bind(4, s.expires_at).exec();
    detail::audit(ctx, p.actor(), "ra.account.login", "account:" + p.name(),
                  {{"kind", "company"}, {"company", p.company_id()}, {"session", ctx.db.last_insert_rowid()},
                   {"expires", format_rfc3339(s.expires_at)}});
    session = s;
  };
  try {
    LoginResult r = login_account(ctx, login_id, password, started);
    r.session = session;   // password_change_required: the session allows only company.passwd
    return r;
  } catch (const Error& e) {
    if (!user_id) throw;
    return {std::nullopt, "user ID " + login_id + " cannot log in here: company IDs (企業ID) only", std::nullopt};
  }
}

Principal resume_company_session(RaContext& ctx, const std::string& token) {
  UnixTime expires_at = 0;
  return detail::resume_company_admin_session(ctx, token, SessionUse::any, expires_at);
}

Principal detail::resume_company_admin_session(RaContext& ctx, const std::string& token, SessionUse use,
                                               UnixTime& expires_at) {
  auto st = ctx.db.cached(
      "SELECT a.id, a.login_id, a.kind, a.company_id, s.expires_at, s.ended_at IS NOT NULL, "
      "a.locked_at IS NOT NULL OR a.disabled_at IS NOT NULL, a.must_change_password, s.id "
      "FROM ra_account_sessions s JOIN ra_accounts a ON a.id = s.account_id WHERE s.token_sha256 = ?");
  st->bind_blob(1, sha256(token));
  if (!st->step()) throw Error(ErrorKind::unauthenticated, "not logged in (unknown session): log in with company.login");
  if (st->int64(5)) throw Error(ErrorKind::unauthenticated, "the session has ended: log in with company.login");
  if (st->int64(4) <= ctx.clock()) throw Error(ErrorKind::unauthenticated, "the session has expired: log in with company.login");
  if (st->int64(6)) throw Error(ErrorKind::unauthenticated, "company ID " + st->text(1) + " is locked or disabled");
  if (st->text(2) != "company") throw Error(ErrorKind::unauthenticated, "not a company ID session");
  // The one place a company session is authorised: with the mailed initial password still in force
  // it allows only the password change (and whoami, logout), as an operator's temporary password.
  const bool must_change = st->int64(7) != 0;
  if (must_change && use == SessionUse::any) throw Error(ErrorKind::forbidden, password_change_required(st->text(1)));
  expires_at = st->int64(4);
  return PrincipalFactory::make_account(PrincipalKind::company_admin, st->int64(0), st->text(1), st->int64(3),
                                        must_change, st->int64(8));
}

bool is_company_session(RaContext& ctx, const std::string& token) {
  auto st = ctx.db.cached("SELECT EXISTS (SELECT 1 FROM ra_account_sessions WHERE token_sha256 = ?)");
  st->bind_blob(1, sha256(token));
  st->step();
  return st->int64(0) != 0;
}

Principal resume_any_session(RaContext& ctx, const std::string& token, SessionUse use) {
  // Every bearer call comes here: a live session read since the last change of the database is
  // answered from the connection's cache (session_cache.h); its expiry is checked now. Anything
  // else — unknown, ended, expired, locked, a temporary password outside the password change —
  // is read again and refused with the database's own words.
  auto& cache = detail::read_cache(ctx);
  const bool usable = cache.refresh(ctx.db);
  std::string key = detail::token_key(token);
  if (usable) {
    if (auto it = cache.sessions.find(key); it != cache.sessions.end() && it->second.expires_at > ctx.clock() &&
                                            !(it->second.principal.password_change_only() && use == SessionUse::any))
      return it->second.principal;
  }
  UnixTime expires_at = 0;
  Principal p = is_company_session(ctx, token) ? detail::resume_company_admin_session(ctx, token, use, expires_at)
                                               : detail::resume_operator_session(ctx, token, use, expires_at);
  if (usable) cache.sessions.insert_or_assign(std::move(key), detail::CachedSession{p, expires_at});
  return p;
}

void end_company_session(RaContext& ctx, const std::string& token) {
  db::Transaction tx(ctx.db);
  db::Statement st(ctx.db,
                   "SELECT s.id, a.login_id FROM ra_account_sessions s JOIN ra_accounts a ON a.id = s.account_id "
                   "WHERE s.token_sha256 = ? AND s.ended_at IS NULL");
  st.bind_blob(1, sha256(token));
  if (!st.step()) return;
  const std::int64_t id = st.int64(0);
  const std::string login_id = st.text(1);
  db::Statement up(ctx.db, "UPDATE ra_account_sessions SET ended_at = ? WHERE id = ?");
  up.bind(1, ctx.clock()).bind(2, id).exec();
  detail::audit(ctx, "company:" + login_id, "ra.account.logout", "account:" + login_id, {{"session", id}});
  tx.commit();
}

std::optional<std::string> session_holder(RaContext& ctx, const std::string& token) {
  // A token's holder never changes: the session that resume_any_session just read for this call
  // names it without a second lookup.
  auto& sessions = detail::read_cache(ctx).sessions;
  if (auto it = sessions.find(detail::token_key(token)); it != sessions.end()) return it->second.principal.name();
  auto st = ctx.db.cached(
      "SELECT o.name FROM ra_sessions s JOIN ra_operators o ON o.id = s.operator_id WHERE s.token_sha256 = ?1 "
      "UNION ALL SELECT a.login_id FROM ra_account_sessions s JOIN ra_accounts a ON a.id = s.account_id "
      "WHERE s.token_sha256 = ?1");
  st->bind_blob(1, sha256(token));
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

}  // namespace jitsuin::ra
