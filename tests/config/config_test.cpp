// The configuration files: the samples in etc/ load as documented, and every kind of mistake is
// an error naming the file, the line and the key.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace gwang::config {
namespace {

namespace fs = std::filesystem;

const std::string kEtc = std::string(GWANG_TEST_DIR) + "/../../etc/";

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("gwang_config_test_" + std::to_string(::getpid()) + ".toml")).string();
  }
  void TearDown() override { fs::remove(path_); }
  const std::string& write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_;
  }
  std::string controller_error(const std::string& text) {
    auto c = load_controller_config(write(text));
    EXPECT_FALSE(c) << text;
    return c ? "" : c.error().message;
  }
  std::string agent_error(const std::string& text) {
    auto c = load_agent_config(write(text));
    EXPECT_FALSE(c) << text;
    return c ? "" : c.error().message;
  }
  std::string path_;
};

TEST_F(ConfigTest, SampleControllerConfigLoads) {
  auto c = load_controller_config(kEtc + "controller.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listen, "0.0.0.0:8686");
  EXPECT_EQ(c->data_dir, "/var/lib/gwang");
  EXPECT_EQ(c->cluster_secret_file, "/etc/gwang/cluster.secret");
  EXPECT_EQ(c->operator_account, "root");
  EXPECT_EQ(c->node_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c->kill_grace, std::chrono::seconds(10));
  EXPECT_EQ(c->terminal_grace, std::chrono::seconds(30));
  EXPECT_EQ(c->requeue_limit, 1);
  EXPECT_EQ(c->max_array_size, 1001);
  EXPECT_EQ(c->snapshot_every, 100000);
  EXPECT_EQ(c->queue_order, core::QueueOrder::Multifactor);
  EXPECT_EQ(c->backfill, core::Backfill::Easy);
  EXPECT_TRUE(c->require_project);
  EXPECT_TRUE(c->require_grant);
  EXPECT_EQ(c->charge_every, std::chrono::seconds(600));
  EXPECT_DOUBLE_EQ(c->cpu_hour, 0.01);
  EXPECT_DOUBLE_EQ(c->rates.at("gpu:H100"), 1.0);
  EXPECT_DOUBLE_EQ(c->rates.at("gpu:V100"), 0.3);
  EXPECT_EQ(c->licenses, (std::vector<slurm::LicenseCount>{{"ansys", 4}, {"matlab", 20}}));
  ASSERT_EQ(c->partitions.size(), 3u);
  EXPECT_EQ(c->partitions[0].name, "gpu");
  EXPECT_EQ(c->partitions[0].nodes, "gpu[01-16]");
  EXPECT_TRUE(c->partitions[0].is_default);
  EXPECT_EQ(c->partitions[0].max_time_s, 2 * 86400);
  EXPECT_FALSE(c->partitions[1].is_default);
  EXPECT_EQ(c->partitions[1].max_time_s, 0);
  EXPECT_EQ(c->partitions[2].nodes, "ALL");
  EXPECT_EQ(c->partitions[2].max_time_s, 1800);
}

// The cluster's name: gwang's by default, else one Slurm would take.
TEST_F(ConfigTest, ClusterName) {
  const std::string secret = "cluster_secret_file = \"/s\"\n";
  auto plain = load_controller_config(write(secret));
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->cluster_name, "gwang");
  auto named = load_controller_config(write(secret + "cluster_name = \"kisti-2\"\n"));
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_EQ(named->cluster_name, "kisti-2");
  EXPECT_EQ(controller_error(secret + "cluster_name = \"Gwangju\"\n"),
            path_ + ":2: 'cluster_name': expected 1 to 40 lowercase letters, digits, '_' or '-', from a letter");
  EXPECT_EQ(controller_error(secret + "cluster_name = \"\"\n"),
            path_ + ":2: 'cluster_name': expected 1 to 40 lowercase letters, digits, '_' or '-', from a letter");
}

// Partitions: each mistake names the file, the line and the key.
TEST_F(ConfigTest, PartitionMistakes) {
  const std::string secret = "cluster_secret_file = \"/s\"\n";
  EXPECT_EQ(controller_error(secret + "[[partitions]]\nname = \"gpu\"\n"),
            path_ + ":2: 'partitions[0].nodes': required");
  EXPECT_EQ(controller_error(secret + "[[partitions]]\nname = \"a b\"\nnodes = \"ALL\"\n"),
            path_ + ":3: 'partitions[0].name': expected 1 to 64 letters, digits, '.', '_' or '-'");
  EXPECT_EQ(controller_error(secret + "[[partitions]]\nname = \"g\"\nnodes = \"gpu[01-\"\n"),
            path_ + ":4: 'partitions[0].nodes': no ']' closes the '[' of 'gpu[01-' (at character 1)");
  EXPECT_EQ(controller_error(secret + "[[partitions]]\nname = \"a\"\nnodes = \"ALL\"\ndefault = true\n"
                                      "[[partitions]]\nname = \"b\"\nnodes = \"ALL\"\ndefault = true\n"),
            path_ + ":9: 'partitions[1].default': another partition is the default already");
  EXPECT_EQ(controller_error(secret + "[[partitions]]\nname = \"a\"\nnodes = \"ALL\"\n"
                                      "[[partitions]]\nname = \"a\"\nnodes = \"x\"\n"),
            path_ + ":6: 'partitions[1].name': 'a' is named twice");
  EXPECT_EQ(controller_error(secret + "[[partitions]]\nname = \"a\"\nnodes = \"ALL\"\nmax_time = \"10s\"\n"),
            path_ + ":5: 'partitions[0].max_time': expected from 60 to 31536000 seconds");
  EXPECT_EQ(controller_error(secret + "[[partitions]]\nname = \"a\"\nnodes = \"ALL\"\nmaxtime = \"1h\"\n"),
            path_ + ":5: unknown key 'partitions[0].maxtime'");
}

// [licenses]: the cluster's seats by name (in name order); each mistake names the line and key.
TEST_F(ConfigTest, Licenses) {
  const std::string secret = "cluster_secret_file = \"/s\"\n";
  auto c = load_controller_config(write(secret + "[licenses]\nmatlab = 2\nansys = 100\nspare = 0\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->licenses, (std::vector<slurm::LicenseCount>{{"ansys", 100}, {"matlab", 2}, {"spare", 0}}));
  EXPECT_EQ(controller_error(secret + "[licenses]\nmatlab = -1\n"),
            path_ + ":3: 'licenses.matlab': expected an integer from 0 to 1000000000");
  EXPECT_EQ(controller_error(secret + "[licenses]\nmatlab = \"2\"\n"),
            path_ + ":3: 'licenses.matlab': expected an integer from 0 to 1000000000");
  EXPECT_EQ(controller_error(secret + "[licenses]\n\"a:b\" = 1\n"),
            path_ + ":3: 'licenses.a:b': expected a name of letters, digits, '.', '_' or '-'");
  EXPECT_EQ(controller_error(secret + "licenses = 3\n"),
            path_ + ":2: 'licenses': expected a table: [licenses] with NAME = SEATS");
}

// The accounting table: each mistake names the file, the line and the key.
TEST_F(ConfigTest, AccountingMistakes) {
  const std::string secret = "cluster_secret_file = \"/s\"\n";
  EXPECT_EQ(controller_error(secret + "queue_order = \"lifo\"\n"),
            path_ + ":2: 'queue_order': unknown queue order 'lifo' (valid: fcfs, sjf, priority, multifactor)");
  EXPECT_EQ(controller_error(secret + "store = \"mysql://db/gwang\"\n"),
            path_ +
                ":2: 'store': expected a PostgreSQL URI (postgresql://...) or connection string (host=... "
                "dbname=...), or nothing for the embedded SQLite store");
  EXPECT_EQ(controller_error(secret + "backfill = \"aggressive\"\n"),
            path_ + ":2: 'backfill': unknown backfill 'aggressive' (valid: none, easy, easy-sjbf, conservative)");
  // Every name the core knows is taken.
  auto other = load_controller_config(write(secret + "queue_order = \"sjf\"\nbackfill = \"easy-sjbf\"\n"));
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->queue_order, core::QueueOrder::Sjf);
  EXPECT_EQ(other->backfill, core::Backfill::EasySjbf);
  EXPECT_EQ(controller_error(secret + "[accounting]\nrequire_grant = 1\n"),
            path_ + ":3: 'accounting.require_grant': expected true or false");
  EXPECT_EQ(controller_error(secret + "[accounting]\ncpu_hour = -1\n"),
            path_ + ":3: 'accounting.cpu_hour': expected a number from 0 to 1000");
  EXPECT_EQ(controller_error(secret + "[accounting]\ncharge_every = \"1s\"\n"),
            path_ + ":3: 'accounting.charge_every': expected from 10 to 86400 seconds");
  EXPECT_EQ(controller_error(secret + "[accounting.rates]\n\"gpu:H100\" = \"high\"\n"),
            path_ + ":3: 'accounting.rates.gpu:H100': expected a number from 0 to 1000");
  EXPECT_EQ(controller_error(secret + "[accounting.rates]\nH100 = 1.0\n"),
            path_ + ":3: 'accounting.rates.H100': expected an accelerator model with its family, e.g. \"gpu:H100\"");
  EXPECT_EQ(controller_error(secret + "[accounting]\nrequire_projects = true\n"),
            path_ + ":3: unknown key 'accounting.require_projects'");
}

TEST_F(ConfigTest, SampleAgentConfigLoads) {
  auto c = load_agent_config(kEtc + "agent.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->controllers, std::vector<std::string>{"http://gwang-controller:8686"});
  EXPECT_EQ(c->node_name, "");
  EXPECT_EQ(c->data_dir, "/var/lib/gwang-agent");
  EXPECT_FALSE(c->allow_root);
  EXPECT_TRUE(c->nvml);
  EXPECT_EQ(c->sync_wait, std::chrono::seconds(1));
  EXPECT_TRUE(c->devices.empty());
}

// Controllers that take turns: the agent knows them all; each controller says where it serves.
TEST_F(ConfigTest, SeveralControllers) {
  auto a = load_agent_config(
      write("controller = [\"http://ctl1:8686\", \"http://ctl2:8686\"]\ncluster_secret_file = \"/s\"\n"));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->controllers, (std::vector<std::string>{"http://ctl1:8686", "http://ctl2:8686"}));
  auto c =
      load_controller_config(write("cluster_secret_file = \"/s\"\nstore = \"postgresql://db/gwang\"\n"
                                   "advertise = \"http://ctl1:8686\"\nlease = \"8s\"\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->advertise, "http://ctl1:8686");
  EXPECT_EQ(c->lease, std::chrono::seconds(8));
  auto d = load_controller_config(write("cluster_secret_file = \"/s\"\n"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->lease, std::chrono::seconds(5));
}

// HTTPS: the controller's certificate and key; the agent's trust for an https:// controller.
TEST_F(ConfigTest, Tls) {
  auto c = load_controller_config(
      write("cluster_secret_file = \"/s\"\nadvertise = \"https://ctl1:8686\"\n"
            "[tls]\ncertificate = \"/etc/gwang/tls/cert.pem\"\nkey = \"/etc/gwang/tls/key.pem\"\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->tls_certificate, "/etc/gwang/tls/cert.pem");
  EXPECT_EQ(c->tls_key, "/etc/gwang/tls/key.pem");
  EXPECT_EQ(c->advertise, "https://ctl1:8686");
  auto plain = load_controller_config(write("cluster_secret_file = \"/s\"\n"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->tls_certificate, "");
  auto a = load_agent_config(
      write("controller = [\"https://ctl1:8686\", \"https://[fd00::2]\"]\nca = \"/etc/gwang/ca.pem\"\n"
            "cluster_secret_file = \"/s\"\n"));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->ca_file, "/etc/gwang/ca.pem");
  EXPECT_EQ(a->controllers.size(), 2u);
}

// Characters beyond ASCII are welcome in comments and strings: an operator's notes in Korean.
TEST_F(ConfigTest, KoreanInCommentsAndStrings) {
  auto c = load_controller_config(
      write("# 광주 AI 데이터센터 \u3131\u024c\ncluster_secret_file = \"/s\" # 비밀\n"
            "data_dir = \"/var/lib/게이트-\u3131\u0416\u00e9\u3001\u2f00\ufe30\"\nweb_dir = '/srv/웹'\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->data_dir, "/var/lib/게이트-\u3131\u0416\u00e9\u3001\u2f00\ufe30");
  EXPECT_EQ(c->web_dir, "/srv/웹");
}

TEST_F(ConfigTest, DeclaredDevices) {
  auto c = load_agent_config(
      write("controller = \"http://c:1\"\ncluster_secret_file = \"/s\"\n"
            "[[devices]]\nkind = \"npu:ascend910\"\ncount = 8\nmemory = \"64G\"\ncpus = \"0-3,8\"\n[[devices]]\nkind = "
            "\"gpu:L4\"\ncount = 1\n"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->devices.size(), 2u);
  EXPECT_EQ(c->devices[0].kind, "npu:ascend910");
  EXPECT_EQ(c->devices[0].count, 8);
  EXPECT_EQ(c->devices[0].memory_bytes, 64LL << 30);
  EXPECT_EQ(c->devices[0].near_cpus, (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(c->devices[1].kind, "gpu:L4");
  EXPECT_TRUE(c->devices[1].near_cpus.empty());
  EXPECT_EQ(c->devices[1].memory_bytes, 0);
}

TEST_F(ConfigTest, MistakesNameFileLineAndKey) {
  const std::string secret = "cluster_secret_file = \"/s\"\n";
  EXPECT_EQ(controller_error(secret + "listen = \"0.0.0.0:8686\"\nnode_timout = \"30s\"\n"),
            path_ + ":3: unknown key 'node_timout'");
  EXPECT_EQ(controller_error("listen = \"0.0.0.0:8686\"\n"), path_ + ":1: 'cluster_secret_file': required");
  EXPECT_EQ(controller_error(secret + "node_timeout = 30\n"),
            path_ + ":2: 'node_timeout': expected a duration in quotes, e.g. \"30s\" or \"2m\"");
  EXPECT_EQ(controller_error(secret + "node_timeout = \"soon\"\n").rfind(path_ + ":2: 'node_timeout': ", 0), 0u);
  EXPECT_EQ(controller_error(secret + "node_timeout = \"1s\"\n"),
            path_ + ":2: 'node_timeout': expected from 2 to 3600 seconds");
  EXPECT_EQ(controller_error(secret + "terminal_grace = \"2h\"\n"),
            path_ + ":2: 'terminal_grace': expected from 1 to 3600 seconds");
  EXPECT_EQ(controller_error(secret + "store = \"/var/db\"\n"),
            path_ +
                ":2: 'store': expected a PostgreSQL URI (postgresql://...) or connection string (host=... "
                "dbname=...), or nothing for the embedded SQLite store");
  EXPECT_EQ(controller_error(secret + "listen = \"0.0.0.0\"\n"),
            path_ + ":2: 'listen': expected HOST:PORT, e.g. \"0.0.0.0:8686\"");
  EXPECT_EQ(controller_error(secret + "requeue_limit = -1\n"),
            path_ + ":2: 'requeue_limit': expected an integer from 0 to 100");
  EXPECT_EQ(controller_error(secret + "max_array_size = 0\n"),
            path_ + ":2: 'max_array_size': expected an integer from 1 to 4000001");
  EXPECT_EQ(controller_error(secret + "snapshot_every = 10\n"),
            path_ + ":2: 'snapshot_every': expected an integer from 1000 to 100000000");
  EXPECT_EQ(controller_error(secret + "data_dir = \"relative\"\n"),
            path_ + ":2: 'data_dir': expected an absolute path");
  EXPECT_EQ(controller_error(secret + "[+]\n"),
            path_ + ":2:2: Error while parsing key: expected bare key starting character or string delimiter, saw '+'");
  EXPECT_EQ(controller_error(secret + "a\u024c = 1\n"),
            path_ + ":2:2: Error while parsing key-value pair: expected '=', saw '\u024c'");
  EXPECT_EQ(controller_error(secret + "\"\u3131\u0416\" = 1\n"), path_ + ":2: unknown key '\u3131\u0416'");
  EXPECT_EQ(controller_error(secret + "web_dir = \"\U000F0001\"\n"),
            path_ + ":2:12: a private-use character of U+F0000 to U+F0FFF is not allowed");
  EXPECT_EQ(controller_error(secret + "listen = \n"),
            path_ + ":2:10: Error while parsing key-value pair: expected value, saw '\\n'");

  const std::string agent = "controller = \"http://c:1\"\n" + secret;
  EXPECT_EQ(agent_error(secret), path_ + ":1: 'controller': required");
  EXPECT_EQ(agent_error("controller = \"c:1\"\n" + secret),
            path_ + ":1: 'controller': 'c:1': expected a URL, http://HOST:PORT or https://HOST:PORT");
  EXPECT_EQ(agent_error("controller = [\"http://a:1\", 2]\n" + secret),
            path_ + ":1: 'controller': expected a string or an array of strings");
  EXPECT_EQ(agent_error("controller = []\n" + secret), path_ + ":1: 'controller': expected at least one URL");
  EXPECT_EQ(controller_error(secret + "advertise = \"ctl1:8686\"\n"),
            path_ + ":2: 'advertise': expected a URL, http://HOST:PORT or https://HOST:PORT");
  // TLS: both files, absolute; a controller that serves HTTPS advertises https://.
  EXPECT_EQ(controller_error(secret + "[tls]\ncertificate = \"/etc/gwang/cert.pem\"\n"),
            path_ + ":2: 'tls.key': required");
  EXPECT_EQ(controller_error(secret + "[tls]\ncertificate = \"cert.pem\"\nkey = \"/k.pem\"\n"),
            path_ + ":3: 'tls.certificate': expected an absolute path");
  EXPECT_EQ(controller_error(secret + "tls = \"on\"\n"),
            path_ + ":2: 'tls': expected a table: [tls] with certificate and key");
  EXPECT_EQ(controller_error(secret + "[tls]\ncertificate = \"/c.pem\"\nkey = \"/k.pem\"\nca = \"/x\"\n"),
            path_ + ":5: unknown key 'tls.ca'");
  EXPECT_EQ(controller_error(secret +
                             "advertise = \"http://ctl1:8686\"\n[tls]\ncertificate = \"/c.pem\"\nkey = \"/k.pem\"\n"),
            path_ + ":2: 'advertise': expected https://HOST:PORT: this controller serves TLS ([tls])");
  EXPECT_EQ(agent_error("controller = \"https://c:1\"\nca = \"ca.pem\"\n" + secret),
            path_ + ":2: 'ca': expected an absolute path");
  EXPECT_EQ(controller_error(secret + "lease = \"1s\"\n"), path_ + ":2: 'lease': expected from 2 to 300 seconds");
  EXPECT_EQ(controller_error(secret + "resv_ports = \"13000-12000\"\n"),
            path_ + ":2: 'resv_ports': expected LOW-HIGH, ports from 1 to 65535 (12000-12999)");
  EXPECT_EQ(agent_error(agent + "allow_root = \"yes\"\n"), path_ + ":3: 'allow_root': expected true or false");
  EXPECT_EQ(agent_error(agent + "features = [\"a100\", \"a b\"]\n"),
            path_ + ":3: 'features': 'a b': expected 1 to 64 letters, digits, '.', '_', '-' or ':'");
  EXPECT_EQ(agent_error(agent + "tmp_fs = \"tmp\"\n"), path_ + ":3: 'tmp_fs': expected an absolute path");
  EXPECT_EQ(agent_error(agent + "node_name = \"a b\"\n"),
            path_ + ":3: 'node_name': expected 1 to 64 letters, digits, '.', '_' or '-'");
  EXPECT_EQ(agent_error(agent + "[[devices]]\nkind = \"npu:x\"\n"), path_ + ":3: 'devices[0].count': required");
  EXPECT_EQ(agent_error(agent + "[[devices]]\nkind = \"npu:x\"\ncount = 2\ncpus = \"3-1\"\n")
                .rfind(path_ + ":6: 'devices[0].cpus': CPU list element '3-1'", 0),
            0u);
  EXPECT_EQ(agent_error(agent + "[[devices]]\nkind = \"npu:x\"\ncount = 2\ncolour = \"red\"\n"),
            path_ + ":6: unknown key 'devices[0].colour'");
  EXPECT_EQ(agent_error(agent + "[[devices]]\nkind = \"npu:x\"\ncount = 2\nmemory = \"lots\"\n")
                .rfind(path_ + ":6: 'devices[0].memory': ", 0),
            0u);
  EXPECT_EQ(agent_error(agent + "[[devices]]\nkind = \"npu:x\"\ncount = 2\nfiles = [\"/dev/a\"]\n"),
            path_ + ":6: 'devices[0].files': expected one device file per device (2)");
  EXPECT_EQ(agent_error(agent + "[[devices]]\nkind = \"npu:x\"\ncount = 1\nfiles = [\"dev/a\"]\n"),
            path_ + ":6: 'devices[0].files': 'dev/a': expected an absolute path");
  EXPECT_EQ(agent_error(agent + "devices = 3\n"),
            path_ + ":3: 'devices': expected [[devices]] tables with kind, count and memory");
  EXPECT_EQ(agent_error(agent + "listen = \"x\"\n"), path_ + ":3: unknown key 'listen'")
      << "a key of the other program's file";
}

TEST_F(ConfigTest, MissingFile) {
  auto c = load_agent_config("/nonexistent/agent.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "/nonexistent/agent.toml: cannot read: No such file or directory");
}

}  // namespace
}  // namespace gwang::config
