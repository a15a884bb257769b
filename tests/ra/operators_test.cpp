// Issue 8, "controls that one person can get around": approver and administrator accounts need a
// second administrator (or, with one administrator, a proof of CA custody); a password set by
// someone else is temporary; a locked-out administrator comes back by proof of CA custody. Real
// parts: an embedded SoftHSM2 token in the test's home checks the PINs, a SQLite file holds the
// accounts, and the jitsuin binary runs the same steps from the command line.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "jitsuin/config/config.h"
#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "jitsuin/hsm/softhsm.h"
#include "jitsuin/ra/operators.h"
#include "support/support.h"

namespace jitsuin::ra {
namespace {

using test::expect_error;

const std::string kPassword = "correct horse battery";
const std::string kFirst = "first password from admin";

config::Config source_config(const std::filesystem::path& home) {
  auto src = std::filesystem::path(JITSUIN_SOURCE_DIR) / "config";
  return config::parse_config(read_file(src / "jitsuin.json"), home, src);
}

// A fresh RA whose home holds the embedded CA token (created as `ca init` would, no keys needed
// here), with the bootstrap administrator "admin".
struct Controls {
  test::TempDir home;
  config::Config config = source_config(home.path());
  std::unique_ptr<db::Database> db = db::Database::open(home / "jitsuin.db");
  UnixTime now = parse_rfc3339("2026-04-11T01:00:00Z");
  RaContext ctx{*db, config, [this] { return now; }};
  std::optional<Principal> admin;

  Controls() {
    { hsm::Token t = hsm::open_ca_token(config, true); t.logout(); }
    add_operator(ctx, nullptr, "admin", "", Role::administrator, kPassword);
    admin = *login(ctx, "admin", kPassword).principal;
  }
  std::string so_pin() const { return read_secret_file(home / "ca.so-pin"); }
  std::string user_pin() const { return read_secret_file(config.hsm.pin_file); }
  std::int64_t audits(const std::string& action) {
    db::Statement st(*db, "SELECT count(*) FROM audit_log WHERE action = ?");
    st.bind(1, action);
    st.step();
    return st.int64(0);
  }
  OperatorInfo info(const std::string& name) {
    for (const auto& o : list_operators(ctx, *admin))
      if (o.name == name) return o;
    throw std::runtime_error("no operator " + name);
  }
  // Logs in with the first password, sets kPassword, and logs in again.
  Principal settle(const std::string& name) {
    auto first = login(ctx, name, kFirst);
    EXPECT_TRUE(first.principal) << first.message;
    EXPECT_TRUE(first.password_change_required);
    change_password(ctx, *first.principal, kFirst, kPassword);
    auto again = login(ctx, name, kPassword);
    EXPECT_FALSE(again.password_change_required);
    return *again.principal;
  }
};

TEST(RaOperatorControls, PrivilegedAccountNeedsASecondAdministrator) {
  Controls f;
  // An approver made by the only administrator: pending, cannot log in, its creator cannot approve.
  auto bob = add_operator(f.ctx, &*f.admin, "bob", "", Role::approver, kFirst);
  EXPECT_TRUE(bob.pending);
  auto refused = login(f.ctx, "bob", kFirst);
  EXPECT_FALSE(refused.principal);
  EXPECT_NE(refused.message.find("waiting for a second administrator"), std::string::npos) << refused.message;
  auto msg = expect_error([&] { approve_operator(f.ctx, *f.admin, "bob"); }, ErrorKind::forbidden);
  EXPECT_NE(msg.find("created 'bob' and may not approve it"), std::string::npos) << msg;
  // An operator (no approving power) is not pending; nor does it approve.
  EXPECT_FALSE(add_operator(f.ctx, &*f.admin, "alice", "", Role::operator_, kFirst).pending);
  auto alice = f.settle("alice");
  expect_error([&] { approve_operator(f.ctx, alice, "bob"); }, ErrorKind::forbidden);

  // The second administrator: with one active administrator, approved by proof of CA custody.
  add_operator(f.ctx, &*f.admin, "root2", "", Role::administrator, kFirst);
  EXPECT_FALSE(login(f.ctx, "root2", kFirst).principal);
  auto before = f.audits("ra.custody.failure");
  expect_error([&] { approve_operator_by_custody(f.ctx, "cli:test", "root2", ca::CustodyPin::so, "WRONG-SO-PIN-0000"); },
               ErrorKind::unauthenticated);
  EXPECT_EQ(f.audits("ra.custody.failure"), before + 1);
  EXPECT_TRUE(f.info("root2").pending);
  approve_operator_by_custody(f.ctx, "cli:test", "root2", ca::CustodyPin::so, f.so_pin());
  auto root2_info = f.info("root2");
  EXPECT_FALSE(root2_info.pending);
  EXPECT_EQ(root2_info.created_by, "ra:admin");
  EXPECT_EQ(root2_info.approved_by, "ca-custody:cli:test (so PIN)");
  auto root2 = f.settle("root2");

  // Two active administrators now: custody no longer approves; the other administrator does.
  msg = expect_error([&] { approve_operator_by_custody(f.ctx, "cli:test", "bob", ca::CustodyPin::so, f.so_pin()); },
                     ErrorKind::conflict);
  EXPECT_NE(msg.find("2 active administrators"), std::string::npos) << msg;
  approve_operator(f.ctx, root2, "bob");
  EXPECT_EQ(f.info("bob").approved_by, "ra:root2");
  expect_error([&] { approve_operator(f.ctx, root2, "bob"); }, ErrorKind::conflict);   // once
  auto bob_p = f.settle("bob");
  EXPECT_TRUE(bob_p.can(Permission::approve));
  EXPECT_NO_THROW(bob_p.require(Permission::approve, "approve"));

  // The audit names creator and approver of each account.
  db::Statement st(*f.db, "SELECT actor, details FROM audit_log WHERE action = 'ra.operator.approve' ORDER BY seq");
  std::vector<std::pair<std::string, nlohmann::json>> approvals;
  while (st.step()) approvals.push_back({st.text(0), nlohmann::json::parse(st.text(1))});
  ASSERT_EQ(approvals.size(), 2u);
  EXPECT_EQ(approvals[0].second["created_by"], "ra:admin");
  EXPECT_EQ(approvals[0].second["proof"], "ca-custody");
  EXPECT_EQ(approvals[1].first, "ra:root2");
  EXPECT_EQ(approvals[1].second["created_by"], "ra:admin");
  EXPECT_EQ(approvals[1].second["approved_by"], "ra:root2");
  EXPECT_TRUE(db::verify_audit(*f.db).ok);
}

TEST(RaOperatorControls, FirstPasswordIsTemporary) {
  Controls f;
  add_operator(f.ctx, &*f.admin, "alice", "", Role::operator_, kFirst);
  EXPECT_TRUE(f.info("alice").password_temporary);
  // The login tells so; the session allows nothing but the password change.
  auto r = login_session(f.ctx, "alice", kFirst);
  ASSERT_TRUE(r.principal) << r.message;
  EXPECT_TRUE(r.password_change_required);
  auto msg = expect_error([&] { resume_session(f.ctx, r.session->token); }, ErrorKind::forbidden);
  EXPECT_NE(msg.find("temporary password"), std::string::npos) << msg;
  auto limited = resume_session(f.ctx, r.session->token, SessionUse::password_change);
  EXPECT_TRUE(limited.password_change_only());
  expect_error([&] { limited.require(Permission::read, "list operators"); }, ErrorKind::forbidden);
  expect_error([&] { list_operators(f.ctx, limited); }, ErrorKind::forbidden);
  expect_error([&] { issue_operator_key(f.ctx, limited, 30, kFirst); }, ErrorKind::forbidden);
  expect_error([&] { r.principal->require(Permission::enter, "enter"); }, ErrorKind::forbidden);
  // The change itself, in the same session; then everything the role allows.
  change_password(f.ctx, limited, kFirst, kPassword);
  EXPECT_FALSE(f.info("alice").password_temporary);
  auto full = resume_session(f.ctx, r.session->token);
  EXPECT_FALSE(full.password_change_only());
  EXPECT_NO_THROW(full.require(Permission::enter, "enter"));
  // The bootstrap administrator chose their own password.
  EXPECT_FALSE(f.info("admin").password_temporary);
}

// Issue 20, item 5: a password change ends the operator's other sessions (and the keys unless
// kept); a key needs the password, is not made from a key, lives at most ra.api_key_max_days, and
// is listed and revoked.
TEST(RaOperatorControls, PasswordChangeEndsSessionsAndKeysNeedThePassword) {
  Controls f;
  auto s1 = login_session(f.ctx, "admin", kPassword), s2 = login_session(f.ctx, "admin", kPassword);
  auto here = resume_session(f.ctx, s1.session->token);
  EXPECT_FALSE(here.via_key());
  // A key needs the current password (a wrong one counts like a login) and a life within the limit.
  expect_error([&] { issue_operator_key(f.ctx, here, 7, "not the password at all"); }, ErrorKind::unauthenticated);
  EXPECT_EQ(f.info("admin").failed_logins, 1);
  f.config.ra.api_key_max_days = 30;
  expect_error([&] { issue_operator_key(f.ctx, here, 31, kPassword); }, ErrorKind::invalid_input);
  auto key = issue_operator_key(f.ctx, here, 30, kPassword, "nightly report");
  EXPECT_EQ(f.info("admin").failed_logins, 0);
  EXPECT_EQ(key.expires_at, f.now + 30 * 86400);
  auto by_key = resume_session(f.ctx, key.token);
  EXPECT_TRUE(by_key.via_key());
  // A key does not breed keys, even with the password.
  expect_error([&] { issue_operator_key(f.ctx, by_key, 1, kPassword); }, ErrorKind::forbidden);
  auto keys = list_operator_keys(f.ctx, here);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].label, "nightly report");
  EXPECT_EQ(keys[0].expires_at, key.expires_at);

  // The password change keeping the keys: the other login session ends, this one and the key live.
  change_password(f.ctx, here, kPassword, kPassword + " 2", KeepKeys::yes);
  expect_error([&] { resume_session(f.ctx, s2.session->token); }, ErrorKind::unauthenticated);
  EXPECT_NO_THROW(resume_session(f.ctx, s1.session->token));
  EXPECT_NO_THROW(resume_session(f.ctx, key.token));
  // Without keeping them: the key ends too.
  auto second_key = issue_operator_key(f.ctx, here, 1, kPassword + " 2");
  EXPECT_EQ(list_operator_keys(f.ctx, here).size(), 2u);
  change_password(f.ctx, here, kPassword + " 2", kPassword);
  expect_error([&] { resume_session(f.ctx, key.token); }, ErrorKind::unauthenticated);
  expect_error([&] { resume_session(f.ctx, second_key.token); }, ErrorKind::unauthenticated);
  EXPECT_NO_THROW(resume_session(f.ctx, s1.session->token));
  EXPECT_TRUE(list_operator_keys(f.ctx, here).empty());
  // Revoked one by one: another's or an unknown key is not found.
  auto third = issue_operator_key(f.ctx, here, 1, kPassword);
  auto id = list_operator_keys(f.ctx, here).at(0).id;
  expect_error([&] { revoke_operator_key(f.ctx, here, id + 100); }, ErrorKind::not_found);
  revoke_operator_key(f.ctx, here, id);
  expect_error([&] { resume_session(f.ctx, third.token); }, ErrorKind::unauthenticated);
  EXPECT_EQ(f.audits("ra.operator.key_revoke"), 1);
  EXPECT_TRUE(db::verify_audit(*f.db).ok);
}

TEST(RaOperatorControls, BreakGlassUnlocksTheOnlyAdministrator) {
  Controls f;
  for (int i = 0; i < f.config.ra.password_max_failures; ++i) EXPECT_FALSE(login(f.ctx, "admin", "wrong password!!").principal);
  EXPECT_TRUE(f.info("admin").locked);
  EXPECT_FALSE(login(f.ctx, "admin", kPassword).principal);
  // A wrong PIN: refused by the token, audited, nothing unlocked.
  auto before = f.audits("ra.custody.failure");
  expect_error([&] { break_glass_unlock(f.ctx, "cli:root", "admin", ca::CustodyPin::user, "0000-wrong", std::nullopt); },
               ErrorKind::unauthenticated);
  EXPECT_EQ(f.audits("ra.custody.failure"), before + 1);
  EXPECT_TRUE(f.info("admin").locked);
  // The CA's user PIN proves custody: unlocked, audited.
  break_glass_unlock(f.ctx, "cli:root", "admin", ca::CustodyPin::user, f.user_pin(), std::nullopt);
  EXPECT_FALSE(f.info("admin").locked);
  EXPECT_EQ(f.audits("ra.operator.break_glass"), 1);
  EXPECT_TRUE(login(f.ctx, "admin", kPassword).principal);
  // Not locked and no new password: nothing to do.
  expect_error([&] { break_glass_unlock(f.ctx, "cli:root", "admin", ca::CustodyPin::so, f.so_pin(), std::nullopt); },
               ErrorKind::conflict);
  // A forgotten password: the SO PIN resets it, temporary, and ends the account's sessions.
  auto s = login_session(f.ctx, "admin", kPassword);
  break_glass_unlock(f.ctx, "cli:root", "admin", ca::CustodyPin::so, f.so_pin(), kFirst);
  expect_error([&] { resume_session(f.ctx, s.session->token); }, ErrorKind::unauthenticated);
  EXPECT_FALSE(login(f.ctx, "admin", kPassword).principal);
  auto r = login(f.ctx, "admin", kFirst);
  ASSERT_TRUE(r.principal);
  EXPECT_TRUE(r.password_change_required);
  // Only administrators come back this way; the others are unlocked by an administrator.
  add_operator(f.ctx, &*f.admin, "alice", "", Role::operator_, kFirst);
  expect_error([&] { break_glass_unlock(f.ctx, "cli:root", "alice", ca::CustodyPin::so, f.so_pin(), kPassword); },
               ErrorKind::invalid_input);
  EXPECT_TRUE(db::verify_audit(*f.db).ok);
}

// The same controls through the jitsuin binary, on an embedded token made by `ca init`.
TEST(RaOperatorControlsCli, ApprovalByCustodyTemporaryPasswordAndBreakGlass) {
  test::TempDir home;
  auto secret_file = [&](const std::string& name, const std::string& text) {
    auto p = home / name;
    test::write_text(p, text + "\n");
    std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
    return test::sh_quote(p.string());
  };
  auto as = [&](const std::string& who, const std::string& args) {
    return test::run("JITSUIN_SESSION_FILE=" + test::sh_quote((home / (who + ".session")).string()) + " " +
                     test::jitsuin_cmd(home.path()) + " " + args);
  };
  auto ok = [&](const std::string& who, const std::string& args) {
    auto r = as(who, args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.output;
    return r.output;
  };
  const std::string pw = " --password-file " + secret_file("pw", kPassword);
  const std::string first = secret_file("first", kFirst);
  const std::string so_pin = test::sh_quote((home / "ca.so-pin").string());
  ok("root", "ca init --root-key p256 --issuing-key p256");
  ok("admin", "ra operator-add --name admin --role administrator" + pw);
  ok("admin", "login --user admin" + pw);
  auto added = ok("admin", "ra operator-add --name bob --role approver --password-file " + first);
  EXPECT_NE(added.find("cannot log in until a second administrator approves it"), std::string::npos) << added;
  auto pending = as("bob", "login --user bob --password-file " + first);
  EXPECT_EQ(pending.status, 1);
  EXPECT_NE(pending.output.find("waiting for a second administrator"), std::string::npos) << pending.output;
  auto own = as("admin", "ra operator-approve --name bob");
  EXPECT_EQ(own.status, 1);
  EXPECT_NE(own.output.find("may not approve it"), std::string::npos) << own.output;
  ok("root", "ra operator-approve --name bob --ca-custody --pin-file " + so_pin);
  auto in = ok("bob", "login --user bob --password-file " + first);
  EXPECT_NE(in.find("your password is temporary"), std::string::npos) << in;
  auto blocked = as("bob", "ra operator-list");
  EXPECT_EQ(blocked.status, 1);
  EXPECT_NE(blocked.output.find("temporary password"), std::string::npos) << blocked.output;
  EXPECT_NE(ok("bob", "ra whoami").find("temporary password"), std::string::npos);
  ok("bob", "ra passwd --current-file " + first + " --new-file " + secret_file("pw2", kPassword));
  auto list = ok("bob", "ra operator-list");
  EXPECT_NE(list.find("bob"), std::string::npos) << list;

  // Five wrong passwords lock the only administrator; the SO PIN file brings it back.
  const std::string bad = " --password-file " + secret_file("bad", "wrong wrong wrong");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(as("eve", "login --user admin" + bad).status, 1);
  EXPECT_EQ(as("admin", "login --user admin" + pw).status, 1);
  auto wrong = as("root", "ra break-glass --name admin --pin user --pin-file " + secret_file("notpin", "0000-0000"));
  EXPECT_EQ(wrong.status, 1);
  EXPECT_NE(wrong.output.find("refused the user PIN"), std::string::npos) << wrong.output;
  auto glass = ok("root", "ra break-glass --name admin --pin-file " + so_pin);
  EXPECT_NE(glass.find("unlocked by proof of CA custody"), std::string::npos) << glass;
  ok("admin", "login --user admin" + pw);
  // A forgotten password: the user PIN and a new, temporary password (README, "Break-glass").
  ok("root", "ra break-glass --name admin --pin user --pin-file " + test::sh_quote((home / "ca.pin").string()) +
                 " --new-password-file " + secret_file("new", "new password for admin"));
  EXPECT_EQ(as("admin", "ra operator-list").status, 1) << "the break-glass ended the administrator's sessions";
  auto relog = ok("admin", "login --user admin --password-file " + secret_file("new2", "new password for admin"));
  EXPECT_NE(relog.find("your password is temporary"), std::string::npos) << relog;
  ok("root", "audit verify");
}

}  // namespace
}  // namespace jitsuin::ra
