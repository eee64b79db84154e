// The controller's durable state: a journal of events plus snapshots.
//
// The store knows records, not their meaning: each record is a kind ("job.submitted", ...) and a
// payload that the controller encodes. A batch of records is written in one transaction and is
// durable when append returns (the controller groups concurrent requests into one batch, so one
// disk flush acknowledges many). Recovery is the latest snapshot plus the records after it.
//
// Behind the narrow Journal interface: SqliteJournal (the embedded default), PostgresJournal
// (postgres.cpp, for centres that run a database server), MemoryJournal (tests),
// FaultyJournal (wraps another and fails on command, for failure tests).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::store {

struct Record {
  std::int64_t seq = 0;   // assigned by the journal: 1, 2, 3, ... without gaps
  std::int64_t time = 0;  // the controller's clock when the event happened (seconds)
  std::string kind;
  std::string payload;
};

struct Snapshot {
  std::int64_t seq = 0;  // the state after every record up to and including this one
  std::string state;
};

struct Recovered {
  std::optional<Snapshot> snapshot;
  std::vector<Record> records;  // after the snapshot, in order
};

class Journal {
 public:
  virtual ~Journal() = default;
  // Appends the batch atomically (all or nothing) and durably; assigns and returns the sequence
  // number of the first record (the others follow without gaps).
  virtual Result<std::int64_t> append(std::vector<Record>& batch) = 0;
  // Stores a snapshot of the state after record `seq`, then drops the records it covers.
  virtual Result<void> snapshot(const Snapshot& snapshot) = 0;
  // A snapshot written in pieces, so that appends go on between them (GroupCommitter writes so):
  // begin_snapshot, snapshot_piece for each piece in order, then end_snapshot, at which alone the
  // snapshot takes effect. Until then, and after a failure anywhere, load() gives the snapshot
  // before it. Records appended meanwhile come after it. What the snapshot makes useless (the
  // records it covers, the snapshot before it) is left to compact(). The default gathers the
  // pieces and stores them at the end with snapshot().
  virtual Result<void> begin_snapshot(std::int64_t seq);
  virtual Result<void> snapshot_piece(std::string_view bytes);
  virtual Result<void> end_snapshot();
  // Drops some of what the last snapshot made useless, about `limit` records' worth in one short
  // transaction; returns how much it dropped, 0 when nothing is left.
  virtual Result<std::int64_t> compact(std::int64_t limit);
  // The latest snapshot and every record after it.
  virtual Result<Recovered> load() = 0;
  // The sequence number of the last record appended (0 when none).
  virtual std::int64_t last_seq() const = 0;
  // Into an empty store, in one transaction: the snapshot and the records after it, keeping their
  // sequence numbers (a store moved to another engine). Errors: the store is not empty; the
  // records do not follow the snapshot without gaps.
  virtual Result<void> restore(const Recovered& state) = 0;

 private:
  std::optional<Snapshot> gathered_;  // the default piecewise snapshot's pieces so far
};

// Whether `state`'s records follow its snapshot (or 1) without gaps; the error names the first
// missing one.
Result<void> check_sequence(const Recovered& state);

// Copies `from` into the empty `to` (restore), then reads `to` back and compares every record and
// the snapshot with `from`. Returns how many records were copied.
Result<std::size_t> copy_store(Journal& from, Journal& to);

// SQLite in WAL mode with full synchronous commits, STRICT tables. Opening creates the schema, or
// checks the version of an existing one.
Result<std::unique_ptr<Journal>> open_sqlite_journal(const std::string& path);

// PostgreSQL: open_postgres_journal in postgres.h.

std::unique_ptr<Journal> make_memory_journal();

// Wraps `inner`; after `ok_calls` more successful calls that write (append, snapshot and its
// pieces), those calls fail (without touching `inner`) until reset; compact fails then too.
class FaultyJournal final : public Journal {
 public:
  explicit FaultyJournal(std::unique_ptr<Journal> inner) : inner_(std::move(inner)) {}
  void fail_after(int ok_calls) { remaining_ = ok_calls; }
  void reset() { remaining_ = -1; }

  Result<std::int64_t> append(std::vector<Record>& batch) override;
  Result<void> snapshot(const Snapshot& snapshot) override;
  Result<void> begin_snapshot(std::int64_t seq) override;
  Result<void> snapshot_piece(std::string_view bytes) override;
  Result<void> end_snapshot() override;
  Result<std::int64_t> compact(std::int64_t limit) override;
  Result<Recovered> load() override { return inner_->load(); }
  std::int64_t last_seq() const override { return inner_->last_seq(); }
  Result<void> restore(const Recovered& state) override { return inner_->restore(state); }

 private:
  bool trip();
  std::unique_ptr<Journal> inner_;
  int remaining_ = -1;  // -1: never fail
};

}  // namespace gwang::store
