#pragma once
// The one SQLite wrapper of the project: a connection (Db), a prepared statement (Stmt) and a transaction, used by
// every reader and writer of a results store (store/, reports/, tests). Every error names the database file and the
// statement it was running; a lock held too long and a refused row read as sentences, never as SQLite's own words.
// No raw sqlite3 handle leaves this folder.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace supra {

// A row the table's keys refuse (a duplicate primary or unique key). Callers that can say which document or run it
// was catch this and say so.
struct DuplicateRow : Error {
  using Error::Error;
};

class Db {
 public:
  // How long a statement waits for another process's lock before it fails with a message naming the store.
  static constexpr int kBusyTimeoutMs = 10000;

  // Both opens refuse a damaged file (PRAGMA quick_check), naming it. open also refuses a file it may not write.
  // Opens or creates the file for reading and writing: WAL journal (readers never wait for a writer),
  // synchronous=NORMAL (a committed transaction survives a killed process), foreign keys on, the busy timeout.
  static Db open(const std::string& path);
  // Opens an existing file read-only: nothing of it can be changed through this connection (its TEMP schema, private
  // to the connection, can). In WAL mode it reads the last committed state and never waits for a writer.
  static Db open_read_only(const std::string& path);
  // A private in-memory database (scratch work, tests).
  static Db memory();

  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }

  // Runs one or more statements without results; an error names the store and the SQL.
  void exec(const std::string& sql);
  // One transaction around `body`: committed when it returns, rolled back when it throws. IMMEDIATE takes the write
  // lock at once (a writer's batch: all of it or none of it, and two processes doing the same check-then-insert
  // serialise); DEFERRED only reads until it writes (a reader's consistent snapshot of the store).
  enum class Begin { Immediate, Deferred };
  void transaction(const std::function<void()>& body, Begin begin = Begin::Immediate);

  int64_t last_insert_rowid() const;
  // A table or view of this name in the file or in this connection's TEMP schema.
  bool has_object(const std::string& name);
  // A column of a table (or view) of the file; false when the table is absent.
  bool has_column(const std::string& table, const std::string& column);
  // The first column of the first row of `sql` (nullopt: no row, or NULL).
  std::optional<int64_t> query_int(const std::string& sql);
  std::optional<double> query_double(const std::string& sql);

  // The message for a statement that waited kBusyTimeoutMs for another process's lock.
  [[noreturn]] void fail_locked() const;

 private:
  friend class Stmt;
  Db(sqlite3* db, std::string path, bool read_only) : db_(db), path_(std::move(path)), read_only_(read_only) {}
  static Db open_flags(const std::string& path, int flags, bool read_only);
  void check_intact();
  sqlite3* db_ = nullptr;
  std::string path_;
  bool read_only_ = false;
};

// A prepared statement that finalises itself. Binds are checked; columns keep NULL apart from zero (a missing value
// must never read as 0).
class Stmt {
 public:
  Stmt(Db& db, const std::string& sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int v) { return bind(i, int64_t(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, const std::string& v);
  Stmt& bind(int i, const char* v) { return bind(i, std::string(v)); }
  Stmt& bind(int i, const std::optional<double>& v);  // nullopt: NULL
  Stmt& bind_null(int i);
  // True: a row is ready; false: done. A lock held too long, a duplicate key (DuplicateRow) and any other refused
  // row fail with a sentence naming the store and the table; other errors name the store and the SQL.
  bool step();
  void reset();  // and clears the bindings

  int columns() const;
  std::string name(int c) const;
  bool is_null(int c) const;
  int64_t i64(int c) const;
  double f64(int c) const;
  std::string text(int c) const;
  std::optional<double> opt_f64(int c) const;
  std::optional<int64_t> opt_i64(int c) const;

 private:
  Stmt& check_bind(int rc, int i);
  Db& db_;
  std::string sql_;
  sqlite3_stmt* s_ = nullptr;
};

// A SQL string literal ('it''s') and a quoted identifier ("a""b"), for SQL that is generated, not bound.
std::string sql_literal(const std::string& s);
std::string sql_ident(const std::string& s);

}  // namespace supra
