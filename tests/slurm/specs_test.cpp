// The languages inside sbatch's options, against the forms sbatch(1) of Slurm 22.05 gives.
#include "slurm/specs.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

std::string error_of(const auto& r) { return r ? std::string("accepted") : r.error().message; }

TEST(TimeLimit, EverySlurmFormRoundsUpToMinutes) {
  auto minutes = [](const char* t) {
    auto r = parse_time_limit(t);
    return r ? (r->unlimited ? -1 : r->minutes) : -2;
  };
  EXPECT_EQ(minutes("90"), 90);     // minutes
  EXPECT_EQ(minutes("10:30"), 11);  // minutes:seconds, rounded up
  EXPECT_EQ(minutes("0:30"), 1);
  EXPECT_EQ(minutes("2:00:00"), 120);  // hours:minutes:seconds
  EXPECT_EQ(minutes("1:00:01"), 61);
  EXPECT_EQ(minutes("1-0"), 1440);  // days-hours
  EXPECT_EQ(minutes("1-2"), 1560);
  EXPECT_EQ(minutes("1-2:30"), 1590);      // days-hours:minutes
  EXPECT_EQ(minutes("2-00:00:30"), 2881);  // days-hours:minutes:seconds
  EXPECT_EQ(minutes("1:99:00"), 159);      // Slurm takes fields past 59
  EXPECT_EQ(minutes("0"), -1);             // no limit
  EXPECT_EQ(minutes("-1"), -1);
  EXPECT_EQ(minutes("UNLIMITED"), -1);
  EXPECT_EQ(minutes("infinite"), -1);
  for (const char* bad :
       {"2h", "1:2:3:4", "", " 5", "5 ", "1-", "-5", "a", "1:", "1-2:3:4:5", "5-1663436334", "1000001-0"}) {
    EXPECT_EQ(minutes(bad), -2) << bad;
  }
  EXPECT_EQ(error_of(parse_time_limit("2h")),
            "invalid time limit '2h': expected minutes, minutes:seconds, hours:minutes:seconds, days-hours, "
            "days-hours:minutes, days-hours:minutes:seconds, or UNLIMITED");
  EXPECT_EQ(format_time_limit({false, 90}), "01:30:00");
  EXPECT_EQ(format_time_limit({false, 1590}), "1-02:30:00");
  EXPECT_EQ(format_time_limit({true, 0}), "UNLIMITED");
}

TEST(ArraySpec, RangesStepsListsAndLimits) {
  auto a = parse_array("0-15:4%2");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->indices, (std::vector<std::int64_t>{0, 4, 8, 12}));
  EXPECT_EQ(a->max_running, 2);
  auto b = parse_array("0,6,16-18,6");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->indices, (std::vector<std::int64_t>{0, 6, 16, 17, 18}));
  EXPECT_FALSE(b->max_running);
  EXPECT_EQ(format_array(*a), "0-12:4%2");
  EXPECT_EQ(format_array(*b), "0,6,16-18");
  EXPECT_EQ(format_array({{1, 3, 5, 7, 8}, std::nullopt}), "1-7:2,8");
  EXPECT_EQ(parse_array("1000")->indices.size(), 1u);
  EXPECT_EQ(error_of(parse_array("1-1001")),
            "invalid job array specification '1-1001': index 1001 is above the largest allowed, 1000");
  EXPECT_TRUE(parse_array("1-5000", 10001));
  EXPECT_EQ(error_of(parse_array("5-1")), "invalid job array specification '5-1': range '5-1' ends before it starts");
  EXPECT_EQ(error_of(parse_array("1-4%0")),
            "invalid job array specification '1-4%0': the limit after '%' must be a positive number");
  EXPECT_EQ(error_of(parse_array("0-8:0")),
            "invalid job array specification '0-8:0': the step after ':' must be a positive number");
  for (const char* bad : {"", "a", "1,,2", "-1", "1-", "%4", "1-2%", "1:2:3"}) EXPECT_FALSE(parse_array(bad)) << bad;
}

TEST(DependencySpec, TypesSeparatorsTasksAndDelays) {
  auto d = parse_dependency("afterok:20:21,afterany:23");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_FALSE(d->any);
  ASSERT_EQ(d->all.size(), 2u);
  EXPECT_EQ(d->all[0].kind, Dependency::Kind::AfterOk);
  EXPECT_EQ(d->all[0].targets, (std::vector<Dependency::Target>{{20, {}, 0}, {21, {}, 0}}));
  EXPECT_EQ(d->all[1].kind, Dependency::Kind::AfterAny);
  auto any = parse_dependency("afterok:20?afternotok:21_3");
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->any);
  EXPECT_EQ(any->all[1].targets[0].task, 3);
  auto after = parse_dependency("after:5+10:6");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->all[0].targets, (std::vector<Dependency::Target>{{5, {}, 10}, {6, {}, 0}}));
  auto bare = parse_dependency("42");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->all[0].kind, Dependency::Kind::AfterAny);
  EXPECT_EQ(bare->all[0].targets[0].job, 42);
  auto single = parse_dependency("singleton");
  ASSERT_TRUE(single);
  EXPECT_EQ(single->all[0].kind, Dependency::Kind::Singleton);
  EXPECT_EQ(format_dependency(*d), "afterok:20:21,afterany:23");
  EXPECT_EQ(format_dependency(*any), "afterok:20?afternotok:21_3");
  EXPECT_EQ(error_of(parse_dependency("afterok:1,afterany:2?afterok:3")),
            "invalid dependency 'afterok:1,afterany:2?afterok:3': use either ',' (all must hold) or '?' (any is "
            "enough), not both");
  EXPECT_EQ(
      error_of(parse_dependency("foo:1")),
      "invalid dependency 'foo:1': unknown type 'foo' (after, afterany, afterok, afternotok, aftercorr or singleton)");
  EXPECT_EQ(error_of(parse_dependency("afterok")),
            "invalid dependency 'afterok': afterok needs at least one job id (afterok:JOBID)");
  EXPECT_EQ(error_of(parse_dependency("afterok:x")),
            "invalid dependency 'afterok:x': job id 'x' is not a positive number");
  EXPECT_EQ(error_of(parse_dependency("afterok:1+5")),
            "invalid dependency 'afterok:1+5': only 'after' takes a delay (+minutes)");
  EXPECT_FALSE(parse_dependency("singleton:4"));
  EXPECT_FALSE(parse_dependency(""));
  EXPECT_FALSE(parse_dependency("afterok:1,"));
  EXPECT_FALSE(parse_dependency("afterburstbuffer:1"));
}

TEST(Devices, GresAndGpuCounts) {
  auto g = parse_gres("gpu:a100:2,gpu,npu:4,gpu:h100");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(*g, (std::vector<DeviceCount>{{"gpu", "a100", 2}, {"gpu", "", 1}, {"npu", "", 4}, {"gpu", "h100", 1}}));
  EXPECT_EQ(parse_gres("gres/gpu:2")->front(), (DeviceCount{"gpu", "", 2}));
  EXPECT_EQ(error_of(parse_gres("gpu:a:b:c")),
            "invalid generic resource (gres) specification 'gpu:a:b:c': expected name[[:type]:count]");
  EXPECT_FALSE(parse_gres("gpu:a100:x"));
  EXPECT_FALSE(parse_gres(""));
  auto n = parse_gpu_counts("volta:3,kepler:1");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, (std::vector<DeviceCount>{{"gpu", "volta", 3}, {"gpu", "kepler", 1}}));
  EXPECT_EQ(parse_gpu_counts("4")->front(), (DeviceCount{"gpu", "", 4}));
  EXPECT_FALSE(parse_gpu_counts("a:b:1"));
  EXPECT_FALSE(parse_gpu_counts("x"));
}

TEST(Counts, NodesTasksAndMemory) {
  EXPECT_EQ(parse_node_range("4")->min, 4);
  EXPECT_EQ(parse_node_range("2-8")->max, 8);
  EXPECT_EQ(parse_node_range("1k")->min, 1024);
  EXPECT_EQ(error_of(parse_node_range("2-1")), "maximum node count 1 is less than minimum node count 2");
  EXPECT_FALSE(parse_node_range("0"));
  EXPECT_FALSE(parse_node_range("x"));
  EXPECT_EQ(*parse_count("8", "--ntasks"), 8);
  EXPECT_EQ(error_of(parse_count("0", "--ntasks")), "invalid numeric value \"0\" for --ntasks: expected 1 to 1048576");
  EXPECT_EQ(*parse_slurm_memory("16G"), 16LL << 30);
  EXPECT_EQ(*parse_slurm_memory("16gb"), 16LL << 30);
  EXPECT_EQ(*parse_slurm_memory("1024"), 1LL << 30);  // MiB
  EXPECT_EQ(*parse_slurm_memory("1k"), 1024);
  EXPECT_EQ(*parse_slurm_memory("0"), 0);  // the node's whole memory
  for (const char* bad : {"16GiB", "1.5G", "1P", "-1", "", "G"}) EXPECT_FALSE(parse_slurm_memory(bad)) << bad;
}

TEST(BeginTime, FormsOfSbatchBegin) {
  const Clock clock = utc_clock(1795791600);  // 2026-11-27 15:00:00 UTC, a Friday
  auto at = [&](const char* t) {
    auto r = parse_begin(t, clock);
    return r ? *r : -1;
  };
  EXPECT_EQ(at("16:00"), 1795795200);  // later today
  EXPECT_EQ(at("4:00pm"), 1795795200);
  EXPECT_EQ(at("4:00 PM"), 1795795200);
  EXPECT_EQ(at("teatime"), 1795795200);
  EXPECT_EQ(at("09:00"), 1795856400);  // already past: tomorrow
  EXPECT_EQ(at("noon"), 1795867200);   // past: tomorrow's
  EXPECT_EQ(at("midnight"), 1795824000);
  EXPECT_EQ(at("today"), 1795780800 - 12 * 3600);  // today, 00:00
  EXPECT_EQ(at("tomorrow"), 1795824000);
  EXPECT_EQ(at("now"), 1795791600);
  EXPECT_EQ(at("now+60"), 1795791660);  // seconds by default
  EXPECT_EQ(at("now+1hour"), 1795795200);
  EXPECT_EQ(at("now + 1 hour"), 1795795200);
  EXPECT_EQ(at("now+2days"), 1795791600 + 2 * 86400);
  EXPECT_EQ(at("120126"), 1796083200);  // MMDDYY
  EXPECT_EQ(at("12/01/26"), 1796083200);
  EXPECT_EQ(at("12.01"), 1796083200);  // this year
  EXPECT_EQ(at("11/20"), 1826668800);  // past this year: next year's
  EXPECT_EQ(at("2027-03-01"), 1803859200);
  EXPECT_EQ(at("2027-01-15T10:30:05"), 1800009005);
  EXPECT_EQ(at("2026-11-28 10:00"), 1795860000);
  EXPECT_EQ(at("tomorrow 10:00"), 1795860000);
  EXPECT_EQ(at("10:00 tomorrow"), 1795860000);
  for (const char* bad : {"4pm", "bogus", "now+1min", "now+", "13:00pm", "16:00:60", "9:5", "2026-2-3", "11/30/1",
                          "2026-11-28T25:00", "2026-13-01", "2026-02-30", "1795900000", ""}) {
    EXPECT_EQ(at(bad), -1) << bad;
  }
  EXPECT_EQ(error_of(parse_begin("now+1min", clock)),
            "invalid begin time 'now+1min': unknown unit 'min' (seconds, minutes, hours, days or weeks)");
}

TEST(ExportSpec, AllNoneAndLists) {
  EXPECT_TRUE(parse_export("ALL")->all);
  auto none = parse_export("NONE");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->all);
  EXPECT_TRUE(none->vars.empty());
  auto list = parse_export("EDITOR,ARG1=test");
  ASSERT_TRUE(list);
  EXPECT_FALSE(list->all);
  ASSERT_EQ(list->vars.size(), 2u);
  EXPECT_EQ(list->vars[0].first, "EDITOR");
  EXPECT_FALSE(list->vars[0].second);
  EXPECT_EQ(list->vars[1].second, "test");
  EXPECT_TRUE(parse_export("ALL,EDITOR=/bin/emacs")->all);
  EXPECT_EQ(error_of(parse_export("NONE,A=1")), "invalid --export 'NONE,A=1': NONE takes no other names");
  EXPECT_EQ(error_of(parse_export("1A=2")), "invalid --export '1A=2': '1A=2' is not a variable name");
}

TEST(FilePattern, ReplacementsAndPadding) {
  PatternContext c;
  c.job_id = 128;
  c.array_job_id = 120;
  c.array_task = 7;
  c.node = "gpu01";
  c.user = "kim";
  c.job_name = "train";
  EXPECT_EQ(expand_pattern("job%J.out", c), "job128.batch.out");
  EXPECT_EQ(expand_pattern("job%4j.out", c), "job0128.out");
  EXPECT_EQ(expand_pattern("slurm-%A_%a.out", c), "slurm-120_7.out");
  EXPECT_EQ(expand_pattern("%x-%u-%N-%n-%t-%s-%%", c), "train-kim-gpu01-0-0-batch-%");
  EXPECT_EQ(expand_pattern("%3t-%5N", c), "000-gpu01");  // a width does not pad names
  EXPECT_EQ(expand_pattern("a\\%j", c), "a%j");          // a backslash turns replacements off
  EXPECT_EQ(expand_pattern("%q%", c), "%q%");
  c.array_task.reset();
  EXPECT_EQ(expand_pattern("%a", c), "4294967294");
}

}  // namespace
}  // namespace gwang::slurm
