// Group commit: many threads hand records to one writer, which appends whatever has gathered as one
// batch (one transaction, one disk flush) and tells each waiter when its record is durable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "store/journal.h"

namespace gwang::store {

class GroupCommitter {
 public:
  explicit GroupCommitter(Journal& journal);
  // Writes what is queued, then stops.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues a record. The future gives its sequence number once the batch holding it is durable,
  // or the error that kept the batch from the disk (then none of that batch was written).
  std::future<Result<std::int64_t>> append(Record record);
  // The same, waiting for the outcome.
  Result<std::int64_t> append_and_wait(Record record) { return append(std::move(record)).get(); }
  // Queues a snapshot, written by the same writer after the records queued before it, in pieces of
  // kSnapshotPiece bytes (Journal::begin_snapshot), with the records queued meanwhile written
  // between them: a large snapshot holds up no append for longer than one piece. The future gives
  // the outcome once the snapshot has taken effect. What it makes useless is dropped afterwards
  // (Journal::compact), kCompactStep records at a time, while nothing else waits.
  std::future<Result<void>> snapshot(Snapshot snapshot);

  static constexpr std::size_t kSnapshotPiece = 256 << 10;
  static constexpr std::int64_t kCompactStep = 2000;

  std::uint64_t batches() const { return batches_; }  // how many batches of records so far

 private:
  struct Pending {
    Record record;
    std::promise<Result<std::int64_t>> done;
  };
  struct PendingSnapshot {
    Snapshot snapshot;
    std::promise<Result<void>> done;
  };
  void run();
  // With `lock` held; each lets it go while it writes.
  void write_queued(std::unique_lock<std::mutex>& lock);
  void write_snapshot(std::unique_lock<std::mutex>& lock);

  Journal& journal_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  // Snapshots, each after the first `after` records of queue_ as it was when it was queued (a
  // snapshot follows what was queued before it).
  std::deque<std::pair<std::size_t, PendingSnapshot>> snapshots_;
  bool stopping_ = false;
  bool compact_due_ = false;  // a snapshot was written; compact() has not said it is done
  std::atomic<std::uint64_t> batches_{0};
  std::thread writer_;
};

}  // namespace gwang::store
