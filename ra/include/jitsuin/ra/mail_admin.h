#pragma once
// The outbox (RA-10) as people see it in the consoles (issue 11): the RA's list of mails with their
// delivery state and failures and a retry of a failed mail; a company admin's own notification mails
// (seed 003: the mails the company was sent). Never a mail's secret (a PIN, an initial password):
// those are sealed in the row until delivery and gone after it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/outbox.h"
#include "jitsuin/ra/paging.h"

namespace jitsuin::ra {

/// One page of outbox rows (optionally one state), newest first (paging.h; the cursor is a mail id,
/// field name "before_id"). `by`: an RA operator with Permission::read. Throws invalid_input for a
/// bad page or an unknown state.
Page<OutboxEntry> list_mails(RaContext& ctx, const Principal& by, const std::optional<std::string>& state,
                             const PageRequest& page = {});

/// Sends a failed mail again: the row goes back to 'pending', due now, attempts from zero (the
/// worker or `jitsuin outbox deliver` sends it); one transaction, audited as ra.mail.retry.
/// `by`: Permission::enter. Throws not_found for an unknown id; conflict when the row is not
/// 'failed', or when its mail carried a secret (download PIN, initial password): that secret was
/// discarded when delivery gave up, so the mail cannot be rebuilt — re-issue the PIN or password.
OutboxEntry retry_mail(RaContext& ctx, const Principal& by, std::int64_t id);

/// A notification mail as its company admin reads it: what was sent, when, to whom and in what
/// state; the subject and text only for mails that never carry a secret.
struct CompanyMail {
  OutboxEntry entry;
  std::optional<std::string> subject, body;   ///< nullopt for mails that carry a secret
};

/// The mails sent to the company of `by` (its company admin, kind company_admin; anyone else:
/// forbidden), one page, newest first (paging.h; cursor "before_id"): those addressed to an address
/// of the company's own IDs (company ID and user IDs) or of a contact in its additional-certificate
/// requests, and to no address of another company's, so that nothing of another company is ever listed.
Page<CompanyMail> company_mails(RaContext& ctx, const Principal& by, const PageRequest& page = {});

/// The SQL of the pages above (list_mails without and with a state, company_mails), for the tests'
/// EXPLAIN QUERY PLAN: each must walk an index in id order, never sort the whole outbox.
std::vector<std::string> mail_page_queries();

}  // namespace jitsuin::ra
