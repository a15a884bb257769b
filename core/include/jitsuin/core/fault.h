#pragma once
// TEST ONLY: fault injection for crash tests. A request that crosses modules names the points
// where a crash would hurt most (after the token signed, inside the write transaction before its
// commit, after the commit); a crash test sets JITSUIN_TEST_CRASH_AT=<point> in a child process's
// environment and the process dies there at once, as with kill -9: no destructors, no rollback
// handlers, no flush. Without the variable (every real deployment) a point costs one getenv.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace jitsuin {

/// Kills the process with SIGKILL when the environment variable JITSUIN_TEST_CRASH_AT equals
/// `point` (test only; see above). Point names are "<request>.<step>", e.g. "issue.after_sign".
inline void test_crash_point(const char* point) {
  const char* want = std::getenv("JITSUIN_TEST_CRASH_AT");
  if (want && std::strcmp(want, point) == 0) {
    ::kill(::getpid(), SIGKILL);
    ::_exit(137);   // not reached
  }
}

}  // namespace jitsuin
