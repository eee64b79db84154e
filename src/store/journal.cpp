#include "store/journal.h"

#include <sqlite3.h>

namespace gwang::store {

namespace {

constexpr int kSchemaVersion = 1;

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
    static const char* kSchema =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;"
        "CREATE TABLE IF NOT EXISTS journal(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,"
        "  payload BLOB NOT NULL) STRICT;"
        "CREATE TABLE IF NOT EXISTS snapshot(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,"
        "  state BLOB NOT NULL) STRICT;";
    if (auto r = exec(kSchema); !r) return r;
    if (auto r = exec("INSERT OR IGNORE INTO meta VALUES('schema', " + std::to_string(kSchemaVersion) + ")"); !r) {
      return r;
    }
    const std::int64_t version = scalar("SELECT value FROM meta WHERE key = 'schema'");
    if (version != kSchemaVersion) {
      return fail(path_ + ": store schema version " + std::to_string(version) + ", this gwang reads version " +
                  std::to_string(kSchemaVersion));
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
    Statement put(db_, "INSERT OR REPLACE INTO snapshot(id, seq, state) VALUES(1, ?, ?)");
    sqlite3_bind_int64(put.get(), 1, s.seq);
    sqlite3_bind_blob(put.get(), 2, s.state.data(), static_cast<int>(s.state.size()), SQLITE_STATIC);
    if (sqlite3_step(put.get()) != SQLITE_DONE) {
      auto err = error("writing the snapshot");
      exec("ROLLBACK");
      return err;
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

  Result<Recovered> load() override {
    Recovered out;
    Statement snap(db_, "SELECT seq, state FROM snapshot WHERE id = 1");
    if (sqlite3_step(snap.get()) == SQLITE_ROW) {
      Snapshot s;
      s.seq = sqlite3_column_int64(snap.get(), 0);
      s.state = column_bytes(snap.get(), 1);
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

  sqlite3* db_;
  std::string path_;
  std::unique_ptr<Statement> insert_;
  std::int64_t last_ = 0;
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
