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
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !snapshots_.empty(); });
    if (queue_.empty() && snapshots_.empty()) return;  // stopping, nothing left
    if (!snapshots_.empty() && snapshots_.front().first == 0) {
      PendingSnapshot s = std::move(snapshots_.front().second);
      snapshots_.pop_front();
      lock.unlock();
      s.done.set_value(journal_.snapshot(s.snapshot));
      lock.lock();
      continue;
    }
    // The records up to the next snapshot (all of them when none waits).
    const std::size_t n = snapshots_.empty() ? queue_.size() : snapshots_.front().first;
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
}

}  // namespace gwang::store
