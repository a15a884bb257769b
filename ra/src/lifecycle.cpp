#include "jitsuin/ra/lifecycle.h"

#include <algorithm>

#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "ra_core.h"

namespace jitsuin::ra {

namespace {

using nlohmann::json;

struct StateInfo {
  State state;
  const char* name;
  std::vector<State> next;
};

const std::vector<StateInfo>& table() {
  using S = State;
  static const std::vector<StateInfo> t = {
      {S::received, "received", {S::incomplete, S::checked, S::rejected, S::withdrawn}},
      {S::incomplete, "incomplete", {S::resubmitted, S::rejected, S::withdrawn}},
      {S::resubmitted, "resubmitted", {S::incomplete, S::checked, S::rejected, S::withdrawn}},
      {S::checked, "checked", {S::approved, S::incomplete, S::rejected, S::withdrawn}},
      {S::approved, "approved", {S::pin_issued, S::rejected, S::withdrawn}},
      // pin_issued → pin_issued: a PIN re-issued before the notice went out (misprint, lock-out).
      {S::pin_issued, "pin_issued", {S::notice_mailed, S::pin_issued, S::withdrawn}},
      // notice_mailed → pin_issued: re-issue after a lock-out, expiry or returned mail.
      {S::notice_mailed, "notice_mailed", {S::enrolled, S::pin_issued, S::withdrawn}},
      {S::enrolled, "enrolled", {S::issued}},
      {S::issued, "issued", {}},
      {S::rejected, "rejected", {}},
      {S::withdrawn, "withdrawn", {}},
  };
  return t;
}

const StateInfo& info(State s) {
  for (const auto& i : table())
    if (i.state == s) return i;
  throw Error(ErrorKind::internal, "unknown application state");
}

}  // namespace

std::string state_name(State s) { return info(s).name; }

State parse_state(const std::string& name) {
  std::string known;
  for (const auto& i : table()) {
    if (name == i.name) return i.state;
    known += (known.empty() ? "" : ", ") + std::string(i.name);
  }
  throw Error(ErrorKind::invalid_input, "unknown application state '" + name + "' (known: " + known + ")");
}

const std::vector<State>& all_states() {
  static const std::vector<State> all = [] {
    std::vector<State> v;
    for (const auto& i : table()) v.push_back(i.state);
    return v;
  }();
  return all;
}

const std::vector<State>& next_states(State s) { return info(s).next; }

bool transition_allowed(State from, State to) {
  const auto& n = next_states(from);
  return std::find(n.begin(), n.end(), to) != n.end();
}

bool is_final(State s) { return next_states(s).empty(); }

std::vector<StateEvent> detail::application_history(RaContext& ctx, std::int64_t application_id) {
  detail::current_state(ctx, application_id);  // not_found for unknown ids
  db::Statement st(ctx.db,
                   "SELECT id, from_state, to_state, actor, at, note FROM ra_application_events "
                   "WHERE application_id = ? ORDER BY id");
  st.bind(1, application_id);
  std::vector<StateEvent> out;
  while (st.step())
    out.push_back({st.int64(0), st.opt_text(1).value_or(""), st.text(2), st.text(3), st.int64(4), st.text(5)});
  return out;
}

namespace detail {

void audit(RaContext& ctx, const std::string& actor, const std::string& action, const std::string& object,
           const json& details) {
  db::append_audit(ctx.db, {actor, action, object, details.dump()}, ctx.clock());
}

State current_state(RaContext& ctx, std::int64_t application_id) {
  db::Statement st(ctx.db, "SELECT state FROM ra_applications WHERE id = ?");
  st.bind(1, application_id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no application " + std::to_string(application_id));
  return parse_state(st.text(0));
}

State transition(RaContext& ctx, std::int64_t application_id, State to, const std::string& actor,
                 const std::string& note, json details, TransitionAudit audit_mode) {
  if (!ctx.db.in_transaction()) throw Error(ErrorKind::internal, "state transitions must run inside a transaction");
  State from = current_state(ctx, application_id);
  if (!transition_allowed(from, to)) {
    std::string allowed;
    for (State s : next_states(from)) allowed += (allowed.empty() ? "" : ", ") + state_name(s);
    throw Error(ErrorKind::conflict, "application " + std::to_string(application_id) + " is " + state_name(from) +
                                         "; it cannot become " + state_name(to) + " (allowed from " + state_name(from) +
                                         ": " + (allowed.empty() ? "none, it is final" : allowed) + ")");
  }
  UnixTime now = ctx.clock();
  db::Statement up(ctx.db, "UPDATE ra_applications SET state = ?, updated_at = ? WHERE id = ? AND state = ?");
  up.bind(1, state_name(to)).bind(2, now).bind(3, application_id).bind(4, state_name(from)).exec();
  if (ctx.db.changes() != 1) throw Error(ErrorKind::conflict, "application " + std::to_string(application_id) +
                                                                  " changed concurrently; try again");
  db::Statement ev(ctx.db,
                   "INSERT INTO ra_application_events (application_id, from_state, to_state, actor, at, note) "
                   "VALUES (?, ?, ?, ?, ?, ?)");
  ev.bind(1, application_id).bind(2, state_name(from)).bind(3, state_name(to)).bind(4, actor).bind(5, now).bind(6, note);
  ev.exec();
  if (audit_mode == TransitionAudit::caller) return from;
  details["from"] = state_name(from);
  details["to"] = state_name(to);
  if (!note.empty()) details["note"] = note;
  audit(ctx, actor, "ra.application." + state_name(to), "application:" + std::to_string(application_id), details);
  return from;
}

void record_created(RaContext& ctx, std::int64_t application_id, const std::string& actor) {
  db::Statement ev(ctx.db,
                   "INSERT INTO ra_application_events (application_id, from_state, to_state, actor, at, note) "
                   "VALUES (?, NULL, 'received', ?, ?, '')");
  ev.bind(1, application_id).bind(2, actor).bind(3, ctx.clock()).exec();
}


std::string text_field(const std::string& value, const std::string& field, std::size_t max_chars, bool required) {
  long n = utf8_length(value);
  JITSUIN_ARG_CHECK(n >= 0, field + " is not valid UTF-8 text");
  for (unsigned char c : value) JITSUIN_ARG_CHECK(c >= 0x20 && c != 0x7f, field + " contains control characters");
  std::size_t b = value.find_first_not_of(' '), e = value.find_last_not_of(' ');
  std::string v = b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
  JITSUIN_ARG_CHECK(!required || !v.empty(), field + " is required");
  JITSUIN_ARG_CHECK(static_cast<std::size_t>(utf8_length(v)) <= max_chars,
                    field + " must be at most " + std::to_string(max_chars) + " characters");
  return v;
}

std::string ascii_lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace detail

std::vector<StateEvent> application_history(RaContext& ctx, const Principal& by, std::int64_t application_id) {
  detail::require_read(by, "show the history of an application");
  return detail::application_history(ctx, application_id);
}

}  // namespace jitsuin::ra
