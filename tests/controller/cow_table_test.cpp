// The copy-on-write table behind the controller's views: a view keeps what it saw while the
// writer goes on, across chunks, and readers on other threads see whole changes only.
#include "controller/cow_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gwang::controller {
namespace {

std::vector<std::int64_t> ids_of(const CowTable<std::string>::Frozen& f, bool newest_first) {
  std::vector<std::int64_t> out;
  f.scan(newest_first, [&](std::int64_t id, const std::string&) {
    out.push_back(id);
    return true;
  });
  return out;
}

TEST(CowTable, PutFindScanAndSize) {
  CowTable<std::string> t;
  EXPECT_EQ(t.find(1), nullptr);
  EXPECT_EQ(t.find(0), nullptr);
  EXPECT_EQ(t.find(-5), nullptr);
  t.put(1, "a");
  t.put(300, "b");  // another chunk
  t.put(2, "c");
  t.put(2, "c2");  // replaced, not counted twice
  EXPECT_EQ(t.size(), 3u);
  EXPECT_TRUE(t.contains(300));
  EXPECT_FALSE(t.contains(299));
  EXPECT_EQ(*t.find(2), "c2");
  const auto f = t.freeze();
  EXPECT_EQ(ids_of(f, false), (std::vector<std::int64_t>{1, 2, 300}));
  EXPECT_EQ(ids_of(f, true), (std::vector<std::int64_t>{300, 2, 1}));
  int seen = 0;
  f.scan(false, [&](std::int64_t, const std::string&) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);  // stopped when asked
  EXPECT_EQ(f.find(1000000), nullptr);
}

TEST(CowTable, AViewKeepsWhatItSaw) {
  CowTable<std::string> t;
  for (std::int64_t id = 1; id <= 600; ++id) t.put(id, "v1");
  EXPECT_TRUE(t.changed());
  const auto before = t.freeze();
  EXPECT_FALSE(t.changed());
  *t.edit(5) = "v2";                 // its chunk and record copied
  *t.edit(6) = "v2";                 // the chunk is this table's own now: the record alone
  t.put(601, "new");                 // a new record in the last chunk
  t.put(257, "replaced");            // a record of another chunk, replaced
  EXPECT_EQ(t.edit(9999), nullptr);  // none there
  EXPECT_TRUE(t.changed());
  EXPECT_EQ(*before.find(5), "v1");
  EXPECT_EQ(*before.find(6), "v1");
  EXPECT_EQ(*before.find(257), "v1");
  EXPECT_EQ(before.find(601), nullptr);
  EXPECT_EQ(before.size(), 600u);
  const auto after = t.freeze();
  EXPECT_EQ(*after.find(5), "v2");
  EXPECT_EQ(*after.find(257), "replaced");
  EXPECT_EQ(*after.find(601), "new");
  EXPECT_EQ(after.size(), 601u);
  // Records nobody changed are shared, not copied.
  EXPECT_EQ(before.find(7), after.find(7));
  EXPECT_NE(before.find(5), after.find(5));
  // A record no view shares is changed in place.
  const std::string* own = t.edit(5);
  EXPECT_EQ(t.edit(5), own);
}

TEST(CowTable, TouchedAndEditEach) {
  CowTable<int> t;
  for (std::int64_t id = 1; id <= 3; ++id) t.put(id, 0);
  EXPECT_EQ(t.take_touched(), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_TRUE(t.take_touched().empty());
  const auto view = t.freeze();
  t.edit_each([](std::int64_t id, int& v) { v = static_cast<int>(id) * 10; });
  EXPECT_EQ(*t.find(3), 30);
  EXPECT_EQ(*view.find(3), 0);
  EXPECT_EQ(t.take_touched().size(), 3u);
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find(1), nullptr);
  EXPECT_EQ(*view.find(1), 0);
}

TEST(CowValues, AViewKeepsWhatItSaw) {
  CowValues<int> t;
  EXPECT_EQ(t.find(1), nullptr);
  t.put(1, 10);
  t.put(700, 70);
  EXPECT_TRUE(t.changed());
  const auto before = t.freeze();
  EXPECT_FALSE(t.changed());
  t.put(1, 11);
  t.put(2, 20);
  EXPECT_EQ(*before.find(1), 10);
  EXPECT_EQ(before.find(2), nullptr);
  EXPECT_EQ(*before.find(700), 70);
  const auto after = t.freeze();
  EXPECT_EQ(*after.find(1), 11);
  EXPECT_EQ(*after.find(2), 20);
  EXPECT_EQ(after.find(3), nullptr);
  EXPECT_EQ(after.find(0), nullptr);
  EXPECT_EQ(after.find(1 << 20), nullptr);
}

// One writer changes every record in each of its changes and publishes after each; readers on
// other threads take the published view and find every record of it at the same version.
TEST(CowTable, ReadersOnOtherThreadsSeeWholeChanges) {
  constexpr std::int64_t kRecords = 1000;
  constexpr int kChanges = 300;
  CowTable<std::int64_t> t;
  for (std::int64_t id = 1; id <= kRecords; ++id) t.put(id, 0);
  std::mutex mu;
  auto published = std::make_shared<const CowTable<std::int64_t>::Frozen>(t.freeze());
  std::atomic<bool> done{false};
  std::atomic<long> views{0}, torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      while (!done) {
        std::shared_ptr<const CowTable<std::int64_t>::Frozen> v;
        {
          std::lock_guard lock(mu);
          v = published;
        }
        std::int64_t first = -1, count = 0;
        v->scan(r % 2 == 1, [&](std::int64_t, const std::int64_t& version) {
          if (first < 0) first = version;
          if (version != first) ++torn;
          ++count;
          return true;
        });
        if (count != kRecords) ++torn;
        ++views;
      }
    });
  }
  for (int change = 1; change <= kChanges; ++change) {
    for (std::int64_t id = 1; id <= kRecords; ++id) *t.edit(id) = change;
    auto next = std::make_shared<const CowTable<std::int64_t>::Frozen>(t.freeze());
    std::lock_guard lock(mu);
    published.swap(next);
  }
  done = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(views.load(), 0);
  EXPECT_EQ(*t.find(kRecords), kChanges);
}

}  // namespace
}  // namespace gwang::controller
