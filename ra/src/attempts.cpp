#include "attempts.h"

#include <algorithm>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/secret.h"
#include "ra_core.h"

namespace jitsuin::ra::detail {

using nlohmann::json;

Attempt count_wrong_attempt(RaContext& ctx, const AttemptCounter& c, std::int64_t id, int max,
                            const AttemptAudit& audit) {
  // One statement: parallel attempts in other transactions cannot overwrite each other's count.
  db::Statement up(ctx.db, std::string("UPDATE ") + c.table + " SET " + c.failures + " = " + c.failures + " + 1, " +
                               c.locked_at + " = CASE WHEN " + c.failures + " + 1 >= ?1 THEN COALESCE(" + c.locked_at +
                               ", ?2) ELSE " + c.locked_at + " END WHERE id = ?3 RETURNING " + c.failures);
  up.bind(1, max).bind(2, ctx.clock()).bind(3, id);
  if (!up.step()) throw Error(ErrorKind::internal, std::string("no row ") + std::to_string(id) + " in " + c.table);
  Attempt out;
  out.failures = static_cast<int>(up.int64(0));
  while (up.step()) {
  }
  out.locked = out.failures >= max;
  out.remaining = std::max(0, max - out.failures);
  json details = audit.details;
  details["failures"] = out.failures;
  detail::audit(ctx, audit.actor, out.locked ? audit.locked : audit.wrong, audit.object, details);
  return out;
}

UnknownCounter unknown_counter(RaContext& ctx, const std::string& kind, std::int64_t number) {
  db::Statement ins(ctx.db, "INSERT INTO ra_unknown_attempts (kind, number, failures) VALUES (?, ?, 0) "
                            "ON CONFLICT(kind, number) DO NOTHING");
  ins.bind(1, kind).bind(2, number).exec();
  db::Statement st(ctx.db, "SELECT id, failures, locked_at IS NOT NULL FROM ra_unknown_attempts "
                           "WHERE kind = ? AND number = ?");
  st.bind(1, kind).bind(2, number);
  st.step();
  return {st.int64(0), static_cast<int>(st.int64(1)), st.int64(2) != 0};
}

namespace {

PasswordCheck check(RaContext& ctx, const PasswordTable& t, const char* key, const auto& value,
                    const std::vector<std::string>& forms) {
  PasswordCheck out;
  std::optional<std::string> hash;
  {
    db::Statement st(ctx.db, std::string("SELECT id, password_hash FROM ") + t.table + " WHERE " + key + " = ?");
    st.bind(1, value);
    if (st.step()) {
      out.id = st.int64(0);
      hash = out.hash = st.text(1);
    }
  }
  for (const auto& f : forms)
    if (!out.match && !f.empty()) out.match = verify_secret_or_dummy(f, hash);
  return out;
}

}  // namespace

void check_password_policy(const std::string& password) {
  constexpr std::size_t kMinPassword = 12, kMaxPassword = 256;
  JITSUIN_ARG_CHECK(password.size() >= kMinPassword,
                    "the password must be at least " + std::to_string(kMinPassword) + " characters");
  JITSUIN_ARG_CHECK(password.size() <= kMaxPassword, "the password is too long");
}

PasswordCheck check_password(RaContext& ctx, const PasswordTable& table, const std::string& name,
                             const std::vector<std::string>& forms) {
  return check(ctx, table, table.name_column, name, forms);
}

PasswordCheck check_password(RaContext& ctx, const PasswordTable& table, std::int64_t id,
                             const std::vector<std::string>& forms) {
  return check(ctx, table, "id", id, forms);
}

bool settle_password(RaContext& ctx, const PasswordTable& t, const PasswordCheck& checked, int max,
                     const AttemptAudit& audit) {
  auto refuse = [&](const std::string& why) {
    json details = audit.details;
    details["why"] = why;
    detail::audit(ctx, audit.actor, audit.wrong, audit.object, details);
    return false;
  };
  if (!checked.id) return refuse("unknown");
  db::Statement st(ctx.db, std::string("SELECT ") + t.counter.failures + ", " + t.counter.locked_at +
                               " IS NOT NULL, disabled_at IS NOT NULL, password_hash FROM " + t.table + " WHERE id = ?");
  st.bind(1, *checked.id);
  if (!st.step()) return refuse("unknown");
  const int failures = static_cast<int>(st.int64(0));
  const bool locked = st.int64(1) != 0 || failures >= max, disabled = st.int64(2) != 0;
  if (disabled) return refuse("disabled");
  if (locked) return refuse("locked");
  // The password changed while it was being checked: the outcome says nothing about the new one.
  if (st.text(3) != checked.hash) return refuse("password changed during the check");
  if (!checked.match) {
    AttemptAudit wrong = audit;
    wrong.details["why"] = "wrong password";
    count_wrong_attempt(ctx, t.counter, *checked.id, max, wrong);
    return false;
  }
  db::Statement up(ctx.db, std::string("UPDATE ") + t.table + " SET " + t.counter.failures + " = 0 WHERE id = ?");
  up.bind(1, *checked.id).exec();
  return true;
}

}  // namespace jitsuin::ra::detail
