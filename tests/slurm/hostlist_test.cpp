// Host lists against what Slurm 22.05's scontrol prints for the same input (show hostlist,
// hostnames, hostlistsorted); tests/slurm/side_by_side.sh compares many more with a live Slurm.
#include "slurm/hostlist.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

std::string compressed(const std::string& text) {
  auto h = HostList::parse(text);
  return h ? h->str() : "error: " + h.error().message;
}
std::string sorted(const std::string& text) {
  auto h = HostList::parse(text);
  if (!h) return "error: " + h.error().message;
  h->sort();
  return h->str();
}

TEST(HostList, CompressesAsSlurmDoes) {
  EXPECT_EQ(compressed("node9,node10,node11,n1"), "node[9-11],n1");
  EXPECT_EQ(compressed("a[1-3],a4"), "a[1-4]");
  EXPECT_EQ(compressed("a1,a[2-3]"), "a[1-3]");
  EXPECT_EQ(compressed("a[01-3]"), "a[01-03]");  // the width is the low number's
  EXPECT_EQ(compressed("a[1-003]"), "a[1-3]");
  EXPECT_EQ(compressed("a9,a010"), "a[9,010]");
  EXPECT_EQ(compressed("a09,a10"), "a[09-10]");
  EXPECT_EQ(compressed("a009,a10"), "a[009,10]");
  EXPECT_EQ(compressed("x y,z"), "x,y,z");
  EXPECT_EQ(compressed(" a1 "), "a1");
  EXPECT_EQ(compressed("a1,,a2"), "a[1-2]");
  EXPECT_EQ(compressed("a-1"), "a-1");
  EXPECT_EQ(compressed("a-[1-2]"), "a-[1-2]");
  EXPECT_EQ(compressed("1,2,3"), "[1-3]");
  EXPECT_EQ(compressed("a[1-2],[3-4]"), "a[1-2],[3-4]");
  EXPECT_EQ(compressed("a1-2"), "a1-2");
  EXPECT_EQ(compressed("a[1-2] ,a3"), "a[1-3]");
  EXPECT_EQ(compressed("a[1-3],a2"), "a[1-3,2]");  // not sorted, not made unique
  EXPECT_EQ(compressed("a1,b1,a2"), "a1,b1,a2");
  EXPECT_EQ(compressed("a[1-3],a[4-5],a7"), "a[1-5,7]");
  EXPECT_EQ(compressed("a[5-6],a[1-3]"), "a[5-6,1-3]");
  EXPECT_EQ(compressed("a,a"), "a,a");
  EXPECT_EQ(compressed("a[1-2],a"), "a[1-2],a");
  EXPECT_EQ(compressed("a[0-65535]"), "a[0-65535]");
  EXPECT_EQ(compressed(""), "");
  // A prefix that ends in a digit stays the prefix of its brackets, and is a number once printed.
  EXPECT_EQ(compressed("a1[2-3]"), "a1[2-3]");
  EXPECT_EQ(compressed("a4,a1[0]"), "a4,a10");
  EXPECT_EQ(compressed("a4,a10"), "a[4,10]");
}

TEST(HostList, ExpandsWithTheirWidths) {
  auto h = HostList::parse("node[01-03,7],x");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->expand(), (std::vector<std::string>{"node01", "node02", "node03", "node7", "x"}));
  EXPECT_EQ(h->size(), 5u);
  auto wide = HostList::parse("gpu[98-101]");
  ASSERT_TRUE(wide);
  EXPECT_EQ(wide->expand(), (std::vector<std::string>{"gpu98", "gpu99", "gpu100", "gpu101"}));
}

TEST(HostList, SortsByPrefixThenNumber) {
  EXPECT_EQ(sorted("b3,a1,a2,a0"), "a[0-2],b3");
  EXPECT_EQ(sorted("node10,node9,gpu2,node1,gpu1"), "gpu[1-2],node[1,9-10]");
  EXPECT_EQ(sorted("n,a2,n1"), "a2,n,n1");  // a name without a number sorts before its prefix's numbers
}

TEST(HostList, CompressesNamesInTheirOrder) {
  EXPECT_EQ(compress_hosts({"gpu01", "gpu02", "gpu03", "gpu07", "cpu1"}), "gpu[01-03,07],cpu1");
  EXPECT_EQ(compress_hosts({"login"}), "login");
  EXPECT_EQ(compress_hosts({}), "");
}

TEST(HostList, RefusesMalformedListsSayingWhere) {
  auto error = [](const std::string& text) {
    auto h = HostList::parse(text);
    return h ? std::string("accepted: ") + h->str() : h.error().message;
  };
  EXPECT_EQ(error("a[3-1]"), "backward range '3-1' in 'a[3-1]' (at character 1)");
  EXPECT_EQ(error("b,a[]"), "empty range in 'a[]' (at character 3)");
  EXPECT_EQ(error("a[,1]"), "empty range in 'a[,1]' (at character 1)");
  EXPECT_EQ(error("a[-1]"), "empty range in 'a[-1]' (at character 1)");
  EXPECT_EQ(error("a[1-]"), "empty range in 'a[1-]' (at character 1)");
  EXPECT_EQ(error("a[b]"), "bad range 'b' in 'a[b]' (at character 1)");
  EXPECT_EQ(error("a[1-3"), "no ']' closes the '[' of 'a[1-3' (at character 1)");
  EXPECT_EQ(error("a[1-3]],b"), "']' without '[' in 'a[1-3]' (at character 1)");
  EXPECT_EQ(error("node[1-3]-ib"), "text after ']' in 'node[1-3]-ib' (at character 1)");
  EXPECT_EQ(error("x[1-3]y"), "text after ']' in 'x[1-3]y' (at character 1)");  // Slurm: invalid too
  EXPECT_EQ(error("a[1]b[2]c"), "text after the second ']' in 'a[1]b[2]c' (at character 1)");
  EXPECT_EQ(error("a[1]b[2]c[3]"),
            "more than two brackets in 'a[1]b[2]c[3]' (at character 1) (gwang takes one or two)");
  EXPECT_EQ(error("a[0-65536]"), "too many names in range '0-65536' of 'a[0-65536]' (at character 1): at most 65536");
  EXPECT_EQ(error("a[1-9999999999999999999]"), "number too large in 'a[1-9999999999999999999]' (at character 1)");
  auto many = HostList::parse("a[1-60000],b[1-60000]", 100000);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().message, "more than 100000 names");
}

// Two brackets in one name: every name of the first with every one of the second, the first the
// outer loop. Expected values are scontrol's (Slurm 22.05) for the same lists.
TEST(HostList, TwoBracketsInOneName) {
  struct Case {
    const char* text;
    const char* names;
    const char* compressed;
  };
  for (const Case& c : {Case{"x[1-3]y[1-2]", "x1y1,x1y2,x2y1,x2y2,x3y1,x3y2", "x1y[1-2],x2y[1-2],x3y[1-2]"},
                        Case{"rack[1-2]-n[01-03]", "rack1-n01,rack1-n02,rack1-n03,rack2-n01,rack2-n02,rack2-n03",
                             "rack1-n[01-03],rack2-n[01-03]"},
                        Case{"a[1-2][3-4]", "a13,a14,a23,a24", "a1[3-4],a2[3-4]"},
                        Case{"a[9-10]b[1-2]", "a9b1,a9b2,a10b1,a10b2", "a9b[1-2],a10b[1-2]"},
                        Case{"x[1,3]y[2,4],z[1-2]", "x1y2,x1y4,x3y2,x3y4,z1,z2", "x1y[2,4],x3y[2,4],z[1-2]"}}) {
    auto h = HostList::parse(c.text);
    ASSERT_TRUE(h) << c.text << ": " << h.error().message;
    std::string names;
    for (const std::string& n : h->expand()) names += (names.empty() ? "" : ",") + n;
    EXPECT_EQ(names, c.names) << c.text;
    EXPECT_EQ(h->str(), c.compressed) << c.text;
  }
  auto many = HostList::parse("a[1-400]b[1-400]", 100000);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().message, "more than 100000 names");
}

}  // namespace
}  // namespace gwang::slurm
