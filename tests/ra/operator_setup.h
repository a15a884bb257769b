#pragma once
// Test setup: operator accounts as a running installation has them once issue 8's controls were
// passed (a second administrator, or CA custody, approved each approver and administrator, and
// each operator replaced the temporary first password). Fixtures that test other things start
// from there; the controls themselves are tested through the real steps (operators_test.cpp,
// ra_cli_test.cpp, walkthrough.sh).
#include "jitsuin/db/database.h"

namespace jitsuin::ra::testing {

/// Marks every operator account approved (approved_by "test-setup") with its own password.
inline void settle_operators(db::Database& db) {
  db::Statement st(db,
                   "UPDATE ra_operators SET approved_at = created_at, approved_by = 'test-setup', "
                   "password_temporary = 0 WHERE approved_at IS NULL OR password_temporary = 1");
  st.exec();
}

}  // namespace jitsuin::ra::testing
