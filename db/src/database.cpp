#include "jitsuin/db/database.h"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

namespace jitsuin::db {

namespace {

constexpr std::chrono::milliseconds kBusyTimeout(10000);

// Waits for another writer (thread or process) to finish. SQLite's own busy timeout sleeps 1, 2,
// 5, 10 ... 100 ms between tries, far longer than a write transaction here (well under a
// millisecond, a few with an fsync), so concurrent issuers would spend most of their time asleep.
// This retries after 20 us, doubling up to 1 ms, for kBusyTimeout in all. A connection is used by
// one thread and a thread waits on one lock at a time, so the start time can live per thread.
int busy_wait(void*, int count) {
  thread_local std::chrono::steady_clock::time_point since;
  auto now = std::chrono::steady_clock::now();
  if (count == 0) since = now;
  else if (now - since >= kBusyTimeout) return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(std::min(1000, 20 << std::min(count, 6))));
  return 1;
}

// One writer mutex per database file (by device and inode) for the whole process. Threads that
// write to the same file would otherwise poll SQLite's lock with sleeps (busy_wait); on the mutex
// the next writer wakes the moment the previous one commits.
std::shared_ptr<std::timed_mutex> writer_mutex(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::make_shared<std::timed_mutex>();   // not a file (":memory:")
  static std::mutex registry_mutex;
  static std::map<std::pair<dev_t, ino_t>, std::weak_ptr<std::timed_mutex>> registry;
  std::lock_guard lock(registry_mutex);
  auto& slot = registry[{st.st_dev, st.st_ino}];
  auto m = slot.lock();
  if (!m) slot = m = std::make_shared<std::timed_mutex>();
  return m;
}

[[noreturn]] void fail(sqlite3* db, const std::string& what, int rc) {
  std::string msg = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  throw DbError(msg, db ? sqlite3_extended_errcode(db) : rc);
}
}  // namespace

bool DbError::is_unique_violation() const noexcept {
  return rc() == SQLITE_CONSTRAINT_UNIQUE || rc() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

Statement::Statement(Database& db, std::string_view sql) : db_(&db), stmt_(nullptr) {
  int rc = sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db.handle(), "cannot prepare SQL", rc);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }

Statement& Statement::bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK) fail(db_->handle(), "cannot bind parameter", rc);
  return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
  int rc = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(db_->handle(), "cannot bind parameter", rc);
  return *this;
}

Statement& Statement::bind_blob(int i, std::span<const std::uint8_t> v) {
  int rc = sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(db_->handle(), "cannot bind parameter", rc);
  return *this;
}

Statement& Statement::bind_null(int i) {
  int rc = sqlite3_bind_null(stmt_, i);
  if (rc != SQLITE_OK) fail(db_->handle(), "cannot bind parameter", rc);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);
  fail(db_->handle(), "SQL statement failed", rc);
}

void Statement::exec() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

ValueType Statement::type(int col) const {
  switch (sqlite3_column_type(stmt_, col)) {
    case SQLITE_INTEGER: return ValueType::integer;
    case SQLITE_FLOAT: return ValueType::real;
    case SQLITE_TEXT: return ValueType::text;
    case SQLITE_BLOB: return ValueType::blob;
    default: return ValueType::null;
  }
}
std::int64_t Statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::text(int col) const {
  auto p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
}

std::span<const std::uint8_t> Statement::blob_view(int col) const {
  auto p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}

Bytes Statement::blob(int col) const {
  auto v = blob_view(col);
  return Bytes(v.begin(), v.end());
}

std::optional<std::int64_t> Statement::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

std::optional<std::string> Statement::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

// BEGIN and COMMIT come from the statement cache: every issuance runs one transaction, and
// sqlite3_exec would parse them again each time.
Transaction::Transaction(Database& db, TxMode mode) : db_(db) {
  // A nested BEGIN is left to fail in SQLite, at once, rather than wait for our own mutex.
  if (mode == TxMode::immediate && !db_.in_transaction()) {
    writer_ = std::unique_lock(*db_.writers_, std::defer_lock);
    if (!writer_.try_lock_for(kBusyTimeout))
      throw DbError("database is locked: another thread kept a write transaction open for " +
                        std::to_string(kBusyTimeout.count() / 1000) + " s",
                    SQLITE_BUSY);
  }
  db_.cached(mode == TxMode::immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")->exec();
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.cached("COMMIT")->exec();
  done_ = true;
  if (writer_.owns_lock()) writer_.unlock();
}

std::unique_ptr<Database> Database::open(const std::filesystem::path& path, const OpenOptions& opts) {
  // A new database file is made here, private (0600) whatever the process's umask: it holds
  // personal data and password hashes. SQLite gives its -wal, -shm and journal files the mode of
  // the database file. An empty file is a new database to SQLite.
  // O_EXCL: an existing file is never opened here, since closing a descriptor of a file would
  // drop the POSIX locks another connection of this process holds on it.
  if (!path.empty() && path != ":memory:" && !path.string().starts_with("file:")) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) ::close(fd);   // other failures are reported by sqlite3_open_v2 below, with its message
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) fail(raw, "cannot open database " + path.string(), rc);
  sqlite3_extended_result_codes(raw, 1);
  // Several processes (server, cron, CLI) share the file: wait for locks rather than fail.
  sqlite3_busy_handler(raw, busy_wait, nullptr);
  db->exec_script("PRAGMA journal_mode=WAL");   // creates the file if it is new
  db->writers_ = writer_mutex(path);
  db->exec_script("PRAGMA foreign_keys=ON");
  db->exec_script(opts.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (opts.migrate) migrate(*db);
  return db;
}

Database::~Database() {
  cache_.clear();   // finalize the cached statements first
  sqlite3_close_v2(db_);
}

CachedStatement::~CachedStatement() {
  if (!st_) return;
  st_->reset();
  if (in_use_) *in_use_ = false;
}

CachedStatement Database::cached(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    auto st = std::make_unique<Statement>(*this, sql);
    it = cache_.emplace(std::string(sql), CacheEntry{std::move(st), false}).first;
  }
  if (it->second.in_use) return CachedStatement(std::make_unique<Statement>(*this, sql));
  it->second.in_use = true;
  return CachedStatement(it->second.statement.get(), &it->second.in_use);
}

void Database::exec_script(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw DbError(std::string("SQL failed: ") + msg, sqlite3_extended_errcode(db_));
  }
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

int Database::schema_version() {
  Statement st(*this, "PRAGMA user_version");
  st.step();
  return static_cast<int>(st.int64(0));
}

}  // namespace jitsuin::db
