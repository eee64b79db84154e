// `srun --bcast`: the step's program (and with --send-libs the shared objects it needs) copied to
// each of its nodes before its tasks start there. srun serves the files over TCP (BcastServer);
// on each node the agent starts the tasks under `gwang-server bcast-exec`, which fetches them as
// the task's own user, once per node, and then runs the copy (bcast_exec). Slurm's srun sends the
// files to its slurmds; here the nodes fetch them from srun, as the PMIx servers reach it.
//
// The messages are mpi/wire.h's ("VERB A B LENGTH\n" then LENGTH bytes). From a node, each with
// the step's key (GWANG_BCAST_KEY, which only the step's tasks are told) as its data:
//   stat INDEX 0 KEY    what file INDEX is (0: the program, 1...: its libraries)
//   get INDEX 0 KEY     its contents
// A request without the key ends the connection.
// and from srun:
//   meta INDEX SIZE "MODE MTIME CODEC NAME"   SIZE bytes once whole; CODEC lz4 or none
//   file INDEX SIZE BYTES                     the contents, as CODEC says
//   none INDEX 0                              no such file
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::cli {

// One file to copy: its contents as sent (compressed with lz4 where `lz4`), and what it is.
struct BcastFile {
  std::string name;  // for a library: its name as the program asks for it (libfoo.so.1)
  std::string data;
  std::uint64_t size = 0;  // whole
  mode_t mode = 0755;
  std::int64_t mtime = 0;  // seconds
  bool lz4 = false;
};

// The places under which libraries are not sent (slurm.conf's BcastExclude default): a node has
// its system's own.
inline constexpr std::string_view kBcastExcludeDefault = "/lib,/usr/lib,/lib64,/usr/lib64";

// Where a node's copy goes: `dest` itself; or, when it is empty or ends with '/', the file
// slurm_bcast_JOB.STEP_NODE in that directory (empty: the working directory), as Slurm names it.
std::string bcast_destination(const std::string& dest, const std::string& job, const std::string& step,
                              const std::string& node);
// The directory beside the copy that its libraries go to: "DEST_libs".
std::string bcast_libraries(const std::string& destination);

// --bcast-exclude: "NONE" (nothing excluded) or directories, comma-separated. A relative one
// excludes nothing (ldd's paths are absolute); Slurm's srun takes it alike, without a word.
std::vector<std::string> parse_bcast_exclude(std::string_view text);
// The shared objects ldd(1) lists for a program, as (name, path), less those under `excluded`
// (and the dynamic loader and the kernel's vDSO, which have no "=> PATH").
std::vector<std::pair<std::string, std::string>> ldd_libraries(std::string_view ldd_output,
                                                               const std::vector<std::string>& excluded);

// Reads `path` into a file to send (compressed if `lz4`); an error says which file and why.
Result<BcastFile> read_bcast_file(const std::string& path, const std::string& name, bool lz4);
// The whole contents of `file` (decompressed); an error if they do not come to its size.
Result<std::string> bcast_contents(const BcastFile& file);
std::string lz4_compress(std::string_view bytes);
Result<std::string> lz4_decompress(std::string_view bytes, std::uint64_t size);

// srun's side: serves `files` to those who give `key`, until it is destroyed.
class BcastServer {
 public:
  static Result<std::unique_ptr<BcastServer>> listen(std::vector<BcastFile> files, std::string key);
  ~BcastServer();
  BcastServer(const BcastServer&) = delete;
  BcastServer& operator=(const BcastServer&) = delete;
  int port() const;

 private:
  struct Impl;
  explicit BcastServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A node's side: fetches file `index` from srun at `address` ("HOST:PORT"), giving `key`, to
// `path` (for a library, into the directory `path`), unless a file of the same size and time is
// there already. Returns the file's name (for a library).
Result<std::string> fetch_bcast_file(const std::string& address, const std::string& key, int index,
                                     const std::string& path);

// `gwang-server bcast-exec N -- PROGRAM ARGS...`, run by the agent as a task of `srun --bcast`:
// fetches the step's files (GWANG_BCAST_SRUN, _KEY, _DEST and _FILES in its
// environment), then runs PROGRAM ARGS with the N-th of them (counted from PROGRAM) replaced by
// the copy. Returns only on failure.
int bcast_exec(int argc, char** argv);

}  // namespace gwang::cli
