// Signal names and --signal's specification, as Slurm 22.05 reads them.
#include "slurm/signals.h"

#include <gtest/gtest.h>

#include <csignal>

namespace gwang::slurm {
namespace {

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(signal_number("USR1"), SIGUSR1);
  EXPECT_EQ(signal_number("sigusr2"), SIGUSR2);
  EXPECT_EQ(signal_number("SIGTERM"), SIGTERM);
  EXPECT_EQ(signal_number(" 10 "), 10);
  EXPECT_EQ(signal_number("xcpu"), SIGXCPU);
  for (const char* bad : {"", "USR3", "SIG", "10x", "0", "65536", "-1", "SIGSIGUSR1"}) {
    EXPECT_FALSE(signal_number(bad)) << bad;
  }
  EXPECT_EQ(signal_name(SIGUSR1), "USR1");
  EXPECT_EQ(signal_name(40), "40");
}

TEST(Signals, SpecsAsSlurmReadsThem) {
  EXPECT_EQ(*parse_signal_spec("USR1", true), (SignalSpec{SIGUSR1, 60, false, false}));
  EXPECT_EQ(*parse_signal_spec("SIGUSR1@90", true), (SignalSpec{SIGUSR1, 90, false, false}));
  EXPECT_EQ(*parse_signal_spec("B:USR2@5", true), (SignalSpec{SIGUSR2, 5, true, false}));
  EXPECT_EQ(*parse_signal_spec("BR:10@0", true), (SignalSpec{10, 0, true, true}));
  EXPECT_EQ(*parse_signal_spec("RB:10", true), (SignalSpec{10, 60, true, true}));
  EXPECT_EQ(*parse_signal_spec("R:HUP@30", false), (SignalSpec{SIGHUP, 30, false, true}));
  EXPECT_EQ(format_signal_spec(*parse_signal_spec("b:usr1@90", true)), "B:10@90");
  EXPECT_EQ(format_signal_spec(*parse_signal_spec("15", true)), "15@60");
  // srun has no B:; times are 0 to 65535 whole seconds.
  for (const auto& [text, batch] : std::vector<std::pair<const char*, bool>>{{"B:USR1", false},
                                                                             {"USR1@", true},
                                                                             {"USR1@-1", true},
                                                                             {"USR1@65536", true},
                                                                             {"USR1@1m", true},
                                                                             {"FOO", true},
                                                                             {"", true},
                                                                             {"B:", true}}) {
    auto got = parse_signal_spec(text, batch);
    ASSERT_FALSE(got) << text;
    EXPECT_EQ(got.error().message, "Invalid --signal specification");
  }
}

}  // namespace
}  // namespace gwang::slurm
