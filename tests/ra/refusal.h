#pragma once
// Test helpers for the applicant's refusals (core ReasonedError) and the audit entries they leave:
// enrollment_test.cpp, smime_coupon_test.cpp.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "jitsuin/core/error.h"
#include "jitsuin/db/database.h"

namespace jitsuin::ra::testing {

/// The refusal's reason (and remaining) from f, or a test failure.
template <typename F>
ReasonedError refused(F&& f, const std::string& reason) {
  try {
    f();
  } catch (const ReasonedError& e) {
    EXPECT_EQ(e.reason(), reason) << e.what();
    EXPECT_FALSE(e.message_ja().empty());
    return e;
  }
  ADD_FAILURE() << "expected a refusal " << reason;
  return ReasonedError(ErrorKind::internal, "none", "none", "none");
}

/// How many audit entries have `action`.
inline std::int64_t audit_entries(db::Database& db, const std::string& action) {
  db::Statement st(db, "SELECT count(*) FROM audit_log WHERE action = ?");
  st.bind(1, action);
  st.step();
  return st.int64(0);
}

}  // namespace jitsuin::ra::testing
