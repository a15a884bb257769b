// The consoles' admin functions in ra/ (issue 11, webadmin), on a real SQLite file and SoftHSM2
// token: the outbox for operators and its retry (a failed mail goes back to pending, audited; a
// mail that carried a secret, or is not failed, is refused), a company admin's own mails (never
// another company's, not even through an address both share), a company admin's change of holder
// (its own user IDs only) and log out everywhere for company sessions. Paging: the outbox, a
// company's mails and the revocation requests a page at a time, newest first, by an id cursor.
#include <gtest/gtest.h>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/company_session.h"
#include "jitsuin/ra/mail_admin.h"
#include "jitsuin/ra/revocation.h"
#include "ra/company_fixture.h"

namespace {

using namespace jitsuin;
using namespace jitsuin::ra;   // ra::testing below: not ::testing (GoogleTest)
using ra::testing::CompanyFixture;
using ra::testing::light_form;

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::internal;
}

// Delivers every due mail to a closed port with one attempt each: every one fails at once.
void fail_delivery(CompanyFixture& fx) {
  config::Config broken = fx.caf->config;
  broken.mail.smtp_url = "smtp://127.0.0.1:1";
  broken.mail.max_attempts = 1;
  auto report = deliver_outbox(*fx.caf->db, broken, fx.ctx.clock);
  ASSERT_GT(report.failed, 0);
  ASSERT_EQ(report.sent, 0);
}

std::int64_t audit_count(CompanyFixture& fx, const std::string& action) {
  db::Statement st(*fx.caf->db, "SELECT count(*) FROM audit_log WHERE action = ?");
  st.bind(1, action);
  st.step();
  return st.int64(0);
}

const OutboxEntry& find(const std::vector<OutboxEntry>& list, const std::string& template_name) {
  for (const auto& m : list)
    if (m.template_name == template_name) return m;
  throw std::runtime_error("no " + template_name + " mail");
}

TEST(MailAdmin, AFailedMailIsSentAgainAndOneThatCarriedASecretIsNot) {
  CompanyFixture fx;
  auto a = fx.company("アルファ株式会社", "Alpha Kensetsu", "alpha.example.jp");
  auto alpha = fx.account(a.admin);   // before the failure discards the mailed password
  request_additional_certificate(fx.ctx, alpha, {a.user1, light_form()});   // "received": no secret
  fail_delivery(fx);
  auto failed = list_mails(fx.ctx, *fx.alice, std::string("failed")).rows;
  const auto& password_mail = find(failed, "user_id");
  const auto received = find(failed, "application_received");
  EXPECT_TRUE(received.last_error && !received.last_error->empty());

  EXPECT_EQ(kind_of([&] { retry_mail(fx.ctx, *fx.alice, password_mail.id); }), ErrorKind::conflict);
  EXPECT_EQ(kind_of([&] { retry_mail(fx.ctx, *fx.audrey, received.id); }), ErrorKind::forbidden);   // auditor
  EXPECT_EQ(kind_of([&] { retry_mail(fx.ctx, *fx.alice, 999999); }), ErrorKind::not_found);
  EXPECT_EQ(kind_of([&] { retry_mail(fx.ctx, alpha, received.id); }), ErrorKind::forbidden);
  EXPECT_EQ(kind_of([&] { list_mails(fx.ctx, alpha, std::nullopt); }), ErrorKind::forbidden);
  EXPECT_EQ(list_mails(fx.ctx, *fx.alice, std::string("failed")).rows.size(), failed.size());
  EXPECT_EQ(audit_count(fx, "ra.mail.retry"), 0);

  auto again = retry_mail(fx.ctx, *fx.alice, received.id);
  EXPECT_EQ(again.state, "pending");
  EXPECT_EQ(again.attempts, 0);
  EXPECT_EQ(again.next_attempt_at, fx.now);
  EXPECT_EQ(again.message_id, received.message_id);   // the same mail, recognisable as such
  EXPECT_EQ(audit_count(fx, "ra.mail.retry"), 1);
  EXPECT_EQ(kind_of([&] { retry_mail(fx.ctx, *fx.alice, received.id); }), ErrorKind::conflict);   // pending now

  // Delivered to the maildir this time (no SMTP URL in the fixture's config).
  auto report = deliver_outbox(*fx.caf->db, fx.caf->config, fx.ctx.clock);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(find(list_mails(fx.ctx, *fx.alice, std::string("sent")).rows, "application_received").id, received.id);
}

TEST(MailAdmin, ACompanyAdminReadsOnlyItsOwnCompanysMails) {
  CompanyFixture fx;
  auto a = fx.company("アルファ株式会社", "Alpha Kensetsu", "alpha.example.jp");
  auto b = fx.company("ベータ株式会社", "Beta Shoji", "beta.example.jp");
  request_additional_certificate(fx.ctx, fx.account(a.admin), {a.user1, light_form()});
  auto alpha = fx.account(a.admin), beta = fx.account(b.admin);

  auto mails = company_mails(fx.ctx, alpha).rows;
  ASSERT_FALSE(mails.empty());
  bool received = false;
  for (const auto& m : mails) {
    EXPECT_TRUE(m.entry.to.ends_with("@alpha.example.jp")) << m.entry.to;
    if (m.entry.template_name == "application_received") {
      received = true;
      EXPECT_TRUE(m.subject && !m.subject->empty());
      EXPECT_TRUE(m.body && m.body->find("申請") != std::string::npos) << m.body.value_or("");
    }
    if (m.entry.template_name == "user_id") {
      EXPECT_FALSE(m.subject);   // it carried a password: no text at all
      EXPECT_FALSE(m.body);
    }
  }
  EXPECT_TRUE(received);
  for (const auto& m : company_mails(fx.ctx, beta).rows) EXPECT_TRUE(m.entry.to.ends_with("@beta.example.jp")) << m.entry.to;

  // An address of both companies (beta's new user ID has alpha's user1 address): neither lists
  // the mails to it, so nothing of one company reaches the other.
  add_user_account(fx.ctx, *fx.alice, b.id, "共有 太郎", "", "user1@alpha.example.jp");
  for (const auto* who : {&alpha, &beta})
    for (const auto& m : company_mails(fx.ctx, *who).rows) EXPECT_NE(m.entry.to, "user1@alpha.example.jp");

  EXPECT_EQ(kind_of([&] { company_mails(fx.ctx, *fx.alice); }), ErrorKind::forbidden);
  EXPECT_EQ(kind_of([&] { company_mails(fx.ctx, fx.account(a.user1)); }), ErrorKind::forbidden);   // a user ID
}

TEST(MailAdmin, ACompanyAdminChangesTheHolderOfItsOwnUserIdsOnly) {
  CompanyFixture fx;
  auto a = fx.company("アルファ株式会社", "Alpha Kensetsu", "alpha.example.jp");
  auto b = fx.company("ベータ株式会社", "Beta Shoji", "beta.example.jp");
  auto beta = fx.account(b.admin);
  EXPECT_EQ(kind_of([&] { change_account_holder(fx.ctx, beta, a.user2, "他社 花子", "", "x@beta.example.jp"); }),
            ErrorKind::forbidden);
  EXPECT_EQ(get_account(fx.ctx, *fx.alice, a.user2).name, "利用 二郎");   // unchanged
  EXPECT_EQ(kind_of([&] { change_account_holder(fx.ctx, fx.account(a.admin), a.admin, "x", "", "x@alpha.example.jp"); }),
            ErrorKind::invalid_input);   // the company ID itself does not change hands
  auto changed = change_account_holder(fx.ctx, fx.account(a.admin), a.user2, "新任 三郎", "工事部", "next@alpha.example.jp");
  EXPECT_EQ(changed.name, "新任 三郎");
  EXPECT_EQ(changed.email, "next@alpha.example.jp");
  EXPECT_TRUE(changed.must_change_password);
  EXPECT_EQ(fx.mailed_password(a.user2).empty(), false);   // the new holder's initial password, by mail
}

TEST(MailAdmin, ACompanyAdminLogsOutEverywhere) {
  CompanyFixture fx;
  auto a = fx.company("アルファ株式会社", "Alpha Kensetsu", "alpha.example.jp");
  // The mailed initial password allows only the password change (issue 20 item 6): set one first.
  const std::string password = "alpha's own password";
  change_account_password(fx.ctx, a.admin, fx.mailed_password(a.admin), password);
  auto one = login_company_session(fx.ctx, a.admin, password), two = login_company_session(fx.ctx, a.admin, password);
  ASSERT_TRUE(one.session && two.session);
  auto who = resume_company_session(fx.ctx, one.session->token);
  EXPECT_EQ(end_all_company_sessions(fx.ctx, who), 2);
  for (const auto* s : {&one, &two})
    EXPECT_EQ(kind_of([&] { resume_company_session(fx.ctx, s->session->token); }), ErrorKind::unauthenticated);
  EXPECT_EQ(kind_of([&] { end_all_company_sessions(fx.ctx, *fx.alice); }), ErrorKind::forbidden);
}

// ---- paging: the outbox and a company's mails, newest first, by an id cursor ------------------

std::int64_t queue(CompanyFixture& fx, const std::string& to) {
  db::Transaction tx(*fx.caf->db);
  auto id = enqueue_mail(*fx.caf->db, {to, "application_received", "ja", {{"name", "頁 太郎"}, {"application_number", "1"}}},
                         fx.now);
  tx.commit();
  return id;
}

std::vector<std::int64_t> ids(const Page<OutboxEntry>& page) {
  std::vector<std::int64_t> out;
  for (const auto& e : page.rows) out.push_back(e.id);
  return out;
}

std::vector<std::int64_t> ids(const Page<CompanyMail>& page) {
  std::vector<std::int64_t> out;
  for (const auto& m : page.rows) out.push_back(m.entry.id);
  return out;
}

TEST(MailAdminPaging, TheOutboxIsPagedNewestFirstAndAMailQueuedBetweenPagesShiftsNothing) {
  CompanyFixture fx;
  auto all = list_mails(fx.ctx, *fx.alice, std::nullopt, {kMaxPageLimit, std::nullopt});
  ASSERT_FALSE(all.next);
  const auto before = all.rows.size();
  std::vector<std::int64_t> queued;
  for (int i = 0; i < 7; ++i) queued.push_back(queue(fx, "page" + std::to_string(i) + "@example.jp"));
  using V = std::vector<std::int64_t>;

  auto first = list_mails(fx.ctx, *fx.alice, std::nullopt, {3, std::nullopt});
  EXPECT_EQ(ids(first), (V{queued[6], queued[5], queued[4]}));
  ASSERT_EQ(first.next, queued[4]);
  auto newer = queue(fx, "late@example.jp");   // between two pages: on the first page, not the next
  auto second = list_mails(fx.ctx, *fx.alice, std::nullopt, {3, first.next});
  EXPECT_EQ(ids(second), (V{queued[3], queued[2], queued[1]}));
  ASSERT_EQ(second.next, queued[1]);
  auto third = list_mails(fx.ctx, *fx.alice, std::nullopt, {static_cast<std::int64_t>(before) + 1, second.next});
  EXPECT_EQ(third.rows.size(), before + 1);
  EXPECT_EQ(third.rows.front().id, queued[0]);
  EXPECT_FALSE(third.next);   // exactly the rest: no empty page after it
  EXPECT_EQ(list_mails(fx.ctx, *fx.alice, std::nullopt, {1, std::nullopt}).rows.front().id, newer);
  EXPECT_EQ(list_mails(fx.ctx, *fx.alice, std::nullopt).rows.size(), before + 8);   // default page: 100

  // One state: failed mails only, paged the same way.
  fail_delivery(fx);
  auto failed = list_mails(fx.ctx, *fx.alice, std::string("failed"), {2, std::nullopt});
  ASSERT_EQ(failed.rows.size(), 2u);
  EXPECT_EQ(failed.rows[0].id, newer);
  EXPECT_EQ(failed.rows[1].id, queued[6]);
  EXPECT_EQ(failed.next, queued[6]);
  EXPECT_TRUE(list_mails(fx.ctx, *fx.alice, std::string("sent"), {5, std::nullopt}).rows.empty());
}

TEST(MailAdminPaging, ACompanyAdminPagesItsOwnMailsOnly) {
  CompanyFixture fx;
  auto a = fx.company("アルファ株式会社", "Alpha Kensetsu", "alpha.example.jp");
  auto b = fx.company("ベータ株式会社", "Beta Shoji", "beta.example.jp");
  auto alpha = fx.account(a.admin), beta = fx.account(b.admin);
  const auto own = company_mails(fx.ctx, alpha, {kMaxPageLimit, std::nullopt}).rows.size();
  std::vector<std::int64_t> mine;
  for (int i = 0; i < 5; ++i) {
    mine.push_back(queue(fx, "user1@alpha.example.jp"));
    queue(fx, "user1@beta.example.jp");   // between each of alpha's: never on its pages
  }
  using V = std::vector<std::int64_t>;
  auto first = company_mails(fx.ctx, alpha, {2, std::nullopt});
  EXPECT_EQ(ids(first), (V{mine[4], mine[3]}));
  ASSERT_EQ(first.next, mine[3]);
  EXPECT_TRUE(first.rows[0].subject && first.rows[0].body);   // the text of a mail without a secret
  auto second = company_mails(fx.ctx, alpha, {2, first.next});
  EXPECT_EQ(ids(second), (V{mine[2], mine[1]}));
  auto rest = company_mails(fx.ctx, alpha, {kMaxPageLimit, second.next});
  EXPECT_EQ(rest.rows.size(), own + 1);
  EXPECT_FALSE(rest.next);
  for (const auto& m : rest.rows) EXPECT_TRUE(m.entry.to.ends_with("@alpha.example.jp")) << m.entry.to;
  for (const auto& m : company_mails(fx.ctx, beta, {kMaxPageLimit, std::nullopt}).rows)
    EXPECT_TRUE(m.entry.to.ends_with("@beta.example.jp")) << m.entry.to;
}

TEST(MailAdminPaging, ABadPageIsRefusedByName) {
  CompanyFixture fx;
  auto a = fx.company("アルファ株式会社", "Alpha Kensetsu", "alpha.example.jp");
  auto alpha = fx.account(a.admin);
  for (PageRequest bad : {PageRequest{0, std::nullopt}, PageRequest{kMaxPageLimit + 1, std::nullopt},
                          PageRequest{-5, std::nullopt}, PageRequest{10, 0}, PageRequest{10, -1}}) {
    EXPECT_EQ(kind_of([&] { list_mails(fx.ctx, *fx.alice, std::nullopt, bad); }), ErrorKind::invalid_input);
    EXPECT_EQ(kind_of([&] { company_mails(fx.ctx, alpha, bad); }), ErrorKind::invalid_input);
  }
  try {
    list_mails(fx.ctx, *fx.alice, std::nullopt, {10, -1});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("before_id"), std::string::npos) << e.what();
  }
  EXPECT_EQ(kind_of([&] { list_mails(fx.ctx, *fx.alice, std::string("lost"), {}); }), ErrorKind::invalid_input);
}

// Each page query walks an index in id order (rowid, outbox_state, outbox_recipient): none scans
// the whole outbox, and the outbox-wide ones never sort.
TEST(MailAdminPaging, EveryPageQueryIsServedByAnIndex) {
  CompanyFixture fx;
  auto queries = mail_page_queries();
  ASSERT_EQ(queries.size(), 3u);
  for (std::size_t i = 0; i < queries.size(); ++i) {
    db::Statement plan(*fx.caf->db, "EXPLAIN QUERY PLAN " + queries[i]);
    std::string text;
    while (plan.step()) text += plan.text(3) + "\n";
    SCOPED_TRACE(queries[i] + "\n" + text);
    EXPECT_EQ(text.find("SCAN outbox"), std::string::npos);
    if (i < 2) EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos);
    if (i == 1) EXPECT_NE(text.find("outbox_state"), std::string::npos);
    if (i == 2) EXPECT_NE(text.find("outbox_recipient"), std::string::npos);
  }
}

// The revocation requests (the console's revocation page): newest first, by state too (by the
// index ra_revocation_state), a page at a time.
TEST(ConsolePaging, RevocationRequestsArePagedNewestFirst) {
  CompanyFixture fx;
  auto a = fx.company("アルファ株式会社", "Alpha Kensetsu", "alpha.example.jp");
  fx.requested_certificate(a, "ka");
  std::vector<std::int64_t> ids;   // four requests rejected, the fifth pending
  for (int i = 0; i < 5; ++i) {
    ids.push_back(request_revocation(fx.ctx, *fx.alice, a.serial, ca::RevocationReason::affiliation_changed,
                                     std::nullopt, "試験 " + std::to_string(i)).id);
    if (i < 4) reject_revocation(fx.ctx, *fx.bob, ids.back(), "誤り");
  }
  auto id_list = [](const Page<RevocationRequest>& p) {
    std::vector<std::int64_t> out;
    for (const auto& r : p.rows) out.push_back(r.id);
    return out;
  };
  using V = std::vector<std::int64_t>;
  auto first = list_revocations(fx.ctx, *fx.audrey, "", {2, std::nullopt});
  EXPECT_EQ(id_list(first), (V{ids[4], ids[3]}));
  ASSERT_EQ(first.next, ids[3]);
  auto second = list_revocations(fx.ctx, *fx.audrey, "", {2, first.next});
  EXPECT_EQ(id_list(second), (V{ids[2], ids[1]}));
  auto last = list_revocations(fx.ctx, *fx.audrey, "", {2, second.next});
  EXPECT_EQ(id_list(last), (V{ids[0]}));
  EXPECT_FALSE(last.next);

  auto rejected = list_revocations(fx.ctx, *fx.alice, "rejected", {3, std::nullopt});
  EXPECT_EQ(id_list(rejected), (V{ids[3], ids[2], ids[1]}));
  EXPECT_EQ(id_list(list_revocations(fx.ctx, *fx.alice, "rejected", {3, rejected.next})), (V{ids[0]}));
  EXPECT_EQ(id_list(list_revocations(fx.ctx, *fx.alice, "pending")), (V{ids[4]}));
  EXPECT_EQ(kind_of([&] { list_revocations(fx.ctx, *fx.alice, "", {0, std::nullopt}); }), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of([&] { list_revocations(fx.ctx, *fx.alice, "", {10, -4}); }), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of([&] { list_revocations(fx.ctx, *fx.alice, "done", {}); }), ErrorKind::invalid_input);

  db::Statement plan(*fx.caf->db, "EXPLAIN QUERY PLAN SELECT id FROM ra_revocation_requests WHERE state = ?1 AND id < ?2 "
                                  "ORDER BY id DESC LIMIT ?3");
  std::string text;
  while (plan.step()) text += plan.text(3) + "\n";
  EXPECT_NE(text.find("ra_revocation_state"), std::string::npos) << text;
  EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos) << text;
}

}  // namespace
