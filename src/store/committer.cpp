#include "store/committer.h"

namespace gwang::store {

GroupCommitter::GroupCommitter(Journal& journal) : journal_(journal), writer_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  writer_.join();
}

std::future<Result<std::int64_t>> GroupCommitter::append(Record record) {
  Pending p{std::move(record), {}};
  auto future = p.done.get_future();
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
  return future;
}

std::future<Result<void>> GroupCommitter::snapshot(Snapshot snapshot) {
  PendingSnapshot p{std::move(snapshot), {}};
  auto future = p.done.get_future();
  {
    std::lock_guard lock(mu_);
    snapshots_.emplace_back(queue_.size(), std::move(p));
  }
  cv_.notify_one();
  return future;
}

void GroupCommitter::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !snapshots_.empty() || compact_due_; });
    if (!snapshots_.empty() && snapshots_.front().first == 0) {
      write_snapshot(lock);
    } else if (!queue_.empty()) {
      write_queued(lock);
    } else if (stopping_) {
      return;  // what is left to compact, the next snapshot's compaction drops
    } else {
      // Idle: drop some of what the last snapshot made useless.
      lock.unlock();
      const auto dropped = journal_.compact(kCompactStep);
      lock.lock();
      if (!dropped || *dropped == 0) compact_due_ = false;
    }
  }
}

void GroupCommitter::write_queued(std::unique_lock<std::mutex>& lock) {
  // The records up to the next snapshot (all of them when none waits).
  const std::size_t n = snapshots_.empty() ? queue_.size() : snapshots_.front().first;
  if (n == 0) return;
  std::deque<Pending> taken;
  if (n == queue_.size()) {
    taken.swap(queue_);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      taken.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  for (auto& [after, s] : snapshots_) after -= n;
  lock.unlock();
  std::vector<Record> batch;
  batch.reserve(taken.size());
  for (Pending& p : taken) batch.push_back(std::move(p.record));
  auto first = journal_.append(batch);
  ++batches_;
  for (std::size_t i = 0; i < taken.size(); ++i) {
    if (first) {
      taken[i].done.set_value(*first + static_cast<std::int64_t>(i));
    } else {
      taken[i].done.set_value(tl::unexpected(first.error()));
    }
  }
  lock.lock();
}

// The snapshot at the front, in pieces; the records queued meanwhile are written between them
// (they come after the snapshot: it covers only what was queued before it).
void GroupCommitter::write_snapshot(std::unique_lock<std::mutex>& lock) {
  PendingSnapshot s = std::move(snapshots_.front().second);
  snapshots_.pop_front();
  lock.unlock();
  const std::string_view state = s.snapshot.state;
  Result<void> written = journal_.begin_snapshot(s.snapshot.seq);
  for (std::size_t at = 0; written && at < state.size(); at += kSnapshotPiece) {
    written = journal_.snapshot_piece(state.substr(at, kSnapshotPiece));
    lock.lock();
    write_queued(lock);
    lock.unlock();
  }
  if (written) written = journal_.end_snapshot();
  lock.lock();
  compact_due_ = compact_due_ || written.has_value();
  s.done.set_value(std::move(written));
}

}  // namespace gwang::store
