// The messages between srun and the PMIx servers of its step's nodes (`srun --mpi=pmix`): each
// node's server sends its local ranks' contributions to a fence and gets back every node's; a
// rank's data that a fence did not carry is asked of the node that holds it (direct modex); an
// MPI_Abort ends the step. A message is a header line, "VERB A B LENGTH\n", then LENGTH bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gwang::mpi {

struct WireMessage {
  std::string verb;
  std::int64_t a = 0, b = 0;
  std::string data;
};

// The verbs, from a node's server to srun:
//   hello NODE 0                      the server of the step's node NODE (its index in the step)
//   fence SEQ 0 "NODES\nBLOB"         its part of the SEQth fence among NODES ("*": all; else
//                                     "0,2"), BLOB the local ranks' data
//   abort STATUS RANK MESSAGE         RANK called PMIx_Abort
//   modex-ask ID RANK                 asks for RANK's data (ID: the asker's own number)
//   modex-data ID STATUS BLOB         answers a modex-ask srun passed on (ID: srun's number)
// and from srun to a node's server:
//   fenced SEQ STATUS "NODES\nBLOB"   the fence is complete: every node's BLOB, in node order
//   modex-ask ID RANK                 another node asks for RANK's data, which runs here
//   modex-data ID STATUS BLOB         the answer to the server's own modex-ask ID
inline constexpr std::size_t kMaxWireData = std::size_t{1} << 30;

std::string encode(const WireMessage& m);

// Splits a byte stream into messages.
class WireReader {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole message; nullopt until one has come; an error for a malformed header (the
  // stream is then useless).
  Result<std::optional<WireMessage>> next();

 private:
  std::string buffer_;
};

}  // namespace gwang::mpi
