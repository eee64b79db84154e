// srun --bcast's parts: where a node's copy goes, which libraries are sent, lz4, and srun's file
// server with a node's fetching from it over loopback.
#include "cli/bcast.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace gwang::cli {
namespace {

namespace fs = std::filesystem;

TEST(Bcast, DestinationAsSlurmNamesIt) {
  EXPECT_EQ(bcast_destination("", "12", "3", "n1"), "slurm_bcast_12.3_n1");
  EXPECT_EQ(bcast_destination("/tmp/", "12", "3", "n1"), "/tmp/slurm_bcast_12.3_n1");
  EXPECT_EQ(bcast_destination("/tmp/mine", "12", "3", "n1"), "/tmp/mine");
  EXPECT_EQ(bcast_libraries("/tmp/mine"), "/tmp/mine_libs");
}

TEST(Bcast, ExcludedDirectories) {
  EXPECT_EQ(parse_bcast_exclude(kBcastExcludeDefault),
            (std::vector<std::string>{"/lib", "/usr/lib", "/lib64", "/usr/lib64"}));
  EXPECT_TRUE(parse_bcast_exclude("NONE").empty());
  EXPECT_EQ(parse_bcast_exclude("/opt/x/,,rel"), (std::vector<std::string>{"/opt/x", "rel"}));
}

TEST(Bcast, LibrariesFromLddLessTheExcluded) {
  const std::string ldd =
      "\tlinux-vdso.so.1 (0x00007ffc5b1f0000)\n"
      "\tlibgw.so => /work/lib/libgw.so (0x00007f1e4c5a0000)\n"
      "\tlibmpi.so.40 => /usr/lib/x86_64-linux-gnu/libmpi.so.40 (0x00007f1e4c400000)\n"
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1e4c200000)\n"
      "\tlibgone.so => not found\n"
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f1e4c5c0000)\n"
      "\tlibopt.so.2 => /usr/lib64x/libopt.so.2 (0x00007f1e4c5b0000)\n";
  const auto libs = ldd_libraries(ldd, parse_bcast_exclude(kBcastExcludeDefault));
  ASSERT_EQ(libs.size(), 2u);
  EXPECT_EQ(libs[0], (std::pair<std::string, std::string>("libgw.so", "/work/lib/libgw.so")));
  // /usr/lib64 excludes its own tree, not a directory whose name merely begins alike.
  EXPECT_EQ(libs[1], (std::pair<std::string, std::string>("libopt.so.2", "/usr/lib64x/libopt.so.2")));
  EXPECT_EQ(ldd_libraries(ldd, {}).size(), 4u);
  EXPECT_TRUE(ldd_libraries("\tnot a dynamic executable\n", {}).empty());
}

TEST(Bcast, Lz4RoundTripAndCorruption) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "line " + std::to_string(i % 97) + "\n";
  const std::string packed = lz4_compress(text);
  EXPECT_LT(packed.size(), text.size() / 3);
  EXPECT_EQ(lz4_decompress(packed, text.size()).value(), text);
  EXPECT_FALSE(lz4_decompress(packed, text.size() + 1));  // not the size it claims
  EXPECT_FALSE(lz4_decompress(packed.substr(0, packed.size() / 2), text.size()));
  EXPECT_EQ(lz4_decompress(lz4_compress(""), 0).value(), "");
}

class BcastFetch : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_bcast_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "node" / "libs");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text, mode_t mode) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path dir_;
};

TEST_F(BcastFetch, ANodeGetsTheFilesWholeWithTheirModeAndTime) {
  std::string program = "#!/bin/sh\necho hi\n";
  for (int i = 0; i < 50000; ++i) program += static_cast<char>(i * 7);  // more than one read's worth
  const fs::path prog = write("prog", program, 0750), lib = write("libx.so.1", "library", 0644);
  std::vector<BcastFile> files;
  files.push_back(read_bcast_file(prog.string(), "", true).value());
  files.push_back(read_bcast_file(lib.string(), "libx.so.1", false).value());
  const std::int64_t mtime = files[0].mtime;
  auto server = BcastServer::listen(std::move(files), "k3y");
  ASSERT_TRUE(server) << server.error().message;
  const std::string at = "127.0.0.1:" + std::to_string((*server)->port());

  const fs::path copy = dir_ / "node" / "copy";
  ASSERT_EQ(fetch_bcast_file(at, "k3y", 0, copy.string()).value(), "");
  EXPECT_EQ(slurp(copy), program);
  struct stat st {};
  ASSERT_EQ(::stat(copy.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, mtime);
  // A library goes into the directory under its own name.
  ASSERT_EQ(fetch_bcast_file(at, "k3y", 1, (dir_ / "node" / "libs").string()).value(), "libx.so.1");
  EXPECT_EQ(slurp(dir_ / "node" / "libs" / "libx.so.1"), "library");
  // A copy of the same size and time is left as it is (another task of the node made it).
  std::string same = program;
  same[0] = 'X';
  std::ofstream(copy, std::ios::binary) << same;
  const timespec times[2] = {{mtime, 0}, {mtime, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, copy.c_str(), times, 0), 0);
  ASSERT_TRUE(fetch_bcast_file(at, "k3y", 0, copy.string()));
  EXPECT_EQ(slurp(copy), same);
  // A file srun does not have; a server that is not there.
  const auto none = fetch_bcast_file(at, "k3y", 2, copy.string());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "srun has no file 2");
  // Without the step's key, nothing.
  const auto stranger = fetch_bcast_file(at, "guess", 0, (dir_ / "node" / "stolen").string());
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.error().message, "srun closed the connection");
  EXPECT_FALSE(fs::exists(dir_ / "node" / "stolen"));
  server->reset();
  EXPECT_FALSE(fetch_bcast_file(at, "k3y", 0, copy.string()));
  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(dir_ / "node")) {
    EXPECT_EQ(e.path().filename().string().find(".gwang-bcast."), std::string::npos) << e.path();
  }
}

TEST_F(BcastFetch, WhatCannotBeReadIsSaid) {
  const auto missing = read_bcast_file((dir_ / "nothere").string(), "", false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, (dir_ / "nothere").string() + ": No such file or directory");
  const auto directory = read_bcast_file(dir_.string(), "", false);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().message, dir_.string() + ": not a regular file");
}

}  // namespace
}  // namespace gwang::cli
