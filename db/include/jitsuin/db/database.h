#pragma once
// The store: SQLite in WAL mode behind a small interface, so a PostgreSQL backend can follow.
// SQL only through prepared statements with bound parameters; one RAII transaction type.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "jitsuin/core/error.h"
#include "jitsuin/core/util.h"

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

/// The storage class of a column value (SQLite's dynamic typing: a column may hold another
/// class than declared, which changes how SQL compares it).
enum class ValueType { null, integer, real, text, blob };

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
  ValueType type(int col) const;
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

/// A statement borrowed from its connection's cache (Database::cached): prepared once per
/// connection and re-used, so hot paths do not parse SQL on every call. Reset, with its bindings
/// cleared, when the handle goes out of scope, so it never holds a read snapshot open afterwards.
class CachedStatement {
 public:
  CachedStatement(CachedStatement&& o) noexcept
      : st_(o.st_), in_use_(o.in_use_), owned_(std::move(o.owned_)) {
    o.st_ = nullptr;
    o.in_use_ = nullptr;
  }
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  ~CachedStatement();
  Statement& operator*() const { return *st_; }
  Statement* operator->() const { return st_; }

 private:
  friend class Database;
  CachedStatement(Statement* st, bool* in_use) : st_(st), in_use_(in_use) {}
  explicit CachedStatement(std::unique_ptr<Statement> owned) : st_(owned.get()), owned_(std::move(owned)) {}
  Statement* st_;
  bool* in_use_ = nullptr;             // the cache entry's flag, cleared when this handle ends
  std::unique_ptr<Statement> owned_;   // a fresh statement when the cached one is already in use
};

/// How a transaction takes its lock.
enum class TxMode { deferred, immediate };

/// One database transaction: commits only through commit(); rolls back when destroyed otherwise.
/// An immediate (write) transaction first takes its database's writer mutex for this process, so
/// threads queue for the write lock and wake as soon as it is free; other processes are waited
/// for by SQLite's busy handler.
class Transaction {
 public:
  explicit Transaction(Database& db, TxMode mode = TxMode::immediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  std::unique_lock<std::timed_mutex> writer_;
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
  /// The prepared statement for this SQL text, from this connection's cache (prepared on first
  /// use). For constant SQL on hot paths; bind parameters as with Statement. When the same text
  /// is already borrowed (a nested use), a fresh statement is prepared instead.
  CachedStatement cached(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  /// Number of rows changed by the last statement.
  int changes() const;
  /// True while a transaction is open on this connection (for "must run inside a transaction" checks).
  bool in_transaction() const;
  /// Current schema version (number of the last applied migration).
  int schema_version();
  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  Database(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  struct CacheEntry {
    std::unique_ptr<Statement> statement;
    bool in_use = false;
  };
  sqlite3* db_;
  std::filesystem::path path_;
  std::unordered_map<std::string, CacheEntry> cache_;   // finalized before the connection closes
  std::shared_ptr<std::timed_mutex> writers_;            // shared by every connection to this file
  friend class Transaction;
};

/// Applies every migration newer than the database's version, each in its own transaction.
void migrate(Database& db);

/// Highest migration number this build knows.
int latest_schema_version();

}  // namespace jitsuin::db
