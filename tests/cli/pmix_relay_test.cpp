// srun's relay among the PMIx servers of its step's nodes (--mpi=pmix), spoken to as gwang-pmix
// speaks to it: fences completed across nodes, a rank's data asked of its node, an abort.
#include "cli/pmix_relay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "mpi/wire.h"

namespace gwang::cli {
namespace {

using mpi::WireMessage;

// One node's server: a TCP connection to the relay.
class Node {
 public:
  Node(int port, int node) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    say({"hello", node, 0, ""});
  }
  ~Node() { ::close(fd_); }
  void say(const WireMessage& m) {
    const std::string bytes = mpi::encode(m);
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  void raw(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  // The next message, or one of verb "none" when nothing comes within `ms`.
  WireMessage hear(int ms = 5000) {
    for (;;) {
      auto m = in_.next();
      EXPECT_TRUE(m) << m.error().message;
      if (m && *m) return **m;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, ms) <= 0) return {"none", 0, 0, ""};
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return {"closed", 0, 0, ""};
      in_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }

 private:
  int fd_ = -1;
  mpi::WireReader in_;
};

TEST(PmixRelay, CompletesAFenceOnceEveryNodeHasGivenItsPart) {
  auto relay = PmixRelay::listen();
  ASSERT_TRUE(relay) << relay.error().message;
  Node a((*relay)->port(), 0), b((*relay)->port(), 1);
  a.say({"fence", 0, 0, "*\nAAA"});  // held until the layout is known
  (*relay)->start({0, 0, 1, 1});
  EXPECT_EQ(a.hear(200).verb, "none");  // node 1 has not given its part
  b.say({"fence", 0, 0, "*\nbb"});
  for (Node* n : {&a, &b}) {
    const WireMessage m = n->hear();
    EXPECT_EQ(m.verb, "fenced");
    EXPECT_EQ(m.a, 0);
    EXPECT_EQ(m.b, 0);
    EXPECT_EQ(m.data, "*\nAAAbb");  // every node's part, in node order
  }
  // A second fence among the same nodes is another one; parts come in any order.
  b.say({"fence", 1, 0, "*\n2"});
  a.say({"fence", 1, 0, "*\n1"});
  EXPECT_EQ(a.hear().data, "*\n12");
  EXPECT_EQ(b.hear().data, "*\n12");
  EXPECT_FALSE((*relay)->aborted());
}

TEST(PmixRelay, AFenceAmongSomeNodesWaitsForThemOnly) {
  auto relay = PmixRelay::listen();
  ASSERT_TRUE(relay) << relay.error().message;
  (*relay)->start({0, 1, 2});
  Node a((*relay)->port(), 0), b((*relay)->port(), 1), c((*relay)->port(), 2);
  a.say({"fence", 0, 0, "0,2\nx"});
  c.say({"fence", 0, 0, "0,2\nz"});
  EXPECT_EQ(a.hear().data, "0,2\nxz");
  EXPECT_EQ(c.hear().data, "0,2\nxz");
  EXPECT_EQ(b.hear(200).verb, "none");
}

TEST(PmixRelay, PassesAskForARanksDataToItsNodeAndTheAnswerBack) {
  auto relay = PmixRelay::listen();
  ASSERT_TRUE(relay) << relay.error().message;
  (*relay)->start({0, 0, 1, 1});
  Node a((*relay)->port(), 0), b((*relay)->port(), 1);
  a.say({"modex-ask", 7, 3, ""});  // rank 3 runs on node 1
  const WireMessage ask = b.hear();
  EXPECT_EQ(ask.verb, "modex-ask");
  EXPECT_EQ(ask.b, 3);
  b.say({"modex-data", ask.a, 0, "rank 3's data"});
  const WireMessage answer = a.hear();
  EXPECT_EQ(answer.verb, "modex-data");
  EXPECT_EQ(answer.a, 7);  // the asker's own number
  EXPECT_EQ(answer.b, 0);
  EXPECT_EQ(answer.data, "rank 3's data");
  // A rank the step does not have: not found (PMIX_ERR_NOT_FOUND).
  a.say({"modex-ask", 8, 9, ""});
  const WireMessage none = a.hear();
  EXPECT_EQ(none.a, 8);
  EXPECT_EQ(none.b, -46);
}

TEST(PmixRelay, AnAbortIsKeptForSrunToEndTheStep) {
  auto relay = PmixRelay::listen();
  ASSERT_TRUE(relay) << relay.error().message;
  (*relay)->start({0});
  Node a((*relay)->port(), 0);
  a.say({"abort", 5, 0, "MPI_Abort called"});
  for (int i = 0; i < 400 && !(*relay)->aborted(); ++i) ::usleep(5000);
  EXPECT_EQ((*relay)->aborted(), std::optional<int>(5));
}

TEST(PmixRelay, ClosesOnAServerThatSpeaksSomethingElse) {
  auto relay = PmixRelay::listen();
  ASSERT_TRUE(relay) << relay.error().message;
  (*relay)->start({0});
  Node a((*relay)->port(), 0);
  a.raw("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(a.hear().verb, "closed");
  Node b((*relay)->port(), 0);
  b.say({"fence", 0, 0, "*\nonly"});
  EXPECT_EQ(b.hear().data, "*\nonly");  // a one-node step's fence: its own part
}

}  // namespace
}  // namespace gwang::cli
