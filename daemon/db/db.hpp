// A thin RAII layer over SQLite: connections, prepared statements, transactions.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace regulars::daemon {

class DbError : public std::runtime_error {
 public:
  DbError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int idx, std::int64_t v);
  Stmt& bind(int idx, double v);
  Stmt& bind(int idx, std::string_view v);
  Stmt& bind_blob(int idx, const void* data, std::size_t n);
  Stmt& bind_null(int idx);

  // Steps once: true when a row is available, false when done. Throws DbError on failure.
  bool step();
  // Steps to completion (for statements without rows).
  void run();
  void reset();

  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double f64(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string text(int col) const;
  // The same without a copy: valid until the next step, reset or column call on this row.
  std::string_view view(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  sqlite3_stmt* raw() const noexcept { return stmt_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  // read_only_lean: for threads that scan (owner work): a 2 MiB cache, so a replay of the whole
  // log does not leave tens of MiB resident beside the tills' readers.
  enum class Mode { read_write, read_only, read_only_lean };
  Db(const std::string& path, Mode mode);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(std::string_view sql);
  // A statement prepared once per connection and reset before reuse.
  Stmt& cached(std::string_view sql);
  std::int64_t changes() const { return sqlite3_changes64(db_); }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* raw() const noexcept { return db_; }

 private:
  sqlite3* db_ = nullptr;
  // Looked up by string_view without building a key string: the writer asks for a couple of
  // dozen statements per event.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<Stmt>, SqlHash, std::equal_to<>> cache_;
};

// Brings the schema up to date (PRAGMA user_version), each step in its own transaction.
// Returns the version the store had before.
int migrate(Db& db);
int schema_version(Db& db);

// Full secure_delete on `db` for the life of the object (erasure, retention): freed bytes are
// overwritten, not just unlinked. Back to FAST afterwards.
class SecureDelete {
 public:
  explicit SecureDelete(Db& db);
  ~SecureDelete();
  SecureDelete(const SecureDelete&) = delete;
  SecureDelete& operator=(const SecureDelete&) = delete;

 private:
  Db& db_;
};

}  // namespace regulars::daemon
