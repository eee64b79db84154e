// What the PostgreSQL parts of the store share (internal to gwang_store): a connection that is made
// again when lost, query results freed when they go, and the schema's migrations.
#pragma once

#include <endian.h>
#include <libpq-fe.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "core/result.h"

namespace gwang::store::pg {

// A query's result, freed when it goes.
class Res {
 public:
  explicit Res(PGresult* r) : r_(r) {}
  ~Res() { PQclear(r_); }
  Res(const Res&) = delete;
  Res& operator=(const Res&) = delete;
  PGresult* get() const { return r_; }
  bool ok() const {
    const ExecStatusType s = PQresultStatus(r_);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  }
  int rows() const { return PQntuples(r_); }
  // A binary bigint column.
  std::int64_t int64(int row, int col) const {
    std::uint64_t v = 0;
    std::memcpy(&v, PQgetvalue(r_, row, col), sizeof v);
    return static_cast<std::int64_t>(be64toh(v));
  }
  std::string bytes(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  bool boolean(int row, int col) const { return PQgetlength(r_, row, col) == 1 && PQgetvalue(r_, row, col)[0] != 0; }

 private:
  PGresult* r_;
};

// One connection. Not thread-safe: each user (the journal's writer, the lease, the tokens) has its own.
class Conn {
 public:
  Conn() = default;
  ~Conn() {
    if (conn_) PQfinish(conn_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Connects; the server's notices ("relation already exists, skipping") are dropped.
  Result<void> connect(const std::string& conninfo);
  // Connected, or connected again after a lost connection (the server restarted, say).
  Result<void> ready();
  // Whether the last ready() had to connect again.
  bool reconnected() const { return reconnected_; }
  Result<void> exec(const char* sql);
  // A statement with text parameters, results in binary.
  PGresult* query(const char* sql, std::initializer_list<const char*> params = {});
  tl::unexpected<Error> failure(const std::string& what) const;
  PGconn* get() const { return conn_; }

 private:
  PGconn* conn_ = nullptr;
  bool reconnected_ = false;
};

// Brings the schema to this build's version, in a transaction of its own under an advisory lock
// (controllers starting together apply each migration once); refuses a newer schema.
Result<void> migrate(Conn& conn);

}  // namespace gwang::store::pg
