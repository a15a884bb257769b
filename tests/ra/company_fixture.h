#pragma once
// Shared by the RA tests of company and user IDs (principal_test, read_permission_test): a real
// SoftHSM2 CA and SQLite file with four operators, contracted companies (a checked paper bundle,
// its company ID and two user IDs), logins of those IDs with their mailed passwords, and a
// company admin's additional certificate request carried to an issued certificate.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/cert_request.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/issuance.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/enrollment.h"
#include "jitsuin/ra/pin.h"
#include "support/support.h"
#include "operator_setup.h"

namespace jitsuin::ra::testing {

inline const std::string kPassword = "correct horse battery";

/// The certificate data a company admin types in (organization left to the company's romaji name).
inline ApplicantInput light_form() {
  ApplicantInput a;
  a.name_kanji = "田中 一郎";
  a.name_kana = "タナカ イチロウ";
  a.name_romaji = "Ichiro Tanaka";
  a.department_romaji = "Honsha";
  a.title_romaji = "Shacho";
  a.email = "pin-to@example.jp";
  a.postcode = "105-0004";
  a.home_address = "東京都港区新橋3-3-3";
  a.validity_years = 1;
  return a;
}

/// A contracted company and, once requested_certificate() ran, its admin's issued request.
struct Company {
  std::int64_t id = 0;
  std::int64_t bundle_id = 0;
  std::string admin, user1, user2;
  std::int64_t application = 0;   ///< the company admin's request for user1
  std::string serial;             ///< its certificate
  std::string tracking;           ///< the mailing of its approval notice
};

struct CompanyFixture {
  std::unique_ptr<test::CaFixture> caf = test::make_ca();
  UnixTime now = system_clock()();
  RaContext ctx{*caf->db, caf->config, [this] { return now; }};
  std::optional<Principal> admin, alice, bob, audrey;   // administrator, operator, approver, auditor

  CompanyFixture() {
    add_operator(ctx, nullptr, "admin", "", Role::administrator, kPassword);
    admin = *login(ctx, "admin", kPassword).principal;
    add_operator(ctx, &*admin, "alice", "", Role::operator_, kPassword);
    add_operator(ctx, &*admin, "bob", "", Role::approver, kPassword);
    add_operator(ctx, &*admin, "audrey", "", Role::auditor, kPassword);
    settle_operators(*caf->db);
    alice = *login(ctx, "alice", kPassword).principal;
    bob = *login(ctx, "bob", kPassword).principal;
    audrey = *login(ctx, "audrey", kPassword).principal;
  }

  /// A company with a checked paper bundle, its company ID and two user IDs.
  Company company(const std::string& name, const std::string& romaji, const std::string& domain) {
    BundleInput b;
    b.company = {name, "カイシャ", romaji, "東京都港区新橋1-1-1", "代表 一郎", "代表取締役"};
    b.received_on = date_in_japan(now);
    b.seal_form = b.applicant_list = true;
    b.contacts = {{"contact", "管理 花子", "総務部", "admin@" + domain, "", ""},
                  {"billing", "請求 次郎", "経理部", "billing@" + domain, "", ""}};
    b.users = {{"利用 一郎", "工事部", "user1@" + domain}, {"利用 二郎", "工事部", "user2@" + domain}};
    auto created = create_bundle(ctx, *alice, b);
    for (auto k : {DocumentKind::registration_current, DocumentKind::representative_seal}) {
      DocumentInput d;
      d.kind = k;
      d.issued_on = d.received_on = date_in_japan(now);
      add_document(ctx, *alice, created.bundle_id, d);
    }
    if (!check_bundle(ctx, *alice, created.bundle_id).complete) throw std::runtime_error("bundle incomplete");
    auto ids = issue_bundle_accounts(ctx, *alice, created.bundle_id);
    Company c;
    c.id = created.company_id;
    c.bundle_id = created.bundle_id;
    c.admin = ids.accounts.at(0).login_id;
    c.user1 = ids.accounts.at(1).login_id;
    c.user2 = ids.accounts.at(2).login_id;
    return c;
  }

  /// The initial password mailed for an ID (read from the outbox, as the holder would).
  std::string mailed_password(const std::string& login_id) {
    db::Statement st(*caf->db, "SELECT id FROM outbox WHERE template = 'user_id' ORDER BY id DESC");
    while (st.step()) {
      auto p = test::outbox_mail_params(*caf->db, st.int64(0));
      if (p.value("user_id", "") == login_id) return p.value("password", "");
    }
    throw std::runtime_error("no mailed password for " + login_id);
  }

  /// The principal of a company or user ID, logged in with its mailed password.
  Principal account(const std::string& login_id) {
    auto r = login_account(ctx, login_id, mailed_password(login_id));
    if (!r.principal) throw std::runtime_error("login of " + login_id + " failed: " + r.message);
    return *r.principal;
  }

  /// The company admin's request for user1, checked, approved, its PIN issued and mailed, enrolled
  /// with a fresh key and issued; fills c.application, c.tracking and c.serial.
  void requested_certificate(Company& c, const std::string& key_name) {
    auto req = request_additional_certificate(ctx, account(c.admin), {c.user1, light_form()});
    c.application = req.application_id;
    check_certificate_request(ctx, *alice, req.application_id);
    approve_application(ctx, *bob, req.application_id);
    auto pin = issue_pin(ctx, *alice, req.application_id);
    c.tracking = std::to_string(200000000000 + req.application_id);
    record_mailing(ctx, *alice, req.application_id, c.tracking, date_in_japan(now));
    auto csr = test::openssl_csr(caf->home.path(), "ec", key_name);
    start_enrollment(ctx, req.application_id, pin.pin, csr, "enroll:web");   // throws when refused
    // Issuance is no person's act: it reads the application without a principal.
    c.serial = issue_for_application(ctx, *caf->ca, req.application_id, "enroll:web").record.serial_hex;
  }
};

}  // namespace jitsuin::ra::testing
