// Issue 9 (i9perf): the per-connection cache of bearer sessions and address rate-limit rows
// (ra/src/session_cache.h). Two real connections to one SQLite file, as jitsuind's API connection
// and a CLI or another thread: every change committed on the other connection (logout, lock,
// unlock, disable, a temporary password, counted failures) is seen by the very next resume or
// check on the first, whose cache had the old row; so are its own changes and the clock (expiry,
// the end of a rate window).
#include <gtest/gtest.h>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/auth_limits.h"
#include "jitsuin/ra/company_session.h"
#include "jitsuin/ra/operators.h"
#include "operator_setup.h"
#include "support/support.h"

namespace jitsuin::ra {
namespace {

using test::expect_error;

const std::string kPassword = "correct horse battery";

struct TwoConnections {
  test::TempDir home;
  config::Config config = config::parse_config(
      read_file(std::filesystem::path(JITSUIN_SOURCE_DIR) / "config" / "jitsuin.json"), home.path(),
      std::filesystem::path(JITSUIN_SOURCE_DIR) / "config");
  UnixTime now = parse_rfc3339("2026-04-11T01:00:00Z");
  std::unique_ptr<db::Database> db_a = db::Database::open(home.path() / "jitsuin.db");
  std::unique_ptr<db::Database> db_b = db::Database::open(home.path() / "jitsuin.db");
  RaContext a{*db_a, config, [this] { return now; }};   // the server's connection, with its cache
  RaContext b{*db_b, config, [this] { return now; }};   // anyone else
  std::optional<Principal> admin;

  TwoConnections() {
    add_operator(b, nullptr, "admin", "Administrator", Role::administrator, kPassword);
    admin = *login(b, "admin", kPassword).principal;
    add_operator(b, &*admin, "bob", "", Role::operator_, kPassword);
    testing::settle_operators(*db_b);
  }
  std::string bob_session() { return login_session(b, "bob", kPassword).session->token; }
  // Resumed twice on `a`: the second from the cache.
  void warm(const std::string& token) {
    EXPECT_EQ(resume_any_session(a, token).name(), "bob");
    EXPECT_EQ(resume_any_session(a, token).name(), "bob");
  }
};

TEST(SessionCache, ChangesOnAnotherConnectionAreSeenByTheNextResume) {
  TwoConnections f;
  auto token = f.bob_session();
  f.warm(token);
  end_session(f.b, token);
  auto msg = expect_error([&] { resume_any_session(f.a, token); }, ErrorKind::unauthenticated);
  EXPECT_NE(msg.find("ended"), std::string::npos) << msg;
  EXPECT_EQ(session_holder(f.a, token), "bob");

  token = f.bob_session();
  f.warm(token);
  for (int i = 0; i < f.config.ra.password_max_failures; ++i) EXPECT_FALSE(login(f.b, "bob", "wrong wrong wrong").principal);
  msg = expect_error([&] { resume_any_session(f.a, token); }, ErrorKind::unauthenticated);
  EXPECT_NE(msg.find("locked or disabled"), std::string::npos) << msg;
  unlock_operator(f.b, *f.admin, "bob");
  f.warm(token);

  db::Statement(*f.db_b, "UPDATE ra_operators SET password_temporary = 1 WHERE name = 'bob'").exec();
  EXPECT_TRUE(resume_any_session(f.a, token, SessionUse::password_change).password_change_only());
  expect_error([&] { resume_any_session(f.a, token); }, ErrorKind::forbidden);
  db::Statement(*f.db_b, "UPDATE ra_operators SET password_temporary = 0 WHERE name = 'bob'").exec();
  f.warm(token);

  disable_operator(f.b, *f.admin, "bob");   // which ends bob's sessions too
  msg = expect_error([&] { resume_any_session(f.a, token); }, ErrorKind::unauthenticated);
  EXPECT_NE(msg.find("ended"), std::string::npos) << msg;
}

TEST(SessionCache, OwnChangesAndTheClockAreSeen) {
  TwoConnections f;
  auto token = f.bob_session();
  f.warm(token);
  end_session(f.a, token);   // on the cache's own connection
  expect_error([&] { resume_any_session(f.a, token); }, ErrorKind::unauthenticated);

  token = f.bob_session();
  f.warm(token);
  f.now += static_cast<UnixTime>(f.config.ra.session_hours) * 3600;   // expires_at reached, nothing written
  auto msg = expect_error([&] { resume_any_session(f.a, token); }, ErrorKind::unauthenticated);
  EXPECT_NE(msg.find("expired"), std::string::npos) << msg;
}

TEST(SessionCache, AddressRateLimitCountedElsewhereIsEnforcedAtOnce) {
  TwoConnections f;
  const std::string address = "192.0.2.7";
  check_address_limit(f.a, address);   // no row yet: remembered as such
  check_address_limit(f.a, address);
  for (int i = 0; i < f.config.server.auth_rate_per_address; ++i) count_bearer_failure(f.b, address);
  auto msg = expect_error([&] { check_address_limit(f.a, address); }, ErrorKind::rate_limited);
  EXPECT_NE(msg.find("address limit"), std::string::npos) << msg;
  // The window ends by the clock alone: the same row (cached again after the refusal) lets it in.
  f.now += f.config.server.auth_rate_window_seconds;
  check_address_limit(f.a, address);
  check_address_limit(f.a, address);
}

}  // namespace
}  // namespace jitsuin::ra
