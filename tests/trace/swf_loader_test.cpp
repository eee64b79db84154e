// Tests of the SWF loaders (trace/swf_loader.h) on hand-made fixtures.
//
// tests/trace/data/loaders.swf (header MaxProcs 8) holds one record per rule; the expected jobs
// below were worked out by hand from the rules, line by line.
#include "trace/swf_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace gwang::trace {

bool operator==(const SwfJob& a, const SwfJob& b) {
  return a.id == b.id && a.submit == b.submit && a.run == b.run && a.procs == b.procs &&
         a.requested_time == b.requested_time && a.line == b.line;
}
void PrintTo(const SwfJob& j, std::ostream* os) {
  *os << "{id " << j.id << ", submit " << j.submit << ", run " << j.run << ", procs " << j.procs << ", req "
      << j.requested_time << ", line " << j.line << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::fixture;

SwfWorkload load(const std::string& file, SwfLoader loader) {
  auto trace = read_swf(fixture(file));
  EXPECT_TRUE(trace) << trace.error().message;
  auto workload = load_swf(*trace, loader);
  EXPECT_TRUE(workload) << workload.error().message;
  return workload ? *workload : SwfWorkload{};
}

std::string load_error(std::string_view text, SwfLoader loader) {
  auto trace = parse_swf(text, "t.swf");
  EXPECT_TRUE(trace) << trace.error().message;
  auto workload = load_swf(*trace, loader);
  EXPECT_FALSE(workload);
  return workload ? std::string() : workload.error().message;
}

// Loader names round-trip; an unknown name is an error that lists the valid names.
TEST(SwfLoaderName, ParsesAndListsValidNames) {
  for (auto loader : {SwfLoader::Predictsim, SwfLoader::Rlscheduler, SwfLoader::None}) {
    auto parsed = parse_swf_loader(to_string(loader));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, loader);
  }
  for (std::string_view bad : {"", "pyss", "Predictsim", "none "}) {
    auto parsed = parse_swf_loader(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_THAT(parsed.error().message, HasSubstr("\"" + std::string(bad) + "\""));
    EXPECT_THAT(parsed.error().message, HasSubstr("predictsim, rlscheduler, none"));
  }
}

// Predictsim keeps 7 of 13 records, applying rules 1-4 in order, in file order.
TEST(SwfLoaderPredictsim, AppliesTheFilterRules) {
  const SwfWorkload w = load("loaders.swf", SwfLoader::Predictsim);
  EXPECT_EQ(w.machine_procs, 8);  // "MaxProcs: 8 (test machine)"
  EXPECT_EQ(w.dropped, 7u);       // ids 5 (no procs), 6 (9 > 8), 7 (run 0), 8 (run -1), 9 (req -1), 10 (submit -5), 11
  EXPECT_THAT(w.jobs, ElementsAre(SwfJob{1, 0, 100, 4, 200, 5},
                                  SwfJob{2, 10, 200, 2, 200, 6},   // run 300 cut to the 200 requested
                                  SwfJob{3, 20, 50, 3, 100, 7},    // field 5 unknown: field 8
                                  SwfJob{4, 30, 50, 5, 100, 8},    // field 8 unknown: field 5 copied
                                  SwfJob{12, 90, 30, 2, 60, 15},   // width is field 8 (2), not field 5 (1)
                                  SwfJob{3, 99, 20, 1, 30, 17}));  // a repeated id is kept, in file order
}

// RLScheduler keeps every record with a run time > 0 after -1 -> 10, sorted by id (stable).
TEST(SwfLoaderRlscheduler, AppliesJobPyRules) {
  const SwfWorkload w = load("loaders.swf", SwfLoader::Rlscheduler);
  EXPECT_EQ(w.machine_procs, 8);
  EXPECT_EQ(w.dropped, 1u);  // id 7, run time 0
  EXPECT_THAT(w.jobs, ElementsAre(SwfJob{1, 0, 100, 4, 200, 5},
                                  SwfJob{2, 10, 300, 2, 200, 6},   // no cut at the requested time
                                  SwfJob{3, 20, 50, 3, 100, 7},    // max(-1, 3)
                                  SwfJob{3, 99, 20, 1, 30, 17},    // equal ids keep file order
                                  SwfJob{4, 30, 50, 5, 100, 8},    // max(5, -1)
                                  SwfJob{5, 40, 50, -1, 100, 9},   // no processors known: kept as -1
                                  SwfJob{6, 50, 50, 9, 100, 10},   // wider than the machine: kept
                                  SwfJob{8, 70, 10, 1, 100, 12},   // run -1 becomes 10
                                  SwfJob{9, 80, 40, 2, 40, 13},    // req -1: the run time
                                  SwfJob{10, -5, 40, 2, 60, 14},   // submit time as written
                                  SwfJob{11, 95, 10, 3, -1, 16},   // req -1 takes run -1 before it becomes 10
                                  SwfJob{12, 90, 30, 2, 60, 15}));
}

// None keeps records as written, falling back from field 8 to 5 and from field 9 to the run time.
TEST(SwfLoaderNone, KeepsRecordsAsWritten) {
  const SwfWorkload w = load("loaders.swf", SwfLoader::None);
  EXPECT_EQ(w.machine_procs, 8);
  EXPECT_EQ(w.dropped, 4u);  // ids 5 (no procs), 7 (run 0), 8 and 11 (run -1)
  EXPECT_THAT(w.jobs, ElementsAre(SwfJob{1, 0, 100, 4, 200, 5},
                                  SwfJob{2, 10, 300, 2, 200, 6},
                                  SwfJob{3, 20, 50, 3, 100, 7},
                                  SwfJob{4, 30, 50, 5, 100, 8},
                                  SwfJob{6, 50, 50, 9, 100, 10},
                                  SwfJob{9, 80, 40, 2, 40, 13},
                                  SwfJob{10, -5, 40, 2, 60, 14},
                                  SwfJob{12, 90, 30, 2, 60, 15},
                                  SwfJob{3, 99, 20, 1, 30, 17}));
}

// Predictsim truncates a fractional run time (compared as written), raises (0,1) to 1 s, and sizes
// the machine from the jobs when the header has no MaxProcs or MaxNodes.
TEST(SwfLoaderPredictsim, TruncatesFractionalRunTimes) {
  const SwfWorkload w = load("floats.swf", SwfLoader::Predictsim);
  EXPECT_EQ(w.machine_procs, 4);
  EXPECT_EQ(w.dropped, 0u);
  EXPECT_THAT(w.jobs, ElementsAre(SwfJob{1, 0, 30, 2, 60, 2},      // 30.7 -> 30
                                  SwfJob{2, 5, 1, 1, 60, 4},       // 0.4 -> 1
                                  SwfJob{3, 6, 100, 4, 100, 5}));  // 100.5 > 100 requested -> 100
}

// None rounds to the nearest integer; a run time that rounds to 0 is dropped.
TEST(SwfLoaderNone, RoundsFractionalValues) {
  const SwfWorkload w = load("floats.swf", SwfLoader::None);
  EXPECT_EQ(w.machine_procs, 4);
  EXPECT_EQ(w.dropped, 1u);
  EXPECT_THAT(w.jobs, ElementsAre(SwfJob{1, 0, 31, 2, 60, 2}, SwfJob{3, 6, 101, 4, 100, 5}));
}

// RLScheduler, like job.py's int(), refuses a fractional value in a field it reads.
TEST(SwfLoaderRlscheduler, RefusesFractionalValues) {
  auto trace = read_swf(fixture("floats.swf"));
  ASSERT_TRUE(trace);
  auto w = load_swf(*trace, SwfLoader::Rlscheduler);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().message, fixture("floats.swf") +
                                   ":2: field 4 (run time): 30.7 is not an integer (the rlscheduler loader "
                                   "reads this field as an integer)");
}

// Predictsim refuses a fractional value where pyss uses int(); fields it does not read may hold any number.
TEST(SwfLoaderPredictsim, RefusesFractionalIntegerFields) {
  EXPECT_THAT(load_error("; MaxProcs: 8\n1 0 -1 10 1 -1 -1 1 60.5 -1 1 1 1 -1 -1 -1 -1 -1\n", SwfLoader::Predictsim),
              HasSubstr("t.swf:2: field 9 (requested time): 60.5 is not an integer"));
  EXPECT_THAT(load_error("; MaxProcs: 8\n1 0 -1 10 1.5 -1 -1 1 60 -1 1 1 1 -1 -1 -1 -1 -1\n", SwfLoader::Predictsim),
              HasSubstr("t.swf:2: field 5 (allocated processors): 1.5 is not an integer"));
  auto trace = parse_swf("; MaxProcs: 8\n1 0 2.5 10 1 3.25 0.5 1 60 -1 1 1 1 -1 -1 -1 -1 0.5\n", "t.swf");
  ASSERT_TRUE(trace);
  auto w = load_swf(*trace, SwfLoader::Predictsim);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->jobs.size(), 1u);
}

// A value beyond 2^53 cannot become an exact integer: an error for every loader.
TEST(SwfLoaders, RefuseHugeValues) {
  for (auto loader : {SwfLoader::Predictsim, SwfLoader::Rlscheduler, SwfLoader::None}) {
    EXPECT_THAT(load_error("1 1e300 -1 10 1 -1 -1 1 60 -1 1 1 1 -1 -1 -1 -1 -1\n", loader),
                HasSubstr("t.swf:1: field 2 (submit time): 1e+300 is out of range"));
  }
}

// MaxProcs wins over MaxNodes, MaxNodes serves when MaxProcs is absent or not positive.
TEST(SwfLoaders, MachineSizeFromHeader) {
  const std::string job = "1 0 -1 10 2 -1 -1 2 60 -1 1 1 1 -1 -1 -1 -1 -1\n";
  struct Case { std::string header; int64_t procs; };
  for (const Case& c : {Case{"; MaxNodes: 4\n; MaxProcs: 16\n", 16}, Case{"; MaxNodes: 4\n", 4},
                        Case{"; MaxProcs: -1\n; MaxNodes: 6\n", 6}, Case{"; Note: none\n", 2}}) {
    auto trace = parse_swf(c.header + job, "t.swf");
    ASSERT_TRUE(trace);
    for (auto loader : {SwfLoader::Predictsim, SwfLoader::Rlscheduler, SwfLoader::None}) {
      auto w = load_swf(*trace, loader);
      ASSERT_TRUE(w) << w.error().message;
      EXPECT_EQ(w->machine_procs, c.procs) << c.header << to_string(loader);
    }
  }
}

// With no machine size in the header and no job to size it from, loading fails; an empty trace with
// a header loads to zero jobs.
TEST(SwfLoaders, EmptyTrace) {
  for (auto loader : {SwfLoader::Predictsim, SwfLoader::Rlscheduler, SwfLoader::None}) {
    EXPECT_EQ(load_error("; Version: 2\n", loader),
              "t.swf: no MaxProcs or MaxNodes in the header and no job to size the machine from");
    auto trace = parse_swf("; MaxProcs: 8\n", "t.swf");
    ASSERT_TRUE(trace);
    auto w = load_swf(*trace, loader);
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->jobs.empty());
    EXPECT_EQ(w->machine_procs, 8);
    EXPECT_EQ(w->dropped, 0u);
  }
}

}  // namespace
}  // namespace gwang::trace
