#pragma once
// The store: SQLite in WAL mode behind a small interface, so a PostgreSQL backend can follow.
// SQL only through prepared statements with bound parameters; one RAII transaction type.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "jitsuin/config/error.h"
#include "jitsuin/config/util.h"

struct sqlite3;
struct sqlite3_stmt;

namespace jitsuin::db {

/// A database error keeping SQLite's extended result code.
class DbError : public Error {
 public:
  DbError(const std::string& what, int rc) : Error(ErrorKind::database, what, rc) {}
  int rc() const noexcept { return static_cast<int>(native_code()); }
  /// True when a UNIQUE or PRIMARY KEY constraint refused the write.
  bool is_unique_violation() const noexcept;
};

class Database;

/// A prepared statement. Parameters are 1-based, columns 0-based (SQLite's convention).
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&&) noexcept;

  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Statement& bind_blob(int i, std::span<const std::uint8_t> v);
  Statement& bind_null(int i);
  template <typename T>
  Statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  /// Advances; true while a row is available.
  bool step();
  /// Runs a statement that returns no rows.
  void exec();
  /// Resets for re-use with new bindings.
  void reset();

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  std::string text(int col) const;
  Bytes blob(int col) const;
  /// Borrowed view of a blob column, valid until the next step/reset.
  std::span<const std::uint8_t> blob_view(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;
  std::optional<std::string> opt_text(int col) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_;
};

/// How a transaction takes its lock.
enum class TxMode { deferred, immediate };

/// One database transaction: commits only through commit(); rolls back when destroyed otherwise.
class Transaction {
 public:
  explicit Transaction(Database& db, TxMode mode = TxMode::immediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

/// Options for opening a database.
struct OpenOptions {
  bool synchronous_full = true;   ///< fsync at every commit (WAL)
  bool migrate = true;            ///< apply pending schema migrations
};

/// A connection to the jitsuin database. One per thread; not shareable between threads.
class Database {
 public:
  /// Opens (creating if needed) the SQLite file, WAL mode, foreign keys on, busy timeout set,
  /// and applies pending migrations.
  static std::unique_ptr<Database> open(const std::filesystem::path& path, const OpenOptions& opts = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs SQL without parameters (DDL, pragmas). Never with caller data.
  void exec_script(const char* sql);
  std::int64_t last_insert_rowid() const;
  /// Number of rows changed by the last statement.
  int changes() const;
  /// Current schema version (number of the last applied migration).
  int schema_version();
  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  Database(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::filesystem::path path_;
};

/// Applies every migration newer than the database's version, each in its own transaction.
void migrate(Database& db);

/// Highest migration number this build knows.
int latest_schema_version();

}  // namespace jitsuin::db
