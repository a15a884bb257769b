// RA core (RA-1 .. RA-4, RA-6): paper bundle to approved application, document check, state
// machine, operators and the two-person rule, application PINs, restricted-delivery mail,
// revocation requests through to the CRL. Real SQLite files, a real SoftHSM2 CA, openssl to check.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "jitsuin/api/decode.h"
#include "jitsuin/ca/authority.h"
#include "jitsuin/ca/row_check.h"
#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/issuance.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/links.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/enrollment.h"
#include "refusal.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/renewal.h"
#include "jitsuin/ra/revocation.h"
#include "jitsuin/ra/secret.h"
#include "support/support.h"
#include "operator_setup.h"

namespace jitsuin::ra {
namespace {

using nlohmann::json;
using test::count_rows;
using test::expect_error;
using testing::status_answer;

// What `audit verify` checks: the chain, and the CA's rows against it. "" when both hold, else
// the problem.
std::string verify_all(db::Database& db) {
  ca::CertificateRowCheck rows;
  auto chain = db::verify_audit(db, &rows);
  if (!chain.ok) return chain.problem;
  return rows.report().ok ? "" : rows.report().problem;
}

const std::string kPassword = "correct horse battery";

config::Config source_config(const std::filesystem::path& home) {
  auto src = std::filesystem::path(JITSUIN_SOURCE_DIR) / "config";
  return config::parse_config(read_file(src / "jitsuin.json"), home, src);
}

// An RA on a fresh database with an injected clock and five operators.
struct RaFixture {
  test::TempDir home;
  config::Config config = source_config(home.path());
  std::unique_ptr<db::Database> db;
  UnixTime now = parse_rfc3339("2026-04-11T01:00:00Z");   // 10:00 in Japan
  std::unique_ptr<RaContext> ctx;
  std::optional<Principal> admin, alice, bob, carol, audrey;

  RaFixture() {
    open();
    add_operator(*ctx, nullptr, "admin", "Administrator", Role::administrator, kPassword);
    admin = as("admin");
    add_operator(*ctx, &*admin, "alice", "", Role::operator_, kPassword);
    add_operator(*ctx, &*admin, "bob", "", Role::approver, kPassword);
    add_operator(*ctx, &*admin, "carol", "", Role::approver, kPassword);
    add_operator(*ctx, &*admin, "audrey", "", Role::auditor, kPassword);
    testing::settle_operators(*db);
    alice = as("alice");
    bob = as("bob");
    carol = as("carol");
    audrey = as("audrey");
  }
  // (Re)opens the database, as after a restart.
  void open() {
    ctx.reset();
    db.reset();
    db = db::Database::open(home / "jitsuin.db");
    ctx = std::make_unique<RaContext>(RaContext{*db, config, [this] { return now; }});
  }
  Principal as(const std::string& name) {
    auto r = login(*ctx, name, kPassword);
    if (!r.principal) throw std::runtime_error("login failed: " + r.message);
    return *r.principal;
  }
};

ApplicantInput applicant(const std::string& kanji, const std::string& kana, const std::string& romaji) {
  ApplicantInput a;
  a.name_kanji = kanji;
  a.name_kana = kana;
  a.name_romaji = romaji;
  a.organization_romaji = "Sakura Kensetsu";
  a.department_romaji = "Honsha";
  a.title_romaji = "Shacho";
  a.email = "applicant@example.jp";
  a.postcode = "1050004";
  a.home_address = "東京都港区新橋2-6-2";
  a.validity_years = 2;
  return a;
}

BundleInput three_applicant_bundle() {
  BundleInput b;
  b.company = {"桜建設株式会社", "サクラケンセツ", "Sakura Kensetsu", "東京都港区新橋1-1-1", "桜 一郎", "代表取締役"};
  b.received_on = Date::parse("2026-04-10");
  b.seal_form = true;
  b.seal_description = "角印";
  b.applicant_list = true;
  b.token_quantity = 3;
  b.contacts = {{"contact", "連絡 花子", "総務部", "contact@example.jp", "03-0000-0000", ""},
                {"billing", "請求 次郎", "経理部", "billing@example.jp", "", ""}};
  b.applicants = {applicant("山田 太郎", "ヤマダ タロウ", "Taro Yamada"),
                  applicant("鈴木 花子", "スズキ ハナコ", "Hanako Suzuki"),
                  applicant("佐藤 健", "サトウ ケン", "Ken Sato")};
  b.users = {{"利用 者", "工事部", "user@example.jp"}};
  return b;
}

DocumentInput doc(DocumentKind k, const std::string& issued, const std::string& received,
                  std::optional<std::int64_t> app = std::nullopt, bool original = true) {
  DocumentInput d;
  d.kind = k;
  d.issued_on = Date::parse(issued);
  d.received_on = Date::parse(received);
  d.application_id = app;
  d.original = original;
  return d;
}


// ---------------------------------------------------------------------------------------------
// Dates and the 3-month rule

TEST(RaDate, MonthArithmeticClampsToMonthEnd) {
  EXPECT_EQ(add_months(Date::parse("2026-01-10"), 3).str(), "2026-04-10");
  EXPECT_EQ(add_months(Date::parse("2025-11-30"), 3).str(), "2026-02-28");
  EXPECT_EQ(add_months(Date::parse("2023-11-30"), 3).str(), "2024-02-29");
  EXPECT_EQ(add_months(Date::parse("2026-01-31"), 1).str(), "2026-02-28");
  EXPECT_EQ(add_months(Date::parse("2026-10-15"), 3).str(), "2027-01-15");
  EXPECT_EQ(add_months(Date::parse("2026-03-31"), -1).str(), "2026-02-28");
  EXPECT_EQ(Date::parse("2026-02-28").plus_days(1).str(), "2026-03-01");
  EXPECT_EQ(Date::parse("2024-12-31").plus_days(1).str(), "2025-01-01");
  EXPECT_EQ(date_in_japan(parse_rfc3339("2026-04-10T15:00:00Z")).str(), "2026-04-11");
  EXPECT_EQ(date_in_japan(parse_rfc3339("2026-04-10T14:59:59Z")).str(), "2026-04-10");
}

TEST(RaDate, StrictParsing) {
  for (const char* bad : {"2026-02-29", "2026-02-30", "2026-4-01", "2026/04/01", "2026-13-01", "2026-00-10",
                          "26-04-01", "2026-04-01x", "", "1899-12-31", "２０２６-04-01"})
    expect_error([&] { Date::parse(bad); }, ErrorKind::invalid_input);
  EXPECT_EQ(Date::parse("2024-02-29").str(), "2024-02-29");
}

TEST(RaDocuments, ThreeMonthBoundary) {
  BundleFacts f;
  f.seal_form = f.applicant_list = f.contact = f.billing = true;
  auto with = [&](const std::string& issued, const std::string& received) {
    Document reg;
    reg.id = 1;
    reg.kind = DocumentKind::registration_history;
    reg.issued_on = Date::parse(issued);
    reg.received_on = Date::parse(received);
    Document seal = reg;
    seal.id = 2;
    seal.kind = DocumentKind::representative_seal;
    seal.issued_on = Date::parse("2026-04-01");
    f.documents = {reg, seal};
    return evaluate_documents(f);
  };
  EXPECT_TRUE(with("2026-01-10", "2026-04-10").empty()) << "exactly 3 months is accepted";
  auto stale = with("2026-01-10", "2026-04-11");   // 3 months + 1 day
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].code, "stale_document");
  EXPECT_NE(stale[0].message.find("accepted only until 2026-04-10"), std::string::npos) << stale[0].message;
  EXPECT_NE(stale[0].message_ja.find("3ヶ月"), std::string::npos);
  EXPECT_TRUE(with("2025-11-30", "2026-02-28").empty());
  EXPECT_EQ(with("2025-11-30", "2026-03-01").size(), 1u);
}

TEST(RaDocuments, RulesOfRa2) {
  BundleFacts f;
  f.manager_applies = true;
  f.applicants = {{7, "山田 太郎", "", false}};
  Document reg;
  reg.id = 1;
  reg.kind = DocumentKind::registration_representative;
  reg.issued_on = reg.received_on = Date::parse("2026-04-01");
  Document copy = reg;
  copy.id = 2;
  copy.kind = DocumentKind::residence_record;
  copy.application_id = 7;
  copy.original = false;
  f.documents = {reg, copy};
  auto r = evaluate_documents(f);
  std::multiset<std::string> codes;
  for (const auto& d : r) codes.insert(d.code);
  // Forms 2, 3 and both Form-4 people missing; 代表者事項 refused for a manager; no representative
  // seal; residence record is a copy; personal seal missing.
  EXPECT_EQ(codes.count("missing_form"), 4u);
  EXPECT_EQ(codes.count("registration_kind_not_accepted"), 1u);
  EXPECT_EQ(codes.count("copy_not_accepted"), 1u);
  EXPECT_EQ(codes.count("missing_document"), 2u);
  for (const auto& d : r) {
    if (d.code == "copy_not_accepted") {
      EXPECT_EQ(d.application_id, 7);
    }
  }
  f.manager_applies = false;
  f.seal_form = f.applicant_list = f.contact = f.billing = true;
  r = evaluate_documents(f);
  EXPECT_EQ(r.size(), 3u);   // rep seal, copy, personal seal
}

// The reasons of a check are stored by ra/ in its own encoding (ra_bundle_checks.reasons) and read
// back whole by last_check_reasons(), with and without an applicant; the keys on disk stay those of
// the rows already written.
TEST(RaDocuments, CheckReasonsStoredAndReadBack) {
  RaFixture f;
  auto& ctx = *f.ctx;
  auto created = create_bundle(ctx, *f.bob, three_applicant_bundle());
  const auto bundle = created.bundle_id;
  const auto a1 = created.application_ids[0];
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::registration_current, "2026-03-01", "2026-04-10"));
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::personal_seal, "2026-03-20", "2026-04-10", a1));
  EXPECT_TRUE(last_check_reasons(ctx, *f.alice, bundle).empty()) << "no check has run";
  auto r = check_bundle(ctx, *f.alice, bundle);
  ASSERT_FALSE(r.complete);
  bool with_applicant = false, without_applicant = false;
  for (const auto& d : r.reasons) (d.application_id ? with_applicant : without_applicant) = true;
  ASSERT_TRUE(with_applicant && without_applicant)
      << "the bundle's seal certificate and the applicants' papers are missing";

  auto back = last_check_reasons(ctx, *f.alice, bundle);
  ASSERT_EQ(back.size(), r.reasons.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].code, r.reasons[i].code) << i;
    EXPECT_EQ(back[i].application_id, r.reasons[i].application_id) << i;
    EXPECT_EQ(back[i].message, r.reasons[i].message) << i;
    EXPECT_EQ(back[i].message_ja, r.reasons[i].message_ja) << i;
  }
  db::Statement st(*f.db, "SELECT reasons FROM ra_bundle_checks WHERE bundle_id = ?");
  st.bind(1, bundle);
  ASSERT_TRUE(st.step());
  auto stored = json::parse(st.text(0));
  ASSERT_EQ(stored.size(), r.reasons.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const auto& d = r.reasons[i];
    json want = {{"code", d.code}, {"message", d.message}, {"message_ja", d.message_ja}};
    if (d.application_id) want["application"] = *d.application_id;
    EXPECT_EQ(stored[i], want) << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Secrets and PINs

TEST(RaSecret, ScryptHashes) {
  auto h = hash_secret("s3cret-pass");
  EXPECT_TRUE(h.starts_with("scrypt$32768$8$1$"));
  EXPECT_NE(h, hash_secret("s3cret-pass")) << "salted";
  EXPECT_TRUE(verify_secret("s3cret-pass", h));
  EXPECT_FALSE(verify_secret("s3cret-pasS", h));
  EXPECT_FALSE(verify_secret("s3cret-pass", "scrypt$32768$8$1$zz$00"));
  EXPECT_FALSE(verify_secret("s3cret-pass", "plain"));
  EXPECT_FALSE(verify_secret("s3cret-pass", "scrypt$1073741824$8$1$00112233445566778899aabbccddeeff$" + std::string(64, '0')));
}

TEST(RaPin, FormatAndNormalisation) {
  std::regex shape("^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto p = generate_pin();
    EXPECT_TRUE(std::regex_match(p, shape)) << p;
    seen.insert(p);
    EXPECT_EQ(normalize_pin(p).size(), 16u);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(normalize_pin("abcd-efgh-jkmn-pqrs"), "ABCDEFGHJKMNPQRS");
  EXPECT_EQ(normalize_pin("O1IL 2345 6789 ABCD"), "011123456789ABCD");
  EXPECT_EQ(normalize_pin("UUUU-AAAA-AAAA-AAAA"), "") << "U is not in the alphabet";
  EXPECT_EQ(normalize_pin("AAAA-AAAA-AAAA"), "");
  EXPECT_EQ(normalize_pin("AAAA-AAAA-AAAA-AAAA-A"), "");
}

// ---------------------------------------------------------------------------------------------
// Operators

TEST(RaOperators, BootstrapRolesAndLockoutSurvivesRestart) {
  RaFixture f;
  expect_error([&] { add_operator(*f.ctx, nullptr, "mallory", "", Role::administrator, kPassword); },
           ErrorKind::unauthenticated);
  expect_error([&] { add_operator(*f.ctx, &*f.alice, "eve", "", Role::operator_, kPassword); }, ErrorKind::forbidden);
  expect_error([&] { add_operator(*f.ctx, &*f.admin, "dave", "", Role::operator_, "short"); }, ErrorKind::invalid_input);
  expect_error([&] { add_operator(*f.ctx, &*f.admin, "alice", "", Role::operator_, kPassword); }, ErrorKind::conflict);
  expect_error([&] { add_operator(*f.ctx, &*f.admin, "Bad Name", "", Role::operator_, kPassword); },
           ErrorKind::invalid_input);

  for (int i = 0; i < 5; ++i) {
    auto r = login(*f.ctx, "alice", "wrong password " + std::to_string(i));
    EXPECT_FALSE(r.principal);
  }
  EXPECT_FALSE(login(*f.ctx, "alice", kPassword).principal) << "locked after 5 failures";
  f.open();   // restart
  EXPECT_FALSE(login(*f.ctx, "alice", kPassword).principal) << "the lockout survives a restart";
  auto ops = list_operators(*f.ctx, *f.audrey);
  auto it = std::find_if(ops.begin(), ops.end(), [](const OperatorInfo& o) { return o.name == "alice"; });
  ASSERT_NE(it, ops.end());
  EXPECT_TRUE(it->locked);
  EXPECT_EQ(it->failed_logins, 5);
  expect_error([&] { unlock_operator(*f.ctx, *f.bob, "alice"); }, ErrorKind::forbidden);
  unlock_operator(*f.ctx, *f.admin, "alice");
  EXPECT_TRUE(login(*f.ctx, "alice", kPassword).principal);
  // Unknown names get the same answer as wrong passwords.
  EXPECT_EQ(login(*f.ctx, "nobody", kPassword).message, login(*f.ctx, "bob", "nope nope nope").message);
  EXPECT_TRUE(db::verify_audit(*f.db).ok);
}

TEST(RaOperators, Sessions) {
  RaFixture f;
  auto s = start_session(*f.ctx, *f.bob);
  EXPECT_EQ(s.token.size(), 64u);
  EXPECT_EQ(resume_session(*f.ctx, s.token).name(), "bob");
  {
    db::Statement st(*f.db, "SELECT count(*) FROM ra_sessions WHERE token_sha256 = ?");
    st.bind_blob(1, sha256(s.token));
    st.step();
    EXPECT_EQ(st.int64(0), 1) << "only the hash of the token is stored";
  }
  expect_error([&] { resume_session(*f.ctx, "00"); }, ErrorKind::unauthenticated);
  f.now += 8 * 3600 + 1;
  expect_error([&] { resume_session(*f.ctx, s.token); }, ErrorKind::unauthenticated);
  auto s2 = start_session(*f.ctx, *f.bob);
  end_session(*f.ctx, s2.token);
  expect_error([&] { resume_session(*f.ctx, s2.token); }, ErrorKind::unauthenticated);
}

// ---------------------------------------------------------------------------------------------
// The whole paper path

TEST(RaLifecycle, PaperToApprovedWithThreeApplicants) {
  RaFixture f;
  auto& ctx = *f.ctx;
  auto created = create_bundle(ctx, *f.bob, three_applicant_bundle());
  ASSERT_EQ(created.application_ids.size(), 3u);
  auto [a1, a2, a3] = std::tuple{created.application_ids[0], created.application_ids[1], created.application_ids[2]};
  EXPECT_EQ(count_rows(*f.db, "outbox"), 1) << "application_received to the contact person";
  EXPECT_EQ(count_rows(*f.db, "ra_contacts"), 2);
  EXPECT_EQ(count_rows(*f.db, "ra_user_applications"), 1);

  // Documents as received: a3's residence record is missing, a2's is stale (3 months + 1 day).
  const auto bundle = created.bundle_id;
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::registration_current, "2026-03-01", "2026-04-10"));
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::representative_seal, "2026-03-01", "2026-04-10"));
  for (auto id : {a1, a2, a3}) add_document(ctx, *f.alice, bundle, doc(DocumentKind::personal_seal, "2026-03-20", "2026-04-10", id));
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::residence_record, "2026-03-20", "2026-04-10", a1));
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::residence_record, "2026-01-09", "2026-04-10", a2));

  expect_error([&] { check_bundle(ctx, *f.audrey, bundle); }, ErrorKind::forbidden);
  auto r = check_bundle(ctx, *f.alice, bundle);
  EXPECT_FALSE(r.complete);
  ASSERT_EQ(r.reasons.size(), 2u);
  EXPECT_EQ(r.reasons[0].code, "stale_document");
  EXPECT_EQ(r.reasons[0].application_id, a2);
  EXPECT_NE(r.reasons[0].message.find("issued 2026-01-09, received 2026-04-10"), std::string::npos);
  EXPECT_EQ(r.reasons[1].code, "missing_document");
  EXPECT_EQ(r.reasons[1].application_id, a3);
  EXPECT_NE(r.reasons[1].message_ja.find("佐藤 健 様の住民票"), std::string::npos) << r.reasons[1].message_ja;
  for (auto id : {a1, a2, a3}) EXPECT_EQ(get_application(ctx, *f.audrey, id).state, State::incomplete);
  EXPECT_EQ(last_check_reasons(ctx, *f.audrey, bundle).size(), 2u);

  // Approving an incomplete application is refused with the state and what is allowed.
  auto msg = expect_error([&] { approve_application(ctx, *f.carol, a1); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("is incomplete"), std::string::npos) << msg;
  EXPECT_NE(msg.find("resubmitted, rejected, withdrawn"), std::string::npos) << msg;

  // Checking again before the company answered: nothing waits for a check.
  expect_error([&] { check_bundle(ctx, *f.alice, bundle); }, ErrorKind::conflict);

  // The company sends the missing papers.
  f.now += 5 * 86400;
  EXPECT_EQ(resubmit_bundle(ctx, *f.alice, bundle, "missing papers arrived").size(), 3u);
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::residence_record, "2026-04-01", "2026-04-15", a2));
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::residence_record, "2026-04-02", "2026-04-15", a3));
  r = check_bundle(ctx, *f.bob, bundle);
  EXPECT_TRUE(r.complete) << (r.reasons.empty() ? "" : r.reasons[0].message);
  for (auto id : {a1, a2, a3}) EXPECT_EQ(get_application(ctx, *f.audrey, id).state, State::checked);

  // Two-person rule: bob entered and checked the bundle; he cannot approve. Auditors cannot either.
  msg = expect_error([&] { approve_application(ctx, *f.bob, a1); }, ErrorKind::forbidden);
  EXPECT_NE(msg.find("two-person"), std::string::npos);
  expect_error([&] { approve_application(ctx, *f.audrey, a1); }, ErrorKind::forbidden);
  expect_error([&] { approve_application(ctx, *f.alice, a1); }, ErrorKind::forbidden);
  for (auto id : {a1, a2, a3}) approve_application(ctx, *f.carol, id);
  EXPECT_EQ(get_application(ctx, *f.audrey, a1).approved_by, "ra:carol");

  auto hist = application_history(ctx, *f.audrey, a2);
  std::vector<std::string> path;
  for (const auto& e : hist) path.push_back(e.to);
  EXPECT_EQ(path, (std::vector<std::string>{"received", "incomplete", "resubmitted", "checked", "approved"}));
  EXPECT_EQ(hist.back().actor, "ra:carol");
  EXPECT_EQ(hist.back().at, f.now);

  // Audit: every transition is in the chain — each approval in an entry of its own, the bundle's
  // checks and its resubmission in one entry per request naming every application moved — and
  // the chain verifies.
  db::Statement st(*f.db, "SELECT count(*) FROM audit_log WHERE action = 'ra.application.approved'");
  st.step();
  EXPECT_EQ(st.int64(0), 3);
  db::Statement bundle_entries(*f.db,
                               "SELECT action, details FROM audit_log WHERE action IN ('ra.bundle.check', "
                               "'ra.bundle.resubmit') ORDER BY seq");
  std::vector<std::string> moves;
  while (bundle_entries.step()) {
    auto details = json::parse(bundle_entries.text(1));
    EXPECT_EQ(details["applications"], json::array({a1, a2, a3}));
    moves.push_back(details["state"].get<std::string>());
  }
  EXPECT_EQ(moves, (std::vector<std::string>{"incomplete", "resubmitted", "checked"}));
  EXPECT_TRUE(db::verify_audit(*f.db).ok);

  // Search by company, applicant, state.
  ApplicationFilter filter;
  filter.company = "sakura";
  EXPECT_EQ(find_applications(ctx, *f.audrey, filter).size(), 3u);
  filter.applicant = "スズキ";
  ASSERT_EQ(find_applications(ctx, *f.audrey, filter).size(), 1u);
  EXPECT_EQ(find_applications(ctx, *f.audrey, filter)[0].id, a2);
  ApplicationFilter by_state;
  by_state.state = State::approved;
  EXPECT_EQ(find_applications(ctx, *f.audrey, by_state).size(), 3u);
  // A limit keeps the newest matches, in the order they came in.
  by_state.limit = 2;
  auto newest = find_applications(ctx, *f.audrey, by_state);
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].id, a2);
  EXPECT_EQ(newest[1].id, a3);
  EXPECT_EQ(find_bundles(ctx, *f.audrey, "桜建設").size(), 1u);
}


TEST(RaLifecycle, EditsRejectionAndWithdrawal) {
  RaFixture f;
  auto& ctx = *f.ctx;
  auto c = create_bundle(ctx, *f.alice, three_applicant_bundle());
  auto [a1, a2, a3] = std::tuple{c.application_ids[0], c.application_ids[1], c.application_ids[2]};
  // Form-5 data may change before the check: validated like new input, audited with field names.
  auto edited = edit_application(ctx, *f.alice, a1, api::decode_applicant_changes({{"title_romaji", "Bucho"}, {"validity_years", 1}}));
  EXPECT_EQ(edited.form.title_romaji, "Bucho");
  EXPECT_EQ(edited.form.validity_years, 1);
  expect_error([&] { edit_application(ctx, *f.alice, a1, api::decode_applicant_changes({{"name_romaji", "山田"}})); }, ErrorKind::invalid_input);
  EXPECT_EQ(get_application(ctx, *f.audrey, a1).form.name_romaji, "Taro Yamada");
  expect_error([&] { edit_application(ctx, *f.audrey, a1, api::decode_applicant_changes({{"title_romaji", "Kacho"}})); }, ErrorKind::forbidden);
  edit_bundle(ctx, *f.alice, c.bundle_id, api::decode_bundle_changes({{"applied_by", "manager"}, {"token_quantity", 2}}));
  EXPECT_EQ(get_bundle(ctx, *f.audrey, c.bundle_id).applied_by, "manager");
  expect_error([&] { edit_bundle(ctx, *f.alice, c.bundle_id, api::decode_bundle_changes({{"applied_by", "boss"}})); }, ErrorKind::invalid_input);
  expect_error([&] { edit_bundle(ctx, *f.alice, c.bundle_id, api::decode_bundle_changes({{"received_on", "2026-04-31"}})); }, ErrorKind::invalid_input);
  // Rejection needs an approver and a reason; withdrawal ends an application; both are final.
  expect_error([&] { reject_application(ctx, *f.alice, a2, "forged seal"); }, ErrorKind::forbidden);
  reject_application(ctx, *f.bob, a2, "forged seal");
  withdraw_application(ctx, *f.alice, a3, "the applicant left the company");
  auto msg = expect_error([&] { withdraw_application(ctx, *f.alice, a2, "again"); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("is rejected; it cannot become withdrawn (allowed from rejected: none, it is final)"),
            std::string::npos) << msg;
  EXPECT_EQ(application_history(ctx, *f.audrey, a2).back().note, "forged seal");
  // The check only concerns applicants still in the application (and Form 3 orders their eTokens).
  edit_bundle(ctx, *f.alice, c.bundle_id, api::decode_bundle_changes({{"token_quantity", 1}}));
  add_document(ctx, *f.alice, c.bundle_id, doc(DocumentKind::registration_history, "2026-03-01", "2026-04-10"));
  add_document(ctx, *f.alice, c.bundle_id, doc(DocumentKind::representative_seal, "2026-03-01", "2026-04-10"));
  add_document(ctx, *f.alice, c.bundle_id, doc(DocumentKind::residence_record, "2026-03-01", "2026-04-10", a1));
  add_document(ctx, *f.alice, c.bundle_id, doc(DocumentKind::personal_seal, "2026-03-01", "2026-04-10", a1));
  auto r = check_bundle(ctx, *f.alice, c.bundle_id);
  EXPECT_TRUE(r.complete) << (r.reasons.empty() ? "" : r.reasons[0].message);
  EXPECT_EQ(r.moved, std::vector<std::int64_t>{a1});
  // A withdrawal after the PIN was issued kills the PIN.
  approve_application(ctx, *f.bob, a1);
  auto pin = issue_pin(ctx, *f.alice, a1);
  record_mailing(ctx, *f.alice, a1, "2222-3333-4444", Date::parse("2026-04-11"));
  withdraw_application(ctx, *f.alice, a1, "cancelled by the company");
  EXPECT_NE(status_answer(ctx, a1, pin.pin).state, State::notice_mailed);
  EXPECT_THROW(start_enrollment(ctx, a1, pin.pin, test::openssl_csr(f.home.path(), "ec", "w1"), "enroll:web"),
               ReasonedError);
  EXPECT_TRUE(db::verify_audit(*f.db).ok);
}

// From approval to the PIN letter: issue, mail, wrong PINs lock (and stay locked after a restart),
// re-issue under the two-person rule.
struct ApprovedFixture : RaFixture {
  std::int64_t app = 0, bundle = 0;
  ApprovedFixture() {
    BundleInput b = three_applicant_bundle();
    b.applicants.resize(1);
    b.token_quantity = 1;
    auto c = create_bundle(*ctx, *alice, b);
    bundle = c.bundle_id;
    app = c.application_ids[0];
    add_document(*ctx, *alice, bundle, doc(DocumentKind::registration_history, "2026-03-01", "2026-04-10"));
    add_document(*ctx, *alice, bundle, doc(DocumentKind::representative_seal, "2026-03-01", "2026-04-10"));
    add_document(*ctx, *alice, bundle, doc(DocumentKind::residence_record, "2026-03-01", "2026-04-10", app));
    add_document(*ctx, *alice, bundle, doc(DocumentKind::personal_seal, "2026-03-01", "2026-04-10", app));
    if (!check_bundle(*ctx, *alice, bundle).complete) throw std::runtime_error("check failed");
    approve_application(*ctx, *bob, app);
  }
};

TEST(RaPin, WrongPinLocksAndSurvivesRestart) {
  ApprovedFixture f;
  auto& ctx = *f.ctx;
  auto pin = issue_pin(ctx, *f.alice, f.app);
  EXPECT_EQ(pin.expires_at, f.now + 30 * 86400);
  {
    db::Statement st(*f.db, "SELECT pin_hash FROM ra_applications WHERE id = ?");
    st.bind(1, f.app);
    st.step();
    EXPECT_TRUE(st.text(0).starts_with("scrypt$"));
    EXPECT_EQ(st.text(0).find(normalize_pin(pin.pin)), std::string::npos);
  }
  db::Statement audit(*f.db, "SELECT count(*) FROM audit_log WHERE details LIKE ?");
  audit.bind(1, "%" + normalize_pin(pin.pin).substr(0, 8) + "%");
  audit.step();
  EXPECT_EQ(audit.int64(0), 0) << "the PIN never reaches the audit log";

  // Before the notice is mailed the PIN is not usable; a second issue without a request is refused.
  EXPECT_EQ(status_answer(ctx, f.app, pin.pin).state, State::pin_issued) << "the notice is on its way";
  expect_error([&] { issue_pin(ctx, *f.carol, f.app); }, ErrorKind::conflict);
  record_mailing(ctx, *f.alice, f.app, "1234-5678-9012", Date::parse("2026-04-11"));

  for (int i = 1; i <= 4; ++i) {
    auto r = status_answer(ctx, f.app, "AAAA-AAAA-AAAA-AAA" + std::to_string(i));
    EXPECT_EQ(r.what, "application_pin_wrong");
    EXPECT_EQ(r.remaining, 5 - i);
  }
  f.open();   // restart between attempts: the count is in the database
  EXPECT_EQ(status_answer(*f.ctx, f.app, "not a pin").remaining, -1) << "a typo counts nothing";
  EXPECT_EQ(status_answer(*f.ctx, f.app, "AAAA-AAAA-AAAA-AAA5").what, "application_pin_locked");
  f.open();
  EXPECT_EQ(status_answer(*f.ctx, f.app, pin.pin).what, "application_pin_locked") << "locked even for the right PIN";
  EXPECT_TRUE(get_application(*f.ctx, *f.audrey, f.app).pin_locked_at.has_value());

  // Re-issue: alice requests; she cannot carry it out (role, and two-person rule); bob can.
  request_pin_reissue(*f.ctx, *f.bob, f.app, "PIN locked after wrong entries");
  expect_error([&] { issue_pin(*f.ctx, *f.bob, f.app); }, ErrorKind::forbidden);
  expect_error([&] { issue_pin(*f.ctx, *f.alice, f.app); }, ErrorKind::forbidden);
  auto pin2 = issue_pin(*f.ctx, *f.carol, f.app);
  EXPECT_NE(pin2.pin, pin.pin);
  EXPECT_EQ(get_application(*f.ctx, *f.audrey, f.app).state, State::pin_issued);
  record_mailing(*f.ctx, *f.alice, f.app, "1234-5678-9013", Date::parse("2026-04-11"));
  EXPECT_EQ(status_answer(*f.ctx, f.app, pin.pin).what, "application_pin_wrong") << "the old PIN is dead";
  auto ok = status_answer(*f.ctx, f.app, normalize_pin(pin2.pin));
  EXPECT_EQ(ok.what, "accepted") << ok.message;
  EXPECT_EQ(ok.state, State::notice_mailed);
  // Expiry.
  f.now += 31 * 86400;
  EXPECT_NE(status_answer(*f.ctx, f.app, pin2.pin).message.find("expired"), std::string::npos);
  EXPECT_THROW(start_enrollment(*f.ctx, f.app, pin2.pin, test::openssl_csr(f.home.path(), "ec", "x1"), "enroll:web"),
               ReasonedError);
  EXPECT_TRUE(db::verify_audit(*f.db).ok);
}

TEST(RaDelivery, RestrictedDeliveryMail) {
  ApprovedFixture f;
  auto& ctx = *f.ctx;
  issue_pin(ctx, *f.alice, f.app);
  auto m = record_mailing(ctx, *f.alice, f.app, "1111-2222-3333", Date::parse("2026-04-11"));
  EXPECT_EQ(m.tracking_number, "111122223333");
  EXPECT_EQ(get_application(ctx, *f.audrey, f.app).state, State::notice_mailed);
  f.now += 10 * 86400;
  m = record_postal_event(ctx, *f.alice, "111122223333", "held", Date::parse("2026-04-12"));
  EXPECT_EQ(m.hold_ends()->str(), "2026-04-19");
  auto msg = expect_error([&] { record_postal_event(ctx, *f.alice, "111122223333", "delivered", Date::parse("2026-04-20")); },
                      ErrorKind::conflict);
  EXPECT_NE(msg.find("held until 2026-04-19"), std::string::npos) << msg;
  auto returned = expire_holds(ctx, "cron", Date::parse("2026-04-21"));
  ASSERT_EQ(returned.size(), 1u);
  EXPECT_EQ(returned[0].state, "returned");
  EXPECT_EQ(returned[0].returned_on->str(), "2026-04-20");
  expect_error([&] { record_postal_event(ctx, *f.alice, "111122223333", "delivered", Date::parse("2026-04-21")); },
           ErrorKind::conflict);
  // Re-send: charged, or free with a note; never under a known tracking number.
  expect_error([&] { resend_notice(ctx, *f.alice, f.app, "5555-6666-7777", Date::parse("2026-04-21"), 0, ""); },
           ErrorKind::invalid_input);
  auto before = count_rows(*f.db, "ra_mailings");
  expect_error([&] { resend_notice(ctx, *f.alice, f.app, "111122223333", Date::parse("2026-04-21"), 1200, ""); },
           ErrorKind::conflict);
  EXPECT_EQ(count_rows(*f.db, "ra_mailings"), before);
  auto again = resend_notice(ctx, *f.alice, f.app, "5555-6666-7777", Date::parse("2026-04-21"), 1200, "");
  EXPECT_EQ(again.charge_yen, 1200);
  EXPECT_EQ(again.resend_of, m.id);
  record_postal_event(ctx, *f.alice, "555566667777", "delivered", Date::parse("2026-04-21"));
  EXPECT_EQ(list_mailings(ctx, *f.audrey, f.app).size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Bad input: clear errors, nothing changed

TEST(RaBadInput, RefusedWithoutChanges) {
  ApprovedFixture f;
  auto& ctx = *f.ctx;
  const std::vector<std::string> tables{"ra_companies", "ra_bundles", "ra_applications", "ra_documents",
                                        "ra_application_events", "ra_mailings", "audit_log", "outbox"};
  auto counts = [&] {
    std::vector<std::int64_t> c;
    for (const auto& t : tables) c.push_back(count_rows(*f.db, t));
    return c;
  };
  auto before = counts();

  expect_error([] { parse_state("done"); }, ErrorKind::invalid_input);
  EXPECT_NE(expect_error([] { parse_state("aproved"); }, ErrorKind::invalid_input).find("received, incomplete"),
            std::string::npos);
  expect_error([] { parse_document_kind("passport"); }, ErrorKind::invalid_input);

  auto bundle_with = [&](auto mutate) {
    BundleInput b = three_applicant_bundle();
    mutate(b);
    return expect_error([&] { create_bundle(ctx, *f.alice, b); }, ErrorKind::invalid_input);
  };
  auto m = bundle_with([](BundleInput& b) { b.applicants[2].organization_romaji = std::string(41, 'A'); });
  EXPECT_NE(m.find("applicant 3"), std::string::npos) << m;
  EXPECT_NE(m.find("40"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.applicants[0].department_romaji = std::string(40, 'D'), b.applicants[0].title_romaji = std::string(21, 'T'); });
  EXPECT_NE(m.find("60"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.applicants[1].name_romaji = "Tarō Yamada"; });
  EXPECT_NE(m.find("name_romaji must be romaji"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.applicants[1].title_romaji = "社長"; });
  EXPECT_NE(m.find("title_romaji"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.applicants[0].organization_romaji = "Sakura Kensetsu Co. Ltd."; });
  EXPECT_NE(m.find("company form"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.company.name_romaji = "サクラ"; });
  EXPECT_NE(m.find("name_romaji"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.applicants[0].validity_years = 3; });
  EXPECT_NE(m.find("validity_years"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.applicants[0].name_kana = "Yamada"; });
  EXPECT_NE(m.find("kana"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.applicants[0].email = "not-an-address"; });
  m = bundle_with([](BundleInput& b) { b.applicants[0].postcode = "105-00"; });
  m = bundle_with([](BundleInput& b) { b.received_on = Date::parse("2026-04-12"); });
  EXPECT_NE(m.find("future"), std::string::npos) << m;
  m = bundle_with([](BundleInput& b) { b.applied_by = "clerk"; });
  m = bundle_with([](BundleInput& b) { b.contacts.push_back(b.contacts[0]); });
  m = bundle_with([](BundleInput& b) { b.applicants[0].name_kanji = std::string("山田\x01"); });
  m = bundle_with([](BundleInput& b) { b.applicants[0].name_kanji = std::string("\xff\xfe"); });
  EXPECT_NE(m.find("UTF-8"), std::string::npos) << m;
  expect_error([] { api::decode_bundle(json::parse(R"({"company_id": 1, "received_on": "2026-04-10", "colour": "red"})")); },
           ErrorKind::invalid_input);
  expect_error([] { api::decode_bundle(json::parse(R"({"company_id": 1, "received_on": "2026-02-30"})")); },
           ErrorKind::invalid_input);
  expect_error([] { api::decode_applicant(json::parse(R"({"name_romaji": 5})")); }, ErrorKind::invalid_input);

  // Documents: wrong dates, wrong owner.
  expect_error([&] { add_document(ctx, *f.alice, f.bundle, doc(DocumentKind::registration_current, "2026-04-11", "2026-04-10")); },
           ErrorKind::invalid_input);
  expect_error([&] { add_document(ctx, *f.alice, f.bundle, doc(DocumentKind::registration_current, "2026-04-01", "2026-04-12")); },
           ErrorKind::invalid_input);
  expect_error([&] { add_document(ctx, *f.alice, f.bundle, doc(DocumentKind::residence_record, "2026-04-01", "2026-04-10")); },
           ErrorKind::invalid_input);
  expect_error([&] { add_document(ctx, *f.alice, f.bundle, doc(DocumentKind::residence_record, "2026-04-01", "2026-04-10", 999)); },
           ErrorKind::invalid_input);
  // The bundle is past its check: no more documents, no Form-5 edits.
  expect_error([&] { add_document(ctx, *f.alice, f.bundle, doc(DocumentKind::registration_current, "2026-04-01", "2026-04-10")); },
           ErrorKind::conflict);
  expect_error([&] { edit_application(ctx, *f.alice, f.app, api::decode_applicant_changes({{"name_romaji", "Jiro Yamada"}})); }, ErrorKind::conflict);
  expect_error([&] { edit_application(ctx, *f.alice, f.app, api::decode_applicant_changes({{"favourite", "x"}})); }, ErrorKind::invalid_input);

  // Illegal transitions name the state and the way forward.
  m = expect_error([&] { record_mailing(ctx, *f.alice, f.app, "9999-0000-1111", Date::parse("2026-04-11")); },
               ErrorKind::conflict);
  EXPECT_NE(m.find("is approved; it cannot become notice_mailed (allowed from approved: pin_issued, rejected, withdrawn)"),
            std::string::npos) << m;
  expect_error([&] { check_bundle(ctx, *f.alice, f.bundle); }, ErrorKind::conflict);
  expect_error([&] { approve_application(ctx, *f.carol, f.app); }, ErrorKind::conflict);
  expect_error([&] { get_application(ctx, *f.audrey, 4242); }, ErrorKind::not_found);
  expect_error([&] { normalize_tracking_number("12ab-3456-7890"); }, ErrorKind::invalid_input);
  expect_error([&] { normalize_tracking_number("1234"); }, ErrorKind::invalid_input);
  expect_error([&] { reject_application(ctx, *f.carol, f.app, "  "); }, ErrorKind::invalid_input);

  EXPECT_EQ(counts(), before);

  // Duplicate tracking numbers across applications: refused, nothing changed.
  issue_pin(ctx, *f.alice, f.app);
  record_mailing(ctx, *f.alice, f.app, "4444-5555-6666", Date::parse("2026-04-11"));
  BundleInput b2 = three_applicant_bundle();
  b2.applicants.resize(1);
  b2.token_quantity = 1;   // Form 3: one eToken per Form 5
  b2.company_id = get_application(ctx, *f.audrey, f.app).company_id;
  auto c2 = create_bundle(ctx, *f.alice, b2);
  // Walk the second application to pin_issued.
  add_document(ctx, *f.alice, c2.bundle_id, doc(DocumentKind::registration_history, "2026-03-01", "2026-04-10"));
  add_document(ctx, *f.alice, c2.bundle_id, doc(DocumentKind::representative_seal, "2026-03-01", "2026-04-10"));
  add_document(ctx, *f.alice, c2.bundle_id, doc(DocumentKind::residence_record, "2026-03-01", "2026-04-10", c2.application_ids[0]));
  add_document(ctx, *f.alice, c2.bundle_id, doc(DocumentKind::personal_seal, "2026-03-01", "2026-04-10", c2.application_ids[0]));
  ASSERT_TRUE(check_bundle(ctx, *f.alice, c2.bundle_id).complete);
  approve_application(ctx, *f.bob, c2.application_ids[0]);
  issue_pin(ctx, *f.alice, c2.application_ids[0]);
  before = counts();
  m = expect_error([&] { record_mailing(ctx, *f.alice, c2.application_ids[0], "444455556666", Date::parse("2026-04-11")); },
               ErrorKind::conflict);
  EXPECT_NE(m.find("already recorded"), std::string::npos) << m;
  EXPECT_EQ(counts(), before);
  EXPECT_EQ(get_application(ctx, *f.audrey, c2.application_ids[0]).state, State::pin_issued);
}

// ---------------------------------------------------------------------------------------------
// Enrollment, issuance and revocation through to the CRL

TEST(RaRevocation, RequestApproveRevokeAndCrl) {
  auto caf = test::make_ca();
  config::Config config = caf->config;
  UnixTime now = system_clock()();
  RaContext ctx{*caf->db, config, [&] { return now; }};
  add_operator(ctx, nullptr, "admin", "", Role::administrator, kPassword);
  auto admin = *login(ctx, "admin", kPassword).principal;
  add_operator(ctx, &admin, "alice", "", Role::operator_, kPassword);
  add_operator(ctx, &admin, "bob", "", Role::approver, kPassword);
  add_operator(ctx, &admin, "carol", "", Role::approver, kPassword);
  testing::settle_operators(ctx.db);
  auto alice = *login(ctx, "alice", kPassword).principal;
  auto bob = *login(ctx, "bob", kPassword).principal;
  auto carol = *login(ctx, "carol", kPassword).principal;

  BundleInput b = three_applicant_bundle();
  b.applicants.resize(1);
  b.token_quantity = 1;   // Form 3: one eToken per Form 5
  Date today = date_in_japan(now);
  b.received_on = today;
  auto c = create_bundle(ctx, alice, b);
  auto app = c.application_ids[0];
  for (auto k : {DocumentKind::registration_current, DocumentKind::representative_seal})
    add_document(ctx, alice, c.bundle_id, doc(k, today.str(), today.str()));
  for (auto k : {DocumentKind::residence_record, DocumentKind::personal_seal})
    add_document(ctx, alice, c.bundle_id, doc(k, today.str(), today.str(), app));
  ASSERT_TRUE(check_bundle(ctx, alice, c.bundle_id).complete);
  approve_application(ctx, bob, app);
  auto pin = issue_pin(ctx, alice, app);
  record_mailing(ctx, alice, app, "7777-8888-9999", today);

  // Enrollment: the PIN and a CSR; the subject comes from Form 5, not from the CSR.
  std::string csr = test::openssl_csr(caf->home.path(), "ec");
  EXPECT_THROW(start_enrollment(ctx, app, "AAAA-AAAA-AAAA-AAAA", csr, "enroll:web"), ReasonedError);
  EXPECT_EQ(get_application(ctx, admin, app).state, State::notice_mailed);
  start_enrollment(ctx, app, pin.pin, csr, "enroll:web");
  EXPECT_EQ(status_answer(ctx, app, pin.pin).state, State::enrolled) << "the PIN is spent: status only";
  EXPECT_THROW(start_enrollment(ctx, app, pin.pin, test::openssl_csr(caf->home.path(), "ec", "again"), "enroll:web"),
               ReasonedError);
  auto issued = issue_for_application(ctx, *caf->ca, app, "enroll:web");
  EXPECT_NE(issued.record.subject.find("CN=Taro Yamada"), std::string::npos) << issued.record.subject;
  {
    // Asked again: the same certificate, no second one (issuance is idempotent).
    auto certs = count_rows(*caf->db, "certificates");
    EXPECT_EQ(issue_for_application(ctx, *caf->ca, app, "enroll:web").record.serial_hex, issued.record.serial_hex);
    EXPECT_EQ(count_rows(*caf->db, "certificates"), certs);
  }
  EXPECT_NE(issued.record.subject.find("O=Sakura Kensetsu"), std::string::npos);
  EXPECT_EQ(issued.record.not_after - issued.record.not_before, 730 * 86400);
  EXPECT_EQ(get_application(ctx, admin, app).state, State::issued);
  EXPECT_EQ(get_application(ctx, admin, app).certificate_serial, issued.record.serial_hex);
  const std::string serial = issued.record.serial_hex;

  // Request (default effective: request + 2 days); requester cannot approve; rejection needs a reason.
  auto req = request_revocation(ctx, bob, serial, ca::RevocationReason::affiliation_changed, std::nullopt,
                                "transferred to another company");
  EXPECT_EQ(req.effective_at, now + 2 * 86400);
  EXPECT_EQ(req.application_id, app);
  expect_error([&] { request_revocation(ctx, alice, serial, ca::RevocationReason::superseded, std::nullopt, ""); },
           ErrorKind::conflict);
  expect_error([&] { approve_revocation(ctx, bob, req.id); }, ErrorKind::forbidden);
  expect_error([&] { approve_revocation(ctx, alice, req.id); }, ErrorKind::forbidden);
  EXPECT_EQ(caf->ca->find(serial)->status(now), "valid");
  auto done = approve_revocation(ctx, carol, req.id);
  EXPECT_EQ(done.state, "revoked");
  EXPECT_EQ(done.decided_by, "ra:carol");
  auto rec = caf->ca->find(serial);
  EXPECT_EQ(*rec->revocation_effective, now + 2 * 86400);
  EXPECT_EQ(rec->reason, ca::RevocationReason::affiliation_changed);
  EXPECT_EQ(rec->status(now), "revocation pending");
  expect_error([&] { reject_revocation(ctx, carol, req.id, "too late"); }, ErrorKind::conflict);

  // A CRL published now does not list it; one published after the effective time does.
  auto upper = [](std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
  };
  auto crl_text = [&](ca::CertificateAuthority& authority, const std::string& dir) {
    auto pubs = authority.publish_crls(caf->home / dir, {"test"});
    for (const auto& p : pubs)
      if (p.role == "issuing") {
        auto r = test::run("openssl crl -text -noout -in " + test::sh_quote(p.pem_path.string()));
        EXPECT_EQ(r.status, 0) << r.output;
        return r.output;
      }
    ADD_FAILURE() << "no issuing CRL";
    return std::string();
  };
  EXPECT_EQ(crl_text(*caf->ca, "crl-now").find(upper(serial)), std::string::npos);
  ca::CertificateAuthority later(config, *caf->db, *caf->keys, [&] { return system_clock()() + 3 * 86400; });
  auto text = crl_text(later, "crl-later");
  EXPECT_NE(text.find(upper(serial)), std::string::npos) << text;
  EXPECT_NE(text.find("Affiliation Changed"), std::string::npos) << text;

  auto pending = list_revocations(ctx, admin, "revoked");
  EXPECT_EQ(pending.rows.size(), 1u);
  EXPECT_EQ(verify_all(*caf->db), "");

  // The approved revocation undone behind the log's back: named with the approval's entry.
  db::Statement(*caf->db, "UPDATE certificates SET revoked_at = NULL, revocation_effective = NULL, "
                          "revocation_reason = NULL WHERE id = " + std::to_string(rec->id)).exec();
  auto problem = verify_all(*caf->db);
  EXPECT_NE(problem.find("certificate " + serial + ": its row is not the one entry "), std::string::npos) << problem;
  EXPECT_NE(problem.find("(ra.revocation.approve) wrote: revoked there, it is not revoked now"), std::string::npos) << problem;
}

TEST(RaRevocation, RejectionAndBadRequests) {
  auto caf = test::make_ca();
  UnixTime now = system_clock()();
  RaContext ctx{*caf->db, caf->config, [&] { return now; }};
  add_operator(ctx, nullptr, "admin", "", Role::administrator, kPassword);
  auto admin = *login(ctx, "admin", kPassword).principal;
  add_operator(ctx, &admin, "alice", "", Role::operator_, kPassword);
  testing::settle_operators(ctx.db);
  auto alice = *login(ctx, "alice", kPassword).principal;
  ca::IssueRequest ir;
  ir.profile = "individual-signing";
  ir.csr = test::openssl_csr(caf->home.path(), "ec");
  ir.subject = {{"organization", "Sakura Kensetsu"}, {"common_name", "Ken Sato"}};
  auto cert = caf->ca->issue(ir, {"test"});
  auto before = count_rows(*caf->db, "ra_revocation_requests");
  expect_error([&] { request_revocation(ctx, alice, "00ff", ca::RevocationReason::superseded, std::nullopt, ""); },
           ErrorKind::not_found);
  expect_error([&] { request_revocation(ctx, alice, cert.record.serial_hex, ca::RevocationReason::certificate_hold, std::nullopt, ""); },
           ErrorKind::invalid_input);
  expect_error([&] { request_revocation(ctx, alice, cert.record.serial_hex, ca::RevocationReason::superseded, now - 86400, ""); },
           ErrorKind::invalid_input);
  expect_error([&] { request_revocation(ctx, alice, cert.record.serial_hex, ca::RevocationReason::superseded, now + 800 * 86400, ""); },
           ErrorKind::invalid_input);
  EXPECT_EQ(count_rows(*caf->db, "ra_revocation_requests"), before);
  auto req = request_revocation(ctx, alice, cert.record.serial_hex, ca::RevocationReason::superseded,
                                now + 3600, "");
  expect_error([&] { reject_revocation(ctx, alice, req.id, "no"); }, ErrorKind::forbidden);
  auto rej = reject_revocation(ctx, admin, req.id, "request not signed by the company");
  EXPECT_EQ(rej.state, "rejected");
  EXPECT_EQ(rej.rejection_reason, "request not signed by the company");
  EXPECT_EQ(caf->ca->find(cert.record.serial_hex)->status(now), "valid");
  // A new request is possible after a rejection.
  request_revocation(ctx, alice, cert.record.serial_hex, ca::RevocationReason::superseded, std::nullopt, "");
}


// issue 8: the RA schedules a transfer's revocation revocation_delay_days ahead; a keyCompromise
// request meanwhile is not "already revoked": approved, it takes effect now, replacing the later
// one in one transaction and one audit entry that names what it replaced, and the key is refused
// from then on, whatever the subject.
TEST(RaRevocation, KeyCompromiseReplacesAScheduledRevocation) {
  auto caf = test::make_ca();
  UnixTime now = system_clock()();
  RaContext ctx{*caf->db, caf->config, [&] { return now; }};
  add_operator(ctx, nullptr, "admin", "", Role::administrator, kPassword);
  auto admin = *login(ctx, "admin", kPassword).principal;
  add_operator(ctx, &admin, "alice", "", Role::operator_, kPassword);
  add_operator(ctx, &admin, "bob", "", Role::approver, kPassword);
  testing::settle_operators(*caf->db);
  auto alice = *login(ctx, "alice", kPassword).principal;
  auto bob = *login(ctx, "bob", kPassword).principal;
  ca::IssueRequest ir;
  ir.profile = "individual-signing";
  ir.csr = test::openssl_csr(caf->home.path(), "ec");
  ir.subject = {{"organization", "Sakura Kensetsu"}, {"common_name", "Ken Sato"}};
  const std::string serial = caf->ca->issue(ir, {"test"}).record.serial_hex;

  auto transfer = request_revocation(ctx, alice, serial, ca::RevocationReason::affiliation_changed, std::nullopt, "");
  approve_revocation(ctx, bob, transfer.id);
  EXPECT_EQ(caf->ca->find(serial)->status(now), "revocation pending");
  // Another reason does not replace the scheduled revocation.
  auto m = expect_error(
      [&] { request_revocation(ctx, alice, serial, ca::RevocationReason::superseded, std::nullopt, ""); },
      ErrorKind::conflict);
  EXPECT_NE(m.find("only keyCompromise replaces"), std::string::npos) << m;

  auto lost = request_revocation(ctx, alice, serial, ca::RevocationReason::key_compromise, std::nullopt, "token lost");
  EXPECT_EQ(lost.effective_at, now) << "keyCompromise is not delayed";
  auto audit_before = count_rows(*caf->db, "audit_log");
  auto done = approve_revocation(ctx, bob, lost.id);
  EXPECT_EQ(done.state, "revoked");
  EXPECT_EQ(count_rows(*caf->db, "audit_log"), audit_before + 1);
  auto rec = caf->ca->find(serial);
  EXPECT_EQ(rec->status(now), "revoked");
  EXPECT_EQ(*rec->revocation_effective, now);
  EXPECT_EQ(rec->reason, ca::RevocationReason::key_compromise);
  {
    db::Statement st(*caf->db, "SELECT action, details FROM audit_log ORDER BY seq DESC LIMIT 1");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.text(0), "ra.revocation.approve");
    json d = json::parse(st.text(1));
    EXPECT_EQ(d["certificate"]["replaced"]["reason"], "affiliationChanged") << d;
    EXPECT_EQ(d["certificate"]["replaced"]["effective"], format_rfc3339(now + 2 * 86400)) << d;
  }
  // Now in effect for keyCompromise: nothing replaces it.
  expect_error([&] { request_revocation(ctx, alice, serial, ca::RevocationReason::key_compromise, std::nullopt, ""); },
               ErrorKind::conflict);
  // The key is never certified again, whatever the subject.
  ir.subject = {{"organization", "Ume Kogyo"}, {"common_name", "Someone Else"}};
  m = expect_error([&] { caf->ca->issue(ir, {"test"}); }, ErrorKind::invalid_input);
  EXPECT_NE(m.find("reported compromised"), std::string::npos) << m;
  EXPECT_TRUE(db::verify_audit(*caf->db).ok);
}


// ---------------------------------------------------------------------------------------------
// Renewal: expiry notices once per window, eligibility, data re-used, old certificate superseded

// Walks one application of a complete bundle from received to issued.
ca::IssuedCertificate walk_to_issued(RaContext& ctx, ca::CertificateAuthority& authority, const Principal& entry,
                                     const Principal& approver, std::int64_t bundle, std::int64_t app,
                                     const std::filesystem::path& dir, const std::string& key_name) {
  Date today = date_in_japan(ctx.clock());
  for (auto k : {DocumentKind::registration_current, DocumentKind::representative_seal})
    add_document(ctx, entry, bundle, doc(k, today.str(), today.str()));
  for (auto k : {DocumentKind::residence_record, DocumentKind::personal_seal})
    add_document(ctx, entry, bundle, doc(k, today.str(), today.str(), app));
  auto r = check_bundle(ctx, entry, bundle);
  if (!r.complete) throw std::runtime_error("incomplete: " + r.reasons[0].message);
  approve_application(ctx, approver, app);
  auto pin = issue_pin(ctx, entry, app);
  record_mailing(ctx, entry, app, std::to_string(100000000000 + app), today);
  auto csr = test::openssl_csr(dir, "ec", key_name);
  start_enrollment(ctx, app, pin.pin, csr, "enroll:web");   // throws when refused
  return issue_for_application(ctx, authority, app, "enroll:web");
}

// An administrator, an operator (alice) and an approver (bob), settled and logged in.
struct Staff {
  Principal admin, alice, bob;
};
Staff three_operators(RaContext& ctx) {
  add_operator(ctx, nullptr, "admin", "", Role::administrator, kPassword);
  auto admin = *login(ctx, "admin", kPassword).principal;
  add_operator(ctx, &admin, "alice", "", Role::operator_, kPassword);
  add_operator(ctx, &admin, "bob", "", Role::approver, kPassword);
  testing::settle_operators(ctx.db);
  return {admin, *login(ctx, "alice", kPassword).principal, *login(ctx, "bob", kPassword).principal};
}

TEST(RaRenewal, NoticesEligibilityAndSupersede) {
  auto caf = test::make_ca();
  const UnixTime start = system_clock()();
  UnixTime now = start;
  RaContext ctx{*caf->db, caf->config, [&] { return now; }};
  const Staff staff = three_operators(ctx);
  const Principal &admin = staff.admin, &alice = staff.alice, &bob = staff.bob;

  BundleInput b = three_applicant_bundle();
  b.applicants.resize(1);
  b.token_quantity = 1;   // Form 3: one eToken per Form 5
  b.applicants[0].validity_years = 1;
  b.received_on = date_in_japan(now);
  auto c = create_bundle(ctx, alice, b);
  auto old_app = c.application_ids[0];
  auto old_cert = walk_to_issued(ctx, *caf->ca, alice, bob, c.bundle_id, old_app, caf->home.path(), "k1");
  const UnixTime not_after = old_cert.record.not_after;
  issue_bundle_accounts(ctx, alice, c.bundle_id);   // the company admin hears of expiry too

  // Too early: no notice, not eligible.
  EXPECT_TRUE(send_expiry_notices(ctx, "cron").empty());
  EXPECT_FALSE(renewal_eligibility(ctx, admin, old_app).eligible);
  BundleInput rb;
  rb.company_id = c.company_id;
  rb.received_on = date_in_japan(now);
  rb.seal_form = rb.applicant_list = true;
  rb.contacts = b.contacts;
  auto renewal_bundle = create_bundle(ctx, alice, rb).bundle_id;
  auto before = count_rows(*caf->db, "ra_applications");
  auto msg = expect_error([&] { create_renewal(ctx, alice, old_app, renewal_bundle, api::decode_applicant_changes(json::object())); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("expiry notice has not been sent"), std::string::npos) << msg;
  EXPECT_EQ(count_rows(*caf->db, "ra_applications"), before);

  // 59 days before expiry: the 60-day notice, once.
  now = not_after - 59 * 86400;
  auto sent = send_expiry_notices(ctx, "cron");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].days_before, 60);
  EXPECT_EQ(sent[0].serial, old_cert.record.serial_hex);
  EXPECT_TRUE(send_expiry_notices(ctx, "cron").empty()) << "sent once";
  now = not_after - 29 * 86400;
  sent = send_expiry_notices(ctx, "cron");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].days_before, 30);
  EXPECT_TRUE(send_expiry_notices(ctx, "cron").empty());
  {
    db::Statement st(*caf->db, "SELECT count(*), count(DISTINCT recipient) FROM outbox WHERE template = 'expiry_notice'");
    st.step();
    EXPECT_EQ(st.int64(0), 4) << "two notices, each to the holder and the company admin";
    EXPECT_EQ(st.int64(1), 2);
  }

  // Eligible now; the renewal copies Form 5 with the changes given.
  EXPECT_TRUE(renewal_eligibility(ctx, admin, old_app).eligible);
  expect_error([&] { create_renewal(ctx, alice, old_app, renewal_bundle, api::decode_applicant_changes({{"colour", "red"}})); }, ErrorKind::invalid_input);
  // Never another person (issue 8): names, kana, romaji name, postcode and home address stay.
  for (const json& other : {json{{"name_kanji", "別人 次郎"}}, json{{"name_kana", "ベツジン ジロウ"}},
                            json{{"name_romaji", "Jiro Betsujin"}}, json{{"postcode", "5300001"}},
                            json{{"home_address", "大阪府大阪市北区梅田1-1-1"}, {"title_romaji", "Bucho"}}}) {
    auto m = expect_error([&] { create_renewal(ctx, alice, old_app, renewal_bundle, api::decode_applicant_changes(other)); },
                          ErrorKind::invalid_input);
    EXPECT_NE(m.find("never the person"), std::string::npos) << m;
    EXPECT_NE(m.find(other.begin().key()), std::string::npos) << m;
  }
  EXPECT_EQ(count_rows(*caf->db, "ra_applications"), before);
  auto renewal = create_renewal(ctx, alice, old_app, renewal_bundle,
                                api::decode_applicant_changes({{"title_romaji", "Bucho"}, {"department_romaji", "Sekkei-bu"},
                                                               {"email", "taro.new@example.jp"}}));
  auto r = get_application(ctx, admin, renewal);
  EXPECT_EQ(r.renewal_of, old_app);
  EXPECT_EQ(r.form.name_romaji, "Taro Yamada");
  EXPECT_EQ(r.form.home_address, "東京都港区新橋2-6-2");
  EXPECT_EQ(r.form.title_romaji, "Bucho");
  expect_error([&] { create_renewal(ctx, alice, old_app, renewal_bundle, api::decode_applicant_changes(json::object())); }, ErrorKind::conflict);

  // The CA's clock is real time; issuing the renewal revokes the old certificate as superseded.
  now = start;
  auto fresh = walk_to_issued(ctx, *caf->ca, alice, bob, renewal_bundle, renewal, caf->home.path(), "k2");
  EXPECT_NE(fresh.record.subject.find("title=Bucho"), std::string::npos) << fresh.record.subject;
  auto old_rec = caf->ca->find(old_cert.record.serial_hex);
  ASSERT_TRUE(old_rec->revoked_at.has_value());
  EXPECT_EQ(old_rec->reason, ca::RevocationReason::superseded);
  EXPECT_FALSE(renewal_eligibility(ctx, admin, old_app).eligible) << "revoked certificates are not renewed";

  // Expired more than a year ago: not eligible (and expired less than a year ago: eligible).
  now = fresh.record.not_after + 364 * 86400;
  EXPECT_TRUE(renewal_eligibility(ctx, admin, renewal).eligible);
  now = fresh.record.not_after + 366 * 86400;
  EXPECT_FALSE(renewal_eligibility(ctx, admin, renewal).eligible);
  EXPECT_EQ(verify_all(*caf->db), "");

  // The superseded revocation undone behind the log's back: named with the renewal's issuance.
  db::Statement(*caf->db, "UPDATE certificates SET revocation_reason = 0 WHERE id = " + std::to_string(old_rec->id)).exec();
  auto problem = verify_all(*caf->db);
  EXPECT_NE(problem.find("certificate " + old_cert.record.serial_hex + ": "), std::string::npos) << problem;
  EXPECT_NE(problem.find("(ra.application.issued)"), std::string::npos) << problem;
}


// webra (issue 11): the console's expiry list (ra::list_expiring): issued certificates ending within
// the window or ended less than a year ago, with the notices sent, the renewal eligibility and a
// renewal under way; revoked ones and those outside the window are not listed.
TEST(RaRenewal, ExpiringListForTheConsole) {
  auto caf = test::make_ca();
  const UnixTime start = system_clock()();
  UnixTime now = start;
  RaContext ctx{*caf->db, caf->config, [&] { return now; }};
  const Staff staff = three_operators(ctx);
  const Principal &alice = staff.alice, &bob = staff.bob;
  BundleInput b = three_applicant_bundle();
  b.applicants.resize(1);
  b.token_quantity = 1;
  b.applicants[0].validity_years = 1;
  b.received_on = date_in_japan(now);
  auto c = create_bundle(ctx, alice, b);
  auto app = c.application_ids[0];
  auto cert = walk_to_issued(ctx, *caf->ca, alice, bob, c.bundle_id, app, caf->home.path(), "k1");
  const UnixTime not_after = cert.record.not_after;

  EXPECT_TRUE(list_expiring(ctx, alice, 60).empty()) << "a year away: not within 60 days";
  auto far = list_expiring(ctx, alice, 400);
  ASSERT_EQ(far.size(), 1u);
  EXPECT_EQ(far[0].application_id, app);
  EXPECT_EQ(far[0].serial, cert.record.serial_hex);
  EXPECT_EQ(far[0].name_kanji, b.applicants[0].name_kanji);
  EXPECT_EQ(far[0].company_id, c.company_id);
  EXPECT_TRUE(far[0].notices.empty());
  EXPECT_FALSE(far[0].eligibility.eligible);
  EXPECT_NE(far[0].eligibility.reason.find("expiry notice has not been sent"), std::string::npos) << far[0].eligibility.reason;
  expect_error([&] { list_expiring(ctx, alice, 0); }, ErrorKind::invalid_input);

  now = not_after - 59 * 86400;
  ASSERT_EQ(send_expiry_notices(ctx, "cron").size(), 1u);
  auto soon = list_expiring(ctx, alice, 60);
  ASSERT_EQ(soon.size(), 1u);
  ASSERT_EQ(soon[0].notices.size(), 1u);
  EXPECT_EQ(soon[0].notices[0].days_before, 60);
  EXPECT_EQ(soon[0].notices[0].sent_at, now);
  EXPECT_TRUE(soon[0].eligibility.eligible);
  EXPECT_FALSE(soon[0].renewal_id);

  BundleInput rb;
  rb.company_id = c.company_id;
  rb.received_on = date_in_japan(start);
  auto renewal = create_renewal(ctx, alice, app, create_bundle(ctx, alice, rb).bundle_id);
  auto under_way = list_expiring(ctx, alice, 60);
  ASSERT_EQ(under_way.size(), 1u);
  EXPECT_EQ(under_way[0].renewal_id, renewal);

  // Ended less than a year ago: still listed; more than a year ago: not.
  now = not_after + 300 * 86400;
  EXPECT_EQ(list_expiring(ctx, alice, 1).size(), 1u);
  now = not_after + 366 * 86400;
  EXPECT_TRUE(list_expiring(ctx, alice, 3660).empty());

  // Revoked (a key compromise: at once): not listed.
  now = start;
  auto rq = request_revocation(ctx, alice, cert.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, "lost");
  approve_revocation(ctx, bob, rq.id);
  EXPECT_TRUE(list_expiring(ctx, alice, 400).empty());
}

// ---------------------------------------------------------------------------------------------
// RA-9 company and user IDs, RA-8 certificate links

// The initial password of an account, as queued in the outbox (the only place it exists).
std::string mailed_password(db::Database& db, const std::string& login_id) {
  db::Statement st(db, "SELECT id FROM outbox WHERE template = 'user_id' ORDER BY id DESC");
  while (st.step()) {
    auto p = test::outbox_mail_params(db, st.int64(0));
    if (p.value("user_id", "") == login_id) return p.value("password", "");
  }
  return "";
}

TEST(RaAccounts, IdsLinksAndChangeOfUser) {
  auto caf = test::make_ca();
  UnixTime now = system_clock()();
  RaContext ctx{*caf->db, caf->config, [&] { return now; }};
  const Staff staff = three_operators(ctx);
  const Principal &admin = staff.admin, &alice = staff.alice, &bob = staff.bob;

  BundleInput b = three_applicant_bundle();
  b.applicants.resize(1);
  b.token_quantity = 1;   // Form 3: one eToken per Form 5
  b.received_on = date_in_japan(now);
  b.users = {{"利用 一郎", "工事部", "user1@example.jp"}, {"利用 二郎", "工事部", "user2@example.jp"}};
  auto c = create_bundle(ctx, alice, b);
  expect_error([&] { issue_bundle_accounts(ctx, alice, c.bundle_id); }, ErrorKind::conflict);   // not checked yet
  auto cert = walk_to_issued(ctx, *caf->ca, alice, bob, c.bundle_id, c.application_ids[0], caf->home.path(), "k1");

  auto issued = issue_bundle_accounts(ctx, alice, c.bundle_id);
  ASSERT_EQ(issued.accounts.size(), 3u);
  EXPECT_EQ(issued.accounts[0].kind, "company");
  EXPECT_EQ(issued.accounts[0].email, "contact@example.jp");
  const std::string u1 = issued.accounts[1].login_id, u2 = issued.accounts[2].login_id;
  EXPECT_TRUE(std::regex_match(u1, std::regex("U[0-9]{7}"))) << u1;
  expect_error([&] { issue_bundle_accounts(ctx, alice, c.bundle_id); }, ErrorKind::conflict);   // once only
  std::string pw = mailed_password(*caf->db, u1);
  ASSERT_EQ(pw.size(), 19u);
  EXPECT_TRUE(login_account(ctx, u1, pw).principal);
  EXPECT_TRUE(login_account(ctx, u1, normalize_pin(pw)).principal);
  EXPECT_FALSE(login_account(ctx, u2, pw).principal);
  EXPECT_FALSE(login_account(ctx, "U9999999", pw).principal);
  {
    db::Statement st(*caf->db, "SELECT count(*) FROM ra_accounts WHERE password_hash LIKE ?");
    st.bind(1, "%" + normalize_pin(pw) + "%");
    st.step();
    EXPECT_EQ(st.int64(0), 0);
  }
  auto extra = add_user_account(ctx, alice, c.company_id, "追加 三郎", "", "user3@example.jp");
  EXPECT_EQ(list_accounts(ctx, admin, c.company_id).size(), 4u);

  // Links: one user per operation; mails to the company admin and the linked user.
  const std::string company_login = issued.accounts[0].login_id;
  auto cadmin = *login_account(ctx, company_login, mailed_password(*caf->db, company_login)).principal;
  const std::string serial = cert.record.serial_hex;
  auto mails_before = count_rows(*caf->db, "outbox");
  auto links = change_certificate_link(ctx, cadmin, c.company_id, {serial, u1, std::nullopt});
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].login_id, u1);
  EXPECT_EQ(count_rows(*caf->db, "outbox"), mails_before + 2);
  expect_error([&] { change_certificate_link(ctx, cadmin, c.company_id, {serial, u1, std::nullopt}); }, ErrorKind::conflict);
  expect_error([&] { change_certificate_link(ctx, cadmin, c.company_id, {serial, std::nullopt, u2}); }, ErrorKind::conflict);
  expect_error([&] { change_certificate_link(ctx, cadmin, c.company_id, {serial, std::nullopt, std::nullopt}); },
           ErrorKind::invalid_input);
  expect_error([&] { change_certificate_link(ctx, cadmin, c.company_id + 1, {serial, u2, std::nullopt}); },
           ErrorKind::forbidden);
  expect_error([&] { change_certificate_link(ctx, cadmin, c.company_id, {serial, issued.accounts[0].login_id, std::nullopt}); },
           ErrorKind::invalid_input);
  // Unlink u1 and link u2 in one update; the unlink is not mailed to u1.
  mails_before = count_rows(*caf->db, "outbox");
  links = change_certificate_link(ctx, cadmin, c.company_id, {serial, u2, u1});
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].login_id, u2);
  EXPECT_EQ(count_rows(*caf->db, "outbox"), mails_before + 3);
  change_certificate_link(ctx, cadmin, c.company_id, {serial, extra.login_id, std::nullopt});
  auto certs = company_certificates(ctx, admin, c.company_id);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].status, "valid");
  EXPECT_EQ(certs[0].users.size(), 2u);
  EXPECT_EQ(list_links(ctx, admin, c.company_id, true).size(), 3u);

  // Change of user: new holder, new password, links gone.
  auto changed = change_account_holder(ctx, alice, u2, "後任 四郎", "工事部", "successor@example.jp");
  EXPECT_EQ(changed.email, "successor@example.jp");
  EXPECT_FALSE(login_account(ctx, u2, mailed_password(*caf->db, u1)).principal);
  EXPECT_TRUE(login_account(ctx, u2, mailed_password(*caf->db, u2)).principal);
  EXPECT_EQ(company_certificates(ctx, admin, c.company_id)[0].users, std::vector<std::string>{extra.login_id});

  // A revoked certificate cannot be linked.
  caf->ca->revoke(serial, ca::RevocationReason::key_compromise, std::nullopt, {"test"});
  auto msg = expect_error([&] { change_certificate_link(ctx, cadmin, c.company_id, {serial, u1, std::nullopt}); },
                      ErrorKind::conflict);
  EXPECT_NE(msg.find("revoked"), std::string::npos) << msg;
  EXPECT_TRUE(db::verify_audit(*caf->db).ok);
}


// ---------------------------------------------------------------------------------------------
// Configuration: the "ra" section

TEST(RaConfig, DefaultsAndValidation) {
  test::TempDir home;
  auto src = std::filesystem::path(JITSUIN_SOURCE_DIR) / "config";
  auto c = config::parse_config("{}", home.path(), src);
  EXPECT_EQ(c.ra.pin_validity_days, 30);
  EXPECT_EQ(c.ra.pin_max_attempts, 5);
  EXPECT_EQ(c.ra.revocation_delay_days, 2);
  EXPECT_EQ(c.ra.expiry_notice_days, (std::vector<int>{60, 30}));
  EXPECT_EQ(c.ra.password_max_failures, 5);
  c = config::parse_config(R"({"ra": {"pin_validity_days": 14, "expiry_notice_days": [90, 30, 7]}})", home.path(), src);
  EXPECT_EQ(c.ra.pin_validity_days, 14);
  EXPECT_EQ(c.ra.expiry_notice_days, (std::vector<int>{90, 30, 7}));
  for (const char* bad : {R"({"ra": {"pin_validty_days": 14}})", R"({"ra": {"pin_validity_days": 0}})",
                          R"({"ra": {"pin_max_attempts": "5"}})", R"({"ra": {"expiry_notice_days": []}})",
                          R"({"ra": {"expiry_notice_days": [60, -1]}})", R"({"ra": {"revocation_delay_days": 99}})",
                          R"({"ra": []})"}) {
    auto m = expect_error([&] { config::parse_config(bad, home.path(), src); }, ErrorKind::config);
    EXPECT_NE(m.find("ra"), std::string::npos) << m;
  }
}

// Issue 8: the certificate's identity is bound to the paperwork. A Form 5 naming another
// organisation than the Form-1 company, and a Form-3 eToken quantity that is not one per Form 5,
// are deficiencies of the check (returned to the company like a missing paper).
TEST(RaDocuments, Form5OrganisationAndTokenQuantityFollowForms1And3) {
  RaFixture f;
  auto& ctx = *f.ctx;
  BundleInput b = three_applicant_bundle();
  b.applicants.resize(1);
  b.applicants[0].organization_romaji = "Ume Kogyo";   // in a Sakura Kensetsu bundle
  b.token_quantity = 0;                                 // for one applicant
  auto c = create_bundle(ctx, *f.alice, b);
  const auto bundle = c.bundle_id, app = c.application_ids[0];
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::registration_current, "2026-03-20", "2026-04-10"));
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::representative_seal, "2026-03-20", "2026-04-10"));
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::residence_record, "2026-03-20", "2026-04-10", app));
  add_document(ctx, *f.alice, bundle, doc(DocumentKind::personal_seal, "2026-03-20", "2026-04-10", app));
  auto r = check_bundle(ctx, *f.alice, bundle);
  EXPECT_FALSE(r.complete);
  ASSERT_EQ(r.reasons.size(), 2u);
  EXPECT_EQ(r.reasons[0].code, "organization_mismatch");
  EXPECT_EQ(r.reasons[0].application_id, app);
  EXPECT_NE(r.reasons[0].message.find("'Ume Kogyo', not the Form 1 company 'Sakura Kensetsu'"), std::string::npos)
      << r.reasons[0].message;
  EXPECT_NE(r.reasons[0].message_ja.find("様式1の法人名"), std::string::npos) << r.reasons[0].message_ja;
  EXPECT_EQ(r.reasons[1].code, "token_quantity_mismatch");
  EXPECT_NE(r.reasons[1].message.find("Form 3 orders 0 eToken(s) for 1 Form 5 applicant(s)"), std::string::npos)
      << r.reasons[1].message;
  EXPECT_NE(r.reasons[1].message_ja.find("様式3のイートークン数量"), std::string::npos);
  EXPECT_EQ(get_application(ctx, *f.audrey, app).state, State::incomplete);
  expect_error([&] { approve_application(ctx, *f.carol, app); }, ErrorKind::conflict);

  // Corrected forms arrive: the check passes.
  f.now += 86400;
  resubmit_bundle(ctx, *f.alice, bundle, "corrected Form 3 and Form 5");
  edit_application(ctx, *f.alice, app, api::decode_applicant_changes({{"organization_romaji", "Sakura Kensetsu"}}));
  edit_bundle(ctx, *f.alice, bundle, api::decode_bundle_changes({{"token_quantity", 2}}));
  r = check_bundle(ctx, *f.alice, bundle);
  ASSERT_EQ(r.reasons.size(), 1u) << "two eTokens for one applicant is not right either";
  EXPECT_EQ(r.reasons[0].code, "token_quantity_mismatch");
  resubmit_bundle(ctx, *f.alice, bundle, "corrected Form 3");
  edit_bundle(ctx, *f.alice, bundle, api::decode_bundle_changes({{"token_quantity", 1}}));
  EXPECT_TRUE(check_bundle(ctx, *f.alice, bundle).complete);
  EXPECT_TRUE(db::verify_audit(*f.db).ok);
}

// RA-9 (seed 001: the user ID and password go to the Form-4 contact and the Form-6 applicant):
// every user ID's initial password is mailed to its user and to the Form-4 contact person.
TEST(RaAccounts, UserIdPasswordsAlsoGoToTheForm4Contact) {
  RaFixture f;
  auto& ctx = *f.ctx;
  BundleInput b = three_applicant_bundle();
  b.applicants.clear();
  b.token_quantity = 0;
  b.users = {{"利用 一郎", "工事部", "user1@example.jp"}};
  auto c = create_bundle(ctx, *f.alice, b);
  add_document(ctx, *f.alice, c.bundle_id, doc(DocumentKind::registration_current, "2026-03-20", "2026-04-10"));
  add_document(ctx, *f.alice, c.bundle_id, doc(DocumentKind::representative_seal, "2026-03-20", "2026-04-10"));
  ASSERT_TRUE(check_bundle(ctx, *f.alice, c.bundle_id).complete);
  auto ids = issue_bundle_accounts(ctx, *f.alice, c.bundle_id);
  ASSERT_EQ(ids.accounts.size(), 2u);
  const std::string company = ids.accounts[0].login_id, user = ids.accounts[1].login_id;
  auto add = add_user_account(ctx, *f.alice, c.company_id, "追加 三郎", "", "user3@example.jp");
  change_account_holder(ctx, *f.alice, user, "後任 四郎", "工事部", "successor@example.jp");

  // Every password mail: (template, recipient, user ID, password).
  struct Mail {
    std::string tmpl, to, user_id, password;
  };
  std::vector<Mail> mails;
  db::Statement st(*f.db, "SELECT template, recipient, params FROM outbox WHERE template LIKE 'user_id%' ORDER BY id");
  while (st.step()) {
    auto p = json::parse(st.text(2));
    mails.push_back({st.text(0), st.text(1), p.value("user_id", ""), p.value("password", "")});
  }
  auto find = [&](const std::string& tmpl, const std::string& to, const std::string& id) {
    std::vector<Mail> out;
    for (const auto& m : mails)
      if (m.tmpl == tmpl && m.to == to && m.user_id == id) out.push_back(m);
    return out;
  };
  // The company ID to its holder, the contact, once.
  EXPECT_EQ(find("user_id", "contact@example.jp", company).size(), 1u);
  EXPECT_TRUE(find("user_id_contact", "contact@example.jp", company).empty());
  // Each user ID's password: to the user and the contact, the same password.
  for (const auto& [id, to] : std::vector<std::pair<std::string, std::string>>{
           {user, "user1@example.jp"}, {add.login_id, "user3@example.jp"}, {user, "successor@example.jp"}}) {
    SCOPED_TRACE(id + " " + to);
    auto mine = find("user_id", to, id);
    ASSERT_EQ(mine.size(), 1u);
    bool contact_has_it = false;
    for (const auto& m : find("user_id_contact", "contact@example.jp", id))
      contact_has_it = contact_has_it || m.password == mine[0].password;
    EXPECT_TRUE(contact_has_it);
  }
  EXPECT_EQ(mails.size(), 7u);   // company ID 1, user IDs 3 x 2
  EXPECT_TRUE(db::verify_audit(*f.db).ok);
}

}  // namespace
}  // namespace jitsuin::ra
