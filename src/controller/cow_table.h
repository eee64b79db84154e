// A table of records by id, shared with the views the controller publishes: copy-on-write in
// chunks of 256 ids. Ids are the controller's job ids, dense from 1. A view (freeze()) costs a copy
// of the chunk pointers; after one, the first change of a record copies its chunk's pointers and the
// record, so that every view keeps what it saw while the writer goes on. The writer's thread alone
// changes the table (under the controller's lock); views are read from any thread, without it.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace gwang::controller {

template <typename T>
class CowTable {
  static constexpr std::size_t kChunk = 256;
  struct Chunk {
    std::array<std::shared_ptr<T>, kChunk> slots;
  };
  using Chunks = std::vector<std::shared_ptr<Chunk>>;

 public:
  // What a view holds: the records as they were when it was made. Read-only, from any thread.
  class Frozen {
   public:
    Frozen() = default;
    const T* find(std::int64_t id) const { return CowTable::lookup(chunks_, id); }
    std::size_t size() const { return size_; }
    // `visit(id, record)` for each record by id, oldest first or newest first; it returns false to
    // stop.
    template <typename Visit>
    void scan(bool newest_first, Visit&& visit) const {
      CowTable::walk(chunks_, newest_first, visit);
    }

   private:
    friend class CowTable;
    Frozen(Chunks chunks, std::size_t size) : chunks_(std::move(chunks)), size_(size) {}
    Chunks chunks_;
    std::size_t size_ = 0;
  };

  const T* find(std::int64_t id) const { return lookup(chunks_, id); }
  bool contains(std::int64_t id) const { return find(id) != nullptr; }
  std::size_t size() const { return size_; }
  // Whether anything changed since the last freeze().
  bool changed() const { return changed_; }

  // The record to change, copied first where a view shares it; nullptr where there is none.
  T* edit(std::int64_t id) {
    if (!lookup(chunks_, id)) return nullptr;
    std::shared_ptr<T>& slot = own_slot(id);
    if (!alone(slot)) slot = std::make_shared<T>(*slot);
    changed_ = true;
    touched_.push_back(id);
    return slot.get();
  }
  // Puts a record at `id` (replacing one there); returns it.
  T& put(std::int64_t id, T value) { return adopt(id, std::make_shared<T>(std::move(value))); }
  // The same with a record made elsewhere (on another thread, say), that nothing else holds.
  T& adopt(std::int64_t id, std::shared_ptr<T> record) {
    assert(id >= 1 && record && record.use_count() == 1);
    const auto c = static_cast<std::size_t>(id - 1) / kChunk;
    if (c >= chunks_.size()) chunks_.resize(c + 1);
    if (!chunks_[c]) chunks_[c] = std::make_shared<Chunk>();
    std::shared_ptr<T>& slot = own_slot(id);
    if (!slot) ++size_;
    slot = std::move(record);
    changed_ = true;
    touched_.push_back(id);
    return *slot;
  }
  void clear() {
    chunks_.clear();
    size_ = 0;
    changed_ = true;
  }

  template <typename Visit>
  void scan(bool newest_first, Visit&& visit) const {
    walk(chunks_, newest_first, visit);
  }
  // `visit(id, record&)` for each record, each copied first where a view shares it.
  template <typename Visit>
  void edit_each(Visit&& visit) {
    std::vector<std::int64_t> ids;
    ids.reserve(size_);
    scan(false, [&](std::int64_t id, const T&) {
      ids.push_back(id);
      return true;
    });
    for (std::int64_t id : ids) visit(id, *edit(id));
  }

  // The ids edited or put since the last call (some more than once).
  std::vector<std::int64_t> take_touched() { return std::exchange(touched_, {}); }

  Frozen freeze() {
    changed_ = false;
    return share();
  }
  // A view of the records now that does not count as published (changed() stays as it was).
  Frozen share() const { return Frozen(chunks_, size_); }

 private:
  // Whether nothing but this table holds `p`. A view lets go of a chunk or a record on its own
  // thread; the fence orders what that thread read of it before what this one writes.
  template <typename P>
  static bool alone(const std::shared_ptr<P>& p) {
    if (p.use_count() != 1) return false;
    std::atomic_thread_fence(std::memory_order_acquire);
    return true;
  }
  // The slot of `id` in a chunk of this table's own (copied first if a view shares it).
  std::shared_ptr<T>& own_slot(std::int64_t id) {
    std::shared_ptr<Chunk>& chunk = chunks_[static_cast<std::size_t>(id - 1) / kChunk];
    if (!alone(chunk)) chunk = std::make_shared<Chunk>(*chunk);
    return chunk->slots[static_cast<std::size_t>(id - 1) % kChunk];
  }
  static const T* lookup(const Chunks& chunks, std::int64_t id) {
    if (id < 1) return nullptr;
    const auto c = static_cast<std::size_t>(id - 1) / kChunk;
    if (c >= chunks.size() || !chunks[c]) return nullptr;
    return chunks[c]->slots[static_cast<std::size_t>(id - 1) % kChunk].get();
  }
  template <typename Visit>
  static void walk(const Chunks& chunks, bool newest_first, Visit& visit) {
    const std::size_t n = chunks.size();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t c = newest_first ? n - 1 - k : k;
      if (!chunks[c]) continue;
      for (std::size_t s = 0; s < kChunk; ++s) {
        const std::size_t i = newest_first ? kChunk - 1 - s : s;
        const T* record = chunks[c]->slots[i].get();
        if (record && !visit(static_cast<std::int64_t>(c * kChunk + i + 1), *record)) return;
      }
    }
  }

  Chunks chunks_;
  std::size_t size_ = 0;
  bool changed_ = false;
  std::vector<std::int64_t> touched_;
};

// The same for small values kept in the chunks themselves (no record of their own): a change after
// a view copies its chunk, values and all.
template <typename T>
class CowValues {
  static constexpr std::size_t kChunk = 256;
  struct Chunk {
    std::array<T, kChunk> values{};
    std::array<bool, kChunk> present{};
  };
  using Chunks = std::vector<std::shared_ptr<Chunk>>;

 public:
  class Frozen {
   public:
    Frozen() = default;
    const T* find(std::int64_t id) const { return CowValues::lookup(chunks_, id); }

   private:
    friend class CowValues;
    explicit Frozen(Chunks chunks) : chunks_(std::move(chunks)) {}
    Chunks chunks_;
  };

  const T* find(std::int64_t id) const { return lookup(chunks_, id); }
  bool changed() const { return changed_; }
  void put(std::int64_t id, const T& value) {
    assert(id >= 1);
    const auto c = static_cast<std::size_t>(id - 1) / kChunk;
    if (c >= chunks_.size()) chunks_.resize(c + 1);
    std::shared_ptr<Chunk>& chunk = chunks_[c];
    if (!chunk) {
      chunk = std::make_shared<Chunk>();
    } else if (chunk.use_count() != 1) {
      chunk = std::make_shared<Chunk>(*chunk);
    } else {
      std::atomic_thread_fence(std::memory_order_acquire);  // as CowTable::alone
    }
    const auto i = static_cast<std::size_t>(id - 1) % kChunk;
    chunk->values[i] = value;
    chunk->present[i] = true;
    changed_ = true;
  }
  Frozen freeze() {
    changed_ = false;
    return Frozen(chunks_);
  }

 private:
  static const T* lookup(const Chunks& chunks, std::int64_t id) {
    if (id < 1) return nullptr;
    const auto c = static_cast<std::size_t>(id - 1) / kChunk;
    if (c >= chunks.size() || !chunks[c]) return nullptr;
    const auto i = static_cast<std::size_t>(id - 1) % kChunk;
    return chunks[c]->present[i] ? &chunks[c]->values[i] : nullptr;
  }

  Chunks chunks_;
  bool changed_ = false;
};

}  // namespace gwang::controller
