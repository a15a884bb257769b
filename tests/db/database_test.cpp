// The SQLite store: WAL, migrations, transactions and errors that keep SQLite's codes.
#include <gtest/gtest.h>
#include <sqlite3.h>   // result-code constants only; the tests talk to SQLite through db/

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "jitsuin/db/database.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using db::Database;
using db::DbError;
using db::Statement;
using db::Transaction;

DbError expect_db_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const DbError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a DbError";
  return DbError("none", 0);
}

// The sqlite3 command-line tool on a database file: an independent reader and writer.
CommandResult sqlite3_cli(const std::filesystem::path& file, const std::string& sql) {
  return run("sqlite3 -batch " + sh_quote(file.string()) + " " + sh_quote(sql));
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void insert_authority(Database& db, std::int64_t id, const std::string& role) {
  Statement st(db,
               "INSERT INTO authorities (id, role, key_uri, key_algorithm, subject, created_at) "
               "VALUES (?, ?, 'pkcs11:token=t', 'p256', 'CN=x', 0)");
  st.bind(1, id).bind(2, role).exec();
}

TEST(Db, OpensInWalModeWithForeignKeys) {
  TempDir dir;
  auto file = dir / "jitsuin.db";
  auto db = Database::open(file);
  Statement jm(*db, "PRAGMA journal_mode");
  ASSERT_TRUE(jm.step());
  EXPECT_EQ(jm.text(0), "wal");
  Statement fk(*db, "PRAGMA foreign_keys");
  ASSERT_TRUE(fk.step());
  EXPECT_EQ(fk.int64(0), 1);
  Statement sync(*db, "PRAGMA synchronous");
  ASSERT_TRUE(sync.step());
  EXPECT_EQ(sync.int64(0), 2);   // FULL
  db.reset();
  // WAL is a property of the file: another program sees it too.
  auto r = sqlite3_cli(file, "PRAGMA journal_mode;");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(trim(r.output), "wal");
  auto normal = Database::open(file, {.synchronous_full = false});
  Statement sync2(*normal, "PRAGMA synchronous");
  ASSERT_TRUE(sync2.step());
  EXPECT_EQ(sync2.int64(0), 1);   // NORMAL
}

TEST(Db, MigrationsAreAppliedOnceAndReopeningIsIdempotent) {
  TempDir dir;
  auto file = dir / "jitsuin.db";
  {
    auto db = Database::open(file);
    EXPECT_EQ(db->schema_version(), db::latest_schema_version());
    EXPECT_GE(db::latest_schema_version(), 1);
    insert_authority(*db, 1, "root");
  }
  for (int i = 0; i < 2; ++i) {
    auto db = Database::open(file);
    EXPECT_EQ(db->schema_version(), db::latest_schema_version());
    EXPECT_EQ(count_rows(*db, "authorities"), 1);   // not re-created, data kept
    EXPECT_NO_THROW(db::migrate(*db));
    EXPECT_EQ(db->schema_version(), db::latest_schema_version());
  }
  auto r = sqlite3_cli(file, "PRAGMA user_version; SELECT count(*) FROM sqlite_master WHERE name='audit_log';");
  EXPECT_EQ(trim(r.output), std::to_string(db::latest_schema_version()) + "\n1");
}

TEST(Db, WithoutMigrateTheFileStaysEmpty) {
  TempDir dir;
  auto db = Database::open(dir / "raw.db", {.migrate = false});
  EXPECT_EQ(db->schema_version(), 0);
  EXPECT_EQ(expect_db_error([&] { count_rows(*db, "audit_log"); }).rc(), SQLITE_ERROR);
  db::migrate(*db);
  EXPECT_EQ(db->schema_version(), db::latest_schema_version());
}

TEST(Db, ANewerSchemaIsRefused) {
  TempDir dir;
  auto file = dir / "jitsuin.db";
  Database::open(file).reset();
  int newer = db::latest_schema_version() + 1;
  auto r = sqlite3_cli(file, "PRAGMA user_version=" + std::to_string(newer) + ";");
  ASSERT_EQ(r.status, 0) << r.output;
  try {
    Database::open(file);
    ADD_FAILURE() << "a database from a newer jitsuin was opened";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::database);
    std::string msg = e.what();
    EXPECT_NE(msg.find("newer than this program"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(newer)), std::string::npos) << msg;
  }
  // And left as it was.
  EXPECT_EQ(trim(sqlite3_cli(file, "PRAGMA user_version;").output), std::to_string(newer));
}

TEST(Db, TransactionRollsBackWhenDestroyedWithoutCommit) {
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  {
    Transaction tx(*db);
    insert_authority(*db, 1, "root");
    EXPECT_TRUE(db->in_transaction());
    EXPECT_EQ(count_rows(*db, "authorities"), 1);
  }
  EXPECT_FALSE(db->in_transaction());
  EXPECT_EQ(count_rows(*db, "authorities"), 0);
  // An exception between begin and commit rolls back too.
  try {
    Transaction tx(*db);
    insert_authority(*db, 1, "root");
    insert_authority(*db, 2, "root");   // UNIQUE(role)
    tx.commit();
  } catch (const DbError& e) {
    EXPECT_TRUE(e.is_unique_violation());
  }
  EXPECT_EQ(count_rows(*db, "authorities"), 0);
  {
    Transaction tx(*db);
    insert_authority(*db, 1, "root");
    tx.commit();
  }
  EXPECT_EQ(count_rows(*db, "authorities"), 1);
  EXPECT_EQ(trim(sqlite3_cli(db->path(), "SELECT role FROM authorities;").output), "root");
}

TEST(Db, TransactionsDoNotNest) {
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  Transaction outer(*db);
  auto e = expect_db_error([&] { Transaction inner(*db); });
  EXPECT_EQ(e.rc(), SQLITE_ERROR);
  EXPECT_TRUE(db->in_transaction());   // the outer one is still open
}

TEST(Db, ImmediateTransactionTakesTheWriteLock) {
  TempDir dir;
  auto file = dir / "jitsuin.db";
  auto db = Database::open(file);
  Transaction tx(*db);
  // Another writer gives up (sqlite3's default busy timeout is 0) while we hold the lock.
  auto r = sqlite3_cli(file, "INSERT INTO audit_log (at, actor, action, object, details, prev_hash, hash) "
                             "VALUES (0, 'a', 'b', 'c', '{}', x'00', x'00');");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("locked"), std::string::npos) << r.output;
}

TEST(Db, ConcurrentWritersInOneProcessAllCommit) {
  // Threads with their own connections to one file queue for the write lock; none gives up.
  TempDir dir;
  auto file = dir / "jitsuin.db";
  Database::open(file)->exec_script("CREATE TABLE t (thread INTEGER, n INTEGER)");
  constexpr int kThreads = 4, kEach = 200;
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    pool.emplace_back([&, t] {
      try {
        auto db = Database::open(file, {.synchronous_full = false});
        for (int i = 0; i < kEach; ++i) {
          Transaction tx(*db);
          auto st = db->cached("INSERT INTO t (thread, n) VALUES (?, ?)");
          st->bind(1, t).bind(2, i).exec();
          tx.commit();
        }
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(trim(sqlite3_cli(file, "SELECT count(*), count(DISTINCT thread) FROM t;").output),
            std::to_string(kThreads * kEach) + "|" + std::to_string(kThreads));
}

TEST(Db, ErrorsKeepTheExtendedSqliteCode) {
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  insert_authority(*db, 1, "root");

  auto pk = expect_db_error([&] { insert_authority(*db, 1, "issuing"); });
  EXPECT_EQ(pk.rc(), SQLITE_CONSTRAINT_PRIMARYKEY);
  EXPECT_TRUE(pk.is_unique_violation());
  EXPECT_EQ(pk.kind(), ErrorKind::database);
  EXPECT_EQ(pk.native_code(), SQLITE_CONSTRAINT_PRIMARYKEY);

  auto unique = expect_db_error([&] { insert_authority(*db, 2, "root"); });
  EXPECT_EQ(unique.rc(), SQLITE_CONSTRAINT_UNIQUE);
  EXPECT_TRUE(unique.is_unique_violation());
  EXPECT_NE(std::string(unique.what()).find("UNIQUE"), std::string::npos) << unique.what();

  auto check = expect_db_error([&] { insert_authority(*db, 3, "intermediate"); });
  EXPECT_EQ(check.rc(), SQLITE_CONSTRAINT_CHECK);
  EXPECT_FALSE(check.is_unique_violation());

  auto notnull = expect_db_error([&] {
    Statement(*db, "INSERT INTO audit_log (at, actor) VALUES (0, NULL)").exec();
  });
  EXPECT_EQ(notnull.rc(), SQLITE_CONSTRAINT_NOTNULL);
  EXPECT_FALSE(notnull.is_unique_violation());

  auto fk = expect_db_error([&] {
    Statement(*db, "UPDATE authorities SET certificate_id = 999 WHERE id = 1").exec();
  });
  EXPECT_EQ(fk.rc(), SQLITE_CONSTRAINT_FOREIGNKEY);
  EXPECT_FALSE(fk.is_unique_violation());

  auto syntax = expect_db_error([&] { Statement(*db, "SELEC 1"); });
  EXPECT_EQ(syntax.rc(), SQLITE_ERROR);
  auto script = expect_db_error([&] { db->exec_script("CREATE TABLE authorities (x)"); });
  EXPECT_EQ(script.rc(), SQLITE_ERROR);
  EXPECT_NE(std::string(script.what()).find("already exists"), std::string::npos);
}

TEST(Db, OpeningSomethingThatIsNotADatabaseFails) {
  TempDir dir;
  write_text(dir / "not.db", std::string(4096, 'x'));
  auto e = expect_db_error([&] { Database::open(dir / "not.db"); });
  EXPECT_EQ(e.rc(), SQLITE_NOTADB);
  auto missing = expect_db_error([&] { Database::open(dir / "no" / "such" / "dir.db"); });
  EXPECT_EQ(missing.rc() & 0xff, SQLITE_CANTOPEN);
  EXPECT_NE(std::string(missing.what()).find("dir.db"), std::string::npos) << missing.what();
}

TEST(Db, StatementBindsAndReadsEveryType) {
  TempDir dir;
  auto db = Database::open(dir / "jitsuin.db");
  db->exec_script("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n TEXT)");
  Bytes blob{0x00, 0xff, 0x10};
  std::string with_nul("a\0b", 3);
  Statement ins(*db, "INSERT INTO t VALUES (?, ?, ?, ?)");
  ins.bind(1, std::int64_t{-9007199254740993}).bind(2, with_nul).bind_blob(3, blob).bind(4, std::optional<std::string>{});
  ins.exec();
  EXPECT_EQ(db->changes(), 1);
  EXPECT_EQ(db->last_insert_rowid(), 1);
  ins.reset();
  ins.bind(1, 7).bind(2, "x").bind_blob(3, Bytes{}).bind(4, std::optional<std::string>("set"));
  ins.exec();
  Statement sel(*db, "SELECT i, s, b, n FROM t ORDER BY rowid");
  ASSERT_TRUE(sel.step());
  EXPECT_EQ(sel.int64(0), -9007199254740993);
  EXPECT_EQ(sel.text(1), with_nul);
  EXPECT_EQ(sel.blob(2), blob);
  EXPECT_TRUE(sel.is_null(3));
  EXPECT_EQ(sel.opt_text(3), std::nullopt);
  ASSERT_TRUE(sel.step());
  EXPECT_EQ(sel.opt_int64(0), 7);
  EXPECT_EQ(sel.opt_text(3), "set");
  EXPECT_TRUE(sel.blob(2).empty());
  EXPECT_FALSE(sel.step());
  // Bound values are data, never SQL.
  Statement evil(*db, "SELECT count(*) FROM t WHERE s = ?");
  evil.bind(1, "x' OR '1'='1");
  ASSERT_TRUE(evil.step());
  EXPECT_EQ(evil.int64(0), 0);
}

}  // namespace
}  // namespace jitsuin::test
