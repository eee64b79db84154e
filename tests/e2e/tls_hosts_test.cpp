// End to end across hosts over HTTPS, whatever the suite's mode: an agent given the wrong
// certificate to trust never talks to the controller, and says why; given the right one again, its
// node is up. A controller whose key is not its certificate's does not start, and says which file.
#include "multihost.h"

namespace gwang::testing::multihost {
namespace {

class MultiHostTls : public MultiHost {
 protected:
  bool tls() const override { return true; }
};

TEST_F(MultiHostTls, AnAgentGivenAnotherCertificateRefusesTheControllerAndSaysWhy) {
  const int h = 3;
  const fs::path config = dir_ / ("agent" + std::to_string(h) + ".toml");
  const std::string right = slurp(config);
  ASSERT_NE(right.find("ca = \"" + ca() + "\""), std::string::npos) << right;
  ::kill(pids_[h], SIGTERM);
  ::waitpid(pids_[h], nullptr, 0);
  wait_for("its node to go down", [&] { return node_states()[node(h)] == "down"; });
  ASSERT_EQ(make_certificate(dir_ / "other", {ip(0)}), "");
  std::string wrong = right;
  wrong.replace(wrong.find(ca()), ca().size(), (dir_ / "other" / "cert.pem").string());
  write(config, wrong);
  fs::remove(dir_ / ("h" + std::to_string(h) + ".log"));
  pids_[h] = spawn(h, "agent", config);
  wait_for("the agent to say why", [&] {
    return slurp(dir_ / ("h" + std::to_string(h) + ".log")).find("SSL server verification failed") != std::string::npos;
  });
  EXPECT_EQ(node_states()[node(h)], "down");
  // The right certificate again: the node is up.
  ::kill(pids_[h], SIGTERM);
  ::waitpid(pids_[h], nullptr, 0);
  write(config, right);
  pids_[h] = spawn(h, "agent", config);
  wait_for("its node up again", [&] { return node_states()[node(h)] == "up"; });
}

TEST_F(MultiHostTls, AControllerWhoseKeyIsNotItsCertificatesDoesNotStart) {
  ASSERT_EQ(make_certificate(dir_ / "other", {ip(0)}), "");
  std::string text = slurp(dir_ / "controller.toml");
  const std::string key = (dir_ / "tls" / "key.pem").string();
  text.replace(text.find(key), key.size(), (dir_ / "other" / "key.pem").string());
  write(dir_ / "bad.toml", text);
  const Outcome o = sh(std::string(GWANG_BINARY) + " controller --config " + (dir_ / "bad.toml").string() + " --check");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("bad.toml: tls: TLS key " + (dir_ / "other" / "key.pem").string() +
                          " is not the key of the certificate " + ca()),
            std::string::npos)
      << o.output;
}

}  // namespace
}  // namespace gwang::testing::multihost
