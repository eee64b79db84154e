// The journal in PostgreSQL (libpq), with the semantics of the SQLite one: a batch is one
// transaction, durable when append returns (synchronous commit), sequence numbers without gaps; a
// snapshot replaces the previous one and drops the records it covers, in one transaction.
//
// The schema is versioned (table gwang_schema); opening applies the migrations this build knows,
// under a transaction-scoped advisory lock so that controllers starting together apply each once,
// and refuses a schema newer than this build. The journal's primary key on seq means that of two
// writers appending at the same point, only one succeeds.
#include "store/postgres.h"

#include <chrono>
#include <thread>

#include "store/pg.h"

namespace gwang::store {

namespace pg {

namespace {

// Each migration takes the schema from version i to i + 1.
constexpr const char* kMigrations[] = {
    "CREATE TABLE journal (seq bigint PRIMARY KEY, time bigint NOT NULL, kind text NOT NULL, payload bytea NOT NULL);"
    "CREATE TABLE snapshot (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, state bytea NOT NULL);",
    // Failover: the leader's lease (one row; the epoch grows at each change of leader and fences the
    // journal's writers), and the API's tokens, which every controller of the store must know.
    "CREATE TABLE leader (id integer PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL, holder text NOT NULL,"
    " address text NOT NULL, expires timestamptz NOT NULL);"
    "INSERT INTO leader VALUES (1, 0, '', '', '-infinity');"
    "CREATE TABLE tokens (hash text PRIMARY KEY, account text NOT NULL, operator boolean NOT NULL);",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));
constexpr std::int64_t kMigrationLock = 0x6777616e67;  // "gwang": the advisory lock id of migrations

std::string trimmed(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace

Result<void> Conn::connect(const std::string& conninfo) {
  conn_ = PQconnectdb(conninfo.c_str());
  if (!conn_) return fail("postgres: out of memory connecting");
  if (PQstatus(conn_) != CONNECTION_OK) return fail("postgres: cannot connect: " + trimmed(PQerrorMessage(conn_)));
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  return {};
}

Result<void> Conn::ready() {
  reconnected_ = false;
  if (PQstatus(conn_) == CONNECTION_OK) return {};
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return failure("reconnecting");
  reconnected_ = true;
  return {};
}

Result<void> Conn::exec(const char* sql) {
  Res r(PQexec(conn_, sql));
  if (!r.ok()) return failure(sql);
  return {};
}

PGresult* Conn::query(const char* sql, std::initializer_list<const char*> params) {
  return PQexecParams(conn_, sql, static_cast<int>(params.size()), nullptr, params.begin(), nullptr, nullptr, 1);
}

tl::unexpected<Error> Conn::failure(const std::string& what) const {
  return fail("postgres: " + what + ": " + trimmed(PQerrorMessage(conn_)));
}

Result<void> migrate(Conn& conn) {
  if (auto r = conn.exec("BEGIN"); !r) return r;
  auto rollback = [&](Result<void> why) {
    conn.exec("ROLLBACK");
    return why;
  };
  const std::string lock = "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")";
  if (auto r = conn.exec(lock.c_str()); !r) return rollback(r);
  if (auto r = conn.exec("CREATE TABLE IF NOT EXISTS gwang_schema (version integer NOT NULL)"); !r) return rollback(r);
  Res v(conn.query("SELECT COALESCE(MAX(version), 0)::bigint FROM gwang_schema"));
  if (!v.ok()) return rollback(conn.failure("reading the schema version"));
  const std::int64_t version = v.int64(0, 0);
  if (version > kSchemaVersion) {
    return rollback(fail("the store's schema is version " + std::to_string(version) + ", newer than this gwang's (" +
                         std::to_string(kSchemaVersion) + "): use a gwang at least as new as the one that wrote it"));
  }
  for (std::int64_t i = version; i < kSchemaVersion; ++i) {
    if (auto r = conn.exec(kMigrations[i]); !r) return rollback(r);
  }
  if (version < kSchemaVersion) {
    if (auto r = conn.exec("DELETE FROM gwang_schema"); !r) return rollback(r);
    const std::string set = "INSERT INTO gwang_schema (version) VALUES (" + std::to_string(kSchemaVersion) + ")";
    if (auto r = conn.exec(set.c_str()); !r) return rollback(r);
  }
  return conn.exec("COMMIT");
}

}  // namespace pg

namespace {

using pg::Res;

class PostgresJournal final : public Journal {
 public:
  explicit PostgresJournal(PostgresOptions options) : options_(std::move(options)) {}

  Result<void> open(const std::string& conninfo) {
    if (auto r = conn_.connect(conninfo); !r) return r;
    if (auto r = pg::migrate(conn_); !r) return r;
    auto last = read_last();
    if (!last) return tl::unexpected(last.error());
    last_ = *last;
    return {};
  }

  // The last sequence number in the store.
  Result<std::int64_t> read_last() {
    Res last(
        conn_.query("SELECT GREATEST((SELECT COALESCE(MAX(seq), 0) FROM journal),"
                    " (SELECT COALESCE(MAX(seq), 0) FROM snapshot))::bigint"));
    if (!last.ok()) return conn_.failure("reading the last record");
    return last.int64(0, 0);
  }

  // A connection that was lost (the server restarted, say) is made again; the store must then
  // still end where this journal left it, or another writer has been at it and nothing is written.
  Result<void> ready() {
    if (auto r = conn_.ready(); !r || !conn_.reconnected()) return r;
    auto last = read_last();
    if (!last) return tl::unexpected(last.error());
    if (*last != last_) {
      return fail("postgres: the store ends at record " + std::to_string(*last) + ", not at " + std::to_string(last_) +
                  " as this controller wrote it: another writer has been at it");
    }
    return {};
  }

  // Opens a write transaction; fenced, it first checks (under a share lock on the leader's row, which
  // a change of leader must wait for) that this controller's epoch still leads.
  Result<void> begin_write() {
    if (auto r = ready(); !r) return r;
    if (auto r = conn_.exec("BEGIN"); !r) return r;
    if (options_.fence_epoch == 0) return {};
    Res lead(conn_.query("SELECT epoch FROM leader WHERE id = 1 FOR SHARE"));
    if (!lead.ok() || lead.rows() != 1) {
      auto why = conn_.failure("reading the leader's epoch");
      conn_.exec("ROLLBACK");
      return why;
    }
    const std::int64_t epoch = lead.int64(0, 0);
    if (epoch == options_.fence_epoch) return {};
    conn_.exec("ROLLBACK");
    fenced_ = true;
    if (options_.on_fenced) options_.on_fenced(epoch);
    return fail("postgres: fenced: another controller leads the store now (epoch " + std::to_string(epoch) +
                "; this one led in epoch " + std::to_string(options_.fence_epoch) + "), so this one writes nothing");
  }

  // A batch that meets a lost connection (the server restarting, a failover of the database) is
  // tried again on a new connection for up to options_.retry_for. When the connection went during
  // COMMIT, the batch may have landed: the records after last_ are read back and compared, so that it
  // is neither lost nor written twice.
  Result<std::int64_t> append(std::vector<Record>& batch) override {
    if (batch.empty()) return last_ + 1;
    const auto deadline = std::chrono::steady_clock::now() + options_.retry_for;
    for (int attempt = 0;; ++attempt) {
      auto r = append_once(batch);
      if (r || fenced_ || PQstatus(conn_.get()) == CONNECTION_OK) return r;
      // The connection is gone: wait for the server, then find out whether the batch landed.
      while (true) {
        if (std::chrono::steady_clock::now() >= deadline) return r;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 << std::min(attempt, 3), 400)));
        if (conn_.ready()) break;
      }
      auto landed = landed_already(batch);
      if (!landed) return tl::unexpected(landed.error());
      if (*landed) return accept(batch);
    }
  }

  Result<void> snapshot(const Snapshot& s) override {
    if (s.seq > last_) return fail("snapshot at " + std::to_string(s.seq) + " is past the last record");
    if (auto r = begin_write(); !r) return r;
    const std::string seq = std::to_string(s.seq);
    const char* values[] = {seq.c_str(), s.state.data()};
    const int lengths[] = {0, static_cast<int>(s.state.size())};
    const int formats[] = {0, 1};
    Res put(PQexecParams(conn_.get(),
                         "INSERT INTO snapshot (id, seq, state) VALUES (1, $1::bigint, $2::bytea) "
                         "ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, state = EXCLUDED.state",
                         2, nullptr, values, lengths, formats, 0));
    Res drop(put.ok() ? PQexecParams(conn_.get(), "DELETE FROM journal WHERE seq <= $1::bigint", 1, nullptr, values,
                                     lengths, formats, 0)
                      : nullptr);
    if (!put.ok() || !drop.ok()) {
      auto why = conn_.failure("storing the snapshot at " + seq);
      conn_.exec("ROLLBACK");
      return why;
    }
    return conn_.exec("COMMIT");
  }

  Result<Recovered> load() override {
    Recovered out;
    if (auto r = ready(); !r) return tl::unexpected(r.error());
    // One transaction: the snapshot and the records after it are read as of one moment.
    if (auto r = conn_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r) return tl::unexpected(r.error());
    auto rollback = [&](const std::string& what) {
      auto why = conn_.failure(what);
      conn_.exec("ROLLBACK");
      return why;
    };
    Res snap(conn_.query("SELECT seq, state FROM snapshot WHERE id = 1"));
    if (!snap.ok()) return rollback("reading the snapshot");
    std::int64_t after = 0;
    if (snap.rows() == 1) {
      out.snapshot = Snapshot{snap.int64(0, 0), snap.bytes(0, 1)};
      after = out.snapshot->seq;
    }
    const std::string from = std::to_string(after);
    Res rows(conn_.query("SELECT seq, time, kind, payload FROM journal WHERE seq > $1::bigint ORDER BY seq",
                         {from.c_str()}));
    if (!rows.ok()) return rollback("reading the journal");
    out.records.reserve(static_cast<std::size_t>(rows.rows()));
    for (int i = 0; i < rows.rows(); ++i) {
      out.records.push_back({rows.int64(i, 0), rows.int64(i, 1), rows.bytes(i, 2), rows.bytes(i, 3)});
    }
    if (auto r = conn_.exec("COMMIT"); !r) return tl::unexpected(r.error());
    // The journal never has gaps: a gap means a damaged store, which must not be papered over.
    if (auto r = check_sequence(out); !r) return tl::unexpected(r.error());
    // What this journal appends next follows what it read (another leader may have written since open).
    last_ = out.records.empty() ? (out.snapshot ? out.snapshot->seq : 0) : out.records.back().seq;
    return out;
  }

  std::int64_t last_seq() const override { return last_; }

  // One try: BEGIN (fenced), the records, COMMIT.
  Result<std::int64_t> append_once(std::vector<Record>& batch) {
    if (auto r = begin_write(); !r) return tl::unexpected(r.error());
    if (auto r = insert_records(batch, last_ + 1); !r) {
      conn_.exec("ROLLBACK");
      return tl::unexpected(r.error());
    }
    if (!options_.after_commit_sent) {
      if (auto r = conn_.exec("COMMIT"); !r) return tl::unexpected(r.error());
      return accept(batch);
    }
    // The same, with the tests' hook between sending COMMIT and reading its answer.
    if (!PQsendQuery(conn_.get(), "COMMIT")) return conn_.failure("COMMIT");
    options_.after_commit_sent(PQsocket(conn_.get()));
    bool ok = true;
    while (PGresult* r = PQgetResult(conn_.get())) {
      ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
    }
    if (!ok) return conn_.failure("COMMIT");
    return accept(batch);
  }

  // The batch is in the store: its records take their numbers.
  std::int64_t accept(std::vector<Record>& batch) {
    const std::int64_t first = last_ + 1;
    for (Record& r : batch) r.seq = ++last_;
    return first;
  }

  // After a lost connection: whether the store holds `batch` right after last_ (its COMMIT went
  // through), or ends at last_ (it did not). Anything else: another writer has been at the store.
  Result<bool> landed_already(const std::vector<Record>& batch) {
    const std::string after = std::to_string(last_);
    const std::string limit = std::to_string(batch.size() + 1);
    Res rows(conn_.query("SELECT seq, kind, payload FROM journal WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint",
                         {after.c_str(), limit.c_str()}));
    if (!rows.ok()) return conn_.failure("reading back a batch whose commit was cut off");
    if (rows.rows() == 0) return false;
    bool same = static_cast<std::size_t>(rows.rows()) == batch.size();
    for (int i = 0; same && i < rows.rows(); ++i) {
      const Record& r = batch[static_cast<std::size_t>(i)];
      same = rows.int64(i, 0) == last_ + 1 + i && rows.bytes(i, 1) == r.kind && rows.bytes(i, 2) == r.payload;
    }
    if (same) return true;
    return fail("postgres: the store goes on past record " + after +
                " with records this controller did not write: another writer has been at it");
  }

  Result<void> restore(const Recovered& state) override {
    if (last_ != 0) return fail("postgres: the store is not empty");
    if (auto r = check_sequence(state); !r) return r;
    if (auto r = begin_write(); !r) return r;
    Res empty(conn_.query("SELECT ((SELECT COUNT(*) FROM journal) + (SELECT COUNT(*) FROM snapshot))::bigint"));
    if (!empty.ok() || empty.int64(0, 0) != 0) {
      conn_.exec("ROLLBACK");
      return fail("postgres: the store is not empty");
    }
    if (state.snapshot) {
      const std::string seq = std::to_string(state.snapshot->seq);
      const char* values[] = {seq.c_str(), state.snapshot->state.data()};
      const int lengths[] = {0, static_cast<int>(state.snapshot->state.size())};
      const int formats[] = {0, 1};
      Res put(PQexecParams(conn_.get(), "INSERT INTO snapshot (id, seq, state) VALUES (1, $1::bigint, $2::bytea)", 2,
                           nullptr, values, lengths, formats, 0));
      if (!put.ok()) {
        auto why = conn_.failure("writing the snapshot");
        conn_.exec("ROLLBACK");
        return why;
      }
    }
    if (!state.records.empty()) {
      if (auto r = insert_records(state.records, state.records.front().seq); !r) {
        conn_.exec("ROLLBACK");
        return r;
      }
    }
    if (auto r = conn_.exec("COMMIT"); !r) return r;
    last_ = state.records.empty() ? (state.snapshot ? state.snapshot->seq : 0) : state.records.back().seq;
    return {};
  }

 private:
  // Inserts `records` numbered from `first` on, inside the caller's transaction; at most 10,000 a
  // statement (4 parameters each: PostgreSQL takes 65,535).
  Result<void> insert_records(const std::vector<Record>& records, std::int64_t first) {
    constexpr std::size_t kChunk = 10000;
    for (std::size_t at = 0; at < records.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, records.size() - at);
      std::string sql = "INSERT INTO journal (seq, time, kind, payload) VALUES ";
      std::vector<std::string> numbers;  // the text of seq and time, kept while the call reads them
      numbers.reserve(2 * n);
      std::vector<const char*> values;
      std::vector<int> lengths, formats;
      for (std::size_t i = 0; i < n; ++i) {
        const Record& r = records[at + i];
        const std::size_t p = 4 * i;
        sql += (i ? ",($" : "($") + std::to_string(p + 1) + "::bigint,$" + std::to_string(p + 2) + "::bigint,$" +
               std::to_string(p + 3) + ",$" + std::to_string(p + 4) + "::bytea)";
        numbers.push_back(std::to_string(first + static_cast<std::int64_t>(at + i)));
        numbers.push_back(std::to_string(r.time));
        values.insert(values.end(),
                      {numbers[numbers.size() - 2].c_str(), numbers.back().c_str(), r.kind.c_str(), r.payload.data()});
        lengths.insert(lengths.end(), {0, 0, 0, static_cast<int>(r.payload.size())});
        formats.insert(formats.end(), {0, 0, 0, 1});
      }
      Res res(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                           lengths.data(), formats.data(), 0));
      if (!res.ok()) return conn_.failure("appending " + std::to_string(records.size()) + " record(s)");
    }
    return {};
  }

  PostgresOptions options_;
  bool fenced_ = false;
  pg::Conn conn_;
  std::int64_t last_ = 0;
};

}  // namespace

Result<std::unique_ptr<Journal>> open_postgres_journal(const std::string& conninfo, PostgresOptions options) {
  auto journal = std::make_unique<PostgresJournal>(std::move(options));
  if (auto r = journal->open(conninfo); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Journal>(std::move(journal));
}

}  // namespace gwang::store
