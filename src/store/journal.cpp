#include "store/journal.h"

#include <sqlite3.h>

#include <cassert>

namespace gwang::store {

namespace {

// 2 added snapshots written in pieces (snapshot.pieces, snapshot_piece); a store of 1 is upgraded
// when opened.
constexpr int kSchemaVersion = 2;
// A snapshot's pieces (schema 2), by the record it follows and their order.
constexpr const char* kPieceTable =
    "CREATE TABLE snapshot_piece(seq INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,"
    "  PRIMARY KEY (seq, n)) STRICT;";

// --- in memory

class MemoryJournal final : public Journal {
 public:
  Result<std::int64_t> append(std::vector<Record>& batch) override {
    const std::int64_t first = last_ + 1;
    for (Record& r : batch) {
      r.seq = ++last_;
      records_.push_back(r);
    }
    return first;
  }
  Result<void> snapshot(const Snapshot& s) override {
    if (s.seq > last_) return fail("snapshot at " + std::to_string(s.seq) + " is past the last record");
    snapshot_ = s;
    std::erase_if(records_, [&](const Record& r) { return r.seq <= s.seq; });
    return {};
  }
  Result<Recovered> load() override { return Recovered{snapshot_, records_}; }
  std::int64_t last_seq() const override { return last_; }
  Result<void> restore(const Recovered& state) override {
    if (last_ != 0 || snapshot_) return fail("the store is not empty");
    if (auto r = check_sequence(state); !r) return r;
    snapshot_ = state.snapshot;
    records_ = state.records;
    last_ = records_.empty() ? (snapshot_ ? snapshot_->seq : 0) : records_.back().seq;
    return {};
  }

 private:
  std::int64_t last_ = 0;
  std::optional<Snapshot> snapshot_;
  std::vector<Record> records_;
};

// --- SQLite

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteJournal final : public Journal {
 public:
  explicit SqliteJournal(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteJournal() override {
    insert_.reset();
    sqlite3_close(db_);
  }

  Result<void> init() {
    if (auto r = exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;");
        !r) {
      return r;
    }
    std::int64_t version = scalar("SELECT value FROM meta WHERE key = 'schema'");
    if (version == 0) {  // a new store
      static const char* kSchema =
          "BEGIN IMMEDIATE;"
          "CREATE TABLE journal(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,"
          "  payload BLOB NOT NULL) STRICT;"
          // The snapshot is `state`, or with pieces > 0 its pieces' data in order.
          "CREATE TABLE snapshot(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,"
          "  state BLOB NOT NULL, pieces INTEGER NOT NULL DEFAULT 0) STRICT;";
      if (auto r = exec(std::string(kSchema) + kPieceTable + "INSERT INTO meta VALUES('schema', " +
                        std::to_string(kSchemaVersion) + "); COMMIT;");
          !r) {
        exec("ROLLBACK");
        return r;
      }
      version = kSchemaVersion;
    } else if (version == 1) {  // snapshots were one blob
      if (auto r = exec("BEGIN IMMEDIATE;"
                        "ALTER TABLE snapshot ADD COLUMN pieces INTEGER NOT NULL DEFAULT 0;" +
                        std::string(kPieceTable) + "UPDATE meta SET value = 2 WHERE key = 'schema'; COMMIT;");
          !r) {
        exec("ROLLBACK");
        return fail(r.error().message + " (upgrading the store from schema version 1)");
      }
      version = 2;
    }
    if (version != kSchemaVersion) {
      return fail(path_ + ": store schema version " + std::to_string(version) + ", this gwang reads version " +
                  std::to_string(kSchemaVersion) + " (and upgrades 1)");
    }
    last_ = std::max(scalar("SELECT COALESCE(MAX(seq), 0) FROM journal"),
                     scalar("SELECT COALESCE(MAX(seq), 0) FROM snapshot"));
    insert_ = std::make_unique<Statement>(db_, "INSERT INTO journal(seq, time, kind, payload) VALUES(?, ?, ?, ?)");
    if (!*insert_) return error("preparing the journal insert");
    return {};
  }

  Result<std::int64_t> append(std::vector<Record>& batch) override {
    if (batch.empty()) return last_ + 1;
    if (auto r = exec("BEGIN IMMEDIATE"); !r) return tl::unexpected(r.error());
    std::int64_t seq = last_;
    for (Record& rec : batch) {
      sqlite3_stmt* st = insert_->get();
      sqlite3_reset(st);
      sqlite3_bind_int64(st, 1, ++seq);
      sqlite3_bind_int64(st, 2, rec.time);
      sqlite3_bind_text(st, 3, rec.kind.data(), static_cast<int>(rec.kind.size()), SQLITE_STATIC);
      sqlite3_bind_blob(st, 4, rec.payload.data(), static_cast<int>(rec.payload.size()), SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) {
        auto err = error("appending to the journal");
        exec("ROLLBACK");
        return tl::unexpected(err.error());
      }
    }
    if (auto r = exec("COMMIT"); !r) {
      exec("ROLLBACK");
      return tl::unexpected(r.error());
    }
    const std::int64_t first = last_ + 1;
    for (Record& rec : batch) rec.seq = ++last_;
    return first;
  }

  Result<void> snapshot(const Snapshot& s) override {
    if (s.seq > last_) return fail("snapshot at " + std::to_string(s.seq) + " is past the last record");
    if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
    Statement put(db_, "INSERT OR REPLACE INTO snapshot(id, seq, state, pieces) VALUES(1, ?, ?, 0)");
    sqlite3_bind_int64(put.get(), 1, s.seq);
    sqlite3_bind_blob(put.get(), 2, s.state.data(), static_cast<int>(s.state.size()), SQLITE_STATIC);
    if (sqlite3_step(put.get()) != SQLITE_DONE) {
      auto err = error("writing the snapshot");
      exec("ROLLBACK");
      return err;
    }
    if (auto r = exec("DELETE FROM snapshot_piece WHERE seq != " + std::to_string(staging_)); !r) {
      exec("ROLLBACK");
      return r;
    }
    Statement drop(db_, "DELETE FROM journal WHERE seq <= ?");
    sqlite3_bind_int64(drop.get(), 1, s.seq);
    if (sqlite3_step(drop.get()) != SQLITE_DONE) {
      auto err = error("compacting the journal");
      exec("ROLLBACK");
      return err;
    }
    return exec("COMMIT");
  }

  Result<void> begin_snapshot(std::int64_t seq) override {
    if (seq > last_) return fail("snapshot at " + std::to_string(seq) + " is past the last record");
    const auto [stored, pieces] = stored_snapshot();
    if (seq == stored && pieces > 0) return fail("a snapshot at " + std::to_string(seq) + " is already stored");
    // Pieces left by an attempt at the same point that did not finish.
    if (auto r = exec("DELETE FROM snapshot_piece WHERE seq = " + std::to_string(seq)); !r) return r;
    staging_ = seq;
    staged_ = 0;
    return {};
  }

  // Each piece is its own transaction.
  Result<void> snapshot_piece(std::string_view bytes) override {
    assert(staging_ >= 0 && "snapshot_piece without begin_snapshot");
    Statement put(db_, "INSERT INTO snapshot_piece(seq, n, data) VALUES(?, ?, ?)");
    sqlite3_bind_int64(put.get(), 1, staging_);
    sqlite3_bind_int64(put.get(), 2, staged_);
    sqlite3_bind_blob(put.get(), 3, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
    if (sqlite3_step(put.get()) != SQLITE_DONE) return error("writing a piece of the snapshot");
    ++staged_;
    return {};
  }

  Result<void> end_snapshot() override {
    assert(staging_ >= 0 && "end_snapshot without begin_snapshot");
    Statement put(db_, "INSERT OR REPLACE INTO snapshot(id, seq, state, pieces) VALUES(1, ?, x'', ?)");
    sqlite3_bind_int64(put.get(), 1, staging_);
    sqlite3_bind_int64(put.get(), 2, staged_);
    if (sqlite3_step(put.get()) != SQLITE_DONE) return error("writing the snapshot");
    staging_ = -1;
    return {};
  }

  // The earlier snapshots' pieces one at a time, then the covered records `limit` at a time.
  Result<std::int64_t> compact(std::int64_t limit) override {
    const auto [stored, pieces] = stored_snapshot();
    {
      Statement old(db_, "SELECT seq, n FROM snapshot_piece WHERE seq != ? AND seq != ? LIMIT 1");
      sqlite3_bind_int64(old.get(), 1, pieces > 0 ? stored : -1);
      sqlite3_bind_int64(old.get(), 2, staging_);
      if (sqlite3_step(old.get()) == SQLITE_ROW) {
        const std::int64_t seq = sqlite3_column_int64(old.get(), 0), n = sqlite3_column_int64(old.get(), 1);
        if (auto r =
                exec("DELETE FROM snapshot_piece WHERE seq = " + std::to_string(seq) + " AND n = " + std::to_string(n));
            !r) {
          return tl::unexpected(r.error());
        }
        return 1;
      }
    }
    const std::int64_t first = scalar("SELECT COALESCE(MIN(seq), 0) FROM journal");
    if (first == 0 || first > stored) return 0;
    const std::int64_t upto = std::min(stored, first + std::max<std::int64_t>(limit, 1) - 1);
    if (auto r = exec("DELETE FROM journal WHERE seq <= " + std::to_string(upto)); !r) {
      return tl::unexpected(r.error());
    }
    return upto - first + 1;
  }

  Result<Recovered> load() override {
    Recovered out;
    Statement snap(db_, "SELECT seq, state, pieces FROM snapshot WHERE id = 1");
    if (sqlite3_step(snap.get()) == SQLITE_ROW) {
      Snapshot s;
      s.seq = sqlite3_column_int64(snap.get(), 0);
      s.state = column_bytes(snap.get(), 1);
      const std::int64_t pieces = sqlite3_column_int64(snap.get(), 2);
      if (pieces > 0) {
        Statement each(db_, "SELECT n, data FROM snapshot_piece WHERE seq = ? ORDER BY n");
        sqlite3_bind_int64(each.get(), 1, s.seq);
        std::int64_t n = 0;
        while (sqlite3_step(each.get()) == SQLITE_ROW && sqlite3_column_int64(each.get(), 0) == n) {
          const void* data = sqlite3_column_blob(each.get(), 1);
          s.state.append(static_cast<const char*>(data), static_cast<std::size_t>(sqlite3_column_bytes(each.get(), 1)));
          ++n;
        }
        if (n != pieces) {
          return fail(path_ + ": the snapshot at " + std::to_string(s.seq) + " has " + std::to_string(pieces) +
                      " pieces but piece " + std::to_string(n) + " is missing");
        }
      }
      out.snapshot = std::move(s);
    }
    Statement rows(db_, "SELECT seq, time, kind, payload FROM journal WHERE seq > ? ORDER BY seq");
    sqlite3_bind_int64(rows.get(), 1, out.snapshot ? out.snapshot->seq : 0);
    int rc;
    while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
      Record r;
      r.seq = sqlite3_column_int64(rows.get(), 0);
      r.time = sqlite3_column_int64(rows.get(), 1);
      r.kind = column_bytes(rows.get(), 2);
      r.payload = column_bytes(rows.get(), 3);
      out.records.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return tl::unexpected(error("reading the journal").error());
    // The journal never has gaps: a gap means a damaged store, which must not be papered over.
    std::int64_t expect = out.snapshot ? out.snapshot->seq + 1 : 1;
    for (const Record& r : out.records) {
      if (r.seq != expect++) {
        return fail(path_ + ": journal record " + std::to_string(expect - 1) + " is missing (found " +
                    std::to_string(r.seq) + ")");
      }
    }
    return out;
  }

  std::int64_t last_seq() const override { return last_; }

  Result<void> restore(const Recovered& state) override {
    if (last_ != 0 || scalar("SELECT COUNT(*) FROM snapshot") != 0) return fail(path_ + ": the store is not empty");
    if (auto r = check_sequence(state); !r) return r;
    if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
    if (state.snapshot) {
      Statement put(db_, "INSERT INTO snapshot(id, seq, state) VALUES(1, ?, ?)");
      sqlite3_bind_int64(put.get(), 1, state.snapshot->seq);
      sqlite3_bind_blob(put.get(), 2, state.snapshot->state.data(), static_cast<int>(state.snapshot->state.size()),
                        SQLITE_STATIC);
      if (sqlite3_step(put.get()) != SQLITE_DONE) {
        auto err = error("writing the snapshot");
        exec("ROLLBACK");
        return err;
      }
    }
    for (const Record& rec : state.records) {
      sqlite3_stmt* st = insert_->get();
      sqlite3_reset(st);
      sqlite3_bind_int64(st, 1, rec.seq);
      sqlite3_bind_int64(st, 2, rec.time);
      sqlite3_bind_text(st, 3, rec.kind.data(), static_cast<int>(rec.kind.size()), SQLITE_STATIC);
      sqlite3_bind_blob(st, 4, rec.payload.data(), static_cast<int>(rec.payload.size()), SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) {
        auto err = error("writing record " + std::to_string(rec.seq));
        exec("ROLLBACK");
        return err;
      }
    }
    if (auto r = exec("COMMIT"); !r) {
      exec("ROLLBACK");
      return r;
    }
    last_ = state.records.empty() ? (state.snapshot ? state.snapshot->seq : 0) : state.records.back().seq;
    return {};
  }

 private:
  static std::string column_bytes(sqlite3_stmt* st, int col) {
    const void* data = sqlite3_column_blob(st, col);
    const int n = sqlite3_column_bytes(st, col);
    return data ? std::string(static_cast<const char*>(data), static_cast<std::size_t>(n)) : std::string();
  }
  Result<void> error(const std::string& what) const { return fail(path_ + ": " + what + ": " + sqlite3_errmsg(db_)); }
  Result<void> exec(const std::string& sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string text = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return fail(path_ + ": " + text);
    }
    return {};
  }
  std::int64_t scalar(const char* sql) {
    Statement st(db_, sql);
    return sqlite3_step(st.get()) == SQLITE_ROW ? sqlite3_column_int64(st.get(), 0) : 0;
  }

  // The stored snapshot's seq (0: none) and its pieces (0: it is one blob).
  std::pair<std::int64_t, std::int64_t> stored_snapshot() {
    Statement st(db_, "SELECT seq, pieces FROM snapshot WHERE id = 1");
    if (sqlite3_step(st.get()) != SQLITE_ROW) return {0, 0};
    return {sqlite3_column_int64(st.get(), 0), sqlite3_column_int64(st.get(), 1)};
  }

  sqlite3* db_;
  std::string path_;
  std::unique_ptr<Statement> insert_;
  std::int64_t last_ = 0;
  std::int64_t staging_ = -1;  // the snapshot being written in pieces (begin_snapshot), or -1
  std::int64_t staged_ = 0;    // its pieces so far
};

}  // namespace

Result<std::unique_ptr<Journal>> open_sqlite_journal(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(path + ": cannot open: " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  auto journal = std::make_unique<SqliteJournal>(db, path);
  if (auto r = journal->init(); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Journal>(std::move(journal));
}

std::unique_ptr<Journal> make_memory_journal() { return std::make_unique<MemoryJournal>(); }

bool FaultyJournal::trip() {
  if (remaining_ < 0) return false;
  if (remaining_ == 0) return true;
  --remaining_;
  return false;
}

Result<std::int64_t> FaultyJournal::append(std::vector<Record>& batch) {
  if (trip()) return fail("injected failure: append");
  return inner_->append(batch);
}

Result<void> FaultyJournal::snapshot(const Snapshot& s) {
  if (trip()) return fail("injected failure: snapshot");
  return inner_->snapshot(s);
}

Result<void> Journal::begin_snapshot(std::int64_t seq) {
  if (seq > last_seq()) return fail("snapshot at " + std::to_string(seq) + " is past the last record");
  gathered_ = Snapshot{seq, {}};
  return {};
}

Result<void> Journal::snapshot_piece(std::string_view bytes) {
  assert(gathered_ && "snapshot_piece without begin_snapshot");
  gathered_->state += bytes;
  return {};
}

Result<void> Journal::end_snapshot() {
  assert(gathered_ && "end_snapshot without begin_snapshot");
  Snapshot s = std::move(*gathered_);
  gathered_.reset();
  return snapshot(s);
}

Result<std::int64_t> Journal::compact(std::int64_t) { return 0; }  // snapshot() dropped it all

Result<void> FaultyJournal::begin_snapshot(std::int64_t seq) {
  if (trip()) return fail("injected failure: begin_snapshot");
  return inner_->begin_snapshot(seq);
}

Result<void> FaultyJournal::snapshot_piece(std::string_view bytes) {
  if (trip()) return fail("injected failure: snapshot_piece");
  return inner_->snapshot_piece(bytes);
}

Result<void> FaultyJournal::end_snapshot() {
  if (trip()) return fail("injected failure: end_snapshot");
  return inner_->end_snapshot();
}

// Compaction runs whenever the committer is idle: it fails while the journal fails but does not
// count towards fail_after, so that when a test's failure comes does not depend on timing.
Result<std::int64_t> FaultyJournal::compact(std::int64_t limit) {
  if (remaining_ == 0) return fail("injected failure: compact");
  return inner_->compact(limit);
}

Result<void> check_sequence(const Recovered& state) {
  std::int64_t expect = state.snapshot ? state.snapshot->seq + 1 : 1;
  for (const Record& r : state.records) {
    if (r.seq != expect) {
      return fail("journal record " + std::to_string(expect) + " is missing (found " + std::to_string(r.seq) + ")");
    }
    ++expect;
  }
  return {};
}

Result<std::size_t> copy_store(Journal& from, Journal& to) {
  auto state = from.load();
  if (!state) return tl::unexpected(state.error());
  if (auto r = to.restore(*state); !r) return tl::unexpected(r.error());
  auto copied = to.load();
  if (!copied) return tl::unexpected(copied.error());
  const bool same_snapshot = state->snapshot.has_value() == copied->snapshot.has_value() &&
                             (!state->snapshot || (state->snapshot->seq == copied->snapshot->seq &&
                                                   state->snapshot->state == copied->snapshot->state));
  if (!same_snapshot) return fail("the copy's snapshot differs from the original's");
  if (copied->records.size() != state->records.size()) {
    return fail("the copy holds " + std::to_string(copied->records.size()) + " records, the original " +
                std::to_string(state->records.size()));
  }
  for (std::size_t i = 0; i < state->records.size(); ++i) {
    const Record& a = state->records[i];
    const Record& b = copied->records[i];
    if (a.seq != b.seq || a.time != b.time || a.kind != b.kind || a.payload != b.payload) {
      return fail("the copy's record " + std::to_string(b.seq) + " differs from the original's");
    }
  }
  return state->records.size();
}

}  // namespace gwang::store
