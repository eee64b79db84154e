// Snapshots' jobs in blocks (format 26 on), read on several threads: every job comes back in order
// whatever the blocks' sizes, the format before blocks is still read, and a damaged block is an
// error that names the byte.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <numeric>

#include "controller/controller.h"
#include "controller/record_codec.h"
#include "store/journal.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;

// A job as a snapshot keeps it, ended (so that recovery does not hand it to the core).
JobRecord ended_job(std::int64_t id) {
  JobRecord j;
  j.id = id;
  j.user = "nobody";
  j.request.name = "job-" + std::to_string(id);
  j.request.command = {"echo", std::to_string(id)};
  j.request.workdir = "/tmp";
  j.request.comment = id % 7 == 0 ? "seventh" : "";
  j.state = id % 2 == 0 ? JobState::Completed : JobState::Failed;
  j.exit_code = id % 2 == 0 ? 0 : static_cast<int>(id % 100);
  j.submit = 100 + id;
  j.start = 200 + id;
  j.end = 300 + id;
  return j;
}

class SnapshotBlocks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_snapshot_blocks_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A snapshot of jobs 1..sum(blocks): in format 26, in blocks of these sizes; in format 25, one
  // after the other. `damage` changes the encoding of the jobs' part before it is finished.
  std::string snapshot(int format, const std::vector<std::size_t>& blocks,
                       const std::function<void(Encoder&, std::size_t block)>& damage = {}) {
    Encoder e;
    const std::size_t total = std::accumulate(blocks.begin(), blocks.end(), std::size_t{0});
    e.u(total + 1);  // the next id
    e.u(0);          // drained nodes
    Accounting(AccountingOptions{}).encode(e);
    e.u(total);
    std::int64_t id = 1;
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      std::size_t mark = 0;
      if (format >= 26) {
        e.u(blocks[b]);
        mark = e.mark();
      }
      for (std::size_t k = 0; k < blocks[b]; ++k) encode_job(e, ended_job(id++), nullptr, format);
      if (damage) damage(e, b);
      if (format >= 26) e.prefix_length(mark);
    }
    e.u(0);  // remote nodes
    return e.finish("gwang snapshot " + std::to_string(format) + "\n");
  }

  // A controller recovering from `state` and then `records` on `journal`.
  Result<std::unique_ptr<Controller>> open(const std::string& state, std::vector<store::Record> records = {},
                                           std::unique_ptr<store::Journal> journal = store::make_memory_journal()) {
    if (auto r = journal->restore({store::Snapshot{1, state}, std::move(records)}); !r)
      return tl::unexpected(r.error());
    ControllerOptions o;
    o.data_dir = (dir_ / "data").string();
    ControllerParts parts;
    parts.journal = std::move(journal);
    return Controller::open(std::move(o), std::move(parts), 1'700'000'000);
  }

  // Every job of 1..total is there as ended_job made it.
  void expect_jobs(const Controller& c, std::int64_t total) {
    for (std::int64_t id = 1; id <= total; ++id) {
      auto job = c.job(id);
      ASSERT_TRUE(job) << id;
      const JobRecord want = ended_job(id);
      EXPECT_EQ(job->request.name, want.request.name);
      EXPECT_EQ(job->request.command, want.request.command);
      EXPECT_EQ(job->request.comment, want.request.comment);
      EXPECT_EQ(job->state, want.state);
      EXPECT_EQ(job->exit_code, want.exit_code);
      EXPECT_EQ(job->end, want.end);
    }
    EXPECT_FALSE(c.job(total + 1));
  }

  fs::path dir_;
};

TEST_F(SnapshotBlocks, EveryJobComesBackWhateverTheBlocks) {
  for (const std::vector<std::size_t>& blocks : std::vector<std::vector<std::size_t>>{
           {}, {1}, {3}, {2048, 2048, 903}, {1, 5000, 7, 2}, {100, 100, 100, 100, 100, 100, 100, 100, 100}}) {
    const auto total = static_cast<std::int64_t>(std::accumulate(blocks.begin(), blocks.end(), std::size_t{0}));
    SCOPED_TRACE(std::to_string(blocks.size()) + " blocks, " + std::to_string(total) + " jobs");
    auto c = open(snapshot(26, blocks));
    ASSERT_TRUE(c) << c.error().message;
    expect_jobs(**c, total);
  }
}

TEST_F(SnapshotBlocks, TheFormatBeforeBlocksIsStillRead) {
  auto c = open(snapshot(25, {3000}));
  ASSERT_TRUE(c) << c.error().message;
  expect_jobs(**c, 3000);
}

// What the controller writes is read back the same, through every block.
TEST_F(SnapshotBlocks, AWrittenSnapshotIsReadBack) {
  auto journal = store::make_memory_journal();
  store::Journal* kept = journal.get();
  // A record after the snapshot, so that a new one is due.
  store::Record institution{2, 1'700'000'000, "tenancy.institution", R"({"name":"i","type":"sme","sector":"energy"})"};
  auto writer = open(snapshot(26, {1000, 3500}), {institution}, std::move(journal));
  ASSERT_TRUE(writer) << writer.error().message;
  ASSERT_TRUE((*writer)->checkpoint(1'700'000'000));
  auto loaded = kept->load();
  ASSERT_TRUE(loaded && loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->seq, 2);
  // In the latest format, which has blocks (26 on).
  const std::string& state = loaded->snapshot->state;
  ASSERT_TRUE(state.starts_with("gwang snapshot "));
  EXPECT_GE(std::stoi(state.substr(15, state.find('\n') - 15)), 26) << state.substr(0, 20);
  auto reader = open(loaded->snapshot->state);
  ASSERT_TRUE(reader) << reader.error().message;
  expect_jobs(**reader, 4500);
}

TEST_F(SnapshotBlocks, ADamagedBlockIsAnErrorNamingTheByte) {
  // A block that says it holds more jobs than there are.
  std::string more;
  {
    Encoder e;
    e.u(21);
    e.u(0);
    Accounting(AccountingOptions{}).encode(e);
    e.u(20);
    e.u(30);  // a block of 30 of 20 jobs
    const std::size_t mark = e.mark();
    for (std::int64_t id = 1; id <= 20; ++id) encode_job(e, ended_job(id), nullptr, 26);
    e.prefix_length(mark);
    e.u(0);
    more = e.finish("gwang snapshot 26\n");
  }
  auto c = open(more);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("a block of 30 jobs"), std::string::npos) << c.error().message;
  // A block with bytes after its last job.
  c = open(snapshot(26, {5, 5}, [](Encoder& e, std::size_t block) {
    if (block == 1) e.u(7);
  }));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("data after the last job of a block"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("byte "), std::string::npos) << c.error().message;
  // A block that holds fewer jobs than it says, though the next one makes the total right.
  {
    Encoder e;
    e.u(11);
    e.u(0);
    Accounting(AccountingOptions{}).encode(e);
    e.u(10);
    std::int64_t id = 1;
    for (const auto& [count, written] : {std::pair{5, 4}, std::pair{5, 6}}) {
      e.u(static_cast<std::uint64_t>(count));
      const std::size_t mark = e.mark();
      for (int k = 0; k < written; ++k) encode_job(e, ended_job(id++), nullptr, 26);
      e.prefix_length(mark);
    }
    e.u(0);
    c = open(e.finish("gwang snapshot 26\n"));
  }
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("byte "), std::string::npos) << c.error().message;
  std::string good = snapshot(26, {4, 4});
  // Every cut and every damaged byte: an error or a state, never a crash.
  for (std::size_t n = 0; n + 1 < good.size(); n += 5) EXPECT_FALSE(open(good.substr(0, n))) << n;
  for (std::size_t n = 0; n < good.size(); n += 3) {
    std::string bad = good;
    bad[n] = static_cast<char>(bad[n] ^ 0x5A);
    (void)open(bad);
  }
}

}  // namespace
}  // namespace gwang::controller
