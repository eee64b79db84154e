// Tests of the Alibaba GPU trace reader (trace/alibaba.h) on hand-made CSVs.
#include "trace/alibaba.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace gwang::trace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::fixture;

constexpr std::string_view kPodHeader =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";
constexpr std::string_view kNodeHeader = "sn,cpu_milli,memory_mib,gpu,model\n";

std::string pod_error(std::string_view row) {
  auto pods = parse_alibaba_pods(std::string(kPodHeader) + std::string(row) + "\n", "p.csv");
  EXPECT_FALSE(pods) << row;
  return pods ? std::string() : pods.error().message;
}

std::string node_error(std::string_view row) {
  auto nodes = parse_alibaba_nodes(std::string(kNodeHeader) + std::string(row) + "\n", "n.csv");
  EXPECT_FALSE(nodes) << row;
  return nodes ? std::string() : nodes.error().message;
}

// The node fixture reads field by field, with the header as line 1; a CPU-only node has no model.
TEST(AlibabaNodes, ReadsFixture) {
  auto nodes = read_alibaba_nodes(fixture("nodes.csv"));
  ASSERT_TRUE(nodes) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 3u);
  const AlibabaNode& a = (*nodes)[0];
  EXPECT_EQ(a.name, "node-a");
  EXPECT_EQ(a.cpu_milli, 64000);
  EXPECT_EQ(a.memory_mib, 262144);
  EXPECT_EQ(a.gpus, 2);
  EXPECT_EQ(a.model, "P100");
  EXPECT_EQ(a.line, 2);
  EXPECT_EQ((*nodes)[1].gpus, 0);
  EXPECT_EQ((*nodes)[1].model, "");
  EXPECT_EQ((*nodes)[2].model, "V100M32");
  EXPECT_EQ((*nodes)[2].line, 4);
}

// The pod fixture: gpu_spec split on '|', an empty scheduled_time is -1, phases and QoS as written.
TEST(AlibabaPods, ReadsFixture) {
  auto pods = read_alibaba_pods(fixture("pods.csv"));
  ASSERT_TRUE(pods) << pods.error().message;
  ASSERT_EQ(pods->size(), 4u);
  const AlibabaPod& a = (*pods)[0];
  EXPECT_EQ(a.name, "pod-a");
  EXPECT_EQ(a.cpu_milli, 12000);
  EXPECT_EQ(a.memory_mib, 16384);
  EXPECT_EQ(a.num_gpu, 1);
  EXPECT_EQ(a.gpu_milli, 1000);
  EXPECT_TRUE(a.gpu_spec.empty());
  EXPECT_EQ(a.qos, "LS");
  EXPECT_EQ(a.phase, "Running");
  EXPECT_EQ(a.creation_time, 0);
  EXPECT_EQ(a.deletion_time, 12537496);
  EXPECT_EQ(a.scheduled_time, 0);
  EXPECT_EQ(a.line, 2);
  const AlibabaPod& b = (*pods)[1];
  EXPECT_EQ(b.gpu_milli, 460);
  EXPECT_THAT(b.gpu_spec, ElementsAre("T4", "V100M16"));
  EXPECT_EQ(b.phase, "Pending");
  EXPECT_EQ(b.scheduled_time, -1);
  EXPECT_EQ((*pods)[2].num_gpu, 0);
  EXPECT_EQ((*pods)[2].gpu_milli, 0);
  EXPECT_EQ((*pods)[3].num_gpu, 8);
  EXPECT_THAT((*pods)[3].gpu_spec, ElementsAre("V100M32"));
}

// Columns are found by name: another order and an extra column read the same; optional ones may be absent.
TEST(AlibabaPods, ColumnsByNameAndOptionalColumns) {
  auto pods = parse_alibaba_pods(
      "gpu_milli,extra,name,num_gpu,memory_mib,cpu_milli\r\n"
      "500,x,pod-z,1,1024,2000\r\n"
      "\r\n",
      "p.csv");
  ASSERT_TRUE(pods) << pods.error().message;
  ASSERT_EQ(pods->size(), 1u);
  const AlibabaPod& z = (*pods)[0];
  EXPECT_EQ(z.name, "pod-z");
  EXPECT_EQ(z.cpu_milli, 2000);
  EXPECT_EQ(z.memory_mib, 1024);
  EXPECT_EQ(z.num_gpu, 1);
  EXPECT_EQ(z.gpu_milli, 500);
  EXPECT_TRUE(z.gpu_spec.empty());
  EXPECT_EQ(z.qos, "");
  EXPECT_EQ(z.phase, "");
  EXPECT_EQ(z.creation_time, -1);
  EXPECT_EQ(z.deletion_time, -1);
  EXPECT_EQ(z.scheduled_time, -1);
}

// A missing required column is an error naming it; so is an empty file and a repeated column.
TEST(AlibabaCsv, HeaderErrors) {
  auto pods = parse_alibaba_pods("name,cpu_milli,memory_mib,num_gpu\n", "p.csv");
  ASSERT_FALSE(pods);
  EXPECT_EQ(pods.error().message, "p.csv:1: missing required column 'gpu_milli'");
  auto nodes = parse_alibaba_nodes("sn,cpu_milli,memory_mib,gpu\n", "n.csv");
  ASSERT_FALSE(nodes);
  EXPECT_EQ(nodes.error().message, "n.csv:1: missing required column 'model'");
  auto empty = parse_alibaba_nodes("\n", "n.csv");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "n.csv: empty file, expected a header line");
  auto twice = parse_alibaba_nodes("sn,gpu,cpu_milli,memory_mib,gpu,model\n", "n.csv");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "n.csv:1: column 'gpu' appears twice in the header");
}

// A header with no rows is zero nodes or pods, not an error.
TEST(AlibabaCsv, HeaderOnlyIsEmpty) {
  auto nodes = parse_alibaba_nodes(kNodeHeader, "n.csv");
  ASSERT_TRUE(nodes);
  EXPECT_TRUE(nodes->empty());
  auto pods = parse_alibaba_pods(kPodHeader, "p.csv");
  ASSERT_TRUE(pods);
  EXPECT_TRUE(pods->empty());
}

// Malformed node rows: field count, non-integers, negatives, GPUs without a model, empty name.
TEST(AlibabaNodes, MalformedRows) {
  EXPECT_EQ(node_error("n1,64000,262144,2"), "n.csv:2: expected 5 fields, found 4");
  EXPECT_EQ(node_error("n1,64000,262144,2,P100,x"), "n.csv:2: expected 5 fields, found 6");
  EXPECT_EQ(node_error("n1,64k,262144,2,P100"), "n.csv:2: column 'cpu_milli': \"64k\" is not an integer");
  EXPECT_EQ(node_error("n1,64000,-1,2,P100"), "n.csv:2: column 'memory_mib': -1 is negative");
  EXPECT_EQ(node_error("n1,64000,262144,,P100"), "n.csv:2: column 'gpu': empty, expected an integer");
  EXPECT_EQ(node_error("n1,64000,262144,2.5,P100"), "n.csv:2: column 'gpu': \"2.5\" is not an integer");
  EXPECT_EQ(node_error("n1,64000,262144,4096,P100"), "n.csv:2: column 'gpu': 4096 is too large (at most 1024)");
  EXPECT_EQ(node_error("n1,64000,262144,2,"), "n.csv:2: column 'model': empty, but the node has 2 GPUs");
  EXPECT_EQ(node_error(",64000,262144,2,P100"), "n.csv:2: column 'sn': empty node name");
  EXPECT_EQ(node_error("n1,99999999999999999999,262144,2,P100"),
            "n.csv:2: column 'cpu_milli': \"99999999999999999999\" is out of range");
}

// Malformed pod rows: GPU amounts outside their rules, bad times, bad gpu_spec lists.
TEST(AlibabaPods, MalformedRows) {
  EXPECT_EQ(pod_error("p1,1000,1024,1,0,,LS,Running,0,10,0"), "p.csv:2: column 'gpu_milli': 0 is outside 1..1000");
  EXPECT_EQ(pod_error("p1,1000,1024,1,1001,,LS,Running,0,10,0"),
            "p.csv:2: column 'gpu_milli': 1001 is outside 1..1000");
  EXPECT_EQ(pod_error("p1,1000,1024,0,500,,LS,Running,0,10,0"),
            "p.csv:2: column 'gpu_milli': 500 with num_gpu 0 (expected 0)");
  EXPECT_EQ(pod_error("p1,1000,1024,2,500,,LS,Running,0,10,0"),
            "p.csv:2: column 'gpu_milli': 500 with num_gpu 2 (a pod with several GPUs takes whole GPUs: expected 1000)");
  EXPECT_EQ(pod_error("p1,1000,1024,-1,1000,,LS,Running,0,10,0"), "p.csv:2: column 'num_gpu': -1 is negative");
  EXPECT_EQ(pod_error("p1,-5,1024,1,1000,,LS,Running,0,10,0"), "p.csv:2: column 'cpu_milli': -5 is negative");
  EXPECT_EQ(pod_error("p1,1000,1024,1,1000,,LS,Running,x,10,0"),
            "p.csv:2: column 'creation_time': \"x\" is not an integer");
  EXPECT_EQ(pod_error("p1,1000,1024,1,1000,,LS,Running,0,-10,0"), "p.csv:2: column 'deletion_time': -10 is negative");
  EXPECT_EQ(pod_error("p1,1000,1024,1,1000,T4||G2,LS,Running,0,10,0"),
            "p.csv:2: column 'gpu_spec': \"T4||G2\" has an empty GPU model");
  EXPECT_EQ(pod_error("p1,1000,1024,1,1000,T4|,LS,Running,0,10,0"),
            "p.csv:2: column 'gpu_spec': \"T4|\" has an empty GPU model");
  EXPECT_EQ(pod_error("p1,1000,1024,1,1000,,LS,Running,0,10"), "p.csv:2: expected 11 fields, found 10");
  EXPECT_EQ(pod_error(",1000,1024,1,1000,,LS,Running,0,10,0"), "p.csv:2: column 'name': empty pod name");
}

// The line number in a message counts the header, blank lines and earlier good rows.
TEST(AlibabaPods, ErrorLineNumbersCountEveryLine) {
  auto pods = parse_alibaba_pods(std::string(kPodHeader) +
                                     "p1,1000,1024,1,1000,,LS,Running,0,10,0\n"
                                     "\n"
                                     "p2,1000,1024,1,2000,,LS,Running,0,10,0\n",
                                 "p.csv");
  ASSERT_FALSE(pods);
  EXPECT_EQ(pods.error().message, "p.csv:4: column 'gpu_milli': 2000 is outside 1..1000");
}

// A missing file is an error naming the path.
TEST(AlibabaCsv, MissingFileNamesThePath) {
  auto nodes = read_alibaba_nodes("/nonexistent/nodes.csv");
  ASSERT_FALSE(nodes);
  EXPECT_THAT(nodes.error().message, HasSubstr("/nonexistent/nodes.csv: cannot open"));
}

}  // namespace
}  // namespace gwang::trace
