// The tamper-evident audit log (CA-6): every edit, deletion or reordering is found and the first
// bad entry named. Tampering is done both by the sqlite3 command-line tool (what an intruder with
// the file would use) and in-process.
#include <gtest/gtest.h>

#include <functional>

#include "jitsuin/db/audit.h"
#include "jitsuin/db/database.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using db::AuditEvent;
using db::Database;

std::int64_t append(Database& db, const AuditEvent& e, UnixTime at) {
  db::Transaction tx(db);
  auto seq = db::append_audit(db, e, at);
  tx.commit();
  return seq;
}

TEST(Audit, AppendOutsideATransactionIsRefused) {
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  try {
    db::append_audit(*db, {"operator", "cert.issue", "01", "{}"}, 1000);
    ADD_FAILURE() << "appended outside a transaction";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("inside a transaction"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_rows(*db, "audit_log"), 0);
}

TEST(Audit, AnEntryIsRecordedOnlyIfItsTransactionCommits) {
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  EXPECT_EQ(append(*db, {"a", "x", "1", "{}"}, 10), 1);
  {
    db::Transaction tx(*db);
    EXPECT_EQ(db::append_audit(*db, {"a", "rolled-back", "2", "{}"}, 11), 2);
  }
  EXPECT_EQ(count_rows(*db, "audit_log"), 1);
  EXPECT_EQ(append(*db, {"a", "y", "2", "{}"}, 12), 2);
  auto r = db::verify_audit(*db);
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 2);
}

TEST(Audit, AnEmptyLogVerifies) {
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  auto r = db::verify_audit(*db);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries, 0);
  EXPECT_EQ(r.first_bad, 0);
}

TEST(Audit, AGoodChainVerifiesAndItsHeadChangesWithEveryEntry) {
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  std::string previous_head;
  for (int i = 1; i <= 20; ++i) {
    EXPECT_EQ(append(*db, {"op-" + std::to_string(i % 3), "cert.issue", std::to_string(i), R"({"n":)" + std::to_string(i) + "}"},
                     1700000000 + i),
              i);
    auto r = db::verify_audit(*db);
    ASSERT_TRUE(r.ok) << r.problem;
    EXPECT_EQ(r.entries, i);
    EXPECT_EQ(r.first_bad, 0);
    EXPECT_EQ(r.head_hash.size(), 64u);
    EXPECT_NE(r.head_hash, previous_head);
    previous_head = r.head_hash;
  }
  // The head is the stored hash of the last entry.
  db::Statement st(*db, "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(to_hex(st.blob(0)), previous_head);
}

TEST(Audit, FieldsAreLengthPrefixed) {
  // ("ab", "c") and ("a", "bc") must hash differently, or moving text between fields goes unseen.
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  append(*db, {"ab", "c", "x", "{}"}, 1);
  db->exec_script("UPDATE audit_log SET actor = 'a', action = 'bc' WHERE seq = 1");
  auto r = db::verify_audit(*db);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 1);
}

enum class Via { sqlite3_cli, in_process };

void PrintTo(Via v, std::ostream* os) { *os << (v == Via::sqlite3_cli ? "sqlite3 CLI" : "in-process"); }

class AuditTamper : public ::testing::TestWithParam<Via> {
 protected:
  void SetUp() override {
    db_ = Database::open(dir_ / "jitsuin.db");
    for (int i = 1; i <= 6; ++i)
      append(*db_, {"operator-" + std::to_string(i), "cert.issue", "serial-" + std::to_string(i), "{}"}, 1700000000 + i);
    auto r = db::verify_audit(*db_);
    ASSERT_TRUE(r.ok) << r.problem;
    ASSERT_EQ(r.entries, 6);
  }
  void tamper(const std::string& sql) {
    if (GetParam() == Via::sqlite3_cli) {
      auto r = run("sqlite3 -batch " + sh_quote(db_->path().string()) + " " + sh_quote(sql));
      ASSERT_EQ(r.status, 0) << r.output;
    } else {
      db_->exec_script(sql.c_str());
    }
  }
  db::AuditReport verify_bad() {
    auto r = db::verify_audit(*db_);
    EXPECT_FALSE(r.ok) << "tampering went unnoticed";
    EXPECT_FALSE(r.problem.empty());
    EXPECT_TRUE(r.head_hash.empty());
    return r;
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(AuditTamper, EditedRowIsFound) {
  tamper("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 3);
  EXPECT_EQ(r.entries, 2);
  EXPECT_NE(r.problem.find("entry 3 was edited"), std::string::npos) << r.problem;
}

TEST_P(AuditTamper, EditedTimeIsFound) {
  tamper("UPDATE audit_log SET at = at + 1 WHERE seq = 5");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 5);
  EXPECT_NE(r.problem.find("edited"), std::string::npos) << r.problem;
}

TEST_P(AuditTamper, ReplacedHashIsFound) {
  tamper("UPDATE audit_log SET hash = randomblob(32) WHERE seq = 2");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 2);
}

TEST_P(AuditTamper, DeletedMiddleRowIsFound) {
  tamper("DELETE FROM audit_log WHERE seq = 3");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 3);
  EXPECT_NE(r.problem.find("entry 3"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
}

TEST_P(AuditTamper, DeletedFirstRowIsFound) {
  tamper("DELETE FROM audit_log WHERE seq = 1");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 1);
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
}

TEST_P(AuditTamper, DeletedLastRowIsFound) {
  tamper("DELETE FROM audit_log WHERE seq = 6");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 6);
  EXPECT_EQ(r.entries, 5);
  EXPECT_NE(r.problem.find("entry 6"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
  // Appending afterwards does not paper over the gap.
  append(*db_, {"operator", "cert.issue", "later", "{}"}, 1800000000);
  auto again = verify_bad();
  EXPECT_EQ(again.first_bad, 6);
}

TEST_P(AuditTamper, DeletedTailOfSeveralRowsIsFound) {
  tamper("DELETE FROM audit_log WHERE seq >= 4");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 4);
  EXPECT_NE(r.problem.find("entries 4-6"), std::string::npos) << r.problem;
}

TEST_P(AuditTamper, SwappedRowContentsAreFound) {
  // Exchange everything but the sequence numbers of entries 2 and 4: a reordering.
  tamper(
      "CREATE TEMP TABLE s AS SELECT * FROM audit_log WHERE seq IN (2, 4);"
      "UPDATE audit_log SET (at, actor, action, object, details, prev_hash, hash) = "
      "(SELECT at, actor, action, object, details, prev_hash, hash FROM s WHERE s.seq = 6 - audit_log.seq) "
      "WHERE seq IN (2, 4);");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 2);
  EXPECT_NE(r.problem.find("entry 2"), std::string::npos) << r.problem;
}

TEST_P(AuditTamper, SwappedContentsKeepingTheHashesAreFound) {
  tamper(
      "CREATE TEMP TABLE s AS SELECT * FROM audit_log WHERE seq IN (3, 4);"
      "UPDATE audit_log SET (at, actor, action, object, details) = "
      "(SELECT at, actor, action, object, details FROM s WHERE s.seq = 7 - audit_log.seq) WHERE seq IN (3, 4);");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 3);
  EXPECT_NE(r.problem.find("edited"), std::string::npos) << r.problem;
}

TEST_P(AuditTamper, RenumberedRowIsFound) {
  tamper("UPDATE audit_log SET seq = 100 WHERE seq = 6");
  auto r = verify_bad();
  EXPECT_EQ(r.first_bad, 6);
}

INSTANTIATE_TEST_SUITE_P(Audit, AuditTamper, ::testing::Values(Via::sqlite3_cli, Via::in_process),
                         [](const auto& info) {
                           return std::string(info.param == Via::sqlite3_cli ? "sqlite3_cli" : "in_process");
                         });

}  // namespace
}  // namespace jitsuin::test
