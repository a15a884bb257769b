#pragma once
// Test helpers for the applicant's refusals (core ReasonedError) and the audit entries they leave:
// enrollment_test.cpp, smime_coupon_test.cpp.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "jitsuin/core/error.h"
#include "jitsuin/db/database.h"
#include "jitsuin/ra/enrollment.h"

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

/// What the applicant's status check (enroll.status) answers for a PIN: "accepted" and the state,
/// or the refusal's reason and the attempts left.
struct PinAnswer {
  std::string what;
  int remaining = -1;
  State state = State::received;
  std::string message;
};
inline PinAnswer status_answer(RaContext& ctx, std::int64_t id, const std::string& pin) {
  try {
    auto s = enrollment_status(ctx, id, pin, "enroll:test");
    return {"accepted", -1, s.state, s.message};
  } catch (const ReasonedError& e) {
    return {e.reason(), e.remaining(), State::received, e.what()};
  }
}

/// How many audit entries have `action`.
inline std::int64_t audit_entries(db::Database& db, const std::string& action) {
  db::Statement st(db, "SELECT count(*) FROM audit_log WHERE action = ?");
  st.bind(1, action);
  st.step();
  return st.int64(0);
}

}  // namespace jitsuin::ra::testing
