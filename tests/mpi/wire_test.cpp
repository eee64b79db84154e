// The messages between srun and its step's PMIx servers: written, split from a stream however it
// arrives, and malformed headers refused.
#include "mpi/wire.h"

#include <gtest/gtest.h>

namespace gwang::mpi {
namespace {

TEST(Wire, MessagesComeBackWholeHoweverTheStreamIsCut) {
  const std::vector<WireMessage> sent = {
      {"hello", 1, 0, ""}, {"fence", 3, 0, std::string("*\n\0binary\n\xff", 12)}, {"abort", -2, 7, "MPI_Abort"}};
  std::string stream;
  for (const WireMessage& m : sent) stream += encode(m);
  for (std::size_t cut = 1; cut <= stream.size(); ++cut) {
    WireReader in;
    std::vector<WireMessage> got;
    for (std::size_t at = 0; at < stream.size(); at += cut) {
      in.feed(std::string_view(stream).substr(at, cut));
      for (;;) {
        auto m = in.next();
        ASSERT_TRUE(m) << m.error().message;
        if (!*m) break;
        got.push_back(std::move(**m));
      }
    }
    ASSERT_EQ(got.size(), sent.size()) << "pieces of " << cut;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(got[i].verb, sent[i].verb);
      EXPECT_EQ(got[i].a, sent[i].a);
      EXPECT_EQ(got[i].b, sent[i].b);
      EXPECT_EQ(got[i].data, sent[i].data);
    }
  }
}

TEST(Wire, MalformedHeadersAreRefused) {
  for (const char* head : {"fence\n", " 1 2 3\n", "fence 1 2\n", "fence a 2 3\n", "fence 1 2 3 4\n", "fence 1 2 -1\n",
                           "fence 1 2 99999999999\n", "GET / HTTP/1.1\r\n"}) {
    WireReader in;
    in.feed(head);
    auto m = in.next();
    ASSERT_FALSE(m) << head;
    EXPECT_NE(m.error().message.find("PMIx message"), std::string::npos) << m.error().message;
  }
  WireReader endless;
  endless.feed(std::string(300, 'x'));
  EXPECT_FALSE(endless.next());  // no header is that long
}

}  // namespace
}  // namespace gwang::mpi
