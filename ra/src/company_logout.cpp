// Log out everywhere for company admins (issue 11, webadmin): declared in company_session.h.
#include "jitsuin/core/error.h"
#include "jitsuin/ra/company_session.h"
#include "ra_core.h"

namespace jitsuin::ra {

int end_all_company_sessions(RaContext& ctx, const Principal& who) {
  if (who.kind() != PrincipalKind::company_admin)
    throw Error(ErrorKind::forbidden, principal_kind_name(who.kind()) + " " + who.name() +
                                          " has no company sessions (operators use session.logout_all)");
  db::Transaction tx(ctx.db);
  db::Statement up(ctx.db, "UPDATE ra_account_sessions SET ended_at = ? WHERE account_id = ? AND ended_at IS NULL");
  up.bind(1, ctx.clock()).bind(2, who.id()).exec();
  int ended = ctx.db.changes();
  detail::audit(ctx, who.actor(), "ra.account.logout_all", "account:" + who.name(), {{"sessions", ended}});
  tx.commit();
  return ended;
}

}  // namespace jitsuin::ra
