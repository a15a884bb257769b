// Every read of ra/ checks the principal it is given: RA operators who may read see everything,
// a company admin (企業ID) sees its own company's accounts, certificate links, certificates and
// additional certificate requests (RA-8) and nothing of another company, a user ID (ユーザID) reads
// nothing. The handlers pass their operator session on, so the CLI's reads keep working. Real
// SQLite, a real SoftHSM2 CA, certificates issued for real.
#include <gtest/gtest.h>

#include <functional>

#include "jitsuin/api/handler.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/cert_request.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/issuance.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/links.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/renewal.h"
#include "jitsuin/ra/revocation.h"
#include "company_fixture.h"
#include "support/support.h"

namespace jitsuin::ra {
namespace {

using nlohmann::json;
using test::expect_error;

using testing::Company;
using testing::kPassword;
using testing::light_form;

struct Fixture : testing::CompanyFixture {
  // A company with its IDs and one certificate, requested by its admin for user1 and linked to it.
  Company company(const std::string& name, const std::string& romaji, const std::string& domain) {
    Company c = CompanyFixture::company(name, romaji, domain);
    requested_certificate(c, romaji.substr(0, 3));
    return c;
  }
};

// The reads only RA operators make (RA-3): none of them is open to a company or user ID.
std::vector<std::pair<std::string, std::function<void(const Principal&)>>> operator_reads(Fixture& f,
                                                                                        const Company& c,
                                                                                        std::int64_t revocation) {
  return {
      {"get_bundle", [&f, c](const Principal& p) { get_bundle(f.ctx, p, c.bundle_id); }},
      {"find_bundles", [&f](const Principal& p) { find_bundles(f.ctx, p, ""); }},
      {"get_application", [&f, c](const Principal& p) { get_application(f.ctx, p, c.application); }},
      {"find_applications", [&f, c](const Principal& p) {
         ApplicationFilter filter;
         filter.company_id = c.id;
         find_applications(f.ctx, p, filter);
       }},
      {"application_history", [&f, c](const Principal& p) { application_history(f.ctx, p, c.application); }},
      {"list_documents", [&f, c](const Principal& p) { list_documents(f.ctx, p, c.bundle_id); }},
      {"last_check_reasons", [&f, c](const Principal& p) { last_check_reasons(f.ctx, p, c.bundle_id); }},
      {"list_mailings", [&f, c](const Principal& p) { list_mailings(f.ctx, p, c.application); }},
      {"find_mailing", [&f, c](const Principal& p) { find_mailing(f.ctx, p, c.tracking); }},
      {"renewal_eligibility", [&f, c](const Principal& p) { renewal_eligibility(f.ctx, p, c.application); }},
      {"list_revocations", [&f](const Principal& p) { list_revocations(f.ctx, p); }},
      {"get_revocation", [&f, revocation](const Principal& p) { get_revocation(f.ctx, p, revocation); }},
      {"list_accounts of every company", [&f](const Principal& p) { list_accounts(f.ctx, p, std::nullopt); }},
  };
}

// The reads RA-8 opens to the company admin of `c` (and to RA operators).
std::vector<std::pair<std::string, std::function<void(const Principal&)>>> company_reads(Fixture& f,
                                                                                       const Company& c) {
  return {
      {"list_accounts", [&f, c](const Principal& p) { list_accounts(f.ctx, p, c.id); }},
      {"get_account", [&f, c](const Principal& p) { get_account(f.ctx, p, c.user1); }},
      {"list_links", [&f, c](const Principal& p) { list_links(f.ctx, p, c.id, true); }},
      {"company_certificates", [&f, c](const Principal& p) { company_certificates(f.ctx, p, c.id); }},
      {"find_certificate_request",
       [&f, c](const Principal& p) { find_certificate_request(f.ctx, p, c.application); }},
      {"list_certificate_requests", [&f, c](const Principal& p) { list_certificate_requests(f.ctx, p, c.id); }},
  };
}

std::int64_t revocation_of(Fixture& f, const Company& c) {
  return request_revocation(f.ctx, *f.alice, c.serial, ca::RevocationReason::unspecified, std::nullopt, "test").id;
}

TEST(RaReadPermission, AuditorReadsEverything) {
  Fixture f;
  Company a = f.company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
  Company b = f.company("梅工業株式会社", "Ume Kogyo", "ume.example.jp");
  auto revocation = revocation_of(f, a);
  const Principal& audrey = *f.audrey;

  EXPECT_EQ(get_bundle(f.ctx, audrey, a.bundle_id).company_id, a.id);
  EXPECT_EQ(find_bundles(f.ctx, audrey, "").size(), 4u) << "two paper bundles, two requests";
  EXPECT_EQ(get_application(f.ctx, audrey, a.application).certificate_serial, a.serial);
  ApplicationFilter filter;
  filter.company_id = b.id;
  EXPECT_EQ(find_applications(f.ctx, audrey, filter).size(), 1u);
  EXPECT_EQ(application_history(f.ctx, audrey, a.application).back().to, "issued");
  EXPECT_EQ(list_documents(f.ctx, audrey, a.bundle_id).size(), 2u);
  EXPECT_TRUE(last_check_reasons(f.ctx, audrey, a.bundle_id).empty());
  EXPECT_EQ(list_mailings(f.ctx, audrey, std::nullopt).size(), 2u);
  ASSERT_TRUE(find_mailing(f.ctx, audrey, b.tracking));
  EXPECT_EQ(find_mailing(f.ctx, audrey, b.tracking)->application_id, b.application);
  EXPECT_FALSE(renewal_eligibility(f.ctx, audrey, a.application).eligible) << "not near expiry";
  EXPECT_EQ(get_revocation(f.ctx, audrey, revocation).serial, a.serial);
  EXPECT_EQ(list_revocations(f.ctx, audrey).rows.size(), 1u);
  EXPECT_EQ(list_accounts(f.ctx, audrey, std::nullopt).size(), 6u);
  EXPECT_EQ(list_accounts(f.ctx, audrey, b.id).size(), 3u);
  EXPECT_EQ(get_account(f.ctx, audrey, b.user2).company_id, b.id);
  EXPECT_EQ(list_links(f.ctx, audrey, b.id).size(), 1u);
  ASSERT_EQ(company_certificates(f.ctx, audrey, b.id).size(), 1u);
  EXPECT_EQ(company_certificates(f.ctx, audrey, b.id)[0].serial, b.serial);
  ASSERT_TRUE(find_certificate_request(f.ctx, audrey, a.application));
  EXPECT_EQ(find_certificate_request(f.ctx, audrey, a.application)->company_id, a.id);
  // Every read, by every operator role: none is refused.
  for (const Principal* p : {&*f.audrey, &*f.alice, &*f.bob, &*f.admin}) {
    for (auto& [what, read] : operator_reads(f, a, revocation))
      EXPECT_NO_THROW(read(*p)) << what << " by " << p->name();
    for (auto& [what, read] : company_reads(f, b)) EXPECT_NO_THROW(read(*p)) << what << " by " << p->name();
  }
}

TEST(RaReadPermission, CompanyAdminReadsItsOwnCompanyOnly) {
  Fixture f;
  Company a = f.company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
  Company b = f.company("梅工業株式会社", "Ume Kogyo", "ume.example.jp");
  auto revocation = revocation_of(f, a);
  Principal admin_a = f.account(a.admin);

  // Its own company: accounts, links, certificates, requests.
  EXPECT_EQ(list_accounts(f.ctx, admin_a, a.id).size(), 3u);
  EXPECT_EQ(get_account(f.ctx, admin_a, a.user2).login_id, a.user2);
  ASSERT_EQ(list_links(f.ctx, admin_a, a.id).size(), 1u);
  EXPECT_EQ(list_links(f.ctx, admin_a, a.id)[0].serial, a.serial);
  ASSERT_EQ(company_certificates(f.ctx, admin_a, a.id).size(), 1u);
  EXPECT_EQ(company_certificates(f.ctx, admin_a, a.id)[0].serial, a.serial);
  ASSERT_TRUE(find_certificate_request(f.ctx, admin_a, a.application));
  for (auto& [what, read] : company_reads(f, a)) EXPECT_NO_THROW(read(admin_a)) << what;

  // Another company's: forbidden, saying so.
  for (auto& [what, read] : company_reads(f, b)) {
    auto msg = expect_error([&] { read(admin_a); }, ErrorKind::forbidden);
    EXPECT_NE(msg.find(a.admin), std::string::npos) << what << ": " << msg;
  }
  auto msg = expect_error([&] { company_certificates(f.ctx, admin_a, b.id); }, ErrorKind::forbidden);
  EXPECT_NE(msg.find("another company"), std::string::npos) << msg;
  expect_error([&] { get_account(f.ctx, admin_a, b.admin); }, ErrorKind::forbidden);
  // Not even the existence of another company's request.
  expect_error([&] { find_certificate_request(f.ctx, admin_a, b.application); }, ErrorKind::forbidden);
  // And none of the operators' reads, not even about its own company.
  for (auto& [what, read] : operator_reads(f, a, revocation))
    expect_error([&] { read(admin_a); }, ErrorKind::forbidden);
}

TEST(RaReadPermission, UserIdIsRefusedEveryRead) {
  Fixture f;
  Company a = f.company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
  auto revocation = revocation_of(f, a);
  Principal user = f.account(a.user1);
  ASSERT_EQ(user.kind(), PrincipalKind::company_user);
  ASSERT_EQ(user.company_id(), a.id);
  for (auto& [what, read] : company_reads(f, a)) {
    auto msg = expect_error([&] { read(user); }, ErrorKind::forbidden);
    EXPECT_NE(msg.find(a.user1), std::string::npos) << what << ": " << msg;
  }
  for (auto& [what, read] : operator_reads(f, a, revocation)) expect_error([&] { read(user); }, ErrorKind::forbidden);
  // Its own account too: a user ID reads nothing through ra/.
  expect_error([&] { get_account(f.ctx, user, a.user1); }, ErrorKind::forbidden);
}

// The handlers authenticate the operator session and pass the principal on; an operator has no
// company, and reads every company's data through them as before.
TEST(RaReadPermission, HandlersPassTheOperatorOn) {
  Fixture f;
  Company a = f.company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
  revocation_of(f, a);
  api::Services services{f.caf->config, [&f] { return f.now; }};
  api::Caller nobody{"cli:test", std::nullopt};
  std::string token =
      api::call(services, nobody, "session.login", {{"user", "audrey"}, {"password", kPassword}})["token"];
  api::Caller audrey{"cli:test", token};
  ASSERT_EQ(resume_session(services.ra(), token).company_id(), 0);

  json certs = api::call(services, audrey, "ra.company_certificates", {{"company", a.id}});
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0]["serial"], a.serial);
  EXPECT_EQ(api::call(services, audrey, "ra.account.list", {{"company", a.id}}).size(), 3u);
  EXPECT_EQ(api::call(services, audrey, "ra.bundle.show", {{"id", a.bundle_id}})["documents"].size(), 2u);
  json app = api::call(services, audrey, "ra.application.show", {{"id", a.application}});
  EXPECT_FALSE(app["history"].empty());
  EXPECT_EQ(app["mailings"].size(), 1u);
  EXPECT_EQ(api::call(services, audrey, "ra.application.list", json::object()).size(), 1u);
  EXPECT_EQ(api::call(services, audrey, "ra.bundle.list", json::object()).size(), 2u);
  EXPECT_EQ(api::call(services, audrey, "ra.document.list", {{"bundle", a.bundle_id}}).size(), 2u);
  EXPECT_EQ(api::call(services, audrey, "ra.mail.list", json::object()).size(), 1u);
  EXPECT_EQ(api::call(services, audrey, "ra.revocation.list", json::object())["entries"].size(), 1u);
  // Still no read without a session.
  expect_error([&] { api::call(services, nobody, "ra.company_certificates", {{"company", a.id}}); },
               ErrorKind::unauthenticated);
}

}  // namespace
}  // namespace jitsuin::ra
