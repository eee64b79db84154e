// srun's PMI-1 server (--mpi=pmi2), spoken to as MPICH's simple PMI client speaks to it.
#include "cli/pmi_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace gwang::cli {
namespace {

// A client of the server: one TCP connection, a line out, a line back.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  ~Client() { ::close(fd_); }
  void say(const std::string& line) {
    ASSERT_EQ(::send(fd_, line.data(), line.size(), 0), static_cast<ssize_t>(line.size()));
  }
  std::string hear() {
    std::string line;
    char c;
    while (::recv(fd_, &c, 1, 0) == 1 && c != '\n') line += c;
    return line;
  }
  std::string ask(const std::string& line) {
    say(line);
    return hear();
  }

 private:
  int fd_ = -1;
};

TEST(PmiServer, ServesTheExchangeOfTwoRanks) {
  auto server = PmiServer::listen("kvs_7_1");
  ASSERT_TRUE(server) << server.error().message;
  Client a((*server)->port()), b((*server)->port());
  a.say("cmd=init pmi_version=1 pmi_subversion=1\n");  // answered once the layout is known
  (*server)->start({0, 1});
  EXPECT_EQ(a.hear(), "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0");
  EXPECT_EQ(b.ask("cmd=init pmi_version=1 pmi_subversion=1\n"),
            "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0");
  EXPECT_EQ(a.ask("cmd=get_maxes\n"), "cmd=maxes rc=0 kvsname_max=256 keylen_max=256 vallen_max=1024");
  EXPECT_EQ(a.ask("cmd=get_appnum\n"), "cmd=appnum rc=0 appnum=0");
  EXPECT_EQ(a.ask("cmd=get_my_kvsname\n"), "cmd=my_kvsname rc=0 kvsname=kvs_7_1");
  EXPECT_EQ(a.ask("cmd=get_universe_size\n"), "cmd=universe_size rc=0 size=2");
  EXPECT_EQ(a.ask("cmd=put kvsname=kvs_7_1 key=card-0 value=tcp#10.0.0.1$5000\n"), "cmd=put_result rc=0");
  EXPECT_EQ(b.ask("cmd=put kvsname=kvs_7_1 key=card-1 value=tcp#10.0.0.2$5001\n"), "cmd=put_result rc=0");
  // The barrier lets both out once both are in.
  a.say("cmd=barrier_in\n");
  b.say("cmd=barrier_in\n");
  EXPECT_EQ(a.hear(), "cmd=barrier_out rc=0");
  EXPECT_EQ(b.hear(), "cmd=barrier_out rc=0");
  EXPECT_EQ(a.ask("cmd=get kvsname=kvs_7_1 key=card-1\n"), "cmd=get_result rc=0 value=tcp#10.0.0.2$5001");
  EXPECT_EQ(b.ask("cmd=get kvsname=kvs_7_1 key=PMI_process_mapping\n"), "cmd=get_result rc=0 value=(vector,(0,2,1))");
  EXPECT_EQ(b.ask("cmd=get kvsname=kvs_7_1 key=nothing\n"),
            "cmd=get_result rc=-1 value=unknown msg=key_nothing_not_found");
  EXPECT_EQ(a.ask("cmd=finalize\n"), "cmd=finalize_ack rc=0");
  EXPECT_FALSE((*server)->aborted());
  b.say("cmd=abort exitcode=3\n");
  for (int i = 0; i < 200 && !(*server)->aborted(); ++i) ::usleep(5000);
  EXPECT_EQ((*server)->aborted(), std::optional<int>(3));
}

}  // namespace
}  // namespace gwang::cli
