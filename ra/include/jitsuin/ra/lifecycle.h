#pragma once
// RA-3 life cycle of a certificate application (Form 5) as an explicit state machine:
//
//   received ──► incomplete ◄──► resubmitted
//      │              (documents missing or stale: the bundle goes back to the company)
//      └──────────┬────────────────┘
//                 ▼
//              checked ──► approved ──► pin_issued ──► notice_mailed ──► enrolled ──► issued
//                          (2nd person)   ▲   (PIN letter by     │
//                                         └── 本人限定受取郵便) ◄─┘ re-issue of the PIN
//
//   rejected and withdrawn end an application from any state before enrolment.
// Every transition is checked against this table, recorded in ra_application_events with actor and
// time, and appended to the audit log, in the transaction that changes the state.
#include <cstdint>
#include <string>
#include <vector>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

enum class State {
  received,       ///< paper bundle registered
  incomplete,     ///< returned to the company: documents missing or stale (不備)
  resubmitted,    ///< the company sent the missing documents
  checked,        ///< documents complete
  approved,       ///< approved by a second operator
  pin_issued,     ///< application PIN (申請PIN) issued, approval notice printed
  notice_mailed,  ///< approval notice sent by restricted-delivery mail (tracking number recorded)
  enrolled,       ///< the applicant entered the PIN and sent a CSR
  issued,         ///< certificate issued
  rejected,       ///< refused by the RA
  withdrawn,      ///< withdrawn by the company
};

std::string state_name(State s);
/// Throws invalid_input listing the known states.
State parse_state(const std::string& name);
/// Every state, in life-cycle order.
const std::vector<State>& all_states();
/// States reachable from s in one step.
const std::vector<State>& next_states(State s);
bool transition_allowed(State from, State to);
/// True for issued, rejected, withdrawn.
bool is_final(State s);

/// One recorded transition.
struct StateEvent {
  std::int64_t id = 0;
  std::string from;   ///< empty for the creation event
  std::string to;
  std::string actor;
  UnixTime at = 0;
  std::string note;
};

/// History of an application, oldest first.
std::vector<StateEvent> application_history(RaContext& ctx, const Principal& by, std::int64_t application_id);

}  // namespace jitsuin::ra
